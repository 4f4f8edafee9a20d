"""KubeRayOperator: the KubeRay operator Helm release with CRDs applied (and kept) outside Helm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from components.builders import kuberay as build
from components.builders.common import crd_objects
from components.crds import default_kuberay_dir, load_dir, resolve_dir
from components.errors import ConfigError
from components.resources import child_options
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.kuberay import KubeRayOperatorSpec
from components.spec.security import NetworkPolicySpec
from components.wiring import namespace_of, register_children, register_crds, register_patch


class KubeRayOperator(pulumi.ComponentResource):
    """KubeRay operator (chart ``kuberay-operator``, pinned) plus its CRDs, server-side applied and retained.

    ``network_policy`` (the stack's ``networkPolicy``) isolates the operator pods: only what the operator calls is allowed.
    """

    TYPE = "raydask:kuberay:KubeRayOperator"

    namespace: pulumi.Output[str]
    version: pulumi.Output[str]
    release_name: pulumi.Output[str | None]
    crd_names: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        spec: KubeRayOperatorSpec | dict[str, Any] | None = None,
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        project_dir: str | Path | None = None,
        network_policy: NetworkPolicySpec | None = None,
        key: str = "raydask:kuberay",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        spec = parse_spec(KubeRayOperatorSpec, spec or {}, key)
        ns = namespace_of(spec.namespace, namespace, key)
        try:
            values = build.helm_values(spec, ns, monitoring)
        except ValueError as exc:
            raise ConfigError([f"{key}.featureGates: {exc}"]) from None

        crds: list[pulumi.Resource] = []
        crd_names: list[str] = []
        if spec.crds.manage:
            project = Path(project_dir or Path.cwd())
            crd_dir = resolve_dir(
                spec.crds.dir, default_kuberay_dir(spec.version, project), project, f"{key}.crds.dir",
                f"run `helm pull kuberay-operator --repo https://ray-project.github.io/kuberay-helm/ --version {spec.version} "
                "--untar` and set this key to the chart's crds/ directory",
            )
            crds, crd_names = register_crds(self, opts, name, crd_objects(list(load_dir(crd_dir)), build.RELEASE, spec.version))

        from pulumi_kubernetes.helm.v3 import Release

        release = Release(name, child_options(self, opts, depends_on=crds), **build.release_args(spec, ns, values))
        register_children(self, opts, name, build.operator_network_policies(spec, ns, network_policy, monitoring))
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
