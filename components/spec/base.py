"""Shared spec building blocks: the base model, quantity and name types, pod settings, Ingress, volumes."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, model_validator
from pydantic.alias_generators import to_camel

from raydask.errors import rule
from raydask.k8s import images, naming, quantities
from raydask.k8s.security import ALLOWED_VOLUME_TYPES


class Spec(BaseModel):
    """Base of every spec: frozen, unknown keys rejected, camelCase keys in config, snake_case in Python."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        use_attribute_docstrings=True,
        coerce_numbers_to_str=True,
    )


S = TypeVar("S", bound="Spec")


def _quantity(value: Any) -> str:
    return quantities.check(value)


def _quantity_or_zero(value: Any) -> str:
    return quantities.check(value, positive=False)


def _strict_count(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        raise ValueError(f"must be a whole number, got {value}")
    return value


Quantity = Annotated[str, BeforeValidator(_quantity)]
"""A Kubernetes quantity greater than zero, as a string ("2", "500m", "8Gi")."""
Count = Annotated[StrictInt, BeforeValidator(_strict_count), Field(ge=0)]
"""A non-negative whole number."""
ClusterName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, naming.RAY_CLUSTER_NAME_MAX))]
"""A DNS-1035 label of at most 53 characters (KubeRay's limit)."""
Label = Annotated[str, AfterValidator(naming.check_dns1035)]
"""A DNS-1035 label of at most 63 characters."""
GROUP_NAME_MAX = naming.LABEL_MAX - len("worker-")
GroupName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, GROUP_NAME_MAX))]
"""A worker group name: a DNS-1035 label of at most 56 characters (its pods carry the label value ``worker-<name>``)."""
Host = Annotated[str, AfterValidator(naming.check_dns1123_subdomain)]
"""A DNS host name."""
PinnedImage = Annotated[str, AfterValidator(images.check_pinned)]
"""An image reference with a version tag or digest; ``:latest`` and untagged are rejected."""
LabelValue = Annotated[str, Field(pattern=r"^[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$", max_length=63)]
"""A Kubernetes label value."""
Duration = Annotated[str, Field(pattern=r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$")]
"""A Prometheus duration such as ``30s`` or ``1m``."""


class Toleration(Spec):
    """A Kubernetes toleration."""

    key: str | None = None
    """Taint key; default none (with ``operator: Exists`` tolerates every taint)."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """``Equal`` (default) or ``Exists``."""
    value: str | None = None
    """Taint value for ``Equal``; default none."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect to tolerate; default all effects."""
    toleration_seconds: Count | None = None
    """For ``NoExecute``: how long the pod stays bound; default forever."""

    @model_validator(mode="after")
    def _exists_has_no_value(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise rule("value", "must be empty when operator is Exists")
        return self

    def build(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class VolumeSpec(Spec):
    """An extra volume mounted into the main container."""

    name: Label
    """Volume name (DNS-1035 label); required."""
    mount_path: str = Field(pattern=r"^/")
    """Absolute mount path in the container; required."""
    read_only: bool = False
    """Mount read-only; default false."""
    source: dict[str, Any]
    """Exactly one Kubernetes volume source, e.g. ``{persistentVolumeClaim: {claimName: data}}``; required; only the types
    Pod Security "restricted" admits (configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim,
    projected, secret)."""

    @model_validator(mode="after")
    def _one_allowed_source(self) -> VolumeSpec:
        if len(self.source) != 1:
            raise rule("source", f"must have exactly one volume type, got {sorted(self.source) or 'none'}")
        kind = next(iter(self.source))
        if kind not in ALLOWED_VOLUME_TYPES:
            allowed = sorted(ALLOWED_VOLUME_TYPES)
            raise rule("source", f"volume type '{kind}' is not allowed by Pod Security 'restricted'; use one of {allowed}")
        return self


class IngressSpec(Spec):
    """An Ingress in front of a dashboard or endpoint."""

    host: Host
    """Host name served; required."""
    path: str = Field(default="/", pattern=r"^/")
    """URL path; default ``/``."""
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = "Prefix"
    """Ingress pathType; default ``Prefix``."""
    class_name: str | None = None
    """ingressClassName; default the cluster's default class."""
    tls_secret: str | None = None
    """Secret holding the TLS certificate for ``host``; default none (plain HTTP)."""
    annotations: dict[str, str] = {}
    """Extra annotations (auth, cert-manager issuer…); default none."""

    @model_validator(mode="after")
    def _tls_name(self) -> IngressSpec:
        if self.tls_secret is not None:
            try:
                naming.check_dns1123_subdomain(self.tls_secret)
            except ValueError as exc:
                raise rule("tlsSecret", str(exc)) from None
        return self


class PodSettings(Spec):
    """Resources and scheduling shared by every pod group (Ray head, Ray workers, Dask scheduler and workers)."""

    cpu: Quantity = "1"
    """CPU request; default ``1``. Also the limit unless ``cpuLimit`` is set."""
    cpu_limit: Quantity | None = None
    """CPU limit; default equal to ``cpu``."""
    memory: Quantity = "2Gi"
    """Memory request and limit (equal, as Ray and Dask recommend); default ``2Gi``."""
    gpus: Count = 0
    """Whole GPUs per pod (``nvidia.com/gpu`` limit); default 0."""
    gpu_resource: str = "nvidia.com/gpu"
    """Extended resource name for GPUs; default ``nvidia.com/gpu``."""
    image: PinnedImage | None = None
    """Container image; default derived from the cluster's version."""
    image_pull_policy: Literal["IfNotPresent", "Always", "Never"] | None = None
    """Image pull policy; default ``Always`` for a tag (the registry may move it), ``IfNotPresent`` for a digest."""
    env: dict[str, str] = {}
    """Extra environment variables; default none."""
    node_selector: dict[str, str] = {}
    """Node selector; default none."""
    tolerations: list[Toleration] = []
    """Tolerations; default none."""
    affinity: dict[str, Any] | None = None
    """A Kubernetes ``affinity`` object, passed through; default none."""
    labels: dict[str, str] = {}
    """Extra pod labels; default none."""
    annotations: dict[str, str] = {}
    """Extra pod annotations; default none."""
    volumes: list[VolumeSpec] = []
    """Extra volumes mounted into the main container; default none."""
    service_account: Label | None = None
    """Service account for the pods; default the cluster's (or the namespace default)."""
    priority_class_name: str | None = None
    """Pod priorityClassName; default none."""

    @model_validator(mode="after")
    def _limits(self) -> PodSettings:
        if self.cpu_limit is not None and quantities.cores(self.cpu_limit) < quantities.cores(self.cpu):
            raise rule("cpuLimit", f"must be at least cpu ({self.cpu_limit} < {self.cpu})")
        names = [v.name for v in self.volumes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise rule("volumes", f"volume names must be unique, repeated: {dupes}")
        return self

    def resources(self) -> dict[str, Any]:
        """The container ``resources`` block."""
        limits: dict[str, str] = {"cpu": self.cpu_limit or self.cpu, "memory": self.memory}
        requests: dict[str, str] = {"cpu": self.cpu, "memory": self.memory}
        if self.gpus:
            limits[self.gpu_resource] = str(self.gpus)
            requests[self.gpu_resource] = str(self.gpus)
        return {"requests": requests, "limits": limits}


class WaitSpec(Spec):
    """Whether ``pulumi up`` waits until the operator reports the cluster ready."""

    enabled: bool = True
    """Wait after creating or updating the cluster; default true. On timeout the update fails, naming the cluster, with
    the operator's warning events and the state it reached."""
    timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 600
    """How long to wait; default 600."""


class MonitoringSpec(Spec):
    """Prometheus operator integration (stack key ``raydask:monitoring``)."""

    enabled: bool = True
    """Create ServiceMonitors/PodMonitors; default true when the key is present."""
    prometheus_release: LabelValue = "kube-prometheus-stack"
    """Value of the ``release`` label your Prometheus selects monitors by; default ``kube-prometheus-stack``."""
    namespace: Label = "monitoring"
    """Namespace Prometheus runs in (NetworkPolicies admit scrapes from it); default ``monitoring``."""
    interval: Duration = "30s"
    """Scrape interval; default ``30s``."""


def parse_spec(model: type[S], value: S | dict[str, Any], prefix: str) -> S:
    """Validate ``value`` (a dict or an instance) into ``model``; ConfigError with ``prefix``-rooted key paths."""
    if isinstance(value, model):
        return value
    from pydantic import ValidationError

    from raydask.errors import from_validation_error

    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise from_validation_error(exc, prefix, known_keys(model)) from None


def known_keys(model: type[BaseModel]) -> dict[tuple[Any, ...], list[str]]:
    """Config keys accepted at each nesting level (list indices omitted), for did-you-mean hints."""
    import typing

    out: dict[tuple[Any, ...], list[str]] = {}

    def walk(m: type[BaseModel], path: tuple[Any, ...], depth: int) -> None:
        if path in out or depth > 8:
            return
        out[path] = [f.alias or n for n, f in m.model_fields.items()]
        for n, f in m.model_fields.items():
            stack = [f.annotation]
            while stack:
                t = stack.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    walk(t, (*path, f.alias or n), depth + 1)
                else:
                    stack.extend(typing.get_args(t))

    walk(model, (), 0)
    return out
