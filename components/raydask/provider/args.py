"""The inputs of each component as the package schema declares them: the spec model plus the keyword arguments of the
Python constructor (``namespace``, ``monitoring``, ...), one model per component. Only the schema reads these models;
the component itself parses its spec, so its errors name the same keys as in Python."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel

from raydask.spec.base import Label, MonitoringSpec
from raydask.spec.config import SPEC_CONFIG
from raydask.spec.dask import DaskClusterSpec, DaskJobSpec, DaskOperatorSpec
from raydask.spec.kuberay import KubeRayOperatorSpec
from raydask.spec.ray import RayClusterSpec
from raydask.spec.ray_cron_job import RayCronJobSpec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
from raydask.spec.security import AuthSpec, NetworkPolicySpec
from raydask.spec.stack import StackSpec


class Args(BaseModel):
    """Base of the input models: camelCase names, field docstrings as descriptions (as the specs)."""

    model_config = SPEC_CONFIG

    SECRET: ClassVar[frozenset[str]] = frozenset()
    """Inputs the schema marks secret (their values only ever reach Secrets)."""


class SecuritySettings(Args):
    """Stack-wide security settings a cluster applies where it sets none (``SecurityDefaults`` in Python)."""

    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies for the cluster unless it sets its own keys (the stack's ``raydask:networkPolicy``); default none."""
    ray_auth: AuthSpec | None = None
    """Ray token authentication for a Ray cluster without its own ``auth`` (the stack's ``raydask:rayAuth``); default
    none."""
    require_tls: bool = False
    """Refuse an Ingress without ``tlsSecret`` (the stack's ``raydask:requireTls``); default false."""
    kuberay_namespace: Label | None = None
    """Namespace of the KubeRay operator, admitted by the cluster's NetworkPolicies; default none."""
    dask_operator_namespace: Label | None = None
    """Namespace of the Dask operator, admitted by the cluster's NetworkPolicies; default none."""


class WorkloadArgs(Args):
    """What every workload component takes beside its spec."""

    namespace: Label | None = None
    """Namespace when the spec sets none; default none (then the spec's ``namespace`` is required)."""
    monitoring: MonitoringSpec | None = None
    """Prometheus settings (the stack's ``raydask:monitoring``); default none: no monitors."""
    security: SecuritySettings | None = None
    """Stack-wide security defaults; default none."""
    secret_values: dict[str, str] = {}
    """The values the spec's ``secrets[].fromConfig`` read, by that key (secret: they only ever reach those Secrets);
    default none."""

    SECRET: ClassVar[frozenset[str]] = frozenset({"secret_values"})


class RedisPasswordArgs(WorkloadArgs):
    """A workload whose Ray cluster may keep its state in an external Redis."""

    redis_password: str | None = None
    """The Redis password for ``gcsFaultTolerance`` (secret: it only ever reaches the Secret raydask creates for it);
    default none."""

    SECRET: ClassVar[frozenset[str]] = frozenset({"secret_values", "redis_password"})


class RayClusterArgs(RedisPasswordArgs):
    spec: RayClusterSpec
    """The Ray cluster (the keys of a ``raydask:rayClusters`` entry); required."""


class RayJobArgs(WorkloadArgs):
    spec: RayJobSpec
    """The Ray job (the keys of a ``raydask:rayJobs`` entry); required."""


class RayCronJobArgs(WorkloadArgs):
    spec: RayCronJobSpec
    """The Ray job on a schedule (the keys of a ``raydask:rayCronJobs`` entry); required."""


class RayServiceArgs(RedisPasswordArgs):
    spec: RayServiceSpec
    """The Ray Serve applications and their cluster (the keys of a ``raydask:rayServices`` entry); required."""


class DaskClusterArgs(WorkloadArgs):
    spec: DaskClusterSpec
    """The Dask cluster (the keys of a ``raydask:daskClusters`` entry); required."""


class DaskJobArgs(WorkloadArgs):
    spec: DaskJobSpec
    """The Dask job (the keys of a ``raydask:daskJobs`` entry); required."""


class OperatorArgs(Args):
    """What both operator components take beside their spec."""

    namespace: Label | None = None
    """Namespace when the spec sets none; default none (then the spec's ``namespace`` is required)."""
    monitoring: MonitoringSpec | None = None
    """Prometheus settings: a monitor of the operator's metrics; default none."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies isolating the operator pods; default none."""
    project_dir: str | None = None
    """Where a relative ``chart.path`` starts; default the directory the program runs in."""


class KubeRayOperatorArgs(OperatorArgs):
    spec: KubeRayOperatorSpec | None = None
    """The operator (the ``raydask:kuberay`` keys); default KubeRay 1.7.0 from the public chart repository."""


class DaskOperatorArgs(OperatorArgs):
    spec: DaskOperatorSpec | None = None
    """The operator (the ``raydask:daskOperator`` keys); default the pinned chart from the public chart repository."""


class StackArgs(Args):
    """A whole stack, as the raydask program declares it from ``raydask:*`` config."""

    config: StackSpec | None = None
    """Every ``raydask:*`` key (without the prefix) as one object; default the calling stack's own ``raydask:*``
    config, read as ``pulumi up`` of the raydask project reads it."""
    redis_password: str | None = None
    """The Redis password for ``gcsFaultTolerance`` (secret); default the stack's ``raydask:redisPassword`` when
    ``config`` is not given, else none."""
    secret_values: dict[str, str] = {}
    """The values the workloads' ``secrets[].fromConfig`` read, by that key (secret); default the stack's
    ``raydask:<key>`` secrets when ``config`` is not given, else none."""
    project_dir: str | None = None
    """Where a relative ``chart.path`` starts; default the directory the program runs in."""

    SECRET: ClassVar[frozenset[str]] = frozenset({"secret_values", "redis_password"})


__all__ = ["Args", "DaskClusterArgs", "DaskJobArgs", "DaskOperatorArgs", "KubeRayOperatorArgs", "OperatorArgs",
           "RayClusterArgs", "RayCronJobArgs", "RayJobArgs", "RayServiceArgs", "SecuritySettings", "StackArgs", "WorkloadArgs"]
