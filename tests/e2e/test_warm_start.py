"""A warm start, for real: an autoscaled worker group created above ``minReplicas`` (``replicas: 3, minReplicas: 1``)
starts at 3 once, and never again: the Ray autoscaler (simulated, as in test_stack.py: a JSON patch of the replicas
from its client, here a scale-up to 4) owns the count from then on, and neither a ``pulumi up`` with another change,
nor one with a new ``replicas``, nor a refresh then an up, writes it back. The KubeRay operator (v1.5.0) reconciles the cluster on kwok's
fake nodes: it starts the pods the count asks for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from live import ControlPlane, Pulumi, in_background, items, joined, kube_get, patch_as, project_copy, wait_until
from pulumi import automation as auto
from run_pulumi import select_stack

STACK = "warm"
NS = "warm"
RAYCLUSTER = f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/burst"
WARM_PATCH = "burst-rayclusterpatch-burst-on-create"
STACK_FILE = {"config": {
    "raydask:namespace": NS,
    "raydask:kubernetesVersion": "1.34",
    "raydask:kuberay": {"version": "1.5.0", "namespace": "kuberay-warm", "watchNamespaces": [NS]},
    "raydask:rayClusters": [{
        "name": "burst",
        "head": {"cpu": "500m", "memory": "1Gi"},
        "autoscaling": {"idleTimeoutSeconds": 60},
        "workerGroups": [{"name": "cpu", "replicas": 3, "minReplicas": 1, "maxReplicas": 5, "cpu": "500m", "memory": "1Gi"},
                         {"name": "spare", "minReplicas": 0, "maxReplicas": 2, "cpu": "500m", "memory": "1Gi"}],
        "wait": {"timeoutSeconds": 300},
    }],
}}


def replicas(cp: ControlPlane) -> dict[str, Any]:
    return {g["groupName"]: g.get("replicas") for g in kube_get(cp, RAYCLUSTER)["spec"]["workerGroupSpecs"]}


def owners(cp: ControlPlane) -> dict[str, str]:
    """Field manager of each group's ``replicas``, by group (the managed fields of the list map's entries); the manager
    that applies the RayCluster itself (it owns the head group) as ``raydask``."""
    out: dict[str, str] = {}
    fields = kube_get(cp, RAYCLUSTER)["metadata"]["managedFields"]
    main = next(e["manager"] for e in fields if "f:headGroupSpec" in ((e.get("fieldsV1") or {}).get("f:spec") or {}))
    for entry in fields:
        groups = ((entry.get("fieldsV1") or {}).get("f:spec") or {}).get("f:workerGroupSpecs") or {}
        for key, owned in groups.items():
            if key.startswith("k:") and "f:replicas" in owned:
                out[yaml.safe_load(key[2:])["groupName"]] = "raydask" if entry["manager"] == main else entry["manager"]
    return out


def worker_pods(cp: ControlPlane, group: str) -> int:
    return len(items(cp, f"/api/v1/namespaces/{NS}/pods?labelSelector=ray.io/cluster=burst,ray.io/group={group}"))


def updated(events: list[Any]) -> list[str]:
    return [e.resource_pre_event.metadata.urn.rsplit("::", 1)[-1] for e in events
            if e.resource_pre_event is not None and e.resource_pre_event.metadata.op in ("update", "replace", "create")]


def test_a_warm_start_is_applied_once_and_never_again(cluster: ControlPlane, pulumi: Pulumi, chart_mirror: str,
                                                     workdir: Path) -> None:
    (workdir / "warm-stack.yaml").write_text(yaml.safe_dump(STACK_FILE))
    project = project_copy(workdir / "warm-project", workdir / "warm-stack.yaml", STACK)
    stack = select_stack(STACK, project)
    stack.set_config("raydask:kuberay.chart.repo", auto.ConfigValue(chart_mirror), path=True)

    def operator() -> None:
        wait_until(lambda: cluster.api("GET", f"/api/v1/namespaces/{NS}")[0] == 200, 300, f"namespace {NS}", 1)
        cluster.start_kuberay("1.5.0", [NS])

    thread = in_background(operator)
    try:
        # create: the RayCluster carries no replicas of its autoscaled groups; the patch applied once sets 3
        stack.up(color="never", on_output=print)
        joined(thread)
        assert replicas(cluster) == {"cpu": 3, "spare": 0}  # spare: the CRD's default, KubeRay starts it at minReplicas
        warm_manager = owners(cluster)["cpu"]
        assert set(owners(cluster)) == {"cpu"} and warm_manager != "raydask"  # the patch's own field manager
        rc = kube_get(cluster, RAYCLUSTER)
        assert rc["status"]["state"] == "ready"
        wait_until(lambda: worker_pods(cluster, "cpu") == 3, 120, "3 warm workers", 1)

        # the autoscaler scales the group up to 4 (its client, its kind of request; with autoscaling on KubeRay removes
        # only the pods the autoscaler names in workersToDelete, so a scale-up is what shows KubeRay following it)
        status, body = patch_as(cluster, RAYCLUSTER, [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 4}],
                                "application/json-patch+json", "python-requests/2.32.5")
        assert status == 200, body
        assert owners(cluster)["cpu"].startswith("python-requests")
        wait_until(lambda: worker_pods(cluster, "cpu") == 4, 120, "4 workers after the autoscaler's write", 1)

        # another change: the RayCluster is updated, the warm-start patch is not, the autoscaler's count stays
        stack.set_config("raydask:rayClusters[0].head.memory", auto.ConfigValue("1536Mi"), path=True)
        events: list[Any] = []
        stack.up(color="never", on_output=print, on_event=events.append)
        assert "burst" in updated(events) and WARM_PATCH not in updated(events)
        spec = kube_get(cluster, RAYCLUSTER)["spec"]
        assert spec["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "1536Mi"
        assert replicas(cluster)["cpu"] == 4 and owners(cluster)["cpu"].startswith("python-requests")

        # a new starting count is never applied to a running cluster: nothing to update at all
        stack.set_config("raydask:rayClusters[0].workerGroups[0].replicas", auto.ConfigValue("2"), path=True)
        stack.up(color="never", on_output=print, expect_no_changes=True)
        assert replicas(cluster)["cpu"] == 4

        # a refresh reads the live objects; the next up still changes nothing
        stack.refresh(color="never", on_output=print)
        stack.up(color="never", on_output=print, expect_no_changes=True)
        assert replicas(cluster)["cpu"] == 4 and worker_pods(cluster, "cpu") == 4

        # autoscaling off: raydask owns replicas again and applies the configured count
        stack.set_config("raydask:rayClusters[0].autoscaling.enabled", auto.ConfigValue("false"), path=True)
        stack.set_config("raydask:rayClusters[0].workerGroups[1].replicas", auto.ConfigValue("0"), path=True)
        stack.up(color="never", on_output=print)
        assert replicas(cluster) == {"cpu": 2, "spare": 0} and owners(cluster) == {"cpu": "raydask", "spare": "raydask"}
        assert kube_get(cluster, RAYCLUSTER)["spec"]["enableInTreeAutoscaling"] is False
    finally:
        stack.destroy(color="never", on_output=print)
        cluster.stop_kuberay()
