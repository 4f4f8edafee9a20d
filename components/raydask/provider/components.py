"""What the provider constructs: every component of the Python API under its own type token, and ``Stack``, the whole
raydask program (:func:`raydask.program.build_stack`) as one component."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import Any

import pulumi
from pydantic.alias_generators import to_camel

from raydask import program
from raydask.provider import args as a
from raydask.resources.dask_cluster import DaskCluster
from raydask.resources.dask_job import DaskJob
from raydask.resources.operators import DaskOperator, KubeRayOperator
from raydask.resources.ray_cluster import RayCluster
from raydask.resources.ray_cron_job import RayCronJob
from raydask.resources.ray_job import RayJob
from raydask.resources.ray_service import RayService
from raydask.spec.stack import StackSpec


class Stack(pulumi.ComponentResource):
    """A whole raydask stack: namespaces, the operators and every workload of a :class:`~raydask.spec.StackSpec`, as
    ``pulumi up`` of the raydask project declares them from ``raydask:*`` config (:func:`raydask.program.build_stack`).
    One per program: its children are named as the raydask program names them."""

    TYPE = "raydask:index:Stack"

    namespace: pulumi.Output[str]
    """The stack's default namespace."""
    kuberay_version: pulumi.Output[str | None]
    """The KubeRay operator's version; none when the stack installs no operator."""
    dask_operator_version: pulumi.Output[str | None]
    """The Dask operator's version; none when the stack installs no operator."""
    ray_clusters: pulumi.Output[dict[str, Any]]
    """Each Ray cluster's namespace and addresses, by name (the ``rayClusters`` stack output)."""
    ray_jobs: pulumi.Output[dict[str, Any]]
    """Each Ray job's namespace, job id and dashboard, by name."""
    ray_cron_jobs: pulumi.Output[dict[str, Any]]
    """Each Ray job on a schedule's namespace, name and schedule, by name."""
    ray_services: pulumi.Output[dict[str, Any]]
    """Each Ray Serve application's namespace and addresses, by name."""
    dask_clusters: pulumi.Output[dict[str, Any]]
    """Each Dask cluster's namespace and addresses, by name."""
    dask_jobs: pulumi.Output[dict[str, Any]]
    """Each Dask job's namespace and addresses, by name."""

    def __init__(self, name: str, spec: StackSpec, *, project_dir: str | Path | None = None,
                 secret_values: Mapping[str, pulumi.Input[str]] | None = None,
                 redis_password: pulumi.Input[str] | EllipsisType | None = ...,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, None, opts)
        outputs = program.build_stack(spec, Path(project_dir) if project_dir else None, pulumi.ResourceOptions(parent=self),
                                      secret_values, redis_password)
        values = {to_camel(field): outputs.get(to_camel(field)) for field in OUTPUT_FIELDS}
        for field in OUTPUT_FIELDS:
            setattr(self, field, pulumi.Output.from_input(values[to_camel(field)]))
        self.register_outputs(values)


OUTPUT_FIELDS = ("namespace", "kuberay_version", "dask_operator_version", *(kind.field for kind in program.WORKLOADS))
"""The Stack's outputs: those of the raydask program."""


@dataclass(frozen=True)
class Kind:
    """One component the provider constructs and the model of its inputs."""

    component: type[pulumi.ComponentResource]
    args: type[a.Args]

    @property
    def token(self) -> str:
        token: str = getattr(self.component, "TYPE")  # noqa: B009  (every raydask component declares its type token)
        return token


KINDS: tuple[Kind, ...] = (
    Kind(KubeRayOperator, a.KubeRayOperatorArgs),
    Kind(DaskOperator, a.DaskOperatorArgs),
    Kind(RayCluster, a.RayClusterArgs),
    Kind(RayJob, a.RayJobArgs),
    Kind(RayCronJob, a.RayCronJobArgs),
    Kind(RayService, a.RayServiceArgs),
    Kind(DaskCluster, a.DaskClusterArgs),
    Kind(DaskJob, a.DaskJobArgs),
    Kind(Stack, a.StackArgs),
)
"""Every component of the package, by type token order of the Python API."""

BY_TOKEN = {kind.token: kind for kind in KINDS}
