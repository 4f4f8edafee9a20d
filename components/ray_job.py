"""RayJob: a Ray batch job on KubeRay, on a new cluster it creates or on an existing RayCluster."""

from __future__ import annotations

from typing import Any

import pulumi

from components.builders.ray_job import RERUN_ON_CHANGES, RayJobEndpoints, build_ray_job
from components.builders.ray_security import job_network_policies, resolve_workload, workload_problems
from components.resources import child_options, register
from components.spec.base import MonitoringSpec, parse_spec
from components.spec.ray_workloads import RayJobSpec
from components.spec.security import SecurityDefaults
from components.wiring import namespace_of, refuse, register_children


class RayJob(pulumi.ComponentResource):
    """A RayJob (``ray.io/v1``), plus the metrics Service and ServiceMonitor of the cluster it creates.

    A RayJob runs once, so any change but ``suspend`` replaces it (delete, then create): that is how a changed job
    runs again. Its ``jobId`` defaults to ``<name>-<hash of the definition>``, so each definition gets its own id.
    ``security`` carries the stack's defaults (``networkPolicy``, ``rayAuth``) for the job's cluster and submitter.
    ``endpoints`` holds the job id and dashboard address as plain values; the Output attributes resolve once the RayJob
    is registered.
    """

    TYPE = "raydask:ray:RayJob"

    endpoints: RayJobEndpoints
    job_name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    job_id: pulumi.Output[str | None]
    dashboard_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        spec: RayJobSpec | dict[str, Any],
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        security: SecurityDefaults | None = None,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        key = key or f"RayJob({name})"
        defaults = security or SecurityDefaults()
        spec = parse_spec(RayJobSpec, spec, key)
        if spec.cluster is not None:
            spec = spec.model_copy(update={"cluster": resolve_workload(spec.cluster, defaults)})
        ns = namespace_of(spec.namespace, namespace, key)
        refuse(key, workload_problems(spec.cluster))
        built = build_ray_job(spec, ns, monitoring)
        policies = register_children(self, opts, name, job_network_policies(spec, ns, monitoring, defaults))
        job = register(built.job, child_options(self, opts, replace_on_changes=RERUN_ON_CHANGES, delete_before_replace=True,
                                                depends_on=policies), name)
        register_children(self, opts, name, [*built.services, *built.monitors], depends_on=[job])
        self.endpoints = built.endpoints
        self.job_name = job.urn.apply(lambda _: spec.name)
        self.namespace = pulumi.Output.from_input(ns)
        self.job_id = pulumi.Output.from_input(built.job_id)
        self.dashboard_url = self.job_name.apply(lambda _: built.dashboard_url)
        self.register_outputs({
            "jobName": self.job_name,
            "namespace": self.namespace,
            "jobId": self.job_id,
            "dashboardUrl": self.dashboard_url,
        })
