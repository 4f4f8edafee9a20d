"""Typed specs: the Python API and the stack config schema are the same models."""

from components.spec.base import IngressSpec, MonitoringSpec, PodSettings, Toleration, VolumeSpec
from components.spec.kuberay import KubeRayOperatorSpec
from components.spec.ray import AutoscalingSpec, HeadSpec, RayClusterSpec, WorkerGroupSpec
from components.spec.stack import StackSpec

__all__ = [
    "AutoscalingSpec",
    "HeadSpec",
    "IngressSpec",
    "KubeRayOperatorSpec",
    "MonitoringSpec",
    "PodSettings",
    "RayClusterSpec",
    "StackSpec",
    "Toleration",
    "VolumeSpec",
    "WorkerGroupSpec",
]
