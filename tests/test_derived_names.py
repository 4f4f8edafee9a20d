"""The names a stack reserves (``StackSpec.derived_objects``, what the name-collision rule compares) cover every object
the builders make: a builder that makes an object under a name the list lacks fails here, not in a cluster."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from stack_renders import ROOT
from test_properties import PROFILE, build, stacks

from raydask.errors import ConfigError
from raydask.program import load_stack_spec

STACK_FILES = [ROOT / "stacks" / "Pulumi.dev.yaml", ROOT / "stacks" / "Pulumi.production.yaml",
               ROOT / "tests" / "e2e" / "stacks" / "Pulumi.e2e.yaml"]


def config_of(path: Path) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text())["config"]
    return {k.removeprefix("raydask:"): v for k, v in config.items()
            if k.startswith("raydask:") and not (isinstance(v, dict) and "secure" in v)}


def unreserved(values: dict[str, Any]) -> list[str]:
    """Built namespaced objects whose (namespace, kind, name) ``derived_objects`` does not list."""
    spec = load_stack_spec(values)
    reserved = {(ns, kind, name) for ns, kind, name, _, _ in spec.derived_objects()}
    built = [(o["metadata"]["namespace"], o["kind"], o["metadata"]["name"]) for o in build(values)
             if o["metadata"].get("namespace")]
    return [f"{kind} {ns}/{name}" for ns, kind, name in built if (ns, kind, name) not in reserved]


@pytest.mark.parametrize("path", STACK_FILES, ids=lambda p: p.stem)
def test_every_built_object_is_reserved(path: Path) -> None:
    values = config_of(path)
    assert build(values), "the stack builds objects"
    assert unreserved(values) == []


@settings(PROFILE, max_examples=40)
@given(stacks)
def test_generated_stacks_reserve_what_they_build(values: dict[str, Any]) -> None:
    with contextlib.suppress(ConfigError):  # refused stacks build nothing
        assert unreserved(values) == []
