// Finding a unit by what the person at the desk types: "3 1202", "3-1202", "3栋1202",
// "A座 1201", or only "1202" (every building). Buildings and units come from the directory
// (ListBuildings, ListUnits by building), read once per estate and building, in memory.
import type { Building, Unit } from "@wuye/clients/gen/wuye/directory/v1/directory_pb.js";
import { directory } from "../api/clients";

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

/** A building's short key: its name without the trailing 栋/幢/座/号楼 ("3栋" → "3"). */
export function buildingKey(name: string): string {
  return name.replace(/(号楼|栋|幢|座|楼|号)$/u, "").toLowerCase();
}

export interface UnitQuery {
  building?: string;
  unit: string;
}

/** Splits what was typed into a building part and a unit part (pure; tested in the browser suite). */
export function parseUnitQuery(typed: string, buildingNames: readonly string[]): UnitQuery {
  const q = typed.trim().toLowerCase();
  const parts = q.split(/[\s\-/#,，、]+/u).filter(Boolean);
  if (parts.length >= 2) return { building: parts[0], unit: parts[parts.length - 1] };
  // One word: a building's full name or key at its start ("3栋1202", "a座1201").
  const names = [...buildingNames].sort((a, b) => b.length - a.length);
  for (const name of names) {
    for (const prefix of [name.toLowerCase(), buildingKey(name)]) {
      if (prefix && q.startsWith(prefix) && q.length > prefix.length && /\D$/u.test(prefix)) {
        return { building: prefix, unit: q.slice(prefix.length) };
      }
    }
  }
  return { unit: q };
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
