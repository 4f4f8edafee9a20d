"""The raydask Pulumi program: stack config -> specs -> components -> stack outputs.

``__main__.py`` (``pulumi up``) and ``raydask render`` (mock engine) both run :func:`main`; your own program can call
:func:`build_stack` with a :class:`~raydask.spec.stack.StackSpec`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import Any

import pulumi

from raydask.builders.namespaces import namespaces as namespace_objects
from raydask.builders.workloads import on_stack_cluster
from raydask.errors import ConfigError, key_path, quote_key
from raydask.resources.dask_cluster import DaskCluster
from raydask.resources.dask_job import DaskJob
from raydask.resources.operators import DaskOperator, KubeRayOperator
from raydask.resources.ray_cluster import RayCluster
from raydask.resources.ray_cron_job import RayCronJob
from raydask.resources.ray_job import RayJob
from raydask.resources.ray_service import RayService
from raydask.resources.registration import kubernetes_resource
from raydask.resources.workload import RedisPasswordComponent, WorkloadComponent
from raydask.spec.base import parse_spec, with_pull_policy
from raydask.spec.companions import referenced_config_keys
from raydask.spec.ray_workloads import RayJobSpec
from raydask.spec.security import REDIS_PASSWORD_CONFIG, SECRET_CONFIG_KEYS, SecurityDefaults, effective_network_policy
from raydask.spec.stack import StackSpec

NAMESPACE = "raydask"


OTHER_NAMESPACES = frozenset({"kubernetes", "pulumi"})
"""Config namespaces others read: the Kubernetes provider's and Pulumi's own. Any other key is read by nothing."""


def _raw_config() -> dict[str, Any]:
    from pulumi.runtime import config as rc

    return {**rc.get_config_env(), **rc.CONFIG.get()}


def _is_secret(full_key: str) -> bool:
    from pulumi.runtime.config import is_config_secret

    return is_config_secret(full_key)


def config_values(raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every ``raydask:*`` setting, JSON objects and lists decoded, keyed without the prefix: secrets (the program's own,
    any value set with ``--secret`` and any key a workload's ``secrets`` read) are left out."""
    raw = _raw_config() if raw is None else raw
    settings = {f.alias or n for n, f in StackSpec.model_fields.items()}
    referenced = referenced_config_keys({k.partition(":")[2]: v for k, v in raw.items() if k.startswith(f"{NAMESPACE}:")}) - settings
    out: dict[str, Any] = {}
    for full_key, value in raw.items():
        ns, _, key = full_key.partition(":")
        if ns != NAMESPACE or not key or key in SECRET_CONFIG_KEYS or key in referenced or _is_secret(full_key):
            continue
        if isinstance(value, str):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            value = decoded if isinstance(decoded, (dict, list, bool)) else value
        out[key] = value
    return out


def foreign_keys(raw: dict[str, Any] | None = None) -> list[str]:
    """A ConfigError line for every config key nothing reads: not ``raydask:*``, not the provider's or Pulumi's (a
    misspelt or missing ``raydask:`` prefix drops the whole value)."""
    import difflib

    from raydask.spec.stack import StackSpec

    keys = [f.alias or n for n, f in StackSpec.model_fields.items()] + sorted(SECRET_CONFIG_KEYS)
    out = []
    for full_key in _raw_config() if raw is None else raw:
        ns, _sep, key = full_key.partition(":")
        if ns == NAMESPACE or ns in OTHER_NAMESPACES:
            continue
        close = difflib.get_close_matches(key, keys, n=1, cutoff=0.7)
        hint = f"did you mean {NAMESPACE}:{close[0]}? " if close else ""
        out.append(f"{quote_key(full_key)}: not a key anything reads: {hint}the raydask program reads {NAMESPACE}:* keys (and "
                   "the Kubernetes provider kubernetes:* keys)")
    return out


def load_stack_spec(values: dict[str, Any] | None = None) -> StackSpec:
    """Validate the stack's config into a :class:`StackSpec` (ConfigError naming ``raydask:<key>`` paths). Without
    ``values``, the stack's own config, where keys nothing reads are refused too."""
    if values is not None:
        return parse_spec(StackSpec, values, f"{NAMESPACE}:")
    raw = _raw_config()
    foreign = foreign_keys(raw)
    try:
        spec = parse_spec(StackSpec, config_values(raw), f"{NAMESPACE}:")
    except ConfigError as exc:
        raise ConfigError(sorted(dict.fromkeys([*foreign, *exc.problems]))) from None
    bad = foreign + secret_config_problems(spec, raw)
    if bad:
        raise ConfigError(bad)
    return spec


def secret_config_problems(spec: StackSpec, raw: dict[str, Any]) -> list[str]:
    """ConfigError lines for the secret config: a key a workload's ``secrets`` read that is unset or not a secret, and a
    secret nothing reads."""
    given = {k.partition(":")[2] for k in raw if k.startswith(f"{NAMESPACE}:")}
    out: list[str] = []
    read: set[str] = set()
    for field, i, w in spec.workloads():
        out += [f"{key_path(f'{NAMESPACE}:{field}[{i}]', path)}: {message}" for path, message in w.missing_secrets(given)]
        read |= {ref for _, ref in w.secret_references()}
    out += [_not_secret(f"{NAMESPACE}:{ref}", "<value>") for ref in sorted(read & given) if not _is_secret(f"{NAMESPACE}:{ref}")]
    out += [f"{NAMESPACE}:{key}: a secret nothing reads: name it in a workload's secrets[].fromConfig, or remove it "
            f"(`pulumi config rm {NAMESPACE}:{key}`)"
            for key in sorted(given - read - SECRET_CONFIG_KEYS) if _is_secret(f"{NAMESPACE}:{key}")]
    return list(dict.fromkeys(out))


def _not_secret(full_key: str, placeholder: str) -> str:
    return (f"{full_key}: must be a secret: run `pulumi config set --secret {full_key} {placeholder}` (it is stored in "
            "plaintext in the stack config now)")


def secret_config_values(spec: StackSpec) -> dict[str, pulumi.Output[str]]:
    """The Pulumi secrets the workloads' ``secrets`` read, by config key (those that are set)."""
    config = pulumi.Config(NAMESPACE)
    refs = {ref for _, _, w in spec.workloads() for _, ref in w.secret_references()}
    values = {ref: config.get_secret(ref) for ref in sorted(refs)}
    return {k: v for k, v in values.items() if v is not None}


def config_redis_password() -> pulumi.Output[str] | None:
    """The Pulumi secret ``raydask:redisPassword`` (None when unset); ConfigError when it was set without ``--secret``."""
    from pulumi.runtime.config import is_config_secret

    full = f"{NAMESPACE}:{REDIS_PASSWORD_CONFIG}"
    value = pulumi.Config(NAMESPACE).get_secret(REDIS_PASSWORD_CONFIG)
    if value is not None and not is_config_secret(full):
        raise ConfigError([_not_secret(full, "<password>")])
    return value


def project_dir() -> Path:
    """The directory holding Pulumi.yaml (where ``pulumi up`` runs); ``RAYDASK_PROJECT_DIR`` overrides."""
    return Path(os.environ.get("RAYDASK_PROJECT_DIR") or Path.cwd())


@dataclass(frozen=True)
class WorkloadKind:
    """One list of workloads in the stack config and the component that declares each entry."""

    field: str
    """The :class:`StackSpec` attribute (and, camelCased, the ``raydask:`` key)."""
    key: str
    component: type[WorkloadComponent[Any, Any]]
    operator: str
    """The operator that reconciles it (``kuberay`` or ``daskOperator``): it waits for that operator."""


WORKLOADS: tuple[WorkloadKind, ...] = (
    WorkloadKind("ray_clusters", "rayClusters", RayCluster, "kuberay"),
    WorkloadKind("ray_jobs", "rayJobs", RayJob, "kuberay"),
    WorkloadKind("ray_cron_jobs", "rayCronJobs", RayCronJob, "kuberay"),
    WorkloadKind("ray_services", "rayServices", RayService, "kuberay"),
    WorkloadKind("dask_clusters", "daskClusters", DaskCluster, "daskOperator"),
    WorkloadKind("dask_jobs", "daskJobs", DaskJob, "daskOperator"),
)
"""Every workload kind, in declaration order (a RayJob on a stack's RayCluster waits for it)."""


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.capitalize() for p in rest)


def endpoint_outputs(component: WorkloadComponent[Any, Any], namespace: str) -> dict[str, Any]:
    """A workload's stack outputs: its namespace and every endpoint (plain values, known from the config)."""
    return {"namespace": namespace, **{_camel(k): v for k, v in dataclasses.asdict(component.endpoints).items()}}


def build_stack(spec: StackSpec, root: Path | None = None, opts: pulumi.ResourceOptions | None = None,
                secret_values: Mapping[str, pulumi.Input[str]] | None = None,
                redis_password: pulumi.Input[str] | EllipsisType | None = ...) -> dict[str, Any]:
    """Declare every resource of the stack; returns the stack outputs (plain values: every address is known from the
    config). ``secret_values``: the values the workloads' ``secrets`` read, by config key; default the stack's
    ``raydask:<key>`` secrets. ``redis_password``: the Redis password for ``gcsFaultTolerance``; default the stack's
    ``raydask:redisPassword`` secret."""
    root = root or project_dir()
    spec = with_pull_policy(spec, spec.image_pull_policy)
    secrets = secret_config_values(spec) if secret_values is None else secret_values
    security = SecurityDefaults.from_stack(spec)
    # protect reaches every resource: each component carries it to its children (``child_options``)
    base = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(protect=spec.protect), opts)
    namespaces: dict[str, pulumi.Resource] = {
        m["metadata"]["name"]: kubernetes_resource(f"namespace-{m['metadata']['name']}", m, base)
        for m in namespace_objects(spec)}

    def after(names: Sequence[str], extra: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        depends = [namespaces[n] for n in names if n in namespaces] + list(extra)
        return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(depends_on=depends))

    outputs: dict[str, Any] = {"namespace": spec.namespace}
    operators: dict[str, list[pulumi.Resource]] = {"kuberay": [], "daskOperator": []}
    network_policy = effective_network_policy(spec.network_policy, None)
    if spec.kuberay:
        op_ns = spec.kuberay.namespace or spec.namespace
        operators["kuberay"].append(KubeRayOperator(
            "kuberay", spec.kuberay, namespace=spec.namespace, monitoring=spec.monitoring, project_dir=root,
            network_policy=network_policy, plan_options={"serve_ports": spec.serve_ports()},
            opts=after([op_ns, *spec.kuberay.watch_namespaces])))
        outputs["kuberayVersion"] = spec.kuberay.version
    if spec.dask_operator:
        op_ns = spec.dask_operator.namespace or spec.namespace
        operators["daskOperator"].append(DaskOperator(
            "dask-operator", spec.dask_operator, namespace=spec.namespace, monitoring=spec.monitoring, project_dir=root,
            network_policy=network_policy, opts=after([op_ns])))
        outputs["daskOperatorVersion"] = spec.dask_operator.version

    password = config_redis_password() if redis_password is ... else (
        None if redis_password is None else pulumi.Output.secret(redis_password))
    declared: dict[tuple[str, str], tuple[pulumi.Resource, Any]] = {}
    for kind in WORKLOADS:
        out: dict[str, Any] = {}
        for i, item in enumerate(getattr(spec, kind.field)):
            ns = item.namespace or spec.namespace
            selected, cluster = declared.get((ns, getattr(item, "cluster_selector", None) or ""), (None, None))
            if isinstance(item, RayJobSpec):  # a job on a stack cluster waits for it and submits with its image
                item = on_stack_cluster(item, cluster)
            extra: dict[str, Any] = {"redis_password": password} if issubclass(kind.component, RedisPasswordComponent) else {}
            component = kind.component(
                item.name, item, namespace=spec.namespace, monitoring=spec.monitoring, security=security,
                secret_values=secrets, key=f"{NAMESPACE}:{kind.key}[{i}]",
                opts=after([ns]), main_depends_on=[*operators[kind.operator], *([selected] if selected else [])], **extra)
            if kind.component is RayCluster:
                declared[(ns, item.name)] = (component, item)
            out[item.name] = endpoint_outputs(component, ns)
        outputs[kind.key] = out
    return outputs


CHART_ERROR = "operator chart not available:\n"
"""How :func:`main` starts the message of a chart it cannot find or fetch (not a configuration error)."""


def main() -> None:
    """Entry point of the Pulumi program; bad config, or a chart that cannot be found, is reported as one clean error,
    no traceback."""
    from raydask.charts import ChartError

    try:
        outputs = build_stack(load_stack_spec())
    except ConfigError as exc:
        raise pulumi.RunError(f"invalid raydask configuration:\n{exc}") from None
    except ChartError as exc:
        raise pulumi.RunError(f"{CHART_ERROR}{exc}") from None
    for key, value in outputs.items():
        pulumi.export(key, value)
