"""The validators' on-disk memory of upstream results (raydask.offline.validation.memo): the same findings as computing
them, computed again whenever anything they depend on changes, and a ``validate`` of known clusters importing neither
the Dask operator nor Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from stack_renders import ROOT, STACKS, manifests

from raydask.offline.validation import consumers, memo


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "validation"
    monkeypatch.setenv(memo.CACHE_ENV, str(directory))
    return directory


def test_a_result_is_computed_once_per_input_and_source(cache: Path, tmp_path: Path) -> None:
    source = tmp_path / "code.py"
    source.write_text("v1")
    calls: list[int] = []

    def compute() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls), "nested": [1, 2.5, None, "x"]}

    first = memo.remembered("thing", "pydantic", [source], {"a": 1}, compute)
    again = memo.remembered("thing", "pydantic", [source], {"a": 1}, compute)
    assert (first, again, len(calls)) == ({"n": 1, "nested": [1, 2.5, None, "x"]},) * 2 + (1,)
    assert memo.remembered("thing", "pydantic", [source], {"a": 2}, compute)["n"] == 2  # another input
    assert memo.remembered("other", "pydantic", [source], {"a": 1}, compute)["n"] == 3  # another computation
    memo._content.cache_clear()
    source.write_text("v2")
    assert memo.remembered("thing", "pydantic", [source], {"a": 1}, compute)["n"] == 4  # the code around it changed
    assert len(list(cache.glob("*.json"))) == 4


def test_what_raises_is_not_kept_and_off_keeps_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail() -> None:
        raise RuntimeError("upstream failed")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            memo.remembered("thing", "pydantic", [], 1, fail)
    assert not cache.exists() or not list(cache.glob("*.json"))
    monkeypatch.setenv(memo.CACHE_ENV, "off")
    assert memo.cache_dir() is None
    calls: list[int] = []
    for _ in range(2):
        memo.remembered("thing", "pydantic", [], 1, lambda: calls.append(1))
    assert len(calls) == 2


def test_a_corrupt_entry_is_computed_again(cache: Path) -> None:
    memo.remembered("thing", "pydantic", [], 1, lambda: 1)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert memo.remembered("thing", "pydantic", [], 1, lambda: 2) == 2
    assert json.loads(entry.read_text()) == 2


@pytest.mark.parametrize("stack", STACKS)
def test_remembered_findings_and_expansions_equal_computed_ones(stack: str, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = [o for o in manifests(stack) if o.get("kind") in (*consumers.RAY_KINDS, *consumers.DASK_KINDS)]
    assert {o["kind"] for o in objects} >= {"RayCluster", "DaskCluster"}

    def results() -> list[Any]:
        out: list[Any] = []
        for obj in objects:
            out.append([str(f) for f in consumers.check_consumers(obj)])
            if obj["kind"] == "DaskCluster":
                out.append(consumers.expand_dask_cluster(obj))
        return out

    monkeypatch.setenv(memo.CACHE_ENV, "off")
    computed = results()
    monkeypatch.setenv(memo.CACHE_ENV, str(cache))
    stored = results()
    assert list(cache.glob("*.json"))
    assert results() == stored == computed


def test_a_dask_expansion_failure_is_remembered_with_its_message(cache: Path) -> None:
    broken = {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": {"name": "d", "namespace": "n"},
              "spec": {"scheduler": {"spec": {"containers": [{"name": "s", "image": "i"}]}},
                       "worker": {"spec": {"containers": [{"name": "w", "image": "i", "env": [{"value": "no name"}]}]}}}}
    computed = consumers.dask_operator_issues(broken, "1.31")
    assert computed == [("spec", "Dask operator fails to expand DaskCluster: KeyError: missing field 'name' that the operator reads")]
    assert list(cache.glob("*.json"))
    assert consumers.dask_operator_issues(broken, "1.31") == computed
    with pytest.raises(consumers.DaskExpansionError, match="missing field 'name'"):
        consumers.expand_dask_cluster(broken)


def test_validating_known_clusters_imports_neither_the_dask_operator_nor_ray(cache: Path) -> None:
    script = (
        "import sys\n"
        "from raydask.offline.render import render_stack\n"
        "from raydask.offline.validation import validate_objects\n"
        "for stack in ('dev', 'production'):\n"
        "    r = render_stack(stack)\n"
        "    assert not validate_objects(r.manifests(include_crds=True), r.kubernetes_version)\n"
        "print(sorted(m for m in ('dask_kubernetes', 'distributed', 'kopf', 'ray') if m in sys.modules))\n"
    )
    env = {**os.environ, memo.CACHE_ENV: str(cache)}

    def imported() -> str:
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert imported() == "['dask_kubernetes', 'distributed', 'kopf', 'ray']"
    assert imported() == "[]"
