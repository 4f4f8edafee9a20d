"""Cross-object references over a whole list of manifests (check ``references``).

* every Service selector selects at least one pod template, and its named ``targetPort``\\ s exist on those pods;
* every Ingress backend Service exists -- in the list, or created by an operator -- and has the backend port;
* every ServiceMonitor selects a Service (``selector`` + ``namespaceSelector``) with each endpoint's ``port`` name;
* every PodMonitor selects a pod template with each endpoint's ``port`` name / ``portNumber``;
* every NetworkPolicy ``podSelector`` selects at least one pod template.

Pod templates come from workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod), from Ray
custom resources with the labels KubeRay puts on their pods, and from the Dask operator's expansion of DaskCluster,
DaskWorkerGroup and DaskJob.  Services created by operators are known too: KubeRay's ``<cluster>-head-svc`` (ports of
the head container, or KubeRay's defaults, plus ``metrics``), a RayService's ``<name>-head-svc`` and
``<name>-serve-svc``, the Dask operator's ``<cluster>-scheduler``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from typing import Any

from raydask.offline.validation import Finding, crd, ref_of
from raydask.offline.validation.builtin import join, selector_matches

CHECK = "references"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")

# KubeRay (ray-operator/controllers/ray/utils/constant.go)
RAY_NODE = "ray.io/is-ray-node"
RAY_CLUSTER = "ray.io/cluster"
RAY_NODE_TYPE = "ray.io/node-type"
RAY_GROUP = "ray.io/group"
RAY_ID = "ray.io/identifier"
RAY_SERVE = "ray.io/serve"
RAY_FROM_NAME = "ray.io/originated-from-cr-name"
RAY_FROM_CRD = "ray.io/originated-from-crd"
APP_NAME = "app.kubernetes.io/name"
CREATED_BY = "app.kubernetes.io/created-by"
RAY_DEFAULT_PORTS = {"client": 10001, "gcs-server": 6379, "dashboard": 8265, "metrics": 8080, "serve": 8000}
ENABLE_SERVE_SERVICE = "ray.io/enable-serve-service"


@dataclass
class PodTemplate:
    """Labels and container ports of the pods one template produces."""

    namespace: str
    labels: dict[str, Any]
    ports: list[dict[str, Any]]
    source: str
    wildcard: frozenset[str] = frozenset()

    def port_names(self) -> set[str]:
        return {str(p["name"]) for p in self.ports if p.get("name")}

    def port_numbers(self) -> set[Any]:
        return {p.get("containerPort") for p in self.ports}


@dataclass
class ServiceInfo:
    """A Service in the list or one an operator creates."""

    namespace: str
    name: str
    labels: dict[str, Any]
    ports: list[dict[str, Any]]
    source: str
    selector: dict[str, Any] | None = None
    owner: dict[str, Any] | None = None
    selector_path: str = "spec.selector"
    ports_path: str = "spec.ports"
    extra: dict[str, Any] = field(default_factory=dict)

    def describe_ports(self) -> str:
        shown = [f"{p.get('name') or '-'}:{p.get('port')}" for p in self.ports]
        return ", ".join(shown) or "none"


def _ns(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    return ns if isinstance(ns, str) and ns else "default"


def _service_info(ns: str, service: dict[str, Any], source: str, owner: dict[str, Any], selector_path: str = "spec.selector",
                  ports_path: str = "spec.ports") -> ServiceInfo:
    """A v1 Service's namespace, name, labels, ports and selector (the paths: where ``owner`` keeps the latter two)."""
    spec = _dict(service.get("spec"))
    return ServiceInfo(ns, _name(service), dict(_dict(_dict(service.get("metadata")).get("labels"))),
                       [p for p in _list(spec.get("ports")) if isinstance(p, dict)], source,
                       selector=_dict(spec.get("selector")) or None, owner=owner, selector_path=selector_path,
                       ports_path=ports_path)


def _name(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else "?"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _template_ports(pod_spec: Any) -> list[dict[str, Any]]:
    ports = []
    for container in _list(_dict(pod_spec).get("containers")):
        for port in _list(_dict(container).get("ports")):
            if isinstance(port, dict):
                ports.append(port)
    return ports


def _template(
    namespace: str, template: Any, source: str, extra: dict[str, Any] | None = None, wildcard: frozenset[str] = frozenset()
) -> PodTemplate:
    template = _dict(template)
    labels = dict(_dict(_dict(template.get("metadata")).get("labels")))
    if extra:
        labels.update(extra)
    return PodTemplate(namespace, labels, _template_ports(template.get("spec")), source, wildcard)


# --------------------------------------------------------------------------------------------------------------
# KubeRay naming (ray-operator/controllers/ray/utils/util.go)
# --------------------------------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """KubeRay's ``CheckName``: keep the last 50 characters; no leading digit or punctuation."""
    if len(name) > 50:
        name = name[len(name) - 50 :]
    if name and (name[0].isdigit() or name[0] in string.punctuation):
        name = "r" + name[1:]
    return name


def check_label(value: str) -> str:
    """KubeRay's ``CheckLabel``: keep the last 63 characters; no leading punctuation."""
    if len(value) > 63:
        value = value[len(value) - 63 :]
    if value and value[0] in string.punctuation:
        value = "r" + value[1:]
    return value


def kuberay_pod_labels(cluster: str, node_type: str, group: str, template_labels: dict[str, Any]) -> dict[str, Any]:
    """The labels KubeRay puts on a Ray pod (``labelPod``): its own, overridden by the template's except
    ``ray.io/node-type``, ``ray.io/group`` and ``ray.io/cluster``."""
    labels: dict[str, Any] = {
        RAY_NODE: "yes",
        RAY_CLUSTER: cluster,
        RAY_NODE_TYPE: node_type,
        RAY_GROUP: group,
        RAY_ID: check_label(f"{cluster}-{node_type}"),
        APP_NAME: "kuberay",
        CREATED_BY: "kuberay-operator",
    }
    for key, value in template_labels.items():
        if key not in (RAY_NODE_TYPE, RAY_GROUP, RAY_CLUSTER):
            labels[key] = value
    return labels


def ray_head_ports(cluster_spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Ports of KubeRay's head Service: the Ray container's ports (unnamed -> ``<port>-port``) or KubeRay's
    defaults when it declares none, plus ``metrics`` 8080 when missing."""
    head = _dict(cluster_spec.get("headGroupSpec"))
    containers = _list(_dict(_dict(head.get("template")).get("spec")).get("containers"))
    ports: dict[str, Any] = {}
    for port in _list(_dict(containers[0] if containers else {}).get("ports")):
        if isinstance(port, dict) and port.get("containerPort") is not None:
            ports[str(port.get("name") or f"{port['containerPort']}-port")] = port["containerPort"]
    if not ports:
        ports = dict(RAY_DEFAULT_PORTS)
    ports.setdefault("metrics", RAY_DEFAULT_PORTS["metrics"])
    return [{"name": name, "port": number, "targetPort": number} for name, number in sorted(ports.items())]


def _ray_templates(
    namespace: str, cluster: str, spec: dict[str, Any], source: str, extra: dict[str, Any], wildcard: frozenset[str]
) -> list[PodTemplate]:
    out = []
    head = _dict(spec.get("headGroupSpec"))
    template = _dict(head.get("template"))
    labels = kuberay_pod_labels(cluster, "head", "headgroup", _dict(_dict(template.get("metadata")).get("labels")))
    out.append(PodTemplate(namespace, {**labels, **extra}, _template_ports(template.get("spec")), f"{source} head", wildcard))
    for group in _list(spec.get("workerGroupSpecs")):
        group = _dict(group)
        template = _dict(group.get("template"))
        gname = str(group.get("groupName"))
        labels = kuberay_pod_labels(cluster, "worker", gname, _dict(_dict(template.get("metadata")).get("labels")))
        out.append(
            PodTemplate(namespace, {**labels, **extra}, _template_ports(template.get("spec")), f"{source} worker group {gname}", wildcard)
        )
    return out


# --------------------------------------------------------------------------------------------------------------
# collecting pods and Services
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _World:
    templates: list[PodTemplate] = field(default_factory=list)
    services: list[ServiceInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _dask_objects(obj: dict[str, Any], world: _World, dask_cluster_labels: dict[tuple[str, str], dict[str, Any]]) -> None:
    from raydask.offline.validation import consumers

    ns, ref = _ns(obj), ref_of(obj)
    try:
        if obj.get("kind") == "DaskWorkerGroup":
            cluster = str(_dict(obj.get("spec")).get("cluster"))
            expanded = consumers.expand_dask_worker_group(obj, dask_cluster_labels.get((ns, cluster)))
            paths = {"Deployment": ("spec.worker", "spec.worker")}
        elif obj.get("kind") == "DaskCluster":
            expanded = consumers.expand_dask_cluster(obj)
            paths = {"Service": ("spec.scheduler.service.selector", "spec.scheduler.service.ports")}
        else:
            expanded = consumers.expand_dask_job(obj)
            paths = {"Service": ("spec.cluster.spec.scheduler.service.selector", "spec.cluster.spec.scheduler.service.ports")}
    except Exception:  # reported by the dask-operator check
        return
    for item in expanded:
        kind = item.get("kind")
        if kind == "Deployment":
            world.templates.append(_template(ns, _dict(item.get("spec")).get("template"), f"{ref} ({kind} {_name(item)})"))
        elif kind == "Pod":
            world.templates.append(_template(ns, item, f"{ref} (Pod {_name(item)})"))
        elif kind == "Service":
            sel_path, ports_path = paths.get("Service", ("spec.selector", "spec.ports"))
            world.services.append(_service_info(ns, item, f"{ref} (Service {_name(item)} created by the Dask operator)", obj,
                                                selector_path=sel_path, ports_path=ports_path))


def _ray_objects(obj: dict[str, Any], world: _World) -> None:
    ns, name, ref = _ns(obj), _name(obj), ref_of(obj)
    kind = obj.get("kind")
    spec = _dict(obj.get("spec"))
    meta = _dict(obj.get("metadata"))
    if kind == "RayCluster":
        world.templates.extend(_ray_templates(ns, name, spec, ref, {}, frozenset()))
        head = _dict(spec.get("headGroupSpec"))
        head_service = _dict(head.get("headService"))
        head_template_labels = _dict(_dict(_dict(head.get("template")).get("metadata")).get("labels"))
        labels = {
            RAY_CLUSTER: name,
            RAY_NODE_TYPE: "head",
            RAY_ID: check_label(f"{name}-head"),
            APP_NAME: head_template_labels.get(APP_NAME, "kuberay"),
            CREATED_BY: "kuberay-operator",
        }
        svc_name = _dict(head_service.get("metadata")).get("name") or check_name(f"{name}-head-svc")
        ports = [p for p in _list(_dict(head_service.get("spec")).get("ports")) if isinstance(p, dict)] + ray_head_ports(spec)
        svc_labels = {**_dict(_dict(head_service.get("metadata")).get("labels")), **labels}
        world.services.append(ServiceInfo(ns, str(svc_name), svc_labels, ports, f"{ref} (head Service created by KubeRay)"))
        if _dict(meta.get("annotations")).get(ENABLE_SERVE_SERVICE) == "true":
            serve = [p for p in ray_head_ports(spec) if p["name"] == "serve"]
            serve_labels = {RAY_FROM_NAME: name, RAY_FROM_CRD: "RayCluster", RAY_SERVE: f"{name}-serve"}
            world.services.append(
                ServiceInfo(ns, check_name(f"{name}-serve-svc"), serve_labels, serve, f"{ref} (serve Service created by KubeRay)")
            )
    elif kind in ("RayJob", "RayService", "RayCronJob"):
        if kind == "RayService":
            cluster_spec = _dict(spec.get("rayClusterConfig"))
        elif kind == "RayJob":
            cluster_spec = _dict(spec.get("rayClusterSpec"))
        else:
            cluster_spec = _dict(_dict(spec.get("jobTemplate")).get("rayClusterSpec"))
        job = spec if kind == "RayJob" else _dict(spec.get("jobTemplate"))
        if kind != "RayService" and job.get("submissionMode", "K8sJobMode") == "K8sJobMode":  # KubeRay's submitter Job
            submitter = _dict(job.get("submitterPodTemplate"))
            labels = _dict(_dict(submitter.get("metadata")).get("labels"))
            world.templates.append(PodTemplate(ns, dict(labels), _template_ports(submitter.get("spec")), f"{ref} submitter"))
        if not cluster_spec:
            return
        # the RayCluster gets a generated name (<name>-<random> / <name>-raycluster-<random>): unknown here
        wildcard = frozenset({RAY_CLUSTER, RAY_ID, RAY_SERVE})
        extra = {RAY_FROM_NAME: name, RAY_FROM_CRD: "RayJob" if kind == "RayCronJob" else kind}
        world.templates.extend(_ray_templates(ns, name, cluster_spec, ref, extra, wildcard))
        if kind != "RayService":
            return
        head_labels = {RAY_FROM_NAME: name, RAY_FROM_CRD: "RayService", RAY_NODE_TYPE: "head", RAY_ID: check_label(f"{name}-head")}
        world.services.append(
            ServiceInfo(
                ns, check_name(f"{name}-head-svc"), head_labels, ray_head_ports(cluster_spec), f"{ref} (head Service created by KubeRay)"
            )
        )
        serve_service = _dict(spec.get("serveService"))
        serve_ports = [p for p in ray_head_ports(cluster_spec) if p["name"] == "serve"]
        if not serve_ports and serve_service:
            serve_ports = [
                p for p in _list(_dict(serve_service.get("spec")).get("ports")) if isinstance(p, dict) and p.get("name") == "serve"
            ]
        serve_labels = {
            **_dict(_dict(serve_service.get("metadata")).get("labels")),
            RAY_FROM_NAME: name,
            RAY_FROM_CRD: "RayService",
            RAY_SERVE: f"{name}-serve",
        }
        if not serve_ports and not serve_service:
            world.findings.append(
                Finding(
                    ref,
                    "spec.rayClusterConfig.headGroupSpec.template.spec.containers[0].ports",
                    "KubeRay cannot create the serve Service: the Ray head container declares ports but none named 'serve'",
                    CHECK,
                )
            )
            return
        serve_name = _dict(serve_service.get("metadata")).get("name") or check_name(f"{name}-serve-svc")
        world.services.append(ServiceInfo(ns, str(serve_name), serve_labels, serve_ports, f"{ref} (serve Service created by KubeRay)"))


def collect(objects: list[dict[str, Any]]) -> tuple[list[PodTemplate], list[ServiceInfo], list[Finding]]:
    """Pod templates and Services (declared or created by operators) of ``objects``."""
    world = _World()
    dask_cluster_labels = {
        (_ns(o), _name(o)): dict(_dict(_dict(o.get("metadata")).get("labels")))
        for o in objects
        if isinstance(o, dict) and o.get("kind") == "DaskCluster"
    }
    for obj in objects:
        if not isinstance(obj, dict):
            continue
        kind, ns, ref = obj.get("kind"), _ns(obj), ref_of(obj)
        spec = _dict(obj.get("spec"))
        if kind in WORKLOAD_KINDS:
            world.templates.append(_template(ns, spec.get("template"), ref))
        elif kind == "CronJob":
            world.templates.append(_template(ns, _dict(_dict(spec.get("jobTemplate")).get("spec")).get("template"), ref))
        elif kind == "Pod":
            world.templates.append(_template(ns, obj, ref))
        elif kind == "PodTemplate":
            world.templates.append(_template(ns, obj.get("template"), ref))
        elif kind == "Service" and obj.get("apiVersion") == "v1":
            world.services.append(_service_info(ns, obj, ref, obj))
        elif (
            kind in ("RayCluster", "RayJob", "RayService", "RayCronJob")
            and crd.split_api_version(str(obj.get("apiVersion")))[0] == "ray.io"
        ):
            _ray_objects(crd.stored_object(obj), world)
        elif kind in ("DaskCluster", "DaskWorkerGroup", "DaskJob"):
            _dask_objects(obj, world, dask_cluster_labels)
    return world.templates, world.services, world.findings


# --------------------------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------------------------


def _fmt_selector(selector: Any) -> str:
    if isinstance(selector, dict) and set(selector) <= {"matchLabels", "matchExpressions"}:
        parts = [f"{k}={v}" for k, v in _dict(selector.get("matchLabels")).items()]
        parts += [
            f"{_dict(e).get('key')} {_dict(e).get('operator')} {_dict(e).get('values') or ''}".strip()
            for e in _list(selector.get("matchExpressions"))
        ]
        return "{" + ", ".join(parts) + "}"
    return "{" + ", ".join(f"{k}={v}" for k, v in _dict(selector).items()) + "}"


def _selected_templates(templates: list[PodTemplate], namespace: str, selector: Any) -> list[PodTemplate]:
    return [t for t in templates if t.namespace == namespace and selector_matches(selector, t.labels, t.wildcard)]


def _service_checks(services: list[ServiceInfo], templates: list[PodTemplate]) -> list[Finding]:
    out = []
    for svc in services:
        if svc.selector is None or svc.owner is None:
            continue
        ref = ref_of(svc.owner)
        selected = _selected_templates(templates, svc.namespace, svc.selector)
        if not selected:
            out.append(
                Finding(
                    ref,
                    svc.selector_path,
                    f"selector {_fmt_selector(svc.selector)} of Service {svc.name} matches no pod template in namespace {svc.namespace}",
                    CHECK,
                )
            )
            continue
        names = set().union(*(t.port_names() for t in selected))
        for i, port in enumerate(svc.ports):
            target = port.get("targetPort")
            if isinstance(target, str) and target not in names:
                out.append(
                    Finding(
                        ref,
                        join(join(svc.ports_path, i), "targetPort"),
                        f"no pod selected by Service {svc.name} has a container port named {target!r} "
                        f"(named ports: {', '.join(sorted(names)) or 'none'})",
                        CHECK,
                    )
                )
    return out


def _find_service(services: list[ServiceInfo], namespace: str, name: Any) -> ServiceInfo | None:
    return next((s for s in services if s.namespace == namespace and s.name == name), None)


def _backend_findings(obj: dict[str, Any], backend: Any, path: str, services: list[ServiceInfo]) -> list[Finding]:
    service = _dict(_dict(backend).get("service"))
    if not service:
        return []
    ref, ns = ref_of(obj), _ns(obj)
    name = service.get("name")
    target = _find_service(services, ns, name)
    if target is None:
        return [
            Finding(
                ref,
                join(join(path, "service"), "name"),
                f"backend Service {name!r} does not exist in namespace {ns} (not in the manifests, not created by an operator)",
                CHECK,
            )
        ]
    port = _dict(service.get("port"))
    if "number" in port and port["number"] is not None:
        if not any(p.get("port") == port["number"] for p in target.ports):
            return [
                Finding(
                    ref,
                    join(join(join(path, "service"), "port"), "number"),
                    f"Service {name} has no port {port['number']} (ports: {target.describe_ports()})",
                    CHECK,
                )
            ]
    elif port.get("name") and not any(p.get("name") == port["name"] for p in target.ports):
        return [
            Finding(
                ref,
                join(join(join(path, "service"), "port"), "name"),
                f"Service {name} has no port named {port['name']!r} (ports: {target.describe_ports()})",
                CHECK,
            )
        ]
    return []


def _ingress_checks(obj: dict[str, Any], services: list[ServiceInfo]) -> list[Finding]:
    spec = _dict(obj.get("spec"))
    out = []
    if "defaultBackend" in spec:
        out += _backend_findings(obj, spec["defaultBackend"], "spec.defaultBackend", services)
    for i, rule in enumerate(_list(spec.get("rules"))):
        for j, p in enumerate(_list(_dict(_dict(rule).get("http")).get("paths"))):
            out += _backend_findings(obj, _dict(p).get("backend"), f"spec.rules[{i}].http.paths[{j}].backend", services)
    return out


def _namespaces(obj: dict[str, Any], all_namespaces: set[str]) -> set[str]:
    ns_selector = _dict(_dict(obj.get("spec")).get("namespaceSelector"))
    if ns_selector.get("any") is True:
        return all_namespaces
    names = _list(ns_selector.get("matchNames"))
    if names:
        return {str(n) for n in names}
    return {_ns(obj)}


OPERATOR_LABEL_DOMAINS = ("dask.org/", "ray.io/")
"""Labels an operator puts on what it creates for each cluster."""
CLUSTER_LABELS = frozenset({"dask.org/cluster-name", "ray.io/cluster", "dask.org/workergroup-name", "ray.io/group"})
"""Operator labels that name one cluster: a monitor selecting by them is for that cluster, not for clusters to come."""


def _for_later(monitor: dict[str, Any]) -> bool:
    """A monitor of what an operator creates for each of its clusters (selecting by the operator's own labels, as the Dask
    operator chart's do), or across every namespace: it also covers clusters created later, so matching nothing yet is
    expected, not a broken reference."""
    spec = _dict(monitor.get("spec"))
    if _dict(spec.get("namespaceSelector")).get("any") is True:
        return True
    selector = _dict(spec.get("selector"))
    keys = [*_dict(selector.get("matchLabels")), *(_dict(e).get("key") for e in _list(selector.get("matchExpressions")))]
    return (bool(keys) and all(isinstance(k, str) and k.startswith(OPERATOR_LABEL_DOMAINS) for k in keys)
            and not set(keys) & CLUSTER_LABELS)


def _service_monitor_checks(obj: dict[str, Any], services: list[ServiceInfo], all_namespaces: set[str]) -> list[Finding]:
    ref = ref_of(obj)
    spec = _dict(obj.get("spec"))
    selector = spec.get("selector")
    namespaces = _namespaces(obj, all_namespaces)
    selected = [s for s in services if s.namespace in namespaces and selector_matches(_dict(selector), s.labels)]
    if not selected and _for_later(obj):
        return []
    if not selected:
        where = ", ".join(sorted(namespaces))
        return [Finding(ref, "spec.selector", f"selector {_fmt_selector(selector)} matches no Service in namespace(s) {where}", CHECK)]
    out = []
    names = {str(p.get("name")) for s in selected for p in s.ports if p.get("name")}
    for i, endpoint in enumerate(_list(spec.get("endpoints"))):
        port = _dict(endpoint).get("port")
        if isinstance(port, str) and port not in names:
            shown = "; ".join(f"{s.name} [{s.describe_ports()}]" for s in selected)
            out.append(
                Finding(ref, f"spec.endpoints[{i}].port", f"no selected Service has a port named {port!r} (selected: {shown})", CHECK)
            )
    return out


def _pod_monitor_checks(obj: dict[str, Any], templates: list[PodTemplate], all_namespaces: set[str]) -> list[Finding]:
    ref = ref_of(obj)
    spec = _dict(obj.get("spec"))
    selector = _dict(spec.get("selector"))
    namespaces = _namespaces(obj, all_namespaces)
    selected = [t for t in templates if t.namespace in namespaces and selector_matches(selector, t.labels, t.wildcard)]
    if not selected and _for_later(obj):
        return []
    if not selected:
        return [
            Finding(
                ref,
                "spec.selector",
                f"selector {_fmt_selector(selector)} matches no pod template in namespace(s) {', '.join(sorted(namespaces))}",
                CHECK,
            )
        ]
    out = []
    names = set().union(*(t.port_names() for t in selected))
    numbers = set().union(*(t.port_numbers() for t in selected))
    for i, endpoint in enumerate(_list(spec.get("podMetricsEndpoints"))):
        endpoint = _dict(endpoint)
        port = endpoint.get("port")
        if isinstance(port, str) and port not in names:
            out.append(
                Finding(
                    ref,
                    f"spec.podMetricsEndpoints[{i}].port",
                    f"no selected pod has a container port named {port!r} (named ports: {', '.join(sorted(names)) or 'none'})",
                    CHECK,
                )
            )
        number = endpoint.get("portNumber")
        if number is not None and number not in numbers:
            out.append(Finding(ref, f"spec.podMetricsEndpoints[{i}].portNumber", f"no selected pod declares containerPort {number}", CHECK))
    return out


def _network_policy_checks(obj: dict[str, Any], templates: list[PodTemplate]) -> list[Finding]:
    selector = _dict(obj.get("spec")).get("podSelector")
    if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return []  # the empty selector selects every pod of the namespace
    ns = _ns(obj)
    if not _selected_templates(templates, ns, selector):
        return [
            Finding(
                ref_of(obj),
                "spec.podSelector",
                f"podSelector {_fmt_selector(selector)} matches no pod template in namespace {ns} "
                "(the policy applies to none of these pods)",
                CHECK,
            )
        ]
    return []


CLUSTER_SCOPED = (
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
)


def _duplicate_checks(objects: list[dict[str, Any]]) -> list[Finding]:
    """The same object (API group, kind, namespace, name) declared twice."""
    out = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for i, obj in enumerate(objects):
        kind = str(obj.get("kind"))
        key = (crd.split_api_version(str(obj.get("apiVersion")))[0], kind, "" if kind in CLUSTER_SCOPED else _ns(obj), _name(obj))
        if key in seen:
            out.append(
                Finding(ref_of(obj), "metadata.name", f"duplicate object: the same {kind} is already declared at index {seen[key]}", CHECK)
            )
        else:
            seen[key] = i
    return out


def check_references(objects: list[dict[str, Any]]) -> list[Finding]:
    """Findings of unresolved references (and duplicate objects) across ``objects``."""
    objects = [o for o in objects if isinstance(o, dict)]
    templates, services, findings = collect(objects)
    all_namespaces = {_ns(o) for o in objects}
    findings = [*_duplicate_checks(objects), *findings]
    findings += _service_checks(services, templates)
    for obj in objects:
        kind = obj.get("kind")
        group = crd.split_api_version(str(obj.get("apiVersion")))[0]
        if kind == "Ingress" and group.startswith("networking.k8s.io"):
            findings += _ingress_checks(obj, services)
        elif kind == "ServiceMonitor" and group == "monitoring.coreos.com":
            findings += _service_monitor_checks(obj, services, all_namespaces)
        elif kind == "PodMonitor" and group == "monitoring.coreos.com":
            findings += _pod_monitor_checks(obj, templates, all_namespaces)
        elif kind == "NetworkPolicy":
            findings += _network_policy_checks(obj, templates)
    return findings
