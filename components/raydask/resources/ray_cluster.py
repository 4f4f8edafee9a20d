"""RayCluster: a KubeRay RayCluster with its Redis password Secret, NetworkPolicies, Services, Ingresses and monitors."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray import RayEndpoints
from raydask.builders.workloads import plan_ray_cluster
from raydask.resources.workload import RedisPasswordComponent
from raydask.spec.ray import RayClusterSpec


class RayCluster(RedisPasswordComponent[RayClusterSpec, RayEndpoints]):
    """A Ray cluster on KubeRay (``ray.io/v1``).

    ``redis_password`` is the Redis password for ``gcsFaultTolerance`` (a Pulumi secret; it only ever reaches a Secret,
    never the RayCluster). ``resource`` is the RayCluster with its live ``status``; the Output attributes carry the
    addresses of :attr:`endpoints` and resolve once the RayCluster is registered (depend on those).
    """

    TYPE = "raydask:ray:RayCluster"
    SPEC = RayClusterSpec

    cluster_name: pulumi.Output[str]
    """The RayCluster's name."""
    head_service_name: pulumi.Output[str]
    """The head Service's name."""
    client_address: pulumi.Output[str]
    """The Ray client address, ``ray://<head service>.<namespace>.svc.cluster.local:10001``."""
    dashboard_url: pulumi.Output[str]
    """The dashboard and job API inside the cluster, ``http://<head service>.<namespace>.svc.cluster.local:8265``."""
    dashboard_ingress_url: pulumi.Output[str | None]
    """The dashboard's URL through its Ingress; none without one."""
    serve_ingress_url: pulumi.Output[str | None]
    """Ray Serve's URL through its Ingress; none without one."""

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
