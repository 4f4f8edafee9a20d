"""The security defaults for a RayCluster: ``authOptions``, ``gcsFaultToleranceOptions``, the Redis password Secret and
the cluster's NetworkPolicies (pure functions; the RayCluster component registers what they return)."""

from __future__ import annotations

from typing import Any, Literal

from raydask.builders.common import Manifest
from raydask.builders.network import Allow, Egress, network_policies
from raydask.builders.secrets import opaque_secret
from raydask.k8s import labels as lbl
from raydask.k8s.naming import RayNames
from raydask.k8s.ports import RayPorts
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray import RayClusterSpec
from raydask.spec.ray_workloads import K8S_TOKEN_AUTH_REFUSED, RayJobSpec, RayServiceSpec, WorkloadClusterSpec
from raydask.spec.security import (
    REDIS_PASSWORD_KEY,
    NetworkPolicySpec,
    Problem,
    SecurityDefaults,
    auth_problems,
    effective_auth,
    effective_network_policy,
    ray_exposure_problems,
    workload_exposure_problems,
)

APP = "ray"
HEAD = "head"
SUBMITTER = "submitter"
EVERYWHERE = "0.0.0.0/0"


def resolve(spec: RayClusterSpec, defaults: SecurityDefaults) -> RayClusterSpec:
    """``spec`` with the stack's defaults applied: ``networkPolicy`` merged, ``auth`` inherited; both None when off."""
    return spec.model_copy(update={
        "network_policy": effective_network_policy(defaults.network_policy, spec.network_policy),
        "auth": effective_auth(defaults.ray_auth, spec.auth),
    })


def problems(resolved: RayClusterSpec, defaults: SecurityDefaults) -> list[Problem]:
    """Rules on a resolved cluster the spec alone cannot check (an inherited ``auth``, exposure, ``requireTls``)."""
    out = auth_problems(resolved.auth, ray=resolved.ray_version)
    return out + ray_exposure_problems(resolved, require_tls=defaults.require_tls, authenticated=resolved.auth is not None)


def auth_options(spec: RayClusterSpec) -> Manifest | None:
    """``authOptions`` of a resolved cluster; None when auth is off."""
    return spec.auth.build() if spec.auth else None


def redis_password_ref(spec: RayClusterSpec) -> tuple[str, str]:
    """(Secret name, key) holding the Redis password: ``passwordSecret`` or the Secret raydask creates."""
    ft = spec.gcs_fault_tolerance
    assert ft is not None
    if ft.password_secret is not None:
        return ft.password_secret.name, ft.password_secret.key
    return RayNames.redis_password_secret(spec.name), REDIS_PASSWORD_KEY


def gcs_fault_tolerance_options(spec: RayClusterSpec) -> Manifest | None:
    """``gcsFaultToleranceOptions``: the password only as a ``secretKeyRef``; None when off."""
    ft = spec.gcs_fault_tolerance
    if ft is None:
        return None
    return ft.build(redis_password_ref(spec) if ft.sends_password else None)


def needs_password(spec: RayClusterSpec) -> bool:
    """True when raydask must create the Redis password Secret (fault tolerance with a password, without
    ``passwordSecret``)."""
    ft = spec.gcs_fault_tolerance
    return ft is not None and ft.sends_password and ft.password_secret is None


def redis_password_secret(spec: RayClusterSpec, namespace: str, password: Any) -> Manifest:
    """The Secret ``<cluster>-redis-password``; ``password`` is passed through untouched (a Pulumi secret Output)."""
    name, key = redis_password_ref(spec)
    return opaque_secret(name, namespace, lbl.standard(APP, spec.name, "redis-password"), {key: password})


Workload = Literal["cluster", "job", "service"]
"""What owns the Ray pods: a RayCluster, a RayJob (its clusters and submitter) or a RayService (its clusters)."""
SUBMITTERS = ((lbl.NAME, APP), (lbl.COMPONENT, SUBMITTER))
"""Pods of RayJob submitters (K8sJobMode), which call the job API of the cluster they select."""


def ray_network_policies(spec: RayClusterSpec, namespace: str, monitoring: MonitoringSpec | None = None,
                         kuberay_namespace: str | None = None, *, workload: Workload = "cluster",
                         serve_ingress: bool = False, serve_from: tuple[str, ...] = ()) -> list[Manifest]:
    """NetworkPolicies of a resolved cluster; none when its ``networkPolicy`` is off.

    A RayCluster admits the Ingress controller to what its Ingresses route to and RayJob submitters of its namespace
    to the job API; a RayService's Serve proxies run on every pod behind ``<name>-serve-svc``, so the Ingress controller
    (``serve_ingress``), the operator's health checks and, when its Serve Service is a LoadBalancer or NodePort, the
    networks ``serve_from`` reach Serve's port on all of them.
    """
    policy = spec.network_policy
    if policy is None:
        return []
    exposed: list[tuple[int, str | None]] = []
    if workload == "cluster":
        exposed = [(port, HEAD) for port, ingress in ((RayPorts.DASHBOARD, spec.dashboard.ingress),
                                                      (spec.head.serve_port, spec.serve.ingress)) if ingress is not None]
    elif workload == "service" and serve_ingress:
        exposed = [(spec.head.serve_port, None)]
    scraped = monitoring is not None and monitoring.enabled and spec.monitoring
    operator_ns = policy.operator_namespace or kuberay_namespace
    api_server: list[str | None] = [HEAD] if spec.autoscaling and spec.autoscaling.enabled else []
    if spec.auth is not None and spec.auth.k8s_token_auth:
        api_server.append(None)
    ft = spec.gcs_fault_tolerance
    # KubeRay's Redis cleanup Job runs from the head's pod template (same labels), so it gets the head's egress too.
    # A Redis on the head pod's loopback (a sidecar) needs no egress: NetworkPolicies do not filter loopback traffic.
    redis = [Egress((ft.redis_port,), cidr=ft.redis_cidr, group=HEAD)] if ft and ft.redis and not ft.redis_on_loopback else []
    ingress: list[Allow] = []
    if workload == "cluster":
        ingress += [*external_allowances(spec), Allow((RayPorts.DASHBOARD,), group=HEAD, pods=SUBMITTERS)]
    if workload == "service" and operator_ns:
        ingress.append(Allow((spec.head.serve_port,), (operator_ns,)))
    if workload == "service" and serve_from:
        ingress.append(Allow((spec.head.serve_port,), cidrs=serve_from))
    return network_policies(
        RayNames.network_policy(spec.name, "netpol"), namespace, lbl.standard(APP, spec.name, "network-policy"),
        lbl.selector(APP, spec.name), policy,
        groups={HEAD: lbl.selector(APP, spec.name, HEAD)},
        client_ports=(RayPorts.CLIENT, RayPorts.DASHBOARD), client_group=HEAD,
        exposed=exposed,
        metrics=(monitoring.namespace, [p for _, p in RayPorts.scraped()]) if scraped and monitoring else None,
        operator=(operator_ns, (RayPorts.DASHBOARD,), HEAD) if operator_ns else None,
        api_server=api_server,
        ingress=ingress,
        egress=redis,
    )


def submitter_network_policies(job: str, cluster: str, namespace: str, policy: NetworkPolicySpec | None) -> list[Manifest]:
    """NetworkPolicies of the submitter pod of a RayJob running on the existing RayCluster ``cluster``: nothing in, out
    only to DNS and that cluster's job API (the cluster's own policies admit submitters)."""
    if policy is None:
        return []
    head = ((lbl.RAY_CLUSTER, cluster), (lbl.RAY_NODE_TYPE, HEAD))
    return network_policies(
        RayNames.network_policy(job, "netpol"), namespace, lbl.standard(APP, job, "network-policy"),
        lbl.selector(APP, job, SUBMITTER), policy,
        egress=[Egress((RayPorts.DASHBOARD,), pods=head)],
    )


def external_allowances(spec: RayClusterSpec) -> list[Allow]:
    """Ingress from outside the cluster to what a LoadBalancer / NodePort exposes (its source ranges, else anywhere)."""
    out: list[Allow] = []
    by_name = dict(spec.head.ports())
    ext = spec.external_service
    if ext is not None and ext.type != "ClusterIP":
        cidrs = tuple(ext.load_balancer_source_ranges) if ext.type == "LoadBalancer" and ext.load_balancer_source_ranges else (EVERYWHERE,)
        out.append(Allow(tuple(by_name[p] for p in ext.ports), group=HEAD, cidrs=cidrs))
    if spec.head.service_type != "ClusterIP":
        out.append(Allow((RayPorts.CLIENT, RayPorts.DASHBOARD, spec.head.serve_port), group=HEAD, cidrs=(EVERYWHERE,)))
    return out


def resolve_workload(cluster: WorkloadClusterSpec, defaults: SecurityDefaults) -> WorkloadClusterSpec:
    """A RayJob's or RayService's cluster with the stack's defaults applied (as :func:`resolve`)."""
    return cluster.model_copy(update={
        "network_policy": effective_network_policy(defaults.network_policy, cluster.network_policy),
        "auth": effective_auth(defaults.ray_auth, cluster.auth),
    })


def workload_problems(cluster: WorkloadClusterSpec | None) -> list[Problem]:
    """Rules on a resolved workload cluster the spec alone cannot check (an inherited ``auth``, exposure), relative to the
    workload."""
    if cluster is None:
        return []
    if cluster.auth is None:
        return workload_exposure_problems(cluster, authenticated=False)
    out = auth_problems(cluster.auth, ("cluster", "auth"), ray=cluster.ray_version)
    if cluster.auth.k8s_token_auth:
        out.append(("cluster.auth.k8sTokenAuth", K8S_TOKEN_AUTH_REFUSED))
    return out


def job_network_policies(spec: RayJobSpec, namespace: str, monitoring: MonitoringSpec | None,
                         defaults: SecurityDefaults) -> list[Manifest]:
    """NetworkPolicies of a resolved RayJob: its cluster and submitter, or only the submitter of a job on an existing
    cluster (``clusterSelector``; it follows the stack's ``networkPolicy``)."""
    if spec.cluster is not None:
        return ray_network_policies(spec.cluster.to_cluster(spec.name, namespace), namespace, monitoring,
                                    defaults.kuberay_namespace, workload="job")
    if spec.submission_mode == "K8sJobMode" and spec.cluster_selector:
        policy = effective_network_policy(defaults.network_policy, None)
        return submitter_network_policies(spec.name, spec.cluster_selector, namespace, policy)
    return []


def service_network_policies(spec: RayServiceSpec, namespace: str, monitoring: MonitoringSpec | None,
                             defaults: SecurityDefaults) -> list[Manifest]:
    """NetworkPolicies of a resolved RayService's clusters."""
    return ray_network_policies(spec.cluster.to_cluster(spec.name, namespace), namespace, monitoring,
                                defaults.kuberay_namespace, workload="service", serve_ingress=spec.ingress is not None,
                                serve_from=serve_sources(spec))


def serve_sources(spec: RayServiceSpec) -> tuple[str, ...]:
    """The networks a RayService's Serve Service admits from outside the cluster: its ``loadBalancerSourceRanges``
    (LoadBalancer), else anywhere, when it is a LoadBalancer or NodePort (its own ``type``, else the head's)."""
    settings = spec.serve_service
    kind = (settings.type if settings else None) or spec.cluster.head.service_type
    if kind == "ClusterIP":
        return ()
    ranges = (settings.spec.get("loadBalancerSourceRanges") or []) if settings and kind == "LoadBalancer" else []
    return tuple(ranges) or (EVERYWHERE,)
