#!/usr/bin/env bash
# `make images`: builds one image per service from deploy/Dockerfile (one shared build
# stage), tagged wuye/<service>:<tag>, with docker, podman or buildah, whichever is here.
#
#   scripts/images.sh [TAG]        (default 0.1.0; deploy/ pins the same tag)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-0.1.0}
services=(directory intake dispatch billing performance eldercare)

tool=""
for candidate in docker podman buildah; do
  if command -v "$candidate" >/dev/null 2>&1; then tool=$candidate; break; fi
done
if [[ -z "$tool" ]]; then
  echo "images: no container tool found: install docker.io, podman or buildah (Debian packages)" >&2
  exit 1
fi
if [[ "$tool" == docker ]] && ! docker info >/dev/null 2>&1; then
  echo "images: docker is installed but its daemon does not answer (is it running, may you use it?)" >&2
  exit 1
fi
build() {  # SERVICE
  case "$tool" in
    buildah) buildah bud -f deploy/Dockerfile --target "$1" -t "wuye/$1:$tag" . ;;
    *) "$tool" build -f deploy/Dockerfile --target "$1" -t "wuye/$1:$tag" . ;;
  esac
}
for s in "${services[@]}"; do
  echo "images: wuye/$s:$tag ($tool)"
  build "$s"
done
echo "images: built ${#services[@]} images tagged $tag"
