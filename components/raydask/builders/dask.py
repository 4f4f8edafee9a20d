"""Dask builders: the Dask operator's Helm values and release, and DaskCluster / DaskWorkerGroup / DaskAutoscaler /
dashboard Ingress objects.

Monitoring is the operator chart's: its scheduler ServiceMonitor selects every ``dask.org/component: scheduler``
Service and its worker PodMonitor every ``dask.org/component: worker`` pod (both on port ``http-dashboard``,
``/metrics``), so DaskClusters emit no monitors and nothing is scraped twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from raydask.builders.common import (
    Manifest,
    env_list,
    extra_volumes,
    ingress,
    ingress_url,
    obj,
    scheduling,
    tolerate_extended_resources,
    wait_patch,
)
from raydask.builders.network import Egress, network_policies
from raydask.builders.operators import OperatorPlan, chart_fullname, explicit_token_patch, operator_crds, release_args
from raydask.builders.overrides import apply_overrides
from raydask.k8s import images
from raydask.k8s import labels as lbl
from raydask.k8s.manifest import PulumiAnnotations, merge
from raydask.k8s.naming import DaskNames, service_fqdn
from raydask.k8s.ports import DaskPorts
from raydask.k8s.security import (
    DASHBOARD_OPT_OUT_ANNOTATION,
    DASK_GID,
    DASK_HOME,
    DASK_UID,
    DASK_USER,
    container_security_context,
    no_limits_annotation,
    pod_security_context,
)
from raydask.spec.base import MonitoringSpec
from raydask.spec.dask import (
    DASK_CHART,
    SCHEDULER_API_ROUTE,
    SCHEDULER_ROUTES_ENV,
    DaskClusterSpec,
    DaskJobSpec,
    DaskOperatorSpec,
    DaskPodSettings,
    DaskWorkerGroupSpec,
    DaskWorkerSpec,
)
from raydask.spec.security import NetworkPolicySpec

APP = "dask"
DASK_API = "kubernetes.dask.org/v1"
CHART = DASK_CHART
RELEASE = "dask-kubernetes-operator"
TMP_VOLUME = "dask-tmp"
"""emptyDir at ``/tmp``: the root filesystem is read-only."""
DEFAULT_SCHEDULER_ROUTES = (
    "distributed.http.scheduler.prometheus",
    "distributed.http.scheduler.info",
    "distributed.http.scheduler.json",
    "distributed.http.health",
    "distributed.http.proxy",
    "distributed.http.statics",
)
"""``distributed.scheduler.http.routes`` defaults (distributed.yaml); the API route is added to them."""


# --------------------------------------------------------------------------------------------------------------
# operator
# --------------------------------------------------------------------------------------------------------------


def monitors_enabled(spec: DaskOperatorSpec, monitoring: MonitoringSpec | None) -> bool:
    """Whether the chart's ServiceMonitor and PodMonitor are rendered."""
    return bool(spec.monitoring and monitoring and monitoring.enabled)


def _monitor_values(spec: DaskOperatorSpec, namespace: str, monitoring: MonitoringSpec | None,
                    target_labels: list[str]) -> dict[str, Any]:
    # Cluster-wide operators run DaskClusters anywhere; a namespaced one only in its own namespace.
    selector: dict[str, Any] = {"any": True} if spec.cluster_wide else {"matchNames": [namespace]}
    return {
        "enabled": monitors_enabled(spec, monitoring),
        "namespace": namespace,
        "namespaceSelector": selector,
        "additionalLabels": lbl.prometheus(monitoring.prometheus_release) if monitoring else {},
        "interval": monitoring.interval if monitoring else "30s",
        "jobLabel": "",
        "targetLabels": target_labels,
        "metricRelabelings": [],  # the scheduler template cannot render a non-empty list
    }


def operator_values(spec: DaskOperatorSpec, namespace: str, monitoring: MonitoringSpec | None) -> dict[str, Any]:
    """Values for the dask-kubernetes-operator chart."""
    ref = images.parse(spec.image or f"{images.DASK_OPERATOR_IMAGE}:{spec.version}")
    tag = f"{ref.tag}@{ref.digest}" if ref.digest else ref.tag
    on = monitors_enabled(spec, monitoring)
    values: dict[str, Any] = {
        "image": {"name": ref.repository, "tag": tag, "pullPolicy": images.pull_policy(str(ref), spec.image_pull_policy)},
        "rbac": {"create": True, "cluster": spec.cluster_wide},
        "kopfArgs": ["--all-namespaces"] if spec.cluster_wide else [f"--namespace={namespace}"],
        "podSecurityContext": pod_security_context(DASK_UID, DASK_GID),
        "securityContext": container_security_context(DASK_UID, DASK_GID, read_only_root=True),
        "resources": {
            "requests": {"cpu": spec.resources.cpu, "memory": spec.resources.memory},
            "limits": {"cpu": spec.resources.cpu_limit, "memory": spec.resources.memory},
        },
        "metrics": {
            "scheduler": {
                "enabled": on,
                "serviceMonitor": _monitor_values(spec, namespace, monitoring, [lbl.DASK_CLUSTER]),
            },
            "worker": {
                "enabled": on,
                "podMonitor": _monitor_values(spec, namespace, monitoring, [lbl.DASK_CLUSTER, lbl.DASK_WORKER_GROUP]),
            },
        },
    }
    merged = merge(values, spec.values, keys=())  # Helm replaces lists
    env = list(merged.get("extraEnv") or [])
    if not any(e.get("name") == "USER" for e in env if isinstance(e, dict)):  # kopf needs a user name (DASK_USER)
        merged["extraEnv"] = [*env, {"name": "USER", "value": DASK_USER}]
    return merged


def operator_network_policies(spec: DaskOperatorSpec, namespace: str, policy: NetworkPolicySpec | None) -> list[Manifest]:
    """NetworkPolicies of the operator pod: nothing in; out to DNS, the API server and the schedulers it manages (their
    HTTP API on 8787, the comm port 8786 as its fallback). None when ``policy`` is None."""
    if policy is None:
        return []
    name = str(spec.values.get("nameOverride") or CHART)
    schedulers = Egress((DaskPorts.COMM, DaskPorts.DASHBOARD), namespaces=() if spec.cluster_wide else (namespace,),
                        pods=((lbl.DASK_COMPONENT, "scheduler"),), all_namespaces=spec.cluster_wide)
    return network_policies(f"{RELEASE}-netpol", namespace, lbl.standard(CHART, RELEASE, "network-policy"),
                            {lbl.NAME: name, lbl.INSTANCE: RELEASE}, policy, api_server=[None], egress=[schedulers])


HEALTH_PORT = 8080
"""kopf's health endpoint (``--liveness=http://0.0.0.0:8080/healthz`` in the chart), which its liveness probe uses."""


def token_patch(spec: DaskOperatorSpec, namespace: str) -> Manifest:
    """Patch of the chart's Deployment: its token mounted explicitly, not automatically, and the readiness probe the chart
    lacks (kopf's health endpoint answers once the operator serves)."""
    probe = {"httpGet": {"path": "/healthz", "port": HEALTH_PORT}, "periodSeconds": 10, "timeoutSeconds": 5}
    return explicit_token_patch(chart_fullname(RELEASE, CHART, spec.values), namespace, CHART, probe)


def operator_plan(spec: DaskOperatorSpec, namespace: str, monitoring: MonitoringSpec | None,
                  policy: NetworkPolicySpec | None, crd_documents: Sequence[Manifest]) -> OperatorPlan:
    """The Dask operator: its CRDs (from ``crd_documents``, the chart's), the release, NetworkPolicies and the
    Deployment patch."""
    values = operator_values(spec, namespace, monitoring)
    return OperatorPlan(operator_crds(spec, RELEASE, crd_documents), release_args(spec, RELEASE, CHART, namespace, values),
                        tuple(operator_network_policies(spec, namespace, policy)), (token_patch(spec, namespace),))


# --------------------------------------------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DaskEndpoints:
    """Addresses of a Dask cluster."""

    scheduler_service: str
    scheduler_address: str
    dashboard_url: str
    dashboard_ingress_url: str | None = None


@dataclass(frozen=True)
class DaskClusterBuild:
    """Everything raydask declares for one Dask cluster."""

    cluster: Manifest
    worker_groups: list[Manifest] = field(default_factory=list)
    autoscalers: list[Manifest] = field(default_factory=list)
    ingresses: list[Manifest] = field(default_factory=list)
    endpoints: DaskEndpoints | None = None
    readiness: Manifest | None = None
    """The patch that makes ``pulumi up`` wait for the cluster (:func:`readiness_patch`); None when it does not."""

    def objects(self) -> list[Manifest]:
        """All objects, the DaskCluster first."""
        return [self.cluster, *self.worker_groups, *self.autoscalers, *self.ingresses]


def _ports(pairs: list[tuple[str, int]]) -> list[Manifest]:
    return [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in pairs]


def scheduler_routes() -> str:
    """Value of ``DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES``: the defaults plus the HTTP API (a Python/JSON list)."""
    return json.dumps([*DEFAULT_SCHEDULER_ROUTES, SCHEDULER_API_ROUTE])


def scheduler_args(spec: DaskClusterSpec) -> list[str]:
    """``dask scheduler`` command line."""
    return ["dask", "scheduler", "--host", "0.0.0.0", "--port", str(DaskPorts.COMM),
            "--dashboard-address", f":{DaskPorts.DASHBOARD}", *spec.scheduler.extra_args]


def _number(value: float) -> str:
    return format(value, "g")


def worker_args(group: DaskWorkerSpec) -> list[str]:
    """``dask worker`` command line: threads and memory from the container's resources, the dashboard where the Dask
    operator puts it (``--dashboard-address 8788``), fixed worker and nanny ports."""
    args = ["dask", "worker", "--name", "$(DASK_WORKER_NAME)",
            "--nthreads", str(group.threads), "--memory-limit", group.memory_limit_arg,
            "--dashboard-address", str(DaskPorts.WORKER_DASHBOARD),
            "--worker-port", str(DaskPorts.WORKER_COMM), "--nanny-port", str(DaskPorts.WORKER_NANNY)]
    if group.dask_resources:
        args += ["--resources", ",".join(f"{k}={_number(v)}" for k, v in group.dask_resources.items())]
    return [*args, *group.extra_args]


def _container(spec: DaskClusterSpec, group: DaskPodSettings, name: str, args: list[str], env: dict[str, str],
               ports: list[tuple[str, int]]) -> Manifest:
    _, mounts = extra_volumes(group.volumes)
    container: Manifest = {
        "name": name,
        "image": spec.image_for(group),
        "imagePullPolicy": images.pull_policy(spec.image_for(group), group.image_pull_policy),
        "args": args,
        "ports": _ports(ports),
        "resources": group.resources(),
        "securityContext": container_security_context(DASK_UID, DASK_GID, read_only_root=True),
        "workingDir": DASK_HOME,
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}, *mounts],  # worker space, spilling: tempfile.gettempdir()
        "env": env_list(home_env(env)),
    }
    return container


def home_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with ``HOME`` and ``USER`` for UID 10001, which has no passwd entry (``env`` wins)."""
    return {"HOME": DASK_HOME, "USER": DASK_USER, **env}


def _pod(spec: DaskClusterSpec, group: DaskPodSettings, component: str, container: Manifest) -> tuple[Manifest, Manifest]:
    """(metadata, pod spec) of a scheduler or worker template: only fields the embedded 1.21 PodSpec has."""
    volumes, _ = extra_volumes(group.volumes)
    pod: Manifest = {
        "containers": [container],
        "securityContext": pod_security_context(DASK_UID, DASK_GID),
        **scheduling(group),
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {}}, *volumes],
    }
    sa = group.service_account or spec.service_account
    if sa:
        pod["serviceAccountName"] = sa
    else:  # schedulers and workers never call the API server
        pod["automountServiceAccountToken"] = False
    metadata: Manifest = {"labels": lbl.pod(APP, spec.name, component, {**spec.labels, **group.labels})}
    if annotations := {**group.annotations, **no_limits_annotation({container["name"]: group.removed_limits})}:
        metadata["annotations"] = annotations
    template = tolerate_extended_resources(apply_overrides({"metadata": metadata, "spec": pod}, group, container["name"]))
    return template["metadata"], template["spec"]


def _probe() -> Manifest:
    return {"httpGet": {"port": DaskPorts.DASHBOARD_NAME, "path": "/health"}}


STARTUP_SECONDS = 300
"""How long a scheduler or worker may take to answer ``/health`` the first time (its startup probe) before the kubelet
restarts it. Found on the real node: with the liveness probe alone (first check after 15 s, three misses), a 500m
scheduler starting among a dozen pods on a busy node took longer, was killed, started over and never came up."""


def _startup_probe() -> Manifest:
    """``/health`` every 5 s until it answers, for up to :data:`STARTUP_SECONDS`; liveness and readiness wait for it."""
    return {**_probe(), "periodSeconds": 5, "failureThreshold": STARTUP_SECONDS // 5}


def scheduler(spec: DaskClusterSpec) -> Manifest:
    """``spec.scheduler``: pod template (with the HTTP API route) and the scheduler Service."""
    s = spec.scheduler
    env = {SCHEDULER_ROUTES_ENV: scheduler_routes(), **s.env}
    container = _container(spec, s, s.container_name, scheduler_args(spec), env, DaskPorts.scheduler())
    container["startupProbe"] = _startup_probe()
    container["readinessProbe"] = {**_probe(), "periodSeconds": 10}
    container["livenessProbe"] = {**_probe(), "periodSeconds": 20}
    metadata, pod = _pod(spec, s, "scheduler", container)
    service = {
        "type": s.service_type,
        "selector": lbl.dask_scheduler(spec.name),
        "ports": [{"name": n, "protocol": "TCP", "port": p, "targetPort": n} for n, p in DaskPorts.scheduler()],
    }
    if s.service_patch:
        service = merge(service, s.service_patch)
    return {"metadata": metadata, "spec": pod, "service": service}


def worker(spec: DaskClusterSpec, group: DaskWorkerSpec, component: str) -> Manifest:
    """``spec.worker`` of a DaskCluster or DaskWorkerGroup."""
    container = _container(spec, group, group.container_name, worker_args(group), dict(group.env), DaskPorts.worker())
    container["startupProbe"] = _startup_probe()
    container["readinessProbe"] = {**_probe(), "periodSeconds": 10}
    # lenient: a task holding the GIL can stall the worker's event loop for a while; only a hung worker is restarted
    container["livenessProbe"] = {**_probe(), "periodSeconds": 30, "timeoutSeconds": 10, "failureThreshold": 10}
    metadata, pod = _pod(spec, group, component, container)
    return {"replicas": group.replicas, "metadata": metadata, "spec": pod}


def group_component(group: DaskWorkerGroupSpec | None) -> str:
    """``app.kubernetes.io/component`` of a worker group's pods."""
    return f"worker-{group.name if group else 'default'}"


RUNNING = "{$[?@.phase=='Running' || @.phase=='Pending']}"
"""The Dask operator has created the cluster's scheduler, its Service and the default worker group: its status phase
is ``Running`` (the scheduler Service exists) or ``Pending`` (the components are created). Both count, because the
operator (dask-kubernetes 2026.3.0) races on the phase and can leave a running cluster ``Pending`` for good
(dask/dask-kubernetes#968); RFC 9535 JSONPath as the kubernetes provider's ``waitFor`` reads it."""


def dask_cluster(spec: DaskClusterSpec, namespace: str) -> Manifest:
    """The DaskCluster object. Its own updates never wait (``skipAwait``): the readiness patch's ``waitFor`` stays on
    the live object, and the provider reads it there."""
    body: Manifest = {}
    if spec.idle_timeout:
        body["idleTimeout"] = spec.idle_timeout
    body["scheduler"] = scheduler(spec)
    body["worker"] = worker(spec, spec.worker, group_component(None))
    return obj(DASK_API, "DaskCluster", spec.name, namespace, lbl.standard(APP, spec.name, "cluster", spec.labels),
               {**spec.annotations, **opt_out(spec), PulumiAnnotations.SKIP_AWAIT: "true"}, spec=body)


def readiness_patch(spec: DaskClusterSpec, namespace: str) -> Manifest | None:
    """A patch of the DaskCluster's annotations that makes ``pulumi up`` wait, once, after creating it, until the
    operator has created its scheduler and workers (:data:`RUNNING`); None when ``wait`` is off.

    A patch resource of its own, as a RayCluster's (:func:`raydask.builders.ray.readiness_patch`): after an update the
    provider records the object its wait observed, read from an informer's cache that can still hold the DaskCluster
    from before the update, already ``Running`` (Dask's status has no ``observedGeneration`` to tell them apart): the
    next ``up`` would apply the same update again. Annotations run none of the operator's handlers (``on.create``, and
    ``on.field`` of ``status.phase`` and ``spec.worker.replicas``)."""
    return wait_patch(DASK_API, "DaskCluster", spec.name, namespace, spec.wait, RUNNING)


def opt_out(spec: DaskClusterSpec) -> dict[str, str]:
    """The annotation telling policies the exposure is accepted (``dashboard.allowUnauthenticated``)."""
    return {DASHBOARD_OPT_OUT_ANNOTATION: "true"} if spec.dashboard.allow_unauthenticated else {}


def dask_worker_group(spec: DaskClusterSpec, group: DaskWorkerGroupSpec, namespace: str) -> Manifest:
    """An extra DaskWorkerGroup of the cluster."""
    labels = lbl.standard(APP, spec.name, group_component(group), {**spec.labels, lbl.DASK_CLUSTER: spec.name})
    return obj(DASK_API, "DaskWorkerGroup", DaskNames.worker_group(spec.name, group.name), namespace, labels,
               spec={"cluster": spec.name, "worker": worker(spec, group, group_component(group))})


def dask_autoscaler(spec: DaskClusterSpec, namespace: str) -> Manifest:
    """The DaskAutoscaler sizing the default worker group between minimum and maximum."""
    assert spec.autoscaling is not None
    return obj(DASK_API, "DaskAutoscaler", DaskNames.autoscaler(spec.name), namespace,
               lbl.standard(APP, spec.name, "autoscaler", {**spec.labels, lbl.DASK_CLUSTER: spec.name}),
               spec={"cluster": spec.name, "minimum": spec.autoscaling.minimum, "maximum": spec.autoscaling.maximum})


def endpoints(spec: DaskClusterSpec, namespace: str) -> DaskEndpoints:
    """Scheduler address and dashboard URLs."""
    svc = DaskNames.scheduler_service(spec.name)
    fqdn = service_fqdn(svc, namespace)
    return DaskEndpoints(
        scheduler_service=svc,
        scheduler_address=f"tcp://{fqdn}:{DaskPorts.COMM}",
        dashboard_url=f"http://{fqdn}:{DaskPorts.DASHBOARD}",
        dashboard_ingress_url=ingress_url(spec.dashboard.ingress) if spec.dashboard.ingress else None,
    )


def build_dask_cluster(spec: DaskClusterSpec, namespace: str) -> DaskClusterBuild:
    """Every object of one Dask cluster."""
    groups = [dask_worker_group(spec, g, namespace) for g in spec.worker_groups]
    autoscalers = [dask_autoscaler(spec, namespace)] if spec.autoscaled else []
    ingresses = []
    if spec.dashboard.ingress:
        dashboard = spec.dashboard.ingress
        dashboard = dashboard.model_copy(update={"annotations": {**dashboard.annotations, **opt_out(spec)}})
        ingresses.append(ingress(DaskNames.ingress(spec.name), namespace, lbl.standard(APP, spec.name, "dashboard", spec.labels),
                                 dashboard, DaskNames.scheduler_service(spec.name), DaskPorts.DASHBOARD_NAME))
    return DaskClusterBuild(dask_cluster(spec, namespace), groups, autoscalers, ingresses, endpoints(spec, namespace),
                            readiness_patch(spec, namespace))




@dataclass(frozen=True)
class DaskJobEndpoints:
    """Names and addresses of a Dask job (its cluster exists while the runner runs)."""

    cluster_name: str
    runner_pod: str
    scheduler_address: str
    dashboard_url: str


@dataclass(frozen=True)
class DaskJobBuild:
    """Everything raydask declares for one Dask job."""

    job: Manifest
    endpoints: DaskJobEndpoints


RUNNER_CONNECT_ENV = "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"
"""How long the runner's ``Client()`` tries to reach the scheduler (``distributed.comm.timeouts.connect``, Dask's default
30 s); raydask gives it the scheduler's startup window, :data:`STARTUP_SECONDS`. The Dask operator starts the runner
together with the job's scheduler, not after it. Found on the real node: a scheduler starting among a dozen pods
listened after more than 50 s, the runner gave up at 30 s and the DaskJob Failed. A user's own value wins."""


def runner_template(spec: DaskJobSpec) -> Manifest:
    """``spec.job``: the runner pod (restricted, never restarted: the operator reads its phase)."""
    r = spec.runner
    image = spec.image_for(r)
    volumes, mounts = extra_volumes(r.volumes)
    container: Manifest = {
        "name": r.container_name,
        "image": image,
        "imagePullPolicy": images.pull_policy(image, r.image_pull_policy),
        **({"command": list(spec.command)} if spec.command is not None else {}),  # else the image's entrypoint runs args
        **({"args": list(spec.args)} if spec.args else {}),
        "resources": r.resources(),
        "securityContext": container_security_context(DASK_UID, DASK_GID, read_only_root=True),
        "workingDir": DASK_HOME,
        "volumeMounts": [{"name": TMP_VOLUME, "mountPath": "/tmp"}, *mounts],
        "env": env_list(home_env({RUNNER_CONNECT_ENV: f"{STARTUP_SECONDS}s", **r.env})),
    }
    pod: Manifest = {
        "restartPolicy": "Never",
        "containers": [container],
        "securityContext": pod_security_context(DASK_UID, DASK_GID),
        **scheduling(r),
        "volumes": [{"name": TMP_VOLUME, "emptyDir": {}}, *volumes],
    }
    account = r.service_account or spec.service_account
    if account:
        pod["serviceAccountName"] = account
    else:  # the runner talks to the scheduler only
        pod["automountServiceAccountToken"] = False
    metadata: Manifest = {"labels": lbl.pod(APP, spec.name, "job-runner", {**spec.labels, **r.labels})}
    if annotations := {**r.annotations, **no_limits_annotation({r.container_name: r.removed_limits})}:
        metadata["annotations"] = annotations
    return tolerate_extended_resources(apply_overrides({"metadata": metadata, "spec": pod}, r, r.container_name))


def build_dask_job(spec: DaskJobSpec, namespace: str) -> DaskJobBuild:
    """The DaskJob: its runner and, as the operator copies them into the cluster it creates, the scheduler and workers."""
    cluster = spec.to_cluster(namespace)
    body = {"job": runner_template(spec),
            "cluster": {"spec": {"scheduler": scheduler(cluster), "worker": worker(cluster, cluster.worker, group_component(None))}}}
    job = obj(DASK_API, "DaskJob", spec.name, namespace, lbl.standard(APP, spec.name, "job", spec.labels),
              spec.annotations or None, spec=body)
    at = endpoints(cluster, namespace)
    return DaskJobBuild(job, DaskJobEndpoints(spec.name, f"{spec.name}-runner", at.scheduler_address, at.dashboard_url))
