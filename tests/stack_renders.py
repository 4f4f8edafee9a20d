"""The dev and production stacks rendered once per test session (shared by the PSS, policy and checkov tests)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from raydask.offline import render
from raydask.testing import mockrun

ROOT = Path(__file__).resolve().parent.parent
STACKS = ("dev", "production")


@functools.cache
def rendering(stack: str) -> render.Rendering:
    """``raydask render <stack>``: the program's objects plus the operators' ``helm template`` output (do not mutate)."""
    return render.render_stack(stack, ROOT)


@functools.cache
def program_run(stack: str) -> mockrun.RunResult:
    """What the program registers for ``stack`` under the mock engine (secrets as offline placeholders; do not mutate)."""
    return render.run_program(stack, ROOT)


def stack_config(stack: str) -> dict[str, Any]:
    """The ``config:`` block of stacks/Pulumi.<stack>.yaml, as the Pulumi CLI reads it."""
    from raydask.offline import stackfile

    return stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")


def manifests(stack: str) -> list[dict[str, Any]]:
    """Every rendered object of ``stack`` but the CRDs."""
    return rendering(stack).manifests(include_crds=False)
