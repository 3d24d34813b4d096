#!/usr/bin/env bash
# `make images`: builds one image per service of services.txt from deploy/Dockerfile (one
# shared build stage), tagged wuye/<service>:<tag>, and the gateway's, wuye/gateway:<tag>
# (once services/gateway/ exists), with docker, podman or buildah, whichever is here.
#
#   scripts/images.sh [TAG]        (default: the Makefile's IMAGE_TAG, which deploy/ pins)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-$(sed -n 's/^IMAGE_TAG *?= *//p' Makefile)}
[[ -n "$tag" ]] || { echo "images: no tag given and none in the Makefile" >&2; exit 1; }
mapfile -t services < <(awk '!/^[[:space:]]*(#|$)/ {print $1}' services.txt)

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
build() {  # SERVICE, or "gateway" (its own stage)
  local -a how=(--target service --build-arg "SERVICE=$1")
  [[ "$1" == gateway ]] && how=(--target gateway)
  case "$tool" in
    buildah) buildah bud -f deploy/Dockerfile "${how[@]}" -t "wuye/$1:$tag" . ;;
    *) "$tool" build -f deploy/Dockerfile "${how[@]}" -t "wuye/$1:$tag" . ;;
  esac
}
images=("${services[@]}")
if [[ -f services/gateway/CMakeLists.txt ]]; then
  images+=(gateway)
else
  echo "images: no services/gateway/ yet: no wuye/gateway image (deploy/base/gateway/ names it)" >&2
fi
for s in "${images[@]}"; do
  echo "images: wuye/$s:$tag ($tool)"
  build "$s"
done
echo "images: built ${#images[@]} images tagged $tag"
