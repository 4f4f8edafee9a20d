"""The upstream material the validators check against, found through the chart cache (:mod:`raydask.charts`).

The KubeRay and Dask operator charts (and their CRDs) are located as the operator components locate them: the cache,
fetched from the public repository when missing. The Prometheus operator's ServiceMonitor and PodMonitor CRDs ship in
no chart raydask installs: they are fetched once from the prometheus-operator repository at its release tag
(``example/prometheus-operator-crd/``), or put into the cache from a local copy (``raydask charts mirror <dir>``, which
takes ``prometheus-operator-<version>/crds/``, or ``raydask charts add-crds prometheus-operator <version> <dir>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from raydask import charts, facts
from raydask.spec.dask import DASK_CHART, DASK_CHART_REPO, DASK_OPERATOR_VERSION
from raydask.spec.kuberay import KUBERAY_CHART, KUBERAY_CHART_REPO, KUBERAY_VERSION

PROMETHEUS_OPERATOR = "prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "0.93.0"
PROMETHEUS_CRDS = charts.CrdFiles(
    PROMETHEUS_OPERATOR, PROMETHEUS_OPERATOR_VERSION,
    f"https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/v{PROMETHEUS_OPERATOR_VERSION}/example/"
    "prometheus-operator-crd/",
    ("monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_podmonitors.yaml"))
"""The Prometheus operator's monitor CRDs, from its repository at the release tag."""


@dataclass(frozen=True)
class Pinned:
    """A chart (or CRD set) raydask installs or validates against, and where it comes from."""

    name: str
    version: str
    source: str
    """A Helm repository URL, or the base URL of a :class:`raydask.charts.CrdFiles` set."""

    def locate(self) -> Path:
        """Its directory in the chart cache, fetched first when the cache lacks it (ChartError when it cannot be)."""
        if self.name == PROMETHEUS_OPERATOR:
            return PROMETHEUS_CRDS.locate().path
        return charts.locate(self.name, self.version, repo=self.source).path


PINNED: tuple[Pinned, ...] = (
    *(Pinned(KUBERAY_CHART, v, KUBERAY_CHART_REPO) for v in facts.SUPPORTED[KUBERAY_CHART]),
    *(Pinned(DASK_CHART, v, DASK_CHART_REPO) for v in facts.SUPPORTED[DASK_CHART]),
    Pinned(PROMETHEUS_OPERATOR, PROMETHEUS_OPERATOR_VERSION, PROMETHEUS_CRDS.base_url),
)
"""Every operator version raydask supports and the monitor CRDs the validators need: what a machine without the
public repositories needs in its chart cache."""


def dask_wheel_chart() -> tuple[Path, str] | None:
    """The Dask operator chart inside the installed dask-kubernetes wheel and the wheel's version (the chart's own
    Chart.yaml carries placeholders); None without the wheel."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("dask_kubernetes")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    chart = base / "operator" / "deployment" / "helm" / DASK_CHART
    return (chart, importlib.metadata.version("dask-kubernetes")) if (chart / "Chart.yaml").is_file() else None


def mirror(source: Path) -> tuple[list[charts.LocalChart], list[Pinned]]:
    """Fill the chart cache from the local copy ``source`` (:func:`raydask.charts.mirror`), and the Dask operator chart
    from the installed dask-kubernetes wheel when ``source`` lacks it; returns what was cached and what of
    :data:`PINNED` the cache still lacks."""
    added = charts.mirror(source)
    wheel = dask_wheel_chart()
    wanted = {(p.name, p.version) for p in PINNED}
    if wheel is not None and (DASK_CHART, wheel[1]) in wanted and charts.cached(DASK_CHART, wheel[1]) is None:
        added.append(charts.add(wheel[0], version=wheel[1]))
    return added, [p for p in PINNED if charts.cached(p.name, p.version) is None]


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
    """The Prometheus operator's CRDs (ServiceMonitor, PodMonitor), fetched once when the cache lacks them."""
    crds = PROMETHEUS_CRDS if version == PROMETHEUS_OPERATOR_VERSION else charts.CrdFiles(
        PROMETHEUS_OPERATOR, version, PROMETHEUS_CRDS.base_url.replace(PROMETHEUS_OPERATOR_VERSION, version), PROMETHEUS_CRDS.files)
    try:
        return crds.locate().path / "crds"
    except charts.ChartError as exc:
        raise FileNotFoundError(
            f"the Prometheus operator's ServiceMonitor and PodMonitor CRDs ({PROMETHEUS_OPERATOR} {version}), which the "
            f"validators check monitors against, are not in the chart cache {charts.cache_dir()} and cannot be fetched "
            f"({exc}); they come from {crds.base_url} ({', '.join(crds.files)}): put them into the cache with "
            f"`raydask charts add-crds {PROMETHEUS_OPERATOR} {version} <directory of those files>`, or `raydask charts "
            f"mirror <dir>` for a local copy laid out as {PROMETHEUS_OPERATOR}-{version}/crds/") from None


def dask_chart_dir(version: str = DASK_OPERATOR_VERSION) -> Path:
    """The Dask operator Helm chart."""
    return _located(DASK_CHART, version, DASK_CHART_REPO)


def dask_crd_dir(version: str = DASK_OPERATOR_VERSION) -> Path:
    """The Dask operator CRDs (DaskCluster, DaskWorkerGroup, DaskJob, DaskAutoscaler)."""
    return dask_chart_dir(version) / "crds"


def crd_dirs() -> list[Path]:
    """Every CRD directory the validators know, KubeRay first."""
    return [kuberay_crd_dir(), prometheus_crd_dir(), dask_crd_dir()]
