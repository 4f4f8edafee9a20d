"""RayCronJob builders: the RayCronJob object (the RayJob it creates at each scheduled time as its ``jobTemplate``)
and the monitors of the clusters its runs create."""

from __future__ import annotations

from dataclasses import dataclass, field

from raydask.builders.common import Manifest
from raydask.builders.ray_job import build_ray_job
from raydask.spec.base import MonitoringSpec
from raydask.spec.ray_cron_job import RayCronJobSpec

TEMPLATE_OMITS = ("suspend", "jobId")
"""RayJob fields a RayCronJob's ``jobTemplate`` leaves out: ``suspend`` is the schedule's, and each run is a new Ray job
(KubeRay generates its id)."""


@dataclass(frozen=True)
class RayCronJobEndpoints:
    """What a RayCronJob publishes (known from the config)."""

    cron_job_name: str
    schedule: str
    time_zone: str | None


@dataclass(frozen=True)
class RayCronJobBuild:
    """A RayCronJob and the metrics Service and ServiceMonitor of the clusters its runs create."""

    cron_job: Manifest
    endpoints: RayCronJobEndpoints
    services: list[Manifest] = field(default_factory=list)
    monitors: list[Manifest] = field(default_factory=list)


def ray_cron_job_spec(spec: RayCronJobSpec, job_spec: Manifest) -> Manifest:
    """The ``spec`` of a RayCronJob around the ``spec`` of the RayJob it creates."""
    body: Manifest = {"schedule": spec.schedule}
    if spec.time_zone is not None:
        body["timeZone"] = spec.time_zone
    if spec.suspend:
        body["suspend"] = True
    body["jobTemplate"] = {k: v for k, v in job_spec.items() if k not in TEMPLATE_OMITS}
    return body


def build_ray_cron_job(spec: RayCronJobSpec, namespace: str, monitoring: MonitoringSpec | None = None) -> RayCronJobBuild:
    """Every object of one RayCronJob: the RayJob's, with the RayJob wrapped in the schedule."""
    job = build_ray_job(spec.model_copy(update={"suspend": False}), namespace, monitoring)
    cron = {**job.job, "kind": "RayCronJob", "spec": ray_cron_job_spec(spec, job.job["spec"])}
    return RayCronJobBuild(cron, RayCronJobEndpoints(spec.name, spec.schedule, spec.time_zone), job.services, job.monitors)
