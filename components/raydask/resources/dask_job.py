"""DaskJob: a batch job on its own Dask cluster, which the Dask operator creates and deletes when the runner ends."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.dask import DaskJobEndpoints
from raydask.builders.plan import Context, Plan
from raydask.builders.workloads import plan_dask_job
from raydask.resources.workload import WorkloadComponent
from raydask.spec.dask import DaskJobSpec


class DaskJob(WorkloadComponent[DaskJobSpec, DaskJobEndpoints]):
    """A DaskJob (``kubernetes.dask.org/v1``) with the NetworkPolicies of its cluster and runner; a change to the job
    replaces it (it runs once).

    ``resource`` is the DaskJob with its live ``status`` (``jobStatus``); the Output attributes resolve once it is
    registered.
    """

    TYPE = "raydask:dask:DaskJob"
    SPEC = DaskJobSpec

    job_name: pulumi.Output[str]
    """The DaskJob's name."""
    cluster_name: pulumi.Output[str]
    """The name of the DaskCluster the operator creates for the job."""
    runner_pod_name: pulumi.Output[str]
    """The name of the runner pod."""
    scheduler_address: pulumi.Output[str]
    """The scheduler's address inside the cluster."""
    dashboard_url: pulumi.Output[str]
    """The dashboard inside the cluster."""

    def plan(self, spec: DaskJobSpec, ctx: Context) -> Plan[DaskJobEndpoints]:
        return plan_dask_job(spec, ctx)

    def publish(self, spec: DaskJobSpec) -> dict[str, pulumi.Output[Any]]:
        ep = self.endpoints
        self.job_name = self.once_registered(spec.name)
        self.cluster_name = self.once_registered(ep.cluster_name)
        self.runner_pod_name = self.once_registered(ep.runner_pod)
        self.scheduler_address = self.once_registered(ep.scheduler_address)
        self.dashboard_url = self.once_registered(ep.dashboard_url)
        return {
            "jobName": self.job_name,
            "clusterName": self.cluster_name,
            "runnerPodName": self.runner_pod_name,
            "schedulerAddress": self.scheduler_address,
            "dashboardUrl": self.dashboard_url,
        }
