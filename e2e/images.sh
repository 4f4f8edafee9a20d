#!/usr/bin/env bash
# Builds the live tier's container images (e2e/images/images.toml): Debian bookworm root filesystems from the mirror
# this machine's apt uses, PyPI wheels pinned by hash, packed as OCI archives for `ctr -n k8s.io images import`.
# Cached by recipe hash under ${RAYDASK_TOOLS_DIR:-~/.cache/raydask-tools}/images/; writes images/images.json.
#
# Usage: e2e/images.sh [build] [IMAGE ...]      build what is missing (default: all), write images.json
#        e2e/images.sh lock [IMAGE ...]         re-resolve the pinned wheels (e2e/images/*/requirements.lock)
#        e2e/images.sh hash | prune             print the recipe hashes | drop cached builds images.json does not name
#        e2e/images.sh check [IMAGE ...]        run each image under runc as raydask's pods do (e2e/images/check.py)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${RAYDASK_PYTHON:-$ROOT/.venv/bin/python}
[[ -x $PY ]] || PY=$(command -v python3)
export RAYDASK_PYTHON=$PY

cmd=${1:-build}
case $cmd in build|lock|hash|prune|check) shift || true ;; *) cmd=build ;; esac

# debootstrap, umoci (packing) and runc (check) are Debian packages: install the missing ones once.
if [[ $cmd == build || $cmd == check ]]; then
  missing=()
  for tool in debootstrap umoci runc unshare; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if (( ${#missing[@]} )); then
    [[ $(id -u) == 0 ]] || { echo "images: missing ${missing[*]} (apt-get install debootstrap umoci runc)" >&2; exit 1; }
    echo "images: installing ${missing[*]} from Debian"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq debootstrap umoci runc util-linux >/dev/null
  fi
fi

if [[ $cmd == check ]]; then exec "$PY" "$ROOT/e2e/images/check.py" "$@"; fi
exec nice -n 10 "$PY" "$ROOT/e2e/images/build.py" "$cmd" "$@"
