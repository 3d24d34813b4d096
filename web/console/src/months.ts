// Months as the estate's calendar has them (pure): the month a moment falls in, in the
// estate's zone, and the months a page offers to look back at.

export interface YearMonth {
  year: number;
  month: number;
}

/** The estate-local month a moment falls in. */
export function monthAt(at: Date, zone: string): YearMonth {
  const p = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit" }).formatToParts(at);
  const get = (type: string) => Number(p.find((x) => x.type === type)?.value ?? 0);
  return { year: get("year"), month: get("month") };
}

/** "2026-12": sorts as the calendar does. */
export function monthKey(m: YearMonth): string {
  return `${m.year}-${String(m.month).padStart(2, "0")}`;
}

export function parseMonthKey(key: string): YearMonth {
  const [y, m] = key.split("-").map(Number);
  return { year: y, month: m };
}

/** This month and the `count - 1` before it, newest first. */
export function recentMonths(now: Date, zone: string, count = 12): YearMonth[] {
  const out: YearMonth[] = [];
  let { year, month } = monthAt(now, zone);
  for (let i = 0; i < count; i++) {
    out.push({ year, month });
    month -= 1;
    if (month === 0) {
      month = 12;
      year -= 1;
    }
  }
  return out;
}
