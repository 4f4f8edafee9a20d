"""Typed specs: the Python API and the stack config schema are the same models."""

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
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec, RuntimeEnvSpec, ServeApplicationSpec, WorkloadClusterSpec
from raydask.spec.stack import StackSpec

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
