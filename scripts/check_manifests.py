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
  - every Deployment verifies tokens with an ES256 public-key file mounted from a Secret;
  - with --production (the prod overlay): every Deployment has WUYE_PRODUCTION=true and no
    HS256 secret (WUYE_JWT_SECRET, WUYE_JWT_SECRET_FILE), from env or a ConfigMap alike;
  - the services are those of services.txt: one Deployment wuye-<name> each, running image
    wuye/<name>, with its own database Secret wuye-<name>-database, and no other service.

With --production (the prod overlay) also: that budget is declared, every service serves
TLS with client certificates (mutual TLS), PostgreSQL is reached with sslmode=verify-full,
the request limits stay at their hardened values and gRPC reflection is off.

Prints one line per problem and exits 1 if there is any.
"""
import posixpath
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


def check_service_list(by_kind, problems):
    """One Deployment per service of services.txt, with its image and database; no other."""
    listed = {f"wuye-{s.name}": s.name for s in load_service_list()}
    deployed = {}
    for dep in by_kind.get("Deployment", []):
        c = dep["spec"]["template"]["spec"]["containers"][0]
        if any(e.get("name") == "WUYE_PG_URL" for e in c.get("env") or []):
            deployed[dep["metadata"]["name"]] = c
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
    check_service_list(by_kind, problems)
    for p in problems:
        print(p)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    if budget:
        counts += f"; PostgreSQL connections at most {budget[0]} of {budget[1]}"
    print(f"{'FAILED' if problems else 'ok'}: {counts}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
