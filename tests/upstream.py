"""The reference copies of the upstream charts and CRDs the tests use (``../shared`` beside the checkout, the Dask
operator chart inside the dask-kubernetes wheel), put into a chart cache of the test session's own."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from raydask import charts

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("RAYDASK_SHARED_DIR") or ROOT.parent / "shared")
UPSTREAM = SHARED / "upstream"
DASK_OPERATOR_VERSION = "2026.3.0"


def kuberay_chart(version: str = "1.7.0", name: str = "kuberay-operator") -> Path:
    """A KubeRay chart in ../shared (``kuberay-operator`` 1.7.0 or 1.5.0, ``ray-cluster`` 1.7.0)."""
    return UPSTREAM / f"kuberay-{version}" / "charts" / name


def prometheus_crds() -> Path:
    return UPSTREAM / "prometheus-operator-0.93.0" / "crds"


def dask_wheel_chart() -> Path:
    """The Dask operator chart inside the installed dask-kubernetes wheel (its Chart.yaml carries placeholders)."""
    spec = importlib.util.find_spec("dask_kubernetes")
    assert spec is not None and spec.submodule_search_locations, "dask-kubernetes is not installed"
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "operator" / "deployment" / "helm" / "dask-kubernetes-operator"


def seed(cache: Path) -> Path:
    """Fill ``cache`` with every chart and CRD set the tests need; returns it."""
    for version in ("1.7.0", "1.5.0"):
        charts.add(kuberay_chart(version), cache=cache)
    charts.add(kuberay_chart("1.7.0", "ray-cluster"), cache=cache)
    charts.add(dask_wheel_chart(), version=DASK_OPERATOR_VERSION, cache=cache)
    charts.add_crds(prometheus_crds(), "prometheus-operator", "0.93.0", cache=cache)
    return cache
