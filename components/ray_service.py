"""RayService: Ray Serve applications on KubeRay with zero-downtime upgrades, a Serve Ingress and monitors."""

from __future__ import annotations

from typing import Any

import pulumi

from components.builders.ray_security import resolve_workload, service_network_policies, workload_problems
from components.builders.ray_service import RayServiceEndpoints, build_ray_service
from components.resources import child_options, register
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.ray_workloads import RayServiceSpec
from components.spec.security import SecurityDefaults, ingress_problems
from components.wiring import namespace_of, refuse, register_children


class RayService(pulumi.ComponentResource):
    """A RayService (``ray.io/v1``) with its Serve Ingress, metrics Service, ServiceMonitor and NetworkPolicies.

    ``security`` carries the stack's defaults (``networkPolicy``, ``rayAuth``, ``requireTls``) for its clusters.
    ``endpoints`` holds the addresses as plain values, known before anything is created; the Output attributes carry
    the same values and resolve once the RayService is registered.
    """

    TYPE = "raydask:ray:RayService"

    endpoints: RayServiceEndpoints
    service_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
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
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        key = key or f"RayService({name})"
        defaults = security or SecurityDefaults()
        spec = parse_spec(RayServiceSpec, spec, key)
        spec = spec.model_copy(update={"cluster": resolve_workload(spec.cluster, defaults)})
        ns = namespace_of(spec.namespace, namespace, key)
        exposure = ingress_problems(spec.ingress, "ingress", require_tls=defaults.require_tls) if spec.ingress else []
        refuse(key, [*workload_problems(spec.cluster), *exposure])
        built = build_ray_service(spec, ns, monitoring)
        policies = register_children(self, opts, name, service_network_policies(spec, ns, monitoring, defaults))
        service = register(built.service, child_options(self, opts, depends_on=policies), name)
        register_children(self, opts, name, [*built.services, *built.ingresses, *built.monitors], depends_on=[service])
        ep = built.endpoints
        assert ep is not None
        self.endpoints = ep
        self.service_name = service.urn.apply(lambda _: spec.name)
        self.namespace = pulumi.Output.from_input(ns)
        self.serve_service_name = self.service_name.apply(lambda _: ep.serve_service)
        self.serve_url = self.service_name.apply(lambda _: ep.serve_url)
        self.dashboard_url = self.service_name.apply(lambda _: ep.dashboard_url)
        self.serve_ingress_url = pulumi.Output.from_input(ep.serve_ingress_url)
        self.register_outputs({
            "serviceName": self.service_name,
            "namespace": self.namespace,
            "serveServiceName": self.serve_service_name,
            "serveUrl": self.serve_url,
            "dashboardUrl": self.dashboard_url,
            "serveIngressUrl": self.serve_ingress_url,
        })
