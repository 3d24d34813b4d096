#!/usr/bin/env bash
# `make images`: builds one image per service of services.txt from deploy/Dockerfile (one
# shared build stage), tagged wuye/<service>:<tag>, with docker, podman or buildah,
# whichever is here.
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
build() {  # SERVICE
  case "$tool" in
    buildah) buildah bud -f deploy/Dockerfile --target service --build-arg "SERVICE=$1" \
               -t "wuye/$1:$tag" . ;;
    *) "$tool" build -f deploy/Dockerfile --target service --build-arg "SERVICE=$1" \
         -t "wuye/$1:$tag" . ;;
  esac
}
for s in "${services[@]}"; do
  echo "images: wuye/$s:$tag ($tool)"
  build "$s"
done
echo "images: built ${#services[@]} images tagged $tag"
