// Finding a unit by what the person at the desk types: "3 1202", "3-1202", "3栋1202",
// "A座 1201", or only "1202" (every building). Buildings and units come from the directory
// (ListBuildings, ListUnits by building), read once per estate and building, in memory.
import type { Building, Unit } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import { directory } from "../api/clients";
import { buildingKey, parseUnitQuery } from "./unit-query";

export interface UnitHit {
  unit: Unit;
  building: Building;
  label: string;
}

const buildingsOf = new Map<string, Promise<Building[]>>();
const unitsOf = new Map<string, Promise<Unit[]>>();

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

/** Up to `limit` units matching what was typed, in building and number order. */
export async function findUnits(estateId: string, typed: string, limit = 20): Promise<UnitHit[]> {
  if (!estateId || !typed.trim()) return [];
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
