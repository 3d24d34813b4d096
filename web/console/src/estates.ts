// The estates the signed-in person may see (directory ListEstates: those the token names),
// the one chosen in the top bar, and times shown in that estate's own zone.
import { reactive, computed } from "vue";
import type { Estate } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { directory } from "./api/clients";
import { i18n } from "./i18n";

const state = reactive<{ list: Estate[]; currentId: string; loaded: boolean }>({
  list: [],
  currentId: "",
  loaded: false,
});

export const estates = {
  state,
  current: computed(() => state.list.find((e) => e.id === state.currentId)),
  async load() {
    const list: Estate[] = [];
    let pageToken = "";
    do {
      const page = await directory.listEstates({ pageSize: 1000, pageToken });
      list.push(...page.estates);
      pageToken = page.nextPageToken;
    } while (pageToken);
    state.list = list;
    if (!list.some((e) => e.id === state.currentId)) state.currentId = list[0]?.id ?? "";
    state.loaded = true;
  },
  choose(id: string) {
    state.currentId = id;
  },
  byId(id: string): Estate | undefined {
    return state.list.find((e) => e.id === id);
  },
  clear() {
    state.list = [];
    state.currentId = "";
    state.loaded = false;
  },
};

/** The estate's IANA zone; the directory's default when it names none. */
export function zoneOf(estateId: string): string {
  return estates.byId(estateId)?.timeZone || "Asia/Shanghai";
}

export function toDate(ts: Timestamp | undefined): Date | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
}

/** A time as the estate's clock shows it, e.g. "12-06 09:30" (with the year when not this year's). */
export function formatTime(ts: Timestamp | undefined, estateId: string, withSeconds = false): string {
  const d = toDate(ts);
  if (!d) return "";
  const zone = zoneOf(estateId);
  const locale = i18n.global.locale.value === "en" ? "en-GB" : "zh-CN";
  const sameYear =
    new Intl.DateTimeFormat("en", { timeZone: zone, year: "numeric" }).format(d) ===
    new Intl.DateTimeFormat("en", { timeZone: zone, year: "numeric" }).format(new Date());
  return new Intl.DateTimeFormat(locale, {
    timeZone: zone,
    year: sameYear ? undefined : "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: withSeconds ? "2-digit" : undefined,
    hourCycle: "h23",
  }).format(d);
}
