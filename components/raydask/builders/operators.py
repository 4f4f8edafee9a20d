"""What both operator builders share: the :class:`OperatorPlan`, the Helm release arguments, and the server-side apply
patches of the Deployments the upstream charts render, for what their values cannot set (no implicit service-account
token, the Dask operator's readiness probe)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from raydask.builders.common import Manifest, crd_objects
from raydask.k8s.manifest import PulumiAnnotations
from raydask.k8s.security import api_token_mount, api_token_volume
from raydask.spec.operators import OperatorSpec

ROLLED_OUT = ("jsonpath={.status.conditions[?(@.type=='Progressing')].reason}=NewReplicaSetAvailable",
              "jsonpath={$[?@.updatedReplicas > 0 && @.updatedReplicas == @.replicas]}",
              "jsonpath={$[?@.updatedReplicas > 0 && @.availableReplicas == @.replicas]}")
"""The patched Deployment has rolled out (what ``kubectl rollout status`` waits for), all three at once: the Deployment
controller reports its new ReplicaSet available, no pod of an older template is left, and every pod is available; the
provider checks each against the Deployment's observed generation. (``updatedReplicas > 0`` keeps a filter from matching
``metadata``, where both sides of a comparison are missing; the provider's parser takes two terms per filter.) The
provider's own Deployment wait misreads a ``Recreate`` rollout (the KubeRay chart's strategy): it finds the old
ReplicaSet scaled to 0 before the new one exists and warns ``Replicas scaled to 0``."""

def chart_fullname(release: str, chart: str, values: dict[str, Any]) -> str:
    """The chart's ``fullname`` helper (both operator charts use the common one): its Deployment and container prefix."""
    if values.get("fullnameOverride"):
        return str(values["fullnameOverride"])[:63].rstrip("-")
    name = str(values.get("nameOverride") or chart)
    return (release if name in release else f"{release}-{name}")[:63].rstrip("-")


def explicit_token_patch(deployment: str, namespace: str, container: str, readiness_probe: Manifest | None = None) -> Manifest:
    """A Deployment patch: ``automountServiceAccountToken: false``, and the same token, CA and namespace mounted
    explicitly (a projected volume at the standard path) into the operator container, the one that calls the API
    server; an injected sidecar gets none. ``readiness_probe``: added to that container too."""
    container_patch: Manifest = {"name": container, "volumeMounts": [api_token_mount()]}
    if readiness_probe is not None:
        container_patch["readinessProbe"] = readiness_probe
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": deployment, "namespace": namespace, "annotations": {PulumiAnnotations.SKIP_AWAIT: "true"}},
        "spec": {"template": {"spec": {
            "automountServiceAccountToken": False,
            "volumes": [api_token_volume()],
            "containers": [container_patch],
        }}},
    }


def rollout_wait(deployment: str, namespace: str) -> Manifest:
    """A patch of the Deployment's annotations alone, making ``pulumi up`` wait until it has rolled out
    (:data:`ROLLED_OUT`). A patch of its own, registered after the content patch (which does not wait) with its
    annotations' updates ignored: it waits when created, never after an update. One patch that both changed the
    Deployment and waited would be recorded as its wait last observed the Deployment, read from an informer's cache
    that can predate the apply, and the next ``up`` would apply it again."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
        "name": deployment, "namespace": namespace, "annotations": {PulumiAnnotations.WAIT_FOR: json.dumps(list(ROLLED_OUT))}}}


@dataclass(frozen=True)
class OperatorPlan:
    """Everything an operator component declares: its CRDs (applied first, kept on removal), the Helm release arguments
    (after the CRDs), its NetworkPolicies, patches of what the chart renders (after the release), and the patches that
    wait for those to roll out (after the patches; :func:`rollout_wait`)."""

    crds: tuple[Manifest, ...]
    release: dict[str, Any]
    objects: tuple[Manifest, ...] = ()
    patches: tuple[Manifest, ...] = ()

    @property
    def waits(self) -> tuple[Manifest, ...]:
        """One rollout wait per patched Deployment (:func:`rollout_wait`), registered after the patches."""
        return tuple(rollout_wait(p["metadata"]["name"], p["metadata"]["namespace"]) for p in self.patches
                     if p["kind"] == "Deployment")


def chart_args(spec: OperatorSpec, chart: str) -> dict[str, Any]:
    """``chart``/``version``/``repository_opts`` of a Release: the pinned chart from its repository, or the local chart
    directory as configured (relative to the project: a path that stays the same wherever the program runs)."""
    if spec.chart.path is not None:
        return {"chart": spec.chart.path}
    return {"chart": chart, "version": spec.version, "repository_opts": {"repo": spec.chart.repo}}


def release_args(spec: OperatorSpec, release: str, chart: str, namespace: str, values: dict[str, Any]) -> dict[str, Any]:
    """Arguments of an operator's Helm release: pinned chart, atomic upgrades, CRDs skipped when raydask applies them."""
    return {
        "name": release,
        **chart_args(spec, chart),
        "namespace": namespace,
        "values": values,
        "skip_crds": spec.crds.manage,
        "atomic": True,
        "cleanup_on_fail": True,
        "max_history": 10,
    }


def operator_crds(spec: OperatorSpec, release: str, documents: Sequence[Manifest]) -> tuple[Manifest, ...]:
    """The chart's CRDs as raydask applies them (none when ``crds.manage`` is off)."""
    return tuple(crd_objects(list(documents), release, spec.version)) if spec.crds.manage else ()
