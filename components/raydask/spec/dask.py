"""Dask specs: the Dask operator Helm release and DaskClusters (scheduler, workers, worker groups, autoscaling)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from raydask import facts
from raydask.errors import Path
from raydask.k8s import images, naming, quantities, schema, validation
from raydask.k8s.ports import DaskPorts
from raydask.spec.base import (
    INT32_MAX,
    ContainerName,
    Count,
    Cpu,
    GroupName,
    IngressSpec,
    Label,
    Memory,
    PinnedImage,
    PodSettings,
    Real,
    Spec,
    WaitSpec,
    Whole,
    annotation_problems,
    label_problems,
)
from raydask.spec.companions import Companions
from raydask.spec.operators import ChartSourceSpec, ChartVersion, OperatorResources, OperatorSpec, RepoUrl, operator_version
from raydask.spec.security import NetworkPolicySpec, dask_job_exposure_problems, plaintext_problems
from raydask.spec.versions import DASK_OPERATOR_VERSION, DASK_VERSION

DASK_CHART = "dask-kubernetes-operator"
DASK_CHART_REPO = "https://helm.dask.org"
DASK_WORKER_GROUP_NAME_MAX = naming.LABEL_MAX
"""``<cluster>-<group>`` names the DaskWorkerGroup and is the ``dask.org/workergroup-name`` label on worker pods."""
DEFAULT_GROUP = "default"
"""The Dask operator names a DaskCluster's own worker group ``<cluster>-default``."""
SCHEDULER_ROUTES_ENV = "DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"
SCHEDULER_API_ROUTE = "distributed.http.scheduler.api"
"""The scheduler HTTP API the operator's autoscaler and worker retirement call."""

def _dask_version(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", value):
        raise ValueError(f"'{value}' is not a Dask release such as '2026.8.0' (major.minor.patch)")
    return value


DaskVersion = Annotated[str, AfterValidator(_dask_version)]
"""A Dask release such as ``2026.8.0``."""
DaskClusterName = Annotated[str, AfterValidator(lambda v: naming.check_dns1035(v, naming.DASK_CLUSTER_NAME_MAX))]
"""A DNS-1035 label of at most 53 characters (``<name>-scheduler`` must fit 63)."""
def _resource_name(value: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", value):
        raise ValueError(f"'{value}' is not a Dask resource name: letters, digits, '_', '.' and '-', starting with a letter or '_'")
    return value


DASK_BYTE_UNITS = {"b": 1, "": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "pb": 10**15, "kib": 2**10,
                   "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50, "k": 10**3, "m": 10**6, "g": 10**9,
                   "t": 10**12, "p": 10**15, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40, "pi": 2**50}
"""The byte units Dask reads (``dask.utils.byte_sizes``), case-insensitive: decimal ``kB``/``MB``/``GB``/``TB``/``PB``
(``k``, ``M``… alone too) and binary ``KiB``… (``Ki``… too)."""
_KUBERNETES_UNITS = {1: "", 10**3: "k", 10**6: "M", 10**9: "G", 10**12: "T", 10**15: "P",
                     2**10: "Ki", 2**20: "Mi", 2**30: "Gi", 2**40: "Ti", 2**50: "Pi"}


def dask_bytes(value: object) -> int:
    """Bytes of a Dask byte string as Dask reads it (``dask.utils.parse_bytes``: ``6GB``, ``6 GB``, ``1.5GiB``,
    ``512Mi``, ``6e9``); ValueError naming what Dask cannot read."""
    import re

    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected an amount of bytes such as '6GB' or '8Gi', got {value!r}")
    if isinstance(value, int | float):
        return int(value)
    text = value.replace(" ", "")
    m = re.fullmatch(r"(?P<num>.*?)(?P<unit>[A-Za-z]*)", text)
    assert m is not None
    try:
        number = float(m["num"])
    except ValueError:
        raise ValueError(f"'{value}' is not an amount of bytes Dask reads: a number and a unit, e.g. '6GB', '1.5GiB', "
                         "'512MiB'") from None
    unit = m["unit"].lower()
    if unit not in DASK_BYTE_UNITS:
        raise ValueError(f"'{value}': Dask reads no byte unit '{m['unit']}' (kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)")
    return int(number * DASK_BYTE_UNITS[unit])


def _dask_memory_limit(value: object) -> str:
    """``--memory-limit`` as Dask reads it: an amount of bytes of at least 1Mi (the text is kept: Dask parses it)."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected an amount of bytes such as '6GB' or '8Gi', got {value}")
    amount = dask_bytes(value)
    if amount < quantities.MIN_MEMORY:
        try:
            fraction = float(value) <= 1  # type: ignore[arg-type]
        except (TypeError, ValueError):
            fraction = False
        why = ("Dask reads a number up to 1 as a fraction of the memory it finds, not an amount" if fraction else
               "less memory than a worker runs in")
        raise ValueError(f"'{value}' is {amount} bytes ({why}): give an amount with a unit, e.g. '6GB' or '6GiB'")
    return str(int(value)) if isinstance(value, int | float) else str(value)


def _dask_memory(value: object) -> str:
    """A container's memory: a Kubernetes quantity, or an amount in Dask's byte units written as one (``6GB`` ->
    ``6G``, ``1.5 GiB`` -> ``1.5Gi``)."""
    import re

    if isinstance(value, str):
        try:
            quantities.parse(value)
        except ValueError:
            m = re.fullmatch(r"(?P<num>\d+(?:\.\d+)?)(?P<unit>[A-Za-z]+)", value.replace(" ", ""))
            unit = DASK_BYTE_UNITS.get(m["unit"].lower()) if m else None
            if m is None or unit is None:
                raise ValueError(f"'{value}' is neither a Kubernetes quantity ('8Gi', '6G') nor an amount in Dask's byte "
                                 "units ('6GB', '1.5GiB')") from None
            value = f"{m['num']}{_KUBERNETES_UNITS[unit]}"
    return quantities.check_memory(value)


DaskMemory = Annotated[str, BeforeValidator(_dask_memory)]
"""A container's memory (at least 1Mi): a Kubernetes quantity (``8Gi``, ``6G``), or Dask's byte units (``6GB``,
``1.5GiB``), written as the Kubernetes quantity of the same amount."""
DaskMemoryLimit = Annotated[str, BeforeValidator(_dask_memory_limit)]
"""An amount of bytes as Dask reads it (``6GB``, ``6GiB``, ``512MiB``, ``8Gi``, a number of bytes), kept as written."""
ResourceName = Annotated[str, AfterValidator(_resource_name)]
"""A Dask abstract resource name such as ``GPU`` or ``MEMORY``."""
Threads = Annotated[Whole, Field(ge=1, le=INT32_MAX)]
"""A whole number of threads, at least 1."""

SCHEDULER_ARGS: dict[str, str] = {
    "--host": "the scheduler listens on all interfaces",
    "--port": "the Service, the operator and the workers use port 8786",
    "--dashboard-address": "the Service, probes, the operator's HTTP API and the monitors use port 8787",
    "--dashboard-prefix": "the operator's HTTP API, probes and /metrics are called without a prefix",
}
"""``dask scheduler`` options raydask sets itself, with the reason."""
WORKER_ARGS: dict[str, str] = {
    "--name": "the operator names each worker after its Deployment",
    "--nthreads": "use the nthreads key",
    "--memory-limit": "use the memoryLimit key",
    "--resources": "use the workerResources key (GPU=<gpus> is added for you)",
    "--dashboard-address": "the dashboard and /metrics are on port 8788 (http-dashboard), as the Dask operator puts them; the "
                           "PodMonitor and NetworkPolicies use it",
    "--worker-port": "ports are fixed (8789), so NetworkPolicies can name them",
    "--nanny-port": "ports are fixed (8790), so NetworkPolicies can name them",
    "--nworkers": "one worker process per pod: scale with replicas",
    "--nprocs": "one worker process per pod: scale with replicas",
}
"""``dask worker`` options raydask sets itself, with the reason."""


class DaskChartSpec(ChartSourceSpec):
    """Where the Dask operator chart (``dask-kubernetes-operator``) comes from."""

    repo: RepoUrl = DASK_CHART_REPO
    """Helm repository (the public one, or your mirror); default ``https://helm.dask.org``. The chart is fetched once into
    the chart cache (``$RAYDASK_CHART_CACHE``, default ``~/.cache/raydask/charts``)."""


class DaskOperatorResources(OperatorResources):
    """Dask operator container resources."""

    memory: Memory = "256Mi"
    """Memory request and limit; default ``256Mi``."""


class DaskOperatorSpec(OperatorSpec):
    """The Dask operator Helm release (stack key ``raydask:daskOperator``)."""

    version: ChartVersion = DASK_OPERATOR_VERSION
    """Chart, operator image and CRD version; default ``2026.3.0``."""
    chart: DaskChartSpec = DaskChartSpec()
    """Where the chart comes from; default the public repository through the chart cache."""
    cluster_wide: bool = True
    """Cluster-wide RBAC watching every namespace (default true); false: a namespaced Role and ``--namespace=<ns>``, so
    DaskClusters must live in the operator's namespace."""
    image: PinnedImage | None = None
    """Operator image (a tag is required, a digest may follow it); default ``ghcr.io/dask/dask-kubernetes-operator:<version>``."""
    resources: DaskOperatorResources = DaskOperatorResources()
    """Operator container resources; default 100m–500m CPU, 256Mi."""
    monitoring: bool = True
    """Create the chart's scheduler ServiceMonitor and worker PodMonitor when the stack has ``raydask:monitoring``; default
    true. They scrape every DaskCluster the operator runs, so DaskClusters create no monitors of their own."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.image and images.parse(self.image).tag is None:
            problems.append(("image", f"'{self.image}' has no tag: the chart renders '<name>:<tag>' (a digest may follow the tag)"))
        if "kopfArgs" in self.values:
            problems.append(("values.kopfArgs", "set by clusterWide (--all-namespaces or --namespace=<operator namespace>)"))
        if "cluster" in (self.values.get("rbac") or {}):
            problems.append(("values.rbac.cluster", "set by clusterWide"))
        metrics = self.values.get("metrics") or {}
        scheduler_monitor = (metrics.get("scheduler") or {}).get("serviceMonitor") or {} if isinstance(metrics, dict) else {}
        if isinstance(scheduler_monitor, dict) and scheduler_monitor.get("metricRelabelings"):
            problems.append(("values.metrics.scheduler.serviceMonitor.metricRelabelings",
                             "must stay empty: the chart's template cannot render it (toYaml is called with two arguments)"))
        worker_monitor = (metrics.get("worker") or {}).get("podMonitor") or {} if isinstance(metrics, dict) else {}
        if isinstance(worker_monitor, dict) and "podTargetLabels" in worker_monitor:
            problems.append(("values.metrics.worker.podMonitor.podTargetLabels",
                             "the chart ignores this key; its PodMonitor template reads targetLabels"))
        return problems

    RESERVED_VALUES: ClassVar[dict[str, str]] = {
        "image": "use the image key", "resources": "use the resources key",
        "podSecurityContext": "raydask sets it for Pod Security 'restricted'",
        "securityContext": "raydask sets it for Pod Security 'restricted'",
    }
    CHART: ClassVar[str] = DASK_CHART


def _reserved(args: list[str], reserved: dict[str, str], where: str) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    for i, arg in enumerate(args):
        option = arg.split("=", 1)[0]
        if option in reserved:
            out.append(((where, i), f"'{option}' is set by raydask: {reserved[option]}"))
    return out


DASK_ENV = {"DASK_WORKER_NAME": "is set by the Dask operator", "DASK_SCHEDULER_ADDRESS": "is set by the Dask operator"}
"""Environment variables the Dask operator sets in scheduler and worker containers."""


class DaskPodSettings(PodSettings):
    """Resources and scheduling of Dask pods."""

    memory: DaskMemory = "2Gi"
    """Memory request and limit (equal, as Dask recommends; ``requests``/``limits`` make them differ): a Kubernetes
    quantity, or Dask's byte units (``6GB`` is written ``6G``); default ``2Gi``."""

    extra_args: list[str] = []
    """Extra command-line options appended to ``dask scheduler`` / ``dask worker``; default none."""

    RESERVED_ENV: ClassVar[dict[str, str]] = DASK_ENV
    ARGS_FIXED: ClassVar[str | None] = "raydask writes the dask command line: add options with extraArgs"
    RESERVED_VOLUMES: ClassVar[dict[str, str]] = {"dask-tmp": "/tmp"}
    RESERVED_LABELS: ClassVar[tuple[str, ...]] = (*PodSettings.RESERVED_LABELS, "dask.org/")
    DROPPED: ClassVar[str] = "not in the Kubernetes 1.21 PodSpec the Dask CRDs embed: the API server would silently drop it"

    def embedded_pod_spec(self) -> dict[str, Any] | None:
        return embedded_pod_spec_schema()


class DaskSchedulerSpec(DaskPodSettings):
    """The Dask scheduler pod and its Service."""

    container_name: ContainerName = "scheduler"
    """Name of the scheduler container; default ``scheduler``, as the Dask operator names it."""
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    """Type of the ``<cluster>-scheduler`` Service the operator creates; default ``ClusterIP``."""
    service_patch: dict[str, Any] = {}
    """Merged into that Service's spec after raydask's, extra ports by name (e.g. ``{loadBalancerSourceRanges:
    [10.0.0.0/8], externalTrafficPolicy: Local}``); not ``type`` (``serviceType``), ``selector`` or ``externalIPs``;
    checked against the ServiceSpec the DaskCluster CRD embeds; default none."""

    SERVICE_FIXED: ClassVar[dict[str, str]] = {
        "type": "set it with serviceType (its exposure rules apply)",
        "selector": "raydask selects the scheduler pod",
        "externalIPs": "it exposes the scheduler outside the cluster past serviceType's exposure rules: use serviceType",
    }

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *_reserved(self.extra_args, SCHEDULER_ARGS, "extraArgs")]
        problems += [(("servicePatch", key), why) for key, why in self.SERVICE_FIXED.items() if key in self.service_patch]
        ports = self.service_patch.get("ports")
        own = dict(DaskPorts.scheduler())
        numbers = {number: name for name, number in own.items()}
        for i, port in enumerate(ports if isinstance(ports, list) else []):
            name = port.get("name") if isinstance(port, dict) else None
            if not isinstance(name, str) or not name:
                problems.append((("servicePatch", "ports", i), "a port needs a name (ports merge by name)"))
            elif name in own:
                problems.append((("servicePatch", "ports", i, "name"), f"'{name}' is raydask's port: add ports of other names"))
            elif port.get("port") in numbers and port.get("protocol", "TCP") == "TCP":
                problems.append((("servicePatch", "ports", i, "port"), f"{port['port']} is the port of raydask's "
                                                                      f"'{numbers[port['port']]}': a Service listens once on each "
                                                                      "port (the API server refuses the second); choose another"))
        if self.service_patch:
            service = embedded_service_schema()
            found = [(("servicePatch", *path), message) for path, message in
                     schema.issues(self.service_patch, service, (), self.DROPPED.replace("PodSpec", "ServiceSpec"), True)]
            rules = [(("servicePatch", *path), message)
                     for path, message in validation.service_spec_issues({**self.service_patch, "type": self.service_type},
                                                                         partial=True) if path[:1] != ("type",)]
            problems += found + [r for r in rules if not any(r[0][:len(f[0])] == f[0] for f in found)
                                 and r[0] not in {p[0] for p in problems}]
        routes = self.env.get(SCHEDULER_ROUTES_ENV)
        if routes is not None and SCHEDULER_API_ROUTE not in routes:
            problems.append((("env", SCHEDULER_ROUTES_ENV),
                             f"must include '{SCHEDULER_API_ROUTE}' (the operator scales and retires workers through it)"))
        return problems


class DaskWorkerSpec(DaskPodSettings):
    """Dask worker pods."""

    container_name: ContainerName = "worker"
    """Name of the worker container; default ``worker``, as the Dask operator names it."""
    replicas: Count = 1
    """Worker pods; default 1."""
    nthreads: Threads | None = None
    """Threads per worker (``--nthreads``); default the CPU limit (else request) rounded up."""
    memory_limit: DaskMemoryLimit | None = None
    """Worker memory limit (``--memory-limit``) as Dask reads it and written as given (``6GB``, ``6GiB``, ``8Gi``); at
    most the container's memory limit; default the container memory limit (else request), in bytes."""
    worker_resources: dict[ResourceName, Annotated[Real, Field(gt=0)]] = {}
    """Dask abstract resources (``--resources``), e.g. ``{MEMORY: 64e9}``; ``GPU: <gpus>`` is added for GPU workers; default
    none."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *_reserved(self.extra_args, WORKER_ARGS, "extraArgs")]
        try:
            container = self.limit("memory")
            above = container is not None and self.memory_limit is not None and \
                dask_bytes(self.memory_limit) > quantities.bytes_of(container)
        except ValueError:
            return problems  # reported as a requests/limits problem
        if above:
            problems.append(("memoryLimit", f"must be ≤ the container's memory limit ({self.memory_limit} > {container}): "
                                            "Dask would ignore it and spill, pause and restart the worker at the "
                                            "container's limit"))
        return problems

    @property
    def threads(self) -> int:
        """``--nthreads``: the override, else the CPU limit (else request) rounded up."""
        return self.nthreads or quantities.whole_cores(self.limit("cpu") or self.request("cpu"))

    @property
    def memory_limit_bytes(self) -> int:
        """``--memory-limit`` in bytes."""
        if self.memory_limit is not None:
            return dask_bytes(self.memory_limit)
        return quantities.bytes_of(self.limit("memory") or self.request("memory"))

    @property
    def memory_limit_arg(self) -> str:
        """``--memory-limit``: as written (Dask reads it), else the container's limit in bytes."""
        return self.memory_limit if self.memory_limit is not None else str(self.memory_limit_bytes)

    @property
    def dask_resources(self) -> dict[str, float]:
        """``--resources``: ``GPU`` for GPU workers, then the configured ones."""
        return {**({"GPU": float(self.gpus)} if self.gpus else {}), **self.worker_resources}


class DaskWorkerGroupSpec(DaskWorkerSpec):
    """An extra DaskWorkerGroup (e.g. GPU workers) with its own resources; the DaskAutoscaler never scales it."""

    name: GroupName
    """Group name (DNS-1035 label of at most 56 characters, unique in the cluster, not ``default``); required."""


class DaskAutoscalingSpec(Spec):
    """A DaskAutoscaler: the operator sizes the default worker group from the scheduler's adaptive target."""

    enabled: bool = True
    """Create the DaskAutoscaler; default true when the key is present."""
    minimum: Count = 0
    """Fewest workers; default 0."""
    maximum: Annotated[Count, Field(ge=1)]
    """Most workers; required."""


class DaskDashboardSpec(Spec):
    """Access to the Dask dashboard (port 8787)."""

    ingress: IngressSpec | None = None
    """Ingress for the dashboard (path ``/``, it links to absolute paths); default none (use ``kubectl port-forward``)."""
    allow_unauthenticated: bool = False
    """Allow exposing the dashboard (Ingress without TLS or an authentication annotation) and the scheduler (``NodePort``
    / ``LoadBalancer``) with no authentication; default false."""


class DaskClusterSpec(Spec, Companions):
    """A Dask cluster (``kubernetes.dask.org/v1`` DaskCluster) with its worker groups, autoscaler and Ingress."""

    name: DaskClusterName
    """Cluster name (DNS-1035, ≤ 53 characters); required."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    dask_version: DaskVersion = DASK_VERSION
    """Dask version; default ``2026.8.0``. Images default to ``ghcr.io/dask/dask:<daskVersion>``."""
    image: PinnedImage | None = None
    """Image for the scheduler and all workers that do not set their own; default ``ghcr.io/dask/dask:<daskVersion>``."""
    allow_image_version_mismatch: bool = False
    """Accept image tags that do not carry ``daskVersion``; default false."""
    scheduler: DaskSchedulerSpec = DaskSchedulerSpec()
    """The scheduler; default 1 CPU, 2Gi, ClusterIP Service."""
    worker: DaskWorkerSpec = DaskWorkerSpec()
    """The default worker group (``<name>-default``); default 1 worker of 1 CPU, 2Gi."""
    worker_groups: list[DaskWorkerGroupSpec] = []
    """Extra worker groups (``<name>-<group>``); default none."""
    autoscaling: DaskAutoscalingSpec | None = None
    """DaskAutoscaler for the default worker group; default off (fixed ``worker.replicas``)."""
    idle_timeout: Count = 0
    """Seconds the scheduler may be idle before the operator deletes the cluster; default 0 (never). Pulumi recreates a
    deleted cluster on the next ``pulumi up --refresh``."""
    dashboard: DaskDashboardSpec = DaskDashboardSpec()
    """Dashboard exposure; default in-cluster only."""
    wait: WaitSpec = WaitSpec()
    """Wait in ``pulumi up`` until the Dask operator has created the cluster (``status.phase`` ``Running``, or ``Pending``:
    dask-kubernetes 2026.3.0 can leave a running cluster ``Pending``); default on, 600 s."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies isolating the cluster's pods; default the stack's ``raydask:networkPolicy``, none without it."""
    service_account: Label | None = None
    """Service account for all pods unless the scheduler or a group sets one; default the namespace default."""
    labels: dict[str, str] = {}
    """Labels on the DaskCluster and its pods; default none."""
    annotations: dict[str, str] = {}
    """Annotations on the DaskCluster (the operator copies them to its objects); default none."""

    def problems(self) -> list[tuple[Path, str]]:
        return [*super().problems(), *self.cluster_problems(), *plaintext_problems(self, "DaskCluster")]

    def cluster_problems(self) -> list[tuple[Path, str]]:
        """The cluster's own rules (a DaskJob's cluster is held to them too)."""
        problems = self.companion_problems(self.name)
        names = [g.name for g in self.worker_groups]
        for i, n in enumerate(names):
            full = naming.DaskNames.worker_group(self.name, n)
            if n == DEFAULT_GROUP:
                default = naming.DaskNames.default_worker_group(self.name)
                problems.append((f"workerGroups.{i}.name", f"'{DEFAULT_GROUP}' is reserved for the cluster's own worker group "
                                                           f"('{default}', configured by the worker key)"))
            elif names.index(n) != i:
                problems.append((f"workerGroups.{i}.name", f"duplicate worker group name '{n}'"))
            elif len(full) > DASK_WORKER_GROUP_NAME_MAX:
                problems.append((f"workerGroups.{i}.name", f"the DaskWorkerGroup name '{full}' is {len(full)} characters; the "
                                                           f"limit is {DASK_WORKER_GROUP_NAME_MAX} (it is a label value on every "
                                                           "worker pod)"))
        a = self.autoscaling
        if a and a.enabled:
            explicit = "replicas" in self.worker.model_fields_set
            shown = f"{self.worker.replicas}" if explicit else f"{self.worker.replicas}, the default,"
            if a.minimum > a.maximum:
                problems.append(("autoscaling.minimum", f"must be ≤ maximum ({a.minimum} > {a.maximum})"))
            elif self.worker.replicas < a.minimum:
                problems.append(("worker.replicas", f"must be ≥ autoscaling.minimum ({shown} < {a.minimum}): the cluster starts "
                                                    f"with worker.replicas workers; set worker.replicas: {a.minimum}"))
            elif self.worker.replicas > a.maximum:
                problems.append(("worker.replicas", f"must be ≤ autoscaling.maximum ({shown} > {a.maximum})"))
        if not self.allow_image_version_mismatch:
            for where, img in self._images():
                try:
                    images.check_version_tag(img, self.dask_version, "daskVersion")
                except ValueError as exc:
                    problems.append((where, f"{exc} (allowImageVersionMismatch: true)"))
        ingress = self.dashboard.ingress
        if ingress and ingress.path != "/":
            problems.append(("dashboard.ingress.path", f"must be '/', got '{ingress.path}': the Dask dashboard links to absolute "
                                                       "paths (/status, /statics); give it its own host"))
        problems += label_problems(self.labels, "labels", DaskPodSettings.RESERVED_LABELS)
        problems += annotation_problems(self.annotations, "annotations")
        return problems

    def pod_groups(self) -> list[tuple[str, DaskPodSettings]]:
        """(config key, settings) of the scheduler, the default workers and each worker group."""
        return [("scheduler", self.scheduler), ("worker", self.worker),
                *((f"workerGroups.{i}", g) for i, g in enumerate(self.worker_groups))]

    def _images(self) -> list[tuple[str, str]]:
        found = [("image", self.image)] if self.image else []
        return found + [(f"{w}.image", g.image) for w, g in self.pod_groups() if g.image]

    def image_for(self, group: PodSettings) -> str:
        """The image a pod group runs."""
        return group.image or self.image or f"{images.DASK_IMAGE}:{self.dask_version}"

    @property
    def autoscaled(self) -> bool:
        return bool(self.autoscaling and self.autoscaling.enabled)


def _embedded_schema(name: str) -> dict[str, Any]:
    return facts.schema(DASK_CHART, operator_version(DASK_CHART, DASK_OPERATOR_VERSION), name)


def embedded_pod_spec_schema() -> dict[str, Any]:
    """The PodSpec schema the DaskCluster CRD embeds (a Kubernetes 1.21 PodSpec: the API server prunes any newer field),
    of the Dask operator version the spec runs on (shared: do not modify)."""
    return _embedded_schema("podSpec")


def embedded_service_schema() -> dict[str, Any]:
    """The scheduler's ServiceSpec schema the DaskCluster CRD embeds (shared: do not modify)."""
    return _embedded_schema("serviceSpec")


def embedded_job_pod_spec_schema() -> dict[str, Any]:
    """The PodSpec schema of a DaskJob's runner in the DaskJob CRD (shared: do not modify)."""
    return _embedded_schema("jobPodSpec")


def pruned_paths(value: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths in ``value`` a structural ``schema`` does not declare (the API server would drop them)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                yield from pruned_paths(item, props[key], (*path, key))
            elif isinstance(extra, dict):
                yield from pruned_paths(item, extra, (*path, key))
            elif extra is not True:
                yield (*path, key)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from pruned_paths(item, schema["items"], (*path, i))


__all__ = [
    "DaskAutoscalingSpec",
    "DaskClusterSpec",
    "DaskDashboardSpec",
    "DaskOperatorSpec",
    "DaskSchedulerSpec",
    "DaskWorkerGroupSpec",
    "DaskWorkerSpec",
]


class DaskJobRunnerSpec(PodSettings):
    """The job runner pod ``<job>-runner``: runs the job's ``command`` with ``DASK_SCHEDULER_ADDRESS`` set to the job's
    scheduler; when it ends the operator deletes the job's cluster. The operator starts it with the scheduler, so a
    ``Client()`` in it waits up to 5 minutes for the scheduler (``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT: 300s``,
    Dask's default 30 s; set it in ``env`` to change it)."""

    cpu: Cpu = "500m"
    """CPU request; default ``500m``. Also the limit unless ``cpuLimit`` is set."""
    memory: DaskMemory = "1Gi"
    """Memory request and limit: a Kubernetes quantity, or Dask's byte units (``1GB`` is written ``1G``); default
    ``1Gi``."""
    image: PinnedImage | None = None
    """Runner image; default the job's image."""

    container_name: ContainerName = "job"
    """Name of the runner container; default ``job``, as the Dask operator's examples name it."""

    RESERVED_ENV: ClassVar[dict[str, str]] = {"DASK_SCHEDULER_ADDRESS": "is set by the Dask operator (the job's scheduler)"}
    RESERVED_VOLUMES: ClassVar[dict[str, str]] = {"dask-tmp": "/tmp"}
    RESERVED_LABELS: ClassVar[tuple[str, ...]] = (*PodSettings.RESERVED_LABELS, "dask.org/")
    DROPPED: ClassVar[str] = DaskPodSettings.DROPPED

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        spec = self.pod_patch.get("spec")
        restart = spec.get("restartPolicy") if isinstance(spec, dict) else None
        if restart in ("Always", "OnFailure"):
            problems.append((("podPatch", "spec", "restartPolicy"), f"'{restart}' would restart the runner, which runs once: the "
                                                                    "Dask operator deletes the job's cluster when the runner "
                                                                    "ends and reads its exit status; remove it (retry the job "
                                                                    "inside your command)"))
        return problems

    def embedded_pod_spec(self) -> dict[str, Any] | None:
        return embedded_job_pod_spec_schema()


JOB_CLUSTER_FIELDS = ("dask_version", "image", "allow_image_version_mismatch", "scheduler", "worker", "network_policy",
                      "service_account", "labels", "annotations")
"""The DaskClusterSpec fields a DaskJob's cluster has (the operator copies only the scheduler and worker specs)."""


class DaskJobSpec(Spec, Companions):
    """A batch job on its own Dask cluster (``kubernetes.dask.org/v1`` DaskJob): the operator creates the DaskCluster
    ``<name>`` and the runner pod ``<name>-runner``, and deletes the cluster when the runner ends."""

    name: DaskClusterName
    """Job name, also its cluster's (DNS-1035, ≤ 53 characters); required."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    command: Annotated[list[str], Field(min_length=1)] | None = None
    """The runner container's ``command``, which replaces the image's entrypoint; default the image's (the Dask image's
    ``tini -g -- /usr/bin/prepare.sh``, which installs ``EXTRA_PIP_PACKAGES`` and ``EXTRA_CONDA_PACKAGES`` first). Set
    ``command`` or ``args``, or both."""
    args: list[str] = []
    """The runner container's ``args``: with ``command``, its arguments; alone, what the image's entrypoint runs, e.g.
    ``[python, -m, etl]`` (as the Dask operator's examples write it); default none."""
    dask_version: DaskVersion = DASK_VERSION
    """Dask version; default ``2026.8.0``. Images default to ``ghcr.io/dask/dask:<daskVersion>``."""
    image: PinnedImage | None = None
    """Image of the runner, the scheduler and the workers that do not set their own; default
    ``ghcr.io/dask/dask:<daskVersion>``."""
    allow_image_version_mismatch: bool = False
    """Accept image tags that do not carry ``daskVersion``; default false."""
    runner: DaskJobRunnerSpec = DaskJobRunnerSpec()
    """The runner pod; default 500m CPU, 1Gi, the job's image, restricted securityContext, never restarted."""
    scheduler: DaskSchedulerSpec = DaskSchedulerSpec()
    """The job cluster's scheduler; default 1 CPU, 2Gi."""
    worker: DaskWorkerSpec = DaskWorkerSpec()
    """The job cluster's workers; default 1 worker of 1 CPU, 2Gi."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies isolating the job's pods; default the stack's ``raydask:networkPolicy``, none without it."""
    service_account: Label | None = None
    """Service account for all the job's pods unless one sets its own; default the namespace default."""
    labels: dict[str, str] = {}
    """Labels on the DaskJob, its cluster and its pods; default none."""
    annotations: dict[str, str] = {}
    """Annotations on the DaskJob (the operator copies them to its cluster and runner); default none."""

    def to_cluster(self, namespace: str | None = None) -> DaskClusterSpec:
        """The cluster the operator creates for the job, as a DaskClusterSpec named after the job."""
        fields = {f: getattr(self, f) for f in JOB_CLUSTER_FIELDS}
        return DaskClusterSpec.model_construct(name=self.name, namespace=namespace or self.namespace, **fields)

    def problems(self) -> list[tuple[Path, str]]:
        problems = [*super().problems(), *self.companion_problems(self.name)]
        for key in ("command", "args"):
            if key in self.runner.model_fields_set:
                problems.append((f"runner.{key}", f"set the job's own {key}"))
        if self.command is None and not self.args:
            problems.append(("args", "the runner needs something to run: set args (run by the image's entrypoint, e.g. "
                                     "[python, -m, etl]) or command"))
        if not self.allow_image_version_mismatch and self.runner.image:
            try:
                images.check_version_tag(self.runner.image, self.dask_version, "daskVersion")
            except ValueError as exc:
                problems.append(("runner.image", f"{exc} (allowImageVersionMismatch: true)"))
        # the cluster's own rules (image tags, labels, annotations), on the keys the job shares with it
        problems += DaskClusterSpec.cluster_problems(self.to_cluster())
        problems += dask_job_exposure_problems(self.scheduler.service_type)
        problems += plaintext_problems(self, "DaskJob")
        return list(dict.fromkeys(problems))

    def image_for(self, group: PodSettings) -> str:
        """The image a pod of the job runs."""
        return group.image or self.image or f"{images.DASK_IMAGE}:{self.dask_version}"
