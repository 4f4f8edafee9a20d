"""DaskOperator (the dask-kubernetes operator Helm release, CRDs applied and kept outside Helm) and DaskCluster."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi

from components.builders import dask as build
from components.builders.common import crd_objects
from components.builders.dask_security import dask_network_policies, problems, resolve
from components.crds import default_dask_dir, load_dir, resolve_dir
from components.errors import ConfigError
from components.resources import child_options, register
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.dask import DaskClusterSpec, DaskOperatorSpec
from components.spec.security import NetworkPolicySpec, SecurityDefaults
from components.wiring import namespace_of, refuse, register_children, register_crds, register_patch


def installed_dask_kubernetes() -> str | None:
    """Version of the installed dask-kubernetes distribution, None when absent."""
    try:
        return metadata.version("dask-kubernetes")
    except metadata.PackageNotFoundError:
        return None


def operator_crd_dir(spec: DaskOperatorSpec, project: Path, key: str) -> Path:
    """The CRD directory for ``spec.version``: ``crds.dir``, else the installed wheel's chart when it is that version."""
    hint = (f"install dask-kubernetes=={spec.version} (pip install 'raydask[dask]'), or `helm pull {build.CHART} "
            f"--repo https://helm.dask.org --version {spec.version} --untar` and set this key to the chart's crds/ directory")
    default = default_dask_dir()
    if spec.crds.dir is None:
        installed = installed_dask_kubernetes()
        if default is None or installed is None:
            raise ConfigError([f"{key}: dask-kubernetes is not installed, so there are no Dask CRDs; {hint}"])
        if installed != spec.version:
            raise ConfigError([f"{key}: the installed dask-kubernetes is {installed}, not version {spec.version}; {hint}"])
    return resolve_dir(spec.crds.dir, default or Path("dask-kubernetes-not-installed"), project, key, hint)


class DaskOperator(pulumi.ComponentResource):
    """The Dask operator (chart ``dask-kubernetes-operator``, pinned) plus its CRDs, server-side applied and retained.

    ``network_policy`` (the stack's ``networkPolicy``) isolates the operator pods: only what the operator calls is allowed.
    """

    TYPE = "raydask:dask:DaskOperator"

    namespace: pulumi.Output[str]
    version: pulumi.Output[str]
    release_name: pulumi.Output[str | None]
    crd_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        spec: DaskOperatorSpec | dict[str, Any] | None = None,
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        project_dir: str | Path | None = None,
        network_policy: NetworkPolicySpec | None = None,
        key: str = "raydask:daskOperator",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        spec = parse_spec(DaskOperatorSpec, spec or {}, key)
        ns = namespace_of(spec.namespace, namespace, key)
        values = build.operator_values(spec, ns, monitoring)
        crds: list[pulumi.Resource] = []
        crd_names: list[str] = []
        if spec.crds.manage:
            crd_dir = operator_crd_dir(spec, Path(project_dir or Path.cwd()), f"{key}.crds.dir")
            crds, crd_names = register_crds(self, opts, name, crd_objects(list(load_dir(crd_dir)), build.RELEASE, spec.version))

        from pulumi_kubernetes.helm.v3 import Release

        release = Release(name, child_options(self, opts, depends_on=crds), **build.operator_release_args(spec, ns, values))
        register_children(self, opts, name, build.operator_network_policies(spec, ns, network_policy))
        register_patch(self, opts, name, build.token_patch(spec, ns), depends_on=[release])
        self.namespace = pulumi.Output.from_input(ns)
        self.version = pulumi.Output.from_input(spec.version)
        self.release_name = release.name
        self.crd_names = pulumi.Output.from_input(crd_names)
        self.register_outputs({
            "namespace": self.namespace,
            "version": self.version,
            "releaseName": self.release_name,
            "crdNames": self.crd_names,
        })


class DaskCluster(pulumi.ComponentResource):
    """A Dask cluster on the Dask operator (``kubernetes.dask.org/v1``): DaskCluster, worker groups, autoscaler, Ingress,
    NetworkPolicies.

    ``security`` carries the stack's defaults (``networkPolicy``, ``requireTls``, the operator's namespace);
    ``monitoring`` admits Prometheus to the metrics port. ``endpoints`` holds the addresses as plain values, known before
    anything is created; the Output attributes carry the same values and resolve once the DaskCluster is registered.
    """

    TYPE = "raydask:dask:DaskCluster"

    endpoints: build.DaskEndpoints
    cluster_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    scheduler_service_name: pulumi.Output[str]
    scheduler_address: pulumi.Output[str]
    dashboard_url: pulumi.Output[str]
    dashboard_ingress_url: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        spec: DaskClusterSpec | dict[str, Any],
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        security: SecurityDefaults | None = None,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        key = key or f"DaskCluster({name})"
        defaults = security or SecurityDefaults()
        spec = resolve(parse_spec(DaskClusterSpec, spec, key), defaults)
        ns = namespace_of(spec.namespace, namespace, key)
        refuse(key, problems(spec, defaults))
        built = build.build_dask_cluster(spec, ns)
        policies = register_children(self, opts, name, dask_network_policies(spec, ns, monitoring, defaults.dask_operator_namespace))
        cluster = register(built.cluster, child_options(self, opts, depends_on=policies), name)
        register_children(self, opts, name, [*built.worker_groups, *built.autoscalers, *built.ingresses], depends_on=[cluster])
        ep = built.endpoints
        assert ep is not None
        self.endpoints = ep
        self.cluster_name = cluster.id.apply(lambda _: spec.name)
        self.namespace = pulumi.Output.from_input(ns)
        self.scheduler_service_name = self.cluster_name.apply(lambda _: ep.scheduler_service)
        self.scheduler_address = self.cluster_name.apply(lambda _: ep.scheduler_address)
        self.dashboard_url = self.cluster_name.apply(lambda _: ep.dashboard_url)
        self.dashboard_ingress_url = pulumi.Output.from_input(ep.dashboard_ingress_url)
        self.register_outputs({
            "clusterName": self.cluster_name,
            "namespace": self.namespace,
            "schedulerServiceName": self.scheduler_service_name,
            "schedulerAddress": self.scheduler_address,
            "dashboardUrl": self.dashboard_url,
            "dashboardIngressUrl": self.dashboard_ingress_url,
        })
