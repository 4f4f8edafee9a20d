"""RayCluster: a KubeRay RayCluster with its Redis password Secret, NetworkPolicies, Services, Ingresses and monitors."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray import RayEndpoints
from raydask.builders.workloads import plan_ray_cluster
from raydask.resources.workload import WorkloadComponent
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray import RayClusterSpec
from raydask.spec.security import SecurityDefaults


class RayCluster(WorkloadComponent[RayClusterSpec, RayEndpoints]):
    """A Ray cluster on KubeRay (``ray.io/v1``).

    ``redis_password`` is the Redis password for ``gcsFaultTolerance`` (a Pulumi secret; it only ever reaches a Secret,
    never the RayCluster). ``resource`` is the RayCluster with its live ``status``; the Output attributes carry the
    addresses of :attr:`endpoints` and resolve once the RayCluster is registered (depend on those).
    """

    TYPE = "raydask:ray:RayCluster"
    SPEC = RayClusterSpec

    cluster_name: pulumi.Output[str]
    head_service_name: pulumi.Output[str]
    client_address: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    dashboard_ingress_url: pulumi.Output[str | None]
    serve_ingress_url: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        spec: RayClusterSpec | dict[str, Any],
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        security: SecurityDefaults | None = None,
        redis_password: pulumi.Input[str] | None = None,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        self._redis_password = None if redis_password is None else pulumi.Output.secret(redis_password)
        super().__init__(name, spec, namespace=namespace, monitoring=monitoring, security=security, key=key, opts=opts)

    def plan(self, spec: RayClusterSpec, ctx: Context) -> Plan[RayEndpoints]:
        return plan_ray_cluster(spec, ctx, self._redis_password)

    def publish(self, spec: RayClusterSpec) -> dict[str, pulumi.Output[Any]]:
        ep = self.endpoints
        self.cluster_name = self.once_registered(spec.name)
        self.head_service_name = self.once_registered(ep.head_service)
        self.client_address = self.once_registered(ep.client_address)
        self.dashboard_url = self.once_registered(ep.dashboard_url)
        self.dashboard_ingress_url = pulumi.Output.from_input(ep.dashboard_ingress_url)
        self.serve_ingress_url = pulumi.Output.from_input(ep.serve_ingress_url)
        return {
            "clusterName": self.cluster_name,
            "headServiceName": self.head_service_name,
            "clientAddress": self.client_address,
            "dashboardUrl": self.dashboard_url,
            "dashboardIngressUrl": self.dashboard_ingress_url,
            "serveIngressUrl": self.serve_ingress_url,
        }
