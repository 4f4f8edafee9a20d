"""Typed specs: the Python API and the stack config schema are the same models.

Each name is imported on first use, so ``import raydask.spec.versions`` (or ``raydask --help``) loads no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from raydask._lazy import lazy_exports

if TYPE_CHECKING:
    from raydask.spec.base import IngressSpec, MonitoringSpec, PodSettings, Toleration, VolumeSpec
    from raydask.spec.dask import (
        DaskAutoscalingSpec,
        DaskClusterSpec,
        DaskJobRunnerSpec,
        DaskJobSpec,
        DaskOperatorSpec,
        DaskSchedulerSpec,
        DaskWorkerGroupSpec,
        DaskWorkerSpec,
    )
    from raydask.spec.kuberay import KubeRayOperatorSpec
    from raydask.spec.ray import AutoscalingSpec, HeadSpec, RayClusterSpec, WorkerGroupSpec
    from raydask.spec.ray_cron_job import RayCronJobSpec
    from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec, RuntimeEnvSpec, ServeApplicationSpec, WorkloadClusterSpec
    from raydask.spec.stack import StackSpec

_HOMES: dict[str, str] = {
    "AutoscalingSpec": "raydask.spec.ray",
    "DaskAutoscalingSpec": "raydask.spec.dask",
    "DaskClusterSpec": "raydask.spec.dask",
    "DaskJobRunnerSpec": "raydask.spec.dask",
    "DaskJobSpec": "raydask.spec.dask",
    "DaskOperatorSpec": "raydask.spec.dask",
    "DaskSchedulerSpec": "raydask.spec.dask",
    "DaskWorkerGroupSpec": "raydask.spec.dask",
    "DaskWorkerSpec": "raydask.spec.dask",
    "HeadSpec": "raydask.spec.ray",
    "IngressSpec": "raydask.spec.base",
    "KubeRayOperatorSpec": "raydask.spec.kuberay",
    "MonitoringSpec": "raydask.spec.base",
    "PodSettings": "raydask.spec.base",
    "RayClusterSpec": "raydask.spec.ray",
    "RayCronJobSpec": "raydask.spec.ray_cron_job",
    "RayJobSpec": "raydask.spec.ray_workloads",
    "RayServiceSpec": "raydask.spec.ray_workloads",
    "RuntimeEnvSpec": "raydask.spec.ray_workloads",
    "ServeApplicationSpec": "raydask.spec.ray_workloads",
    "StackSpec": "raydask.spec.stack",
    "Toleration": "raydask.spec.base",
    "VolumeSpec": "raydask.spec.base",
    "WorkerGroupSpec": "raydask.spec.ray",
    "WorkloadClusterSpec": "raydask.spec.ray_workloads",
}
"""Where each name lives."""


__all__ = [
    "AutoscalingSpec",
    "DaskAutoscalingSpec",
    "DaskClusterSpec",
    "DaskJobRunnerSpec",
    "DaskJobSpec",
    "DaskOperatorSpec",
    "DaskSchedulerSpec",
    "DaskWorkerGroupSpec",
    "DaskWorkerSpec",
    "HeadSpec",
    "IngressSpec",
    "KubeRayOperatorSpec",
    "MonitoringSpec",
    "PodSettings",
    "RayClusterSpec",
    "RayCronJobSpec",
    "RayJobSpec",
    "RayServiceSpec",
    "RuntimeEnvSpec",
    "ServeApplicationSpec",
    "StackSpec",
    "Toleration",
    "VolumeSpec",
    "WorkerGroupSpec",
    "WorkloadClusterSpec",
]

__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
