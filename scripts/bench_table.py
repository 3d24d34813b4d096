#!/usr/bin/env python3
"""Prints the services' part of `make bench`'s table from the JSON each *_bench wrote.

usage: bench_table.py PGBENCH_TPS RSS_FILE OUT_DIR STAMP [SERVICE...]
Only the named services' figures are expected (when none is named: every service of
services.txt with a bench, services/<name>/<name>_bench.cc, but directory, whose figures
scripts/bench.sh prints itself; "gateway" is the gateway's part, services/gateway/gateway_bench.cc). Writes the rows as JSON too, to OUT_DIR/services-STAMP.json. Exit 1 if a bench wrote nothing.
"""
import json
import pathlib
import sys

from service_list import ROOT, load

pg_tps = float(sys.argv[1])
rss_file, out_dir, stamp = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4]
expected = set(sys.argv[5:]) or {
    s.name for s in load()
    if s.name != "directory" and (ROOT / "services" / s.name / f"{s.name}_bench.cc").exists()}
rows, missing = [], []


def row(figure, value, baseline="-", ratio=None):
    rows.append({"figure": figure, "value": value, "baseline": baseline, "ratio": ratio})


def load(name, part=None):
    if name not in expected:
        return None
    path = out_dir / (f"{name}-{stamp}.json" if part is None else f"{name}-{part}-{stamp}.json")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        missing.append(name)
        return None


def ms(value):
    return "-" if value is None else f"{value:.1f} ms"


def goal(value, ok, text):
    return f"{text} {'✓' if ok else '✗'}" if value == value else text  # NaN: not measured


if (d := load("intake")) is not None:
    cps = d["create_ticket_per_s"]
    own = load("intake", "pgbench")
    if own is not None and own.get("tps"):
        r = cps / own["tps"]
        row(f"intake CreateTicket, closed loop, {d['closed_loop']['threads']} clients", f"{cps:.0f} /s",
            f"pgbench, its own statement {own['tps']:.0f} tps", r)
        row("  goal", goal(r, r >= 0.6, "≥ 0.6"))
    row("  the same against pgbench's one-row INSERT", f"{cps:.0f} /s",
        f"pgbench INSERT {pg_tps:.0f} tps", cps / pg_tps if pg_tps else None)
    if c := d.get("server_cpu"):
        r = c["ratio"] if c["ratio"] is not None else float("nan")
        row("intake server CPU per CreateTicket", f"{c['create_ticket_us_per_call']:.0f} µs",
            f"per empty call (health) {c['empty_call_us_per_call']:.0f} µs", r)
        row("  goal", goal(r, r <= 3, "≤ 3×"))
    o = d["open_loop"]
    def refused(r):
        return f", {r['refused']} refused" if r.get("refused") else ""

    p99 = o["p99_ms"] if o["p99_ms"] is not None else float("nan")
    row(f"intake CreateTicket at {o['offered_per_s']:.0f}/s offered",
        f"p50 {ms(o['p50_ms'])}, p99 {ms(o['p99_ms'])}{refused(o)}",
        goal(p99, p99 <= 20 and not o.get("refused"), "goal p99 ≤ 20 ms"))
    if b := d.get("open_loop_busy"):
        p99 = b["p99_ms"] if b["p99_ms"] is not None else float("nan")
        row(f"  the same, a CPU hog on CPU {b['hog_cpu']}",
            f"p50 {ms(b['p50_ms'])}, p99 {ms(b['p99_ms'])}{refused(b)}",
            goal(p99, p99 <= 20 and not b.get("refused"), "goal p99 ≤ 20 ms"))
    if ov := d.get("overload"):
        h, t = ov["half"], ov["twice"]
        r = ov["accepted_p99_ratio"] if ov["accepted_p99_ratio"] is not None else float("nan")
        row(f"intake CreateTicket offered 2× capacity ({t['offered_per_s']:.0f}/s)",
            f"{t['calls_per_s']:.0f} /s accepted, p99 {ms(t['p99_ms'])}",
            f"at half ({h['offered_per_s']:.0f}/s) p99 {ms(h['p99_ms'])}", r)
        row("  goal", goal(r, r <= 3, "accepted p99 ≤ 3× half load's"))
        refused_p99 = t["refused_p99_ms"]
        row("  refused RESOURCE_EXHAUSTED",
            f"{t['refused']} of {t['ok_calls'] + t['failed_calls']}"
            + (f", p99 {refused_p99:.1f} ms" if refused_p99 is not None and t["refused"] else ""),
            f"other errors: {t['other_errors']}" + (" (a problem)" if t["other_errors"] else ""))
if (d := load("billing")) is not None:
    if r := d.get("billing_run"):
        row(f"billing run, {r['units']:,} units", f"{r['billing_run_s']:.1f} s",
            f"bare INSERT…SELECT {r['bare_insert_s']:.1f} s", r["run_vs_bare"])
        if "plain_insert_into_bills_s" in r:
            row("  the same run", f"{r['billing_run_s']:.1f} s",
                f"same rows into bills {r['plain_insert_into_bills_s']:.1f} s",
                r["run_vs_plain_insert_into_bills"])
    if p := d.get("record_payment"):
        rate = p["record_payment_per_s"]
        if rate < 0.95 * p["offered_per_s"]:  # above capacity: the latency is the queue's
            figure, value = f"billing RecordPayment capacity ({p['threads']} clients)", f"{rate:.0f} /s"
        else:
            figure = f"billing RecordPayment at {p['offered_per_s']:.0f}/s offered"
            value = f"{rate:.0f} /s, p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms"
        row(figure, value, f"pgbench INSERT {pg_tps:.0f} tps", rate / pg_tps if pg_tps else None)
    closed, own = load("billing", "closed"), load("billing", "pgbench")
    if closed is not None and (p := closed.get("record_payment")):
        rate = p["record_payment_per_s"]
        if own is not None and own.get("tps"):
            r = rate / own["tps"]
            row(f"billing RecordPayment, closed loop, {p['threads']} clients",
                f"{rate:.0f} /s, p99 {ms(p['p99_ms'])}",
                f"pgbench, its own transaction {own['tps']:.0f} tps", r)
            row("  goal", goal(r, r >= 0.5, "≥ 0.5"))
        else:
            row(f"billing RecordPayment, closed loop, {p['threads']} clients", f"{rate:.0f} /s",
                "pgbench, its own transaction: not measured")
if (d := load("eldercare")) is not None:
    row(f"eldercare health-card reads at {d['offered_per_s']:.0f}/s offered",
        f"{d['reads_per_s']:.0f} /s, p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms")
if (d := load("dispatch")) is not None:
    a = d["assignment_decision"]
    row(f"dispatch assignment decision, {d['staff_on_shift']} staff",
        f"p50 {a['p50_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms")
    if b := d.get("ticket_to_assigned_over_bus"):
        lat = b["latency"]
        row(f"dispatch ticket → assigned at {b['rate_per_s']:.0f}/s (bus)",
            f"p50 {lat.get('p50_ms', 0):.1f} ms, p99 {lat.get('p99_ms', 0):.1f} ms "
            f"({b['assigned']}/{b['sent']})", "goal p99 ≤ 100 ms")
if (d := load("duty")) is not None:
    lat = d["event_to_watch_tasks"]
    row(f"duty event → task in WatchTasks at {d['rate_per_s']:.0f}/s",
        f"p50 {lat.get('p50_ms', 0):.1f} ms, p99 {lat.get('p99_ms', 0):.1f} ms "
        f"({d['seen']}/{d['sent']})", "screen within 1 s")
if (d := load("performance")) is not None:
    row(f"performance: score {d['staff']:,} staff from {d['evidence_events']:,} events",
        f"{d['score_s']:.2f} s")
    row(f"performance: close the month ({d['sheets_closed']:,} sheets)",
        f"{d['close_month_s']:.2f} s")
    row("performance: score + close", f"{d['score_plus_close_s']:.2f} s", "goal ≤ 5 s")
if (d := load("gateway")) is not None:
    direct = d["direct"]
    row(f"gateway: GetUnit direct gRPC ({d['threads']} clients)",
        f"{direct['calls_per_s']:.0f} /s, p50 {direct['p50_ms']:.2f} ms, p99 {direct['p99_ms']:.2f} ms")
    for way, what in (("connect_json", "Connect JSON"), ("connect_proto", "Connect proto")):
        g = d[way]
        row(f"gateway: GetUnit via {what}",
            f"{g['calls_per_s']:.0f} /s, p50 {g['p50_ms']:.2f} ms, p99 {g['p99_ms']:.2f} ms",
            f"direct {direct['calls_per_s']:.0f} /s (goal ≥ 0.7)", g["rate_vs_direct"])
        row(f"gateway: GetUnit via {what}, p99", f"{g['p99_ms']:.2f} ms",
            f"direct {direct['p99_ms']:.2f} ms (goal ≤ 2)", g["p99_vs_direct"])
    j, p = d["connect_json"], d["connect_proto"]
    if j.get("gateway_cpu_us_per_call") is not None:
        row("gateway: its CPU per call (JSON / proto)",
            f"{j['gateway_cpu_us_per_call']:.0f} / {p['gateway_cpu_us_per_call']:.0f} µs",
            f"directory's per GetUnit {direct['directory_cpu_us_per_call']:.0f} µs",
            j["gateway_cpu_us_per_call"] / direct["directory_cpu_us_per_call"]
            if direct.get("directory_cpu_us_per_call") else None)
for line in rss_file.read_text().splitlines() if rss_file.exists() else []:
    name, kib = line.split("\t")
    row(f"{name} idle resident memory", f"{int(kib) / 1024:.1f} MiB", "goal ≤ 64 MiB")

for r in rows:
    ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
    print(f"{r['figure']:<44} {r['value']:<40} {r['baseline']:<32} {ratio}")
(out_dir / f"services-{stamp}.json").write_text(json.dumps(rows, indent=1) + "\n")
if missing:
    print(f"bench: no figures from: {', '.join(missing)}", file=sys.stderr)
sys.exit(1 if missing else 0)
