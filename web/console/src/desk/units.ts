// Finding a unit by what the person at the desk types: "3 1202", "3-1202", "3栋1202",
// "A座 1201", or only "1202" (every building); or a resident's name ("王建国"), which finds
// the resident's unit and the resident. Buildings, units and residents come from the
// directory (ListBuildings, ListUnits by building, ListResidents), read once per estate and
// building, and kept in memory only (never in the browser's storage).
import type { Building, Resident, Unit } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import { directory } from "../api/clients";
import { buildingKey, parseUnitQuery } from "./unit-query";

export interface UnitHit {
  unit: Unit;
  building: Building;
  label: string;
  /** Found by this resident's name. */
  resident?: Resident;
}

const buildingsOf = new Map<string, Promise<Building[]>>();
const unitsOf = new Map<string, Promise<Unit[]>>();
const residentsOf = new Map<string, Promise<Resident[]>>();

function remember<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = load();
    p.catch(() => map.delete(key));
    map.set(key, p);
  }
  return p;
}

export function buildings(estateId: string): Promise<Building[]> {
  return remember(buildingsOf, estateId, async () => {
    const out: Building[] = [];
    let pageToken = "";
    do {
      const page = await directory.listBuildings({ estateId, pageSize: 1000, pageToken });
      out.push(...page.buildings);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out.sort((a, b) => a.name.localeCompare(b.name, "zh-CN", { numeric: true }));
  });
}

export function unitsIn(estateId: string, buildingId: string): Promise<Unit[]> {
  return remember(unitsOf, buildingId, async () => {
    const out: Unit[] = [];
    let pageToken = "";
    do {
      const page = await directory.listUnits({ estateId, buildingId, pageSize: 1000, pageToken });
      out.push(...page.units);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out.sort((a, b) => a.number.localeCompare(b.number, "en", { numeric: true }));
  });
}

function buildingMatches(b: Building, part: string): boolean {
  const name = b.name.toLowerCase();
  return name === part || buildingKey(b.name) === part || buildingKey(part) === buildingKey(b.name);
}

export function residents(estateId: string): Promise<Resident[]> {
  return remember(residentsOf, estateId, async () => {
    const out: Resident[] = [];
    let pageToken = "";
    do {
      const page = await directory.listResidents({ estateId, pageSize: 1000, pageToken });
      out.push(...page.residents);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return out;
  });
}

/** Units of residents whose name holds what was typed (no digit in it: a name, not a number). */
async function findByResident(estateId: string, typed: string, limit: number): Promise<UnitHit[]> {
  const name = typed.trim();
  const matches = (await residents(estateId)).filter((r) => r.name.includes(name)).slice(0, limit);
  const all = await buildings(estateId);
  const hits: UnitHit[] = [];
  for (const r of matches) {
    try {
      const unit = await directory.getUnit({ id: r.unitId });
      const building = all.find((b) => b.id === unit.buildingId);
      if (building) hits.push({ unit, building, resident: r, label: `${building.name} ${unit.number} · ${r.name}` });
    } catch {
      /* a unit the caller may not see */
    }
  }
  return hits;
}

/** Up to `limit` units matching what was typed, in building and number order. */
export async function findUnits(estateId: string, typed: string, limit = 20): Promise<UnitHit[]> {
  if (!estateId || !typed.trim()) return [];
  if (!/\d/.test(typed) && /[\u4e00-\u9fff]/u.test(typed) && !/(栋|幢|座|号楼)/u.test(typed)) {
    const byName = await findByResident(estateId, typed, limit);
    if (byName.length) return byName;
  }
  const all = await buildings(estateId);
  const q = parseUnitQuery(typed, all.map((b) => b.name));
  const candidates = q.building ? all.filter((b) => buildingMatches(b, q.building!)) : all;
  const hits: UnitHit[] = [];
  for (const building of candidates) {
    const units = await unitsIn(estateId, building.id);
    for (const unit of units) {
      if (unit.number.toLowerCase().startsWith(q.unit)) {
        hits.push({ unit, building, label: `${building.name} ${unit.number}` });
        if (hits.length >= limit) return hits;
      }
    }
  }
  return hits;
}

/** The label of a unit by id, when its building has been read ("3栋 1202"). */
const labels = new Map<string, Promise<string>>();
export function unitLabel(estateId: string, unitId: string): Promise<string> {
  return remember(labels, unitId, async () => {
    try {
      const unit = await directory.getUnit({ id: unitId });
      const b = (await buildings(estateId)).find((x) => x.id === unit.buildingId);
      return b ? `${b.name} ${unit.number}` : unit.number;
    } catch {
      return "";
    }
  });
}
