"""Every pod a set of manifests makes, as the operators create it, for Pod Security checks and scanners.

:func:`pod_templates` collects one :class:`PodTemplate` per pod shape:

* RayCluster, RayJob (``rayClusterSpec``), RayService (``rayClusterConfig``) and RayCronJob: the head and each worker
  group with what KubeRay adds when it builds the pods -- its labels, the autoscaler sidecar from
  ``autoscalerOptions`` (image, pull policy, resources, env, volume mounts, securityContext; the head's service
  account), the ``wait-gcs-ready`` init container of workers (a copy of the Ray container's image and
  securityContext), the exec liveness/readiness probes of the Ray container, the ``/tmp/ray`` log volume; the
  RayJob submitter Job (``submitterPodTemplate``, or KubeRay's default one) and the ``SidecarMode`` submitter;
* DaskCluster, DaskWorkerGroup and DaskJob: the scheduler and worker Deployments (and job runner Pod) built by the
  Dask operator's own builder functions (:mod:`raydask.offline.validation.consumers`);
* built-in workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) as they are.

:func:`workloads` turns the templates of custom resources into Deployments (Jobs for run-to-completion pods), so
scanners that only know built-in kinds (checkov) see every pod; :func:`scanner_manifests` returns those plus every
built-in object (NetworkPolicies included, for the scanners' graph checks).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from raydask.builders.ray_job import KUBERAY_SUBMITTER, KUBERAY_SUBMITTER_RESOURCES
from raydask.builders.ray_job import sidecar_submitter as sidecar_submitter_container
from raydask.k8s.manifest import object_ref
from raydask.k8s.security import RAY_LOGS

Manifest = dict[str, Any]

RAY_KINDS: Final = frozenset({"RayCluster", "RayJob", "RayService", "RayCronJob"})
DASK_KINDS: Final = frozenset({"DaskCluster", "DaskWorkerGroup", "DaskJob"})
TEMPLATE_KINDS: Final = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"})
AUTOSCALER: Final = "autoscaler"
WAIT_GCS: Final = "wait-gcs-ready"
SUBMITTER: Final = KUBERAY_SUBMITTER
KUBERAY_SHELL: Final = ["/bin/bash", "-lc", "--"]
AUTOSCALER_RESOURCES: Final = {"cpu": "500m", "memory": "512Mi"}
"""KubeRay's autoscaler container resources when ``autoscalerOptions.resources`` is unset (requests = limits)."""
WAIT_GCS_RESOURCES: Final = {"cpu": "200m", "memory": "256Mi"}
SUBMITTER_RESOURCES: Final = KUBERAY_SUBMITTER_RESOURCES
"""KubeRay's default submitter Job resources (no ``submitterPodTemplate``)."""
RAYLET_HEALTH: Final = "wget -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success"
GCS_HEALTH: Final = "wget -T 10 -q -O- http://localhost:8265/api/gcs_healthz | grep success"


@dataclass(frozen=True)
class PodTemplate:
    """One pod shape: where it comes from and the template as the pod will be created."""

    source: str
    """``Kind namespace/name`` of the object that makes the pod."""
    path: str
    """Where the template is in the source object (``spec.headGroupSpec.template``); ``""`` when generated."""
    name: str
    """Name for a workload wrapping it (``train-head``, ``train-worker-cpu``)."""
    namespace: str
    template: Manifest
    """``{metadata, spec}`` with the operator's additions."""
    replicas: int = 1
    run_to_completion: bool = False
    """A Job's pod (RayJob submitter, DaskJob runner) rather than a long-running one."""
    generated: bool = True
    """False for built-in workloads, which are already what a scanner sees."""
    injected: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    """Containers the operator adds: name -> (the source key that configures it, whether sub-paths carry over)."""

    def locate(self, path: str) -> str:
        """A path inside :attr:`template` (``spec.containers[1].image``) as a path in the source object."""
        m = _CONTAINER_PATH.match(path)
        if m:
            containers = _dict(self.template.get("spec")).get(m.group(1)) or []
            index = int(m.group(2))
            name = _dict(containers[index]).get("name") if index < len(containers) else None
            if isinstance(name, str) and name in self.injected:
                where, carry = self.injected[name]
                return where + (m.group(3) if carry else f" (KubeRay's '{name}' container: {m.group(3).lstrip('.')})")
        return f"{self.path}.{path}" if self.path else f"{self.name}: {path}"


_CONTAINER_PATH = re.compile(r"^spec\.(containers|initContainers)\[(\d+)\](.*)$")


def _meta(obj: Manifest) -> Manifest:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def _dict(value: Any) -> Manifest:
    return value if isinstance(value, dict) else {}


def _containers(template: Manifest) -> list[Manifest]:
    spec = template.setdefault("spec", {})
    if not isinstance(spec.get("containers"), list) or not spec["containers"]:
        spec["containers"] = [{"name": "ray"}]
    return spec["containers"]


def _mount_at(container: Manifest, path: str) -> bool:
    return any(_dict(m).get("mountPath") == path for m in container.get("volumeMounts") or [])


def _add_empty_dir(template: Manifest, container: Manifest, name: str, path: str) -> None:
    """KubeRay's ``addEmptyDir``: mount an emptyDir at ``path`` unless the container already mounts something there."""
    if _mount_at(container, path):
        return
    volumes = template["spec"].setdefault("volumes", [])
    if not any(_dict(v).get("name") == name for v in volumes):
        volumes.append({"name": name, "emptyDir": {}})
    container.setdefault("volumeMounts", []).append({"name": name, "mountPath": path})


def _probe(command: list[str], initial: int, failures: int, timeout: int) -> Manifest:
    return {"exec": {"command": ["bash", "-c", " && ".join(command)]}, "initialDelaySeconds": initial, "timeoutSeconds": timeout,
            "periodSeconds": 5, "successThreshold": 1, "failureThreshold": failures}


def _ray_labels(template: Manifest, cluster: str, node_type: str, group: str) -> None:
    """KubeRay's ``labelPod``: its labels, the template's labels over them except the three it owns."""
    meta = template.setdefault("metadata", {})
    own = {"ray.io/node-type": node_type, "ray.io/group": group, "ray.io/cluster": cluster}
    labels = {"ray.io/is-ray-node": "yes", **own, "ray.io/identifier": f"{cluster}-{node_type}",
              "app.kubernetes.io/name": "kuberay", "app.kubernetes.io/created-by": "kuberay-operator"}
    labels.update({k: v for k, v in _dict(meta.get("labels")).items() if k not in own})
    meta["labels"] = labels


def _autoscaler(options: Manifest, image: str) -> Manifest:
    """KubeRay's ``BuildAutoscalerContainer`` merged with ``autoscalerOptions``."""
    default = {"requests": dict(AUTOSCALER_RESOURCES), "limits": dict(AUTOSCALER_RESOURCES)}
    container: Manifest = {
        "name": AUTOSCALER,
        "image": options.get("image") or image,
        "imagePullPolicy": options.get("imagePullPolicy") or "IfNotPresent",
        "env": [
            {"name": "RAY_CLUSTER_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['ray.io/cluster']"}}},
            {"name": "RAY_CLUSTER_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "RAY_HEAD_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "KUBERAY_CRD_VER", "value": "v1"},
            *copy.deepcopy(options.get("env") or []),
        ],
        "command": options.get("command") or list(KUBERAY_SHELL),
        "args": options.get("args") or ["ray kuberay-autoscaler --cluster-name $(RAY_CLUSTER_NAME) "
                                        "--cluster-namespace $(RAY_CLUSTER_NAMESPACE)"],
        "resources": copy.deepcopy(options.get("resources") or default),
    }
    if options.get("envFrom"):
        container["envFrom"] = copy.deepcopy(options["envFrom"])
    if options.get("volumeMounts"):
        container["volumeMounts"] = copy.deepcopy(options["volumeMounts"])
    if options.get("securityContext") is not None:
        container["securityContext"] = copy.deepcopy(options["securityContext"])
    return container


def ray_head(cluster_spec: Manifest, cluster: str, *, sidecar_submitter: bool = False) -> Manifest:
    """The head pod template as KubeRay builds the pod."""
    template = copy.deepcopy(_dict(_dict(cluster_spec.get("headGroupSpec")).get("template")))
    ray = _containers(template)[0]
    _ray_labels(template, cluster, "head", "headgroup")
    if cluster_spec.get("enableInTreeAutoscaling"):
        options = _dict(cluster_spec.get("autoscalerOptions"))
        template["spec"]["serviceAccountName"] = template["spec"].get("serviceAccountName") or cluster
        autoscaler = _autoscaler(options, str(ray.get("image", "")))
        template["spec"]["containers"].append(autoscaler)
        if options.get("version") == "v2":
            template["spec"]["restartPolicy"] = "Never"
        _add_empty_dir(template, ray, *RAY_LOGS)
        _add_empty_dir(template, autoscaler, *RAY_LOGS)
    if sidecar_submitter:  # KubeRay's SidecarMode container: no securityContext
        template["spec"]["containers"].append(sidecar_submitter_container(str(ray.get("image"))))
    _add_empty_dir(template, ray, "shared-mem", "/dev/shm")
    ray.setdefault("livenessProbe", _probe([RAYLET_HEALTH, GCS_HEALTH], 30, 120, 5))
    ray.setdefault("readinessProbe", _probe([RAYLET_HEALTH, GCS_HEALTH], 10, 10, 5))
    return template


def ray_worker(cluster_spec: Manifest, group: Manifest, cluster: str) -> Manifest:
    """A worker group's pod template as KubeRay builds the pod (with its ``wait-gcs-ready`` init container)."""
    template = copy.deepcopy(_dict(group.get("template")))
    ray = _containers(template)[0]
    init = {
        "name": WAIT_GCS,
        "image": ray.get("image"),
        "command": list(KUBERAY_SHELL),
        "args": ["until ray health-check --address $(FQ_RAY_IP):6379; do sleep 5; done"],
        "resources": {"requests": dict(WAIT_GCS_RESOURCES), "limits": dict(WAIT_GCS_RESOURCES)},
    }
    for key in ("imagePullPolicy", "securityContext", "env", "volumeMounts"):
        if ray.get(key) is not None:
            init[key] = copy.deepcopy(ray[key])
    template["spec"].setdefault("initContainers", []).append(init)
    _ray_labels(template, cluster, "worker", str(group.get("groupName", "")))
    if cluster_spec.get("enableInTreeAutoscaling") and _dict(cluster_spec.get("autoscalerOptions")).get("version") == "v2":
        template["spec"]["restartPolicy"] = "Never"
    _add_empty_dir(template, ray, "shared-mem", "/dev/shm")
    ray.setdefault("livenessProbe", _probe([RAYLET_HEALTH], 30, 120, 1))
    ray.setdefault("readinessProbe", _probe([RAYLET_HEALTH], 10, 10, 1))
    return template


def default_submitter(cluster_spec: Manifest | None) -> Manifest:
    """KubeRay's submitter template when a K8sJobMode RayJob has no ``submitterPodTemplate``."""
    head = _dict(_dict(_dict(cluster_spec).get("headGroupSpec")).get("template"))
    containers = _dict(head.get("spec")).get("containers") or [{}]
    image = _dict(containers[0]).get("image", "rayproject/ray")
    return {"spec": {"restartPolicy": "Never",
                     "containers": [{"name": SUBMITTER, "image": image, "resources": copy.deepcopy(SUBMITTER_RESOURCES)}]}}


def _ray_templates(obj: Manifest, ref: str, ns: str) -> list[PodTemplate]:
    kind, name, spec = obj.get("kind"), str(_meta(obj).get("name", "")), _dict(obj.get("spec"))
    base, cluster_spec = {"RayCluster": ("spec", spec), "RayJob": ("spec.rayClusterSpec", spec.get("rayClusterSpec")),
                          "RayService": ("spec.rayClusterConfig", spec.get("rayClusterConfig"))}.get(str(kind), ("", None))
    job = spec
    if kind == "RayCronJob":
        job = _dict(spec.get("jobTemplate"))
        base, cluster_spec = "spec.jobTemplate.rayClusterSpec", job.get("rayClusterSpec")
    out: list[PodTemplate] = []
    sidecar = kind in ("RayJob", "RayCronJob") and job.get("submissionMode") == "SidecarMode"
    if isinstance(cluster_spec, dict):
        head = ray_head(cluster_spec, name, sidecar_submitter=sidecar)
        injected = {AUTOSCALER: (f"{base}.autoscalerOptions", True), SUBMITTER: ("spec.submissionMode", False)}
        out.append(PodTemplate(ref, f"{base}.headGroupSpec.template", f"{name}-head", ns, head, injected=injected))
        for i, group in enumerate(cluster_spec.get("workerGroupSpecs") or []):
            group = _dict(group)
            replicas = group.get("replicas", 1)
            path = f"{base}.workerGroupSpecs[{i}].template"
            out.append(PodTemplate(ref, path, f"{name}-worker-{group.get('groupName', i)}", ns, ray_worker(cluster_spec, group, name),
                                   replicas if isinstance(replicas, int) else 1,
                                   injected={WAIT_GCS: (f"{path}.spec.containers[0]", True)}))
    if kind in ("RayJob", "RayCronJob") and job.get("submissionMode", "K8sJobMode") == "K8sJobMode":
        prefix = "spec" if kind == "RayJob" else "spec.jobTemplate"
        given = job.get("submitterPodTemplate")
        template = copy.deepcopy(given) if isinstance(given, dict) else default_submitter(_dict(cluster_spec))
        out.append(PodTemplate(ref, f"{prefix}.submitterPodTemplate", f"{name}-submitter", ns, template, run_to_completion=True))
    return out


def _dask_templates(obj: Manifest, ref: str, ns: str, objects: Iterable[Manifest]) -> list[PodTemplate]:
    from raydask.offline.validation import consumers

    kind = obj.get("kind")
    prefix = {"DaskCluster": "spec.", "DaskWorkerGroup": "spec.", "DaskJob": "spec.cluster.spec."}[str(kind)]
    if kind == "DaskCluster":
        expanded = consumers.expand_dask_cluster(obj)
    elif kind == "DaskWorkerGroup":
        cluster = str(_dict(obj.get("spec")).get("cluster", ""))
        owner = next((o for o in objects if o.get("kind") == "DaskCluster" and _meta(o).get("name") == cluster
                      and (_meta(o).get("namespace") or "default") == ns), None)
        expanded = consumers.expand_dask_worker_group(obj, _dict(_meta(owner).get("labels")) if owner else None)
    else:
        expanded = consumers.expand_dask_job(obj)
    out = []
    for x in expanded:
        xkind, xname = x.get("kind"), str(_meta(x).get("name", ""))
        if xkind == "Deployment":
            replicas = _dict(x.get("spec")).get("replicas", 1)
            template = copy.deepcopy(_dict(_dict(x.get("spec")).get("template")))
            component = _dict(_meta(template).get("labels")).get("dask.org/component", "worker")
            out.append(PodTemplate(ref, f"{prefix}{component}", xname, ns, template, replicas if isinstance(replicas, int) else 1))
        elif xkind == "Pod":
            template = {"metadata": copy.deepcopy(_meta(x)), "spec": copy.deepcopy(_dict(x.get("spec")))}
            out.append(PodTemplate(ref, "spec.job", xname, ns, template, run_to_completion=True))
    return out


def _builtin_templates(obj: Manifest, ref: str, ns: str) -> list[PodTemplate]:
    kind, name, spec = obj.get("kind"), str(_meta(obj).get("name", "")), _dict(obj.get("spec"))
    if kind == "Pod":
        return [PodTemplate(ref, "spec", name, ns, {"metadata": _meta(obj), "spec": spec}, generated=False)]
    if kind == "CronJob":
        template = _dict(_dict(_dict(spec.get("jobTemplate")).get("spec")).get("template"))
        return [PodTemplate(ref, "spec.jobTemplate.spec.template", name, ns, template, run_to_completion=True, generated=False)]
    if kind in TEMPLATE_KINDS:
        replicas = spec.get("replicas", 1)
        return [PodTemplate(ref, "spec.template", name, ns, _dict(spec.get("template")), replicas if isinstance(replicas, int) else 1,
                            run_to_completion=kind == "Job", generated=False)]
    return []


def templates_of(obj: Manifest, objects: Iterable[Manifest] = ()) -> list[PodTemplate]:
    """The pod templates one object makes (``objects``: the rest of the stack, for a DaskWorkerGroup's cluster)."""
    if not isinstance(obj, dict):
        return []
    ref, ns = object_ref(obj), str(_meta(obj).get("namespace") or "default")
    kind = obj.get("kind")
    if kind in RAY_KINDS:
        return _ray_templates(obj, ref, ns)
    if kind in DASK_KINDS:
        return _dask_templates(obj, ref, ns, objects)
    return _builtin_templates(obj, ref, ns)


def pod_templates(objects: list[Manifest]) -> list[PodTemplate]:
    """Every pod template of ``objects``, in order."""
    return [t for obj in objects for t in templates_of(obj, objects)]


def workload(t: PodTemplate) -> Manifest:
    """A Deployment (a Job for run-to-completion pods) running ``t``'s pods, for scanners of built-in kinds."""
    template = copy.deepcopy(t.template)
    meta = template.setdefault("metadata", {})
    labels = dict(_dict(meta.get("labels"))) or {"raydask.io/workload": t.name}
    meta["labels"] = labels
    annotations = {"raydask.io/source": t.source, **({"raydask.io/source-path": t.path} if t.path else {})}
    metadata = {"name": t.name, "namespace": t.namespace, "labels": dict(labels), "annotations": annotations}
    if t.run_to_completion:
        template.setdefault("spec", {}).setdefault("restartPolicy", "Never")
        return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": {"backoffLimit": 0, "template": template}}
    template.setdefault("spec", {}).pop("restartPolicy", None)  # Deployments only allow Always
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata,
            "spec": {"replicas": t.replicas, "selector": {"matchLabels": dict(labels)}, "template": template}}


def scanner_manifests(objects: list[Manifest]) -> list[Manifest]:
    """Every object but CRDs, Ray and Dask custom resources replaced by one workload per pod template."""
    out: list[Manifest] = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("kind") == "CustomResourceDefinition":
            continue
        if obj.get("kind") in RAY_KINDS | DASK_KINDS:
            out += [workload(t) for t in templates_of(obj, objects)]
        else:
            out.append(obj)
    return out
