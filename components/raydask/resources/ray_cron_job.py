"""RayCronJob: a RayJob on a schedule, on KubeRay ≥ 1.7."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.builders.ray_cron_job import RayCronJobEndpoints
from raydask.builders.workloads import plan_ray_cron_job
from raydask.resources.workload import WorkloadComponent
from raydask.spec.ray_cron_job import RayCronJobSpec


class RayCronJob(WorkloadComponent[RayCronJobSpec, RayCronJobEndpoints]):
    """A RayCronJob (``ray.io/v1``), plus the metrics Service and ServiceMonitor of the clusters its runs create.

    At each scheduled time KubeRay creates a RayJob ``<name>-<5 random characters>`` from the job's fields; a change is
    applied in place and used by the next runs. Needs KubeRay ≥ 1.7.0 with its feature gate RayCronJob on.
    ``resource`` is the RayCronJob with its live ``status`` (``lastScheduleTime``).
    """

    TYPE = "raydask:ray:RayCronJob"
    SPEC = RayCronJobSpec

    cron_job_name: pulumi.Output[str]
    """The RayCronJob's name (its runs are the RayJobs ``<name>-<5 characters>``)."""
    schedule: pulumi.Output[str]
    """The cron schedule."""

    def plan(self, spec: RayCronJobSpec, ctx: Context) -> Plan[RayCronJobEndpoints]:
        return plan_ray_cron_job(spec, ctx)

    def publish(self, spec: RayCronJobSpec) -> dict[str, pulumi.Output[Any]]:
        self.cron_job_name = self.once_registered(self.endpoints.cron_job_name)
        self.schedule = pulumi.Output.from_input(self.endpoints.schedule)
        return {"cronJobName": self.cron_job_name, "schedule": self.schedule}
