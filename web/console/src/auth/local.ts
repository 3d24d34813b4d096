// The gateway's local sign-in (wuye-gateway --local_sign_in_file; docs/console.md):
//   GET  /local/people   → {"groups":[{"id","name","people":[{"id","name","roles","estates"}]}]}
//                          404 when the gateway runs without the flag
//   POST /local/sign-in  {"staffId"} → {"token","expireTime","groupId","staffId","name","roles","estateIds"}
// Plain fetch: these two are the gateway's own endpoints, not an RPC of a service.
import type { LocalGroup, LocalSignIn, Session } from "./types";
import { parseRoles } from "../roles";

export const localSignIn: LocalSignIn = {
  kind: "local",
  async available() {
    try {
      const r = await fetch("/local/people", { method: "GET", cache: "no-store" });
      return r.ok;
    } catch {
      return false;
    }
  },
  async people(): Promise<LocalGroup[]> {
    const r = await fetch("/local/people", { method: "GET", cache: "no-store" });
    if (!r.ok) throw new Error(`local sign-in: people: HTTP ${r.status}`);
    const body = (await r.json()) as { groups?: LocalGroup[] };
    return (body.groups ?? []).map((g) => ({
      ...g,
      people: g.people.map((p) => ({ ...p, roles: parseRoles(p.roles as unknown as string[]) })),
    }));
  },
  async signIn(staffId: string): Promise<Session> {
    const r = await fetch("/local/sign-in", {
      method: "POST",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ staffId }),
    });
    if (!r.ok) throw new Error(`local sign-in: HTTP ${r.status}`);
    const b = (await r.json()) as Omit<Session, "roles"> & { roles: string[] };
    return { ...b, roles: parseRoles(b.roles) };
  },
};
