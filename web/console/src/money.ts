// Money as the console shows it: fen (int64, a bigint from the clients) as yuan with two
// decimals, exactly, never through a float; thousands separated where a page wants them.
export function formatFen(fen: number | bigint, separators = true): string {
  const n = typeof fen === "bigint" ? fen : BigInt(Math.trunc(fen));
  const abs = n < 0n ? -n : n;
  const whole = separators ? (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",") : (abs / 100n).toString();
  return `${n < 0n ? "-" : ""}${whole}.${(abs % 100n).toString().padStart(2, "0")}`;
}
