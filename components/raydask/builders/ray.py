"""RayCluster builders: the RayCluster object, its extra Services, Ingresses and ServiceMonitor."""

from __future__ import annotations

from dataclasses import dataclass, field

from raydask.builders.common import (
    Manifest,
    env_list,
    extra_volumes,
    ingress,
    ingress_url,
    obj,
    pod_label_relabel,
    scheduling,
    service_monitor,
    shm_size,
    tolerate_extended_resources,
    wait_patch,
)
from raydask.builders.overrides import apply_overrides
from raydask.builders.ray_security import auth_options, gcs_fault_tolerance_options
from raydask.k8s import images
from raydask.k8s import labels as lbl
from raydask.k8s.manifest import PulumiAnnotations
from raydask.k8s.naming import RayNames, service_fqdn
from raydask.k8s.ports import RayPorts
from raydask.k8s.security import (
    BACKEND_AUTH_ANNOTATION,
    DASHBOARD_OPT_OUT_ANNOTATION,
    DEFAULT_GRACE_PERIOD,
    RAY_DRAIN_ENV,
    RAY_DRAIN_MARGIN,
    RAY_GID,
    RAY_HOME,
    RAY_HOME_VOLUME,
    RAY_SHM_VOLUME,
    RAY_UID,
    RAY_USER,
    RAY_WRITABLE,
    api_token_mount,
    api_token_volume,
    container_security_context,
    no_limits_annotation,
    pod_security_context,
)
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray import HeadSpec, RayClusterSpec, RayGroup, WorkerGroupSpec

APP = "ray"
RAY_API = "ray.io/v1"


@dataclass(frozen=True)
class RayEndpoints:
    """Addresses of a Ray cluster."""

    head_service: str
    client_address: str
    dashboard_url: str
    dashboard_ingress_url: str | None = None
    serve_ingress_url: str | None = None


@dataclass(frozen=True)
class RayClusterBuild:
    """Everything raydask declares for one Ray cluster."""

    cluster: Manifest
    services: list[Manifest] = field(default_factory=list)
    ingresses: list[Manifest] = field(default_factory=list)
    monitors: list[Manifest] = field(default_factory=list)
    endpoints: RayEndpoints | None = None

    def objects(self) -> list[Manifest]:
        """All objects, the RayCluster first."""
        return [self.cluster, *self.services, *self.ingresses, *self.monitors]

AUTOSCALER_CONTAINER = "autoscaler"
"""KubeRay's name for the autoscaler sidecar it adds to the head pod."""


def _container(spec: RayClusterSpec, group: RayGroup, name: str, ports: list[tuple[str, int]]) -> Manifest:
    _, mounts = extra_volumes(group.volumes)
    container: Manifest = {
        "name": name,
        "image": spec.image_for(group),
        "imagePullPolicy": images.pull_policy(spec.image_for(group), group.image_pull_policy),
        "resources": group.resources(),
        "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports],
        "volumeMounts": [*writable_mounts(), *mounts],
        "securityContext": container_security_context(RAY_UID, RAY_GID, read_only_root=True),
        "workingDir": RAY_HOME,
        "env": env_list({"HOME": RAY_HOME, "USER": RAY_USER, **group.env}),
    }
    return container


def drain_timeout(pod_spec: Manifest) -> str:
    """``RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S`` for a pod: :data:`RAY_DRAIN_MARGIN` under its grace period (0, no
    drain, when the grace period is shorter), so Ray's SIGTERM drain and teardown end before the kubelet's SIGKILL."""
    grace = pod_spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD)
    return str(max(int(grace) - RAY_DRAIN_MARGIN, 0))


def with_drain_timeout(template: Manifest, container_name: str) -> Manifest:
    """``template`` with the Ray container's drain timeout derived from the final pod's grace period, unless its env
    sets one."""
    main = next(c for c in template["spec"]["containers"] if c["name"] == container_name)
    env = main.get("env", [])
    if not any(e.get("name") == RAY_DRAIN_ENV for e in env):
        at = next((i for i, e in enumerate(env) if "valueFrom" in e or e["name"] > RAY_DRAIN_ENV), len(env))
        main["env"] = [*env[:at], {"name": RAY_DRAIN_ENV, "value": drain_timeout(template["spec"])}, *env[at:]]
    return template


def writable_volumes(group: RayGroup) -> list[Manifest]:
    """The emptyDirs Ray writes to; ``/dev/shm`` in memory, sized for the object store."""
    shm = {"medium": "Memory", "sizeLimit": shm_size(group, group.shm_fraction)}
    return [{"name": name, "emptyDir": shm if name == RAY_SHM_VOLUME else {}} for name, _ in RAY_WRITABLE]


def writable_mounts() -> list[Manifest]:
    """Mounts of the emptyDirs Ray writes to (the root filesystem is read-only)."""
    return [{"name": name, "mountPath": path} for name, path in RAY_WRITABLE]


def api_token_withheld(spec: RayClusterSpec, group: RayGroup) -> bool:
    """True when a group's pods get no service-account token: no service account set, no Kubernetes token auth (the
    head's autoscaler sidecar still gets one, mounted into it alone)."""
    k8s_auth = spec.auth is not None and spec.auth.k8s_token_auth
    return not (group.service_account or spec.service_account or k8s_auth)


def _autoscaled(spec: RayClusterSpec) -> bool:
    return bool(spec.autoscaling and spec.autoscaling.enabled)


def pod_template(spec: RayClusterSpec, group: RayGroup, component: str, container: Manifest) -> Manifest:
    """Pod template of a head or worker group."""
    volumes, _ = extra_volumes(group.volumes)
    pod_spec: Manifest = {
        "containers": [container],
        "volumes": [*writable_volumes(group), *volumes],
        "securityContext": pod_security_context(RAY_UID, RAY_GID),
        **scheduling(group),
    }
    sa = group.service_account or spec.service_account
    if sa:
        pod_spec["serviceAccountName"] = sa
    if api_token_withheld(spec, group):
        pod_spec["automountServiceAccountToken"] = False
        if isinstance(group, HeadSpec) and _autoscaled(spec):
            pod_spec["volumes"].append(api_token_volume())
    metadata: Manifest = {"labels": lbl.pod(APP, spec.name, component, {**spec.labels, **group.labels})}
    removed = {container["name"]: group.removed_limits}
    if isinstance(group, HeadSpec) and _autoscaled(spec):
        assert spec.autoscaling is not None
        removed[AUTOSCALER_CONTAINER] = spec.autoscaling.removed_limits
    if annotations := {**group.annotations, **no_limits_annotation(removed)}:
        metadata["annotations"] = annotations
    template = tolerate_extended_resources(apply_overrides({"metadata": metadata, "spec": pod_spec}, group, container["name"]))
    return with_drain_timeout(template, container["name"])


def head_start_params(head: HeadSpec) -> dict[str, str]:
    """``rayStartParams`` of the head: strings only."""
    params = {"dashboard-host": "0.0.0.0", "metrics-export-port": str(RayPorts.METRICS)}
    if not head.schedulable:
        params["num-cpus"] = "0"
    return {**params, **head.ray_start_params}


def worker_start_params(group: WorkerGroupSpec) -> dict[str, str]:
    """``rayStartParams`` of a worker group: strings only."""
    return {"metrics-export-port": str(RayPorts.METRICS), **group.ray_start_params}


def ray_group_fields(group: RayGroup) -> Manifest:
    """The group's Ray ``resources`` and ``labels`` (KubeRay ≥ 1.5), when set."""
    out: Manifest = {}
    if group.ray_resources:
        out["resources"] = dict(group.ray_resources)
    if group.ray_labels:
        out["labels"] = dict(group.ray_labels)
    return out


def head_group(spec: RayClusterSpec) -> Manifest:
    """``headGroupSpec``."""
    container = _container(spec, spec.head, spec.head.container_name, spec.head.ports())
    return {
        "rayStartParams": head_start_params(spec.head),
        **ray_group_fields(spec.head),
        "serviceType": spec.head.service_type,
        **({"headService": spec.head.service.template()} if spec.head.service else {}),
        "template": pod_template(spec, spec.head, "head", container),
    }


def worker_group(spec: RayClusterSpec, group: WorkerGroupSpec, embedded: bool = False) -> Manifest:
    """One entry of ``workerGroupSpecs``, always with min and max replicas; ``replicas`` when the cluster is not
    autoscaled. The Ray autoscaler owns ``replicas`` of an autoscaled group, so a RayCluster never carries it (an update
    never resets a group the autoscaler has scaled; a starting count above ``minReplicas`` is :func:`warm_start_patch`,
    applied once); the cluster of a RayJob or RayService (``embedded``) carries a starting count above
    ``minReplicas``, which KubeRay reads when it creates the cluster."""
    container = _container(spec, group, group.container_name, RayPorts.worker(spec.head.serve_port))
    out: Manifest = {"groupName": group.name}
    if not _autoscaled(spec) or (embedded and group in spec.warm_start()):
        out["replicas"] = group.count
    out |= {
        "minReplicas": group.min,
        "maxReplicas": group.max,
        "rayStartParams": worker_start_params(group),
        **ray_group_fields(group),
        "template": pod_template(spec, group, f"worker-{group.name}", container),
    }
    if group.idle_timeout_seconds is not None:
        out["idleTimeoutSeconds"] = group.idle_timeout_seconds
    if group.num_of_hosts is not None:
        out["numOfHosts"] = group.num_of_hosts
    if group.priority is not None:
        out["priority"] = group.priority
    return out


def autoscaler_options(spec: RayClusterSpec) -> Manifest:
    """``autoscalerOptions``: the only way the autoscaler sidecar gets a securityContext."""
    assert spec.autoscaling is not None
    a = spec.autoscaling
    options: Manifest = {
        "version": spec.autoscaler_version,
        "idleTimeoutSeconds": a.idle_timeout_seconds,
        "upscalingMode": a.upscaling_mode,
        **({"image": a.image} if a.image else {}),
        "imagePullPolicy": a.image_pull_policy or (None if a.image else spec.head.image_pull_policy)
                           or images.pull_policy(a.image or spec.image_for(spec.head)),
        "resources": a.resources(),
        "env": env_list({"USER": RAY_USER, **a.env, "HOME": RAY_HOME}),
        **({"envFrom": [dict(e) for e in a.env_from]} if a.env_from else {}),
        "securityContext": container_security_context(RAY_UID, RAY_GID, read_only_root=True),
        "volumeMounts": [{"name": RAY_HOME_VOLUME, "mountPath": RAY_HOME}],  # KubeRay adds ray-logs at /tmp/ray
    }
    if api_token_withheld(spec, spec.head):  # the autoscaler calls the API server; the Ray container need not
        options["volumeMounts"].append(api_token_mount())
    if a.command is not None:
        options["command"] = list(a.command)
    if a.args is not None:
        options["args"] = list(a.args)
    return options


def ray_cluster_spec(spec: RayClusterSpec, embedded: bool = False) -> Manifest:
    """The ``spec`` of a RayCluster, or (``embedded``) of the cluster of a RayJob or RayService."""
    body: Manifest = {"rayVersion": spec.ray_version}
    autoscale = _autoscaled(spec)
    body["enableInTreeAutoscaling"] = autoscale
    if autoscale:
        body["autoscalerOptions"] = autoscaler_options(spec)
    body["headGroupSpec"] = head_group(spec)
    body["workerGroupSpecs"] = [worker_group(spec, g, embedded) for g in spec.worker_groups]
    if spec.suspend:
        body["suspend"] = True
    for key, value in (("authOptions", auth_options(spec)), ("gcsFaultToleranceOptions", gcs_fault_tolerance_options(spec)),
                       ("tlsOptions", spec.tls.build() if spec.tls else None),
                       ("historyServerOptions", spec.history_server.build() if spec.history_server else None)):
        if value is not None:
            body[key] = value
    if spec.upgrade_strategy is not None:
        body["upgradeStrategy"] = {"type": spec.upgrade_strategy}
    if spec.managed_by is not None:
        body["managedBy"] = spec.managed_by
    return body


def exposure_annotations(spec: RayClusterSpec) -> dict[str, str]:
    """How an exposed dashboard is protected, for policies that see one object: Ray token auth, or the explicit opt-out."""
    if spec.auth is not None:
        return {BACKEND_AUTH_ANNOTATION: "ray-token"}
    if spec.dashboard.allow_unauthenticated:
        return {DASHBOARD_OPT_OUT_ANNOTATION: "true"}
    return {}


def deletion_annotations(spec: RayClusterSpec) -> dict[str, str]:
    """How ``pulumi`` deletes a cluster with GCS fault tolerance: in the background, so the cluster's objects outlive it
    while KubeRay's finalizer runs the ``<cluster>-redis-cleanup`` Job (empty otherwise: the provider's foreground
    deletion, which waits until every pod is gone).

    The Job's pod runs as the head pod's service account, which for an autoscaled cluster is ``<cluster>``, created by
    KubeRay and owned by the RayCluster: a foreground deletion has the garbage collector delete it first, and the Job
    never gets a pod (``serviceaccount "<cluster>" not found``) until KubeRay gives up and leaves the Redis state behind.
    KubeRay itself deletes the cluster's pods before the cleanup, so nothing of the cluster runs once it is gone."""
    if spec.gcs_fault_tolerance is None:
        return {}
    return {PulumiAnnotations.DELETION_PROPAGATION: "background"}


READY = "{.status.state}=ready"
"""KubeRay's RayCluster state once every pod is running and ready."""


def ray_cluster(spec: RayClusterSpec, namespace: str) -> Manifest:
    """The RayCluster object. Applied forced like every object (:func:`~raydask.k8s.manifest.owned`): the fields raydask
    sets win over another field manager's, e.g. ``replicas`` the autoscaler scaled before autoscaling was turned off."""
    opt_out = {DASHBOARD_OPT_OUT_ANNOTATION: "true"} if spec.dashboard.allow_unauthenticated else {}
    # the readiness patch's waitFor lands on the live object (and stays until the patch is deleted, after updates):
    # the RayCluster's own updates must never wait on it
    annotations = {**spec.annotations, **opt_out, **deletion_annotations(spec), PulumiAnnotations.SKIP_AWAIT: "true"}
    batch = spec.batch_scheduling.labels(spec.name) if spec.batch_scheduling else {}
    return obj(RAY_API, "RayCluster", spec.name, namespace, lbl.standard(APP, spec.name, "cluster", {**spec.labels, **batch}),
               annotations, spec=ray_cluster_spec(spec))


RESTART_FIELDS = ("spec.rayVersion", "spec.enableInTreeAutoscaling")
"""What replaces a RayCluster (delete, then create) when it changes, unless ``upgradeStrategy: Recreate`` has KubeRay
recreate its pods: KubeRay applies a spec change only to pods it creates later (KubeRay < 1.7 never recreates a pod on a
spec change), so a new Ray version would run beside the old one, and the autoscaler sidecar would stay missing (turned
on) or keep scaling the groups (turned off) until the head pod restarts. The readiness patch is replaced with the
cluster, so ``pulumi up`` waits for the new one."""


def restart_fields(spec: RayClusterSpec) -> tuple[str, ...]:
    """The RayCluster's properties whose change replaces it (none with ``upgradeStrategy: Recreate``)."""
    return () if spec.upgrade_strategy == "Recreate" else RESTART_FIELDS


def warm_start_patch(spec: RayClusterSpec, namespace: str) -> Manifest | None:
    """A patch setting the starting ``replicas`` of the autoscaled groups that start above ``minReplicas``; None when
    none does. Applied once, by a field manager of its own, when it is created (with the RayCluster, or when autoscaling
    is turned on) and never again (:attr:`raydask.builders.plan.Plan.on_create`): the autoscaler's later writes take
    the field over, and the RayCluster's own updates never carry ``replicas``. The RayCluster CRD's
    ``workerGroupSpecs`` is a list map keyed by ``groupName`` (raydask's CRD), so the patch sets one field of each
    group and nothing else."""
    groups = spec.warm_start()
    if not groups:
        return None
    return {"apiVersion": RAY_API, "kind": "RayCluster", "metadata": {"name": spec.name, "namespace": namespace},
            "spec": {"workerGroupSpecs": [{"groupName": g.name, "replicas": g.replicas} for g in groups]}}


def readiness_patch(spec: RayClusterSpec, namespace: str) -> Manifest | None:
    """A patch of the RayCluster's annotations that makes ``pulumi up`` wait, once, after creating it, until KubeRay
    reports it ready; None when ``wait`` is off.

    A patch resource of its own, because its wait runs when it is created and not on every update of the RayCluster:
    KubeRay leaves ``status.observedGeneration`` behind when an update changes nothing in the status (it does not roll
    pods on spec changes), and the provider's wait never ends on a stale generation. The provider reads the condition
    off the live object, so the RayCluster itself carries ``skipAwait``. A later change of the wait alone is not
    applied (:data:`~raydask.resources.registration.PATCH_IGNORED`): it waits again when the cluster is replaced.
    """
    if spec.suspend:  # a suspended cluster is never ready
        return None
    return wait_patch(RAY_API, "RayCluster", spec.name, namespace, spec.wait, READY)


def metrics_service(spec: RayClusterSpec, namespace: str) -> Manifest:
    """Headless Service selecting every pod of the cluster, one named port per scraped endpoint."""
    return obj("v1", "Service", RayNames.metrics_service(spec.name), namespace,
               lbl.standard(APP, spec.name, "metrics"),
               spec={
                   "clusterIP": "None",
                   "selector": lbl.selector(APP, spec.name),
                   "ports": [{"name": n, "port": p, "targetPort": n, "protocol": "TCP"} for n, p in RayPorts.scraped()],
               })


def external_service(spec: RayClusterSpec, namespace: str) -> Manifest:
    """Extra Service in front of the head, when asked for."""
    ext = spec.external_service
    assert ext is not None
    by_name = dict(spec.head.ports())
    body: Manifest = {
        "type": ext.type,
        "selector": lbl.selector(APP, spec.name, "head"),
        "ports": [{"name": p, "port": by_name[p], "targetPort": p, "protocol": "TCP"} for p in ext.ports],
    }
    if ext.load_balancer_source_ranges:
        body["loadBalancerSourceRanges"] = list(ext.load_balancer_source_ranges)
    return obj("v1", "Service", RayNames.external_service(spec.name), namespace,
               lbl.standard(APP, spec.name, "external"), {**ext.annotations, **exposure_annotations(spec)} or None, spec=body)


def endpoints(spec: RayClusterSpec, namespace: str) -> RayEndpoints:
    """Client address and URLs of the cluster."""
    head = spec.head_service_name
    fqdn = service_fqdn(head, namespace)
    return RayEndpoints(
        head_service=head,
        client_address=f"ray://{fqdn}:{RayPorts.CLIENT}",
        dashboard_url=f"http://{fqdn}:{RayPorts.DASHBOARD}",
        dashboard_ingress_url=ingress_url(spec.dashboard.ingress) if spec.dashboard.ingress else None,
        serve_ingress_url=ingress_url(spec.serve.ingress) if spec.serve.ingress else None,
    )


def build_ray_cluster(spec: RayClusterSpec, namespace: str, monitoring: MonitoringSpec | None = None) -> RayClusterBuild:
    """Every object of one Ray cluster."""
    head = spec.head_service_name
    services = [external_service(spec, namespace)] if spec.external_service else []
    ingresses = []
    if spec.dashboard.ingress:
        dashboard = spec.dashboard.ingress
        dashboard = dashboard.model_copy(update={"annotations": {**dashboard.annotations, **exposure_annotations(spec)}})
        ingresses.append(ingress(RayNames.ingress(spec.name, "dashboard"), namespace, lbl.standard(APP, spec.name, "dashboard"),
                                 dashboard, head, RayPorts.DASHBOARD_NAME))
    if spec.serve.ingress:
        ingresses.append(ingress(RayNames.ingress(spec.name, "serve"), namespace, lbl.standard(APP, spec.name, "serve"),
                                 spec.serve.ingress, head, RayPorts.SERVE_NAME))
    metrics, monitors = monitoring_objects(spec, namespace, monitoring)
    services += metrics
    return RayClusterBuild(ray_cluster(spec, namespace), services, ingresses, monitors, endpoints(spec, namespace))


def monitoring_objects(spec: RayClusterSpec, namespace: str, monitoring: MonitoringSpec | None) -> tuple[list[Manifest], list[Manifest]]:
    """([metrics Service], [ServiceMonitor]) scraping every pod labelled for ``spec.name`` once; empty without monitoring.

    Shared by RayCluster, RayJob and RayService (their pods carry the workload's name as instance label).
    """
    if not (monitoring and monitoring.enabled and spec.monitoring):
        return [], []
    monitor = service_monitor(
        RayNames.service_monitor(spec.name), namespace, lbl.standard(APP, spec.name, "metrics"), monitoring,
        lbl.selector(APP, spec.name, "metrics"),
        [n for n, _ in RayPorts.scraped()],
        [pod_label_relabel(lbl.RAY_CLUSTER), pod_label_relabel("ray.io/node-type")],
    )
    return [metrics_service(spec, namespace)], [monitor]
