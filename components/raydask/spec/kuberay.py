"""KubeRay operator spec."""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from raydask import facts
from raydask.errors import Path
from raydask.spec.base import Count, Label, PinnedImage, Whole
from raydask.spec.operators import ChartSourceSpec, ChartVersion, OperatorResources, OperatorSpec, RepoUrl
from raydask.spec.versions import KUBERAY_VERSION

KUBERAY_CHART = "kuberay-operator"
KUBERAY_CHART_REPO = "https://ray-project.github.io/kuberay-helm/"


def default_feature_gates(version: str) -> dict[str, bool]:
    """The feature gates the KubeRay chart of ``version`` turns on or off (:mod:`raydask.facts`); empty for a version
    raydask does not ship. Helm replaces lists, so raydask sends the whole list."""
    return facts.feature_gates(version) or {}

OPERATOR_GATES: dict[str, tuple[str, ...]] = {
    "1.7.0": ("SidecarSubmitterRestart", "GCSFaultToleranceEmbeddedStorage", "KubernetesWAS"),
}
"""Feature gates the operator of a version knows (its ``pkg/features/features.go``) that its chart's ``featureGates``
list leaves out (all off by default): they may be turned on too."""


def known_feature_gates(version: str) -> dict[str, bool]:
    """Every feature gate of ``version`` with its default: the chart's list, then the operator's own (off); empty for a
    version raydask does not ship."""
    chart = default_feature_gates(version)
    return {**chart, **{gate: False for gate in OPERATOR_GATES.get(version, ()) if gate not in chart}} if chart else {}


class KubeRayChartSpec(ChartSourceSpec):
    """Where the KubeRay operator chart (``kuberay-operator``) comes from."""

    repo: RepoUrl = KUBERAY_CHART_REPO
    """Helm repository (the public one, or your mirror); default ``https://ray-project.github.io/kuberay-helm/``. The
    chart is fetched once into the chart cache (``$RAYDASK_CHART_CACHE``, default ``~/.cache/raydask/charts``)."""


class KubeRayOperatorSpec(OperatorSpec):
    """The KubeRay operator Helm release (stack key ``raydask:kuberay``)."""

    version: ChartVersion = KUBERAY_VERSION
    """Chart and operator version; default ``1.7.0``."""
    chart: KubeRayChartSpec = KubeRayChartSpec()
    """Where the chart comes from; default the public repository through the chart cache."""
    watch_namespaces: list[Label] = []
    """Namespaces the operator watches; default all namespaces (cluster-wide RBAC)."""
    single_namespace_install: bool = False
    """Namespaced RBAC only (Roles, no ClusterRoles); default false."""
    replicas: Annotated[Whole, Field(ge=1, le=5)] = 1
    """Operator replicas; default 1. More than one requires leader election."""
    leader_election: bool = True
    """Leader election; default true."""
    resources: OperatorResources = OperatorResources()
    """Operator container resources; default 100m–500m CPU, 512Mi."""
    feature_gates: dict[str, bool] = {}
    """Feature gates merged over the chart's defaults, e.g. ``{RayClusterStatusConditions: true}`` (the chart's gates and
    those the operator knows beyond them, such as KubeRay 1.7's ``GCSFaultToleranceEmbeddedStorage``); default none."""
    image: PinnedImage | None = None
    """Operator image; default ``quay.io/kuberay/operator:v<version>``."""
    reconcile_concurrency: Annotated[Count, Field(ge=1)] = 1
    """Concurrent reconciles, at least 1 (the chart refuses 0); default 1."""
    batch_scheduler: Literal["volcano", "yunikorn", "scheduler-plugins", "kai-scheduler"] | None = None
    """The batch scheduler KubeRay hands Ray pods to (``--batch-scheduler``, the chart's ``batchScheduler.name``):
    ``volcano``, ``yunikorn``, ``scheduler-plugins`` or ``kai-scheduler``, installed in the cluster beforehand;
    workloads opt in with ``batchScheduling``; default none (the default scheduler)."""

    RESERVED_VALUES: ClassVar[dict[str, str]] = {
        "image": "use kuberay.image (or kuberay.version)", "replicas": "use kuberay.replicas",
        "leaderElectionEnabled": "use kuberay.leaderElection", "reconcileConcurrency": "use kuberay.reconcileConcurrency",
        "resources": "use kuberay.resources", "featureGates": "use kuberay.featureGates",
        "singleNamespaceInstall": "use kuberay.singleNamespaceInstall", "watchNamespace": "use kuberay.watchNamespaces",
        "batchScheduler": "use kuberay.batchScheduler",
        "podSecurityContext": "it runs the operator as non-root for Pod Security 'restricted'",
        "metrics.serviceMonitor.enabled": "use raydask:monitoring", "metrics.serviceMonitor.namespace": "the monitor lives with "
        "the operator", "metrics.enabled": "the operator's metrics are always on",
        **{f"labels.{key}": "the operator's NetworkPolicy selects it by this label" for key in (
            "app.kubernetes.io/name", "app.kubernetes.io/instance")},
    }
    CHART: ClassVar[str] = KUBERAY_CHART

    def problems(self) -> list[tuple[Path, str]]:
        problems = super().problems()
        if self.replicas > 1 and not self.leader_election:
            problems.append(("leaderElection", "must be true when replicas > 1"))
        if self.single_namespace_install and not self.watch_namespaces and self.namespace is None:
            problems.append(("watchNamespaces", "singleNamespaceInstall needs the namespaces to watch (or the operator namespace)"))
        if len(set(self.watch_namespaces)) != len(self.watch_namespaces):
            problems.append(("watchNamespaces", "lists a namespace twice"))
        client = self.values.get("kubeClient")
        for key, pattern, what in (("qps", r"[0-9]+(\.[0-9]+)?", "a number, 0 or more (e.g. 100.0)"),
                                   ("burst", r"[0-9]+", "a whole number, 0 or more")):
            value = client.get(key) if isinstance(client, dict) else None
            # a number the chart's template refuses (other kinds of value: the chart-defaults check below)
            if isinstance(value, int | float) and not isinstance(value, bool) and not re.fullmatch(pattern, str(value)):
                problems.append((("values", "kubeClient", key), f"{value} is not {what}: the chart refuses it "
                                                               "(kuberay-operator.validateConfig)"))
        known = known_feature_gates(self.version)
        unknown = sorted(set(self.feature_gates) - set(known)) if known else []
        if unknown:
            problems.append(("featureGates", f"unknown feature gate(s) {unknown} for KubeRay {self.version}; known: "
                                             f"{sorted(known or {})}"))
        return problems
