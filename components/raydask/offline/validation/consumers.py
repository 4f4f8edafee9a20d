"""Real consumers of the custom resources: the Ray autoscaler and the Dask operator, run as pure functions.

* ``ray-autoscaler``: ``ray.autoscaler._private.kuberay.autoscaling_config._derive_autoscaling_config_from_ray_cr``
  (the exact code the autoscaler sidecar runs every iteration) on the RayCluster -- or the cluster spec embedded in a
  RayJob (``spec.rayClusterSpec``), RayService (``spec.rayClusterConfig``) or RayCronJob -- *as the API server stores
  it* (pruned and defaulted).  A raised exception is a finding; then the derived node types are compared with what
  the manifest declares per group (CPU, GPU, memory, min/max workers).
* ``dask-operator``: the builder functions of ``dask_kubernetes.operator.controller.controller`` expand a
  DaskCluster/DaskWorkerGroup/DaskJob into the Deployments, Services, Pods and DaskWorkerGroups the operator
  creates; each one is validated strictly (:mod:`.builtin`) at the target Kubernetes version.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from decimal import ROUND_UP
from pathlib import Path
from typing import Any

from raydask.offline.validation import Finding, builtin, crd, memo, ref_of, upstream
from raydask.offline.validation.builtin import Issue, describe, join

CHECK_RAY = "ray-autoscaler"
CHECK_DASK = "dask-operator"

#: The autoscaler's name for the head group (``_HEAD_GROUP_NAME`` in the Ray source).
HEAD_GROUP = "headgroup"
#: Stands in for ``uuid4().hex[:10]`` in worker Deployment names.
WORKER_UUID = "0000000000"

RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")
DASK_KINDS = ("DaskCluster", "DaskWorkerGroup", "DaskJob")


# --------------------------------------------------------------------------------------------------------------
# Ray autoscaler
# --------------------------------------------------------------------------------------------------------------


@functools.cache
def _autoscaling_config() -> Any:
    from ray.autoscaler._private.kuberay import autoscaling_config

    return autoscaling_config


def ray_cluster_specs(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(path, RayClusterSpec)`` pairs of a Ray custom resource (none for a RayJob using ``clusterSelector``)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    kind = obj.get("kind")
    found: list[tuple[str, Any]] = []
    if kind == "RayCluster":
        found = [("spec", spec)]
    elif kind == "RayJob":
        found = [("spec.rayClusterSpec", spec.get("rayClusterSpec"))]
    elif kind == "RayService":
        found = [("spec.rayClusterConfig", spec.get("rayClusterConfig"))]
    elif kind == "RayCronJob":
        template = spec.get("jobTemplate")
        found = [("spec.jobTemplate.rayClusterSpec", template.get("rayClusterSpec") if isinstance(template, dict) else None)]
    return [(path, value) for path, value in found if isinstance(value, dict)]


def as_ray_cluster(obj: dict[str, Any], cluster_spec: dict[str, Any]) -> dict[str, Any]:
    """A RayCluster-shaped dict around ``cluster_spec`` with the parent's metadata (namespace defaulted as the
    API server does)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {**copy.deepcopy(meta), "name": meta.get("name") or "?", "namespace": meta.get("namespace") or "default"},
        "spec": copy.deepcopy(cluster_spec),
    }


def _sub(base: str, rel: str) -> str:
    """``base`` + a dotted relative path."""
    return f"{base}.{rel}" if base else rel


def _round_up(value: Any) -> int | None:
    amount = builtin.parse_quantity(value)
    if amount is None:
        return None
    return int(amount.to_integral_value(rounding=ROUND_UP))


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _container_resources(group: dict[str, Any]) -> dict[str, Any]:
    try:
        resources = group["template"]["spec"]["containers"][0].get("resources") or {}
    except (KeyError, IndexError, TypeError, AttributeError):
        return {}
    return resources if isinstance(resources, dict) else {}


def _container_amount(resources: dict[str, Any], match: Callable[[str], bool], positive: bool = False) -> tuple[int | None, str]:
    """Rounded-up amount of the first resource ``match``-ing in limits, then requests (Ray's order); with
    ``positive`` zero amounts are skipped (Ray's GPU rule)."""
    for field in ("limits", "requests"):
        values = resources.get(field) or {}
        if not isinstance(values, dict):
            continue
        for key, quantity in values.items():
            if match(key):
                amount = _round_up(quantity)
                if amount is not None and not (positive and amount <= 0):
                    return amount, f"container {field}.{key} {quantity!r}"
    return None, ""


def _compare_group(name: str, group: dict[str, Any], node_type: dict[str, Any], gpath: str, is_head: bool) -> list[Issue]:
    out: list[Issue] = []
    derived = node_type.get("resources") or {}
    params = group.get("rayStartParams") or {}
    if not isinstance(params, dict):
        params = {}
    resources = _container_resources(group)
    cpath = _sub(gpath, "template.spec.containers[0].resources")
    ppath = join(gpath, "rayStartParams")
    raw = group.get("resources")
    declared: dict[str, Any] = raw if isinstance(raw, dict) else {}
    rpath = join(gpath, "resources")

    # CPU: rayStartParams num-cpus wins, else the Ray container's cpu limit, else its request -- rounded up.
    container_cpu, cpu_source = _container_amount(resources, lambda k: k == "cpu")
    if "CPU" in declared:  # the group's Ray resources win (KubeRay >= 1.5 passes them to ray start)
        expected_cpu, source, where = _round_up(declared["CPU"]), f"resources.CPU {declared['CPU']!r}", join(rpath, "CPU")
    elif "num-cpus" in params:
        expected_cpu, source, where = _int(params["num-cpus"]), f"rayStartParams num-cpus {params['num-cpus']!r}", join(ppath, "num-cpus")
    else:
        expected_cpu, source, where = container_cpu, cpu_source, cpath
    if expected_cpu is not None and derived.get("CPU") != expected_cpu:
        out.append(
            (where, f"Ray autoscaler derives CPU={derived.get('CPU')} for group '{name}' but the manifest says {expected_cpu} ({source})")
        )
    if "num-cpus" in params and expected_cpu not in (None, 0) and container_cpu is not None and expected_cpu != container_cpu:
        out.append(
            (
                join(ppath, "num-cpus"),
                f"rayStartParams num-cpus={expected_cpu} disagrees with the {cpu_source} (rounded up: {container_cpu}); "
                f"the autoscaler schedules group '{name}' as {expected_cpu} CPUs",
            )
        )

    # GPU: num-gpus wins, else the first '*gpu' limit/request > 0.
    container_gpu, gpu_source = _container_amount(resources, lambda k: k.endswith("gpu"), positive=True)
    if "GPU" in declared:
        expected_gpu, source, where = _round_up(declared["GPU"]), f"resources.GPU {declared['GPU']!r}", join(rpath, "GPU")
    elif "num-gpus" in params:
        expected_gpu, source, where = _int(params["num-gpus"]), f"rayStartParams num-gpus {params['num-gpus']!r}", join(ppath, "num-gpus")
    else:
        expected_gpu, source, where = container_gpu, gpu_source or "no GPU resources", cpath
    if (expected_gpu or 0) != (derived.get("GPU") or 0):
        out.append(
            (
                where,
                f"Ray autoscaler derives GPU={derived.get('GPU')} for group '{name}' but the manifest says {expected_gpu or 0} ({source})",
            )
        )
    if "num-gpus" in params and container_gpu is not None and (expected_gpu or 0) != container_gpu:
        out.append((join(ppath, "num-gpus"), f"rayStartParams num-gpus={expected_gpu} disagrees with the {gpu_source} for group '{name}'"))

    # memory: rayStartParams memory (bytes) wins, else the memory limit, else the request.
    container_mem, mem_source = _container_amount(resources, lambda k: k == "memory")
    if "memory" in declared:
        expected_mem, source, where = _round_up(declared["memory"]), f"resources.memory {declared['memory']!r}", join(rpath, "memory")
    elif "memory" in params:
        expected_mem, source, where = _int(params["memory"]), f"rayStartParams memory {params['memory']!r}", join(ppath, "memory")
    else:
        expected_mem, source, where = container_mem, mem_source, cpath
    if expected_mem is not None and derived.get("memory") != expected_mem:
        out.append(
            (
                where,
                f"Ray autoscaler derives memory={derived.get('memory')} for group '{name}' but the manifest says {expected_mem} ({source})",
            )
        )

    # min/max workers: head 0/0; workers minReplicas/maxReplicas times numOfHosts.
    want_min, want_max = _wanted_workers(group, is_head)
    if want_min is not None and node_type.get("min_workers") != want_min:
        out.append(
            (
                join(gpath, "minReplicas"),
                f"Ray autoscaler derives min_workers={node_type.get('min_workers')} for group '{name}', expected {want_min}",
            )
        )
    if want_max is not None and node_type.get("max_workers") != want_max:
        out.append(
            (
                join(gpath, "maxReplicas"),
                f"Ray autoscaler derives max_workers={node_type.get('max_workers')} for group '{name}', expected {want_max}",
            )
        )
    return out


def _wanted_workers(group: dict[str, Any], is_head: bool) -> tuple[int | None, int | None]:
    """``(min, max)`` workers the manifest asks for: head 0/0, else min/maxReplicas times numOfHosts."""
    if is_head:
        return 0, 0
    hosts = _int(group.get("numOfHosts", 1)) or 1
    low, high = _int(group.get("minReplicas")), _int(group.get("maxReplicas"))
    return (low * hosts if low is not None else None), (high * hosts if high is not None else None)


def _group_rules(spec: dict[str, Any], base: str) -> tuple[list[Issue], list[tuple[str, dict[str, Any], str, bool]]]:
    """Replica-range and group-name rules, and the ``(name, group, path, is_head)`` groups the autoscaler sees."""
    out: list[Issue] = []
    head = spec.get("headGroupSpec")
    groups: list[tuple[str, dict[str, Any], str, bool]] = [
        (HEAD_GROUP, head if isinstance(head, dict) else {}, join(base, "headGroupSpec"), True)
    ]
    seen: dict[str, str] = {HEAD_GROUP: join(base, "headGroupSpec")}
    workers = spec.get("workerGroupSpecs")
    for i, group in enumerate(workers if isinstance(workers, list) else []):
        if not isinstance(group, dict):
            continue
        gpath = join(join(base, "workerGroupSpecs"), i)
        low, high, replicas = _int(group.get("minReplicas")), _int(group.get("maxReplicas")), _int(group.get("replicas"))
        if low is not None and high is not None and low > high:
            out.append(
                (join(gpath, "minReplicas"), f"minReplicas {low} is greater than maxReplicas {high} (KubeRay rejects the worker group)")
            )
        elif (replicas is not None and low is not None and high is not None and not low <= replicas <= high
              and spec.get("enableInTreeAutoscaling") is not True):  # autoscaled: the autoscaler owns replicas
            out.append(
                (join(gpath, "replicas"), f"replicas {replicas} is outside [minReplicas {low}, maxReplicas {high}] (KubeRay clamps it)")
            )
        gname = str(group.get("groupName"))
        if gname in seen:
            message = f"groupName {gname!r} collides with {seen[gname]}: the autoscaler sees a single node type '{gname}'"
            out.append((join(gpath, "groupName"), message))
            continue
        seen[gname] = gpath
        groups.append((gname, group, gpath, False))
    return out, groups


def _locate_failure(module: Any, spec: dict[str, Any], base: str) -> list[Issue]:
    """Re-run the per-group derivation to point at the group the autoscaler chokes on."""
    out: list[Issue] = []
    groups: list[tuple[Any, str, bool]] = [(spec.get("headGroupSpec"), join(base, "headGroupSpec"), True)]
    workers = spec.get("workerGroupSpecs")
    if isinstance(workers, list):
        groups += [(g, join(join(base, "workerGroupSpecs"), i), False) for i, g in enumerate(workers)]
    for group, gpath, is_head in groups:
        try:
            module._node_type_from_group_spec(group, is_head=is_head)
        except Exception as exc:
            out.append((gpath, f"Ray autoscaler rejects {'the head group' if is_head else 'this worker group'}: {_explain(exc)}"))
    return out


def _explain(exc: Exception, reader: str = "the autoscaler") -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"KeyError: missing field {exc.args[0]!r} that {reader} reads"
    text = str(exc).strip().replace("\n", " ")
    if len(text) > 400:
        text = text[:397] + "..."
    return f"{type(exc).__name__}: {text}"


def _derived_config(cr: dict[str, Any]) -> dict[str, Any]:
    """The autoscaler's config of the RayCluster ``cr`` (left as it was)."""
    config: dict[str, Any] = _autoscaling_config()._derive_autoscaling_config_from_ray_cr(copy.deepcopy(cr))
    return config


def ray_autoscaler_issues(obj: dict[str, Any]) -> list[Issue]:
    """Issues the Ray autoscaler finds with each cluster spec of a Ray custom resource (as stored)."""
    out: list[Issue] = []
    for base, spec in ray_cluster_specs(obj):
        cr = as_ray_cluster(obj, spec)
        if "workerGroupSpecs" not in cr["spec"] and not cr["spec"].get("enableInTreeAutoscaling"):
            cr["spec"]["workerGroupSpecs"] = []  # no autoscaler runs; only compare the head
        rules, groups = _group_rules(cr["spec"], base)
        out.extend(rules)
        try:
            config = memo.remembered("ray-autoscaler", "ray", (), cr, functools.partial(_derived_config, cr))
        except ImportError:
            raise
        except Exception as exc:
            located = _locate_failure(_autoscaling_config(), cr["spec"], base)
            out.extend(located or [(base, f"Ray autoscaler rejects the cluster spec: {_explain(exc)}")])
            continue
        types = config.get("available_node_types") or {}
        expected_total = 0
        for name, group, gpath, is_head in groups:
            node_type = types.get(name)
            if not isinstance(node_type, dict):
                out.append((gpath, f"group '{name}' is missing from the autoscaler's available_node_types"))
                continue
            out.extend(_compare_group(name, group, node_type, gpath, is_head))
            expected_total += _wanted_workers(group, is_head)[1] or 0
        if config.get("max_workers") != expected_total:
            derived = config.get("max_workers")
            message = f"Ray autoscaler derives max_workers={derived}, expected {expected_total} (sum of maxReplicas x numOfHosts)"
            out.append((base, message))
    return out


def check_ray_autoscaler(obj: dict[str, Any]) -> list[Finding]:
    """Findings of the Ray autoscaler on a RayCluster/RayJob/RayService/RayCronJob (check ``ray-autoscaler``)."""
    ref = ref_of(obj)
    if not isinstance(obj, dict):
        return [Finding(ref, "", f"expected an object, got {describe(obj)}", CHECK_RAY)]
    try:
        issues = ray_autoscaler_issues(crd.stored_object(obj))
    except ImportError as exc:
        issues = [("", f"the Ray autoscaler is not importable ({exc}); install 'raydask[validate]'")]
    except FileNotFoundError:
        raise
    except Exception as exc:  # never crash on malformed input
        issues = [("", f"Ray autoscaler check failed: {_explain(exc)}")]
    return [Finding(ref, path, message, CHECK_RAY) for path, message in issues]


# --------------------------------------------------------------------------------------------------------------
# Dask operator
# --------------------------------------------------------------------------------------------------------------


@functools.cache
def _dask() -> Any:
    """The operator's controller module. Its builder functions need no Kubernetes client: kopf's optional
    ``kubernetes_asyncio`` integration (a third of the import's ~1 s of CPU) is kept out unless something already loaded
    it."""
    import sys

    blocked = "kubernetes_asyncio" not in sys.modules
    if blocked:
        sys.modules["kubernetes_asyncio"] = None  # type: ignore[assignment]  # import finds nothing: kopf skips it
    try:
        from dask_kubernetes.operator.controller import controller
    finally:
        if blocked and sys.modules.get("kubernetes_asyncio", ...) is None:
            del sys.modules["kubernetes_asyncio"]
    return controller


Expansion = tuple[dict[str, Any], list[tuple[str, str]], str]
"""``(object, [(expanded path prefix, source path prefix)], default source path)``."""


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _labels_annotations(meta: dict[str, Any], part: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The operator's ``_get_labels``/``_get_annotations`` of ``meta``, updated with ``part.metadata`` as it does."""
    c = _dask()
    labels = dict(meta.get("labels") or {})
    labels = {k: v for k, v in labels.items() if not any(k.startswith(ns) for ns in c._LABEL_NAMESPACES_TO_IGNORE)}
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not any(k.startswith(ns) for ns in c._ANNOTATION_NAMESPACES_TO_IGNORE)
    }
    part_meta = part.get("metadata") if isinstance(part, dict) else None
    if isinstance(part_meta, dict):
        annotations.update(part_meta.get("annotations") or {})
        labels.update(part_meta.get("labels") or {})
    return labels, annotations


def _adopt(data: dict[str, Any], owner_meta: dict[str, Any]) -> None:
    """``kopf.adopt`` minus the owner reference: the owner's namespace and (non-forced) labels."""
    meta = data.setdefault("metadata", {})
    if owner_meta.get("namespace") and not meta.get("namespace"):
        meta["namespace"] = owner_meta["namespace"]
    _label(data, owner_meta.get("labels") or {})


def _label(data: dict[str, Any], labels: dict[str, Any]) -> None:
    """``kopf.label`` (non-forced) -- it mutates the shared labels dict, as the operator's objects share it."""
    target = data.setdefault("metadata", {}).setdefault("labels", {})
    for key, value in labels.items():
        target.setdefault(key, value)


def _expand_worker_group(obj: dict[str, Any], cluster_labels: dict[str, Any] | None, base: str) -> list[Expansion]:
    c = _dask()
    meta = _meta(obj)
    spec = obj.get("spec") or {}
    worker = spec.get("worker") or {}
    labels, annotations = _labels_annotations(meta, worker)
    data = c.build_worker_deployment_spec(
        worker_group_name=meta.get("name"),
        namespace=meta.get("namespace") or "default",
        cluster_name=spec.get("cluster"),
        uuid=WORKER_UUID,
        pod_spec=worker.get("spec"),
        annotations=annotations,
        labels=labels,
    )
    _adopt(data, meta)
    _label(data, cluster_labels or {})
    return [(copy.deepcopy(data), [("spec.template.spec", _sub(base, "worker.spec"))], _sub(base, "worker"))]


def _expand_cluster(obj: dict[str, Any], base: str) -> list[Expansion]:
    c = _dask()
    meta = _meta(obj)
    name = meta.get("name")
    spec = obj.get("spec") or {}
    scheduler = spec.get("scheduler") or {}
    out: list[Expansion] = []
    labels, annotations = _labels_annotations(meta, scheduler)
    deployment = c.build_scheduler_deployment_spec(name, scheduler.get("spec"), annotations, labels)
    _adopt(deployment, meta)
    out.append((copy.deepcopy(deployment), [("spec.template.spec", _sub(base, "scheduler.spec"))], _sub(base, "scheduler")))
    service = c.build_scheduler_service_spec(name, scheduler.get("service"), annotations, labels)
    _adopt(service, meta)
    out.append((copy.deepcopy(service), [("spec", _sub(base, "scheduler.service"))], _sub(base, "scheduler")))
    worker = spec.get("worker") or {}
    labels, annotations = _labels_annotations(meta, worker)
    group = c.build_default_worker_group_spec(name, worker, annotations, labels)
    group["metadata"]["namespace"] = meta.get("namespace") or "default"
    group = copy.deepcopy(group)
    out.append((group, [("spec.worker", _sub(base, "worker"))], _sub(base, "worker")))
    stored_group = crd.stored_object(group)
    for expanded, mapping, default in _expand_worker_group(stored_group, meta.get("labels") or {}, "spec"):
        out.append((expanded, [(x, _sub(base, s.removeprefix("spec."))) for x, s in mapping], _sub(base, default.removeprefix("spec."))))
    return out


def _expand_job(obj: dict[str, Any]) -> list[Expansion]:
    c = _dask()
    meta = _meta(obj)
    name = meta.get("name")
    spec = obj.get("spec") or {}
    cluster_part = spec.get("cluster") or {}
    labels, annotations = _labels_annotations(meta, cluster_part)
    cluster_spec = cluster_part.get("spec") or {}
    cluster = c.build_cluster_spec(name, cluster_spec.get("worker"), cluster_spec.get("scheduler"), annotations, labels)
    _adopt(cluster, meta)
    out: list[Expansion] = [(copy.deepcopy(cluster), [("spec", "spec.cluster.spec")], "spec.cluster")]
    out += _expand_cluster(crd.stored_object(cluster), "spec.cluster.spec")
    job_part = spec.get("job") or {}
    labels, annotations = _labels_annotations(meta, job_part)
    pod = c.build_job_pod_spec(
        job_name=name,
        cluster_name=name,
        namespace=meta.get("namespace") or "default",
        spec=job_part.get("spec"),
        annotations=annotations,
        labels=labels,
    )
    _adopt(pod, meta)
    out.append((copy.deepcopy(pod), [("spec", "spec.job.spec")], "spec.job"))
    return out


def _expansions(obj: dict[str, Any], kind: str, cluster_labels: dict[str, Any] | None = None) -> list[Expansion]:
    stored = crd.stored_object(obj)
    if kind == "DaskCluster":
        return _expand_cluster(stored, "spec")
    if kind == "DaskWorkerGroup":
        return _expand_worker_group(stored, cluster_labels, "spec")
    if kind == "DaskJob":
        return _expand_job(stored)
    return []


def _dask_verdict(obj: dict[str, Any], kind: str, cluster_labels: dict[str, Any] | None) -> dict[str, Any]:
    """What the Dask operator makes of ``obj`` as a ``kind`` (JSON): its refusal of the cluster name (``name``), and
    the objects it creates (``expansions``: ``[object, mapping, default source path]``) or why it cannot
    (``failure``)."""
    out: dict[str, Any] = {"name": None}
    meta = _meta(obj)
    if kind in ("DaskCluster", "DaskJob") and isinstance(meta.get("name"), str):
        from dask_kubernetes.exceptions import ValidationError
        from dask_kubernetes.operator.validation import validate_cluster_name

        try:
            validate_cluster_name(meta["name"])
        except ValidationError as exc:
            out["name"] = exc.message
    try:
        out["expansions"] = [[expanded, [list(m) for m in mapping], default]
                             for expanded, mapping, default in _expansions(obj, kind, cluster_labels)]
    except ImportError:
        raise
    except Exception as exc:
        out["failure"] = _explain(exc, "the operator")
    return out


@functools.cache
def _dask_sources() -> tuple[Path, ...]:
    """What the Dask operator's verdict depends on besides dask-kubernetes: this package's and the manifest helpers'
    code, and the Dask CRDs objects are pruned with."""
    here = Path(__file__).parent
    return (*here.glob("*.py"), *(here.parent.parent / "k8s").glob("*.py"), *upstream.dask_crd_dir().glob("*.yaml"))


def dask_verdict(obj: dict[str, Any], kind: str | None = None, cluster_labels: dict[str, Any] | None = None) -> dict[str, Any]:
    """:func:`_dask_verdict` of ``obj`` (as its own kind unless ``kind``), remembered (:mod:`.memo`): the operator's
    modules are imported only for an object not seen before."""
    kind = kind or str(obj.get("kind"))
    return memo.remembered("dask-operator", "dask-kubernetes", _dask_sources(), [obj, kind, cluster_labels],
                           lambda: _dask_verdict(obj, kind, cluster_labels))


class DaskExpansionError(ValueError):
    """The Dask operator cannot expand an object (the message says why)."""


def _expanded(obj: dict[str, Any], kind: str, cluster_labels: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    verdict = dask_verdict(obj, kind, cluster_labels)
    if "failure" in verdict:
        raise DaskExpansionError(verdict["failure"])
    return [expanded for expanded, _, _ in verdict["expansions"]]


def expand_dask_cluster(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """What the Dask operator creates for a DaskCluster (as the API server stores it): the scheduler Deployment and
    Service, the ``<name>-default`` DaskWorkerGroup and one worker Deployment of it (named with ``0000000000`` for
    the random uuid). Raises :class:`DaskExpansionError` when the operator's builders fail."""
    return _expanded(obj, "DaskCluster")


def expand_dask_worker_group(obj: dict[str, Any], cluster_labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What the Dask operator creates for a DaskWorkerGroup: one worker Deployment (per replica; one is returned,
    even for 0 replicas, named with ``0000000000`` for the random uuid).  ``cluster_labels`` are the owning
    DaskCluster's labels, which the operator adds to the Deployment."""
    return _expanded(obj, "DaskWorkerGroup", cluster_labels)


def expand_dask_job(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """What the Dask operator creates for a DaskJob: its DaskCluster (and that cluster's objects) and the job
    runner Pod."""
    return _expanded(obj, "DaskJob")


def _map_path(path: str, mapping: list[tuple[str, str]], default: str) -> str:
    for prefix, source in mapping:
        if path == prefix or path.startswith((prefix + ".", prefix + "[")):
            return source + path[len(prefix) :]
    return default


def dask_operator_issues(obj: dict[str, Any], kubernetes_version: str) -> list[Issue]:
    """Issues of the objects the Dask operator would create from ``obj``, mapped back to ``obj``'s paths."""
    verdict = dask_verdict(obj)
    out: list[Issue] = []
    if verdict["name"]:
        out.append(("metadata.name", f"Dask operator rejects the cluster name: {verdict['name']}"))
    if "failure" in verdict:
        return [*out, ("spec", f"Dask operator fails to expand {obj.get('kind')}: {verdict['failure']}")]
    for expanded, mapping, default in verdict["expansions"]:
        kind = expanded.get("kind")
        name = _meta(expanded).get("name")
        if crd.is_custom_resource(expanded):
            issues, _ = crd.custom_resource_issues(expanded)
        else:
            issues = builtin.builtin_issues(expanded, kubernetes_version)
        for xpath, message in issues:
            out.append((_map_path(xpath, mapping, default), f"expanded {kind} {name} at {xpath or '(object)'}: {message}"))
    return out


def check_dask_cluster(obj: dict[str, Any], kubernetes_version: str = "1.31") -> list[Finding]:
    """Findings of the Dask operator's expansion of a DaskCluster, DaskWorkerGroup or DaskJob (check
    ``dask-operator``): each expanded object validated strictly at ``kubernetes_version``."""
    ref = ref_of(obj)
    if not isinstance(obj, dict):
        return [Finding(ref, "", f"expected an object, got {describe(obj)}", CHECK_DASK)]
    try:
        issues = dask_operator_issues(obj, kubernetes_version)
    except ImportError as exc:
        issues = [("", f"the Dask operator is not importable ({exc}); install 'raydask[validate]'")]
    except FileNotFoundError:
        raise
    except Exception as exc:  # never crash on malformed input
        issues = [("", f"Dask operator check failed: {_explain(exc, 'the operator')}")]
    return [Finding(ref, path, message, CHECK_DASK) for path, message in issues]


def check_consumers(obj: dict[str, Any], kubernetes_version: str = "1.31") -> list[Finding]:
    """The consumer checks that apply to ``obj``'s kind (none for other kinds)."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind in RAY_KINDS:
        return check_ray_autoscaler(obj)
    if kind in DASK_KINDS:
        return check_dask_cluster(obj, kubernetes_version)
    return []
