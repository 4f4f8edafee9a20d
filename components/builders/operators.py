"""Server-side apply patches of the operator Deployments the upstream Helm charts render, for what their values cannot
set: no implicit service-account token (and the Dask operator's readiness probe)."""

from __future__ import annotations

from typing import Any

from components.builders.common import Manifest
from components.security import api_token_mount, api_token_volume

PATCH_FORCE = "pulumi.com/patchForce"
"""Annotation making a Pulumi patch resource take over the fields it sets from another field manager (Helm)."""


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
        "metadata": {"name": deployment, "namespace": namespace, "annotations": {PATCH_FORCE: "true"}},
        "spec": {"template": {"spec": {
            "automountServiceAccountToken": False,
            "volumes": [api_token_volume()],
            "containers": [container_patch],
        }}},
    }
