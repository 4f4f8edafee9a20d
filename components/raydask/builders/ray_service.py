"""RayService builders: the RayService object (``serveConfigV2`` and its cluster), the Serve Ingress and monitors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from raydask.builders.common import Manifest, ingress, ingress_url, obj
from raydask.builders.ray import APP, RAY_API, deletion_annotations, monitoring_objects, ray_cluster_spec
from raydask.builders.ray_job import yaml_text
from raydask.k8s import labels as lbl
from raydask.k8s.naming import RayNames, service_fqdn
from raydask.k8s.ports import RayPorts
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray_workloads import RayServiceSpec

SERVE_HOST = "0.0.0.0"
"""Serve's HTTP proxies listen on every interface so KubeRay's ``<name>-serve-svc`` reaches them."""


@dataclass(frozen=True)
class RayServiceEndpoints:
    """Addresses of a RayService."""

    serve_service: str
    serve_url: str
    dashboard_url: str
    serve_ingress_url: str | None = None


@dataclass(frozen=True)
class RayServiceBuild:
    """Everything raydask declares for one RayService."""

    service: Manifest
    services: list[Manifest] = field(default_factory=list)
    ingresses: list[Manifest] = field(default_factory=list)
    monitors: list[Manifest] = field(default_factory=list)
    endpoints: RayServiceEndpoints | None = None

    def objects(self) -> list[Manifest]:
        """All objects, the RayService first."""
        return [self.service, *self.services, *self.ingresses, *self.monitors]


def serve_config(spec: RayServiceSpec) -> dict[str, Any]:
    """Ray Serve's multi-application config (``ServeDeploySchema``), HTTP on the ``serve`` port."""
    return {
        "http_options": {"host": SERVE_HOST, "port": spec.cluster.head.serve_port},
        "applications": [app.render() for app in spec.applications],
    }


def serve_config_v2(spec: RayServiceSpec) -> str:
    """``serveConfigV2``: the Serve config as YAML text."""
    return yaml_text(serve_config(spec))


def ray_service(spec: RayServiceSpec, namespace: str) -> Manifest:
    """The RayService object."""
    upgrade: Manifest = {"type": spec.upgrade_strategy}
    if spec.cluster_upgrade_options is not None:
        upgrade["clusterUpgradeOptions"] = spec.cluster_upgrade_options.render()
    cluster = spec.cluster.to_cluster(spec.name, namespace)
    body: Manifest = {
        "serveConfigV2": serve_config_v2(spec),
        "upgradeStrategy": upgrade,
        "rayClusterConfig": ray_cluster_spec(cluster, embedded=True),
    }
    if spec.serve_service is not None:
        body["serveService"] = spec.serve_service.template([(RayPorts.SERVE_NAME, spec.cluster.head.serve_port)])  # KubeRay keeps only it
    if spec.ray_cluster_deletion_delay_seconds is not None:
        body["rayClusterDeletionDelaySeconds"] = spec.ray_cluster_deletion_delay_seconds
    if spec.exclude_head_pod_from_serve_svc:
        body["excludeHeadPodFromServeSvc"] = True
    if spec.suspend:
        body["suspend"] = True
    if spec.managed_by is not None:
        body["managedBy"] = spec.managed_by
    batch = spec.batch_scheduling.labels(spec.name) if spec.batch_scheduling else {}
    # its clusters are deleted as RayClusters of the stack are: their Redis cleanup needs their service account
    return obj(RAY_API, "RayService", spec.name, namespace, lbl.standard(APP, spec.name, "service", {**spec.labels, **batch}),
               {**spec.annotations, **deletion_annotations(cluster)} or None, spec=body)


def endpoints(spec: RayServiceSpec, namespace: str) -> RayServiceEndpoints:
    """KubeRay's Services of a RayService (they follow the active cluster across upgrades) and the Ingress URL."""
    serve = spec.serve_service_name
    return RayServiceEndpoints(
        serve_service=serve,
        serve_url=f"http://{service_fqdn(serve, namespace)}:{spec.cluster.head.serve_port}",
        dashboard_url=f"http://{service_fqdn(RayNames.head_service(spec.name), namespace)}:{RayPorts.DASHBOARD}",
        serve_ingress_url=ingress_url(spec.ingress) if spec.ingress else None,
    )


def build_ray_service(spec: RayServiceSpec, namespace: str, monitoring: MonitoringSpec | None = None) -> RayServiceBuild:
    """Every object of one RayService."""
    ingresses = []
    if spec.ingress:
        ingresses.append(ingress(RayNames.ingress(spec.name, "serve"), namespace, lbl.standard(APP, spec.name, "serve"),
                                 spec.ingress, spec.serve_service_name, RayPorts.SERVE_NAME))
    services, monitors = monitoring_objects(spec.cluster.to_cluster(spec.name, namespace), namespace, monitoring)
    return RayServiceBuild(ray_service(spec, namespace), services, ingresses, monitors, endpoints(spec, namespace))
