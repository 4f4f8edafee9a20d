#!/usr/bin/env bash
# mypy over the package as users import it (components/raydask is the package raydask).
set -euo pipefail
cd "$(dirname "$0")/.."
MYPYPATH=components exec .venv/bin/mypy -p raydask "$@"
