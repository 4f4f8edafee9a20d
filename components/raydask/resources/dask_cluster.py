"""DaskCluster: a Dask cluster on the Dask operator with its worker groups, autoscaler, Ingress and NetworkPolicies."""

from __future__ import annotations

from typing import Any

import pulumi

from raydask.builders.dask import DaskEndpoints
from raydask.builders.plan import Context, Plan
from raydask.builders.workloads import plan_dask_cluster
from raydask.resources.workload import WorkloadComponent
from raydask.spec.dask import DaskClusterSpec


class DaskCluster(WorkloadComponent[DaskClusterSpec, DaskEndpoints]):
    """A Dask cluster on the Dask operator (``kubernetes.dask.org/v1``): DaskCluster, worker groups, autoscaler, Ingress,
    NetworkPolicies.

    ``resource`` is the DaskCluster with its live ``status``; the Output attributes carry the addresses of
    :attr:`endpoints` and resolve once the DaskCluster is registered.
    """

    TYPE = "raydask:dask:DaskCluster"
    SPEC = DaskClusterSpec

    cluster_name: pulumi.Output[str]
    """The DaskCluster's name."""
    scheduler_service_name: pulumi.Output[str]
    """The scheduler Service's name."""
    scheduler_address: pulumi.Output[str]
    """The scheduler's address for clients, ``tcp://<service>.<namespace>.svc.cluster.local:8786``."""
    dashboard_url: pulumi.Output[str]
    """The dashboard inside the cluster."""
    dashboard_ingress_url: pulumi.Output[str | None]
    """The dashboard's URL through its Ingress; none without one."""

    def plan(self, spec: DaskClusterSpec, ctx: Context) -> Plan[DaskEndpoints]:
        return plan_dask_cluster(spec, ctx)

    def publish(self, spec: DaskClusterSpec) -> dict[str, pulumi.Output[Any]]:
        ep = self.endpoints
        self.cluster_name = self.once_registered(spec.name)
        self.scheduler_service_name = self.once_registered(ep.scheduler_service)
        self.scheduler_address = self.once_registered(ep.scheduler_address)
        self.dashboard_url = self.once_registered(ep.dashboard_url)
        self.dashboard_ingress_url = pulumi.Output.from_input(ep.dashboard_ingress_url)
        return {
            "clusterName": self.cluster_name,
            "schedulerServiceName": self.scheduler_service_name,
            "schedulerAddress": self.scheduler_address,
            "dashboardUrl": self.dashboard_url,
            "dashboardIngressUrl": self.dashboard_ingress_url,
        }
