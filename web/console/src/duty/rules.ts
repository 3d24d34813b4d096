// The duty page's rules as plain functions: who may do what (docs/api/duty.md, "Methods and
// who may call them"), which task a person may take, where a task or a handover's ref
// leads, the estate's calendar day, and the request_id of each intent. No I/O.
import { StaffRole } from "@wuye/clients/gen/wuye/events/v1/directory_events_pb.js";
import { TaskState } from "@wuye/clients/gen/wuye/events/v1/duty_events_pb.js";
import { hasAny, parseRoles, type Role } from "../roles";

/** duty's role table (docs/api/duty.md); the service refuses anyway. */
export const DUTY = {
  /** ListHandovers and GetHandover of anyone at the estate, ListAttendances (else: their own). */
  readHandovers: ["team_lead", "supervisor", "estate_manager", "quality_inspector", "group_admin"] as Role[],
  /** GetDailyLog of anyone at the estate: team leads and above, and quality inspectors. */
  readLogs: ["team_lead", "supervisor", "estate_manager", "group_admin", "quality_inspector"] as Role[],
  /** Every task of the estate in WatchTasks (the others: their roles' and their own). */
  everyTask: ["team_lead", "supervisor", "estate_manager", "group_admin"] as Role[],
  /** ListNotifications, RetryNotification: the group's queue. */
  notifications: ["group_admin"] as Role[],
};

/** The ladder's rung of a role: team lead 1, supervisor 2, estate manager 3, others 0. */
export function ladder(role: Role): number {
  return role === "team_lead" ? 1 : role === "supervisor" ? 2 : role === "estate_manager" ? 3 : 0;
}

/** A StaffRole of the protos as the token's role name ("team_lead"), or undefined. */
export function roleOf(r: StaffRole): Role | undefined {
  const name = StaffRole[r];
  return name ? parseRoles([name])[0] : undefined;
}

/** The StaffRole of a role name, for CheckIn. */
export function staffRoleOf(role: Role): StaffRole | undefined {
  const v = (StaffRole as unknown as Record<string, number>)[role.toUpperCase()];
  return typeof v === "number" ? (v as StaffRole) : undefined;
}

/** The roles a person may check in with: the token's roles that are staff roles. */
export function checkInRoles(roles: readonly Role[]): Role[] {
  return roles.filter((r) => staffRoleOf(r) !== undefined && r !== "group_admin");
}

export interface TaskForAck {
  state: TaskState;
  role: StaffRole;
  level: number;
}

/**
 * Whether to offer "acknowledge": the task waits, and the person holds its role or a role
 * above its rung on the ladder (AcknowledgeTask: "a person on duty in the task's role or
 * above it"; the service also checks that they are on duty).
 */
export function mayAcknowledge(t: TaskForAck, roles: readonly Role[]): boolean {
  if (t.state !== TaskState.OPEN && t.state !== TaskState.ESCALATED) return false;
  const role = roleOf(t.role);
  if (role && roles.includes(role)) return true;
  return roles.some((r) => ladder(r) > t.level);
}

export function mayReadAllHandovers(roles: readonly Role[]) {
  return hasAny(roles, DUTY.readHandovers);
}

/**
 * Where a ref leads ("ticket/<id>", "work_order/<id>", "task/<id>", "desk/<estate>", …):
 * a ticket to its page on the desk, a work order to the dispatch board's page when the
 * console has one (`workOrderPath`), anything else shown as its id.
 */
export interface RefTarget {
  kind: string;
  id: string;
  path?: string;
}
export function refTarget(ref: string, workOrderPath?: (id: string) => string | undefined): RefTarget {
  const slash = ref.indexOf("/");
  const kind = slash > 0 ? ref.slice(0, slash) : "";
  const id = slash > 0 ? ref.slice(slash + 1) : ref;
  if (kind === "ticket" && id) return { kind, id, path: `/desk/tickets/${encodeURIComponent(id)}` };
  if (kind === "work_order" && id) {
    const path = workOrderPath?.(id);
    return path ? { kind, id, path } : { kind, id };
  }
  return { kind, id };
}

export interface CivilDay {
  year: number;
  month: number;
  day: number;
}

/** The calendar day at an instant in an IANA zone (the estate's). */
export function civilDay(zone: string, at: Date): CivilDay {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(at)
    .reduce<Record<string, string>>((m, p) => ({ ...m, [p.type]: p.value }), {});
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

export function formatDay(d: CivilDay): string {
  return `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
}

/** "2026-12-06" → the day, or undefined when it is not a real day. */
export function parseDay(s: string): CivilDay | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s.trim());
  if (!m) return undefined;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const check = new Date(Date.UTC(d.year, d.month - 1, d.day));
  return check.getUTCFullYear() === d.year && check.getUTCMonth() === d.month - 1 && check.getUTCDate() === d.day ? d : undefined;
}

/**
 * One request_id per intent (acknowledge this task, check in, retry this notification):
 * made at the first attempt, the same for every resend after an answer that never came,
 * forgotten once the service has answered (done or refused), so the next intent gets a new
 * one. `fresh` makes a new id for the same key (the service said the id was reused).
 */
export class Intents {
  private ids = new Map<string, string>();
  constructor(private readonly make: () => string) {}
  idFor(key: string): string {
    let id = this.ids.get(key);
    if (!id) {
      id = this.make();
      this.ids.set(key, id);
    }
    return id;
  }
  answered(key: string) {
    this.ids.delete(key);
  }
  has(key: string): boolean {
    return this.ids.has(key);
  }
}
