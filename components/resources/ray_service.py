"""RayService: Ray Serve applications on KubeRay with zero-downtime upgrades, a Serve Ingress and monitors."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray_service import RayServiceEndpoints
from raydask.builders.workloads import plan_ray_service
from raydask.resources.workload import WorkloadComponent
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray_workloads import RayServiceSpec
from raydask.spec.security import SecurityDefaults


class RayService(WorkloadComponent[RayServiceSpec, RayServiceEndpoints]):
    """A RayService (``ray.io/v1``) with its Serve Ingress, metrics Service, ServiceMonitor and NetworkPolicies.

    ``redis_password`` is the Redis password for its cluster's ``gcsFaultTolerance`` (a Pulumi secret, only ever in a
    Secret). ``resource`` is the RayService with its live ``status``; the Output attributes carry the addresses of
    :attr:`endpoints` and resolve once the RayService is registered.
    """

    TYPE = "raydask:ray:RayService"
    SPEC = RayServiceSpec

    service_name: pulumi.Output[str]
    serve_service_name: pulumi.Output[str]
    serve_url: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    serve_ingress_url: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        spec: RayServiceSpec | dict[str, Any],
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
