"""Capacity plan: pods and resource requests of every cluster group at minimum and maximum scale.

Derived from rendered manifests only, so it covers whatever the stack declares: RayCluster / RayJob / RayService
(head with the autoscaler sidecar, worker groups, the job submitter), DaskCluster / DaskWorkerGroup / DaskJob (with
DaskAutoscaler bounds) and plain workloads (Deployments, StatefulSets, Jobs, Pods — e.g. the operators).
Requests are what the scheduler reserves; a container without a request falls back to its limit (as the API server
defaults it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any

from raydask.k8s import quantities

AUTOSCALER_DEFAULT = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
"""KubeRay's autoscaler sidecar resources when ``autoscalerOptions.resources`` is unset."""
SUBMITTER_DEFAULT = {"requests": {"cpu": "500m", "memory": "200Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
"""KubeRay's default RayJob submitter container (``GetDefaultSubmitterContainer``)."""
RAY_MAX_REPLICAS_DEFAULT = 2147483647


@dataclass(frozen=True)
class Resources:
    """CPU (cores), memory (bytes) and GPUs requested."""

    cpu: Decimal = Decimal(0)
    memory: int = 0
    gpu: Decimal = Decimal(0)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.gpu + other.gpu)

    def __mul__(self, n: int) -> Resources:
        return Resources(self.cpu * n, self.memory * n, self.gpu * n)

    def max(self, other: Resources) -> Resources:
        """Per-resource maximum."""
        return Resources(max(self.cpu, other.cpu), max(self.memory, other.memory), max(self.gpu, other.gpu))


@dataclass(frozen=True)
class GroupPlan:
    """One group of identical pods."""

    owner: str
    """``Kind namespace/name`` of the object that declares the group."""
    group: str
    """``head``, ``worker cpu``, ``scheduler``, ``submitter``, ``pods``..."""
    min_pods: int
    max_pods: int
    per_pod: Resources

    @property
    def at_min(self) -> Resources:
        return self.per_pod * self.min_pods

    @property
    def at_max(self) -> Resources:
        return self.per_pod * self.max_pods


@dataclass(frozen=True)
class Plan:
    """Every group of a stack and the totals."""

    groups: list[GroupPlan]

    @property
    def min_pods(self) -> int:
        return sum(g.min_pods for g in self.groups)

    @property
    def max_pods(self) -> int:
        return sum(g.max_pods for g in self.groups)

    @property
    def at_min(self) -> Resources:
        return sum((g.at_min for g in self.groups), Resources())

    @property
    def at_max(self) -> Resources:
        return sum((g.at_max for g in self.groups), Resources())

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly: rows and totals with formatted quantities."""
        def row(owner: str, group: str, lo: int, hi: int, a: Resources, b: Resources) -> dict[str, Any]:
            return {"owner": owner, "group": group, "minPods": lo, "maxPods": hi,
                    "min": fmt(a), "max": fmt(b)}

        return {
            "groups": [row(g.owner, g.group, g.min_pods, g.max_pods, g.at_min, g.at_max) for g in self.groups],
            "total": row("total", "", self.min_pods, self.max_pods, self.at_min, self.at_max),
        }


def _number(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.001')):f}".rstrip("0").rstrip(".")
    return text or "0"


def fmt_memory(n_bytes: int) -> str:
    """Bytes for people: ``5.75Gi``, ``512Mi``, ``0``."""
    for unit, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20)):
        if n_bytes >= size:
            return f"{_number((Decimal(n_bytes) / size).quantize(Decimal('0.01')))}{unit}"
    return str(n_bytes)


def fmt(r: Resources) -> dict[str, Any]:
    """``{"cpu": "2.75", "memory": "5.75Gi", "memoryBytes": 6174015488, "gpu": "1"}`` (cores, binary units, devices)."""
    return {"cpu": _number(r.cpu), "memory": fmt_memory(r.memory), "memoryBytes": r.memory, "gpu": _number(r.gpu)}


def _quantity(value: Any) -> Decimal:
    try:
        return quantities.parse(str(value))
    except ValueError:
        return Decimal(0)


def container_requests(container: dict[str, Any]) -> Resources:
    """Effective requests of one container (a missing request defaults to the limit)."""
    res = container.get("resources") or {}
    requests = {**(res.get("limits") or {}), **(res.get("requests") or {})}
    gpu = sum((_quantity(v) for k, v in requests.items() if "gpu" in k.lower()), Decimal(0))
    memory = _quantity(requests.get("memory", 0)).to_integral_value(rounding=ROUND_CEILING)
    return Resources(_quantity(requests.get("cpu", 0)), int(memory), gpu)


def pod_requests(pod_spec: dict[str, Any], extra: list[dict[str, Any]] | None = None) -> Resources:
    """Requests of a pod: its containers and sidecars (plus ``extra`` injected containers), or its largest init
    container if that is larger, per resource."""
    pod_spec = pod_spec or {}
    init = pod_spec.get("initContainers") or []
    sidecars = [c for c in init if c.get("restartPolicy") == "Always"]
    running = sum((container_requests(c) for c in [*(pod_spec.get("containers") or []), *sidecars, *(extra or [])]), Resources())
    peak = Resources()
    for c in init:
        if c.get("restartPolicy") != "Always":
            peak = peak.max(container_requests(c))
    overhead = pod_spec.get("overhead") or {}
    total = running.max(peak)
    if overhead:
        total = total + container_requests({"resources": {"requests": overhead}})
    return total


def _count(value: Any, default: int) -> int:
    """An integer field, ``default`` when absent."""
    return default if value is None else int(value)


def _pod_spec(template: Any) -> dict[str, Any]:
    return ((template or {}).get("spec") or {}) if isinstance(template, dict) else {}


def ray_cluster_groups(owner: str, spec: dict[str, Any], head_extra: list[dict[str, Any]] | None = None) -> Iterator[GroupPlan]:
    """Head (with the autoscaler sidecar KubeRay injects) and worker groups of a RayCluster spec."""
    spec = spec or {}
    suspended = bool(spec.get("suspend"))
    autoscaling = bool(spec.get("enableInTreeAutoscaling"))
    head_extra = list(head_extra or [])
    if autoscaling:
        head_extra.append({"resources": (spec.get("autoscalerOptions") or {}).get("resources") or AUTOSCALER_DEFAULT})
    head = spec.get("headGroupSpec") or {}
    pods = 0 if suspended else 1
    yield GroupPlan(owner, "head", pods, pods, pod_requests(_pod_spec(head.get("template")), head_extra))
    for g in spec.get("workerGroupSpecs") or []:
        hosts = _count(g.get("numOfHosts"), 1)
        lo = _count(g.get("minReplicas"), 0)
        hi = _count(g.get("maxReplicas"), RAY_MAX_REPLICAS_DEFAULT)
        if autoscaling:
            bounds = (lo, hi)
        else:
            n = min(max(_count(g.get("replicas"), lo), lo), hi)
            bounds = (n, n)
        if suspended or g.get("suspend"):
            bounds = (0, 0)
        yield GroupPlan(owner, f"worker {g.get('groupName', '?')}", bounds[0] * hosts, bounds[1] * hosts,
                        pod_requests(_pod_spec(g.get("template"))))


def _ray_job(owner: str, spec: dict[str, Any]) -> Iterator[GroupPlan]:
    mode = spec.get("submissionMode") or "K8sJobMode"
    head_extra = [{"resources": SUBMITTER_DEFAULT}] if mode == "SidecarMode" else None
    if spec.get("rayClusterSpec"):
        yield from ray_cluster_groups(owner, spec["rayClusterSpec"], head_extra)
    if mode == "K8sJobMode":
        template = spec.get("submitterPodTemplate")
        per_pod = pod_requests(_pod_spec(template)) if template else container_requests({"resources": SUBMITTER_DEFAULT})
        pods = 0 if spec.get("suspend") else 1
        yield GroupPlan(owner, "submitter", pods, pods, per_pod)


def _dask_cluster(owner: str, spec: dict[str, Any], bounds: tuple[int, int] | None) -> Iterator[GroupPlan]:
    scheduler = spec.get("scheduler") or {}
    yield GroupPlan(owner, "scheduler", 1, 1, pod_requests(scheduler.get("spec") or {}))
    worker = spec.get("worker") or {}
    n = _count(worker.get("replicas"), 1)
    lo, hi = bounds or (n, n)
    yield GroupPlan(owner, "worker default", lo, hi, pod_requests(worker.get("spec") or {}))


def _workload(owner: str, kind: str, spec: dict[str, Any]) -> Iterator[GroupPlan]:
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        n = _count(spec.get("replicas"), 1)
        yield GroupPlan(owner, "pods", n, n, pod_requests(_pod_spec(spec.get("template"))))
    elif kind == "Job":
        n = 0 if spec.get("suspend") else _count(spec.get("parallelism"), 1)
        yield GroupPlan(owner, "pods", n, n, pod_requests(_pod_spec(spec.get("template"))))
    elif kind == "Pod":
        yield GroupPlan(owner, "pod", 1, 1, pod_requests(spec))


def plan_objects(objects: list[dict[str, Any]]) -> Plan:
    """The capacity plan of rendered manifests (objects of kinds that run no pods are ignored)."""
    from raydask.k8s.manifest import object_ref

    autoscalers: dict[tuple[str | None, str], tuple[int, int]] = {}
    for o in objects:
        if o.get("kind") == "DaskAutoscaler" and str(o.get("apiVersion", "")).startswith("kubernetes.dask.org/"):
            s = o.get("spec") or {}
            ns = (o.get("metadata") or {}).get("namespace")
            autoscalers[(ns, str(s.get("cluster")))] = (int(s.get("minimum") or 0), int(s.get("maximum") or 0))
    groups: list[GroupPlan] = []
    for o in objects:
        kind, api = str(o.get("kind", "")), str(o.get("apiVersion", ""))
        group = api.rpartition("/")[0]
        spec = o.get("spec") or {}
        meta = o.get("metadata") or {}
        owner = object_ref(o)
        if group == "ray.io":
            if kind == "RayCluster":
                groups.extend(ray_cluster_groups(owner, spec))
            elif kind == "RayJob":
                groups.extend(_ray_job(owner, spec))
            elif kind == "RayService":
                groups.extend(ray_cluster_groups(owner, spec.get("rayClusterConfig") or {}))
        elif group == "kubernetes.dask.org":
            if kind == "DaskCluster":
                groups.extend(_dask_cluster(owner, spec, autoscalers.get((meta.get("namespace"), str(meta.get("name"))))))
            elif kind == "DaskWorkerGroup":
                worker = spec.get("worker") or {}
                n = _count(worker.get("replicas"), 1)
                groups.append(GroupPlan(owner, f"worker group of {spec.get('cluster')}", n, n, pod_requests(worker.get("spec") or {})))
            elif kind == "DaskJob":
                job = spec.get("job") or {}
                groups.append(GroupPlan(owner, "job runner", 1, 1, pod_requests(job.get("spec") or {})))
                groups.extend(_dask_cluster(owner, (spec.get("cluster") or {}).get("spec") or {}, None))
        elif group in ("apps", "batch", ""):
            groups.extend(_workload(owner, kind, spec))
    return Plan(groups)
