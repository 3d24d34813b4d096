#!/usr/bin/python3
"""Asserts on rendered Kubernetes manifests (YAML on stdin) what deploy/ promises:

  - every Deployment: startup, readiness and liveness probes; CPU and memory requests and a
    memory limit; runAsNonRoot, readOnlyRootFilesystem, no privilege escalation, all
    capabilities dropped, seccomp RuntimeDefault; an image with a tag that is not "latest";
    a PodDisruptionBudget and a HorizontalPodAutoscaler;
  - every Service: a NetworkPolicy with ingress rules that selects its pods;
  - no Secret is rendered (secrets are referenced, never committed);
  - every Deployment verifies tokens with an ES256 public-key file mounted from a Secret;
  - with --production (the prod overlay): every Deployment has WUYE_PRODUCTION=true and no
    HS256 secret (WUYE_JWT_SECRET, WUYE_JWT_SECRET_FILE), from env or a ConfigMap alike.

Prints one line per problem and exits 1 if there is any.
"""
import posixpath
import sys

import yaml


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


def container_env(c, configmaps):
    """The container's environment: envFrom ConfigMaps, then env (which wins)."""
    env = {}
    for source in c.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        if ref:
            env.update(configmaps.get(ref, {}))
    for e in c.get("env") or []:
        env[e["name"]] = e.get("value", e.get("valueFrom"))
    return env


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
    configmaps = {m["metadata"]["name"]: m.get("data") or {} for m in by_kind.get("ConfigMap", [])}
    for dep in by_kind.get("Deployment", []):
        where = f"Deployment {dep['metadata']['name']}"
        pod = dep["spec"]["template"]
        pod_sc = pod["spec"].get("securityContext") or {}
        for c in pod["spec"]["containers"]:
            check_container(where, pod_sc, c, problems)
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
    for p in problems:
        print(p)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"{'FAILED' if problems else 'ok'}: {counts}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
