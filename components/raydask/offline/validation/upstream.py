"""The upstream material the validators check against, found through the chart cache (:mod:`raydask.charts`).

The KubeRay and Dask operator charts (and their CRDs) are located as the operator components locate them: the cache,
fetched from the public repository when missing. The Prometheus operator's ServiceMonitor and PodMonitor CRDs ship in
no chart raydask installs: add them to the cache once (``raydask charts add-crds prometheus-operator 0.93.0 <dir>``).
"""

from __future__ import annotations

from pathlib import Path

from raydask import charts
from raydask.spec.dask import DASK_CHART, DASK_CHART_REPO, DASK_OPERATOR_VERSION
from raydask.spec.kuberay import KUBERAY_CHART, KUBERAY_CHART_REPO, KUBERAY_VERSION

PROMETHEUS_OPERATOR = "prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "0.93.0"


def _located(name: str, version: str, repo: str | None, hint: str = "") -> Path:
    try:
        return charts.locate(name, version, repo=repo).path
    except charts.ChartError as exc:
        raise FileNotFoundError(f"{exc}{hint}") from None


def kuberay_chart_dir(name: str = KUBERAY_CHART, version: str = KUBERAY_VERSION) -> Path:
    """A KubeRay Helm chart (``kuberay-operator`` or ``ray-cluster``) of ``version``."""
    return _located(name, version, KUBERAY_CHART_REPO)


def kuberay_crd_dir(version: str = KUBERAY_VERSION) -> Path:
    """The KubeRay operator chart's ``crds/`` directory (RayCluster, RayJob, RayService, RayCronJob)."""
    return kuberay_chart_dir(KUBERAY_CHART, version) / "crds"


def prometheus_crd_dir(version: str = PROMETHEUS_OPERATOR_VERSION) -> Path:
    """The Prometheus operator's CRDs (ServiceMonitor, PodMonitor)."""
    hint = (f"; add them once: `raydask charts add-crds {PROMETHEUS_OPERATOR} {version} <directory of the "
            f"prometheus-operator {version} CRD files>`")
    return _located(PROMETHEUS_OPERATOR, version, None, hint) / "crds"


def dask_chart_dir(version: str = DASK_OPERATOR_VERSION) -> Path:
    """The Dask operator Helm chart."""
    return _located(DASK_CHART, version, DASK_CHART_REPO)


def dask_crd_dir(version: str = DASK_OPERATOR_VERSION) -> Path:
    """The Dask operator CRDs (DaskCluster, DaskWorkerGroup, DaskJob, DaskAutoscaler)."""
    return dask_chart_dir(version) / "crds"


def crd_dirs() -> list[Path]:
    """Every CRD directory the validators know, KubeRay first."""
    return [kuberay_crd_dir(), prometheus_crd_dir(), dask_crd_dir()]
