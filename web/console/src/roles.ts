// Who may do what, from the services' role tables (docs/api/intake.md and the other
// services' pages). The console hides what a role cannot use; the services refuse anyway.
// Role names are the token's (`roles` claim): lower-case StaffRole names.

export const ROLES = [
  "agent",
  "team_lead",
  "supervisor",
  "estate_manager",
  "technician",
  "cleaner",
  "gardener",
  "security_guard",
  "care_worker",
  "finance_clerk",
  "quality_inspector",
  "group_admin",
  "nurse",
  "clinic",
] as const;
export type Role = (typeof ROLES)[number];

export function parseRoles(names: readonly string[]): Role[] {
  const known = new Set<string>(ROLES);
  return names
    .map((n) => n.toLowerCase().replace(/^staff_role_/, ""))
    .filter((n): n is Role => known.has(n));
}

const DESK: Role[] = ["agent", "team_lead", "supervisor"];
const MANAGERS: Role[] = ["team_lead", "supervisor", "estate_manager", "group_admin"];
const FIELD: Role[] = ["technician", "cleaner", "gardener", "security_guard", "care_worker"];

/** The console's pages (issue #24), each with the roles that have something to do there. */
export const PAGES = [
  { name: "desk", path: "/desk", roles: [...DESK, "estate_manager", "quality_inspector", "group_admin"], ready: true },
  // dispatch's readers (docs/api/dispatch.md); what each may do there: dispatch/rules.ts DISPATCH.
  { name: "dispatch", path: "/dispatch", roles: [...MANAGERS, "agent", ...FIELD, "quality_inspector"], ready: true },
  {
    name: "callbacks",
    path: "/callbacks",
    // intake's readers (ListTickets): the due list; coverage and the call by role (callbacks/rules.ts).
    roles: [...DESK, "estate_manager", "quality_inspector", "group_admin"],
    ready: true,
  },
  {
    name: "billing",
    path: "/billing",
    // billing's readers of a unit's account and of arrears (billing/rules.ts, BILLING).
    roles: ["agent", "team_lead", "supervisor", "estate_manager", "finance_clerk", "group_admin"],
    ready: true,
  },
  // Every staff member has a monthly form (performance's GetSheet: the staff member, or managers).
  { name: "performance", path: "/performance", roles: [...ROLES], ready: true },
  // The roles that list the elders (eldercare's ListElders; src/eldercare/rules.ts). Not the
  // guard (RaiseEmergency, safety checks, but no list to find an elder in) nor the quality
  // inspector (the read trail, but no list): neither has anything to open here.
  {
    name: "eldercare",
    path: "/eldercare",
    roles: [...DESK, "estate_manager", "nurse", "care_worker", "clinic", "group_admin"],
    ready: true,
  },
  // Every staff role has an inbox, a check-in, handovers and a daily log (docs/api/duty.md:
  // "staff of the estate"); the nurse and the clinic are not the estate's staff.
  {
    name: "duty",
    path: "/duty",
    roles: ROLES.filter((r) => r !== "nurse" && r !== "clinic"),
    ready: true,
  },
  {
    name: "manager",
    path: "/manager",
    // Each figure's own readers: manager/figures.ts FIGURE_ROLES (a figure not readable is not shown).
    roles: ["supervisor", "estate_manager", "quality_inspector", "group_admin"],
    ready: true,
  },
] as const satisfies readonly { name: string; path: string; roles: readonly Role[]; ready: boolean }[];
export type PageName = (typeof PAGES)[number]["name"];

export function pagesFor(roles: readonly Role[]) {
  return PAGES.filter((p) => p.roles.some((r) => roles.includes(r)));
}

export function hasAny(roles: readonly Role[], allowed: readonly Role[]): boolean {
  return roles.some((r) => allowed.includes(r));
}

/** Intake (docs/api/intake.md, "Methods and who may call them"). */
export const INTAKE = {
  create: DESK,
  read: [...DESK, "estate_manager", "quality_inspector", "group_admin"] as Role[],
  transfer: ["supervisor"] as Role[],
  reopen: ["supervisor"] as Role[],
  callback: DESK,
  /** Answer, resolve, close, cancel: the owner, or a supervisor. */
  ownerOr: ["supervisor"] as Role[],
};
