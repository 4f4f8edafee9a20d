"""Golden renders of every stack (stacks/Pulumi.*.yaml), and every stack validating clean.

`raydask render <stack>` must reproduce tests/golden/<stack>/ byte for byte; a mismatch fails with the unified diff.
After an intended change, regenerate and review the diff in the pull request:

    RAYDASK_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from stack_renders import ROOT
from typer.testing import CliRunner

from raydask.offline import diff
from raydask.offline.cli import app
from raydask.offline.render import stack_names

STACKS = stack_names(ROOT)
GOLDEN = ROOT / "tests" / "golden"
REGENERATE = bool(os.environ.get("RAYDASK_REGENERATE_GOLDEN"))


@pytest.mark.parametrize("stack", STACKS)
def test_render_matches_golden(stack: str, tmp_path: Path) -> None:
    target = GOLDEN / stack if REGENERATE else tmp_path / stack
    result = CliRunner().invoke(app, ["render", stack, "--out", str(target), "--project", str(ROOT)])
    assert result.exit_code == 0, result.output
    if REGENERATE:
        return
    golden = GOLDEN / stack
    assert golden.is_dir(), f"no golden render of {stack}: RAYDASK_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py"
    changes = diff.compare(diff.read_tree(golden), diff.read_tree(target), raw=True)
    if not changes.empty:
        pytest.fail(
            diff.format_text(changes, f"render of stack {stack} differs from tests/golden/{stack}")
            + "\nIf the change is intended: RAYDASK_REGENERATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py",
            pytrace=False,
        )


@pytest.mark.parametrize("stack", STACKS)
def test_stack_validates(stack: str) -> None:
    result = CliRunner().invoke(app, ["validate", stack, "--project", str(ROOT)])
    assert result.exit_code == 0, result.output
    assert f"stack {stack}:" in result.stdout and "valid" in result.stdout
