"""The dev stack, for real: preview, up (the operators reconcile what it creates), destroy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live import ROOT, ControlPlane, Pulumi, assert_no_changes, items, joined, kube_get, project_copy, start_operators
from pulumi import automation as auto
from run_pulumi import select_stack
from stack_renders import program_run

from raydask.k8s.manifest import CRD_TYPE

STACK = "dev"
QUIET = "ray-dev-jobs"
"""The dev RayJob moves to a namespace the test's KubeRay operator does not watch: its controller would call the Ray
dashboard, a fake address here."""


def planned(events: list[Any]) -> set[tuple[str, str]]:
    """``(type, name)`` of every resource a preview or update reported as created."""
    out = set()
    for e in events:
        pre = e.resource_pre_event
        if pre is not None and pre.metadata.op == "create" and not pre.metadata.type.startswith("pulumi:"):
            out.add((pre.metadata.type, pre.metadata.urn.rsplit("::", 1)[-1]))
    return out


def test_dev_stack_preview_up_destroy(cluster: ControlPlane, pulumi: Pulumi, chart_mirror: str, ingress_controller: Any,
                                      workdir: Path) -> None:
    project = project_copy(workdir / "dev-project", ROOT / "stacks" / "Pulumi.dev.yaml", STACK)
    stack = select_stack(STACK, project)
    stack.set_all_config({"raydask:kuberay.chart.repo": auto.ConfigValue(chart_mirror),
                          "raydask:daskOperator.chart.repo": auto.ConfigValue(chart_mirror),
                          "raydask:rayJobs[0].namespace": auto.ConfigValue(QUIET),
                          "raydask:kuberay.watchNamespaces[1]": auto.ConfigValue(QUIET)}, path=True)

    events: list[Any] = []
    preview = stack.preview(on_event=events.append, color="never")
    expected = {(r.type, r.name) for r in program_run(STACK).resources if r.type != CRD_TYPE}
    assert expected <= planned(events) | {(t, n) for t, n in expected if t == CRD_TYPE}
    assert preview.change_summary.get(auto.OpType.CREATE, preview.change_summary.get("create")) >= len(expected)

    operators = start_operators(cluster, ["ray-dev"])
    try:
        up = stack.up(color="never", on_output=print)
        for thread in operators:
            joined(thread)
        assert up.summary.result == "succeeded"
        assert up.outputs["rayClusters"].value["dev"]["headService"] == "dev-head-svc"

        # what the operators made of it
        rc = kube_get(cluster, "/apis/ray.io/v1/namespaces/ray-dev/rayclusters/dev")
        assert rc["status"]["state"] == "ready"
        assert kube_get(cluster, "/api/v1/namespaces/ray-dev/services/dev-head-svc")["spec"]["ports"]
        pods = items(cluster, "/api/v1/namespaces/ray-dev/pods?labelSelector=ray.io/cluster=dev")
        assert pods and all(p["status"]["phase"] == "Running" for p in pods)
        # the up returned once the operator set Pending or Running (dask-kubernetes #968); Running follows, nudged
        cluster.wait_dask_cluster_running("ray-dev", "dask")
        assert kube_get(cluster, "/apis/ray.io/v1/namespaces/" + QUIET + "/rayjobs/hello")["spec"]["entrypoint"]
        assert_no_changes(stack)  # once the clusters are ready, nothing is left to update
    finally:  # a failure above must not leave the dev stack's objects to the e2e stack's tests
        stack.destroy(color="never")
        cluster.stop_kuberay()
        cluster.stop_dask()
    assert cluster.api("GET", "/api/v1/namespaces/ray-dev")[0] in (404, 200)
    crds = {c["metadata"]["name"] for c in items(cluster, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")}
    assert {"rayclusters.ray.io", "daskclusters.kubernetes.dask.org"} <= crds  # kept: deleting them deletes every cluster
