#!/usr/bin/env bash
# Local control plane for the e2e tests: e2e/cluster.sh up|down|status|env|start-kuberay|stop-kuberay|start-dask|stop-dask|logs NAME
# Options: --state-dir D (default ${RAYDASK_E2E_STATE:-/tmp/raydask-e2e}), see `e2e/cluster.sh --help`.
# Binaries come from $RAYDASK_TOOLS_DIR/env.sh (run e2e/toolchain.sh first).
set -euo pipefail
exec "${PYTHON:-python3}" "$(dirname "$0")/cluster.py" "$@"
