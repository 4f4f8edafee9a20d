"""The raydask Pulumi program: stack config -> specs -> components -> stack outputs.

``__main__.py`` (``pulumi up``) and ``raydask render`` (mock engine) both run :func:`main`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi

from components import collector
from components.errors import ConfigError
from components.spec.base import parse_spec
from components.spec.security import REDIS_PASSWORD_CONFIG, SECRET_CONFIG_KEYS, SecurityDefaults, effective_network_policy
from components.spec.stack import StackSpec

NAMESPACE = "raydask"


def config_values() -> dict[str, Any]:
    """Every ``raydask:*`` config value, JSON objects and lists decoded, keyed without the prefix."""
    from pulumi.runtime import config as rc

    raw: dict[str, Any] = {**rc.get_config_env(), **rc.CONFIG.get()}
    out: dict[str, Any] = {}
    for full_key, value in raw.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE or not key or key in SECRET_CONFIG_KEYS:
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


def redis_password() -> pulumi.Output[str] | None:
    """The Pulumi secret ``raydask:redisPassword`` (None when unset); ConfigError when it was set without ``--secret``."""
    from pulumi.runtime.config import is_config_secret

    full = f"{NAMESPACE}:{REDIS_PASSWORD_CONFIG}"
    value = pulumi.Config(NAMESPACE).get_secret(REDIS_PASSWORD_CONFIG)
    if value is not None and not is_config_secret(full):
        raise ConfigError([f"{full}: must be a secret: run `pulumi config set --secret {full} <password>` (it is stored in "
                           "plaintext in the stack config now)"])
    return value


def project_dir() -> Path:
    """The directory holding Pulumi.yaml (where ``pulumi up`` runs); ``RAYDASK_PROJECT_DIR`` overrides."""
    return Path(os.environ.get("RAYDASK_PROJECT_DIR") or Path.cwd())


def build_stack(spec: StackSpec, root: Path | None = None, opts: pulumi.ResourceOptions | None = None) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs (plain values: every address is known from the
    config).

    What each component leaves in flight is spared from cyclic garbage collection until every component's main object
    is registered (:mod:`components.collector`).
    """
    outputs: dict[str, Any] = {}
    registered: list[pulumi.Output[Any]] = []
    try:
        for done in declare_stack(spec, outputs, root, opts):
            if done is not None:
                registered.append(done)
            collector.spare()
    except BaseException:
        collector.hand_back()
        raise
    collector.hand_back_when(registered)
    return outputs


def declare_stack(spec: StackSpec, outputs: dict[str, Any], root: Path | None = None,
                  opts: pulumi.ResourceOptions | None = None) -> Iterator[pulumi.Output[Any] | None]:
    """Declare every resource of the stack into ``outputs`` (the stack outputs), pausing after each component with an
    Output that resolves once its main object is registered (None for the operators)."""
    from components.kuberay import KubeRayOperator
    from components.ray_cluster import RayCluster
    from components.ray_job import RayJob
    from components.ray_service import RayService
    from components.resources import register

    root = root or project_dir()
    security = SecurityDefaults.from_stack(spec)
    password = redis_password()
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

    outputs["namespace"] = spec.namespace
    operators: list[pulumi.Resource] = []
    if spec.kuberay:
        op_ns = spec.kuberay.namespace or spec.namespace
        operator = KubeRayOperator("kuberay", spec.kuberay, namespace=spec.namespace, monitoring=spec.monitoring,
                                   project_dir=root, network_policy=effective_network_policy(spec.network_policy, None),
                                   opts=after(op_ns, *spec.kuberay.watch_namespaces))
        operators.append(operator)
        outputs["kuberayVersion"] = spec.kuberay.version
        yield None
    ray_out = {}
    clusters: dict[tuple[str, str], pulumi.Resource] = {}
    for i, c in enumerate(spec.ray_clusters):
        ns = c.namespace or spec.namespace
        cluster = RayCluster(c.name, c, namespace=spec.namespace, monitoring=spec.monitoring, security=security,
                             redis_password=password, key=f"{NAMESPACE}:rayClusters[{i}]", opts=after(ns, extra=operators))
        clusters[(ns, c.name)] = cluster
        ray_out[c.name] = {
            "namespace": ns,
            "headService": cluster.endpoints.head_service,
            "clientAddress": cluster.endpoints.client_address,
            "dashboardUrl": cluster.endpoints.dashboard_url,
            "dashboardIngressUrl": cluster.endpoints.dashboard_ingress_url,
        }
        yield cluster.cluster_name
    outputs["rayClusters"] = ray_out
    jobs_out = {}
    for i, j in enumerate(spec.ray_jobs):
        ns = j.namespace or spec.namespace
        selected = clusters.get((ns, j.cluster_selector or ""))  # a job on a stack cluster waits for it
        job = RayJob(j.name, j, namespace=spec.namespace, monitoring=spec.monitoring, security=security, key=f"{NAMESPACE}:rayJobs[{i}]",
                     opts=after(ns, extra=[*operators, *([selected] if selected else [])]))
        jobs_out[j.name] = {"namespace": ns, "jobId": job.endpoints.job_id, "dashboardUrl": job.endpoints.dashboard_url}
        yield job.job_name
    outputs["rayJobs"] = jobs_out
    services_out = {}
    for i, s in enumerate(spec.ray_services):
        ns = s.namespace or spec.namespace
        service = RayService(s.name, s, namespace=spec.namespace, monitoring=spec.monitoring, security=security,
                             key=f"{NAMESPACE}:rayServices[{i}]", opts=after(ns, extra=operators))
        services_out[s.name] = {
            "namespace": ns,
            "serveUrl": service.endpoints.serve_url,
            "serveIngressUrl": service.endpoints.serve_ingress_url,
            "dashboardUrl": service.endpoints.dashboard_url,
        }
        yield service.service_name
    outputs["rayServices"] = services_out
    yield from declare_dask(spec, outputs, root, after, security)


def declare_dask(spec: StackSpec, outputs: dict[str, Any], root: Path, after: Callable[..., pulumi.ResourceOptions],
                 security: SecurityDefaults) -> Iterator[pulumi.Output[Any] | None]:
    """The Dask operator and clusters (each cluster waits for its namespace and the operator) into ``outputs``, pausing
    after each as :func:`declare_stack` does."""
    from components.dask import DaskCluster, DaskOperator

    operators: list[pulumi.Resource] = []
    if spec.dask_operator:
        op_ns = spec.dask_operator.namespace or spec.namespace
        operator = DaskOperator("dask-operator", spec.dask_operator, namespace=spec.namespace, monitoring=spec.monitoring,
                                project_dir=root, network_policy=effective_network_policy(spec.network_policy, None),
                                key=f"{NAMESPACE}:daskOperator", opts=after(op_ns))
        operators.append(operator)
        outputs["daskOperatorVersion"] = spec.dask_operator.version
        yield None
    dask_out = {}
    for i, c in enumerate(spec.dask_clusters):
        ns = c.namespace or spec.namespace
        cluster = DaskCluster(c.name, c, namespace=spec.namespace, monitoring=spec.monitoring,
                              security=security, key=f"{NAMESPACE}:daskClusters[{i}]", opts=after(ns, extra=operators))
        dask_out[c.name] = {
            "namespace": ns,
            "schedulerService": cluster.endpoints.scheduler_service,
            "schedulerAddress": cluster.endpoints.scheduler_address,
            "dashboardUrl": cluster.endpoints.dashboard_url,
            "dashboardIngressUrl": cluster.endpoints.dashboard_ingress_url,
        }
        yield cluster.cluster_name
    outputs["daskClusters"] = dask_out


def main() -> None:
    """Entry point of the Pulumi program; bad config is reported as one clean error, no traceback."""
    collector.spare()  # what the process holds already (the SDK and its modules) is not rescanned while the config is read
    try:
        outputs = build_stack(load_stack_spec())
    except BaseException as exc:
        collector.hand_back()
        if isinstance(exc, ConfigError):
            raise pulumi.RunError(f"invalid raydask configuration:\n{exc}") from None
        raise
    for key, value in outputs.items():
        pulumi.export(key, value)
