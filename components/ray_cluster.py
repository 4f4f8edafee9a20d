"""RayCluster: a KubeRay RayCluster with its Ingresses, optional external Service and ServiceMonitor."""

from __future__ import annotations

from typing import Any

import pulumi

from components.builders.ray import RayEndpoints, build_ray_cluster
from components.builders.ray_security import needs_password, problems, ray_network_policies, redis_password_secret, resolve
from components.resources import child_options, register
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.ray import RayClusterSpec
from components.spec.security import SecurityDefaults, redis_password_missing
from components.wiring import namespace_of, refuse, register_children


class RayCluster(pulumi.ComponentResource):
    """A Ray cluster on KubeRay (``ray.io/v1``).

    ``security`` carries the stack's defaults (``networkPolicy``, ``rayAuth``, ``requireTls``); ``redis_password`` is the
    Redis password for ``gcsFaultTolerance`` (a Pulumi secret; it only ever reaches a Secret, never the RayCluster).
    ``endpoints`` holds the addresses as plain values, known before anything is created; the Output attributes carry
    the same values and resolve once the RayCluster is registered (depend on those).
    """

    TYPE = "raydask:ray:RayCluster"

    endpoints: RayEndpoints
    cluster_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
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
        super().__init__(self.TYPE, name, None, opts)
        where = key or f"RayCluster({name})"
        defaults = security or SecurityDefaults()
        spec = resolve(parse_spec(RayClusterSpec, spec, where), defaults)
        ns = namespace_of(spec.namespace, namespace, where)
        refuse(where, problems(spec, defaults), [redis_password_missing(where)] if needs_password(spec) and redis_password is None else [])
        built = build_ray_cluster(spec, ns, monitoring)
        first: list[pulumi.Resource] = []
        if needs_password(spec):
            secret = redis_password_secret(spec, ns, pulumi.Output.secret(redis_password))
            first.append(register(secret, child_options(self, opts), f"{name}-secret-{secret['metadata']['name']}"))
        first += register_children(self, opts, name, ray_network_policies(spec, ns, monitoring, defaults.kuberay_namespace))
        cluster = register(built.cluster, child_options(self, opts, depends_on=first) if first else child_options(self, opts), name)
        register_children(self, opts, name, [*built.services, *built.ingresses, *built.monitors], depends_on=[cluster])
        ep = built.endpoints
        assert ep is not None
        self.endpoints = ep
        self.cluster_name = cluster.urn.apply(lambda _: spec.name)
        self.namespace = pulumi.Output.from_input(ns)
        self.head_service_name = self.cluster_name.apply(lambda _: ep.head_service)
        self.client_address = self.cluster_name.apply(lambda _: ep.client_address)
        self.dashboard_url = self.cluster_name.apply(lambda _: ep.dashboard_url)
        self.dashboard_ingress_url = pulumi.Output.from_input(ep.dashboard_ingress_url)
        self.serve_ingress_url = pulumi.Output.from_input(ep.serve_ingress_url)
        self.register_outputs({
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "headServiceName": self.head_service_name,
            "clientAddress": self.client_address,
            "dashboardUrl": self.dashboard_url,
            "dashboardIngressUrl": self.dashboard_ingress_url,
            "serveIngressUrl": self.serve_ingress_url,
        })
