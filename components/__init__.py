"""raydask components: Ray and Dask on Kubernetes from typed specs.

Components and specs are imported lazily so ``import components`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "KubeRayOperator": "components.kuberay",
    "RayCluster": "components.ray_cluster",
    "RayJob": "components.ray_job",
    "RayService": "components.ray_service",
    "DaskOperator": "components.dask",
    "DaskCluster": "components.dask",
    "StackSpec": "components.spec.stack",
    "KubeRayOperatorSpec": "components.spec.kuberay",
    "RayClusterSpec": "components.spec.ray",
    "WorkerGroupSpec": "components.spec.ray",
    "HeadSpec": "components.spec.ray",
    "AutoscalingSpec": "components.spec.ray",
    "RayJobSpec": "components.spec.ray_workloads",
    "RayServiceSpec": "components.spec.ray_workloads",
    "IngressSpec": "components.spec.base",
    "MonitoringSpec": "components.spec.base",
    "DaskOperatorSpec": "components.spec.dask",
    "DaskClusterSpec": "components.spec.dask",
    "ConfigError": "components.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'components' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
