"""RayService: Ray Serve applications on KubeRay with zero-downtime upgrades, a Serve Ingress and monitors."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray_service import RayServiceEndpoints
from raydask.builders.workloads import plan_ray_service
from raydask.resources.workload import RedisPasswordComponent
from raydask.spec.ray_workloads import RayServiceSpec


class RayService(RedisPasswordComponent[RayServiceSpec, RayServiceEndpoints]):
    """A RayService (``ray.io/v1``) with its Serve Ingress, metrics Service, ServiceMonitor and NetworkPolicies.

    ``redis_password`` is the Redis password for its cluster's ``gcsFaultTolerance`` (a Pulumi secret, only ever in a
    Secret). ``resource`` is the RayService with its live ``status``; the Output attributes carry the addresses of
    :attr:`endpoints` and resolve once the RayService is registered.
    """

    TYPE = "raydask:ray:RayService"
    SPEC = RayServiceSpec

    service_name: pulumi.Output[str]
    """The RayService's name."""
    serve_service_name: pulumi.Output[str]
    """The Serve Service's name (stable across upgrades)."""
    serve_url: pulumi.Output[str]
    """Ray Serve's HTTP address inside the cluster."""
    dashboard_url: pulumi.Output[str]
    """The dashboard of the service's cluster inside the cluster."""
    serve_ingress_url: pulumi.Output[str | None]
    """Ray Serve's URL through its Ingress; none without one."""

    def plan(self, spec: RayServiceSpec, ctx: Context) -> Plan[RayServiceEndpoints]:
        return plan_ray_service(spec, ctx, self._redis_password)

    def publish(self, spec: RayServiceSpec) -> dict[str, pulumi.Output[Any]]:
        ep = self.endpoints
        self.service_name = self.once_registered(spec.name)
        self.serve_service_name = self.once_registered(ep.serve_service)
        self.serve_url = self.once_registered(ep.serve_url)
        self.dashboard_url = self.once_registered(ep.dashboard_url)
        self.serve_ingress_url = pulumi.Output.from_input(ep.serve_ingress_url)
        return {
            "serviceName": self.service_name,
            "serveServiceName": self.serve_service_name,
            "serveUrl": self.serve_url,
            "dashboardUrl": self.dashboard_url,
            "serveIngressUrl": self.serve_ingress_url,
        }
