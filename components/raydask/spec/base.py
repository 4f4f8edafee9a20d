"""Shared spec building blocks: the base model, quantity and name types, pod settings, Ingress, volumes."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from raydask.errors import Path, check
from raydask.k8s import images, naming, quantities, schema, validation
from raydask.k8s.security import ALLOWED_VOLUME_TYPES, reserved_annotation_error
from raydask.spec.config import ConfigModel, known_keys
from raydask.spec.overrides import PodOverrides

INT32_MAX = 2**31 - 1
ANNOTATIONS_MAX_BYTES = 256 * 1024
"""The API server's limit on the total size of an object's annotations."""


class Spec(ConfigModel):
    """Base of every spec: frozen, unknown keys rejected, camelCase keys in config, snake_case in Python.

    Text fields take text: a whole number is written as its digits (``4`` -> ``"4"``), but a fractional number or a
    boolean is refused with the fix (quote it: YAML turned ``1.10`` into 1.1 and ``true`` into a boolean). Boolean
    fields take ``true`` or ``false`` only (not ``yes``, which YAML 1.2 reads as a string).
    """

    @model_validator(mode="after")
    def _rules(self) -> Spec:
        check(self.problems())
        return self

    def problems(self) -> list[tuple[Path, str]]:
        """Every rule this model breaks, as ``(key path relative to it, message)``: one validator collects them all, so a
        config gets every problem at once. Subclasses extend it (``[*super().problems(), ...]``)."""
        return []

    @field_validator("*", mode="before")
    @classmethod
    def _plain_values(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        shape = _shape_of(cls, info.field_name)
        if shape is None or value is None:
            return value
        if shape == "bool":
            return _flag(value)
        if shape == "str":
            return _text(value, ())
        if shape == "dict" and isinstance(value, dict):
            problems: list[tuple[Path, str]] = []
            out = {}
            for key, item in value.items():
                try:
                    out[key] = _text(item, (str(key),))
                except _TextError as exc:
                    problems.append(((str(key),), exc.message))
            check(problems)
            return out
        if shape == "dict_bool" and isinstance(value, dict):
            flags: dict[Any, Any] = {}
            problems = []
            for key, item in value.items():
                try:
                    flags[key] = _flag(item)
                except ValueError as exc:
                    problems.append(((str(key),), str(exc)))
            check(problems)
            return flags
        if shape == "list" and isinstance(value, list):
            problems = []
            items = []
            for i, item in enumerate(value):
                try:
                    items.append(_text(item, (i,)))
                except _TextError as exc:
                    problems.append(((i,), exc.message))
            check(problems)
            return items
        return value


class _TextError(ValueError):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def _text(value: Any, where: tuple[Any, ...]) -> Any:
    """A text value: ints become their digits; floats and booleans are refused with the fix."""
    from raydask.errors import describe, quote_hint

    if isinstance(value, (bool, float)):
        message = f"expected a string, got {describe(value)}{quote_hint(value)}"
        if where:
            raise _TextError(message)
        raise ValueError(message)
    if isinstance(value, int):
        return str(value)
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    from raydask.errors import describe

    extra = (" (in YAML 1.2, as Pulumi reads it, yes/no/on/off are strings: write true or false)"
             if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n") else "")
    raise ValueError(f"expected true or false, got {describe(value)}{extra}")


@functools.cache
def _shape_of(model: type[BaseModel], field: str) -> str | None:
    """``str``, ``bool``, ``dict`` (of str) or ``list`` (of str) for fields whose input :meth:`Spec._plain_values`
    normalizes; None for the rest (numbers, quantities, models)."""
    info = model.model_fields.get(field)
    if info is None or any(isinstance(m, BeforeValidator) for m in info.metadata):
        return None
    return _shape(info.annotation)


def _shape(annotation: Any) -> str | None:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _shape(rest[0]) if len(rest) == 1 else None
    if origin is Annotated:
        if any(isinstance(m, BeforeValidator) for m in args[1:]):
            return None
        return _shape(args[0])
    if annotation is str:
        return "str"
    if annotation is bool:
        return "bool"
    if origin is dict and len(args) == 2 and _shape(args[1]) == "str":
        return "dict"
    if origin is dict and len(args) == 2 and _shape(args[1]) == "bool":
        return "dict_bool"
    if origin is list and args and _shape(args[0]) == "str":
        return "list"
    return None


S = TypeVar("S", bound="Spec")
M = TypeVar("M", bound=BaseModel)
PullPolicy = Literal["IfNotPresent", "Always", "Never"]
"""A container's ``imagePullPolicy``."""


def _quantity(value: Any) -> str:
    return quantities.check(value)


def _strict_count(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        raise ValueError(f"must be a whole number, got {value}")
    return value


def _after(fn: Callable[[str], Any]) -> AfterValidator:
    return AfterValidator(lambda v: fn(v) or v)


def _real(value: Any) -> Any:
    """A number as YAML writes one: not a boolean, not a quoted string, not infinite."""
    from raydask.errors import describe

    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (remove the quotes)" if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit() else ""
        raise ValueError(f"expected a number, got {describe(value)}{hint}")
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def _whole(value: Any) -> Any:
    """A whole number as YAML writes one: not a boolean or a quoted string; 2.0 is 2."""
    from raydask.errors import describe

    if isinstance(value, bool) or not isinstance(value, int | float):
        hint = " (remove the quotes)" if isinstance(value, str) and value.strip().lstrip("+-").isdigit() else ""
        raise ValueError(f"expected a whole number, got {describe(value)}{hint}")
    return _strict_count(value)


Quantity = Annotated[str, BeforeValidator(_quantity)]
"""A Kubernetes quantity greater than zero, as a string ("2", "500m", "8Gi")."""
Cpu = Annotated[str, BeforeValidator(quantities.check_cpu)]
"""A CPU amount greater than zero: cores ("2", "0.5") or millicores ("500m")."""
Memory = Annotated[str, BeforeValidator(quantities.check_memory)]
"""A memory amount with a unit ("512Mi", "8Gi", "1G"), at least 1Mi."""
Count = Annotated[StrictInt, BeforeValidator(_whole), Field(ge=0, le=INT32_MAX)]
"""A non-negative whole number Kubernetes can store (32 bits)."""
Whole = Annotated[StrictInt, BeforeValidator(_whole)]
"""A whole number (bounds added where it is used)."""
Real = Annotated[float, BeforeValidator(_real)]
"""A number (bounds added where it is used)."""
ClusterName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, naming.RAY_CLUSTER_NAME_MAX))]
"""A DNS-1035 label of at most 53 characters (KubeRay's limit)."""
Label = Annotated[str, AfterValidator(naming.check_dns1035)]
"""A DNS-1035 label of at most 63 characters."""
GROUP_NAME_MAX = naming.LABEL_MAX - len("worker-")
GroupName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, GROUP_NAME_MAX))]
"""A worker group name: a DNS-1035 label of at most 56 characters (its pods carry the label value ``worker-<name>``)."""
Host = Annotated[str, AfterValidator(naming.check_host)]
"""An Ingress host: a DNS name, or a wildcard such as ``*.example.com``."""
Subdomain = Annotated[str, AfterValidator(naming.check_dns1123_subdomain)]
"""A DNS-1123 subdomain (Secret, IngressClass, PriorityClass names)."""
ContainerName = Annotated[str, AfterValidator(naming.check_dns1123_label)]
"""A container name: a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)."""
PortName = Annotated[str, AfterValidator(naming.check_port_name)]
"""A container port name (an IANA service name: at most 15 lower-case letters, digits and '-', with a letter)."""
PinnedImage = Annotated[str, AfterValidator(images.check_pinned)]
"""An image reference with a version tag or digest; ``:latest`` and untagged are rejected."""


def _label_value(value: str) -> str:
    err = naming.label_value_error(value)
    if err:
        raise ValueError(err)
    return value


def _duration(value: str) -> str:
    import re

    if not re.fullmatch(r"0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?", value) or not value:
        raise ValueError(f"'{value}' is not a Prometheus duration such as 30s, 1m or 1h30m")
    return value


LabelValue = Annotated[str, AfterValidator(_label_value)]
"""A Kubernetes label value."""
Duration = Annotated[str, AfterValidator(_duration)]
"""A Prometheus duration such as ``30s`` or ``1m``."""


TYPED_LABELS = {"ray.io/gang-scheduling-enabled": "batchScheduling.gang", "ray.io/priority-class-name":
                "batchScheduling.priorityClassName"}
"""Labels KubeRay reads from a workload that raydask sets from a typed key, by that key."""


def label_problems(labels: Mapping[str, str], where: str, reserved: Iterable[str] = ()) -> list[tuple[Path, str]]:
    """Keys and values the API server refuses in ``labels`` (at ``where``), keys raydask sets from a typed key
    (:data:`TYPED_LABELS`), and keys raydask or an operator sets itself (``reserved``: exact keys or ``prefix/``
    domains)."""
    out: list[tuple[Path, str]] = []
    taken = tuple(reserved)
    for key, value in labels.items():
        if err := naming.qualified_name_error(key):
            out.append(((where, key), err))
        elif key in TYPED_LABELS:
            out.append(((where, key), f"'{key}' is KubeRay's batch-scheduling label on the workload: set it with "
                                      f"{TYPED_LABELS[key]}"))
        elif any(key == r or (r.endswith("/") and key.startswith(r)) for r in taken):
            out.append(((where, key), f"'{key}' is set by raydask or the operator (it selects the pods): use another key"))
        elif err := naming.label_value_error(value):
            out.append(((where, key), err))
    return out


def annotation_problems(annotations: Mapping[str, str], where: str) -> list[tuple[Path, str]]:
    """Annotation keys the API server refuses, those raydask sets from other keys, and annotations over the API
    server's 256 KiB total."""
    out: list[tuple[Path, str]] = [((where, key), err) for key in annotations
                                   if (err := naming.qualified_name_error(key) or reserved_annotation_error(key))]
    size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        out.append((where, f"annotations total {size} bytes; the API server's limit is {ANNOTATIONS_MAX_BYTES}"))
    return out


TOLERATION_OPERATORS = ("Equal", "Exists")


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

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.key and (err := naming.qualified_name_error(self.key)):
            problems.append(("key", err))
        if not self.key and self.operator != "Exists":
            problems.append(("operator", "must be Exists when key is empty (an empty key with Exists tolerates every taint); "
                                         "set the taint's key"))
        if self.operator == "Exists" and self.value:
            problems.append(("value", "must be empty when operator is Exists"))
        if self.operator == "Equal" and self.value and (err := naming.label_value_error(self.value)):
            problems.append(("value", err))
        if self.toleration_seconds is not None and self.effect != "NoExecute":
            problems.append(("tolerationSeconds", "only applies with effect: NoExecute (it is how long a pod stays on a node "
                                                  "tainted NoExecute)"))
        return problems

    def build(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def _volume_name(value: str) -> str:
    return naming.check_dns1123_label(value)


class VolumeSpec(Spec):
    """An extra volume mounted into the main container."""

    name: Annotated[str, AfterValidator(_volume_name)]
    """Volume name (DNS-1123 label: lower-case letters, digits and '-'), unique in the pod; required."""
    mount_path: str
    """Absolute mount path in the container; required."""
    read_only: bool = False
    """Mount read-only; default false."""
    source: dict[str, Any]
    """Exactly one Kubernetes volume source, e.g. ``{persistentVolumeClaim: {claimName: data}}``; required; only the types
    Pod Security "restricted" admits (configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim,
    projected, secret)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if not self.mount_path.startswith("/"):
            problems.append(("mountPath", f"'{self.mount_path}' must be an absolute path (start with '/')"))
        elif ".." in self.mount_path.split("/"):
            problems.append(("mountPath", f"'{self.mount_path}' must not contain '..'"))
        elif ":" in self.mount_path:
            problems.append(("mountPath", f"'{self.mount_path}' must not contain ':'"))
        if len(self.source) != 1:
            problems.append(("source", f"must have exactly one volume type, got {sorted(self.source) or 'none'}"))
        else:
            kind = next(iter(self.source))
            if kind not in ALLOWED_VOLUME_TYPES:
                allowed = sorted(ALLOWED_VOLUME_TYPES)
                problems.append(("source", f"volume type '{kind}' is not allowed by Pod Security 'restricted'; use one of {allowed}"))
            elif not isinstance(self.source[kind], dict):
                problems.append((("source", kind), "expected a mapping of the volume's settings (write {} for the defaults)"))
        return problems


class IngressSpec(Spec):
    """An Ingress in front of a dashboard or endpoint."""

    host: Host | None = None
    """Host name served (a DNS name, or a wildcard such as ``*.example.com``); default none: every host reaching the
    Ingress controller (the URL output is then unknown)."""
    path: str = "/"
    """URL path; default ``/``."""
    path_type: Literal["Prefix", "Exact", "ImplementationSpecific"] = "Prefix"
    """Ingress pathType; default ``Prefix``."""
    class_name: Subdomain | None = None
    """ingressClassName; default the cluster's default class."""
    tls_secret: Subdomain | None = None
    """Secret holding the TLS certificate for ``host``; default none (plain HTTP)."""
    annotations: dict[str, str] = {}
    """Extra annotations (auth, cert-manager issuer…); default none."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *annotation_problems(self.annotations, "annotations")]
        if err := naming.ingress_path_error(self.path, self.path_type):
            problems.append(("path", err))
        return problems


RESERVED_POD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
                       "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by")
"""Labels raydask puts on every pod it declares: its selectors (NetworkPolicies, Services, monitors) depend on them."""


COMPUTE_RESOURCES = ("cpu", "memory", "ephemeral-storage")
"""Resources Kubernetes lets a container request below its limit (besides ``hugepages-*``, which it does not)."""


def _resource_amount(value: Any) -> str:
    return quantities.check(value)


ResourceAmount = Annotated[str, BeforeValidator(_resource_amount)]
"""A Kubernetes quantity greater than zero, for a ``requests`` / ``limits`` entry."""


def resource_problems(requests: Mapping[str, str], limits: Mapping[str, str | None], gpu_resource: str | None,
                      has_cpu_limit: bool) -> list[tuple[Path, str]]:
    """What the API server (or raydask's shorthand) refuses in ``requests`` / ``limits`` entries, key by key."""
    out: list[tuple[Path, str]] = []
    for field, entries in (("requests", requests), ("limits", limits)):
        for name, value in entries.items():
            where: Path = (field, name)
            if name == gpu_resource:
                out.append((where, f"'{name}' is the GPU resource: set gpus (and gpuResource) instead"))
            elif name == "cpu" and field == "limits" and has_cpu_limit:
                out.append((where, "cpuLimit sets the same limit: keep one of them"))
            elif value is None:
                if field == "requests" or name not in ("cpu", "memory"):
                    out.append((where, f"null removes a limit raydask sets (cpu, memory), not '{name}' in {field}"))
            elif err := resource_amount_error(name, value):
                out.append((where, err))
    return out


def resource_amount_error(name: str, value: str) -> str | None:
    """Why ``value`` cannot be an amount of the resource ``name``, or None."""
    try:
        if name == "cpu":
            quantities.check_cpu(value)
        elif name in ("memory", "ephemeral-storage") or name.startswith("hugepages-"):
            quantities.check_memory(value)
        elif err := naming.extended_resource_error(name):
            return f"'{name}' is not a resource: cpu, memory, ephemeral-storage, hugepages-<size> or an extended resource ({err})"
        elif quantities.parse(value) != quantities.parse(value).to_integral_value():
            return f"'{value}': an extended resource is counted in whole units"
    except ValueError as exc:
        return str(exc)
    return None


def resource_order_problems(resources: Mapping[str, Mapping[str, str]], written_limits: Mapping[str, Any],
                            written_requests: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """Requests above limits and unequal requests and limits of resources that cannot be overcommitted, which the API
    server refuses; blamed on the ``limits`` entry when the user wrote the limit but not the request."""
    out: list[tuple[Path, str]] = []
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    for name, request in requests.items():
        limit = limits.get(name)
        overcommit = name in COMPUTE_RESOURCES
        if limit is None:
            if not overcommit:
                out.append((("limits", name), f"'{name}' cannot be overcommitted: Kubernetes needs a limit equal to the "
                                              f"request ({request})"))
        elif quantities.parse(request) > quantities.parse(limit):
            if name in written_limits and name not in written_requests:
                out.append((("limits", name), f"'{limit}' is below the request '{request}' ({name}): a limit is at least "
                                              "the request"))
            else:
                out.append((("requests", name), f"'{request}' is above the limit '{limit}': a request is at most the "
                                                "limit"))
        elif not overcommit and quantities.parse(request) != quantities.parse(limit):
            out.append((("requests", name), f"'{name}' cannot be overcommitted: the request ({request}) must equal the "
                                            f"limit ({limit})"))
    return out


def container_resources(cpu: str, cpu_limit: str | None, memory: str, gpus: int, gpu_resource: str,
                        requests: Mapping[str, str], limits: Mapping[str, str | None]) -> dict[str, dict[str, str]]:
    """A container ``resources`` block: the shorthand (``cpu``, the CPU limit, ``memory``, whole GPUs), then
    ``requests`` and ``limits`` merged over it (a ``None`` limit removed)."""
    req: dict[str, str] = {"cpu": cpu, "memory": memory}
    lim: dict[str, str] = {"memory": memory} if cpu_limit is None else {"cpu": cpu_limit, "memory": memory}
    if gpus:
        req[gpu_resource] = lim[gpu_resource] = str(gpus)
    req |= requests
    for name, value in limits.items():
        if value is None:
            lim.pop(name, None)
        else:
            lim[name] = value
    return {"requests": req, "limits": lim}


class PodSettings(Spec, PodOverrides):
    """Resources, scheduling and overrides shared by every pod group (Ray head, Ray workers, Dask scheduler and workers,
    the RayJob submitter)."""

    cpu: Cpu = "1"
    """CPU request; default ``1``. Also the limit unless ``cpuLimit`` is set."""
    cpu_limit: Cpu | None = None
    """CPU limit; default equal to ``cpu``."""
    memory: Memory = "2Gi"
    """Memory request and limit (equal, as Ray and Dask recommend: a pod above its request is the first the kernel
    evicts under memory pressure; ``requests``/``limits`` make them differ); default ``2Gi``."""
    gpus: Count = 0
    """Whole GPUs per pod (``gpuResource`` request and limit); default 0. GPU nodes are usually tainted with the
    resource's name: the pods tolerate that taint by default (see ``tolerations``)."""
    gpu_resource: str = "nvidia.com/gpu"
    """Extended resource name for GPUs; default ``nvidia.com/gpu``."""
    image: PinnedImage | None = None
    """Container image; default derived from the cluster's version."""
    image_pull_policy: PullPolicy | None = None
    """Image pull policy; default the stack's ``raydask:imagePullPolicy``, else ``Always`` for a tag (the registry may
    move it; Kubernetes' own default for a version tag is ``IfNotPresent``, which keeps running whatever a node pulled
    first), ``IfNotPresent`` for a digest."""
    env: dict[str, str] = {}
    """Extra environment variables; default none."""
    node_selector: dict[str, str] = {}
    """Node selector; default none."""
    tolerations: list[Toleration] = []
    """Tolerations; default none, plus ``{key: <resource>, operator: Exists, effect: NoSchedule}`` for each extended
    resource the pods request (``gpus``' ``nvidia.com/gpu``, ``requests``/``limits`` such as ``example.com/fpga``, also
    in ``sidecars``, ``initContainers`` and ``podPatch``) that these tolerations do not already admit (an ``Exists``
    toleration of that key, or of every key, with effect ``NoSchedule`` or any): what Kubernetes' ExtendedResourceToleration
    admission plugin and GKE add, so the pods land on the nodes tainted with the resource they ask for."""
    affinity: dict[str, Any] | None = None
    """A Kubernetes ``affinity`` object, passed through (checked against the operator CRD's schema); default none."""
    labels: dict[str, str] = {}
    """Extra pod labels; default none."""
    annotations: dict[str, str] = {}
    """Extra pod annotations; default none."""
    volumes: list[VolumeSpec] = []
    """Extra volumes mounted into the main container; default none."""
    service_account: Label | None = None
    """Service account for the pods; default the cluster's (or the namespace default)."""
    priority_class_name: Subdomain | None = None
    """Pod priorityClassName; default none."""
    requests: dict[str, ResourceAmount] = {}
    """Container requests that differ from or add to the shorthand: ``cpu``, ``memory``, ``ephemeral-storage``,
    ``hugepages-<size>`` or an extended resource (``example.com/fpga: 1``), e.g. ``{memory: 4Gi}`` with ``memory: 8Gi``
    for a 4Gi request under an 8Gi limit; default none (the requests are ``cpu``, ``memory`` and ``gpus``)."""
    limits: dict[str, ResourceAmount | None] = {}
    """Container limits that differ from or add to the shorthand; ``null`` removes one (``{cpu: null}``: no CPU limit,
    which the policy pack then accepts for this container); default none (the limits are ``cpuLimit`` or ``cpu``,
    ``memory`` and ``gpus``)."""

    RESERVED_ENV: typing.ClassVar[Mapping[str, str]] = {}
    """Environment variables raydask or the operator set in these pods (or the operator refuses), with why: ``is set by
    KubeRay``."""
    RESERVED_VOLUMES: typing.ClassVar[Mapping[str, str]] = {}
    """(volume name: mount path) raydask mounts into the main container."""
    RESERVED_LABELS: typing.ClassVar[tuple[str, ...]] = RESERVED_POD_LABELS
    RESERVED_CONTAINERS: typing.ClassVar[Mapping[str, str]] = {}
    """Containers the operator adds to these pods, by name, with what they are."""
    DROPPED: typing.ClassVar[str] = schema.DROPPED
    """What happens to passthrough keys the operator CRD's PodSpec does not have."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        cpu_limit_low = self.cpu_limit is not None and quantities.cores(self.cpu_limit) < quantities.cores(self.cpu)
        if cpu_limit_low:
            problems.append(("cpuLimit", f"must be at least cpu ({self.cpu_limit} < {self.cpu})"))
        if err := naming.extended_resource_error(self.gpu_resource):
            problems.append(("gpuResource", err))
        if not naming.extended_resource_error(self.gpu_resource):
            found = resource_problems(self.requests, self.limits, self.gpu_resource, self.cpu_limit is not None)
            ordered = resource_order_problems(self.resources(), self.limits, self.requests)
            problems += found or [p for p in ordered if not (cpu_limit_low and p[0] == ("requests", "cpu"))]  # said
        for key in self.env:
            if err := naming.env_var_name_error(key):
                problems.append((("env", key), err))
            elif key in self.RESERVED_ENV:
                problems.append((("env", key), f"'{key}' {self.RESERVED_ENV[key]}"))
        for key, value in self.node_selector.items():
            if err := naming.qualified_name_error(key) or naming.label_value_error(value):
                problems.append((("nodeSelector", key), err))
        problems += label_problems(self.labels, "labels", self.RESERVED_LABELS)
        problems += annotation_problems(self.annotations, "annotations")
        names: dict[str, int] = {}
        paths: dict[str, int] = {}
        taken_paths = {path: name for name, path in self.RESERVED_VOLUMES.items()}
        for i, v in enumerate(self.volumes):
            if v.name in names:
                problems.append((f"volumes.{i}.name", f"'{v.name}' is already the name of volumes[{names[v.name]}]"))
            elif v.name in self.RESERVED_VOLUMES:
                problems.append((f"volumes.{i}.name", f"'{v.name}' is the name of a volume raydask mounts at "
                                                      f"{self.RESERVED_VOLUMES[v.name]}: choose another"))
            names.setdefault(v.name, i)
            path = v.mount_path.rstrip("/") or "/"
            if path in paths:
                problems.append((f"volumes.{i}.mountPath", f"'{v.mount_path}' is already the mount path of volumes[{paths[path]}]"))
            elif path in taken_paths:
                problems.append((f"volumes.{i}.mountPath", f"raydask mounts its '{taken_paths[path]}' volume at '{path}': "
                                                           "choose another path"))
            paths.setdefault(path, i)
        if err := validation.priority_class_error(self.priority_class_name):
            problems.append(("priorityClassName", err))
        embedded = self.embedded_problems()
        problems += embedded
        for i, v in enumerate(self.volumes):  # the API server's rules, where the schema found nothing
            if len(v.source) == 1 and isinstance(next(iter(v.source.values())), dict) and \
                    not any(tuple(p)[:4] == ("volumes", i, "source", next(iter(v.source))) for p, _ in embedded):
                kind, settings = next(iter(v.source.items()))
                problems += [(("volumes", i, "source", kind, *path), message)
                             for path, message in validation.volume_source_issues(kind, settings)]
        problems += self.override_problems(self.env, self.RESERVED_ENV,
                                           self.embedded_pod_spec() if self.overridden else None, self.DROPPED,
                                           self.RESERVED_CONTAINERS)
        return problems

    def embedded_pod_spec(self) -> dict[str, Any] | None:
        """The PodSpec schema the operator's CRD embeds this group's pods in (None when unknown)."""
        return None

    def embedded_problems(self) -> list[tuple[Path, str]]:
        """Passthrough input (``affinity``, volume sources) the embedded PodSpec refuses or would drop."""
        out: list[tuple[Path, str]] = []
        if self.affinity:
            out += [(("affinity", *path), message) for path, message in schema.affinity_issues(self.affinity)]
        if not self.affinity and not self.volumes:
            return out
        spec = self.embedded_pod_spec()
        if spec is None:
            return out
        props = spec.get("properties") or {}
        if self.affinity and "affinity" in props:
            found = [(("affinity", *path), message)
                     for path, message in schema.issues(self.affinity, props["affinity"], dropped=self.DROPPED)]
            # what the schema refuses hides the API server's rules on the same keys
            out = found + [p for p in out if not any(p[0][:len(f[0])] == f[0] for f in found)]
        volume = ((props.get("volumes") or {}).get("items") or {}).get("properties") or {}
        for i, v in enumerate(self.volumes):
            if len(v.source) == 1:
                kind, settings = next(iter(v.source.items()))
                if kind in volume and isinstance(settings, dict):
                    out += [(("volumes", i, "source", kind, *path), message)
                            for path, message in schema.issues(settings, volume[kind], dropped=self.DROPPED)]
        return out

    def resources(self) -> dict[str, Any]:
        """The container ``resources`` block: the shorthand, then ``requests`` and ``limits`` merged over it."""
        return container_resources(self.cpu, self.cpu_limit or self.cpu, self.memory, self.gpus, self.gpu_resource,
                                   self.requests, self.limits)

    @property
    def removed_limits(self) -> list[str]:
        """Limits ``limits`` removes on purpose (``{cpu: null}``)."""
        return [name for name, value in self.limits.items() if value is None]

    def limit(self, resource: str) -> str | None:
        """The container's limit of ``resource`` (``cpu``, ``memory``), None when it has none."""
        value = self.resources()["limits"].get(resource)
        return None if value is None else str(value)

    def request(self, resource: str) -> str:
        """The container's request of ``resource`` (``cpu``, ``memory``): the request, else the limit."""
        res = self.resources()
        return str(res["requests"].get(resource) or res["limits"][resource])


class WaitSpec(Spec):
    """Whether ``pulumi up`` waits until the operator reports the cluster ready."""

    enabled: bool = True
    """Wait after creating the cluster, and again after each replacement (never after an update in place); default
    true. On timeout the update fails, naming the cluster, with the operator's warning events and the state it
    reached."""
    timeout_seconds: Annotated[Whole, Field(ge=1, le=86400)] = 600
    """How long to wait; default 600. A change of the wait alone applies at the cluster's next creation."""


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


def with_pull_policy(model: M, policy: str | None) -> M:
    """``model`` with every nested ``image_pull_policy`` left unset (its own included) set to ``policy``: the stack's
    ``raydask:imagePullPolicy`` as the default of every image raydask renders. Unchanged when ``policy`` is None."""
    if policy is None:
        return model
    updates: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            new: Any = with_pull_policy(value, policy)
        elif isinstance(value, list) and any(isinstance(v, BaseModel) for v in value):
            new = [with_pull_policy(v, policy) if isinstance(v, BaseModel) else v for v in value]
            new = value if all(a is b for a, b in zip(new, value, strict=True)) else new
        elif name == "image_pull_policy" and value is None:
            new = policy
        else:
            continue
        if new is not value:
            updates[name] = new
    return model.model_copy(update=updates) if updates else model


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


__all__ = ["IngressSpec", "MonitoringSpec", "PodSettings", "Spec", "Toleration", "VolumeSpec", "WaitSpec"]
