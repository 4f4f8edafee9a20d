"""RayJob: a Ray batch job on KubeRay, on a new cluster it creates or on an existing RayCluster."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray_job import RayJobEndpoints
from raydask.builders.workloads import plan_ray_job
from raydask.resources.workload import WorkloadComponent
from raydask.spec.ray_workloads import RayJobSpec


class RayJob(WorkloadComponent[RayJobSpec, RayJobEndpoints]):
    """A RayJob (``ray.io/v1``), plus the metrics Service and ServiceMonitor of the cluster it creates.

    A RayJob runs once, so any change but ``suspend`` replaces it (delete, then create): that is how a changed job
    runs again. Its ``jobId`` defaults to ``<name>-<hash of the definition>``, so each definition gets its own id.
    ``resource`` is the RayJob with its live ``status``.
    """

    TYPE = "raydask:ray:RayJob"
    SPEC = RayJobSpec

    job_name: pulumi.Output[str]
    """The RayJob's name."""
    job_id: pulumi.Output[str | None]
    """The Ray job id (``<name>-<hash of the definition>`` unless set); none in InteractiveMode without one."""
    dashboard_url: pulumi.Output[str]
    """The dashboard of the job's cluster inside the cluster."""

    def plan(self, spec: RayJobSpec, ctx: Context) -> Plan[RayJobEndpoints]:
        return plan_ray_job(spec, ctx)

    def publish(self, spec: RayJobSpec) -> dict[str, pulumi.Output[Any]]:
        self.job_name = self.once_registered(self.endpoints.job_name or spec.name)
        self.job_id = pulumi.Output.from_input(self.endpoints.job_id)
        self.dashboard_url = self.once_registered(self.endpoints.dashboard_url)
        return {"jobName": self.job_name, "jobId": self.job_id, "dashboardUrl": self.dashboard_url}
