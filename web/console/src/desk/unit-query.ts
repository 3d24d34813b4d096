// What the person at the desk typed for a unit, split into a building part and a unit part
// (pure; tests/rules.spec.ts). units.ts looks the parts up in the directory.

/** A building's short key: its name without the trailing 栋/幢/座/号楼 ("3栋" → "3"). */
export function buildingKey(name: string): string {
  return name.replace(/(号楼|栋|幢|座|楼|号)$/u, "").toLowerCase();
}

export interface UnitQuery {
  building?: string;
  unit: string;
}

/** Splits what was typed into a building part and a unit part. */
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
