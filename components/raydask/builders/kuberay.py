"""KubeRay operator builders: Helm values, release arguments, CRD objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from raydask.builders.common import Manifest
from raydask.builders.network import Egress, network_policies
from raydask.builders.operators import OperatorPlan, chart_fullname, explicit_token_patch, operator_crds, release_args
from raydask.k8s import images
from raydask.k8s import labels as lbl
from raydask.k8s.manifest import merge
from raydask.k8s.ports import RayPorts
from raydask.k8s.security import KUBERAY_OPERATOR_UID
from raydask.spec.base import MonitoringSpec
from raydask.spec.kuberay import KUBERAY_CHART, KubeRayOperatorSpec, default_feature_gates
from raydask.spec.security import NetworkPolicySpec

CHART = KUBERAY_CHART
RELEASE = "kuberay-operator"
IMAGE_REPOSITORY = "quay.io/kuberay/operator"
METRICS_PORT = 8080
"""The operator's ``/metrics`` (the chart's Service and ServiceMonitor)."""
def feature_gates(spec: KubeRayOperatorSpec) -> list[dict[str, Any]]:
    """Full ``featureGates`` list: the version's defaults with the spec's overrides."""
    defaults = default_feature_gates(spec.version)
    merged = {**defaults, **spec.feature_gates}
    return [{"name": k, "enabled": v} for k, v in merged.items()]


def helm_values(spec: KubeRayOperatorSpec, namespace: str, monitoring: MonitoringSpec | None) -> dict[str, Any]:
    """Values for the kuberay-operator chart."""
    image = spec.image or f"{IMAGE_REPOSITORY}:v{spec.version}"
    repo, _, tag = image.partition("@")[0].rpartition(":")
    values: dict[str, Any] = {
        "image": {"repository": repo, "tag": tag, "pullPolicy": images.pull_policy(image, spec.image_pull_policy)},
        "replicas": spec.replicas,
        "leaderElectionEnabled": spec.leader_election,
        "reconcileConcurrency": spec.reconcile_concurrency,
        "resources": {
            "requests": {"cpu": spec.resources.cpu, "memory": spec.resources.memory},
            "limits": {"cpu": spec.resources.cpu_limit, "memory": spec.resources.memory},
        },
        "featureGates": feature_gates(spec),
        "singleNamespaceInstall": spec.single_namespace_install,
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": KUBERAY_OPERATOR_UID, "runAsGroup": KUBERAY_OPERATOR_UID,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "labels": lbl.standard("kuberay-operator", RELEASE),
        "metrics": {
            "enabled": True,
            "serviceMonitor": {
                "enabled": bool(monitoring and monitoring.enabled),
                "interval": monitoring.interval if monitoring else "30s",
                "honorLabels": True,
                "additionalLabels": lbl.prometheus(monitoring.prometheus_release) if monitoring else {},
                "namespace": namespace,
            },
        },
    }
    watch = watched_namespaces(spec, namespace)
    if watch:
        values["watchNamespace"] = watch
    if spec.batch_scheduler:
        values["batchScheduler"] = {"enabled": False, "name": spec.batch_scheduler}
    return merge(values, spec.values, keys=())  # Helm replaces lists


def watched_namespaces(spec: KubeRayOperatorSpec, namespace: str) -> list[str]:
    """Namespaces the operator reconciles; empty when it watches every namespace."""
    watch = list(spec.watch_namespaces)
    return watch or ([namespace] if spec.single_namespace_install else [])


def operator_network_policies(spec: KubeRayOperatorSpec, namespace: str, policy: NetworkPolicySpec | None,
                              monitoring: MonitoringSpec | None, serve_ports: Sequence[int] = ()) -> list[Manifest]:
    """NetworkPolicies of the operator pods: Prometheus in to ``/metrics``; out to DNS, the API server, and the job API
    (8265) and Serve health checks (8000, and ``serve_ports``: RayServices' Serve on other ports) of the Ray pods it
    manages. None when ``policy`` is None."""
    if policy is None:
        return []
    name = str(spec.values.get("nameOverride") or CHART)
    watch = watched_namespaces(spec, namespace)
    ports = (RayPorts.DASHBOARD, *sorted({RayPorts.SERVE, *serve_ports}))
    ray_pods = Egress(ports, namespaces=tuple(watch), pods=(("ray.io/is-ray-node", "yes"),),
                      all_namespaces=not watch)
    scraped = monitoring is not None and monitoring.enabled
    return network_policies(
        f"{RELEASE}-netpol", namespace, lbl.standard(CHART, RELEASE, "network-policy"),
        {lbl.NAME: name, lbl.INSTANCE: RELEASE}, policy,
        metrics=(monitoring.namespace, [METRICS_PORT]) if scraped and monitoring else None,
        api_server=[None], egress=[ray_pods],
    )


def token_patch(spec: KubeRayOperatorSpec, namespace: str) -> Manifest:
    """Patch of the chart's Deployment: its token mounted explicitly, not automatically (the chart cannot set that)."""
    return explicit_token_patch(chart_fullname(RELEASE, CHART, spec.values), namespace, CHART)


RAYCLUSTER_CRD = "rayclusters.ray.io"


def _spec_schemas(crd: Manifest) -> tuple[Manifest, list[tuple[dict[str, Any], dict[str, Any]]]]:
    """A copy of the RayCluster CRD ``crd`` for editing each version's ``spec`` schema and its ``workerGroupSpecs``
    schema (with ``groupName``): ``(copy, [(spec schema, workerGroupSpecs schema) per version])``. Only the dicts on
    those paths are copied; the rest of the megabyte-sized schema is shared with ``crd``, which stays as it was."""
    out = {**crd, "spec": {**crd["spec"], "versions": []}}
    schemas = []
    for version in crd["spec"]["versions"]:
        version = {**version, "schema": {**version["schema"]}}
        root = version["schema"]["openAPIV3Schema"] = {**version["schema"]["openAPIV3Schema"]}
        properties = root["properties"] = {**root["properties"]}
        spec = properties["spec"] = {**properties["spec"]}
        fields = spec["properties"] = {**spec["properties"]}
        groups = fields["workerGroupSpecs"] = {**fields["workerGroupSpecs"]}
        items = groups["items"] = {**groups["items"]}
        item_fields = items["properties"] = {**items["properties"]}
        item_fields["groupName"] = {**item_fields["groupName"]}
        out["spec"]["versions"].append(version)
        schemas.append((spec, groups))
    return out, schemas


def granular_worker_groups(crd: Manifest) -> Manifest:
    """The RayCluster CRD with ``spec.workerGroupSpecs`` a list map keyed by ``groupName`` (upstream: an atomic list).

    Server-side apply then tracks who owns each field of each group: the Ray autoscaler's ``replicas`` stay the
    autoscaler's when raydask applies the rest of the group, instead of the whole list changing hands (a conflict on
    the next ``pulumi up``, or the autoscaled replicas reset with force). The stored objects do not change.
    """
    if crd["metadata"]["name"] != RAYCLUSTER_CRD:
        return crd
    crd, schemas = _spec_schemas(crd)
    for _, groups in schemas:
        groups["x-kubernetes-list-type"] = "map"
        groups["x-kubernetes-list-map-keys"] = ["groupName"]
    return crd


MAX_WORKER_GROUPS = 100
"""``maxItems`` of ``workerGroupSpecs`` in raydask's RayCluster CRD: with ``groupName`` at most 63 characters, it bounds
the cost the API server estimates for :data:`REMOVAL_RULE` (an unbounded list is refused)."""

REMOVAL_RULE = {
    "rule": "!has(oldSelf.workerGroupSpecs) || oldSelf.workerGroupSpecs.all(o, (has(o.maxReplicas) && o.maxReplicas == 0)"
            " || (has(self.workerGroupSpecs) && self.workerGroupSpecs.exists(n, n.groupName == o.groupName)))",
    "message": "a worker group can only be removed (or renamed) once it is retired: KubeRay never deletes the pods of a "
               "group that is no longer in the spec. Retire it first (raydask: workerGroups[].retired: true, which "
               "sets maxReplicas to 0), run the update, wait until its pods are gone, then remove it",
}
"""A transition rule on ``spec``: a worker group leaves the spec only after it was retired (``maxReplicas: 0``). KubeRay
reconciles only the groups in the spec, so a group removed while it has pods leaves them running (and the Ray autoscaler
fails on nodes of a type it no longer knows, ray-project/kuberay#1739); upstream's own fix refuses the removal the same
way (ray-project/kuberay#5132)."""


def retire_before_removal(crd: Manifest) -> Manifest:
    """The RayCluster CRD with :data:`REMOVAL_RULE` on ``spec`` and the bounds its cost estimate needs."""
    if crd["metadata"]["name"] != RAYCLUSTER_CRD:
        return crd
    crd, schemas = _spec_schemas(crd)
    for spec, groups in schemas:
        groups["maxItems"] = MAX_WORKER_GROUPS
        groups["items"]["properties"]["groupName"]["maxLength"] = 63
        spec["x-kubernetes-validations"] = [*spec.get("x-kubernetes-validations", []), dict(REMOVAL_RULE)]
    return crd


def operator_plan(spec: KubeRayOperatorSpec, namespace: str, monitoring: MonitoringSpec | None,
                  policy: NetworkPolicySpec | None, crd_documents: Sequence[Manifest], serve_ports: Sequence[int] = ()) -> OperatorPlan:
    """The KubeRay operator: its CRDs (from ``crd_documents``, the chart's), the release, NetworkPolicies and the
    Deployment patch; ``serve_ports``: the Serve ports of the RayServices it runs, when not 8000 (it probes them)."""
    values = helm_values(spec, namespace, monitoring)
    crds = tuple(retire_before_removal(granular_worker_groups(c)) for c in operator_crds(spec, RELEASE, crd_documents))
    return OperatorPlan(crds, release_args(spec, RELEASE, CHART, namespace, values),
                        tuple(operator_network_policies(spec, namespace, policy, monitoring, serve_ports)),
                        (token_patch(spec, namespace),))
