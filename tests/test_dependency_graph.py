"""What waits for what when ``pulumi up`` creates a stack, read off the dependencies the program registers under the
mock engine (explicit ``depends_on``, components expanded to their children, a child behind its parent).

- A workload's main custom resource (RayCluster, RayJob, RayService, DaskCluster) waits for its operator (the CRDs it
  is an instance of, the operator that reconciles it and that must outlive it on destroy: the Dask operator's kopf
  finalizer) and for its own NetworkPolicies: a default-deny policy must exist before the operator starts any pod of
  it, or the pods run unprotected for as long as the policies queue.
- Nothing else of a workload waits for the operators: its Secrets, NetworkPolicies, Services, Ingresses and monitors
  are created while the CRDs and the Helm releases are, so the workload's own chain is policies → main resource.
- No workload waits for an Ingress or a monitor (they observe or expose it: they come after it, never before).
"""

from __future__ import annotations

from typing import Any

import pytest
from stack_renders import stack_config

from raydask.program import main
from raydask.spec.security import OFFLINE_SECRET_CONFIG

WORKLOAD_TYPES = {"raydask:ray:RayCluster", "raydask:ray:RayJob", "raydask:ray:RayService", "raydask:dask:DaskCluster"}
OPERATOR_TYPES = {"raydask:kuberay:KubeRayOperator", "raydask:dask:DaskOperator"}
OBSERVERS = {"Ingress", "ServiceMonitor", "PodMonitor"}


def _kind(r: Any) -> str:
    return r.type.split(":")[-1].removesuffix("Patch")


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_only_the_main_resource_waits_for_the_operators_and_only_policies_gate_it(run_program: Any, stack: str) -> None:
    secrets = OFFLINE_SECRET_CONFIG if stack == "production" else {}
    result = run_program(main, config={**stack_config(stack), **secrets}, secret_keys=list(secrets), stack=stack)
    by_key = {(r.type, r.name): r for r in result.resources}

    def operator_owned(key: tuple[str, str]) -> bool:
        while key in by_key:
            if key[0] in OPERATOR_TYPES:
                return True
            parent = by_key[key].parent
            if parent is None:
                return False
            key = parent
        return False

    workloads = [r for r in result.resources if r.type in WORKLOAD_TYPES]
    assert workloads, stack
    checked = 0
    for workload in workloads:
        children = [r for r in result.resources if r.parent == (workload.type, workload.name) and r.custom]
        main_resource = next(r for r in children if r.name == workload.name)
        gates = result.gates((main_resource.type, main_resource.name))
        assert any(operator_owned(g) for g in gates), (workload.name, "the main resource must wait for its operator")
        policies = {(r.type, r.name) for r in children if _kind(r) == "NetworkPolicy"}
        assert policies <= gates, (workload.name, policies - gates)
        assert not any(_kind(by_key[g]) in OBSERVERS for g in gates if g in by_key), (workload.name, gates)
        for child in children:
            if child is main_resource or (main_resource.type, main_resource.name) in result.gates((child.type, child.name)):
                continue  # after the main resource: its Services, Ingresses, monitors and readiness patch
            waits = sorted(g for g in result.gates((child.type, child.name)) if operator_owned(g))
            assert not waits, (child.type, child.name, "waits for the operators", waits[:3])
            checked += 1
    assert checked >= len(workloads), checked  # each workload has objects before its main resource (its policies)
