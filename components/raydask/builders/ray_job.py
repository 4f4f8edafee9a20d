"""RayJob builders: the RayJob object (its cluster, runtime environment and submitter pod) and its monitors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from raydask.builders.common import Manifest, env_list, extra_volumes, obj, scheduling, tolerate_extended_resources
from raydask.builders.overrides import apply_overrides
from raydask.builders.ray import APP, RAY_API, monitoring_objects, ray_cluster_spec
from raydask.k8s import images
from raydask.k8s import labels as lbl
from raydask.k8s.naming import RayNames, service_fqdn
from raydask.k8s.ports import RayPorts
from raydask.k8s.security import (
    RAY_GID,
    RAY_HOME,
    RAY_HOME_VOLUME,
    RAY_UID,
    RAY_USER,
    container_security_context,
    no_limits_annotation,
    pod_security_context,
)
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray import DEFAULT_RAY_VERSION
from raydask.spec.ray_workloads import RayJobSpec, RuntimeEnvSpec

KUBERAY_SUBMITTER = "ray-job-submitter"
"""The name of KubeRay's submitter container: its default submitter Job's, and the one it adds to the head pod of a
``SidecarMode`` job."""
KUBERAY_SUBMITTER_RESOURCES = {"requests": {"cpu": "500m", "memory": "200Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
"""The resources of KubeRay's submitter container (``common.GetDefaultSubmitterContainer``)."""


def sidecar_submitter(image: str) -> Manifest:
    """The container KubeRay 1.7 adds to the head pod of a ``SidecarMode`` job (``getSubmitterContainer``): the head's
    image, its own resources, no securityContext (so the pod needs Pod Security "baseline")."""
    return {"name": KUBERAY_SUBMITTER, "image": image, "resources": {k: dict(v) for k, v in KUBERAY_SUBMITTER_RESOURCES.items()}}


RERUN_ON_CHANGES = [
    f"spec.{key}" for key in (
        "entrypoint", "entrypointNumCpus", "entrypointNumGpus", "entrypointResources", "runtimeEnvYAML", "jobId",
        "submissionMode", "rayClusterSpec", "clusterSelector", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished",
        "activeDeadlineSeconds", "preRunningDeadlineSeconds", "backoffLimit", "deletionStrategy", "submitterConfig",
        "submitterPodTemplate", "metadata", "managedBy",
    )
]
"""A RayJob runs once: a change to anything but ``suspend`` replaces it, which runs the new job."""


@dataclass(frozen=True)
class RayJobEndpoints:
    """What a RayJob is known by."""

    job_id: str | None
    dashboard_url: str
    job_name: str = ""
    """The RayJob object's name."""


@dataclass(frozen=True)
class RayJobBuild:
    """Everything raydask declares for one RayJob."""

    job: Manifest
    services: list[Manifest] = field(default_factory=list)
    monitors: list[Manifest] = field(default_factory=list)
    job_id: str | None = None
    dashboard_url: str = ""
    job_name: str = ""
    """The RayJob object's name (``<name>-<suffix>`` with ``generateName``)."""

    @property
    def endpoints(self) -> RayJobEndpoints:
        return RayJobEndpoints(self.job_id, self.dashboard_url, self.job_name or self.job["metadata"]["name"])

    def objects(self) -> list[Manifest]:
        """All objects, the RayJob first."""
        return [self.job, *self.services, *self.monitors]


def yaml_text(data: Any) -> str:
    """Block-style YAML, keys in the given order, long strings never folded."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=2**20)


def runtime_env_yaml(env: RuntimeEnvSpec) -> str:
    """``runtimeEnvYAML``: Ray's ``runtime_env`` as YAML text."""
    return yaml_text(env.render())


def submitter_template(spec: RayJobSpec, namespace: str) -> Manifest:
    """``submitterPodTemplate``: restricted pod, requests and limits; KubeRay fills in the command and env."""
    sub = spec.submitter
    cluster = spec.cluster.to_cluster(spec.name, namespace) if spec.cluster else None
    image = sub.image or (cluster.image_for(cluster.head) if cluster else f"rayproject/ray:{DEFAULT_RAY_VERSION}")
    volumes, mounts = extra_volumes(sub.volumes)
    container: Manifest = {
        "name": sub.container_name,
        "image": image,
        "imagePullPolicy": images.pull_policy(image, sub.image_pull_policy),
        "resources": sub.resources(),
        "securityContext": container_security_context(RAY_UID, RAY_GID, read_only_root=True),
        "workingDir": RAY_HOME,
        "env": env_list({"HOME": RAY_HOME, "USER": RAY_USER, **sub.env}),
        "volumeMounts": [{"name": RAY_HOME_VOLUME, "mountPath": RAY_HOME}, *mounts],
    }
    pod: Manifest = {
        "restartPolicy": "Never",
        "containers": [container],
        "securityContext": pod_security_context(RAY_UID, RAY_GID),
        **scheduling(sub),
        "volumes": [{"name": RAY_HOME_VOLUME, "emptyDir": {}}, *volumes],
    }
    account = sub.service_account or (cluster.service_account if cluster else None)
    if account:
        pod["serviceAccountName"] = account
    else:  # `ray job submit` talks to the job API only
        pod["automountServiceAccountToken"] = False
    metadata: Manifest = {"labels": lbl.pod(APP, spec.name, "submitter", sub.labels)}
    if annotations := {**sub.annotations, **no_limits_annotation({sub.container_name: sub.removed_limits})}:
        metadata["annotations"] = annotations
    return tolerate_extended_resources(apply_overrides({"metadata": metadata, "spec": pod}, sub, sub.container_name))


def _definition_digest(body: Manifest) -> bytes:
    definition = {k: v for k, v in body.items() if k not in ("suspend", "jobId")}
    return hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).digest()


def derived_job_id(name: str, body: Manifest) -> str:
    """``<name>-<8 hex>``: stable for one job definition, new whenever it changes (``suspend`` excluded)."""
    return f"{name}-{_definition_digest(body).hex()[:8]}"


GENERATED_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters the API server draws a ``generateName`` suffix from (no vowels: no words)."""
GENERATED_SUFFIX = 5


def generated_name(name: str, body: Manifest) -> str:
    """``<name>-<5 characters>``, as the API server completes ``generateName: <name>-``, but derived from the job
    definition (``suspend`` and ``jobId`` excluded): stable for one definition, new whenever it changes. The kubernetes
    provider's server-side apply cannot send ``generateName`` (and a random name would change on every ``pulumi up``)."""
    number = int.from_bytes(_definition_digest(body), "big")
    suffix = ""
    for _ in range(GENERATED_SUFFIX):
        number, digit = divmod(number, len(GENERATED_ALPHABET))
        suffix += GENERATED_ALPHABET[digit]
    return f"{name}-{suffix}"


def job_name(spec: RayJobSpec, body: Manifest) -> str:
    """The RayJob object's name: ``name``, or with ``generateName`` ``<name>-<suffix of the definition>``."""
    return generated_name(spec.name, body) if spec.generate_name else spec.name


def ray_job_spec(spec: RayJobSpec, namespace: str) -> Manifest:
    """The ``spec`` of a RayJob."""
    body: Manifest = {} if spec.entrypoint is None else {"entrypoint": spec.entrypoint}
    if spec.entrypoint_num_cpus is not None:
        body["entrypointNumCpus"] = spec.entrypoint_num_cpus
    if spec.entrypoint_num_gpus is not None:
        body["entrypointNumGpus"] = spec.entrypoint_num_gpus
    if spec.entrypoint_resources:
        body["entrypointResources"] = json.dumps({k: int(v) if float(v).is_integer() else v
                                                  for k, v in spec.entrypoint_resources.items()}, sort_keys=True)
    if spec.runtime_env is not None and spec.runtime_env.render():
        body["runtimeEnvYAML"] = runtime_env_yaml(spec.runtime_env)
    body["submissionMode"] = spec.submission_mode
    if spec.cluster is not None:
        body["rayClusterSpec"] = ray_cluster_spec(spec.cluster.to_cluster(spec.name, namespace), embedded=True)
    else:
        body["clusterSelector"] = {lbl.RAY_CLUSTER: spec.cluster_selector}
    body["shutdownAfterJobFinishes"] = spec.shutdown
    if spec.ttl_seconds_after_finished is not None:
        body["ttlSecondsAfterFinished"] = spec.ttl_seconds_after_finished
    if spec.deletion_strategy is not None:
        body["deletionStrategy"] = spec.deletion_strategy.render()
    if spec.active_deadline_seconds is not None:
        body["activeDeadlineSeconds"] = spec.active_deadline_seconds
    if spec.pre_running_deadline_seconds is not None:
        body["preRunningDeadlineSeconds"] = spec.pre_running_deadline_seconds
    if spec.backoff_limit is not None:
        body["backoffLimit"] = spec.backoff_limit
    if spec.job_metadata:
        body["metadata"] = dict(spec.job_metadata)
    if spec.managed_by is not None:
        body["managedBy"] = spec.managed_by
    if spec.submission_mode == "K8sJobMode":
        body["submitterPodTemplate"] = submitter_template(spec, namespace)
        if spec.submitter.backoff_limit is not None:
            body["submitterConfig"] = {"backoffLimit": spec.submitter.backoff_limit}
    body["suspend"] = spec.suspend
    job_id = spec.job_id or (None if spec.submission_mode == "InteractiveMode" else derived_job_id(spec.name, body))
    if job_id:
        body["jobId"] = job_id
    return body


def dashboard_url(spec: RayJobSpec, namespace: str, name: str | None = None) -> str:
    """Job API / dashboard of the job's cluster: KubeRay's ``<job>-head-svc`` (the RayJob object's ``name``), or the
    selected cluster's head Service."""
    head = RayNames.head_service(spec.cluster_selector or name or spec.name)
    return f"http://{service_fqdn(head, namespace)}:{RayPorts.DASHBOARD}"


def build_ray_job(spec: RayJobSpec, namespace: str, monitoring: MonitoringSpec | None = None) -> RayJobBuild:
    """Every object of one RayJob: the job, plus the metrics Service and ServiceMonitor of a cluster it creates."""
    body = ray_job_spec(spec, namespace)
    name = job_name(spec, body)
    batch = spec.batch_scheduling.labels(name) if spec.batch_scheduling else {}
    job = obj(RAY_API, "RayJob", name, namespace, lbl.standard(APP, spec.name, "job", {**spec.labels, **batch}),
              spec.annotations or None, spec=body)
    services: list[Manifest] = []
    monitors: list[Manifest] = []
    if spec.cluster is not None:
        services, monitors = monitoring_objects(spec.cluster.to_cluster(spec.name, namespace), namespace, monitoring)
    return RayJobBuild(job, services, monitors, body.get("jobId"), dashboard_url(spec, namespace, name), name)
