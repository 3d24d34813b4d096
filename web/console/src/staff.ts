// Staff names by id, for owners and history actors: the directory's ListStaff of an estate,
// read once per estate and kept in memory only.
import { reactive } from "vue";
import type { Staff } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import { directory } from "./api/clients";

const byEstate = new Map<string, Promise<Staff[]>>();
const names = reactive(new Map<string, string>());

export function staffOf(estateId: string): Promise<Staff[]> {
  let p = byEstate.get(estateId);
  if (!p) {
    p = (async () => {
      const out: Staff[] = [];
      let pageToken = "";
      do {
        const page = await directory.listStaff({ estateId, pageSize: 1000, pageToken });
        out.push(...page.staff);
        pageToken = page.nextPageToken;
      } while (pageToken);
      for (const s of out) names.set(s.id, s.name);
      return out;
    })();
    p.catch(() => byEstate.delete(estateId));
    byEstate.set(estateId, p);
  }
  return p;
}

/** The staff member's name when known, else the id (e.g. "dispatch" for the service). */
export function staffName(id: string): string {
  return names.get(id) ?? id;
}

export function forgetStaff() {
  byEstate.clear();
  names.clear();
}
