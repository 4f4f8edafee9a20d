"""The security defaults for a DaskCluster: the stack's ``networkPolicy`` merged in, the exposure rules, and the
cluster's NetworkPolicies (pure functions; the DaskCluster component registers what they return)."""

from __future__ import annotations

from raydask.builders.common import Manifest
from raydask.builders.network import Allow, network_policies
from raydask.k8s import labels as lbl
from raydask.k8s.naming import DaskNames
from raydask.k8s.ports import DaskPorts
from raydask.spec.base import MonitoringSpec
from raydask.spec.dask import DaskClusterSpec
from raydask.spec.security import Problem, SecurityDefaults, dask_exposure_problems, effective_network_policy

APP = "dask"
SCHEDULER = "scheduler"
EVERYWHERE = "0.0.0.0/0"
OPERATOR_PORTS = (DaskPorts.COMM, DaskPorts.DASHBOARD)
"""What the Dask operator calls on a scheduler: the HTTP API (8787) for scaling and retiring workers, the comm port (8786)
as its fallback."""


def resolve(spec: DaskClusterSpec, defaults: SecurityDefaults) -> DaskClusterSpec:
    """``spec`` with the stack's ``networkPolicy`` merged in (None when off)."""
    return spec.model_copy(update={"network_policy": effective_network_policy(defaults.network_policy, spec.network_policy)})


def problems(resolved: DaskClusterSpec, defaults: SecurityDefaults) -> list[Problem]:
    """Exposure rules of a resolved cluster (``requireTls`` comes from the stack)."""
    return dask_exposure_problems(resolved, require_tls=defaults.require_tls)


def dask_network_policies(spec: DaskClusterSpec, namespace: str, monitoring: MonitoringSpec | None = None,
                          operator_namespace: str | None = None) -> list[Manifest]:
    """NetworkPolicies of a resolved cluster (scheduler and every worker group); none when its ``networkPolicy`` is off.

    Admitted: the cluster's own pods (all ports), clients to the scheduler (8786) from ``clientNamespaces``, the Ingress
    controller to the dashboard when it has an Ingress, Prometheus to the dashboards (8787 on the scheduler, 8788 on the
    workers: the operator chart's monitors scrape them), the operator to the scheduler's 8786 and 8787.
    """
    policy = spec.network_policy
    if policy is None:
        return []
    operator_ns = policy.operator_namespace or operator_namespace
    scraped = monitoring is not None and monitoring.enabled
    external = []
    if spec.scheduler.service_type != "ClusterIP":
        external.append(Allow(OPERATOR_PORTS, group=SCHEDULER, cidrs=(EVERYWHERE,)))
    return network_policies(
        DaskNames.network_policy(spec.name), namespace, lbl.standard(APP, spec.name, "network-policy"),
        lbl.selector(APP, spec.name), policy,
        groups={SCHEDULER: lbl.selector(APP, spec.name, SCHEDULER)},
        client_ports=(DaskPorts.COMM,), client_group=SCHEDULER,
        exposed=[(DaskPorts.DASHBOARD, SCHEDULER)] if spec.dashboard.ingress else [],
        metrics=(monitoring.namespace, DaskPorts.scraped()) if scraped and monitoring else None,
        operator=(operator_ns, OPERATOR_PORTS, SCHEDULER) if operator_ns else None,
        ingress=external,
    )
