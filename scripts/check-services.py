#!/usr/bin/python3
"""Checks that what still names the services by hand agrees with services.txt (ctest
service_list, part of `make test`):

  - every services/<name>/ with a CMakeLists.txt is listed (but services/gateway/, the
    HTTP edge, which is not a service), and every listed service's folder builds
    wuye-<name> (CMake itself refuses the latter);
  - its main.cc states no `.default_port` or `.grpc_service_name` of its own other than the
    list's (ServiceMain takes both from the list when unset), and the streams it consumes (every StreamOf("x") in its non-test sources) are
    the list's "reads";
  - the metrics port is port + 1000 (the binary's own default, shared/service_main.cc);
  - each gRPC name is a service declared in protos/ (package and name);
  - no replica's port (scripts/services.sh WUYE_REPLICAS: the ports + 100, 200, 300)
    is another port of the suite;
  - docs/operations.md's Ports table has one row per service with its ports and reads,
    and the gateway's row its local ports, which no service takes and which
    scripts/services.sh and the gateway's sources (once there) use;
  - deploy/ is what scripts/gen-deploy.py writes (scripts/check-deploy.sh checks the same,
    with the rendered manifests; here without kubectl).

Prints one line per problem and exits 1 if there is any.
"""
import re
import subprocess
import sys

from service_list import ROOT, load

# The gateway (services/gateway/, the HTTP edge; not a line of services.txt): its local
# HTTP and metrics ports, its binary's defaults.
GATEWAY, GATEWAY_PORT, GATEWAY_METRICS = "gateway", 50080, 51080


def main():
    problems = []
    try:
        services = load()
    except ValueError as e:
        print(f"services.txt: {e}")
        return 1
    listed = {s.name for s in services}
    if GATEWAY in listed:
        problems.append(f"services.txt: {GATEWAY} is the HTTP gateway's name, not a service's")
    taken = {p for s in services for p in (s.port, s.metrics)}
    if {GATEWAY_PORT, GATEWAY_METRICS} & taken:
        problems.append(f"services.txt: a service takes the gateway's port {GATEWAY_PORT} or "
                        f"{GATEWAY_METRICS}")
    # scripts/services.sh's replicas b, c, d (WUYE_REPLICAS) listen on the ports + 100,
    # + 200, + 300: none may land on another port of the suite.
    base = taken | {GATEWAY_PORT, GATEWAY_METRICS}
    for s in services:
        for k in (1, 2, 3):
            for p in (s.port + 100 * k, s.metrics + 100 * k):
                if p in base:
                    problems.append(f"services.txt: {s.name}'s replica port {p} (+ {100 * k}, "
                                    "scripts/services.sh WUYE_REPLICAS) is another port of the suite")
    script = (ROOT / "scripts" / "services.sh").read_text()
    for p in (GATEWAY_PORT, GATEWAY_METRICS):
        if f"{p} + PORT_OFFSET" not in script:
            problems.append(f"scripts/services.sh: does not start the gateway on {p}")
    sources = [f for f in (ROOT / "services" / GATEWAY).glob("*.[ch]*")
               if not f.name.endswith(("_test.cc", "_bench.cc", "_fuzz.cc"))]
    if sources:
        text = "".join(f.read_text() for f in sources)
        # The metrics port as a number or as the port + 1000, like the services'.
        if str(GATEWAY_PORT) not in text or not (str(GATEWAY_METRICS) in text or
                                                 re.search(r"\+\s*1000\b", text)):
            problems.append(f"services/{GATEWAY}/: its sources do not default to the ports "
                            f"{GATEWAY_PORT} and {GATEWAY_METRICS} (= + 1000) that "
                            "docs/operations.md and scripts/services.sh use")
    for cmake in sorted((ROOT / "services").glob("*/CMakeLists.txt")):
        if cmake.parent.name not in listed and cmake.parent.name != GATEWAY:
            problems.append(f"services/{cmake.parent.name}/ is not in services.txt")

    declared = set()  # "package.Service" of every proto service
    for proto in (ROOT / "protos").rglob("*.proto"):
        text = proto.read_text()
        package = re.search(r"^package\s+([\w.]+)\s*;", text, re.M)
        for m in re.finditer(r"^service\s+(\w+)", text, re.M):
            declared.add(f"{package.group(1) if package else ''}.{m.group(1)}".lstrip("."))

    for s in services:
        folder = ROOT / "services" / s.name
        if s.metrics != s.port + 1000:
            problems.append(f"services.txt: {s.name}: metrics port {s.metrics} is not port + "
                            f"1000 = {s.port + 1000}, the binary's default")
        for g in s.grpc:
            if g not in declared:
                problems.append(f"services.txt: {s.name}: no gRPC service {g} in protos/")
        main_cc = folder / "main.cc"
        if not main_cc.exists():
            continue  # listed before its code lands: CMake skips it too
        text = main_cc.read_text()
        port = re.search(r"\.default_port\s*=\s*(\d+)", text)
        if port and int(port.group(1)) != s.port:
            problems.append(f"services/{s.name}/main.cc: .default_port is "
                            f"{port.group(1) if port else 'missing'}, services.txt says {s.port}")
        grpc = re.search(r'\.grpc_service_name\s*=\s*"([^"]*)"', text)
        if grpc and grpc.group(1) != s.grpc[0]:
            problems.append(f"services/{s.name}/main.cc: .grpc_service_name is "
                            f"{grpc.group(1) if grpc else 'missing'}, services.txt says {s.grpc[0]}")
        streams = set()
        for source in folder.glob("*.cc"):
            if not source.name.endswith("_test.cc"):
                streams.update(re.findall(r'StreamOf\("(\w+)"\)', source.read_text()))
        if streams != set(s.reads):
            problems.append(f"services/{s.name}: consumes {', '.join(sorted(streams)) or '-'}, "
                            f"services.txt says {', '.join(sorted(s.reads)) or '-'}")

    rows = {}
    ops = (ROOT / "docs" / "operations.md").read_text()
    table = ops.split("## Ports", 1)[-1].split("\n## ", 1)[0]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[1].isdigit():
            rows[cells[0]] = cells
    for s in services:
        row = rows.pop(s.name, None)
        reads = {r.strip() for r in row[3].split(",")} - {"–", "-", ""} if row else set()
        if row is None:
            problems.append(f"docs/operations.md: no row for {s.name} in the Ports table")
        elif (row[1], row[2]) != (str(s.port), str(s.metrics)) or reads != set(s.reads):
            problems.append(f"docs/operations.md: the Ports row of {s.name} differs from "
                            "services.txt (ports or consumes)")
    row = rows.pop(GATEWAY, None)
    if row is None:
        problems.append(f"docs/operations.md: no row for {GATEWAY} in the Ports table")
    elif (row[1], row[2]) != (str(GATEWAY_PORT), str(GATEWAY_METRICS)):
        problems.append(f"docs/operations.md: the Ports row of {GATEWAY} is not "
                        f"{GATEWAY_PORT}, {GATEWAY_METRICS}")
    for name in rows:
        problems.append(f"docs/operations.md: the Ports table names {name}, not in services.txt")

    gen = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen-deploy.py"), "--check"],
                         capture_output=True, text=True)
    if gen.returncode != 0:
        problems.extend(gen.stdout.splitlines())

    for p in problems:
        print(p)
    print(f"{'FAILED' if problems else 'ok'}: {len(services)} services in services.txt")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
