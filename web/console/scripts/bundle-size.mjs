#!/usr/bin/env node
// The console's first-load budget (issue #24: gzipped ≤ 500 KB): after `vite build`, sums
// the gzip sizes of what a browser loads for the first screen — index.html, the entry
// chunk with its static imports and CSS, and the chunks of the first page — read from
// dist/.vite/manifest.json. First screens: the sign-in page, the desk (受理台) behind the
// shell, where a signed-in agent lands, and each other built page opened first (a bookmark).
// Prints each and every asset's total; exits 1 when a first screen is over the budget.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const BUDGET = 500 * 1024;
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const manifest = JSON.parse(readFileSync(join(dist, ".vite", "manifest.json"), "utf8"));
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

// The files a chunk brings with it: itself, its CSS, its static imports (recursively).
function closure(key, out = new Set()) {
  const c = manifest[key];
  if (!c || out.has(c.file)) return out;
  out.add(c.file);
  for (const css of c.css ?? []) out.add(css);
  for (const imp of c.imports ?? []) closure(imp, out);
  return out;
}

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
const page = (name) => Object.keys(manifest).find((k) => k.endsWith(`/${name}.vue`));
const screens = {
  "sign-in": ["SignInPage"],
  "desk (受理台)": ["AppShell", "DeskPage"],
  "dispatch board (派单看板), where field staff land": ["AppShell", "DispatchPage"],
  "duty (值班)": ["AppShell", "DutyPage"],
  // Its charts are hand-drawn (docs/console.md); its five services' clients load with it.
  "manager (经理看板)": ["AppShell", "ManagerPage"],
  "performance (绩效)": ["AppShell", "PerformancePage"],
  "eldercare (居家养老)": ["AppShell", "EldercarePage"],
  // Where a finance clerk lands.
  "billing (收费)": ["AppShell", "BillingPage"],
};

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
let over = false;
for (const [name, pages] of Object.entries(screens)) {
  const files = closure(entry);
  files.add("index.html");
  for (const p of pages) closure(page(p), files);
  const size = [...files].reduce((sum, f) => sum + gz(f), 0);
  over ||= size > BUDGET;
  console.log(`console: first load of ${name}: ${kb(size)} gzipped in ${files.size} files (budget ${kb(BUDGET)})`);
}

let total = 0;
let count = 0;
const walk = (dir) => {
  for (const f of readdirSync(join(dist, dir))) {
    const rel = join(dir, f);
    if (statSync(join(dist, rel)).isDirectory()) {
      if (f !== ".vite") walk(rel);
    } else if (/\.(js|css|html)$/.test(f)) {
      total += gz(rel);
      count++;
    }
  }
};
walk("");
console.log(`console: every asset: ${kb(total)} gzipped in ${count} files`);
if (over) {
  console.error("console: a first load is over the budget (docs/console.md)");
  process.exit(1);
}
