#!/usr/bin/python3
"""Writes the per-service parts of deploy/ from services.txt; `--check` only says what is
stale (scripts/check-deploy.sh, part of `make test`, runs it).

  scripts/gen-deploy.py [--check]

Writes, for each service of services.txt:
  deploy/base/<name>/kustomization.yaml  the shared shape (../service) named wuye-<name>,
                                         image wuye/<name>:<IMAGE_TAG of the Makefile>
  deploy/base/<name>/deployment.yaml     its database Secret, its Redis ACL user, spreading
and the lines between the services.txt markers of deploy/base/kustomization.yaml (its
resources) and deploy/overlays/dev/databases.sql (the dev PostgreSQL's databases).
What only one service has (another Secret, say) goes by hand into
deploy/base/<name>/own.yaml, a patch of its Deployment that the kustomization then names.

The gateway (deploy/base/gateway/, the HTTP edge, not a line of services.txt) is written by
hand; this script writes only its image line, between the IMAGE_TAG markers of its
kustomization, so that one tag names every image. scripts/check_manifests.py checks that its
upstream address template names each service's Service and gRPC port.
"""
import pathlib
import re
import sys

from service_list import ROOT, load

DEPLOY = ROOT / "deploy"
HEADER = "# Generated from services.txt by scripts/gen-deploy.py; do not edit.\n"
BEGIN, END = "BEGIN services.txt (scripts/gen-deploy.py)", "END services.txt"
TAG_BEGIN, TAG_END = "BEGIN IMAGE_TAG (scripts/gen-deploy.py)", "END IMAGE_TAG"
GATEWAY = "gateway"  # deploy/base/gateway/: by hand but for its image tag


def image_tag():
    m = re.search(r"^IMAGE_TAG\s*\?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    if not m:
        raise SystemExit("gen-deploy: no IMAGE_TAG ?= ... in the Makefile")
    return m.group(1)


def kustomization(s, tag, own):
    patches = "  - path: deployment.yaml\n" + ("  - path: own.yaml\n" if own else "")
    return f"""{HEADER}# What only {s.name} has goes in own.yaml beside this file.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../service
nameSuffix: -{s.name}
labels:
  - pairs: {{app.kubernetes.io/name: wuye-{s.name}}}
    includeSelectors: true
images:
  - {{name: wuye-service, newName: wuye/{s.name}, newTag: "{tag}"}}
patches:
{patches}"""


def deployment(s):
    return f"""{HEADER}# What every service has of its own: its database credentials, its Redis ACL user and
# spreading its replicas.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: wuye
spec:
  template:
    spec:
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector: {{matchLabels: {{app.kubernetes.io/name: wuye-{s.name}}}}}
      containers:
        - name: server
          env:
            - name: WUYE_PG_URL
              valueFrom: {{secretKeyRef: {{name: wuye-{s.name}-database, key: url}}}}
            # Its own Redis ACL user (docs/operations.md): XADD to wuye.{s.name}.events only.
            - name: WUYE_REDIS_USER
              value: wuye-{s.name}
            - name: WUYE_REDIS_PASSWORD
              valueFrom: {{secretKeyRef: {{name: wuye-{s.name}-redis, key: password, optional: false}}}}
"""


def between_markers(path, lines, indent, comment="#", markers=(BEGIN, END)):
    """PATH's text with the lines between the marker comments replaced by LINES."""
    text = path.read_text()
    begin, end = (re.escape(f"{comment} {m}") for m in markers)
    pattern = re.compile(rf"(^[ \t]*{begin}\n).*?(^[ \t]*{end}\n)", re.M | re.S)
    if not pattern.search(text):
        raise SystemExit(f"gen-deploy: {path} has no '{comment} {markers[0]}' ... "
                         f"'{comment} {markers[1]}' lines")
    body = "".join(f"{indent}{line}\n" for line in lines)
    return pattern.sub(lambda m: m.group(1) + body + m.group(2), text, count=1)


def wanted():
    """{path: text} of every file this script owns."""
    services, tag = load(), image_tag()
    files = {}
    for s in services:
        folder = DEPLOY / "base" / s.name
        files[folder / "kustomization.yaml"] = kustomization(s, tag, (folder / "own.yaml").exists())
        files[folder / "deployment.yaml"] = deployment(s)
    base = DEPLOY / "base" / "kustomization.yaml"
    files[base] = between_markers(base, [f"- {s.name}" for s in services], "  ")
    sql = DEPLOY / "overlays" / "dev" / "databases.sql"
    files[sql] = between_markers(sql, [f"CREATE DATABASE wuye_{s.name};" for s in services], "", "--")
    if any(s.name == GATEWAY for s in services):
        raise SystemExit(f"gen-deploy: services.txt lists {GATEWAY}, the gateway's folder name")
    gateway = DEPLOY / "base" / GATEWAY / "kustomization.yaml"
    files[gateway] = between_markers(
        gateway, [f'- {{name: wuye-{GATEWAY}, newName: wuye/{GATEWAY}, newTag: "{tag}"}}'],
        "  ", markers=(TAG_BEGIN, TAG_END))
    return files, {s.name for s in services}


def main():
    check = sys.argv[1:] == ["--check"]
    if sys.argv[1:] not in ([], ["--check"]):
        raise SystemExit(__doc__)
    files, names = wanted()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    # A folder of a service no longer listed: its generated files say so.
    orphans = [k.parent for k in (DEPLOY / "base").glob("*/kustomization.yaml")
               if k.parent.name not in names and k.read_text().startswith(HEADER)]
    rel = lambda p: p.relative_to(ROOT)
    if check:
        for p in stale:
            print(f"gen-deploy: {rel(p)} does not match services.txt (or the Makefile's IMAGE_TAG)")
        for d in orphans:
            print(f"gen-deploy: {rel(d)}/ is of a service services.txt no longer lists")
        if stale or orphans:
            print("gen-deploy: run scripts/gen-deploy.py (and remove folders of services no "
                  "longer listed)")
            return 1
        return 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(files[p])
        print(f"gen-deploy: wrote {rel(p)}")
    for d in orphans:
        print(f"gen-deploy: {rel(d)}/ is of a service services.txt no longer lists; remove it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
