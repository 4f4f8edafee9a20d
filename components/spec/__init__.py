"""Typed specs: the Python API and the stack config schema are the same models."""

from components.spec.base import IngressSpec, MonitoringSpec, PodSettings, Toleration, VolumeSpec
from components.spec.dask import (
    DaskAutoscalingSpec,
    DaskClusterSpec,
    DaskOperatorSpec,
    DaskSchedulerSpec,
    DaskWorkerGroupSpec,
    DaskWorkerSpec,
)
from components.spec.kuberay import KubeRayOperatorSpec
from components.spec.ray import AutoscalingSpec, HeadSpec, RayClusterSpec, WorkerGroupSpec
from components.spec.ray_workloads import RayJobSpec, RayServiceSpec, RuntimeEnvSpec, ServeApplicationSpec, WorkloadClusterSpec
from components.spec.stack import StackSpec

__all__ = [
    "AutoscalingSpec",
    "DaskAutoscalingSpec",
    "DaskClusterSpec",
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
