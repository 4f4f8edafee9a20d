"""The raydask Pulumi program: stack config -> specs -> components -> stack outputs.

``__main__.py`` (``pulumi up``) and ``raydask render`` (mock engine) both run :func:`main`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pulumi

from components.errors import ConfigError
from components.spec.base import parse_spec
from components.spec.stack import StackSpec

NAMESPACE = "raydask"


def config_values() -> dict[str, Any]:
    """Every ``raydask:*`` config value, JSON objects and lists decoded, keyed without the prefix."""
    from pulumi.runtime import config as rc

    raw: dict[str, Any] = {**rc.get_config_env(), **rc.CONFIG.get()}
    out: dict[str, Any] = {}
    for full_key, value in raw.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE or not key:
            continue
        if isinstance(value, str):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            value = decoded if isinstance(decoded, (dict, list, bool)) else value
        out[key] = value
    return out


def load_stack_spec(values: dict[str, Any] | None = None) -> StackSpec:
    """Validate the stack's config into a :class:`StackSpec` (ConfigError naming ``raydask:<key>`` paths)."""
    return parse_spec(StackSpec, config_values() if values is None else values, f"{NAMESPACE}:")


def project_dir() -> Path:
    """The directory holding Pulumi.yaml (where ``pulumi up`` runs); ``RAYDASK_PROJECT_DIR`` overrides."""
    return Path(os.environ.get("RAYDASK_PROJECT_DIR") or Path.cwd())


def build_stack(spec: StackSpec, root: Path | None = None, opts: pulumi.ResourceOptions | None = None) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs."""
    from components.kuberay import KubeRayOperator
    from components.ray_cluster import RayCluster
    from components.resources import register

    root = root or project_dir()
    deps: dict[str, pulumi.Resource] = {}
    if spec.create_namespace:
        from components import labels as lbl

        for ns in spec.namespaces():
            manifest = {"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": ns, "labels": {**lbl.standard("raydask", ns, "namespace"),
                                                             "pod-security.kubernetes.io/enforce": "restricted"}}}
            deps[ns] = register(manifest, pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(protect=spec.protect), opts), f"namespace-{ns}")

    def after(*namespaces: str, extra: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        depends = [deps[n] for n in namespaces if n in deps] + (extra or [])
        return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=depends))

    outputs: dict[str, Any] = {"namespace": spec.namespace}
    operators: list[pulumi.Resource] = []
    if spec.kuberay:
        op_ns = spec.kuberay.namespace or spec.namespace
        operator = KubeRayOperator("kuberay", spec.kuberay, namespace=spec.namespace, monitoring=spec.monitoring,
                                   project_dir=root, opts=after(op_ns, *spec.kuberay.watch_namespaces))
        operators.append(operator)
        outputs["kuberayVersion"] = operator.version
    ray_out = {}
    for i, c in enumerate(spec.ray_clusters):
        ns = c.namespace or spec.namespace
        cluster = RayCluster(c.name, c, namespace=spec.namespace, monitoring=spec.monitoring,
                             key=f"{NAMESPACE}:rayClusters[{i}]", opts=after(ns, extra=operators))
        ray_out[c.name] = {
            "namespace": cluster.namespace,
            "headService": cluster.head_service_name,
            "clientAddress": cluster.client_address,
            "dashboardUrl": cluster.dashboard_url,
            "dashboardIngressUrl": cluster.dashboard_ingress_url,
        }
    outputs["rayClusters"] = ray_out
    return outputs


def main() -> None:
    """Entry point of the Pulumi program; bad config is reported as one clean error, no traceback."""
    try:
        outputs = build_stack(load_stack_spec())
    except ConfigError as exc:
        raise pulumi.RunError(f"invalid raydask configuration:\n{exc}") from None
    for key, value in outputs.items():
        pulumi.export(key, value)
