"""RayCronJob spec: a RayJob on a schedule (KubeRay 1.7's ``ray.io/v1`` RayCronJob)."""

from __future__ import annotations

import re
import zoneinfo
from typing import Annotated, ClassVar

from pydantic import AfterValidator

from raydask.errors import Path
from raydask.k8s import naming
from raydask.spec.ray_workloads import RayJobSpec

CRON_JOB_NAME_MAX = naming.RAY_JOB_NAME_MAX - 6
"""KubeRay names each scheduled RayJob ``<cron job>-<5 random characters>``, which must fit RAY_JOB_NAME_MAX."""
CRON_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
"""The descriptors of robfig/cron's standard parser, which KubeRay uses (``cron.ParseStandard``)."""
_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-]+$")
_EVERY = re.compile(r"^@every ((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$")
CRON_JOB_LABEL = "ray.io/cronjob-name"
"""The only label KubeRay puts on the RayJobs a RayCronJob creates."""


def _schedule(value: str) -> str:
    text = value.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ValueError(f"'{value}': set the time zone with timeZone, not in the schedule")
    if text in CRON_DESCRIPTORS or _EVERY.match(text):
        return value
    fields = text.split()
    if len(fields) != 5 or not all(_FIELD.match(f) for f in fields):
        raise ValueError(f"'{value}' is not a cron schedule: five fields (minute hour day-of-month month day-of-week, e.g. "
                         f"'45 21 * * *'), one of {', '.join(CRON_DESCRIPTORS)}, or '@every <duration>' (e.g. @every 1h30m)")
    return value


def _time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone of the IANA database (e.g. Asia/Taipei, Europe/Paris, UTC)") from None
    return value


class RayCronJobSpec(RayJobSpec):
    """A RayJob on a schedule (``ray.io/v1`` RayCronJob): at each scheduled time KubeRay creates a RayJob
    ``<name>-<5 random characters>`` from the job's fields (its ``jobTemplate``), which creates its cluster, runs and is
    cleaned up as any RayJob. Needs KubeRay ≥ 1.7.0 with its feature gate RayCronJob on (off by default:
    ``raydask:kuberay.featureGates: {RayCronJob: true}``). Every key of a RayJob applies but ``generateName``, ``jobId``
    (each run gets an id of its own), ``InteractiveMode`` (nobody submits) and ``batchScheduling`` (KubeRay copies no
    label of the RayCronJob to its RayJobs); ``labels`` and ``annotations`` are the RayCronJob's own."""

    CRD_KIND: ClassVar[str] = "RayCronJob"

    schedule: Annotated[str, AfterValidator(_schedule)]
    """When to run, in cron format (``45 21 * * *``, ``@hourly``, ``@every 2h``), read by KubeRay's ``cron.ParseStandard``;
    required."""
    time_zone: Annotated[str, AfterValidator(_time_zone)] | None = None
    """IANA time zone of the schedule (``Asia/Taipei``); default none (the KubeRay operator's local time zone)."""
    suspend: bool = False
    """Stop scheduling new runs (runs already created go on); default false."""

    def problems(self) -> list[tuple[Path, str]]:
        problems = [p for p in super().problems() if p[0] != "suspend"]  # a RayCronJob's suspend is its schedule's
        if len(self.name) > CRON_JOB_NAME_MAX:
            problems.append(("name", f"'{self.name}' is {len(self.name)} characters; KubeRay names each run "
                                     f"<name>-<5 characters>, a RayJob name of at most {naming.RAY_JOB_NAME_MAX}: at most "
                                     f"{CRON_JOB_NAME_MAX}"))
        problems = [p for p in problems if p[0] != "cluster.head.service.name"]  # said below, for a RayCronJob
        if self.head_service_name:
            problems.append(("cluster.head.service.name", f"'{self.head_service_name}' would be claimed by every run's "
                                                          "cluster, and runs can overlap (KubeRay cannot create the next "
                                                          "run's head Service, and points its job at the other run's "
                                                          "cluster): remove it (KubeRay names each run's Service)"))
        if self.generate_name:
            problems.append(("generateName", "KubeRay names each run of a RayCronJob <name>-<5 random characters> "
                                             "already: remove it"))
        if self.job_id is not None:
            problems.append(("jobId", "every run of a RayCronJob is a new Ray job, which needs an id of its own (Ray "
                                      "refuses a second job of one id on a cluster): remove it, KubeRay generates one"))
        if self.submission_mode == "InteractiveMode":
            problems.append(("submissionMode", "InteractiveMode waits for you to submit each run: use K8sJobMode, "
                                               "HTTPMode or SidecarMode"))
        if self.batch_scheduling is not None:
            problems.append(("batchScheduling", f"KubeRay puts no label of the RayCronJob on the RayJobs it creates (only "
                                                f"{CRON_JOB_LABEL}), so the batch scheduler would never see them: remove it"))
        return problems
