"""The pull-request workflow passes actionlint (built by e2e/toolchain.sh from the Go module proxy)."""

from __future__ import annotations

import subprocess

from live import ROOT


def test_workflows_pass_actionlint(tools: dict[str, str]) -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    run = subprocess.run([tools["RAYDASK_ACTIONLINT"], "-no-color", *map(str, workflows)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
