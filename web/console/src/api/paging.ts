// Every page of a List RPC, in order. `read(pageToken)` asks for one page ("" the first) and
// answers its items and the next page's token ("" after the last). `maxItems` bounds what a
// screen reads of a list that may be long: reading stops once that many are in.
export async function allPages<T>(
  read: (pageToken: string) => Promise<{ items: T[]; next: string }>,
  maxItems = Infinity,
): Promise<T[]> {
  const out: T[] = [];
  let token = "";
  do {
    const page = await read(token);
    out.push(...page.items);
    token = page.next;
  } while (token && out.length < maxItems);
  return out;
}
