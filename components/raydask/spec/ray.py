"""RayCluster specs: head, worker groups, autoscaling, exposure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, Field

from raydask import facts
from raydask.errors import Path
from raydask.k8s import images, naming, quantities, schema
from raydask.k8s.ports import RayPorts
from raydask.k8s.security import API_TOKEN_PATH, API_TOKEN_VOLUME, RAY_WRITABLE
from raydask.spec.base import (
    ClusterName,
    ContainerName,
    Count,
    Cpu,
    GroupName,
    IngressSpec,
    Label,
    LabelValue,
    Memory,
    PinnedImage,
    PodSettings,
    PortName,
    PullPolicy,
    Real,
    ResourceAmount,
    Spec,
    Subdomain,
    WaitSpec,
    annotation_problems,
    container_resources,
    label_problems,
    resource_order_problems,
    resource_problems,
)
from raydask.spec.companions import Companions
from raydask.spec.kuberay import KUBERAY_CHART
from raydask.spec.needs import Needs, release, unmet
from raydask.spec.operators import operator_version
from raydask.spec.security import (
    AUTH_NEEDS,
    AuthSpec,
    GcsFaultToleranceSpec,
    NetworkPolicySpec,
    Port,
    SecretKeySpec,
    gcs_problems,
    plaintext_problems,
)
from raydask.spec.versions import DEFAULT_RAY_VERSION, KUBERAY_VERSION


def _ray_version(value: str) -> str:
    if not re.fullmatch(r"\d+\.\d+\.\d+", value):
        raise ValueError(f"'{value}' is not a Ray release such as '2.60.0' (major.minor.patch)")
    return value


RayVersion = Annotated[str, AfterValidator(_ray_version)]
"""A Ray release such as ``2.60.0``."""
AUTOSCALER_V2_NEEDS = Needs(ray="2.47.0", what="the v2 autoscaler", when=lambda v: v == "v2")
"""What ``autoscaling.version: v2`` needs (raydask's default autoscaler on the Ray releases that have it)."""
PRIORITY_NEEDS = Needs(kuberay="1.7.0", crd="workerGroupSpecs[].priority", ray="2.56.0", what="a worker group's priority")
"""What a worker group's ``priority`` needs (Ray's v2 autoscaler reads it from that release on)."""
RAY_ENV: dict[str, str] = {
    "HOME": "is set by raydask to /tmp, the writable home of Ray's read-only containers",
    **{name: "is set by KubeRay" for name in ("RAY_CLUSTER_NAME", "RAY_CLOUD_INSTANCE_ID", "RAY_NODE_TYPE_NAME",
                                              "KUBERAY_GEN_RAY_START_CMD", "FQ_RAY_IP", "RAY_IP", "RAY_USAGE_STATS_EXTRA_TAGS")},
    "RAY_enable_autoscaler_v2": "is refused by KubeRay next to autoscaling: use autoscaling.version",
    "RAY_REDIS_ADDRESS": "is refused by KubeRay: use gcsFaultTolerance.redisAddress",
    "REDIS_USERNAME": "is refused by KubeRay",
}
"""Environment variables of Ray containers raydask or KubeRay set, or KubeRay refuses, with why."""
RAY_START_PARAMS: dict[str, str] = {
    "labels": "is refused by KubeRay: use the group's labels",
    "redis-username": "is refused by KubeRay",
    "metrics-export-port": "is set by raydask: the metrics Service and monitors use port 8080",
    "dashboard-host": "is set by raydask to 0.0.0.0, so Services reach the dashboard",
    "block": "is set by KubeRay (it adds --block itself)",
    "address": "is set by KubeRay (the head's address)",
    "port": "is set by KubeRay (the GCS port, 6379)",
}
"""``ray start`` parameters raydask or KubeRay set (or KubeRay refuses), with the reason."""
KUBERAY_CONTAINERS: dict[str, str] = {
    "autoscaler": "the autoscaler sidecar of an autoscaled cluster's head",
    "ray-job-submitter": "the submitter container of a SidecarMode RayJob's head",
    "ray-history-collector": "the history-server collector sidecar (historyServer)",
    "wait-gcs-ready": "the init container of worker pods",
    "wait-for-tls-ip-san": "the init container of every pod with tls",
}
"""Containers KubeRay adds to Ray pods, by name, with where: a Ray container of the same name makes the pod invalid."""
TLS_ENV = ("RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY", "RAY_TLS_CA_CERT")
"""Environment variables KubeRay sets in every Ray container (and the autoscaler) of a cluster with ``tls``; it refuses
the cluster when they are set by hand."""
TLS_VOLUME = ("ray-tls", "/etc/ray/tls")
"""(volume name, mount path) of the certificates KubeRay mounts into the Ray containers of a cluster with ``tls``."""
COLLECTOR_ENV: dict[str, str] = {name: "is set by KubeRay" for name in (
    "POD_IP", "RAY_CLUSTER_NAME", "RAY_CLUSTER_NAMESPACE", "RAY_ROLE", "EVENTS_PORT", "FQ_RAY_IP", "OWNER_KIND", "OWNER_NAME",
    "RAY_AUTH_TOKEN", "RAY_AUTH_MODE")}
"""Environment variables KubeRay sets in the history-server collector sidecar."""


NVIDIA_GPU = "nvidia.com/gpu"
"""The GPU resource whose groups default to Ray's CUDA image (``-gpu``)."""


def embedded_pod_spec_schema() -> dict[str, Any]:
    """The PodSpec schema the RayCluster CRD embeds, of the KubeRay version the spec runs on (the stack's
    ``raydask:kuberay.version``, else the default; shared: do not modify)."""
    return facts.schema(KUBERAY_CHART, operator_version(KUBERAY_CHART, KUBERAY_VERSION), "podSpec")


class RayGroup(PodSettings):
    """Settings common to the head and worker groups."""

    cpu: Cpu = "1"
    """CPU request; default ``1``. Also the limit unless ``cpuLimit`` is set."""
    memory: Memory = "2Gi"
    """Memory request and limit (equal, as Ray and Dask recommend; ``requests``/``limits`` make them differ); default ``2Gi``."""
    ray_start_params: dict[str, str] = {}
    """Extra ``ray start`` parameters (values are strings); default none."""
    shm_fraction: Annotated[Real, Field(gt=0, le=1)] = 0.3
    """Size of the memory-backed ``/dev/shm`` as a fraction of ``memory``; default 0.3 (Ray's object store share)."""
    ray_resources: Annotated[dict[str, str], Needs(
        kuberay="1.5.0", crd="headGroupSpec.resources and workerGroupSpecs[].resources")] = {}
    """Ray's logical resources of each pod, apart from the container's (the group's ``resources``):
    ``{CPU: "8", GPU: "0", TPU: "4", memory: 16Gi, accelerator_x: "1"}``. They replace what KubeRay and Ray's autoscaler
    derive from the container and ``rayStartParams``; default derived from the container."""
    ray_labels: Annotated[dict[str, str], Needs(
        kuberay="1.5.0", crd="headGroupSpec.labels and workerGroupSpecs[].labels")] = {}
    """Ray node labels of each pod (the group's ``labels``) for label-based scheduling; default none."""

    RESERVED_ENV: ClassVar[dict[str, str]] = RAY_ENV
    RESERVED_VOLUMES: ClassVar[dict[str, str]] = {**dict(RAY_WRITABLE), API_TOKEN_VOLUME: API_TOKEN_PATH}
    RESERVED_LABELS: ClassVar[tuple[str, ...]] = (*PodSettings.RESERVED_LABELS, "ray.io/")
    RESERVED_CONTAINERS: ClassVar[dict[str, str]] = naming.KUBERAY_CONTAINERS

    def problems(self) -> list[tuple[Path, str]]:
        # The autoscaler and the raylet trust num-cpus / num-gpus over the container: a mismatch over- or under-packs pods.
        problems = super().problems()
        if any(str(path[0] if isinstance(path, tuple) else path).split(".")[0] in ("requests", "limits")
               for path, _ in problems):
            return problems  # the CPU count below needs valid resources
        cpus = quantities.whole_cores(self.limit("cpu") or self.request("cpu"))
        for key in self.ray_start_params:
            if err := ray_start_param_error(key):
                problems.append((("rayStartParams", key), err))
        for key, reason in RAY_START_PARAMS.items():
            if key in self.ray_start_params:
                problems.append((("rayStartParams", key), f"'{key}' {reason}"))
        problems += self._ray_resource_problems() + self._container_name_problems()
        for key, have, what in (("num-cpus", cpus, "the CPU limit (else request) rounded up"), ("num-gpus", self.gpus, "gpus")):
            value = self.ray_start_params.get(key)
            if value is None or self.ray_resources:
                continue
            if not value.isdigit():
                problems.append((("rayStartParams", key), f"must be a whole number, got '{value}'"))
            elif int(value) not in (0, have):
                problems.append((("rayStartParams", key), f"'{value}' disagrees with {what} ({have}); leave it out (raydask "
                                                          "derives it) or set \"0\" to keep tasks off these pods"))
        memory = self.ray_start_params.get("memory")
        if memory is not None and not memory.isdigit():
            problems.append((("rayStartParams", "memory"), f"must be a whole number of bytes, got '{memory}'"))
        extra = self.ray_start_params.get("resources")
        if extra is not None and not self.ray_resources:
            problems += _custom_resources(extra)
        return problems

    def _container_name_problems(self) -> list[tuple[Path, str]]:
        name = getattr(self, "container_name", None)
        if name in KUBERAY_CONTAINERS:
            return [("containerName", f"'{name}' is the name of a container KubeRay adds ({KUBERAY_CONTAINERS[name]}): "
                                      "choose another")]
        return []

    def _ray_resource_problems(self) -> list[tuple[Path, str]]:
        out: list[tuple[Path, str]] = []
        if self.ray_resources:
            for key in ("num-cpus", "num-gpus", "memory", "resources"):
                if key in self.ray_start_params:
                    out.append((("rayStartParams", key), f"'{key}' is replaced by rayResources (KubeRay and Ray's autoscaler "
                                                         "use only that): declare every Ray resource there"))
        for name, value in self.ray_resources.items():
            try:
                amount = quantities.parse(quantities.check(value, positive=False))
            except ValueError as exc:
                out.append((("rayResources", name), str(exc)))
                continue
            if name not in ("memory", "CPU", "GPU") and amount != amount.to_integral_value():
                out.append((("rayResources", name), f"'{value}': Ray counts custom resources in whole units"))
        for key, value in self.ray_labels.items():
            if err := naming.qualified_name_error(key) or naming.label_value_error(value):
                out.append((("rayLabels", key), err))
        return out

    def embedded_pod_spec(self) -> dict[str, Any] | None:
        return embedded_pod_spec_schema()


def ray_start_param_error(key: str) -> str | None:
    """Why ``key`` is not a ``ray start`` option name as KubeRay writes it (``--<key>=<value>``), or None."""
    bare = key.lstrip("-").replace("_", "-")
    if re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", bare) and bare != key:
        why = ("KubeRay writes each key as --<key>=<value> (it adds the '--' itself)" if key.startswith("-") else
               "ray start options join words with '-', not '_'")
        return f"'{key}' is not an option name as rayStartParams takes it: {why}; write {bare}"
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key):
        return (f"'{key}' is not a ray start option name: lower-case words joined by '-', as `ray start --help` lists them "
                "(num-cpus, object-store-memory…), without the leading '--'")
    return None


def _custom_resources(text: str) -> list[tuple[Path, str]]:
    """``rayStartParams.resources`` as Ray's autoscaler reads it: a JSON object of whole numbers inside an extra pair of
    quotes (``'"{\\"TPU\\": 4}"'`` in YAML), which it unwraps by dropping the first and last character."""
    import json

    where: Path = ("rayStartParams", "resources")
    form = "a JSON object of whole numbers inside quotes, as Ray's autoscaler reads it: write resources: '\"{\\\"TPU\\\": 4}\"'"
    try:
        value = json.loads(text[1:-1].replace("\\", ""))
    except ValueError:
        return [(where, f"'{text}' is not {form}")]
    if not isinstance(value, dict) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()):
        return [(where, f"'{text}' is not {form}")]
    taken = sorted({"CPU", "GPU", "memory", "object_store_memory"} & set(value))
    if taken:
        return [(where, f"{taken} are Ray's own resources: set them with cpu, gpus and memory")]
    return []


class ServicePortSpec(Spec):
    """One more port of a Service KubeRay creates."""

    name: Label
    """Port name (a DNS label, unique in the Service); required."""
    port: Port
    """Service port; required."""
    target_port: Port | Label | None = None
    """Container port (number or name); default ``port``."""
    protocol: Literal["TCP", "UDP", "SCTP"] = "TCP"
    """Protocol; default ``TCP``."""


class ServiceSettingsSpec(Spec):
    """Settings of a Service KubeRay creates from its template (``headGroupSpec.headService``, ``serveService``): it
    keeps its own selector, labels and ports and adds these."""

    name: ClusterName | None = None
    """Service name; default KubeRay's (``<cluster>-head-svc``, ``<service>-serve-svc``). raydask's Ingresses, monitors
    and outputs follow it."""
    labels: dict[str, str] = {}
    """Extra labels; default none."""
    annotations: dict[str, str] = {}
    """Extra annotations (cloud load balancer settings…); default none."""
    extra_ports: list[ServicePortSpec] = []
    """More ports (head Service only: KubeRay keeps only ``serve`` on the Serve Service); default none."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *label_problems(self.labels, "labels", ("ray.io/",)),
                    *annotation_problems(self.annotations, "annotations")]
        taken = {name: port for name, port in RayPorts.head() if name not in (RayPorts.GCS_NAME, RayPorts.SERVE_NAME)}
        names: dict[str, int] = {}
        for i, p in enumerate(self.extra_ports):
            if p.name in taken:
                problems.append((f"extraPorts.{i}.name", f"'{p.name}' is a port KubeRay adds itself (port {taken[p.name]}): "
                                                         "choose another name"))
            elif p.name in names:
                problems.append((f"extraPorts.{i}.name", f"'{p.name}' is already the name of extraPorts[{names[p.name]}]"))
            elif p.port in taken.values():
                problems.append((f"extraPorts.{i}.port", f"{p.port} is a port KubeRay adds itself: choose another"))
            names.setdefault(p.name, i)
        return problems

    def template(self, ports: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
        """The Service template KubeRay fills in; ``ports`` (name, port) first (KubeRay keeps its own anyway)."""
        metadata: dict[str, Any] = {}
        if self.name:
            metadata["name"] = self.name
        if self.labels:
            metadata["labels"] = dict(self.labels)
        if self.annotations:
            metadata["annotations"] = dict(self.annotations)
        listed: list[dict[str, Any]] = [{"name": name, "port": number} for name, number in ports]
        listed += [{"name": p.name, "port": p.port, "protocol": p.protocol,
                    **({"targetPort": p.target_port} if p.target_port is not None else {})} for p in self.extra_ports]
        return {"metadata": metadata, "spec": {"ports": listed} if listed else {}}


SERVE_SERVICE_FIXED = {
    "selector": "KubeRay selects the pods serving traffic itself",
    "externalIPs": "it exposes Serve outside the cluster past the Service type: use type LoadBalancer or NodePort",
}
"""``serveService.spec`` fields raydask refuses, with why."""


def is_serving_port(name: object) -> bool:
    """KubeRay's serving port names (``isServingPort``): ``serve`` and ``serve-*`` (``serve-grpc``)."""
    return isinstance(name, str) and (name == RayPorts.SERVE_NAME or name.startswith(f"{RayPorts.SERVE_NAME}-"))


class ServeServiceSpec(ServiceSettingsSpec):
    """The Serve Service KubeRay creates for a RayService (``serveService``): its name, labels and annotations, and the
    ServiceSpec fields KubeRay keeps (``spec``)."""

    spec: dict[str, Any] = {}
    """ServiceSpec fields of the Serve Service, checked against the RayService CRD's schema: ``type`` (default the head's
    ``serviceType``), ``loadBalancerSourceRanges``, ``externalTrafficPolicy``, ``sessionAffinity``…, and ``ports`` of the
    serving ports to define further (``serve`` or a head ``extraPorts`` entry named ``serve-…``, e.g. its
    ``appProtocol``); not ``selector`` or ``externalIPs``; default none (KubeRay's)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        problems += [(("spec", key), f"is refused: {why}") for key, why in SERVE_SERVICE_FIXED.items() if key in self.spec]
        ports = self.spec.get("ports")
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            name = port.get("name") if isinstance(port, dict) else None
            if not is_serving_port(name):
                problems.append((("spec", "ports", i, "name"), f"KubeRay keeps only serving ports on the Serve Service (named "
                                                              f"'serve' or 'serve-…', as the head container declares them) and "
                                                              f"drops '{name}': name one of those, or expose the port on the "
                                                              "head Service (cluster.head.service.extraPorts)"))
        kind = self.spec.get("type")
        if kind is not None and kind not in ("ClusterIP", "NodePort", "LoadBalancer"):
            problems.append((("spec", "type"), f"expected ClusterIP, NodePort or LoadBalancer, got {kind!r}"))
        ranges = self.spec.get("loadBalancerSourceRanges")
        problems += [(("spec", "loadBalancerSourceRanges", i), err) for i, cidr in enumerate(ranges if isinstance(ranges, list) else [])
                     if isinstance(cidr, str) and (err := naming.cidr_error(cidr, strict=False))]
        if self.spec:
            service = facts.schema(KUBERAY_CHART, operator_version(KUBERAY_CHART, KUBERAY_VERSION), "serveServiceSpec")
            problems += [(("spec", *path), message) for path, message in schema.issues(self.spec, service, partial=True)]
        return problems

    @property
    def type(self) -> str | None:
        """The Service type the spec sets, None for KubeRay's default (the head's ``serviceType``)."""
        value = self.spec.get("type")
        return value if isinstance(value, str) else None

    def template(self, ports: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
        """``serveService``: the metadata, ``spec`` merged over the serving ``ports`` (by name, as KubeRay merges them)."""
        out = super().template(ports)
        if self.spec:
            given = {p["name"]: p for p in self.spec.get("ports") or [] if isinstance(p, dict)}
            listed = [{**p, **given.get(p["name"], {})} for p in out["spec"].get("ports", [])]
            listed += [p for name, p in given.items() if name not in {q["name"] for q in listed}]
            out["spec"] = {**{k: v for k, v in self.spec.items() if k != "ports"}, **({"ports": listed} if listed else {})}
        return out


class HeadSpec(RayGroup):
    """The Ray head pod."""

    container_name: ContainerName = "ray-head"
    """Name of the Ray container (KubeRay takes the first container as Ray's, whatever its name); default ``ray-head``,
    as KubeRay's samples name it."""
    gcs_port_name: PortName = RayPorts.GCS_NAME
    """Name of the head container's GCS port, 6379 (KubeRay's samples use ``gcs-server``, ``gcs`` or ``redis``; KubeRay
    copies it to the head Service, where clients find it by name); default ``gcs-server``, KubeRay's own."""
    serve_port: Port = RayPorts.SERVE
    """Ray Serve's HTTP port, declared as the port ``serve`` of the head (and, when not 8000, of every worker): KubeRay
    routes the Serve Service to it and probes Serve's proxies there, a RayService's Serve config listens on it, and
    raydask's NetworkPolicies admit it; default 8000, Serve's own."""
    schedulable: bool = True
    """Run tasks on the head; default true. Set false on large clusters (emits ``num-cpus: "0"``)."""
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    """Type of the head Service KubeRay creates; default ``ClusterIP``."""
    service: ServiceSettingsSpec | None = None
    """Name, labels, annotations and more ports of the head Service KubeRay creates (``headService``); default
    KubeRay's. KubeRay adds every named port of the head container (``extraPorts`` too) to it by itself."""

    def ports(self) -> list[tuple[str, int]]:
        """(name, port) pairs raydask declares on the head container."""
        return RayPorts.head(self.gcs_port_name, self.serve_port)

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        fixed = {name: port for name, port in RayPorts.head() if name != RayPorts.GCS_NAME}
        if self.gcs_port_name in fixed:
            problems.append(("gcsPortName", f"'{self.gcs_port_name}' is the name of the head's port {fixed[self.gcs_port_name]}: "
                                            "choose another"))
        taken = {port: name for name, port in RayPorts.head() if name != RayPorts.SERVE_NAME}
        if self.serve_port in taken:
            problems.append(("servePort", f"{self.serve_port} is the head's port '{taken[self.serve_port]}': choose another"))
        own = self.ports()
        for i, port in enumerate(self.extra_ports):
            if not isinstance(port, dict):
                continue
            same = next(((n, number) for n, number in own if port.get("containerPort") == number), None)
            if same is not None:
                hint = " (to name the GCS port otherwise, set gcsPortName)" if same[1] == RayPorts.GCS else \
                    " (to move Serve, set servePort)" if same[0] == RayPorts.SERVE_NAME else ""
                problems.append((("extraPorts", i, "containerPort"), f"{same[1]} is the head's port '{same[0]}': KubeRay copies "
                                                                    "the head container's named ports to the head Service, "
                                                                    f"which refuses two ports of one number{hint}"))
            elif port.get("name") in dict(own):
                problems.append((("extraPorts", i, "name"), f"'{port.get('name')}' is the name of the head's port "
                                                           f"{dict(own)[port['name']]}: choose another"))
        container = {p.get("name") for p in self.extra_ports if isinstance(p, dict)}
        named = [name for name, _ in RayPorts.head()] + sorted(str(n) for n in container if n)
        for i, p in enumerate(self.service.extra_ports if self.service else []):
            if p.name in (self.gcs_port_name, RayPorts.SERVE_NAME) or p.port in (RayPorts.GCS, self.serve_port):
                problems.append((f"service.extraPorts.{i}", f"'{p.name}' ({p.port}) is a port of the head container, which "
                                                            "KubeRay adds to the head Service itself: choose another"))
                continue
            if p.name in container:
                problems.append((f"service.extraPorts.{i}.name", f"'{p.name}' is a port of the head container (extraPorts), "
                                                                 "which KubeRay adds to the head Service itself: leave it out"))
            elif isinstance(p.target_port, str) and p.target_port not in named:
                problems.append((f"service.extraPorts.{i}.targetPort", f"'{p.target_port}' names no port of the head "
                                                                       f"container ({', '.join(named)}): the Service would send "
                                                                       "its traffic nowhere; name one of them, give a number, "
                                                                       "or add the port with extraPorts"))
        return problems


class WorkerGroupSpec(RayGroup):
    """A named group of Ray worker pods."""

    name: GroupName
    """Group name (DNS-1035 label of at most 56 characters, unique in the cluster); required."""
    container_name: ContainerName = "ray-worker"
    """Name of the Ray container (KubeRay takes the first container as Ray's, whatever its name); default
    ``ray-worker``, as KubeRay's samples name it."""
    replicas: Count = 1
    """Replica count; default 1. In an autoscaled cluster, the count the group starts with (a warm start, between
    ``minReplicas`` and ``maxReplicas``; default ``minReplicas``), applied once, when the RayCluster is created (or
    when autoscaling is turned on), and never again: the autoscaler owns the count from then on, and a later change of
    ``replicas`` is not applied."""
    min_replicas: Count | None = None
    """Autoscaler lower bound; default ``replicas``."""
    max_replicas: Count | None = None
    """Autoscaler upper bound; default ``replicas``."""
    idle_timeout_seconds: Count | None = None
    """Per-group idle timeout overriding the cluster's; default the cluster's."""
    priority: Annotated[Annotated[int, Field(ge=-(2**31), le=2**31 - 1)] | None, PRIORITY_NEEDS] = None
    """Scale-up preference when several groups fit the same demand (higher first; read by the v2 autoscaler); default
    KubeRay's 0."""
    num_of_hosts: Annotated[Count, Field(ge=1)] | None = None
    """Pods per replica (``numOfHosts``: a multi-host TPU slice is one replica of several pods; the autoscaler scales
    whole replicas); default 1."""
    retired: bool = False
    """Sized 0 (``replicas``, ``minReplicas`` and ``maxReplicas`` 0, none of them set here), the first step of removing
    or renaming a group of a running RayCluster: KubeRay deletes its pods (in an autoscaled cluster the Ray autoscaler
    drains them); once they are gone, remove the entry. A group that was not retired cannot leave a RayCluster (its pods
    would keep running: KubeRay reconciles only the groups in the spec); default false."""

    @property
    def min(self) -> int:
        if self.retired:
            return 0
        return self.replicas if self.min_replicas is None else self.min_replicas

    @property
    def max(self) -> int:
        if self.retired:
            return 0
        return self.replicas if self.max_replicas is None else self.max_replicas

    @property
    def count(self) -> int:
        """The replica count raydask applies without autoscaling (0 once retired)."""
        return 0 if self.retired else self.replicas

    def problems(self) -> list[tuple[Path, str]]:
        if self.retired:
            sized = [k for k, f in (("replicas", "replicas"), ("minReplicas", "min_replicas"), ("maxReplicas", "max_replicas"))
                     if f in self.model_fields_set]
            return [*super().problems(), *[(k, "a retired group is sized 0: remove it") for k in sized]]
        explicit = self.replicas if "replicas" in self.model_fields_set else None
        return [*super().problems(), *replica_problems(explicit, self.min_replicas, self.max_replicas)]


def replica_problems(replicas: int | None, low: int | None, high: int | None, default: int = 1) -> list[tuple[Path, str]]:
    """``minReplicas`` ≤ ``replicas`` ≤ ``maxReplicas`` (a bound not set is ``replicas``, ``default`` when not set
    either), each problem on a key that was set."""
    count = default if replicas is None else replicas
    lo = count if low is None else low
    hi = count if high is None else high
    if lo > hi:
        if low is not None and high is not None:
            return [("minReplicas", f"must be ≤ maxReplicas ({low} > {high})")]
        if low is not None:
            return [("minReplicas", f"must be ≤ maxReplicas ({low} > {hi}: maxReplicas defaults to replicas, {count})")]
        return [("maxReplicas", f"must be ≥ minReplicas ({high} < {lo}: minReplicas defaults to replicas, {count})")]
    if replicas is not None and replicas < lo:
        return [("replicas", f"must be ≥ minReplicas ({replicas} < {lo})")]
    if replicas is not None and replicas > hi:
        return [("replicas", f"must be ≤ maxReplicas ({replicas} > {hi})")]
    return []


class AutoscalingSpec(Spec):
    """KubeRay in-tree autoscaling (``enableInTreeAutoscaling`` + ``autoscalerOptions``)."""

    enabled: bool = True
    """Run the Ray autoscaler sidecar; default true when the key is present."""
    idle_timeout_seconds: Count = 60
    """Seconds an idle worker lives before scale-down; default 60."""
    upscaling_mode: Literal["Default", "Aggressive", "Conservative"] = "Default"
    """Upscaling speed; default ``Default``."""
    version: Annotated[Literal["v1", "v2"] | None, AUTOSCALER_V2_NEEDS] = None
    """Autoscaler version; default ``v2`` on the Ray releases that have it, else ``v1`` (KubeRay's default is ``v1``;
    Ray recommends v2: it scales per pod and handles idle nodes and restarts better)."""
    cpu: Cpu = "500m"
    """Autoscaler container CPU request and limit; default ``500m``."""
    memory: Memory = "512Mi"
    """Autoscaler container memory request and limit; default ``512Mi``."""
    requests: dict[str, ResourceAmount] = {}
    """Autoscaler container requests that differ from ``cpu`` / ``memory`` (``{cpu: 200m}``); default none."""
    limits: dict[str, ResourceAmount | None] = {}
    """Autoscaler container limits that differ from ``cpu`` / ``memory``; ``null`` removes one; default none."""
    image: PinnedImage | None = None
    """Autoscaler image; default the head's (KubeRay's default too)."""
    image_pull_policy: PullPolicy | None = None
    """Autoscaler image pull policy; default the head's (with the head's image)."""
    env: dict[str, str] = {}
    """Extra environment variables of the autoscaler container (``AUTOSCALER_LOG_LEVEL``…); default none."""
    env_from: list[dict[str, Any]] = []
    """Autoscaler ``envFrom`` (ConfigMaps and Secrets as environment); default none."""
    command: Annotated[Annotated[list[str], Field(min_length=1)] | None,
                       Needs(kuberay="1.7.0", crd="autoscalerOptions.command")] = None
    """Autoscaler container ``command``; default KubeRay's, ``["/bin/bash", "-c", "--"]``."""
    args: Annotated[Annotated[list[str], Field(min_length=1)] | None, Needs(kuberay="1.7.0", crd="autoscalerOptions.args")] = None
    """Autoscaler container ``args``; default KubeRay's, one shell script that runs ``ray
    kuberay-autoscaler`` for this cluster. KubeRay keeps that command in the container's
    ``$KUBERAY_GEN_AUTOSCALER_START_CMD``: ``args: ["ulimit -n 65536; $KUBERAY_GEN_AUTOSCALER_START_CMD"]`` runs it after a
    command of your own."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.args is not None and len(self.args) > 1 and self.command is None:
            problems.append(("args", f"{len(self.args)} arguments under KubeRay's default command (/bin/bash -c --) run only the "
                                     "first, as a shell script (the others become its $0, $1…): join them into one string, "
                                     "or set command too"))
        for key in self.env:
            if err := naming.env_var_name_error(key):
                problems.append((("env", key), err))
            elif key == "HOME":
                problems.append((("env", key), "'HOME' is set by raydask (the autoscaler's writable home)"))
            elif key == "KUBERAY_GEN_AUTOSCALER_START_CMD":
                problems.append((("env", key), f"'{key}' is set by KubeRay (the autoscaler's own start command)"))
        if self.env_from:
            pod_spec = embedded_pod_spec_schema()
            container = pod_spec["properties"]["containers"]["items"]["properties"]
            problems += [(("envFrom", *path), message) for path, message in schema.issues(self.env_from, container["envFrom"])]
        if found := resource_problems(self.requests, self.limits, None, False):
            return problems + found
        return problems + resource_order_problems(self.resources(), self.limits, self.requests)

    @property
    def removed_limits(self) -> list[str]:
        """Limits ``limits`` removes on purpose."""
        return [name for name, value in self.limits.items() if value is None]

    def resources(self) -> dict[str, Any]:
        """The autoscaler container's ``resources``."""
        return container_resources(self.cpu, self.cpu, self.memory, 0, "", self.requests, self.limits)


class TlsSpec(Spec):
    """Mutual TLS between the cluster's Ray processes, RayCluster ``tlsOptions``.

    KubeRay has cert-manager issue a certificate authority of the cluster's own (a self-signed Issuer
    ``ray-selfsigned-issuer-<cluster>``, a CA Certificate ``ray-ca-certificate-<cluster>`` in Secret
    ``<cluster>-ca-secret-<uid>``, an Issuer ``ray-ca-issuer-<cluster>``) and head and worker certificates (Secrets
    ``ray-head-secret-<cluster>`` and ``ray-worker-secret-<cluster>``) whose IP SANs it keeps up to date as pods come and
    go. It mounts them at ``/etc/ray/tls`` (volume ``ray-tls``) into the Ray containers, the autoscaler and the
    ``wait-gcs-ready`` init container, sets ``RAY_USE_TLS=1``, ``RAY_TLS_SERVER_CERT``, ``RAY_TLS_SERVER_KEY`` and
    ``RAY_TLS_CA_CERT`` there, and puts an init container ``wait-for-tls-ip-san`` (the Ray image, running ``openssl``)
    first in every pod, which waits until the certificate names the pod's IP. It creates no pod before the certificates
    are issued.

    Needs: the operator's ``RayClusterMTLS`` feature gate (``raydask:kuberay.featureGates: {RayClusterMTLS: true}``;
    without it KubeRay refuses the cluster); cert-manager installed in the cluster before the operator starts (the
    operator looks for it at start-up; without it it refuses the cluster: restart the operator after installing
    cert-manager); a Ray image with ``sh`` and ``openssl`` (``rayproject/ray`` has both). Every gRPC port then speaks
    mutual TLS, the Ray client (10001, ``ray://``) too: a client outside the cluster's pods needs a certificate of the
    cluster's CA. The dashboard, job API (8265), Serve (8000) and metrics (8080) stay plain HTTP, so RayJob submission,
    Ingresses and monitoring work as before. ``RAY_USE_TLS`` and the other three variables, and a volume named
    ``ray-tls`` or mounted at ``/etc/ray/tls``, are KubeRay's: setting them is refused.
    """

    enabled: bool = True
    """Turn mutual TLS on; default true when the key is present (``false`` renders nothing: no ``tlsOptions``)."""

    def build(self) -> dict[str, Any] | None:
        """``tlsOptions``; None when off (KubeRay refuses even ``{enabled: false}`` without its feature gate)."""
        return {"enabled": True} if self.enabled else None


class CollectorSpec(Spec):
    """The history-server collector sidecar KubeRay adds to every Ray pod (``historyServerOptions.collectorOptions``)."""

    image: PinnedImage
    """Collector image, e.g. ``quay.io/kuberay/collector:v1.7.0``; required (KubeRay has no default)."""
    image_pull_policy: PullPolicy | None = None
    """Collector image pull policy; default the stack's ``raydask:imagePullPolicy``, else KubeRay's, ``IfNotPresent``."""
    requests: dict[str, ResourceAmount] = {}
    """Collector container requests over KubeRay's; default KubeRay's, ``{cpu: 50m, memory: 64Mi}``."""
    limits: dict[str, ResourceAmount | None] = {}
    """Collector container limits over KubeRay's; ``null`` removes one; default KubeRay's, ``{cpu: 200m, memory:
    256Mi}``."""
    env: dict[str, str] = {}
    """Collector settings as environment variables: where it uploads logs and events (``STORAGE_BACKEND: GCS``,
    ``GCS_BUCKET: my-bucket``… as the collector's documentation lists); default none."""
    secret_env: dict[str, SecretKeySpec] = {}
    """Collector environment variables read from keys of existing Secrets (storage credentials:
    ``{AWS_SECRET_ACCESS_KEY: {name: s3-credentials, key: secret-key}}``); default none."""

    DEFAULT_REQUESTS: ClassVar[dict[str, str]] = {"cpu": "50m", "memory": "64Mi"}
    DEFAULT_LIMITS: ClassVar[dict[str, str]] = {"cpu": "200m", "memory": "256Mi"}

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        for field, names in (("env", self.env), ("secretEnv", self.secret_env)):
            for key in names:
                if err := naming.env_var_name_error(key):
                    problems.append(((field, key), err))
                elif key in COLLECTOR_ENV:
                    problems.append(((field, key), f"'{key}' {COLLECTOR_ENV[key]}"))
                elif field == "secretEnv" and key in self.env:
                    problems.append(((field, key), f"'{key}' is also in env: set it in one of them"))
        if found := resource_problems(self.requests, self.limits, None, False):
            return problems + found
        resources = self.resources()
        if resources is not None:
            problems += resource_order_problems(resources, self.limits, self.requests)
        return problems

    def resources(self) -> dict[str, Any] | None:
        """The collector's ``resources``: KubeRay's with ``requests`` and ``limits`` over them; None when neither is set
        (KubeRay's apply)."""
        if not self.requests and not self.limits:
            return None
        limits = {k: v for k, v in {**self.DEFAULT_LIMITS, **self.limits}.items() if v is not None}
        return {"requests": {**self.DEFAULT_REQUESTS, **self.requests}, "limits": limits}

    def build(self) -> dict[str, Any]:
        """``collectorOptions``."""
        out: dict[str, Any] = {"image": self.image}
        if self.image_pull_policy:
            out["imagePullPolicy"] = self.image_pull_policy
        if (resources := self.resources()) is not None:
            out["resources"] = resources
        env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in sorted(self.env.items())]
        env += [{"name": k, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}
                for k, ref in sorted(self.secret_env.items())]
        if env:
            out["env"] = env
        return out


class HistoryServerSpec(Spec):
    """The Ray history server's collector, RayCluster ``historyServerOptions`` (alpha).

    KubeRay adds a ``collector`` sidecar to the head and every worker pod, which streams Ray's logs and events (it turns
    on Ray's event export in the Ray container: ``RAY_enable_ray_event`` and the aggregator agent's settings) to object
    storage (S3, GCS, Azure Blob, Aliyun OSS), where a history server you deploy yourself (KubeRay's
    ``historyserver``, not part of raydask) shows the dashboard of clusters that are gone.

    Needs: the operator's ``RayClusterHistoryServer`` feature gate (``raydask:kuberay.featureGates:
    {RayClusterHistoryServer: true}``; without it KubeRay ignores the key and adds no collector); egress from the pods to
    the storage (``networkPolicy.egress``); and a namespace whose Pod Security level admits the collector: KubeRay 1.7
    gives the sidecar no ``securityContext``, which Pod Security "restricted" (enforced on the namespaces raydask
    creates) rejects, so the cluster needs ``raydask:createNamespace: false`` and a namespace at level "baseline".
    """

    collector: CollectorSpec
    """The collector sidecar; required."""

    def build(self) -> dict[str, Any]:
        """``historyServerOptions``."""
        return {"collectorOptions": self.collector.build()}


class DashboardSpec(Spec):
    """Access to the Ray dashboard and job API (port 8265)."""

    ingress: IngressSpec | None = None
    """Ingress for the dashboard; default none (use ``kubectl port-forward``)."""
    allow_unauthenticated: bool = False
    """Allow exposing the dashboard, job API and Ray client (Ingress without TLS or authentication, external Service,
    head ``serviceType``) with no authentication; default false."""


class ServeSpec(Spec):
    """Ray Serve HTTP proxy (port 8000)."""

    ingress: IngressSpec | None = None
    """Ingress for Serve; default none."""


class ExternalServiceSpec(Spec):
    """An extra Service in front of the head, for access from outside the cluster."""

    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    """Service type; default ``LoadBalancer``."""
    ports: list[Literal["client", "dashboard", "serve"]] = ["client", "dashboard"]
    """Head ports to expose; default client (10001) and dashboard (8265)."""
    annotations: dict[str, str] = {}
    """Service annotations (cloud load-balancer settings); default none."""
    load_balancer_source_ranges: list[str] = []
    """CIDRs allowed to reach a LoadBalancer; default unrestricted."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *annotation_problems(self.annotations, "annotations")]
        problems += [(("loadBalancerSourceRanges", i), err) for i, cidr in enumerate(self.load_balancer_source_ranges)
                     if (err := naming.cidr_error(cidr, strict=False))]
        if len(set(self.ports)) != len(self.ports):
            problems.append(("ports", "lists a port twice"))
        if self.load_balancer_source_ranges and self.type != "LoadBalancer":
            problems.append(("loadBalancerSourceRanges", f"only applies to type LoadBalancer (this Service is {self.type})"))
        return problems


BatchScheduler = Literal["volcano", "yunikorn", "scheduler-plugins", "kai-scheduler"]
"""The batch schedulers KubeRay integrates (its ``--batch-scheduler``)."""
QUEUE_LABELS: dict[str, str] = {"volcano": "volcano.sh/queue-name", "yunikorn": "yunikorn.apache.org/queue",
                                "kai-scheduler": "kai.scheduler/queue"}
"""The label each batch scheduler reads a workload's queue from (KubeRay 1.7's batchscheduler plugins)."""
GANG_LABEL = "ray.io/gang-scheduling-enabled"
PRIORITY_LABEL = "ray.io/priority-class-name"
APP_ID_LABEL = "yunikorn.apache.org/app-id"


class BatchSchedulingSpec(Spec):
    """How the KubeRay operator's batch scheduler (``raydask:kuberay.batchScheduler``, KubeRay's ``--batch-scheduler``)
    schedules a workload's pods: labels on the RayCluster, RayJob or RayService, which KubeRay reads (and copies to the
    RayCluster of a RayJob or RayService) when it creates the pods, a PodGroup or task groups."""

    scheduler: BatchScheduler
    """``volcano``, ``yunikorn``, ``scheduler-plugins`` or ``kai-scheduler``: the operator's; required."""
    gang: bool = False
    """Gang scheduling, all of a cluster's pods or none (``ray.io/gang-scheduling-enabled``): YuniKorn's task groups,
    scheduler-plugins' PodGroup; default false. Volcano and KAI group a cluster's pods by themselves (refused there)."""
    queue: Annotated[str, AfterValidator(lambda v: naming.check_label_value(v))] | None = None
    """The queue (``volcano.sh/queue-name``, ``yunikorn.apache.org/queue``, ``kai.scheduler/queue``); required with
    ``kai-scheduler`` (its pods stay Pending without one), refused with ``scheduler-plugins``; default the scheduler's."""
    priority_class_name: Subdomain | None = None
    """Volcano only: the PriorityClass of the cluster's PodGroup (``ray.io/priority-class-name``); default none."""
    application_id: LabelValue | None = None
    """YuniKorn only: the application its pods belong to (``yunikorn.apache.org/app-id``); default the workload's
    name, as KubeRay's samples set it."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.gang and self.scheduler in ("volcano", "kai-scheduler"):
            who = "Volcano puts every RayCluster's pods in one PodGroup" if self.scheduler == "volcano" else \
                "KAI's pod grouper puts a RayCluster's pods in one PodGroup"
            problems.append(("gang", f"{who} by itself (KubeRay reads no gang label for it): remove gang"))
        if self.queue is None and self.scheduler == "kai-scheduler":
            problems.append(("queue", "required with kai-scheduler: KubeRay leaves a cluster without kai.scheduler/queue "
                                      "Pending"))
        if self.queue is not None and self.scheduler == "scheduler-plugins":
            problems.append(("queue", "scheduler-plugins has no queues: remove it"))
        if self.priority_class_name is not None and self.scheduler != "volcano":
            problems.append(("priorityClassName", f"only Volcano reads it ({self.scheduler} takes the pods' "
                                                  "priorityClassName): remove it"))
        if self.application_id is not None and self.scheduler != "yunikorn":
            problems.append(("applicationId", f"only YuniKorn reads it, not {self.scheduler}: remove it"))
        return problems

    def labels(self, name: str) -> dict[str, str]:
        """The labels of the workload named ``name``."""
        out: dict[str, str] = {}
        if self.gang:
            out[GANG_LABEL] = "true"
        if self.queue is not None:
            out[QUEUE_LABELS[self.scheduler]] = self.queue
        if self.priority_class_name is not None:
            out[PRIORITY_LABEL] = self.priority_class_name
        if self.scheduler == "yunikorn":
            out[APP_ID_LABEL] = self.application_id or name
        return out


def batch_label_problems(batch: BatchSchedulingSpec | None, labels: dict[str, str]) -> list[tuple[Path, str]]:
    """Labels set twice: by ``batchScheduling`` and in ``labels``."""
    if batch is None:
        return []
    return [(("labels", key), f"'{key}' is set by batchScheduling: remove it here") for key in batch.labels("x")
            if key in labels]


class RayClusterConfig(Spec):
    """What every Ray cluster is made of: a RayCluster's settings, and the cluster a RayJob or RayService creates."""

    CRD_KIND: ClassVar[str] = "RayCluster"
    """The CRD whose spec this is (messages of :func:`raydask.spec.needs.unmet` name it)."""

    ray_version: RayVersion = DEFAULT_RAY_VERSION
    """Ray version; default ``2.60.0``. Images default to ``rayproject/ray:<rayVersion>``."""
    gcs_fault_tolerance: Annotated[GcsFaultToleranceSpec | None, Needs(kuberay="1.3.0", crd="gcsFaultToleranceOptions")] = None
    """GCS fault tolerance with an external Redis (``gcsFaultToleranceOptions``): the head keeps the cluster's state
    there and a restarted head resumes; on a RayCluster or a RayService's cluster; default off."""
    image: PinnedImage | None = None
    """Image for all groups that do not set their own; default ``rayproject/ray:<rayVersion>`` (``-gpu`` for GPU groups)."""
    allow_image_version_mismatch: bool = False
    """Accept image tags that do not carry ``rayVersion``; default false."""
    head: HeadSpec = HeadSpec()
    """The head pod; default 1 CPU, 2Gi."""
    worker_groups: list[WorkerGroupSpec] = []
    """Worker groups; default none (head only)."""
    autoscaling: AutoscalingSpec | None = None
    """In-tree autoscaling; default off."""
    service_account: Label | None = None
    """Service account for all pods unless a group sets one; default the namespace default."""
    labels: dict[str, str] = {}
    """Labels on the cluster's pods (and on a RayCluster itself); default none."""
    monitoring: bool = True
    """Create the metrics Service and ServiceMonitor when the stack has monitoring; default true."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies isolating the cluster's pods (a RayJob's submitter too); default the stack's
    ``raydask:networkPolicy`` (keys set here win), none without it."""
    auth: Annotated[AuthSpec | None, AUTH_NEEDS] = None
    """Ray token authentication (``authOptions``); default the stack's ``raydask:rayAuth``, off without it."""
    tls: Annotated[TlsSpec | None, Needs(kuberay="1.7.0", crd="tlsOptions", gate="RayClusterMTLS", when=lambda t: t.enabled)] = None
    """Mutual TLS between the cluster's Ray processes (``tlsOptions``); default off. KubeRay has
    cert-manager issue a CA of the cluster's own and head and worker certificates (Secrets ``ray-head-secret-<cluster>``,
    ``ray-worker-secret-<cluster>``), mounts them at ``/etc/ray/tls`` with ``RAY_USE_TLS=1`` in the Ray containers and
    the autoscaler, and starts every pod with an init container (``wait-for-tls-ip-san``: the Ray image running
    ``openssl``) that waits until the certificate names the pod's IP. Needs cert-manager, installed before the operator
    starts. The Ray client
    (``ray://``, 10001) then needs a certificate of the cluster's CA; the dashboard, job API, Serve and metrics stay plain
    HTTP."""
    history_server: Annotated[HistoryServerSpec | None,
                              Needs(kuberay="1.7.0", crd="historyServerOptions", gate="RayClusterHistoryServer")] = None
    """The history-server collector sidecar KubeRay adds to every Ray pod, which streams Ray's logs and events to object
    storage for a history server you deploy yourself (``historyServerOptions``, alpha); default none. Needs egress to the
    storage (``networkPolicy.egress``) and a namespace at Pod Security "baseline": KubeRay gives the sidecar no
    ``securityContext``, so it is refused in the namespaces raydask creates (use ``raydask:createNamespace: false``)."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        problems += unmet(self, ray=self.ray_version)
        if self.tls is not None and self.tls.enabled:
            problems += self._tls_problems()
        names = [g.name for g in self.worker_groups]
        for i, n in enumerate(names):
            if names.index(n) != i:
                problems.append((f"workerGroups.{i}.name", f"duplicate worker group name '{n}'"))
        autoscaled = bool(self.autoscaling and self.autoscaling.enabled)
        for i, g in enumerate(self.worker_groups):
            if g.idle_timeout_seconds is not None and not autoscaled:
                problems.append((f"workerGroups.{i}.idleTimeoutSeconds", "only the Ray autoscaler reads it, and this cluster "
                                                                         "has none: turn on autoscaling, or remove it"))
            elif g.idle_timeout_seconds is not None and self.autoscaler_version != "v2":
                why = "autoscaling.version: v1" if self.autoscaling and self.autoscaling.version else f"rayVersion {self.ray_version}"
                problems.append((f"workerGroups.{i}.idleTimeoutSeconds", f"only the v2 autoscaler reads a group's idle timeout; "
                                                                         f"this cluster runs v1 ({why}): use "
                                                                         "autoscaling.idleTimeoutSeconds"))
            if g.priority is not None and not autoscaled:
                problems.append((f"workerGroups.{i}.priority", "only the Ray autoscaler reads it, and this cluster has none: "
                                                               "turn on autoscaling, or remove it"))
            elif g.priority is not None and self.autoscaler_version != "v2" and \
                    release(self.ray_version) >= release(str(PRIORITY_NEEDS.ray)):  # else: too old, said by unmet
                problems.append((f"workerGroups.{i}.priority", "only the v2 autoscaler reads it; this cluster runs v1 "
                                                               "(autoscaling.version: v1): set autoscaling.version: v2, or "
                                                               "remove it"))
            if not autoscaled and not g.retired and "replicas" not in g.model_fields_set and not g.min <= g.replicas <= g.max:
                problems.append((f"workerGroups.{i}.replicas", f"required without autoscaling: the group runs replicas pods "
                                                               f"(default {g.replicas}, outside minReplicas..maxReplicas, "
                                                               f"{g.min}..{g.max}); set replicas, or turn on autoscaling"))
        problems += label_problems(self.labels, "labels", (*RayGroup.RESERVED_LABELS,))
        if not self.allow_image_version_mismatch:
            for where, img in self._images():
                try:
                    images.check_version_tag(img, self.ray_version, "rayVersion")
                except ValueError as exc:
                    problems.append((where, f"{exc} (allowImageVersionMismatch: true)"))
        return problems

    def _tls_problems(self) -> list[tuple[Path, str]]:
        """What KubeRay refuses next to ``tls``: its TLS variables and certificate volume set by hand."""
        out: list[tuple[Path, str]] = []
        groups: list[tuple[tuple[str | int, ...], RayGroup]] = [(("head",), self.head)]
        groups += [(("workerGroups", i), g) for i, g in enumerate(self.worker_groups)]
        name, path = TLS_VOLUME
        for where, group in groups:
            out += [((*where, "env", key), f"'{key}' is set by KubeRay when tls is on (it refuses the cluster otherwise): "
                                           "remove it")
                    for key in group.env if key in TLS_ENV]
            for j, v in enumerate(group.volumes):
                if v.name == name or v.mount_path.rstrip("/") == path:
                    out.append(((*where, "volumes", j), f"'{v.name}' at {v.mount_path}: KubeRay mounts the TLS certificates "
                                                        f"as volume '{name}' at {path} when tls is on: choose another name "
                                                        "and path"))
        if self.autoscaling is not None:
            out += [(("autoscaling", "env", key), f"'{key}' is set by KubeRay when tls is on (it refuses the cluster "
                                                  "otherwise): remove it")
                    for key in self.autoscaling.env if key in TLS_ENV]
        return out

    def _images(self) -> list[tuple[str, str]]:
        found = [("image", self.image)] if self.image else []
        found += [("head.image", self.head.image)] if self.head.image else []
        found += [(f"workerGroups.{i}.image", g.image) for i, g in enumerate(self.worker_groups) if g.image]
        return [(w, i) for w, i in found if i]

    def image_for(self, group: RayGroup) -> str:
        """The image a group runs."""
        if group.image:
            return group.image
        if self.image:
            return self.image
        cuda = group.gpus and group.gpu_resource == NVIDIA_GPU  # TPUs and other accelerators run the CPU image
        return f"rayproject/ray:{self.ray_version}{'-gpu' if cuda else ''}"

    def warm_start(self) -> list[WorkerGroupSpec]:
        """The autoscaled groups that start above ``minReplicas`` (their ``replicas`` set)."""
        if not (self.autoscaling and self.autoscaling.enabled):
            return []
        return [g for g in self.worker_groups if "replicas" in g.model_fields_set and g.replicas > g.min]

    @property
    def autoscaler_version(self) -> str:
        if self.autoscaling and self.autoscaling.version:
            return self.autoscaling.version
        return "v2" if release(self.ray_version) >= release(str(AUTOSCALER_V2_NEEDS.ray)) else "v1"


class RayClusterSpec(RayClusterConfig, Companions):
    """A Ray cluster (``ray.io/v1`` RayCluster) with its Services, Ingresses and monitors."""

    name: ClusterName
    """Cluster name (DNS-1035, ≤ 53 characters); required."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    dashboard: DashboardSpec = DashboardSpec()
    """Dashboard exposure; default in-cluster only."""
    serve: ServeSpec = ServeSpec()
    """Serve exposure; default in-cluster only."""
    external_service: ExternalServiceSpec | None = None
    """Extra Service for access from outside; default none (KubeRay's head Service is reused)."""
    annotations: dict[str, str] = {}
    """Annotations on the RayCluster; default none."""
    batch_scheduling: BatchSchedulingSpec | None = None
    """The operator's batch scheduler for this cluster: gang scheduling, queue, priority (labels on the RayCluster);
    default none (the pods' own ``schedulerName``, the default scheduler)."""
    wait: WaitSpec = WaitSpec()
    """Wait in ``pulumi up`` until KubeRay reports the cluster ready (``status.state: ready``); default on, 600 s."""
    suspend: bool = False
    """Suspend the cluster: KubeRay deletes its pods and keeps the RayCluster until set false (``pulumi up`` then does
    not wait for it); default false."""
    upgrade_strategy: Annotated[Literal["Recreate", "None"] | None, Needs(kuberay="1.6.0", crd="upgradeStrategy")] = None
    """What KubeRay does with running pods when the cluster's spec changes (``upgradeStrategy.type``):
    ``Recreate`` deletes every pod and creates them anew from the new spec (not for changes of replicas, minReplicas,
    maxReplicas or tolerations, nor right after a KubeRay upgrade); ``None`` keeps them. Default KubeRay's, ``None``
    (new pods only, e.g. when the autoscaler adds some). KubeRay refuses it on the clusters of RayJobs and RayServices."""
    managed_by: Annotated[Literal["ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue"] | None,
                          Needs(kuberay="1.3.0", crd="managedBy")] = None
    """The controller that runs the cluster (``managedBy``): ``kueue.x-k8s.io/multikueue`` leaves it
    to Kueue's MultiKueue, which dispatches it to a worker cluster (the pods, and so what raydask's Services,
    NetworkPolicies and monitors select, run there; give it a ``kueue.x-k8s.io/queue-name`` label); KubeRay here skips
    it. Immutable: the API server refuses to change it once set (remove the cluster, ``pulumi up``, then add it back).
    Default KubeRay's, ``ray.io/kuberay-operator``."""

    def problems(self) -> list[tuple[Path, str]]:
        return [*super().problems(), *gcs_problems(self), *annotation_problems(self.annotations, "annotations"),
                *self.companion_problems(self.name), *batch_label_problems(self.batch_scheduling, self.labels),
                *plaintext_problems(self, "RayCluster")]

    @property
    def head_service_name(self) -> str:
        """The head Service's name: ``head.service.name``, else KubeRay's ``<name>-head-svc``."""
        return (self.head.service.name if self.head.service else None) or naming.RayNames.head_service(self.name)


__all__ = [
    "AutoscalingSpec",
    "BatchSchedulingSpec",
    "CollectorSpec",
    "DashboardSpec",
    "ExternalServiceSpec",
    "HeadSpec",
    "HistoryServerSpec",
    "RayClusterConfig",
    "RayClusterSpec",
    "RayGroup",
    "ServeServiceSpec",
    "ServeSpec",
    "TlsSpec",
    "WorkerGroupSpec",
]
