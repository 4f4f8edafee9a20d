"""KubeRay operator spec."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from components.errors import rule
from components.spec.base import Count, Label, PinnedImage, Quantity, Spec

KUBERAY_CHART_REPO = "https://ray-project.github.io/kuberay-helm/"
KUBERAY_VERSION = "1.7.0"
ChartVersion = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")]
"""A pinned chart version such as ``1.7.0`` (no ranges)."""


class OperatorResources(Spec):
    """Operator container resources."""

    cpu: Quantity = "100m"
    """CPU request; default ``100m``."""
    cpu_limit: Quantity = "500m"
    """CPU limit; default ``500m``."""
    memory: Quantity = "512Mi"
    """Memory request and limit; default ``512Mi`` (about 500 Ray pods)."""


class CrdSpec(Spec):
    """How the operator's CRDs are managed (outside Helm, which never upgrades them)."""

    manage: bool = True
    """Apply the CRDs with server-side apply and keep them on removal; default true."""
    dir: str | None = None
    """Directory holding the chart's ``crds/*.yaml`` for this version (relative to the project); default the
    pinned chart's directory found beside the project (``../shared/upstream/kuberay-<version>/…``)."""


class KubeRayOperatorSpec(Spec):
    """The KubeRay operator Helm release (stack key ``raydask:kuberay``)."""

    version: ChartVersion = KUBERAY_VERSION
    """Chart and operator version; default ``1.7.0``."""
    namespace: Label | None = None
    """Namespace of the operator; default the stack's ``raydask:namespace``."""
    watch_namespaces: list[Label] = []
    """Namespaces the operator watches; default all namespaces (cluster-wide RBAC)."""
    single_namespace_install: bool = False
    """Namespaced RBAC only (Roles, no ClusterRoles); default false."""
    replicas: Annotated[int, Field(ge=1, le=5)] = 1
    """Operator replicas; default 1. More than one requires leader election."""
    leader_election: bool = True
    """Leader election; default true."""
    resources: OperatorResources = OperatorResources()
    """Operator container resources; default 100m–500m CPU, 512Mi."""
    feature_gates: dict[str, bool] = {}
    """Feature gates merged over the chart's defaults, e.g. ``{RayClusterStatusConditions: true}``; default none."""
    image: PinnedImage | None = None
    """Operator image; default ``quay.io/kuberay/operator:v<version>``."""
    reconcile_concurrency: Count = 1
    """Concurrent reconciles; default 1."""
    crds: CrdSpec = CrdSpec()
    """CRD management; default managed outside Helm."""
    values: dict[str, Any] = {}
    """Escape hatch: any other chart value, deep-merged last; default none."""

    @model_validator(mode="after")
    def _rules(self) -> KubeRayOperatorSpec:
        if self.replicas > 1 and not self.leader_election:
            raise rule("leaderElection", "must be true when replicas > 1")
        if self.single_namespace_install and not self.watch_namespaces and self.namespace is None:
            raise rule("watchNamespaces", "singleNamespaceInstall needs the namespaces to watch (or the operator namespace)")
        return self
