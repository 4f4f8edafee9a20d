"""Shared fixtures: a mock-engine runner with a fresh event loop per run and options reset after."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components import mockrun

ROOT = Path(__file__).resolve().parent.parent


def stack_config(stack: str) -> dict[str, Any]:
    """The ``config:`` block of stacks/Pulumi.<stack>.yaml."""
    return yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]


@pytest.fixture
def run_program() -> Iterator[Callable[..., mockrun.RunResult]]:
    """Run a program under mocks: ``run_program(fn, config={...}, stack="dev")``; each call gets a fresh loop."""
    yield mockrun.run
    pulumi.runtime.settings.reset_options()


@pytest.fixture
def project_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the project directory as the program's working directory (as `pulumi up` does)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RAYDASK_PROJECT_DIR", str(ROOT))
    return ROOT
