"""What raydask checks user input against ships with the package (:mod:`raydask.facts`): extracted from the pinned
charts, chosen by the stack's operator version, and never read from the chart cache or the network at config time --
so a stack gets the same verdict on every machine, whatever its chart cache holds."""

from __future__ import annotations

import copy
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_renders import ROOT

from raydask import charts, facts
from raydask.errors import ConfigError
from raydask.offline import facts as extraction
from raydask.program import load_stack_spec

SCHEDULING_GROUP = {"head": {"podPatch": {"spec": {"schedulingGroup": {"podGroupName": "g"}}}}}
"""``spec.schedulingGroup``: in the PodSpec of KubeRay 1.7.0's CRDs, not 1.5.0's."""


def stack_values(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.removeprefix("raydask:"): v for k, v in config.items() if k.startswith("raydask:")}


def verdict(values: dict[str, Any]) -> list[str]:
    try:
        load_stack_spec(copy.deepcopy(values))
    except ConfigError as exc:
        return exc.problems
    return []


def test_shipped_facts_match_the_pinned_charts() -> None:
    assert extraction.stale() == [], "run: .venv/bin/python -m raydask.offline.facts --write"
    assert sorted(p.name for p in Path(facts.__file__).parent.glob("*.json.gz")) == sorted(
        facts.file_name(c, v) for c, versions in facts.SUPPORTED.items() for v in versions)


def test_shipped_facts_are_small() -> None:
    sizes = [p.stat().st_size for p in Path(facts.__file__).parent.glob("*.json.gz")]
    assert sum(sizes) < 64 * 1024, sizes


def bad_cases() -> list[dict[str, Any]]:
    dev = stack_values("dev")
    cluster = dev["rayClusters"][0]
    return [
        dev,
        stack_values("production"),
        {**dev, "rayClusters": [{**cluster, "head": {"podPatch": {"spec": {"hostNetwork": True, "shareProcessNamespaces": True}}}}]},
        {**dev, "kuberay": {"version": "1.5.0"}, "rayClusters": [{**cluster, **SCHEDULING_GROUP}]},
        {**dev, "daskClusters": [{**dev["daskClusters"][0], "scheduler": {"servicePatch": {"trafficDistribution": "x"}}}]},
        {**dev, "kuberay": {"values": {"nodeSelectr": {}}}},
    ]


def test_config_checks_never_read_the_chart_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    full = [verdict(v) for v in bad_cases()]
    assert full[0] == [] and all(full[2:]), full

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a config-time check read the chart cache")

    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path / "empty"))
    for name in ("locate", "cached", "fetch", "chart_metadata", "load_dir"):
        monkeypatch.setattr(charts, name, forbidden)
    assert [verdict(v) for v in bad_cases()] == full


def test_the_stacks_operator_version_chooses_the_schema() -> None:
    dev = stack_values("dev")
    cluster = {**dev["rayClusters"][0], **SCHEDULING_GROUP}
    assert verdict({**dev, "kuberay": {"version": "1.7.0"}, "rayClusters": [cluster]}) == []
    assert verdict({**dev, "kuberay": {"version": "1.5.0"}, "rayClusters": [cluster]}) == [
        "raydask:rayClusters[0].head.podPatch.spec.schedulingGroup: unknown key (did you mean 'schedulingGates'?): the API "
        "server would silently drop it"]


def test_versions_raydask_does_not_ship_use_the_nearest_older_schema() -> None:
    assert facts.nearest("kuberay-operator", "1.6.2") == "1.5.0"
    assert facts.nearest("kuberay-operator", "1.9.0") == "1.7.0"
    assert facts.nearest("kuberay-operator", "1.2.0") == "1.5.0"
    assert facts.chart_values("kuberay-operator", "1.6.2") is None  # values differ: not checked
    assert facts.feature_gates("1.7.0") == {
        "RayClusterStatusConditions": True, "RayJobDeletionPolicy": True, "RayMultiHostIndexing": True,
        "RayServiceIncrementalUpgrade": True, "RayCronJob": False, "RayClusterMTLS": False, "RayClusterNetworkPolicy": False,
        "RayClusterHistoryServer": False}


def test_the_package_data_is_in_the_wheel(tmp_path: Path) -> None:
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True)
    [wheel] = tmp_path.glob("raydask-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"raydask/facts/{facts.file_name(c, v)}" for c, vs in facts.SUPPORTED.items() for v in vs} <= set(names)
