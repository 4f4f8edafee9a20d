"""The raydask policies (issue 5) as pure functions: ``check(resource_type, props) -> [message]``.

``props`` are a resource's inputs as Pulumi registers them (``apiVersion``, ``kind``, ``metadata``, ``spec``, camelCase),
plain dicts and lists.  ``__main__.py`` wraps each :class:`Rule` in a pulumi-policy ``ResourceValidationPolicy``; the
tests call the functions directly.  Pod templates are expanded as the operators create the pods
(:mod:`raydask.offline.scan`: KubeRay's autoscaler sidecar and init container, the Dask operator's Deployments).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from raydask.k8s import images, pss
from raydask.k8s.secrets import plaintext_secret
from raydask.k8s.security import (
    BACKEND_AUTH_ANNOTATION,
    DASHBOARD_OPT_OUT_ANNOTATION,
    INGRESS_AUTH_ANNOTATIONS,
    no_limits,
    not_secret,
)
from raydask.offline import scan

K8S: Final = "kubernetes:"
RAY_CLUSTER: Final = "kubernetes:ray.io/v1:RayCluster"
RAY_JOB: Final = "kubernetes:ray.io/v1:RayJob"
RAY_SERVICE: Final = "kubernetes:ray.io/v1:RayService"
DASK_CLUSTER: Final = "kubernetes:kubernetes.dask.org/v1:DaskCluster"
DASK_WORKER_GROUP: Final = "kubernetes:kubernetes.dask.org/v1:DaskWorkerGroup"
DASK_AUTOSCALER: Final = "kubernetes:kubernetes.dask.org/v1:DaskAutoscaler"
DASK_JOB: Final = "kubernetes:kubernetes.dask.org/v1:DaskJob"
CONFIG_MAP: Final = "kubernetes:core/v1:ConfigMap"
INGRESS: Final = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY: Final = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
SERVICE: Final = "kubernetes:core/v1:Service"
DEPLOYMENT: Final = "kubernetes:apps/v1:Deployment"
WORKLOADS: Final = ("kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:DaemonSet", "kubernetes:batch/v1:Job",
                    "kubernetes:batch/v1:CronJob", "kubernetes:core/v1:Pod")
RAY: Final = (RAY_CLUSTER, RAY_JOB, RAY_SERVICE)
DASK: Final = (DASK_CLUSTER, DASK_WORKER_GROUP)
POD_MAKERS: Final = (*RAY, *DASK, DEPLOYMENT, *WORKLOADS)
DASHBOARD_PORTS: Final = frozenset({"dashboard", "http-dashboard", 8265, 8787, 8788})
"""Ray dashboard / job API and Dask scheduler and worker dashboards, by name and number (they run code or show the data)."""
CLIENT_PORTS: Final = frozenset({"client", "tcp-comm", 10001, 8786})
"""Ray client and Dask scheduler ports: unauthenticated code execution when exposed."""

Check = Callable[[str, Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Rule:
    """One policy: its name, what it enforces, the resource types it applies to and its check."""

    name: str
    description: str
    types: tuple[str, ...]
    check: Check


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def manifest(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """The Kubernetes object of a resource: its props, ``apiVersion`` / ``kind`` taken from the type when absent."""
    group_version, _, kind = resource_type.removeprefix(K8S).rpartition(":")
    api = group_version.removeprefix("core/")
    return {"apiVersion": props.get("apiVersion") or api, "kind": props.get("kind") or kind, **dict(props)}


def templates(resource_type: str, props: Mapping[str, Any]) -> list[scan.PodTemplate]:
    """Pod templates of a resource as the operators create the pods."""
    return scan.templates_of(manifest(resource_type, props))


def _where(t: scan.PodTemplate, path: str) -> str:
    """A path inside ``t.template`` as a path in the resource (``spec.workerGroupSpecs[0].template.spec…``)."""
    return t.locate(path)


def _containers(t: scan.PodTemplate) -> Iterable[tuple[str, Mapping[str, Any]]]:
    return pss.containers(_map(t.template.get("spec")), "spec")


# --------------------------------------------------------------------------------------------------------------
# checks
# --------------------------------------------------------------------------------------------------------------


def check_pod_security(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every pod the resource makes passes Pod Security Standards "restricted", or the level its
    ``raydask.io/pod-security`` annotation declares (an explicit exception from the configuration's ``podSecurity``)."""
    return [f"{_where(t, v.path.removeprefix('template.'))}: {v.message} (Pod Security {level}: {v.control})"
            for t in templates(resource_type, props)
            for level in [pss.declared_level(_map(t.template).get("metadata"))] for v in pss.check_template(t.template, level=level)]


def check_resources(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container has CPU and memory requests and limits, but the limits its pod's ``raydask.io/no-limits``
    annotation removes on purpose."""
    out = []
    for t in templates(resource_type, props):
        unlimited = no_limits(_map(_map(t.template.get("metadata")).get("annotations")))
        for path, c in _containers(t):
            resources = _map(c.get("resources"))
            missing = [f"{kind}.{r}" for kind in ("requests", "limits") for r in ("cpu", "memory")
                       if _map(resources.get(kind)).get(r) in (None, "")
                       and not (kind == "limits" and (c.get("name"), r) in unlimited)]
            if missing:
                out.append(f"{_where(t, path + '.resources')}: container '{c.get('name', '?')}' has no {', '.join(missing)}")
    return out


def check_images(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every container image is pinned: a version tag (not ``latest``) or a digest."""
    out = []
    for t in templates(resource_type, props):
        for path, c in _containers(t):
            image = c.get("image")
            try:
                images.check_pinned(str(image or ""))
            except ValueError as exc:
                reason = "has no image" if not image else str(exc)
                out.append(f"{_where(t, path + '.image')}: container '{c.get('name', '?')}' {reason}")
    return out


def check_ingress_tls(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """An Ingress serves HTTPS for every host it routes."""
    spec = _map(props.get("spec"))
    tls = _list(spec.get("tls"))
    if not tls:
        return ["spec.tls: required: every Ingress serves HTTPS (add a tls entry with the certificate's secretName)"]
    covered = {h for entry in tls for h in _list(_map(entry).get("hosts"))}
    out = [f"spec.tls[{i}].secretName: required" for i, entry in enumerate(tls) if not _map(entry).get("secretName")]
    for i, rule in enumerate(_list(spec.get("rules"))):
        host = _map(rule).get("host")
        if host and host not in covered:
            out.append(f"spec.rules[{i}].host: '{host}' is not covered by spec.tls[*].hosts, so it is served over plain HTTP")
    return out


def _annotations(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(_map(props.get("metadata")).get("annotations"))


def opted_out(props: Mapping[str, Any]) -> bool:
    """The resource carries the documented opt-out annotation."""
    return str(_annotations(props).get(DASHBOARD_OPT_OUT_ANNOTATION, "")).lower() == "true"


def auth_annotation(annotations: Mapping[str, Any]) -> str | None:
    """The annotation that puts authentication in front of the backend (Ingress auth, or Ray token auth behind it)."""
    if str(annotations.get(BACKEND_AUTH_ANNOTATION, "")).strip():
        return BACKEND_AUTH_ANNOTATION
    for key, off in INGRESS_AUTH_ANNOTATIONS.items():
        value = str(annotations.get(key, "")).strip()
        if value and value.lower() not in off:
            return key
    return None


def _port_key(port: Mapping[str, Any]) -> Any:
    return port.get("name") if port.get("name") is not None else port.get("number")


def check_dashboard_exposure(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Dashboards (and Ray client / Dask scheduler ports) are not exposed beyond ClusterIP without TLS and authentication,
    unless the resource carries ``raydask.io/allow-unauthenticated-dashboard: "true"``."""
    if opted_out(props):
        return []
    keys = ", ".join([*INGRESS_AUTH_ANNOTATIONS, BACKEND_AUTH_ANNOTATION])
    fix = f'or annotate the resource {DASHBOARD_OPT_OUT_ANNOTATION}: "true" to accept the risk'
    spec = _map(props.get("spec"))
    if resource_type == INGRESS:
        out = []
        for i, rule in enumerate(_list(spec.get("rules"))):
            for j, path in enumerate(_list(_map(_map(rule).get("http")).get("paths"))):
                port = _map(_map(_map(_map(path).get("backend")).get("service")).get("port"))
                if _port_key(port) not in DASHBOARD_PORTS:
                    continue
                where = f"spec.rules[{i}].http.paths[{j}]"
                if not _list(spec.get("tls")):
                    out.append(f"{where}: routes to dashboard port '{_port_key(port)}' without TLS (spec.tls), {fix}")
                if auth_annotation(_annotations(props)) is None:
                    out.append(f"{where}: routes to dashboard port '{_port_key(port)}' without an authentication annotation "
                               f"({keys}), {fix}")
        return out
    if resource_type == SERVICE:
        if spec.get("type") not in ("LoadBalancer", "NodePort") or auth_annotation(_annotations(props)):
            return []
        return [f"spec.ports[{i}]: {spec.get('type')} exposes port '{_port_key(_map(p)) or _map(p).get('port')}' outside the "
                f"cluster without authentication ({BACKEND_AUTH_ANNOTATION}: ray-token when the Ray head checks tokens), {fix}"
                for i, p in enumerate(_list(spec.get("ports")))
                if {_map(p).get("name"), _map(p).get("port")} & (DASHBOARD_PORTS | CLIENT_PORTS)]
    if resource_type in RAY:
        out = []
        for base, cluster in _ray_cluster_specs(resource_type, spec):
            head_type = _map(cluster.get("headGroupSpec")).get("serviceType") or "ClusterIP"
            if head_type != "ClusterIP" and _map(cluster.get("authOptions")).get("mode") != "token":
                out.append(f"{base}.headGroupSpec.serviceType: {head_type} exposes the dashboard, job API and Ray client outside "
                           f"the cluster without Ray token authentication (authOptions.mode: token), {fix}")
        return out
    if resource_type in (DASK_CLUSTER, DASK_JOB):
        base = "spec" if resource_type == DASK_CLUSTER else "spec.cluster.spec"
        cluster = spec if resource_type == DASK_CLUSTER else _map(_map(spec.get("cluster")).get("spec"))
        service_type = _map(_map(cluster.get("scheduler")).get("service")).get("type") or "ClusterIP"
        if service_type != "ClusterIP":
            return [f"{base}.scheduler.service.type: {service_type} exposes the Dask dashboard and scheduler outside the "
                    f"cluster without authentication, {fix}"]
    return []


def _ray_cluster_specs(resource_type: str, spec: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    found = {RAY_CLUSTER: ("spec", spec), RAY_JOB: ("spec.rayClusterSpec", spec.get("rayClusterSpec")),
             RAY_SERVICE: ("spec.rayClusterConfig", spec.get("rayClusterConfig"))}.get(resource_type)
    return [(found[0], found[1])] if found and isinstance(found[1], Mapping) else []


def check_redis_password(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The Redis password of GCS fault tolerance comes from a Secret (``valueFrom``), never plaintext in the object."""
    out = []
    for base, cluster in _ray_cluster_specs(resource_type, _map(props.get("spec"))):
        password = _map(cluster.get("gcsFaultToleranceOptions")).get("redisPassword")
        if password is not None:
            value_from = _map(_map(password).get("valueFrom"))
            if "value" in _map(password) or not value_from:
                out.append(f"{base}.gcsFaultToleranceOptions.redisPassword: must be valueFrom.secretKeyRef, not a plaintext "
                           "value (it would be stored in the object and the Pulumi state)")
    return out


def _yaml(text: Any) -> Any:
    import yaml

    try:
        return yaml.safe_load(text) if isinstance(text, str) else None
    except yaml.YAMLError:
        return None


def _nested(value: Any, where: str, name: str = "") -> list[tuple[str, str, Any]]:
    """(path, name, value) of every scalar in nested mappings and lists, named by its nearest mapping key."""
    if isinstance(value, Mapping):
        return [x for k, v in value.items() for x in _nested(v, f"{where}.{k}", str(k))]
    if isinstance(value, list | tuple):
        return [x for i, v in enumerate(value) for x in _nested(v, f"{where}[{i}]", name)]
    return [(where, name, value)]


def check_plaintext_secrets(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No secret-looking value (:mod:`raydask.k8s.secrets`: the rule raydask applies at config time) in plaintext in
    an object: container env, ``rayStartParams``, runtime environments, Serve config, ConfigMap data; names the
    resource's ``raydask.io/not-secret`` annotation lists (the workload's ``notSecret``) excepted."""
    allowed = not_secret(_annotations(props))
    found: list[tuple[str, str, Any]] = []
    for t in templates(resource_type, props):
        for path, c in _containers(t):
            found += [(_where(t, f"{path}.env[{j}]"), str(_map(e).get("name")), _map(e).get("value"))
                      for j, e in enumerate(_list(c.get("env"))) if "value" in _map(e)]
    spec = _map(props.get("spec"))
    for base, cluster in _ray_cluster_specs(resource_type, spec):
        for gpath, group in _groups(cluster, base):
            found += [(f"{gpath}.rayStartParams.{k}", str(k), v) for k, v in _map(group.get("rayStartParams")).items()]
    if resource_type == RAY_JOB:
        env = _map(_map(_yaml(spec.get("runtimeEnvYAML"))).get("env_vars"))
        found += [(f"spec.runtimeEnvYAML env_vars.{k}", str(k), v) for k, v in env.items()]
    if resource_type == RAY_SERVICE:
        for i, app in enumerate(_list(_map(_yaml(spec.get("serveConfigV2"))).get("applications"))):
            where = f"spec.serveConfigV2 applications[{i}]"
            env = _map(_map(_map(app).get("runtime_env")).get("env_vars"))
            found += [(f"{where}.runtime_env.env_vars.{k}", str(k), v) for k, v in env.items()]
            found += _nested(_map(app).get("args") or {}, f"{where}.args")
            for j, d in enumerate(_list(_map(app).get("deployments"))):
                found += _nested(_map(d).get("user_config") or {}, f"{where}.deployments[{j}].user_config")
    if resource_type == CONFIG_MAP:
        found += [(f"data.{k}", str(k), v) for k, v in _map(props.get("data")).items()]
    return [f"{where}: {name} looks like a secret ({reason}) given in plaintext: take it from a Secret "
            "(valueFrom.secretKeyRef, a Pulumi secret in raydask: a workload's secrets), or list it in the workload's notSecret"
            for where, name, value in found if name not in allowed and (reason := plaintext_secret(name, value))]


def _groups(cluster: Mapping[str, Any], base: str) -> list[tuple[str, Mapping[str, Any]]]:
    head = [(f"{base}.headGroupSpec", _map(cluster.get("headGroupSpec")))] if "headGroupSpec" in cluster else []
    return head + [(f"{base}.workerGroupSpecs[{i}]", _map(g)) for i, g in enumerate(_list(cluster.get("workerGroupSpecs")))]


def check_ray_start_params(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every ``rayStartParams`` value is a string (KubeRay's CRD and ``ray start`` flags take strings)."""
    out = []
    for base, cluster in _ray_cluster_specs(resource_type, _map(props.get("spec"))):
        for gpath, group in _groups(cluster, base):
            for key, value in _map(group.get("rayStartParams")).items():
                if not isinstance(value, str):
                    out.append(f"{gpath}.rayStartParams.{key}: must be a string, got {type(value).__name__} {value!r} "
                               f"(quote it: '{key}: \"{str(value).lower() if isinstance(value, bool) else value}\"')")
    return out


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_replicas(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Replica bounds are sane: minReplicas ≤ replicas ≤ maxReplicas, none negative; DaskAutoscaler minimum ≤ maximum."""
    spec = _map(props.get("spec"))
    out = []
    if resource_type == DASK_AUTOSCALER:
        low, high = _count(spec.get("minimum")), _count(spec.get("maximum"))
        if low is not None and high is not None and low > high:
            out.append(f"spec.minimum: {low} is greater than spec.maximum {high}")
        return out
    if resource_type in DASK:
        worker = _map(spec.get("worker"))
        replicas = _count(worker.get("replicas"))
        if replicas is not None and replicas < 0:
            out.append(f"spec.worker.replicas: must be ≥ 0, got {replicas}")
        return out
    for base, cluster in _ray_cluster_specs(resource_type, spec):
        for i, group in enumerate(_list(cluster.get("workerGroupSpecs"))):
            group = _map(group)
            gpath = f"{base}.workerGroupSpecs[{i}]"
            low, high, replicas = (_count(group.get(k)) for k in ("minReplicas", "maxReplicas", "replicas"))
            for key, value in (("minReplicas", low), ("maxReplicas", high), ("replicas", replicas)):
                if value is not None and value < 0:
                    out.append(f"{gpath}.{key}: must be ≥ 0, got {value}")
            if low is not None and high is not None and low > high:
                out.append(f"{gpath}.minReplicas: {low} is greater than maxReplicas {high}")
            elif replicas is not None and low is not None and high is not None and not low <= replicas <= high:
                out.append(f"{gpath}.replicas: {replicas} is outside [minReplicas {low}, maxReplicas {high}]")
    return out


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """A label selector (``matchLabels``, ``matchExpressions``; empty: everything) matches ``labels``."""
    if any(labels.get(k) != v for k, v in _map(selector.get("matchLabels")).items()):
        return False
    for e in _list(selector.get("matchExpressions")):
        e = _map(e)
        key, op, values = str(e.get("key")), e.get("operator"), _list(e.get("values"))
        value = labels.get(key)
        present = key in labels
        if not {"In": present and value in values, "NotIn": not present or value not in values,
                "Exists": present, "DoesNotExist": not present}.get(str(op), False):
            return False
    return True


def _policy_types(spec: Mapping[str, Any]) -> set[str]:
    """A NetworkPolicy's ``policyTypes`` (defaulted as the API server does: Ingress, plus Egress with egress rules)."""
    given = _list(spec.get("policyTypes"))
    return {str(t) for t in given} if given else {"Ingress", *(["Egress"] if spec.get("egress") else [])}


def check_network_isolation(resources: Iterable[tuple[str, Mapping[str, Any]]]) -> list[str]:
    """Every pod the stack makes (as the operators create it) is selected by NetworkPolicies of the stack, in its namespace,
    that isolate it for both ingress and egress."""
    objects = [(t, manifest(t, props)) for t, props in resources]
    policies = [o for t, o in objects if t == NETWORK_POLICY]
    makers = [o for t, o in objects if t in POD_MAKERS]
    out = []
    for t in scan.pod_templates(makers):
        labels = _map(_map(t.template.get("metadata")).get("labels"))
        covered: set[str] = set()
        for policy in policies:
            spec = _map(policy.get("spec"))
            if (_map(policy.get("metadata")).get("namespace") or "default") == t.namespace and \
                    selects(_map(spec.get("podSelector")), labels):
                covered |= _policy_types(spec)
        missing = sorted({"Ingress", "Egress"} - covered)
        if missing:
            out.append(f"{t.source} ({t.name} pods): no NetworkPolicy in namespace {t.namespace} isolates them for "
                       f"{' and '.join(missing)} (raydask:networkPolicy creates them; to opt out, disable this policy in the "
                       "policy pack config)")
    return out


@dataclass(frozen=True)
class StackRule:
    """One policy over all of a stack's resources: its name, what it enforces and its check."""

    name: str
    description: str
    check: Callable[[Iterable[tuple[str, Mapping[str, Any]]]], list[str]]


STACK_RULES: Final = (
    StackRule("network-isolation", "Every Ray and Dask pod (and every other workload of the stack) is isolated by "
              "NetworkPolicies for ingress and egress.", check_network_isolation),
)
"""Policies that need the whole stack."""


RULES: Final = (
    Rule("pod-security-restricted", "Every pod (as KubeRay and the Dask operator create it) passes Pod Security Standards "
         "\"restricted\".", POD_MAKERS, check_pod_security),
    Rule("container-resources", "Every container has CPU and memory requests and limits (but limits removed on purpose).",
         POD_MAKERS, check_resources),
    Rule("pinned-images", "No ':latest' or untagged container images.", POD_MAKERS, check_images),
    Rule("ingress-tls", "Every Ingress serves HTTPS for all its hosts.", (INGRESS,), check_ingress_tls),
    Rule("dashboard-exposure", "Dashboards, the Ray client and the Dask scheduler are not exposed beyond ClusterIP without TLS "
         f"and authentication (opt out per resource: {DASHBOARD_OPT_OUT_ANNOTATION}: \"true\").",
         (INGRESS, SERVICE, *RAY, DASK_CLUSTER, DASK_JOB), check_dashboard_exposure),
    Rule("redis-password-secret", "The GCS fault-tolerance Redis password is a Secret reference, never plaintext.", RAY,
         check_redis_password),
    Rule("plaintext-secrets", "No secret-looking value in plaintext (env, rayStartParams, runtime environments, Serve config, "
         "ConfigMap data) but the names a workload's notSecret lists.", (*POD_MAKERS, DASK_JOB, CONFIG_MAP),
         check_plaintext_secrets),
    Rule("ray-start-params-strings", "rayStartParams values are strings.", RAY, check_ray_start_params),
    Rule("replica-bounds", "minReplicas ≤ replicas ≤ maxReplicas, no negative counts, DaskAutoscaler minimum ≤ maximum.",
         (*RAY, *DASK, DASK_AUTOSCALER), check_replicas),
)
"""Every policy of the pack."""


def violations(resource_type: str, props: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{policy name: messages}`` of every rule that applies to ``resource_type`` and fails."""
    out = {}
    for rule in RULES:
        if resource_type in rule.types:
            messages = rule.check(resource_type, props)
            if messages:
                out[rule.name] = messages
    return out
