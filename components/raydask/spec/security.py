"""Secure and reliable defaults: NetworkPolicies, Ray token authentication, GCS fault tolerance, exposure rules.

The models are the config schema (``networkPolicy``, ``auth``, ``gcsFaultTolerance`` per cluster; ``raydask:networkPolicy``,
``raydask:rayAuth``, ``raydask:requireTls`` per stack). The ``*_problems`` functions are the rules that need more than one
model (the stack's defaults, the operator version): each returns ``(key path, message)`` pairs, relative to the
cluster or the stack, so model validators (:func:`raydask.errors.check`) and components (ConfigError) report the
same text.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, StrictInt

from raydask.errors import Path
from raydask.k8s import naming
from raydask.k8s.security import INGRESS_AUTH_ANNOTATIONS
from raydask.spec.base import IngressSpec, Label, Spec
from raydask.spec.kuberay import FEATURE_GATES

if TYPE_CHECKING:
    from raydask.spec.dask import DaskClusterSpec
    from raydask.spec.ray import RayClusterConfig, RayClusterSpec
    from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
    from raydask.spec.stack import StackSpec

Problem = tuple[str, str]
"""``(dotted key path, message)``; list indices as digits (``rayClusters.0.auth``)."""

REDIS_PASSWORD_CONFIG = "redisPassword"
"""The Pulumi secret config key (``raydask:redisPassword``) holding the Redis password for GCS fault tolerance."""
REDIS_PASSWORD_KEY = "password"
"""Data key of the password in the Secret raydask creates (and the default key of ``passwordSecret``)."""
REDIS_PASSWORD_PLACEHOLDER = "raydask-offline-render-placeholder"
"""What an offline render (no real secrets) sets ``raydask:redisPassword`` to, as secret config."""
SECRET_CONFIG_KEYS = frozenset({REDIS_PASSWORD_CONFIG})
"""``raydask:*`` keys read only as Pulumi secrets, never passed to the spec models."""
OFFLINE_SECRET_CONFIG = {f"raydask:{REDIS_PASSWORD_CONFIG}": REDIS_PASSWORD_PLACEHOLDER}
"""Secret config an offline run (render, tests) passes instead of the real secrets, with these keys as ``secret_keys``."""

RAY_TOKEN_AUTH_SINCE = (2, 52, 0)
KUBERAY_TOKEN_AUTH_SINCE = (1, 5, 1)
RAY_K8S_TOKEN_AUTH_SINCE = (2, 55, 0)
KUBERAY_K8S_TOKEN_AUTH_SINCE = (1, 6, 0)
KUBERAY_AUTH_SECRET_NAME_SINCE = (1, 6, 0)
KUBERAY_GCS_FT_SINCE = (1, 3, 0)
"""First KubeRay release whose CRD has ``gcsFaultToleranceOptions`` (older API servers prune it)."""
KUBERAY_DELETION_STRATEGY_SINCE = (1, 5, 0)
"""First KubeRay release whose RayJob CRD has ``deletionStrategy`` with ``deletionRules`` / ``onSuccess`` / ``onFailure``."""
KUBERAY_DELETION_JOB_DEPLOYMENT_STATUS_SINCE = (1, 6, 0)
"""First KubeRay release whose deletion conditions take ``jobDeploymentStatus``."""
KUBERAY_PRE_RUNNING_DEADLINE_SINCE = (1, 6, 0)
"""First KubeRay release whose RayJob CRD has ``preRunningDeadlineSeconds``."""
KUBERAY_CLUSTER_UPGRADE_OPTIONS_SINCE = (1, 5, 0)
"""First KubeRay release with RayService incremental upgrades (``upgradeStrategy.clusterUpgradeOptions``)."""
KUBERAY_CLUSTER_DELETION_DELAY_SINCE = (1, 5, 0)
"""First KubeRay release whose RayService CRD has ``rayClusterDeletionDelaySeconds``."""
KUBERAY_SERVICE_MANAGED_BY_SINCE = (1, 6, 0)
"""First KubeRay release whose RayService CRD has ``managedBy``."""
KUBERAY_SERVICE_SUSPEND_SINCE = (1, 7, 0)
"""First KubeRay release whose RayService CRD has ``suspend``."""
KUBERAY_GATES_ON_SINCE = {
    "RayJobDeletionPolicy": ((1, 6, 0), "KubeRay refuses a RayJob with a deletionStrategy"),
    "RayServiceIncrementalUpgrade": ((1, 7, 0), "KubeRay upgrades the RayService in place, with downtime"),
}
"""Per feature gate a workload field needs: the first KubeRay release whose operator turns it on by default (for
versions raydask has no chart defaults of, ``raydask.spec.kuberay.FEATURE_GATES``) and what happens with it off."""
KUBERAY_AUTOSCALER_COMMAND_SINCE = (1, 7, 0)
"""First KubeRay release whose CRD has ``autoscalerOptions.command`` / ``args``."""
KUBERAY_TLS_SINCE = (1, 7, 0)
"""First KubeRay release whose CRD has ``tlsOptions`` (and its ``RayClusterMTLS`` feature gate)."""
KUBERAY_HISTORY_SERVER_SINCE = (1, 7, 0)
"""First KubeRay release whose CRD has ``historyServerOptions`` (and its ``RayClusterHistoryServer`` feature gate)."""
KUBERAY_UPGRADE_STRATEGY_SINCE = (1, 6, 0)
"""First KubeRay release whose RayCluster CRD has ``upgradeStrategy``."""
KUBERAY_GROUP_PRIORITY_SINCE = (1, 7, 0)
"""First KubeRay release whose RayCluster CRD has ``workerGroupSpecs[].priority``."""
KUBERAY_MANAGED_BY_SINCE = (1, 3, 0)
"""First KubeRay release whose RayCluster CRD has ``managedBy``."""

_REDIS_ADDRESS = re.compile(r"^(?:(?P<scheme>rediss?)://)?(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})$")


def _release(version: str) -> tuple[int, ...]:
    """``1.7.0`` / ``1.7.0-rc.1`` -> (1, 7, 0)."""
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(p) for p in m.groups()) if m else (0, 0, 0)


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"'{value}' is not a CIDR such as 10.0.0.0/8") from None
    if "/" not in value:
        raise ValueError(f"'{value}' must include the prefix length, e.g. {network}")
    if str(network) != value:
        raise ValueError(f"'{value}' has host bits set; use {network}")
    return value


def _redis_address(value: str) -> str:
    m = _REDIS_ADDRESS.match(value)
    if not m or not 1 <= int(m.group("port")) <= 65535:
        raise ValueError(f"'{value}' is not a Redis address: use host:port, e.g. redis.ml.svc.cluster.local:6379 "
                         "(redis:// or rediss:// allowed)")
    return value


def _secret_key(value: str) -> str:
    if not re.fullmatch(r"[-._a-zA-Z0-9]+", value) or len(value) > 253:
        raise ValueError(f"'{value}' is not a Secret data key: letters, digits, '-', '_' and '.'")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
"""An IPv4 or IPv6 network in CIDR notation (``10.0.0.0/8``)."""
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
"""A TCP/UDP port number."""
SecretName = Annotated[str, AfterValidator(naming.check_dns1123_subdomain)]
"""A Secret name (DNS-1123 subdomain)."""
RedisAddress = Annotated[str, AfterValidator(_redis_address)]
"""``host:port`` of a Redis server, optionally with a ``redis://`` or ``rediss://`` scheme."""


class IngressRuleSpec(Spec):
    """Extra traffic admitted into every pod of the cluster."""

    namespaces: list[Label] = Field(min_length=1)
    """Namespaces whose pods may connect; required, at least one."""
    ports: list[Port] = Field(min_length=1)
    """Ports they may connect to; required, at least one."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """Protocol of ``ports``; default ``TCP``."""


class EgressRuleSpec(Spec):
    """Extra traffic every pod of the cluster may send (a pip mirror, S3, a database)."""

    cidr: Cidr
    """Destination network, e.g. ``10.20.0.0/16`` (``0.0.0.0/0`` for anywhere); required."""
    ports: list[Port] = Field(min_length=1)
    """Destination ports, e.g. ``[443]``; required, at least one."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """Protocol of ``ports``; default ``TCP``."""


class NetworkPolicySpec(Spec):
    """NetworkPolicies isolating a cluster: deny all, then allow exactly what the cluster needs (``networkPolicy``)."""

    enabled: bool = True
    """Create the NetworkPolicies; default true when the key is present (``false`` opts a cluster out of the stack's)."""
    ingress_controller_namespace: Label = "ingress-nginx"
    """Namespace of the Ingress controller, admitted to the ports an Ingress of the cluster routes to; default
    ``ingress-nginx``."""
    client_namespaces: list[Label] = []
    """Namespaces admitted to the Ray client (10001) and dashboard / job API (8265) on a Ray head, and to the Dask
    scheduler (8786); default none (the cluster's own pods and ``kubectl port-forward`` only)."""
    operator_namespace: Label | None = None
    """Namespace of the operator running the cluster, admitted to what it calls (Ray: the job API 8265, and Serve's
    8000 for RayServices; Dask: the scheduler's 8786 and 8787); default the namespace of the stack's ``raydask:kuberay``
    or ``raydask:daskOperator``, none without it."""
    allow_dns: bool = True
    """Allow DNS (UDP and TCP 53) to ``dnsNamespace``; default true."""
    dns_namespace: Label = "kube-system"
    """Namespace of the cluster DNS (CoreDNS / kube-dns); default ``kube-system``."""
    api_server_cidr: Cidr = "0.0.0.0/0"
    """Where the API server is, for the pods that call it (the autoscaler sidecar on the head, Kubernetes token auth);
    TCP 443 and 6443 only; default ``0.0.0.0/0``. Set the control plane's CIDR to tighten it."""
    extra_ingress: list[IngressRuleSpec] = []
    """More traffic admitted into the cluster's pods; default none."""
    extra_egress: list[EgressRuleSpec] = []
    """More destinations the cluster's pods may reach (pip mirrors, object storage, databases); default none."""


class AuthSpec(Spec):
    """Ray token authentication, RayCluster ``authOptions`` (Ray ≥ 2.52, KubeRay ≥ 1.5.1).

    Without ``secretName`` KubeRay generates a random token into a Secret named after the cluster (key ``auth_token``)
    and sets ``RAY_AUTH_MODE`` / ``RAY_AUTH_TOKEN`` on every Ray container; clients read it from there.
    """

    enabled: bool = True
    """Require a token for the dashboard, job API, Ray client and internal RPCs; default true when the key is present
    (``false`` opts a cluster out of the stack's ``raydask:rayAuth``)."""
    secret_name: SecretName | None = None
    """Existing Secret holding the token under key ``auth_token`` (KubeRay ≥ 1.6.0); default none (KubeRay generates
    one named after the cluster)."""
    k8s_token_auth: bool = Field(default=False, alias="k8sTokenAuth")
    """Accept Kubernetes service-account tokens checked by the API server instead of a shared token
    (``enableK8sTokenAuth``; Ray ≥ 2.55, KubeRay ≥ 1.6.0); default false."""

    def problems(self) -> list[tuple[Path, str]]:
        if self.secret_name is not None and self.k8s_token_auth:
            return [*super().problems(), ("secretName", "cannot be combined with k8sTokenAuth (Kubernetes tokens replace the "
                                                        "shared token Secret)")]
        return super().problems()

    def build(self) -> dict[str, Any] | None:
        """``authOptions``; None when disabled."""
        if not self.enabled:
            return None
        out: dict[str, Any] = {"mode": "token"}
        if self.secret_name:
            out["secretName"] = self.secret_name
        if self.k8s_token_auth:
            out["enableK8sTokenAuth"] = True
        return out


class SecretKeySpec(Spec):
    """A key of an existing Secret in the cluster's namespace."""

    name: SecretName
    """Secret name; required."""
    key: Annotated[str, AfterValidator(_secret_key)] = REDIS_PASSWORD_KEY
    """Data key; default ``password``."""


class GcsFaultToleranceSpec(Spec):
    """GCS fault tolerance with an external Redis, RayCluster ``gcsFaultToleranceOptions`` (KubeRay ≥ 1.3.0).

    The head keeps cluster state in Redis, so a restarted head resumes running jobs, actors and Serve apps.
    """

    redis_address: RedisAddress
    """``host:port`` of the Redis server, e.g. ``redis.ml.svc.cluster.local:6379``; required."""
    redis_cidr: Cidr | None = None
    """Network of the Redis server for the NetworkPolicy egress rule; default any destination on the Redis port."""
    password_secret: SecretKeySpec | None = None
    """Existing Secret with the Redis password; default a Secret ``<cluster>-redis-password`` made from the Pulumi secret
    ``raydask:redisPassword``."""
    external_storage_namespace: str | None = Field(default=None, min_length=1)
    """Key prefix of this cluster's state in Redis; default KubeRay's (the RayCluster's UID)."""

    @property
    def redis_port(self) -> int:
        m = _REDIS_ADDRESS.match(self.redis_address)
        assert m is not None
        return int(m.group("port"))


@dataclass(frozen=True)
class SecurityDefaults:
    """Stack-wide settings a cluster component applies where the cluster sets none (not config: built from it)."""

    network_policy: NetworkPolicySpec | None = None
    ray_auth: AuthSpec | None = None
    require_tls: bool = False
    kuberay_namespace: str | None = None
    """Namespace of the KubeRay operator the stack installs, if any."""
    dask_operator_namespace: str | None = None
    """Namespace of the Dask operator the stack installs, if any."""

    @classmethod
    def from_stack(cls, stack: StackSpec) -> SecurityDefaults:
        kuberay_ns = (stack.kuberay.namespace or stack.namespace) if stack.kuberay else None
        dask_ns = (stack.dask_operator.namespace or stack.namespace) if stack.dask_operator else None
        return cls(stack.network_policy, stack.ray_auth, stack.require_tls, kuberay_ns, dask_ns)


def effective_network_policy(default: NetworkPolicySpec | None, own: NetworkPolicySpec | None) -> NetworkPolicySpec | None:
    """The cluster's ``networkPolicy`` over the stack's (keys the cluster sets win); None when off."""
    if own is None:
        merged = default
    elif default is None:
        merged = own
    else:
        merged = default.model_copy(update={f: getattr(own, f) for f in own.model_fields_set})
    return merged if merged is not None and merged.enabled else None


def effective_auth(default: AuthSpec | None, own: AuthSpec | None) -> AuthSpec | None:
    """The cluster's ``auth``, else the stack's; None when off."""
    auth = own if own is not None else default
    return auth if auth is not None and auth.enabled else None


def auth_problems(auth: AuthSpec | None, ray_version: str | None, kuberay_version: str | None) -> list[Problem]:
    """Version rules of Ray token auth, relative to the ``auth`` key; pass None for a version not to check."""
    if auth is None or not auth.enabled:
        return []
    out: list[Problem] = []
    ray = _release(ray_version) if ray_version else None
    kuberay = _release(kuberay_version) if kuberay_version else None

    def need(path: str, what: str, ray_since: tuple[int, ...] | None, kuberay_since: tuple[int, ...]) -> None:
        wanted = (f"Ray ≥ {_dotted(ray_since)} and " if ray_since else "") + f"KubeRay ≥ {_dotted(kuberay_since)}"
        if ray is not None and ray_since and ray < ray_since:
            out.append((path, f"{what} needs {wanted}; rayVersion is {ray_version}"))
        if kuberay is not None and kuberay < kuberay_since:
            out.append((path, f"{what} needs {wanted}; raydask:kuberay.version is {kuberay_version} (older operators "
                              "drop the setting and run the cluster without it)"))

    need("", "Ray token authentication", RAY_TOKEN_AUTH_SINCE, KUBERAY_TOKEN_AUTH_SINCE)
    if auth.k8s_token_auth:
        need("k8sTokenAuth", "Kubernetes token authentication", RAY_K8S_TOKEN_AUTH_SINCE, KUBERAY_K8S_TOKEN_AUTH_SINCE)
    if auth.secret_name:
        need("secretName", "authOptions.secretName", None, KUBERAY_AUTH_SECRET_NAME_SINCE)
    return out


def gcs_problems(cluster: RayClusterConfig) -> list[Problem]:
    """Settings KubeRay rejects next to ``gcsFaultToleranceOptions``."""
    if cluster.gcs_fault_tolerance is None:
        return []
    out: list[Problem] = []
    for annotation, instead in (("ray.io/ft-enabled", "gcsFaultTolerance alone"),
                                ("ray.io/external-storage-namespace", "gcsFaultTolerance.externalStorageNamespace")):
        if annotation in getattr(cluster, "annotations", {}):
            out.append(("annotations", f"'{annotation}' cannot be combined with gcsFaultTolerance; use {instead}"))
    if "redis-password" in cluster.head.ray_start_params:
        out.append(("head.rayStartParams", "'redis-password' cannot be combined with gcsFaultTolerance; the password comes "
                                           "from raydask:redisPassword or gcsFaultTolerance.passwordSecret"))
    for env in ("RAY_REDIS_ADDRESS", "REDIS_PASSWORD"):
        if env in cluster.head.env:
            out.append(("head.env", f"'{env}' cannot be combined with gcsFaultTolerance; KubeRay sets it from "
                                    "gcsFaultTolerance"))
    return out


def auth_annotation(annotations: Mapping[str, str]) -> str | None:
    """The first annotation that enforces authentication at the Ingress, or None."""
    for key, off in INGRESS_AUTH_ANNOTATIONS.items():
        value = annotations.get(key)
        if value is not None and value.strip() and value.strip().lower() not in off:
            return key
    return None


AUTH_ANNOTATION_KEYS = ", ".join(INGRESS_AUTH_ANNOTATIONS)


RAY_DASHBOARD_RISK = "a dashboard runs code on the cluster"
DASK_DASHBOARD_RISK = "the Dask dashboard has no authentication of its own and its HTTP API scales and retires workers"


def ingress_problems(ingress: IngressSpec, path: str, *, require_tls: bool, dashboard: bool = False,
                     authenticated: bool = False, allow_unauthenticated: bool = False,
                     opt_out_key: str = "dashboard.allowUnauthenticated", engine_auth: str | None = "Ray token authentication",
                     risk: str = RAY_DASHBOARD_RISK) -> list[Problem]:
    """Rules of the Ingress at ``path``: HTTPS when ``require_tls``. A dashboard Ingress also needs TLS and authentication
    (an auth annotation, or the engine's own ``engine_auth``: ``authenticated``) unless ``allow_unauthenticated`` (key
    ``opt_out_key``); ``risk`` says why."""
    out: list[Problem] = []
    if require_tls and not ingress.tls_secret:
        out.append((f"{path}.tlsSecret", f"required: raydask:requireTls is on, so every Ingress serves HTTPS (set tlsSecret "
                                         f"to the Secret with the certificate for {ingress.host or 'the served hosts'})"))
    if not dashboard or allow_unauthenticated:
        return out
    if not ingress.tls_secret and not require_tls:
        out.append((f"{path}.tlsSecret", f"required: {risk}, so its Ingress needs TLS and authentication (or set "
                                         f"{opt_out_key}: true)"))
    if not authenticated and auth_annotation(ingress.annotations) is None:
        either = f" or {engine_auth}" if engine_auth else ""
        out.append((f"{path}.annotations", f"needs an authentication annotation ({AUTH_ANNOTATION_KEYS}){either}: {risk} "
                                           f"(or set {opt_out_key}: true)"))
    return out


def dask_exposure_problems(cluster: DaskClusterSpec, *, require_tls: bool) -> list[Problem]:
    """Rules on exposing a Dask cluster: its dashboard only with TLS and authentication, its scheduler in-cluster only."""
    allow = cluster.dashboard.allow_unauthenticated
    out: list[Problem] = []
    if cluster.dashboard.ingress:
        out += ingress_problems(cluster.dashboard.ingress, "dashboard.ingress", require_tls=require_tls, dashboard=True,
                                allow_unauthenticated=allow, engine_auth=None, risk=DASK_DASHBOARD_RISK)
    kind = cluster.scheduler.service_type
    if kind != "ClusterIP" and not allow:
        out.append(("scheduler.serviceType", f"{kind} exposes the scheduler outside the cluster without authentication "
                                             "(anyone reaching port 8786 can run code on the workers): keep ClusterIP and use "
                                             "kubectl port-forward, or set dashboard.allowUnauthenticated: true"))
    return out


def ray_exposure_problems(cluster: RayClusterSpec, *, require_tls: bool, authenticated: bool) -> list[Problem]:
    """Rules on exposing a Ray cluster: its dashboard, job API and client only with TLS and authentication."""
    allow = cluster.dashboard.allow_unauthenticated
    out: list[Problem] = []
    if cluster.dashboard.ingress:
        out += ingress_problems(cluster.dashboard.ingress, "dashboard.ingress", require_tls=require_tls, dashboard=True,
                                authenticated=authenticated, allow_unauthenticated=allow)
    if cluster.serve.ingress:
        out += ingress_problems(cluster.serve.ingress, "serve.ingress", require_tls=require_tls)
    if authenticated or allow:
        return out
    fix = "turn on Ray token authentication (auth: {}) or set dashboard.allowUnauthenticated: true"
    ext = cluster.external_service
    exposed = [p for p in ext.ports if p in ("dashboard", "client")] if ext and ext.type != "ClusterIP" else []
    if ext and exposed:
        out.append(("externalService.ports", f"{ext.type} exposes {' and '.join(exposed)} outside the cluster without "
                                             f"authentication: {fix}"))
    if cluster.head.service_type != "ClusterIP":
        out.append(("head.serviceType", f"{cluster.head.service_type} exposes the dashboard, job API and Ray client outside "
                                        f"the cluster without authentication: {fix}"))
    return out


def _auth_version_problems(own: AuthSpec | None, stack_auth: AuthSpec | None, ray_version: str, kuberay: str | None,
                           where: str, label: str) -> list[Problem]:
    """Version rules of a cluster's own ``auth`` (at ``<where>.auth``), else of the stack's ``rayAuth`` it inherits
    (reported at ``rayAuth``, naming the cluster ``label``)."""
    if own is not None:
        return [(f"{where}.auth{'.' + p if p else ''}", m) for p, m in auth_problems(own, None, kuberay)]
    if stack_auth is None:
        return []
    return [(f"rayAuth{'.' + p if p else ''}", f"{m} ({label})") for p, m in auth_problems(stack_auth, ray_version, kuberay)]


def _indexed(key: str) -> str:
    """``workerGroups.0.priority`` as messages name it: ``workerGroups[0].priority``."""
    return re.sub(r"[.](\d+)", r"[\1]", key)


def _cluster_field_problems(cluster: RayClusterConfig, stack: StackSpec) -> list[Problem]:
    """Rules of a cluster's KubeRay ≥ 1.6 / 1.7 keys that need the stack (its KubeRay version and feature gates,
    ``createNamespace``), relative to the cluster; a RayCluster's or a RayJob's / RayService's ``cluster``."""
    from raydask.spec.kuberay import FEATURE_GATES

    out: list[Problem] = []
    kuberay = stack.kuberay.version if stack.kuberay else None
    a = cluster.autoscaling
    fields: list[tuple[str, str, bool, tuple[int, ...]]] = [
        ("autoscaling.command", "autoscalerOptions.command", bool(a and a.command is not None), KUBERAY_AUTOSCALER_COMMAND_SINCE),
        ("autoscaling.args", "autoscalerOptions.args", bool(a and a.args is not None), KUBERAY_AUTOSCALER_COMMAND_SINCE),
        ("tls", "tlsOptions", bool(cluster.tls and cluster.tls.enabled), KUBERAY_TLS_SINCE),
        ("historyServer", "historyServerOptions", cluster.history_server is not None, KUBERAY_HISTORY_SERVER_SINCE),
        ("upgradeStrategy", "upgradeStrategy", getattr(cluster, "upgrade_strategy", None) is not None,
         KUBERAY_UPGRADE_STRATEGY_SINCE),
        ("managedBy", "managedBy", getattr(cluster, "managed_by", None) is not None, KUBERAY_MANAGED_BY_SINCE),
    ]
    fields += [(f"workerGroups.{i}.priority", "workerGroupSpecs[].priority", g.priority is not None, KUBERAY_GROUP_PRIORITY_SINCE)
               for i, g in enumerate(cluster.worker_groups)]
    for key, crd_key, used, since in fields:
        if used and kuberay and _release(kuberay) < since:
            out.append((key, f"needs KubeRay ≥ {_dotted(since)}; raydask:kuberay.version is {kuberay} (its RayCluster CRD has "
                             f"no {crd_key}: the API server drops it): set raydask:kuberay.version to {_dotted(since)} or "
                             f"later, or remove {_indexed(key)}"))
    if stack.kuberay and kuberay and _release(kuberay) >= KUBERAY_TLS_SINCE:
        gates = {**FEATURE_GATES.get(kuberay, {}), **stack.kuberay.feature_gates}
        for key, used, gate, effect in (
                ("tls", bool(cluster.tls and cluster.tls.enabled), "RayClusterMTLS", "refuses the cluster"),
                ("historyServer", cluster.history_server is not None, "RayClusterHistoryServer", "ignores it (no collector)")):
            if used and not gates.get(gate, False):
                out.append((key, f"needs the KubeRay feature gate {gate}, off in raydask:kuberay (without it KubeRay {effect}): "
                                 f"set raydask:kuberay.featureGates: {{{gate}: true}}"))
    if cluster.history_server is not None and stack.create_namespace:
        out.append(("historyServer", "KubeRay gives the collector sidecar no securityContext, so Pod Security 'restricted', "
                                     "which the namespaces raydask creates enforce, rejects every pod of the cluster: set "
                                     "raydask:createNamespace: false and run the cluster in a namespace at Pod Security level "
                                     "'baseline', or remove historyServer"))
    return out


def stack_problems(stack: StackSpec) -> list[Problem]:
    """Rules that need the stack: its defaults, its KubeRay version, ``requireTls``."""
    out: list[Problem] = []
    kuberay = stack.kuberay.version if stack.kuberay else None
    for i, c in enumerate(stack.ray_clusters):
        where = f"rayClusters.{i}"
        out += _auth_version_problems(c.auth, stack.ray_auth, c.ray_version, kuberay, where, f"rayClusters[{i}]")
        if c.gcs_fault_tolerance is not None and kuberay and _release(kuberay) < KUBERAY_GCS_FT_SINCE:
            out.append((f"{where}.gcsFaultTolerance", f"needs KubeRay ≥ {_dotted(KUBERAY_GCS_FT_SINCE)}; raydask:kuberay.version "
                                                      f"is {kuberay} (older operators drop gcsFaultToleranceOptions)"))
        out += [(f"{where}.{p}", m) for p, m in _cluster_field_problems(c, stack)]
        authenticated = effective_auth(stack.ray_auth, c.auth) is not None
        out += [(f"{where}.{p}", m) for p, m in ray_exposure_problems(c, require_tls=stack.require_tls,
                                                                        authenticated=authenticated)]
    workload_fields: tuple[tuple[str, Sequence[RayJobSpec | RayServiceSpec]], ...] = (
        ("rayJobs", stack.ray_jobs), ("rayServices", stack.ray_services))
    for field, workloads in workload_fields:
        for i, w in enumerate(workloads):
            if w.cluster is None:
                continue
            inherited = stack.ray_auth if w.cluster.auth is None else None
            if inherited is not None and inherited.enabled and inherited.k8s_token_auth:
                out.append(("rayAuth.k8sTokenAuth", f"KubeRay rejects Kubernetes token authentication for RayJobs and "
                                                    f"RayServices ({field}[{i}]): set {field}[{i}].cluster.auth to the "
                                                    f"shared token (auth: {{}}) or turn it off (auth: {{enabled: false}})"))
            out += _auth_version_problems(w.cluster.auth, stack.ray_auth, w.cluster.ray_version, kuberay,
                                          f"{field}.{i}.cluster", f"{field}[{i}]")
            out += [(f"{field}.{i}.cluster.{p}", m) for p, m in _cluster_field_problems(w.cluster, stack)]
    if stack.kuberay is not None:
        release = _release(stack.kuberay.version)
        gates = {**FEATURE_GATES.get(stack.kuberay.version, {}), **stack.kuberay.feature_gates}
        for field, workloads in workload_fields:
            kind = "RayJob" if field == "rayJobs" else "RayService"
            for i, w in enumerate(workloads):
                for path, what, since, gate in w.kuberay_needs():
                    if release < since:
                        out.append((f"{field}.{i}.{path}", f"needs KubeRay ≥ {_dotted(since)}; raydask:kuberay.version is "
                                                           f"{kuberay} (its {kind} CRD has no {what}): set "
                                                           f"raydask:kuberay.version to {_dotted(since)} or later"))
                    elif gate and not gates.get(gate, release >= KUBERAY_GATES_ON_SINCE[gate][0]):
                        out.append((f"{field}.{i}.{path}", f"needs the KubeRay feature gate {gate}, off in raydask:kuberay "
                                                           f"(without it {KUBERAY_GATES_ON_SINCE[gate][1]}): set "
                                                           f"raydask:kuberay.featureGates: {{{gate}: true}}"))
    for i, s in enumerate(stack.ray_services):
        if s.ingress is not None:
            out += [(f"rayServices.{i}.{p}", m) for p, m in ingress_problems(s.ingress, "ingress", require_tls=stack.require_tls)]
    for i, d in enumerate(stack.dask_clusters):
        out += [(f"daskClusters.{i}.{p}", m) for p, m in dask_exposure_problems(d, require_tls=stack.require_tls)]
    return out


def redis_password_missing(key: str) -> str:
    """The ConfigError line for GCS fault tolerance without a password."""
    return (f"{key}.gcsFaultTolerance: needs the Redis password: set it with `pulumi config set --secret "
            f"raydask:{REDIS_PASSWORD_CONFIG} <password>`, or name an existing Secret in gcsFaultTolerance.passwordSecret")


__all__ = [
    "AuthSpec",
    "EgressRuleSpec",
    "GcsFaultToleranceSpec",
    "IngressRuleSpec",
    "NetworkPolicySpec",
    "SecretKeySpec",
    "SecurityDefaults",
]
