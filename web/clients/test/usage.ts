// How the console (and any TypeScript program) uses @wuye/clients; type-checked against
// the generated .d.ts by ctest web_clients (tsc --noEmit), never run. A wrong field, a
// wrong type or a method that does not exist fails the check.
import { createClient, type Client } from "@connectrpc/connect";
import { create, toJson } from "@bufbuild/protobuf";
import { createTransport, directory, duty, events, rpc } from "@wuye/clients";

const transport = createTransport("http://127.0.0.1:50080", () => "a-token", {
  useBinaryFormat: false,
});

const desk: Client<typeof duty.DutyService> = createClient(duty.DutyService, transport);
const dir = createClient(directory.DirectoryService, transport);

export async function screen(estateId: string, signal: AbortSignal): Promise<string[]> {
  const onDuty = await desk.listOnDuty({ estateId, role: events.StaffRole.TEAM_LEAD });
  const staff: string[] = onDuty.onDuty.map((o) => o.staffId);
  for await (const update of desk.watchTasks({ estateId }, { signal })) {
    const task: duty.Task | undefined = update.task;
    if (task && update.initial) staff.push(task.id);
  }
  const group = await dir.getGroup({ id: "g" });
  staff.push(group.name);
  return staff;
}

export function violation(): unknown {
  const bad = create(rpc.BadRequestSchema, {
    fieldViolations: [{ field: "estate_id", description: "required" }],
  });
  return toJson(rpc.BadRequestSchema, bad);
}

// @ts-expect-error: no such field
desk.listOnDuty({ estateIdd: "x" });
// @ts-expect-error: no such method
desk.listOnDutyy({});
