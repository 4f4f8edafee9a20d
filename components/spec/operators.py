"""What both operator specs share: the chart source, the CRD handling, resources and the chart-value escape hatch."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, model_validator

from raydask.errors import rule
from raydask.spec.base import Label, Quantity, Spec

ChartVersion = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")]
"""A pinned chart version such as ``1.7.0`` (no ranges)."""
RepoUrl = Annotated[str, Field(pattern=r"^(https?|file)://[^\s]+$")]
"""A Helm repository URL (``https://``, ``http://`` or ``file://``)."""


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
    """Apply the chart's CRDs with server-side apply, upgrade them with the chart and keep them on removal; default
    true. False: install them yourself."""


class ChartSourceSpec(Spec):
    """Where the operator's Helm chart comes from; the CRDs raydask applies are the ones in its ``crds/``."""

    repo: RepoUrl
    """Helm repository (the public one, or your mirror); the chart is fetched once into the chart cache
    (``$RAYDASK_CHART_CACHE``, default ``~/.cache/raydask/charts``) and the provider installs it from there."""
    path: str | None = None
    """A local chart directory of this version (``helm pull <chart> --version <version> --untar``), relative to the
    project: nothing is downloaded and ``repo`` is not used; default none. For air-gapped clusters."""


class OperatorSpec(Spec):
    """Settings every operator release has."""

    version: ChartVersion
    """Chart, operator image and CRD version."""
    namespace: Label | None = None
    """Namespace of the operator; default the stack's ``raydask:namespace``."""
    chart: ChartSourceSpec
    """Where the chart comes from; default the public repository."""
    crds: CrdSpec = CrdSpec()
    """CRD management; default applied by raydask (server-side), kept on removal."""
    resources: OperatorResources = OperatorResources()
    """Operator container resources."""
    values: dict[str, Any] = {}
    """Escape hatch: any other chart value, deep-merged last; default none."""

    @model_validator(mode="after")
    def _pins(self) -> OperatorSpec:
        if "image" in self.values:
            raise rule("values.image", "set the image with the image key (values cannot override the pinned image)")
        return self
