"""RayCluster: a KubeRay RayCluster with its Ingresses, optional external Service and ServiceMonitor."""

from __future__ import annotations

from typing import Any

import pulumi

from components.builders.ray import build_ray_cluster
from components.errors import ConfigError
from components.resources import child_options, register
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.ray import RayClusterSpec


class RayCluster(pulumi.ComponentResource):
    """A Ray cluster on KubeRay (``ray.io/v1``)."""

    TYPE = "raydask:ray:RayCluster"

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
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        spec = parse_spec(RayClusterSpec, spec, key or f"RayCluster({name})")
        ns = spec.namespace or namespace
        if not ns:
            raise ConfigError([f"{key or f'RayCluster({name})'}.namespace: required (no stack namespace given)"])
        built = build_ray_cluster(spec, ns, monitoring)
        cluster = register(built.cluster, child_options(self, opts), name)
        for manifest in [*built.services, *built.ingresses, *built.monitors]:
            register(manifest, child_options(self, opts, depends_on=[cluster]),
                     f"{name}-{manifest['kind'].lower()}-{manifest['metadata']['name']}")
        ep = built.endpoints
        assert ep is not None
        self.cluster_name = cluster.metadata.apply(lambda m: m["name"])
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
