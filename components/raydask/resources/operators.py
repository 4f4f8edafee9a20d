"""KubeRayOperator and DaskOperator: an operator's Helm release with the CRDs of its chart applied (and kept) outside
Helm, which never upgrades them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast

import pulumi
from pulumi_kubernetes.helm.v3 import Release

from raydask import charts
from raydask.builders import dask, kuberay
from raydask.builders.common import Manifest
from raydask.builders.operators import OperatorPlan
from raydask.builders.plan import Context
from raydask.errors import ConfigError
from raydask.resources.registration import (
    PATCH_IGNORED,
    ROLLOUT_SUFFIX,
    child_options,
    kubernetes_resource,
    register_children,
)
from raydask.spec.base import MonitoringSpec, parse_spec
from raydask.spec.dask import DaskOperatorSpec
from raydask.spec.kuberay import KubeRayOperatorSpec
from raydask.spec.operators import OperatorSpec
from raydask.spec.security import NetworkPolicySpec

S = TypeVar("S", bound=OperatorSpec)
Planner = Callable[..., OperatorPlan]
"""``(spec, namespace, monitoring, network policy, CRD documents, **plan_options)`` -> the operator's plan."""


class OperatorComponent(pulumi.ComponentResource, Generic[S]):
    """Base of the operator components: the spec parsed, its chart located (``chart.path``, else the chart cache, fetched
    from ``chart.repo`` when missing), one plan made and registered: CRDs (server-side applied, retained), the Helm
    release after them, NetworkPolicies, and patches of what the chart renders after the release.

    ``namespace`` is the default when the spec sets none; ``network_policy`` (the stack's ``networkPolicy``) isolates the
    operator pods; ``project_dir`` is where a relative ``chart.path`` starts (default the working directory);
    ``plan_options`` are passed on to the builder (KubeRay: ``serve_ports``, the Serve ports its NetworkPolicy admits
    besides 8000).
    """

    TYPE: ClassVar[str]
    SPEC: ClassVar[type[OperatorSpec]]
    CHART: ClassVar[str]
    KEY: ClassVar[str]
    PLAN: ClassVar[Planner]

    namespace: pulumi.Output[str]
    """The operator's namespace."""
    version: pulumi.Output[str]
    """The chart, operator and CRD version."""
    release: Release
    """The operator's Helm release."""
    release_name: pulumi.Output[str | None]
    """The Helm release's name."""
    crd_names: pulumi.Output[list[str]]
    """The CRDs raydask applies (empty when ``crds.manage`` is false)."""

    def __init__(
        self,
        name: str,
        spec: S | dict[str, Any] | None = None,
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        network_policy: NetworkPolicySpec | None = None,
        project_dir: str | Path | None = None,
        key: str | None = None,
        plan_options: Mapping[str, Any] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        key = key or self.KEY
        parsed = cast(OperatorSpec, parse_spec(self.SPEC, spec or {}, key))
        ns = Context(key, namespace).namespace_for(parsed.namespace)
        crd_documents: Sequence[Manifest] = ()
        if parsed.crds.manage or parsed.chart.path is not None:  # else the provider fetches the chart, we need nothing of it
            try:
                chart = charts.locate(self.CHART, parsed.version, repo=parsed.chart.repo, path=parsed.chart.path,
                                      project_dir=Path(project_dir) if project_dir else None)
            except charts.ChartError as exc:
                if parsed.chart.path is not None:  # the configured directory is wrong
                    raise ConfigError([f"{key}.chart: {exc}"]) from None
                raise charts.unavailable(exc, f"{key}.chart", self.CHART, parsed.version, parsed.chart.repo) from None
            crd_documents = chart.crds() if parsed.crds.manage else ()
        plan = type(self).PLAN(parsed, ns, monitoring, network_policy, crd_documents, **(plan_options or {}))
        crds = [kubernetes_resource(f"{name}-crd-{crd['metadata']['name']}", crd, child_options(self, opts, retain_on_delete=True))
                for crd in plan.crds]
        self.release = Release(name, child_options(self, opts, depends_on=crds), **plan.release)
        register_children(self, opts, name, plan.objects)
        patches = register_children(self, opts, name, plan.patches, patch=True, depends_on=[self.release])
        register_children(self, opts, name, plan.waits, patch=True, suffix=ROLLOUT_SUFFIX,
                          depends_on=[self.release, *patches], ignore_changes=list(PATCH_IGNORED))
        self.namespace = pulumi.Output.from_input(ns)
        self.version = pulumi.Output.from_input(parsed.version)
        self.release_name = self.release.name
        self.crd_names = pulumi.Output.from_input([c["metadata"]["name"] for c in plan.crds])
        self.register_outputs({
            "namespace": self.namespace,
            "version": self.version,
            "releaseName": self.release_name,
            "crdNames": self.crd_names,
        })


class KubeRayOperator(OperatorComponent[KubeRayOperatorSpec]):
    """The KubeRay operator (chart ``kuberay-operator``, pinned) plus its CRDs (RayCluster, RayJob, RayService,
    RayCronJob)."""

    TYPE = "raydask:kuberay:KubeRayOperator"
    SPEC = KubeRayOperatorSpec
    CHART = kuberay.CHART
    KEY = "raydask:kuberay"
    PLAN = kuberay.operator_plan


class DaskOperator(OperatorComponent[DaskOperatorSpec]):
    """The Dask operator (chart ``dask-kubernetes-operator``, pinned) plus its CRDs (DaskCluster, DaskWorkerGroup,
    DaskJob, DaskAutoscaler)."""

    TYPE = "raydask:dask:DaskOperator"
    SPEC = DaskOperatorSpec
    CHART = dask.CHART
    KEY = "raydask:daskOperator"
    PLAN = dask.operator_plan
