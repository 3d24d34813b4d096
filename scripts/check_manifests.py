#!/usr/bin/python3
"""Asserts on rendered Kubernetes manifests (YAML on stdin) what deploy/ promises:

  - every Deployment: startup, readiness and liveness probes; CPU and memory requests and a
    memory limit; runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, all
    capabilities dropped, seccomp RuntimeDefault; an image with a tag that is not "latest";
    a PodDisruptionBudget and a HorizontalPodAutoscaler;
  - every Service: a NetworkPolicy with ingress rules that selects its pods;
  - no Secret is rendered (secrets are referenced, never committed);
  - a Deployment whose gRPC port speaks TLS (WUYE_TLS_CERT_FILE) mounts the files and has
    no gRPC probe (Kubernetes' gRPC probes cannot speak TLS);
  - where the ConfigMap wuye-postgres names PostgreSQL's max_connections, the connection
    budget holds: the sum over Deployments of (HPA maxReplicas + rolling-update maxSurge)
    x (WUYE_PG_POOL_SIZE + 2: the relay's and the health ping's own connections, + 1 for
    duty's LISTEN) is at
    most max_connections - reserved_connections (docs/operations.md, "Connection budget");
  - every service's Deployment verifies tokens with an ES256 public-key file mounted from a
    Secret;
  - with --production (the prod overlay): every service's Deployment has
    WUYE_PRODUCTION=true and no HS256 secret (WUYE_JWT_SECRET, WUYE_JWT_SECRET_FILE), from
    env or a ConfigMap alike;
  - the services are those of services.txt: one Deployment wuye-<name> each, running image
    wuye/<name>, with its own database Secret wuye-<name>-database, and no other Deployment
    but the gateway's;
  - the gateway (Deployment wuye-gateway, image wuye/gateway, the HTTP edge): its upstream
    template (WUYE_UPSTREAM), expanded for every service of services.txt, names that
    service's Service and a port of it that reaches the pods' gRPC port; it listens where
    its container ports and its Service say; probes /readyz and /healthz on its metrics
    port; terminationGracePeriodSeconds covers its preStop pause and --shutdown_grace; it
    holds no database, Redis or token configuration and no Secret but its own TLS ones;
    where the services speak TLS it verifies them (WUYE_UPSTREAM_CA_FILE, mounted);
  - the network: the gateway's pods may send only DNS (port 53) and to the services' pods'
    gRPC port; they accept the ingress controller (another namespace) on their HTTP port;
    the services' gRPC port accepts the gateway and nothing from another namespace or an
    address block;
  - every Ingress's backends are Services and ports that exist; one that sends to the
    gateway passes streams unbuffered, with a read timeout above --max_timeout and a body
    size at least --max_bulk_body_bytes, and speaks HTTPS to it when the gateway serves TLS.

With --production (the prod overlay) also: that budget is declared, every service serves
TLS with client certificates (mutual TLS), PostgreSQL is reached with sslmode=verify-full,
the request limits stay at their hardened values and gRPC reflection is off; the gateway
serves TLS, allows only https:// CORS origins (never "*"), has no local sign-in and names the
group's OpenID Connect provider by an https:// issuer (WUYE_OIDC_ISSUER, with
WUYE_OIDC_CLIENT_ID), and every Ingress has TLS.

Prints one line per problem and exits 1 if there is any.
"""
import posixpath
import re
import sys

import yaml

from service_list import load as load_service_list


def pod_selects(policy_selector, labels):
    match = (policy_selector or {}).get("matchLabels") or {}
    return all(labels.get(k) == v for k, v in match.items())


def check_container(where, pod_sc, c, problems):
    name = f"{where} container {c.get('name')}"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if probe not in c:
            problems.append(f"{name}: no {probe}")
    res = c.get("resources") or {}
    req, lim = res.get("requests") or {}, res.get("limits") or {}
    if "cpu" not in req or "memory" not in req or "memory" not in lim:
        problems.append(f"{name}: needs cpu and memory requests and a memory limit")
    sc = c.get("securityContext") or {}
    if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
        problems.append(f"{name}: runAsNonRoot is not set")
    if sc.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{name}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{name}: allowPrivilegeEscalation is not false")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        problems.append(f"{name}: capabilities do not drop ALL")
    seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        problems.append(f"{name}: seccomp profile is not RuntimeDefault")
    image = c.get("image", "")
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    if not tag or tag == "latest":
        problems.append(f"{name}: image '{image}' needs a tag other than latest")


def check_redis_user(where, service, c, problems):
    """The bus's Redis: the service's own ACL user, its password from a required Secret."""
    env = {e["name"]: e for e in c.get("env") or []}
    if (env.get("WUYE_REDIS_USER") or {}).get("value") != service:
        problems.append(f"{where}: WUYE_REDIS_USER is not {service}")
    ref = ((env.get("WUYE_REDIS_PASSWORD") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    if ref.get("name") != f"{service}-redis" or ref.get("optional", False):
        problems.append(f"{where}: WUYE_REDIS_PASSWORD is not from the required Secret "
                        f"{service}-redis")
POOL_DEFAULT = 8            # --pg_pool_size's default
OWN_CONNECTIONS = 2         # per pod, outside the pool: the outbox relay, the health ping
# Services that hold a further connection of their own: duty's LISTEN for task changes
# (services/duty/task_signal.h).
LISTENING = {"wuye-duty": 1}
MAX_MESSAGE_BYTES = 1 << 20  # the hardened default of --max_message_bytes


def container_env(c, configmaps):
    """The container's environment as the process sees it: envFrom ConfigMaps, then env."""
    env = {}
    for src in c.get("envFrom") or []:
        ref = (src.get("configMapRef") or {}).get("name")
        env.update((configmaps.get(ref) or {}).get("data") or {})
    for e in c.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            env.setdefault(e["name"], None)  # from a Secret: set, value unknown here
    return env


def check_tls(where, pod, c, env, production, problems):
    cert = env.get("WUYE_TLS_CERT_FILE")
    if not cert:
        if production:
            problems.append(f"{where}: no TLS (WUYE_TLS_CERT_FILE) in production")
        return
    for key in ("WUYE_TLS_KEY_FILE",) + (("WUYE_TLS_CLIENT_CA_FILE",) if production else ()):
        if not env.get(key):
            problems.append(f"{where}: TLS without {key}")
    mounts = [m.get("mountPath", "") for m in c.get("volumeMounts") or []]
    for key in ("WUYE_TLS_CERT_FILE", "WUYE_TLS_KEY_FILE", "WUYE_TLS_CLIENT_CA_FILE"):
        path = env.get(key)
        if path and not any(path.startswith(m.rstrip("/") + "/") for m in mounts):
            problems.append(f"{where}: {key}={path} is on no mounted volume")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if "grpc" in (c.get(probe) or {}):
            problems.append(f"{where}: {probe} is a gRPC probe, which cannot speak TLS")


def check_postgres_tls(where, env, problems):
    mode = env.get("PGSSLMODE")
    if mode != "verify-full":
        problems.append(f"{where}: PGSSLMODE is {mode!r}, production needs verify-full")
    elif not env.get("PGSSLROOTCERT"):
        problems.append(f"{where}: PGSSLMODE=verify-full without PGSSLROOTCERT")


def check_limits(where, env, production, problems):
    raw = env.get("WUYE_MAX_MESSAGE_BYTES")
    if raw is not None and int(raw) > MAX_MESSAGE_BYTES:
        problems.append(f"{where}: WUYE_MAX_MESSAGE_BYTES={raw} is above {MAX_MESSAGE_BYTES}")
    if production and (env.get("WUYE_REFLECTION") or "true").lower() not in ("false", "0"):
        problems.append(f"{where}: gRPC reflection is on (WUYE_REFLECTION=false in production)")


def connection_budget(by_kind, configmaps, production, problems):
    budget = (configmaps.get("wuye-postgres") or {}).get("data") or {}
    if "max_connections" not in budget:
        if production:
            problems.append("ConfigMap wuye-postgres: production must declare PostgreSQL's "
                            "max_connections (and reserved_connections)")
        return None
    limit = int(budget["max_connections"]) - int(budget.get("reserved_connections", 0))
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h["spec"]
            for h in by_kind.get("HorizontalPodAutoscaler", [])}
    total, lines = 0, []
    for dep in by_kind.get("Deployment", []):
        name = dep["metadata"]["name"]
        spec = dep["spec"]
        containers = spec["template"]["spec"]["containers"]
        env = container_env(containers[0], configmaps)
        if "WUYE_PG_URL" not in env:
            continue  # not a wuye service (e.g. the dev PostgreSQL's own workloads)
        pool = int(env.get("WUYE_PG_POOL_SIZE") or POOL_DEFAULT)
        replicas = (hpas.get(name) or {}).get("maxReplicas", spec.get("replicas", 1))
        surge = ((spec.get("strategy") or {}).get("rollingUpdate") or {}).get("maxSurge", 1)
        if isinstance(surge, str):  # a percentage: of the maximum, rounded up
            surge = -(-replicas * int(surge.rstrip("%")) // 100)
        pods = replicas + surge
        own = OWN_CONNECTIONS + LISTENING.get(name, 0)
        total += pods * (pool + own)
        lines.append(f"{name} {pods} x ({pool} + {own})")
    if total > limit:
        problems.append(f"PostgreSQL connection budget: {total} ({', '.join(lines)}) is more "
                        f"than max_connections - reserved_connections = {limit}")
    return total, limit


def check_token_keys(where, pod, c, configmaps, production, problems):
    name = f"{where} container {c.get('name')}"
    env = container_env(c, configmaps)
    key_file = env.get("WUYE_JWT_ES256_PUBLIC_KEY_FILE")
    secret_volumes = {v["name"] for v in pod["spec"].get("volumes") or [] if "secret" in v}
    mounted = any(m["name"] in secret_volumes and isinstance(key_file, str) and
                  posixpath.dirname(key_file) == m["mountPath"].rstrip("/")
                  for m in c.get("volumeMounts") or [])
    if not mounted:
        problems.append(f"{name}: WUYE_JWT_ES256_PUBLIC_KEY_FILE is not a file of a mounted Secret")
    if not production:
        return
    for hs256 in ("WUYE_JWT_SECRET", "WUYE_JWT_SECRET_FILE"):
        if hs256 in env:
            problems.append(f"{name}: {hs256} is set: production holds no HS256 secret")
    if str(env.get("WUYE_PRODUCTION", "")).lower() not in ("true", "1"):
        problems.append(f"{name}: WUYE_PRODUCTION is not true")


GATEWAY = "wuye-gateway"
# Secrets the gateway may hold: its own HTTPS pair and the CA of the services' certificates.
GATEWAY_SECRETS = {"wuye-gateway-tls", "wuye-gateway-upstream-tls"}
GATEWAY_MAX_TIMEOUT_S = 300            # the gateway's --max_timeout default (5m)
GATEWAY_MAX_BULK_BODY = 16 << 20       # its --max_bulk_body_bytes default (16 MiB)
DNS_PORT = 53


def seconds(text):
    """'15s', '500ms', '5m', '1h' (the flags' durations) -> seconds, or None."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text or "").strip())
    if not m:
        return None
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def size_bytes(text):
    """nginx sizes: '16m', '1024k', '2g', '100' -> bytes, or None."""
    m = re.fullmatch(r"(\d+)([kKmMgG]?)", str(text or "").strip())
    if not m:
        return None
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


def listen_port(address):
    """'0.0.0.0:8080' -> 8080, or None."""
    host, _, port = str(address or "").rpartition(":")
    return int(port) if host and port.isdigit() else None


def container_ports(c):
    """{name: containerPort} of a container."""
    return {p["name"]: p["containerPort"] for p in c.get("ports") or [] if "name" in p}


def service_target(svc, port_ref, pod_ports):
    """The pods' port that Service SVC's port PORT_REF (its number or name) reaches, or None."""
    for p in svc["spec"].get("ports") or []:
        if port_ref in (p.get("port"), p.get("name")):
            target = p.get("targetPort", p.get("port"))
            return pod_ports.get(target) if isinstance(target, str) else target
    return None


def mounted(c, path):
    """True if PATH lies on one of the container's volume mounts."""
    mounts = [m.get("mountPath", "").rstrip("/") + "/" for m in c.get("volumeMounts") or []]
    return isinstance(path, str) and any(path.startswith(m) for m in mounts)


def secrets_of(pod, c):
    """The Secrets a pod's container can read: secret volumes, env and envFrom references."""
    volumes = pod["spec"].get("volumes") or []
    names = {v["secret"].get("secretName") for v in volumes if "secret" in v}
    for v in volumes:
        for src in (v.get("projected") or {}).get("sources") or []:
            if "secret" in src:
                names.add(src["secret"].get("name"))
    for e in c.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            names.add(ref.get("name"))
    for src in c.get("envFrom") or []:
        if "secretRef" in src:
            names.add(src["secretRef"].get("name"))
    return names


def check_gateway(dep, services, by_kind, configmaps, production, problems):
    """The gateway's Deployment against the services it transcodes to (SERVICES: {Deployment
    name: (its Deployment, the service of services.txt)})."""
    where = f"Deployment {GATEWAY}"
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    env = container_env(c, configmaps)
    ports = container_ports(c)
    if c.get("image", "").partition(":")[0] != "wuye/gateway":
        problems.append(f"{where}: image {c.get('image')} is not wuye/gateway")
    for key in sorted(env):
        if key == "WUYE_PG_URL" or key.startswith(("WUYE_REDIS_", "WUYE_JWT_", "PG")):
            problems.append(f"{where}: {key} is set; the gateway has no database, no Redis and "
                            "verifies no token")
    for src in c.get("envFrom") or []:
        if (src.get("configMapRef") or {}).get("name", "").startswith("wuye-common"):
            problems.append(f"{where}: takes ConfigMap wuye-common, the services' configuration")
    for name in sorted(secrets_of(pod, c) - GATEWAY_SECRETS):
        problems.append(f"{where}: reads Secret {name}; the gateway holds only "
                        f"{', '.join(sorted(GATEWAY_SECRETS))}")
    # Where it listens: its container ports, its probes, its Service.
    if listen_port(env.get("WUYE_LISTEN")) != ports.get("http"):
        problems.append(f"{where}: WUYE_LISTEN={env.get('WUYE_LISTEN')} is not its container "
                        f"port http ({ports.get('http')})")
    if listen_port(env.get("WUYE_METRICS_LISTEN")) != ports.get("metrics"):
        problems.append(f"{where}: WUYE_METRICS_LISTEN={env.get('WUYE_METRICS_LISTEN')} is not "
                        f"its container port metrics ({ports.get('metrics')})")
    for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"),
                        ("livenessProbe", "/healthz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("metrics", ports.get("metrics")):
            problems.append(f"{where}: {probe} is not GET {path} on the metrics port")
    svc = next((s for s in by_kind.get("Service", []) if s["metadata"]["name"] == GATEWAY), None)
    if svc is None or service_target(svc, "http", ports) != ports.get("http"):
        problems.append(f"Service {GATEWAY}: no port http reaching the gateway's HTTP port")
    # SIGTERM: the preStop pause, then --shutdown_grace, within the pod's grace period.
    grace = seconds(env.get("WUYE_SHUTDOWN_GRACE") or "15s")
    pause = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds", 0)
    period = pod["spec"].get("terminationGracePeriodSeconds", 30)
    if grace is None or pause + grace >= period:
        problems.append(f"{where}: terminationGracePeriodSeconds {period} does not cover the "
                        f"preStop pause ({pause} s) and --shutdown_grace "
                        f"({env.get('WUYE_SHUTDOWN_GRACE')})")
    # Its upstream template, for every service: the Service wuye-<name>, on a port that
    # reaches the pods' gRPC port.
    template = env.get("WUYE_UPSTREAM") or ""
    if "{name}" not in template:
        problems.append(f"{where}: WUYE_UPSTREAM={template!r} does not name the service "
                        "({name})")
    services_by_name = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    for name, (sdep, s) in sorted(services.items()):
        address = template.replace("{name}", s.name).replace("{port}", str(s.port))
        host, _, port = address.rpartition(":")
        target = services_by_name.get(host)
        sc = sdep["spec"]["template"]["spec"]["containers"][0]
        grpc = container_ports(sc).get("grpc")
        if target is None:
            problems.append(f"{where}: upstream of {s.name} is {address}, but there is no "
                            f"Service {host}")
        elif not port.isdigit() or grpc is None or \
                service_target(target, int(port), container_ports(sc)) != grpc:
            problems.append(f"{where}: upstream of {s.name} is {address}, but port {port} of "
                            f"Service {host} does not reach its pods' gRPC port ({grpc})")
    # TLS: its own (mounted), and to the services when they speak it.
    for key in ("WUYE_TLS_CERT_FILE", "WUYE_TLS_KEY_FILE", "WUYE_UPSTREAM_CA_FILE",
                "WUYE_UPSTREAM_CERT_FILE", "WUYE_UPSTREAM_KEY_FILE"):
        if env.get(key) and not mounted(c, env[key]):
            problems.append(f"{where}: {key}={env[key]} is on no mounted volume")
    if bool(env.get("WUYE_TLS_CERT_FILE")) != bool(env.get("WUYE_TLS_KEY_FILE")):
        problems.append(f"{where}: WUYE_TLS_CERT_FILE and WUYE_TLS_KEY_FILE: both or neither")
    tls_services = [n for n, (sdep, _) in services.items()
                    if container_env(sdep["spec"]["template"]["spec"]["containers"][0],
                                     configmaps).get("WUYE_TLS_CERT_FILE")]
    if tls_services and not env.get("WUYE_UPSTREAM_CA_FILE"):
        problems.append(f"{where}: the services speak TLS ({', '.join(sorted(tls_services))}) "
                        "but WUYE_UPSTREAM_CA_FILE is not set")
    mtls_services = [n for n, (sdep, _) in services.items()
                     if container_env(sdep["spec"]["template"]["spec"]["containers"][0],
                                      configmaps).get("WUYE_TLS_CLIENT_CA_FILE")]
    if mtls_services and not (env.get("WUYE_UPSTREAM_CERT_FILE") and env.get("WUYE_UPSTREAM_KEY_FILE")):
        problems.append(f"{where}: the services require client certificates "
                        f"({', '.join(sorted(mtls_services))}) but the gateway presents none "
                        "(WUYE_UPSTREAM_CERT_FILE, WUYE_UPSTREAM_KEY_FILE)")
    origins = [o.strip() for o in (env.get("WUYE_CORS_ORIGINS") or "").split(",") if o.strip()]
    for o in origins:
        if o == "*" or not re.fullmatch(r"https?://[^/\s*]+", o):
            problems.append(f"{where}: CORS origin {o!r} is not scheme://host[:port]")
        elif production and not o.startswith("https://"):
            problems.append(f"{where}: CORS origin {o} is not https:// in production")
    if production and not env.get("WUYE_TLS_CERT_FILE"):
        problems.append(f"{where}: no TLS (WUYE_TLS_CERT_FILE) in production")
    # The console's sign-in: in production the group's OpenID Connect provider, never the
    # local one (docs/operations.md, "Signing in with the group's provider").
    issuer, client = env.get("WUYE_OIDC_ISSUER") or "", env.get("WUYE_OIDC_CLIENT_ID") or ""
    if bool(issuer) != bool(client):
        problems.append(f"{where}: WUYE_OIDC_ISSUER and WUYE_OIDC_CLIENT_ID: both or neither")
    if production:
        if env.get("WUYE_LOCAL_SIGN_IN_FILE"):
            problems.append(f"{where}: WUYE_LOCAL_SIGN_IN_FILE is set in production")
        if not re.fullmatch(r"https://[^/\s?#]+(/[^\s?#]*)?", issuer):
            problems.append(f"{where}: WUYE_OIDC_ISSUER={issuer!r} is not the https:// issuer of "
                            "the group's provider (the console's only sign-in in production)")


def policies_for(labels, policies, kind):
    """The NetworkPolicies of KIND (Ingress or Egress) that select pods with LABELS."""
    return [p for p in policies if pod_selects(p["spec"].get("podSelector"), labels)
            and kind in (p["spec"].get("policyTypes") or ["Ingress"])]


def rule_ports(rule, pod_ports):
    """The port numbers a rule names (names resolved against POD_PORTS), None for all."""
    if not rule.get("ports"):
        return None
    return {pod_ports.get(p.get("port"), p.get("port")) for p in rule["ports"]}


def check_network(gateway, services, by_kind, problems):
    """What may reach the services' gRPC port, and what the gateway may reach."""
    policies = by_kind.get("NetworkPolicy", [])
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    service_pods = [d["spec"]["template"] for d, _ in services.values()]
    if not service_pods:
        return
    grpc = container_ports(service_pods[0]["spec"]["containers"][0]).get("grpc")
    gw_pod = gateway["spec"]["template"] if gateway else None
    gw_labels = (gw_pod["metadata"].get("labels") or {}) if gw_pod else {}

    def only_services(peer):
        """The peer selects, in this namespace, only pods of the services (and some)."""
        if set(peer) != {"podSelector"}:
            return False
        templates = [w["spec"]["template"] for w in workloads]
        chosen = [t for t in templates
                  if pod_selects(peer["podSelector"], t["metadata"].get("labels") or {})]
        return bool(chosen) and all(any(t is s for s in service_pods) for t in chosen)

    # The services' gRPC port: from pods of this namespace only, and from the gateway.
    for pod in service_pods:
        labels = pod["metadata"].get("labels") or {}
        ports = container_ports(pod["spec"]["containers"][0])
        admits_gateway = False
        for pol in policies_for(labels, policies, "Ingress"):
            for rule in pol["spec"].get("ingress") or []:
                numbers = rule_ports(rule, ports)
                if numbers is not None and grpc not in numbers:
                    continue
                peers = rule.get("from")
                if not peers:
                    problems.append(f"NetworkPolicy {pol['metadata']['name']}: admits anyone "
                                    "to the services' gRPC port")
                    continue
                for peer in peers:
                    if set(peer) != {"podSelector"}:
                        problems.append(f"NetworkPolicy {pol['metadata']['name']}: admits "
                                        "another namespace or an address block to the "
                                        "services' gRPC port (the gateway is the way in)")
                    elif pod_selects(peer["podSelector"], gw_labels) and gw_pod:
                        admits_gateway = True
        if gw_pod and not admits_gateway:
            name = labels.get("app.kubernetes.io/name", "?")
            problems.append(f"{name}: no NetworkPolicy admits the gateway to its gRPC port")
    if not gw_pod:
        return
    # The gateway: out only DNS and the services' gRPC port; in from the ingress controller.
    gw_ports = container_ports(gw_pod["spec"]["containers"][0])
    egress = policies_for(gw_labels, policies, "Egress")
    if not egress:
        problems.append(f"{GATEWAY}: no NetworkPolicy restricts its egress")
    reaches_services = False
    for pol in egress:
        for rule in pol["spec"].get("egress") or []:
            numbers = rule_ports(rule, {})
            peers = rule.get("to") or []
            if numbers == {DNS_PORT}:
                continue
            if numbers == {grpc} and peers and all(only_services(p) for p in peers):
                reaches_services = True
                continue
            whom = "pods other than the services'" if peers else "anyone"
            problems.append(f"NetworkPolicy {pol['metadata']['name']}: lets the gateway reach "
                            f"{sorted(numbers) if numbers else 'every port'} of {whom}; it "
                            "may reach only DNS and the services' gRPC port")
    if not reaches_services:
        problems.append(f"{GATEWAY}: no NetworkPolicy lets it reach the services' gRPC port "
                        f"({grpc})")
    from_controller = any(
        any("namespaceSelector" in peer for peer in rule.get("from") or [])
        and gw_ports.get("http") in (rule_ports(rule, gw_ports) or {gw_ports.get("http")})
        for pol in policies_for(gw_labels, policies, "Ingress")
        for rule in pol["spec"].get("ingress") or [])
    if not from_controller:
        problems.append(f"{GATEWAY}: no NetworkPolicy admits the ingress controller to its "
                        "HTTP port")


def check_ingresses(by_kind, gateway, configmaps, production, problems):
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    gw_env = (container_env(gateway["spec"]["template"]["spec"]["containers"][0], configmaps)
              if gateway else {})
    for ing in by_kind.get("Ingress", []):
        where = f"Ingress {ing['metadata']['name']}"
        notes = ing["metadata"].get("annotations") or {}
        to_gateway = False
        backends = [((p.get("backend") or {}).get("service") or {})
                    for r in ing["spec"].get("rules") or []
                    for p in (r.get("http") or {}).get("paths") or []]
        for b in backends:
            svc = services.get(b.get("name"))
            port = b.get("port") or {}
            ref = port.get("number", port.get("name"))
            if svc is None or not any(ref in (p.get("port"), p.get("name"))
                                      for p in svc["spec"].get("ports") or []):
                problems.append(f"{where}: backend {b.get('name')}:{ref} is no Service port")
            to_gateway |= b.get("name") == GATEWAY
        hosts = {r.get("host") for r in ing["spec"].get("rules") or []}
        covered = {h for t in ing["spec"].get("tls") or [] if t.get("secretName")
                   for h in t.get("hosts") or []}
        if production and not hosts <= covered:
            problems.append(f"{where}: hosts {sorted(hosts - covered, key=str)} have no TLS")
        if not to_gateway:
            continue
        nginx = "nginx.ingress.kubernetes.io/"
        if notes.get(nginx + "proxy-buffering") != "off":
            problems.append(f"{where}: proxy-buffering is not off (streams would be held back)")
        read = notes.get(nginx + "proxy-read-timeout")
        if not str(read or "").isdigit() or int(read) <= GATEWAY_MAX_TIMEOUT_S:
            problems.append(f"{where}: proxy-read-timeout {read} is not above the gateway's "
                            f"--max_timeout ({GATEWAY_MAX_TIMEOUT_S} s)")
        body = size_bytes(notes.get(nginx + "proxy-body-size"))
        if body is None or (body != 0 and body < GATEWAY_MAX_BULK_BODY):
            problems.append(f"{where}: proxy-body-size {notes.get(nginx + 'proxy-body-size')} is "
                            "below the gateway's --max_bulk_body_bytes (16 MiB)")
        if gw_env.get("WUYE_TLS_CERT_FILE") and notes.get(nginx + "backend-protocol") != "HTTPS":
            problems.append(f"{where}: the gateway serves HTTPS but backend-protocol is not HTTPS")


def check_service_list(by_kind, problems):
    """One Deployment per service of services.txt, with its image and database; no other
    but the gateway's. Returns {Deployment name: (Deployment, service)} of those found."""
    service_list = load_service_list()
    listed = {f"wuye-{s.name}": s.name for s in service_list}
    deployed, found = {}, {}
    for dep in by_kind.get("Deployment", []):
        name = dep["metadata"]["name"]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        if any(e.get("name") == "WUYE_PG_URL" for e in c.get("env") or []):
            deployed[name] = c
        elif name not in listed and name != GATEWAY:
            problems.append(f"Deployment {name}: neither a service of services.txt nor the "
                            "gateway")
        if name in listed:
            found[name] = (dep, next(s for s in service_list if f"wuye-{s.name}" == name))
    for name in sorted(set(deployed) - set(listed)):
        problems.append(f"Deployment {name}: not a service of services.txt")
    for name, service in listed.items():
        c = deployed.get(name)
        if c is None:
            problems.append(f"services.txt: {service} has no Deployment {name}")
            continue
        if c.get("image", "").partition(":")[0] != f"wuye/{service}":
            problems.append(f"Deployment {name}: image {c.get('image')} is not wuye/{service}")
        url = next(e for e in c["env"] if e["name"] == "WUYE_PG_URL")
        ref = (url.get("valueFrom") or {}).get("secretKeyRef") or {}
        if ref.get("name") != f"{name}-database":
            problems.append(f"Deployment {name}: WUYE_PG_URL is not from Secret {name}-database")
    return found


def main():
    production = "--production" in sys.argv[1:]
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    problems = []
    targets = {(h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"])
               for h in by_kind.get("HorizontalPodAutoscaler", [])}
    pdbs = [p["spec"].get("selector") for p in by_kind.get("PodDisruptionBudget", [])]
    configmaps = {}
    for cm in by_kind.get("ConfigMap", []):
        # kustomize appends a content hash to generated names: key them by the plain name too
        name = cm["metadata"]["name"]
        configmaps[name] = cm
        configmaps.setdefault(name.rsplit("-", 1)[0], cm)
    for dep in by_kind.get("Deployment", []):
        where = f"Deployment {dep['metadata']['name']}"
        pod = dep["spec"]["template"]
        pod_sc = pod["spec"].get("securityContext") or {}
        for c in pod["spec"]["containers"]:
            check_container(where, pod_sc, c, problems)
            if dep["metadata"]["name"] == GATEWAY:
                continue  # no database, Redis or tokens: check_gateway below
            if c.get("name") == "server":
                check_redis_user(where, dep["metadata"]["name"], c, problems)
            env = container_env(c, configmaps)
            if "WUYE_PG_URL" in env:
                check_tls(f"{where} container {c.get('name')}", pod, c, env, production,
                          problems)
                check_limits(f"{where} container {c.get('name')}", env, production, problems)
                if production:
                    check_postgres_tls(f"{where} container {c.get('name')}", env, problems)
            check_token_keys(where, pod, c, configmaps, production, problems)
        labels = pod["metadata"].get("labels") or {}
        if ("Deployment", dep["metadata"]["name"]) not in targets:
            problems.append(f"{where}: no HorizontalPodAutoscaler")
        if not any(s and s.get("matchLabels") and pod_selects(s, labels) for s in pdbs):
            problems.append(f"{where}: no PodDisruptionBudget")
    policies = [p for p in by_kind.get("NetworkPolicy", []) if p["spec"].get("ingress")]
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    pod_labels = [w["spec"]["template"]["metadata"].get("labels") or {} for w in workloads]
    for svc in by_kind.get("Service", []):
        selector = {"matchLabels": svc["spec"].get("selector") or {}}
        pods = [labels for labels in pod_labels if pod_selects(selector, labels)]
        if not pods:
            problems.append(f"Service {svc['metadata']['name']}: selects no pods")
        for labels in pods:
            if not any(pod_selects(p["spec"].get("podSelector"), labels) for p in policies):
                problems.append(f"Service {svc['metadata']['name']}: no NetworkPolicy allows "
                                "traffic to its pods")
    for secret in by_kind.get("Secret", []):
        problems.append(f"Secret {secret['metadata']['name']}: secrets must not be committed")
    budget = connection_budget(by_kind, configmaps, production, problems)
    services = check_service_list(by_kind, problems)
    gateway = next((d for d in by_kind.get("Deployment", [])
                    if d["metadata"]["name"] == GATEWAY), None)
    if gateway is None:
        problems.append(f"no Deployment {GATEWAY} (deploy/base/gateway/)")
    else:
        check_gateway(gateway, services, by_kind, configmaps, production, problems)
    check_network(gateway, services, by_kind, problems)
    check_ingresses(by_kind, gateway, configmaps, production, problems)
    for p in dict.fromkeys(problems):  # once each, in order (a policy is seen per pod)
        print(p)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    if budget:
        counts += f"; PostgreSQL connections at most {budget[0]} of {budget[1]}"
    print(f"{'FAILED' if problems else 'ok'}: {counts}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
