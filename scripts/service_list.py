"""The one list of services, services.txt at the top of the repository (its header explains
the columns), for the Python scripts: `from service_list import load`."""
import pathlib
import re
from typing import List, NamedTuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIST = ROOT / "services.txt"


class Service(NamedTuple):
    name: str          # "intake": binary wuye-intake, image wuye/intake, database wuye_intake
    port: int          # local gRPC port, and the binary's default one
    metrics: int       # local Prometheus port
    grpc: List[str]    # full gRPC service names; the first is the main one
    reads: List[str]   # the services whose event streams it consumes


def load(path=LIST):
    """The services in start order. Raises ValueError naming the line of a malformed one."""
    services, ports = [], set()
    for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{path}:{number}"
        fields = line.split()
        if len(fields) != 5:
            raise ValueError(f"{where}: want 5 columns (name port metrics grpc reads)")
        name, port, metrics, grpc, reads = fields
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"{where}: bad service name {name!r}")
        if any(s.name == name for s in services):
            raise ValueError(f"{where}: {name} is listed twice")
        for p in (port, metrics):
            if not re.fullmatch(r"[1-9][0-9]{0,4}", p) or int(p) > 65535 or p in ports:
                raise ValueError(f"{where}: {name}: bad or repeated port {p}")
            ports.add(p)
        services.append(Service(name, int(port), int(metrics), grpc.split(","),
                                [] if reads == "-" else reads.split(",")))
    names = {s.name for s in services}
    for s in services:
        for r in s.reads:
            if r not in names:
                raise ValueError(f"{path}: {s.name} reads {r!r}, which is not listed")
    return services
