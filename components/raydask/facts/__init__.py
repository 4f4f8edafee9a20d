"""What raydask knows of each operator version it supports, shipped with the package: the schemas the operators' CRDs
embed (the PodSpec of Ray and Dask pods, the Dask scheduler's ServiceSpec), which user input is checked against, and
the charts' default values, which ``values`` is checked against and whose feature gates raydask sends.

Extracted from the pinned charts by ``python -m raydask.offline.facts --write`` (one gzipped JSON file per chart
version beside this module); a test fails when they drift from the charts. Config-time checks read only these, never
the chart cache or the network, so a stack gets the same verdict on every machine.
"""

from __future__ import annotations

import copy
import functools
import gzip
import importlib.resources
import json
import re
from typing import Any

SUPPORTED: dict[str, tuple[str, ...]] = {
    "kuberay-operator": ("1.5.0", "1.7.0"),
    "dask-kubernetes-operator": ("2026.3.0",),
}
"""The chart versions raydask ships facts of, oldest first."""


def file_name(chart: str, version: str) -> str:
    """The data file of ``chart`` ``version`` (in this package)."""
    return f"{chart}-{version}.json.gz"


@functools.cache
def _load(chart: str, version: str) -> dict[str, Any]:
    data = importlib.resources.files(__package__).joinpath(file_name(chart, version)).read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


def _release(version: str) -> tuple[int, ...]:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(p) for p in m.groups()) if m else (0, 0, 0)


def nearest(chart: str, version: str) -> str:
    """The supported version of ``chart`` whose schemas stand for ``version``: itself, else the newest older one, else
    the oldest."""
    shipped = SUPPORTED[chart]
    if version in shipped:
        return version
    older = [v for v in shipped if _release(v) <= _release(version)]
    return older[-1] if older else shipped[0]


def schema(chart: str, version: str, name: str) -> dict[str, Any]:
    """The embedded schema ``name`` (``podSpec``, ``serviceSpec``) of ``chart`` at the supported version nearest to
    ``version`` (a fresh copy the caller owns)."""
    found: dict[str, Any] = copy.deepcopy(_load(chart, nearest(chart, version))["schemas"][name])
    return found


def chart_values(chart: str, version: str) -> tuple[frozenset[str], dict[str, Any]] | None:
    """(top-level value keys, default values) of ``chart`` ``version``: the keys of its values.yaml and those its comments
    document (``# watchNamespace:``); None for a version raydask does not ship (values differ between versions)."""
    if version not in SUPPORTED.get(chart, ()):
        return None
    data = _load(chart, version)
    return frozenset(data["values"]) | frozenset(data["documentedValues"]), copy.deepcopy(data["values"])


def feature_gates(version: str) -> dict[str, bool] | None:
    """The KubeRay chart's default feature gates of ``version``; None for a version raydask does not ship."""
    found = chart_values("kuberay-operator", version)
    if found is None:
        return None
    return {g["name"]: bool(g["enabled"]) for g in found[1].get("featureGates") or []}
