"""The whole stack configuration: every ``raydask:*`` key."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from components.errors import rule
from components.spec.base import Label, MonitoringSpec, Spec
from components.spec.kuberay import KubeRayOperatorSpec
from components.spec.ray import RayClusterSpec

KubernetesVersion = Annotated[str, Field(pattern=r"^1\.(2[5-9]|3[0-7])$")]
"""A Kubernetes minor version from 1.25 to 1.37."""


class StackSpec(Spec):
    """All ``raydask:`` stack configuration keys."""

    namespace: Label = "ray"
    """Default namespace for everything; default ``ray``."""
    create_namespace: bool = True
    """Create the namespaces used by the stack; default true."""
    protect: bool = False
    """Protect namespaces from deletion (``protect`` resource option); default false, true in production."""
    kubernetes_version: KubernetesVersion = "1.31"
    """Target Kubernetes minor version for schema validation; default ``1.31``."""
    kuberay: KubeRayOperatorSpec | None = None
    """Install the KubeRay operator; default not installed (installed elsewhere)."""
    monitoring: MonitoringSpec | None = None
    """Prometheus operator integration; default none."""
    ray_clusters: list[RayClusterSpec] = []
    """Ray clusters; default none."""

    @model_validator(mode="after")
    def _unique(self) -> StackSpec:
        seen: dict[tuple[str, str], int] = {}
        for i, c in enumerate(self.ray_clusters):
            key = (c.namespace or self.namespace, c.name)
            if key in seen:
                msg = f"duplicate cluster name '{c.name}' in namespace '{key[0]}' (also rayClusters[{seen[key]}])"
                raise rule(f"rayClusters.{i}.name", msg)
            seen[key] = i
        return self

    def namespaces(self) -> list[str]:
        """Every namespace the stack puts objects in, in first-use order."""
        found = [self.namespace]
        if self.kuberay:
            found += [self.kuberay.namespace or self.namespace, *self.kuberay.watch_namespaces]
        found += [c.namespace or self.namespace for c in self.ray_clusters]
        return list(dict.fromkeys(found))
