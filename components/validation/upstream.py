"""Locating the upstream reference material the validators check against (never copied into the repo).

The KubeRay and Prometheus-operator material lives in ``<project>/../shared/upstream``; the Dask operator chart and
CRDs ship inside the installed ``dask-kubernetes`` wheel.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

ENV_VAR = "RAYDASK_SHARED_DIR"
KUBERAY_VERSION = "1.7.0"
PROMETHEUS_OPERATOR_VERSION = "0.93.0"

#: The repository root: the parent of the ``components`` package directory.
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def _candidates(start: Path) -> list[Path]:
    """``<dir>/../shared`` for ``start`` and each of its ancestors (``<dir>/shared`` too, for a checkout's parent)."""
    out = []
    for directory in (start, *start.parents):
        out.append(directory.parent / "shared")
        out.append(directory / "shared")
    return out


def shared_dir() -> Path:
    """The ``shared/`` reference directory: ``$RAYDASK_SHARED_DIR``, else a ``shared/upstream`` found beside the
    working directory, the repository root or one of their ancestors."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser()
        if not (path / "upstream").is_dir():
            raise FileNotFoundError(f"${ENV_VAR}={env!r} has no 'upstream' directory")
        return path
    looked: list[str] = []
    for start in (Path.cwd().resolve(), REPO_ROOT):
        for candidate in _candidates(start):
            if (candidate / "upstream").is_dir():
                return candidate
            looked.append(str(candidate))
    raise FileNotFoundError(
        "upstream reference material not found: set $RAYDASK_SHARED_DIR or put 'shared/upstream' beside the project "
        f"(looked for a 'shared/upstream' directory at: {', '.join(dict.fromkeys(looked))})"
    )


def _existing(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found at '{path}'")
    return path


def kuberay_chart_dir(name: str = "kuberay-operator", version: str = KUBERAY_VERSION) -> Path:
    """A KubeRay Helm chart (``kuberay-operator`` or ``ray-cluster``) of ``version``."""
    return _existing(shared_dir() / "upstream" / f"kuberay-{version}" / "charts" / name, f"KubeRay {version} chart '{name}'")


def kuberay_crd_dir(version: str = KUBERAY_VERSION) -> Path:
    """The KubeRay operator chart's ``crds/`` directory (RayCluster, RayJob, RayService, RayCronJob)."""
    return _existing(kuberay_chart_dir("kuberay-operator", version) / "crds", f"KubeRay {version} CRDs")


def prometheus_crd_dir(version: str = PROMETHEUS_OPERATOR_VERSION) -> Path:
    """The Prometheus-operator CRDs (ServiceMonitor, PodMonitor)."""
    return _existing(shared_dir() / "upstream" / f"prometheus-operator-{version}" / "crds", f"Prometheus-operator {version} CRDs")


@functools.cache
def dask_chart_dir() -> Path:
    """The Dask operator Helm chart inside the installed ``dask-kubernetes`` wheel."""
    spec = importlib.util.find_spec("dask_kubernetes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the 'dask-kubernetes' package is not installed (pip install 'raydask[validate]')")
    base = Path(next(iter(spec.submodule_search_locations)))
    return _existing(base / "operator" / "deployment" / "helm" / "dask-kubernetes-operator", "Dask operator chart in dask-kubernetes")


def dask_crd_dir() -> Path:
    """The Dask operator CRDs (DaskCluster, DaskWorkerGroup, DaskJob, DaskAutoscaler) inside the wheel."""
    return _existing(dask_chart_dir() / "crds", "Dask operator CRDs")


def crd_dirs() -> list[Path]:
    """Every CRD directory the validators know, KubeRay first."""
    return [kuberay_crd_dir(), prometheus_crd_dir(), dask_crd_dir()]
