"""raydask: Ray (KubeRay) and Dask clusters on Kubernetes from typed configuration, as Pulumi components.

The components (:class:`KubeRayOperator`, :class:`RayCluster`, :class:`RayJob`, :class:`RayCronJob`, :class:`RayService`,
:class:`DaskOperator`, :class:`DaskCluster`, :class:`DaskJob`) take their spec models or the same keys as plain dicts;
:func:`build_stack` declares a whole stack from a :class:`StackSpec`. The offline tools live in
:mod:`raydask.offline`, the mock-engine driver in :mod:`raydask.testing`.

Names are imported on first use: ``import raydask.spec`` (the models alone) does not load Pulumi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from raydask._lazy import lazy_exports

if TYPE_CHECKING:
    from raydask.errors import ConfigError
    from raydask.program import build_stack, load_stack_spec
    from raydask.resources.dask_cluster import DaskCluster
    from raydask.resources.dask_job import DaskJob
    from raydask.resources.operators import DaskOperator, KubeRayOperator
    from raydask.resources.ray_cluster import RayCluster
    from raydask.resources.ray_cron_job import RayCronJob
    from raydask.resources.ray_job import RayJob
    from raydask.resources.ray_service import RayService
    from raydask.resources.registration import CustomObject
    from raydask.spec import (
        AutoscalingSpec,
        DaskAutoscalingSpec,
        DaskClusterSpec,
        DaskJobSpec,
        DaskOperatorSpec,
        DaskSchedulerSpec,
        DaskWorkerGroupSpec,
        DaskWorkerSpec,
        HeadSpec,
        IngressSpec,
        KubeRayOperatorSpec,
        MonitoringSpec,
        RayClusterSpec,
        RayCronJobSpec,
        RayJobSpec,
        RayServiceSpec,
        RuntimeEnvSpec,
        ServeApplicationSpec,
        StackSpec,
        Toleration,
        VolumeSpec,
        WorkerGroupSpec,
        WorkloadClusterSpec,
    )

_SPECS = ("AutoscalingSpec", "DaskAutoscalingSpec", "DaskClusterSpec", "DaskJobSpec", "DaskOperatorSpec", "DaskSchedulerSpec",
          "DaskWorkerGroupSpec", "DaskWorkerSpec", "HeadSpec", "IngressSpec", "KubeRayOperatorSpec", "MonitoringSpec",
          "RayClusterSpec", "RayCronJobSpec", "RayJobSpec", "RayServiceSpec", "RuntimeEnvSpec", "ServeApplicationSpec", "StackSpec",
          "Toleration", "VolumeSpec", "WorkerGroupSpec", "WorkloadClusterSpec")
_HOMES: dict[str, str] = {
    "ConfigError": "raydask.errors",
    "build_stack": "raydask.program",
    "load_stack_spec": "raydask.program",
    "DaskCluster": "raydask.resources.dask_cluster",
    "DaskJob": "raydask.resources.dask_job",
    "DaskOperator": "raydask.resources.operators",
    "KubeRayOperator": "raydask.resources.operators",
    "RayCluster": "raydask.resources.ray_cluster",
    "RayCronJob": "raydask.resources.ray_cron_job",
    "RayJob": "raydask.resources.ray_job",
    "RayService": "raydask.resources.ray_service",
    "CustomObject": "raydask.resources.registration",
    **dict.fromkeys(_SPECS, "raydask.spec"),
}
"""Where each top-level name lives."""

__all__ = [
    "AutoscalingSpec",
    "ConfigError",
    "CustomObject",
    "DaskAutoscalingSpec",
    "DaskCluster",
    "DaskClusterSpec",
    "DaskJob",
    "DaskJobSpec",
    "DaskOperator",
    "DaskOperatorSpec",
    "DaskSchedulerSpec",
    "DaskWorkerGroupSpec",
    "DaskWorkerSpec",
    "HeadSpec",
    "IngressSpec",
    "KubeRayOperator",
    "KubeRayOperatorSpec",
    "MonitoringSpec",
    "RayCluster",
    "RayClusterSpec",
    "RayCronJob",
    "RayCronJobSpec",
    "RayJob",
    "RayJobSpec",
    "RayService",
    "RayServiceSpec",
    "RuntimeEnvSpec",
    "ServeApplicationSpec",
    "StackSpec",
    "Toleration",
    "VolumeSpec",
    "WorkerGroupSpec",
    "WorkloadClusterSpec",
    "build_stack",
    "load_stack_spec",
]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
