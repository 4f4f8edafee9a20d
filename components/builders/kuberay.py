"""KubeRay operator builders: Helm values, release arguments, CRD objects."""

from __future__ import annotations

from typing import Any

from components import images
from components import labels as lbl
from components.builders.common import Manifest, deep_merge, helm_release_args
from components.builders.network import Egress, network_policies
from components.builders.operators import chart_fullname, explicit_token_patch
from components.ports import RayPorts
from components.security import KUBERAY_OPERATOR_UID
from components.spec.base import MonitoringSpec
from components.spec.kuberay import KUBERAY_CHART_REPO, KubeRayOperatorSpec
from components.spec.security import NetworkPolicySpec

CHART = "kuberay-operator"
RELEASE = "kuberay-operator"
IMAGE_REPOSITORY = "quay.io/kuberay/operator"
METRICS_PORT = 8080
"""The operator's ``/metrics`` (the chart's Service and ServiceMonitor)."""
FEATURE_GATES: dict[str, dict[str, bool]] = {
    "1.7.0": {
        "RayClusterStatusConditions": True,
        "RayJobDeletionPolicy": True,
        "RayMultiHostIndexing": True,
        "RayServiceIncrementalUpgrade": True,
        "RayCronJob": False,
        "RayClusterMTLS": False,
        "RayClusterNetworkPolicy": False,
        "RayClusterHistoryServer": False,
    },
}
"""The chart's default feature gates per version (Helm replaces lists, so we always send the full list)."""


def feature_gates(spec: KubeRayOperatorSpec) -> list[dict[str, Any]]:
    """Full ``featureGates`` list: the version's defaults with the spec's overrides."""
    defaults = FEATURE_GATES.get(spec.version, {})
    unknown = sorted(set(spec.feature_gates) - set(defaults)) if defaults else []
    if unknown:
        raise ValueError(f"unknown feature gate(s) {unknown} for KubeRay {spec.version}; known: {sorted(defaults)}")
    merged = {**defaults, **spec.feature_gates}
    return [{"name": k, "enabled": v} for k, v in merged.items()]


def helm_values(spec: KubeRayOperatorSpec, namespace: str, monitoring: MonitoringSpec | None) -> dict[str, Any]:
    """Values for the kuberay-operator chart."""
    image = spec.image or f"{IMAGE_REPOSITORY}:v{spec.version}"
    repo, _, tag = image.partition("@")[0].rpartition(":")
    values: dict[str, Any] = {
        "image": {"repository": repo, "tag": tag, "pullPolicy": images.pull_policy(f"{repo}:{tag}")},
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
    return deep_merge(values, spec.values)


def release_args(spec: KubeRayOperatorSpec, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """Arguments of the Helm release (pinned chart, CRDs skipped: raydask applies them)."""
    return helm_release_args(RELEASE, CHART, KUBERAY_CHART_REPO, spec.version, namespace, values, skip_crds=spec.crds.manage)


def watched_namespaces(spec: KubeRayOperatorSpec, namespace: str) -> list[str]:
    """Namespaces the operator reconciles; empty when it watches every namespace."""
    watch = list(spec.watch_namespaces)
    return watch or ([namespace] if spec.single_namespace_install else [])


def operator_network_policies(spec: KubeRayOperatorSpec, namespace: str, policy: NetworkPolicySpec | None,
                              monitoring: MonitoringSpec | None) -> list[Manifest]:
    """NetworkPolicies of the operator pods: Prometheus in to ``/metrics``; out to DNS, the API server, and the job API
    (8265) and Serve health checks (8000) of the Ray pods it manages. None when ``policy`` is None."""
    if policy is None:
        return []
    name = str(spec.values.get("nameOverride") or CHART)
    watch = watched_namespaces(spec, namespace)
    ray_pods = Egress((RayPorts.DASHBOARD, RayPorts.SERVE), namespaces=tuple(watch), pods=(("ray.io/is-ray-node", "yes"),),
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
