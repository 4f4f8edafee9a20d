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

from raydask.errors import Path, key_path, parts
from raydask.k8s import naming
from raydask.k8s.security import INGRESS_AUTH_ANNOTATIONS
from raydask.spec.base import IngressSpec, Label, Quantity, Spec, Subdomain
from raydask.spec.kuberay import default_feature_gates
from raydask.spec.needs import KubeRay, Needs, check, needs_of, unmet

if TYPE_CHECKING:
    from raydask.spec.dask import DaskClusterSpec
    from raydask.spec.ray import RayClusterConfig, RayClusterSpec
    from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
    from raydask.spec.stack import StackSpec

Problem = tuple[Path, str]
"""``(key path, message)``: dotted with list indices as digits (``rayClusters.0.auth``), or a tuple of parts."""

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

_REDIS_ADDRESS = re.compile(r"^(?:(?P<scheme>rediss?)://)?(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})$")


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
    if err := naming.config_key_error(value, "Secret data key"):
        raise ValueError(err)
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
    """Ray token authentication, RayCluster ``authOptions``.

    Without ``secretName`` KubeRay generates a random token into a Secret named after the cluster (key ``auth_token``)
    and sets ``RAY_AUTH_MODE`` / ``RAY_AUTH_TOKEN`` on every Ray container; clients read it from there.
    """

    enabled: bool = True
    """Require a token for the dashboard, job API, Ray client and internal RPCs; default true when the key is present
    (``false`` opts a cluster out of the stack's ``raydask:rayAuth``)."""
    secret_name: Annotated[SecretName | None, Needs(kuberay="1.6.0", crd="authOptions.secretName")] = None
    """Existing Secret holding the token under key ``auth_token``; default none (KubeRay generates one named after the
    cluster)."""
    k8s_token_auth: Annotated[bool, Needs(kuberay="1.6.0", crd="authOptions.enableK8sTokenAuth", ray="2.55.0",
                                          what="Kubernetes token authentication")] = Field(default=False, alias="k8sTokenAuth")
    """Accept Kubernetes service-account tokens checked by the API server instead of a shared token
    (``enableK8sTokenAuth``); default false."""

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


AUTH_NEEDS = Needs(kuberay="1.5.1", crd="authOptions", ray="2.52.0", what="Ray token authentication",
                   when=lambda auth: auth.enabled)
"""What a cluster's ``auth`` (and the stack's ``rayAuth`` it inherits) needs."""


class SecretKeySpec(Spec):
    """A key of an existing Secret in the cluster's namespace."""

    name: SecretName
    """Secret name; required."""
    key: Annotated[str, AfterValidator(_secret_key)] = REDIS_PASSWORD_KEY
    """Data key; default ``password``."""


GCS_STORAGE_VOLUME = ("gcs-storage", "/data/gcs")
"""(volume name, mount path) of the embedded RocksDB store KubeRay mounts into the head container."""
GCS_STORAGE_ENV = ("RAY_gcs_storage", "RAY_gcs_storage_path")
"""Environment variables KubeRay sets in the head container for the embedded RocksDB store (it refuses them by hand)."""
ROCKSDB_NEEDS = Needs(kuberay="1.7.0", crd="gcsFaultToleranceOptions.backend", gate="GCSFaultToleranceEmbeddedStorage",
                      what="the embedded RocksDB backend", when=lambda v: v == "rocksdb")
"""What ``gcsFaultTolerance.backend: rocksdb`` needs."""


class GcsStorageSpec(Spec):
    """The persistent volume of the embedded RocksDB store (``gcsFaultToleranceOptions.storage``): a PVC KubeRay creates
    (``<cluster>-gcs-pvc``, owned by the RayCluster), or an existing one (``claimName``)."""

    claim_name: Subdomain | None = None
    """An existing PersistentVolumeClaim to keep the store in, which KubeRay uses as it is (never creates, resizes or
    deletes it): the way to keep the state across a RayService's upgrades; default none (KubeRay creates one). Not with
    ``size``, ``storageClassName`` or ``accessModes``."""
    size: Quantity | None = None
    """Size of the PVC KubeRay creates; default KubeRay's, ``1Gi``. KubeRay creates it once: a later change needs the
    PVC deleted."""
    storage_class_name: Subdomain | None = None
    """StorageClass of the PVC KubeRay creates; default the cluster's default class."""
    access_modes: list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] = []
    """Access modes of the PVC KubeRay creates; default KubeRay's, ``[ReadWriteOnce]`` (RocksDB has one writer)."""
    sub_path: str | None = Field(default=None, min_length=1)
    """A directory of the volume to mount instead of its root (a relative path); default the root."""
    deletion_policy: Literal["DeleteWithCluster", "Retain"] | None = None
    """``DeleteWithCluster`` (KubeRay's default) or ``Retain``: keep the PVC KubeRay created, and the state, when the
    RayCluster is deleted (a cluster of the same name adopts it)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.claim_name is not None:
            for key, value in (("size", self.size), ("storageClassName", self.storage_class_name),
                               ("accessModes", self.access_modes), ("deletionPolicy", self.deletion_policy)):
                if value:
                    problems.append((key, "configures the PVC KubeRay creates; with claimName KubeRay uses your PVC as it "
                                          "is: remove it"))
        if self.sub_path is not None and (self.sub_path.startswith("/") or ".." in self.sub_path.split("/")):
            problems.append(("subPath", f"'{self.sub_path}' must be a relative path inside the volume (no leading '/', no "
                                        "'..')"))
        return problems

    def build(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("claimName", self.claim_name), ("size", self.size), ("storageClassName", self.storage_class_name),
                           ("accessModes", list(self.access_modes)), ("subPath", self.sub_path),
                           ("deletionPolicy", self.deletion_policy)):
            if value:
                out[key] = value
        return out


class GcsFaultToleranceSpec(Spec):
    """GCS fault tolerance, RayCluster ``gcsFaultToleranceOptions``: the head keeps the cluster's state outside its own
    memory, so a restarted head resumes running jobs, actors and Serve apps. In an external Redis (``backend: redis``,
    the default), or in RocksDB embedded in the GCS on a persistent volume KubeRay mounts on the head (``backend:
    rocksdb``, alpha)."""

    backend: Annotated[Literal["redis", "rocksdb"], ROCKSDB_NEEDS] = "redis"
    """``redis`` (an external Redis, ``redisAddress``) or ``rocksdb`` (embedded, on a PVC, ``storage``; KubeRay's
    ``GCSFaultToleranceEmbeddedStorage`` gate); default ``redis``. Immutable: the API server refuses a change."""
    redis_address: RedisAddress | None = None
    """``host:port`` of the Redis server, e.g. ``redis.ml.svc.cluster.local:6379``; required with ``redis``."""
    redis_cidr: Cidr | None = None
    """Network of the Redis server for the NetworkPolicy egress rule; default any destination on the Redis port."""
    password_secret: SecretKeySpec | None = None
    """Existing Secret with the Redis password; default a Secret ``<cluster>-redis-password`` made from the Pulumi secret
    ``raydask:redisPassword``."""
    no_password: bool = False
    """The Redis has no password (no ``requirepass``): KubeRay is given none, and raydask makes no password Secret and
    needs no ``raydask:redisPassword``. Default false: KubeRay sends the password of ``passwordSecret`` or
    ``raydask:redisPassword``. For a Redis only the head pod reaches: one on the pod's loopback (``127.0.0.1``, ``::1``,
    ``localhost``), such as a sidecar bound to it (KubeRay's Redis cleanup Job, a pod of its own, then cannot reach it
    when the cluster is deleted: it fails, and the data stays where the sidecar keeps it). Any other address needs
    ``allowUnauthenticated: true`` as well."""
    allow_unauthenticated: bool = False
    """Acknowledge ``noPassword`` with a Redis off the head pod's loopback, which every pod that reaches it can read
    and rewrite (the cluster's state: jobs, actors, Serve apps) without a password; default false."""
    external_storage_namespace: str | None = Field(default=None, min_length=1)
    """Key prefix of this cluster's state in Redis; default KubeRay's (the RayCluster's UID)."""
    storage: GcsStorageSpec | None = None
    """``rocksdb`` only: the volume the store lives on; default a 1Gi ``ReadWriteOnce`` PVC KubeRay creates."""

    @property
    def redis(self) -> bool:
        """Whether the state is in an external Redis."""
        return self.backend == "redis"

    @property
    def redis_port(self) -> int:
        m = _REDIS_ADDRESS.match(self.redis_address or "")
        assert m is not None
        return int(m.group("port"))

    @property
    def redis_on_loopback(self) -> bool:
        """Whether the Redis address is on the head pod's own loopback (a sidecar): no other pod reaches it."""
        m = _REDIS_ADDRESS.match(self.redis_address or "")
        if m is None:
            return False
        host = m.group("host").strip("[]")
        if host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def sends_password(self) -> bool:
        """Whether KubeRay is given a Redis password."""
        return self.redis and not self.no_password

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.redis:
            if self.redis_address is None:
                problems.append(("redisAddress", "required with the redis backend: host:port of your Redis (or backend: "
                                                 "rocksdb for the store embedded in the GCS)"))
            if self.storage is not None:
                problems.append(("storage", "only applies to backend: rocksdb (KubeRay refuses it with redis)"))
            return problems + self._password_problems()
        for key, value in (("redisAddress", self.redis_address), ("redisCidr", self.redis_cidr),
                           ("passwordSecret", self.password_secret),
                           ("externalStorageNamespace", self.external_storage_namespace)):
            if value is not None:
                problems.append((key, "is Redis's: KubeRay refuses it with backend: rocksdb"))
        for key, flag in (("noPassword", self.no_password), ("allowUnauthenticated", self.allow_unauthenticated)):
            if flag:
                problems.append((key, "is about a Redis: backend rocksdb has none (remove it)"))
        return problems

    def _password_problems(self) -> list[tuple[Path, str]]:
        out: list[tuple[Path, str]] = []
        if self.no_password and self.password_secret is not None:
            out.append(("passwordSecret", "names the password of a Redis that has one, and noPassword says this one has "
                                          "none: remove one of them"))
        if self.allow_unauthenticated and not self.no_password:
            out.append(("allowUnauthenticated", "only applies with noPassword: true (a Redis without a password); remove "
                                                "it"))
        if self.no_password and not self.allow_unauthenticated and self.redis_address and not self.redis_on_loopback:
            out.append(("noPassword", f"'{self.redis_address}' is not on the head pod's loopback (127.0.0.1, ::1, "
                                      "localhost), so other pods reach this Redis, and without a password any of them can "
                                      "read and rewrite the cluster's state: give the Redis a password (requirepass) and "
                                      "remove noPassword, or acknowledge it with gcsFaultTolerance.allowUnauthenticated: "
                                      "true"))
        return out

    def build(self, password_ref: tuple[str, str] | None) -> dict[str, Any]:
        """``gcsFaultToleranceOptions``; the Redis password only as a reference to ``password_ref`` (Secret, key), and
        none with ``noPassword``."""
        if not self.redis:
            storage = self.storage.build() if self.storage else {}
            return {"backend": "rocksdb", **({"storage": storage} if storage else {})}
        out: dict[str, Any] = {"redisAddress": self.redis_address}
        if self.sends_password:
            assert password_ref is not None
            out["redisPassword"] = {"valueFrom": {"secretKeyRef": {"name": password_ref[0], "key": password_ref[1]}}}
        if self.external_storage_namespace:
            out["externalStorageNamespace"] = self.external_storage_namespace
        return out


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


def auth_problems(auth: AuthSpec | None, key: tuple[Any, ...] = ("auth",), *, ray: str | None = None,
                  kuberay: KubeRay | None = None) -> list[Problem]:
    """What Ray token authentication ``auth`` (at ``key``) needs and Ray ``ray`` or the operator ``kuberay`` lack."""
    return list(check(auth, AUTH_NEEDS, key, kind="RayCluster", ray=ray, kuberay=kuberay))


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
    if not cluster.gcs_fault_tolerance.redis:
        out += [(("head", "env", env), f"'{env}' is set by KubeRay for the embedded RocksDB store (it refuses the cluster "
                                       "otherwise): remove it")
                for env in GCS_STORAGE_ENV if env in cluster.head.env]
        name, path = GCS_STORAGE_VOLUME
        out += [(("head", "volumes", i), f"'{v.name}' at {v.mount_path}: KubeRay mounts the embedded RocksDB store as volume "
                                         f"'{name}' at {path}: choose another name and path")
                for i, v in enumerate(cluster.head.volumes) if v.name == name or v.mount_path.rstrip("/") == path]
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


def workload_exposure_problems(cluster: RayClusterConfig, *, authenticated: bool) -> list[Problem]:
    """Rules on exposing the cluster of a RayJob or RayService (relative to it): its head Service beyond ClusterIP only
    with Ray token authentication (it has no dashboard opt-out: a job's or service's head is reached in-cluster)."""
    kind = cluster.head.service_type
    if kind == "ClusterIP" or authenticated:
        return []
    return [("cluster.head.serviceType", f"{kind} exposes the dashboard, job API and Ray client outside the cluster without "
                                         "authentication: turn on Ray token authentication (cluster.auth: {}), or keep "
                                         "ClusterIP and use kubectl port-forward")]


def dask_job_exposure_problems(scheduler_service_type: str) -> list[Problem]:
    """Rules on exposing a DaskJob's scheduler (relative to the job): in-cluster only (the runner reaches it there, and
    the Dask scheduler has no authentication)."""
    if scheduler_service_type == "ClusterIP":
        return []
    return [("scheduler.serviceType", f"{scheduler_service_type} exposes the job's scheduler outside the cluster without "
                                      "authentication (anyone reaching port 8786 can run code on the workers): keep "
                                      "ClusterIP (the runner reaches it inside the cluster) and use kubectl port-forward "
                                      "to watch the job")]


def _namespace_problems(cluster: RayClusterConfig, stack: StackSpec) -> list[Problem]:
    """The collector sidecar of ``historyServer`` against the namespaces raydask creates, relative to the cluster."""
    if cluster.history_server is not None and stack.create_namespace:
        return [("historyServer", "KubeRay gives the collector sidecar no securityContext, so Pod Security 'restricted', "
                                  "which the namespaces raydask creates enforce, rejects every pod of the cluster: set "
                                  "raydask:createNamespace: false and run the cluster in a namespace at Pod Security level "
                                  "'baseline', or remove historyServer")]
    return []


def kuberay_of(stack: StackSpec) -> KubeRay | None:
    """The KubeRay operator the stack installs (its version and feature gates), None when it installs none."""
    if stack.kuberay is None:
        return None
    return KubeRay(stack.kuberay.version, {**default_feature_gates(stack.kuberay.version), **stack.kuberay.feature_gates})


def stack_problems(stack: StackSpec) -> list[Problem]:
    """Rules that need the stack: its defaults, its KubeRay version and feature gates, ``requireTls``."""
    from raydask.spec.ray import RayClusterConfig

    out: list[Problem] = []
    kuberay = kuberay_of(stack)
    ray: list[tuple[str, Sequence[RayClusterSpec | RayJobSpec | RayServiceSpec]]] = [
        ("rayClusters", stack.ray_clusters), ("rayJobs", stack.ray_jobs), ("rayCronJobs", stack.ray_cron_jobs),
        ("rayServices", stack.ray_services)]
    clusters: list[tuple[str, RayClusterConfig]] = []
    for field, workloads in ray:
        for i, w in enumerate(workloads):
            if kuberay is not None and field != "rayCronJobs":  # below, under the kind's own requirement
                out += unmet(w, (field, i), kuberay=kuberay)
            cluster = w if isinstance(w, RayClusterConfig) else w.cluster
            if cluster is not None:
                where = f"{field}.{i}" if cluster is w else f"{field}.{i}.cluster"
                clusters.append((f"{field}[{i}]", cluster))
                out += [(f"{where}.{p}", m) for p, m in _namespace_problems(cluster, stack)]
    if kuberay is not None:
        out += check(stack.ray_cron_jobs, needs_of(type(stack), "ray_cron_jobs"), ("rayCronJobs",), kind="RayCronJob",
                     kuberay=kuberay)
    inheriting = [(label, c) for label, c in clusters if c.auth is None]
    if stack.ray_auth is not None and inheriting:
        for label, c in inheriting:  # the stack-wide default against every cluster's Ray version
            out += [(p, f"{m} ({label})") for p, m in auth_problems(stack.ray_auth, ("rayAuth",), ray=c.ray_version)]
        out += auth_problems(stack.ray_auth, ("rayAuth",), kuberay=kuberay)
    for i, c in enumerate(stack.ray_clusters):
        authenticated = effective_auth(stack.ray_auth, c.auth) is not None
        out += [(f"rayClusters.{i}.{p}", m) for p, m in ray_exposure_problems(c, require_tls=stack.require_tls,
                                                                               authenticated=authenticated)]
    jobs_and_services: list[tuple[str, Sequence[RayJobSpec | RayServiceSpec]]] = [
        ("rayJobs", stack.ray_jobs), ("rayCronJobs", stack.ray_cron_jobs), ("rayServices", stack.ray_services)]
    for field, items in jobs_and_services:
        for i, w in enumerate(items):
            inherited = stack.ray_auth if w.cluster is not None and w.cluster.auth is None else None
            if inherited is not None and inherited.enabled and inherited.k8s_token_auth:
                out.append(("rayAuth.k8sTokenAuth", f"KubeRay rejects Kubernetes token authentication for RayJobs and "
                                                    f"RayServices ({field}[{i}]): set {field}[{i}].cluster.auth to the "
                                                    f"shared token (auth: {{}}) or turn it off (auth: {{enabled: false}})"))
    for field, items in jobs_and_services:
        for i, w in enumerate(items):
            if w.cluster is not None:
                authenticated = effective_auth(stack.ray_auth, w.cluster.auth) is not None
                out += [(f"{field}.{i}.{p}", m) for p, m in workload_exposure_problems(w.cluster, authenticated=authenticated)]
    for i, svc in enumerate(stack.ray_services):
        if svc.ingress is not None:
            out += [(f"rayServices.{i}.{p}", m) for p, m in ingress_problems(svc.ingress, "ingress", require_tls=stack.require_tls)]
    for i, d in enumerate(stack.dask_clusters):
        out += [(f"daskClusters.{i}.{p}", m) for p, m in dask_exposure_problems(d, require_tls=stack.require_tls)]
    return out + ingress_collision_problems(stack)


PLAINTEXT_FIX = {
    "env": "take it from a Secret whose value is a Pulumi secret: secrets: [{name: creds, fromConfig: {NAME: <config key>}}] "
           "on the workload, then envValueFrom: {NAME: {secretKeyRef: {name: <workload>-creds, key: NAME}}}",
    "envVars": "a runtime environment is plaintext in the job's or service's object: give the cluster's containers the "
               "variable from a Secret instead (envValueFrom on its head and worker groups; Ray's processes inherit it)",
    "rayStartParams": "ray start gets it on its command line: give the head the variable from a Secret (envValueFrom: "
                      "{REDIS_PASSWORD: {secretKeyRef: ...}}) and write \"$REDIS_PASSWORD\" here, or use gcsFaultTolerance",
    "data": "a ConfigMap is plaintext: declare the file in the workload's secrets (fromConfig) and mount that Secret",
    "serve": "Serve's config is plaintext in the RayService: have the code read an environment variable the cluster's "
             "containers take from a Secret (envValueFrom)",
}
"""How to keep a secret out of each kind of plaintext value."""


def _plaintext_values(value: Any, key: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str, Any, str]]:
    """(key path, name, value, kind of place) of every named plaintext value in ``value`` (a spec model, at any depth)."""
    from pydantic import BaseModel

    from raydask.spec.overrides import PodOverrides

    out: list[tuple[tuple[Any, ...], str, Any, str]] = []
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            out += _plaintext_values(item, (*key, i))
        return out
    if isinstance(value, dict):
        for k, item in value.items():
            if isinstance(item, BaseModel):
                out += _plaintext_values(item, (*key, k))
        return out
    if not isinstance(value, BaseModel):
        return out
    fields = type(value).model_fields
    for name, info in fields.items():
        alias = info.alias or name
        item = getattr(value, name)
        where = (*key, alias)
        if name in ("env", "env_vars", "ray_start_params") and isinstance(item, dict):
            kind = {"env": "env", "env_vars": "envVars", "ray_start_params": "rayStartParams"}[name]
            out += [((*where, k), str(k), v, kind) for k, v in item.items()]
        elif name == "data" and isinstance(item, dict) and type(value).__name__ == "ConfigMapSpec":
            out += [((*where, k), str(k), v, "data") for k, v in item.items()]
        elif name in ("args", "user_config") and isinstance(item, dict):
            out += [(p, n, v, "serve") for p, n, v in _nested(item, where)]
        else:
            out += _plaintext_values(item, where)
    if isinstance(value, PodOverrides):
        containers: list[tuple[tuple[Any, ...], Any]] = [((*key, f, i), c) for f, items in
                                                         (("sidecars", value.sidecars), ("initContainers", value.init_containers))
                                                         for i, c in enumerate(items)]
        containers.append(((*key, "containerPatch"), value.container_patch))
        spec = value.pod_patch.get("spec")
        for f in ("initContainers", "containers"):
            for i, c in enumerate((spec.get(f) or []) if isinstance(spec, dict) else []):
                containers.append(((*key, "podPatch", "spec", f, i), c))
        for where, c in containers:
            env = c.get("env") if isinstance(c, dict) else None
            for j, item in enumerate(env if isinstance(env, list) else []):
                if isinstance(item, dict) and isinstance(item.get("name"), str) and "value" in item:
                    out.append(((*where, "env", j, "value"), item["name"], item["value"], "env"))
    return out


def _nested(value: Any, key: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str, Any]]:
    """(path, key, value) of every scalar in nested mappings and lists, named by its nearest mapping key."""
    out: list[tuple[tuple[Any, ...], str, Any]] = []
    if isinstance(value, dict):
        for k, item in value.items():
            if isinstance(item, dict | list):
                out += _nested(item, (*key, k))
            else:
                out.append(((*key, k), str(k), item))
    elif isinstance(value, list):
        name = str(key[-1]) if key else ""
        for i, item in enumerate(value):
            out += _nested(item, (*key, i)) if isinstance(item, dict | list) else [((*key, i), name, item)]
    return out


def plaintext_problems(workload: Any, kind: str) -> list[Problem]:
    """Every secret-looking value (:func:`raydask.k8s.secrets.plaintext_secret`) a workload spec (of the ``kind``
    object) would write in plaintext, but those its ``notSecret`` names; and ``notSecret`` entries that name nothing
    secret-looking."""
    from raydask.k8s.secrets import plaintext_secret

    allowed = list(getattr(workload, "not_secret", []))
    out: list[Problem] = []
    named: set[str] = set()
    cluster = workload if hasattr(workload, "gcs_fault_tolerance") else getattr(workload, "cluster", None)
    said = ("rayStartParams", "redis-password") if getattr(cluster, "gcs_fault_tolerance", None) is not None else None
    for path, name, value, place in _plaintext_values(workload, ()):
        reason = plaintext_secret(name, value)
        if reason is None or path[-2:] == said:  # said by gcs_problems
            continue
        named.add(name)
        if name in allowed:
            continue
        out.append((path, f"looks like a secret ({reason}) given in plaintext: it would be stored unencrypted in the {kind}, "
                          f"the rendered manifests and the Pulumi state; {PLAINTEXT_FIX[place]} (if it is not a secret, "
                          f"list '{name}' in notSecret)"))
    out += [(("notSecret", i), f"'{name}' names no secret-looking value of this workload: remove it")
            for i, name in enumerate(allowed) if name not in named]
    return out


def stack_ingresses(stack: StackSpec) -> list[tuple[str, str, str, IngressSpec]]:
    """(key, namespace, Ingress name, spec) of every Ingress the stack declares, in declaration order."""
    from raydask.k8s.naming import DaskNames, RayNames

    out: list[tuple[str, str, str, IngressSpec]] = []
    for i, c in enumerate(stack.ray_clusters):
        ns = c.namespace or stack.namespace
        for what, ingress in (("dashboard", c.dashboard.ingress), ("serve", c.serve.ingress)):
            if ingress is not None:
                out.append((f"rayClusters.{i}.{what}.ingress", ns, RayNames.ingress(c.name, what), ingress))
    for i, svc in enumerate(stack.ray_services):
        if svc.ingress is not None:
            out.append((f"rayServices.{i}.ingress", svc.namespace or stack.namespace, RayNames.ingress(svc.name, "serve"),
                        svc.ingress))
    for i, d in enumerate(stack.dask_clusters):
        if d.dashboard.ingress is not None:
            out.append((f"daskClusters.{i}.dashboard.ingress", d.namespace or stack.namespace, DaskNames.ingress(d.name),
                        d.dashboard.ingress))
    return out


def ingress_collision_problems(stack: StackSpec) -> list[Problem]:
    """Two Ingresses of one class for one host and path, in any namespaces: an Ingress controller routes the pair to one
    backend (ingress-nginx's admission webhook refuses the second)."""
    out: list[Problem] = []
    seen: dict[tuple[str | None, str, str], tuple[str, str, str]] = {}
    for key, ns, name, ingress in stack_ingresses(stack):
        route = (ingress.class_name, ingress.host or "", ingress.path)
        if route in seen:
            other, other_ns, other_name = seen[route]
            host = f"host {ingress.host}" if ingress.host else "every host (no host set)"
            out.append((f"{key}.path", f"'{ingress.path}' on {host} is already routed by "
                                       f"{key_path('raydask:', parts(other))} (Ingress {other_ns}/{other_name}): one host and "
                                       "path go to one backend (ingress-nginx refuses the second Ingress); give this Ingress "
                                       "another host or path"))
        else:
            seen[route] = (key, ns, name)
    return out


def redis_password_missing(key: str) -> str:
    """The ConfigError line for GCS fault tolerance without a password."""
    return (f"{key}.gcsFaultTolerance: needs the Redis password: set it with `pulumi config set --secret "
            f"raydask:{REDIS_PASSWORD_CONFIG} <password>`, or name an existing Secret in gcsFaultTolerance.passwordSecret "
            "(a Redis without one, on the head pod's loopback: gcsFaultTolerance.noPassword: true)")


__all__ = [
    "AuthSpec",
    "EgressRuleSpec",
    "GcsFaultToleranceSpec",
    "IngressRuleSpec",
    "NetworkPolicySpec",
    "SecretKeySpec",
    "SecurityDefaults",
]
