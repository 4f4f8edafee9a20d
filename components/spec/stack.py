"""The whole stack configuration: every ``raydask:*`` key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, model_validator

from raydask.errors import rule
from raydask.k8s.naming import DaskNames
from raydask.spec.base import Label, MonitoringSpec, Spec
from raydask.spec.dask import DaskClusterSpec, DaskOperatorSpec
from raydask.spec.kuberay import KubeRayOperatorSpec
from raydask.spec.ray import RayClusterSpec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
from raydask.spec.security import AuthSpec, NetworkPolicySpec, stack_problems

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
    require_tls: bool = False
    """Refuse every Ingress without ``tlsSecret``; default false, true in production."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies for every cluster (a cluster's own ``networkPolicy`` keys win); default none, on in production."""
    ray_auth: AuthSpec | None = None
    """Ray token authentication for every Ray cluster without its own ``auth``; default none (off), on in production."""
    ray_clusters: list[RayClusterSpec] = []
    """Ray clusters; default none."""
    ray_jobs: list[RayJobSpec] = []
    """Ray batch jobs (RayJob); default none."""
    ray_services: list[RayServiceSpec] = []
    """Ray Serve applications (RayService); default none."""
    dask_operator: DaskOperatorSpec | None = None
    """Install the Dask operator; default not installed (installed elsewhere)."""
    dask_clusters: list[DaskClusterSpec] = []
    """Dask clusters; default none."""

    @model_validator(mode="after")
    def _unique(self) -> StackSpec:
        # RayClusters, RayJobs and RayServices share the ``<name>-head-svc`` / ``<name>-metrics`` names and pod labels.
        seen: dict[tuple[str, str], str] = {}
        ray_named: list[tuple[str, Sequence[RayClusterSpec | RayJobSpec | RayServiceSpec]]] = [
            ("rayClusters", self.ray_clusters), ("rayJobs", self.ray_jobs), ("rayServices", self.ray_services)]
        for field, items in ray_named:
            for i, c in enumerate(items):
                key = (c.namespace or self.namespace, c.name)
                if key in seen:
                    msg = f"duplicate cluster name '{c.name}' in namespace '{key[0]}' (also {seen[key]})"
                    raise rule(f"{field}.{i}.name", msg)
                seen[key] = f"{field}[{i}]"
        return self

    @model_validator(mode="after")
    def _dask(self) -> StackSpec:
        # A Dask and a Ray cluster of one name would share the ``<name>-dashboard`` Ingress.
        taken = {(c.namespace or self.namespace, c.name): f"rayClusters[{i}]" for i, c in enumerate(self.ray_clusters)}
        groups = {(c.namespace or self.namespace, DaskNames.default_worker_group(c.name)): f"daskClusters[{i}].worker"
                  for i, c in enumerate(self.dask_clusters)}
        op = self.dask_operator
        op_ns = (op.namespace or self.namespace) if op else None
        for i, c in enumerate(self.dask_clusters):
            ns = c.namespace or self.namespace
            if (ns, c.name) in taken:
                raise rule(f"daskClusters.{i}.name", f"duplicate cluster name '{c.name}' in namespace '{ns}' (also {taken[(ns, c.name)]})")
            taken[(ns, c.name)] = f"daskClusters[{i}]"
            for j, g in enumerate(c.worker_groups):
                group = (ns, DaskNames.worker_group(c.name, g.name))
                if group in groups:
                    raise rule(f"daskClusters.{i}.workerGroups.{j}.name",
                               f"duplicate DaskWorkerGroup name '{group[1]}' in namespace '{ns}' (also {groups[group]})")
                groups[group] = f"daskClusters[{i}].workerGroups[{j}]"
            if op is not None and not op.cluster_wide and ns != op_ns:
                raise rule(f"daskClusters.{i}.namespace", f"must be the Dask operator's namespace '{op_ns}', got '{ns}': "
                                                          "daskOperator.clusterWide is false (it only watches its own namespace)")
        return self

    @model_validator(mode="after")
    def _security(self) -> StackSpec:
        problems = stack_problems(self)
        if problems:
            raise rule(*problems[0])
        return self

    def namespaces(self) -> list[str]:
        """Every namespace the stack puts objects in, in first-use order."""
        found = [self.namespace]
        if self.kuberay:
            found += [self.kuberay.namespace or self.namespace, *self.kuberay.watch_namespaces]
        ray: list[RayClusterSpec | RayJobSpec | RayServiceSpec] = [*self.ray_clusters, *self.ray_jobs, *self.ray_services]
        found += [c.namespace or self.namespace for c in ray]
        if self.dask_operator:
            found.append(self.dask_operator.namespace or self.namespace)
        found += [c.namespace or self.namespace for c in self.dask_clusters]
        return list(dict.fromkeys(found))
