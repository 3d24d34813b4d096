// 居家养老's pure rules (src/eldercare/rules.ts), no browser: who may ask for the health card
// and how much of it, who reads the trail, and the stated purpose — checked against
// eldercare's role table (docs/api/eldercare.md) and seed 004_… 5.14 ("老人的所有資料,親人聯系
// 電話、本人的健康卡檔案,均屬保密資料"): a role the table refuses never gets a button that asks.
import { expect, test } from "@playwright/test";
import { ELDERCARE, PURPOSES, PURPOSE_MAX, breakGlass, cardAccess, dateText, daysBetween, may, purposeText, todayIn } from "../src/eldercare/rules";
import { PAGES, ROLES, type Role } from "../src/roles";

const page = PAGES.find((p) => p.name === "eldercare")!;

test("004_… 5.14: the page is for the roles that list the elders (ListElders); a cleaner, gardener, technician, clerk has none", () => {
  expect(page.ready).toBe(true);
  expect([...page.roles].sort()).toEqual([...ELDERCARE.list].sort());
  for (const r of ["cleaner", "gardener", "technician", "finance_clerk"] as Role[]) {
    expect(page.roles as readonly Role[], r).not.toContain(r);
    expect(cardAccess([r]), r).toBe("none");
    expect(breakGlass([r]), r).toBe(false);
  }
});

test("GetHealthCard: nurses, care workers and the clinic the whole card; the front desk its emergency part; everyone else nothing", () => {
  const expected: Record<Role, "full" | "emergency" | "none"> = {
    agent: "emergency",
    team_lead: "emergency",
    supervisor: "emergency",
    estate_manager: "none",
    technician: "none",
    cleaner: "none",
    gardener: "none",
    security_guard: "none",
    care_worker: "full",
    finance_clerk: "none",
    quality_inspector: "none",
    group_admin: "none",
    nurse: "full",
    clinic: "full",
  };
  for (const r of ROLES) expect(cardAccess([r]), r).toBe(expected[r]);
  // A care role wins over a desk role held beside it (the service's IsClinical comes first).
  expect(cardAccess(["agent", "nurse"])).toBe("full");
});

test("break-glass (the whole card, flagged): the front desk and the estate manager; never a group admin, a guard or an inspector", () => {
  for (const r of ROLES) expect(breakGlass([r]), r).toBe(["agent", "team_lead", "supervisor", "estate_manager"].includes(r));
});

test("the read trail (ListAuditEntries): estate managers, supervisors, quality inspectors, group admins — not the care roles", () => {
  for (const r of ROLES) {
    expect(may([r], "audit"), r).toBe(["estate_manager", "supervisor", "quality_inspector", "group_admin"].includes(r));
  }
});

test("emergencies and safety checks by the table; visits due not for group admins", () => {
  expect(may(["cleaner"], "emergency")).toBe(false);
  expect(may(["security_guard"], "emergency")).toBe(true);
  expect(may(["agent"], "raiseSafetyCheck")).toBe(false);
  expect(may(["team_lead"], "raiseSafetyCheck")).toBe(true);
  expect(may(["clinic"], "recordSafetyCheck")).toBe(false);
  expect(may(["group_admin"], "dueVisits")).toBe(false);
  expect(may(["care_worker"], "dueVisits")).toBe(true);
});

test("a purpose is stated before the card is read: chosen, or in the person's words for 'other'; at most 500 characters", () => {
  expect(PURPOSES).toContain("other");
  expect(purposeText("", "", "")).toBeNull();
  expect(purposeText("visit", "上门探访", "")).toBe("上门探访");
  expect(purposeText("visit", "上门探访", "  周三  例行 ")).toBe("上门探访：周三 例行");
  expect(purposeText("other", "其他", "")).toBeNull();
  expect(purposeText("other", "其他", "家属来电询问")).toBe("家属来电询问");
  expect(purposeText("other", "其他", "字".repeat(PURPOSE_MAX))).toHaveLength(PURPOSE_MAX);
  expect(purposeText("other", "其他", "字".repeat(PURPOSE_MAX + 1))).toBeNull();
});

test("dates on the estate's clock", () => {
  expect(dateText({ year: 2026, month: 12, day: 6 } as never)).toBe("2026-12-06");
  expect(dateText(undefined)).toBe("");
  expect(daysBetween({ year: 2026, month: 12, day: 30 } as never, { year: 2027, month: 1, day: 2 } as never)).toBe(3);
  expect(todayIn("Asia/Shanghai", new Date("2026-12-05T16:30:00Z"))).toEqual({ year: 2026, month: 12, day: 6 });
});
