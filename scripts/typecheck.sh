#!/usr/bin/env bash
# mypy over the package as users import it: the source lives in components/, the package is raydask, so mypy reads it
# through a symlink (.typecheck/raydask -> ../components; mypy cannot rename a directory).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .typecheck
ln -sfn ../components .typecheck/raydask
MYPYPATH=.typecheck exec .venv/bin/mypy -p raydask "$@"
