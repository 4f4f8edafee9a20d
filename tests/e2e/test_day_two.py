"""Day two on a live cluster, one stack changed step by step as a platform team changes it after the first ``up``:
outside edits of every kind shown and repaired, worker groups renamed and removed, autoscaling and the Ray version
changed, a workload moved to another namespace, fault-tolerant clusters deleted with their Redis cleanup, an operator
removed, a protected ``destroy`` and a killed ``up``. docs/operations.md ("Day two") names these tests.

The stack is tests/e2e/stacks/Pulumi.day2.yaml, with its own namespaces and operators (KubeRay 1.5.0 watching d2 and
d2-moved, the Dask operator watching d2). The tests run in file order and share it; the module's teardown destroys it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live import E2E_STACKS, ROOT, ControlPlane, Pulumi, in_background, items, joined, kube_get, patch_as, project_copy, wait_until
from pulumi import automation as auto
from run_pulumi import select_stack
from test_stack import Deployed

STACK = "day2"
NS, MOVED, QUIET = "d2", "d2-moved", "d2-quiet"
TOKEN = "day2-token"
PART_OF, MANAGED_BY = "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"
HAND, OTHER = "kubectl-edit", "other-applier"
"""The field managers of the outside edits: ``kubectl edit`` (an update) and another server-side applier."""


def rc_path(name: str, namespace: str = NS) -> str:
    return f"/apis/ray.io/v1/namespaces/{namespace}/rayclusters/{name}"


def pods(cp: ControlPlane, selector: str, namespace: str = NS) -> list[dict[str, Any]]:
    return [p for p in items(cp, f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")
            if not p["metadata"].get("deletionTimestamp")]


def group_pods(cp: ControlPlane, cluster: str, group: str, namespace: str = NS) -> list[dict[str, Any]]:
    return pods(cp, f"ray.io/cluster={cluster},ray.io/group={group}", namespace)


class Day2(Deployed):
    """The day-two stack, with what its tests need beyond :class:`Deployed`."""

    def run(self, op: str, **kwargs: Any) -> tuple[Any, str]:
        """``up``/``preview``/``destroy``/``refresh``; returns (result or CommandError, everything it printed)."""
        lines: list[str] = []

        def echo(line: str) -> None:
            lines.append(line)
            print(line)

        try:
            result = getattr(self.stack, op)(color="never", on_output=echo, **kwargs)
        except auto.errors.CommandError as exc:
            return exc, "\n".join(lines) + "\n" + str(exc)
        return result, "\n".join(lines)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The Pulumi CLI on this stack, as a user runs it (no program run)."""
        return subprocess.run(["pulumi", *args, "--stack", STACK, "--cwd", str(self.project), "--non-interactive"],
                              capture_output=True, text=True, timeout=300, env=dict(os.environ))

    def state(self) -> list[dict[str, Any]]:
        return list(self.stack.export_stack().deployment["resources"])


def start_operators(cp: ControlPlane) -> list[Any]:
    """KubeRay watching d2 and d2-moved (which appears later), the Dask operator watching d2: each once ``up`` has made
    its namespace and CRDs."""
    def exists() -> bool:
        return cp.api("GET", f"/api/v1/namespaces/{NS}")[0] == 200

    def kuberay() -> None:
        wait_until(exists, 300, f"namespace {NS}", 1)
        cp.start_kuberay("1.5.0", [NS, MOVED])

    def dask() -> None:
        wait_until(exists, 300, f"namespace {NS}", 1)
        cp.start_dask([NS])

    return [in_background(kuberay), in_background(dask)]


@pytest.fixture(scope="module")
def day2(cluster: ControlPlane, pulumi: Pulumi, chart_mirror: str, ingress_controller: Any,
         workdir: Path) -> Iterator[Day2]:
    project = project_copy(workdir / "day2-project", E2E_STACKS / "Pulumi.day2.yaml", STACK)
    state = Day2(select_stack(STACK, project), project, cluster)
    state.config({"raydask:kuberay.chart.repo": chart_mirror, "raydask:daskOperator.chart.repo": chart_mirror})
    state.stack.set_config("raydask:redisPassword", auto.ConfigValue("day2-redis", secret=True))
    state.stack.set_config("raydask:trackingToken", auto.ConfigValue(TOKEN, secret=True))
    try:
        yield state
    finally:  # whatever failed: nothing of this stack is left to the next tests
        state.cli("cancel", "--yes")
        state.cli("state", "unprotect", "--all", "--yes")
        state.run("destroy")
        cluster.stop_kuberay()
        cluster.stop_dask()


def test_first_up_creates_the_stack_without_a_false_warning(day2: Day2) -> None:
    """The operators' Deployment patches wait for their rollout without the provider's ``Replicas scaled to 0``
    warning (its Deployment wait misreads the KubeRay chart's Recreate rollout)."""
    operators = start_operators(day2.cluster)
    result, out = day2.run("up")
    for thread in operators:
        joined(thread)
    assert isinstance(result, auto.UpResult), out[-3000:]
    assert "Replicas scaled to 0" not in out
    patched = kube_get(day2.cluster, "/apis/apps/v1/namespaces/d2-kuberay/deployments/kuberay-operator")
    assert patched["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    assert patched["status"]["updatedReplicas"] == patched["status"]["availableReplicas"] == 1
    assert kube_get(day2.cluster, rc_path("train"))["status"]["state"] == "ready"


# ---------------------------------------------------------------------------------------------------------------------
# drift
# ---------------------------------------------------------------------------------------------------------------------

PLURAL = {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}


def api_path(obj: dict[str, Any]) -> str:
    """The API path of an object from its apiVersion, kind, name and namespace."""
    group, _, version = obj["apiVersion"].rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    meta = obj["metadata"]
    where = f"/namespaces/{meta['namespace']}" if meta.get("namespace") else ""
    return f"{base}{where}/{PLURAL.get(obj['kind'], obj['kind'].lower() + 's')}/{meta['name']}"


def managed_objects(day2: Day2) -> dict[str, dict[str, Any]]:
    """Every object raydask applies whole (not the patches, not the Helm releases), by URN, as its inputs."""
    out = {}
    for r in day2.state():
        t = r["type"]
        if t.startswith("kubernetes:") and not t.endswith("Patch") and t != "kubernetes:helm.sh/v3:Release" \
                and not t.startswith("pulumi:"):
            out[r["urn"]] = r["inputs"]
    return out


def edit(cp: ControlPlane, path: str, body: Any, content_type: str = "application/merge-patch+json") -> None:
    """What ``kubectl edit`` sends: an update by field manager kubectl-edit."""
    status, response = cp.api("PATCH", f"{path}?fieldManager={HAND}", body, content_type=content_type)
    assert status == 200, (path, response)


def apply_as_other(cp: ControlPlane, obj: dict[str, Any], body: dict[str, Any]) -> None:
    """Another tool's server-side apply (forced: it takes the fields over, as ``kubectl apply --server-side
    --force-conflicts`` does)."""
    doc = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": {"name": obj["metadata"]["name"]}, **body}
    status, response = cp.api("PATCH", f"{api_path(obj)}?fieldManager={OTHER}&force=true", doc,
                              content_type="application/apply-patch+yaml")
    assert status == 200, (api_path(obj), response)


def test_outside_edits_of_every_kind_are_shown_by_preview_and_repaired_by_up(day2: Day2) -> None:
    """Every kind raydask applies, edited by hand and by another applier at once (labels raydask sets; pod templates of
    the Dask objects, whose containers list the Dask CRDs declare atomic; the RayCluster's head image; the operator
    Deployment patch's probe): ``preview --refresh`` lists each as an update, ``up --refresh`` puts raydask's values
    back on all of them."""
    cp = day2.cluster
    objects = managed_objects(day2)
    kinds = {o["kind"] for o in objects.values()}
    assert kinds >= {"Namespace", "CustomResourceDefinition", "NetworkPolicy", "Secret", "ConfigMap", "ServiceAccount",
                     "Role", "RoleBinding", "Service", "Ingress", "ServiceMonitor", "RayCluster", "RayJob", "RayService",
                     "DaskCluster", "DaskWorkerGroup", "DaskAutoscaler", "DaskJob"}, kinds
    for obj in objects.values():
        assert {PART_OF, MANAGED_BY} <= set(obj["metadata"]["labels"]), obj["metadata"]
        edit(cp, api_path(obj), {"metadata": {"labels": {PART_OF: "edited-by-hand"}}})
        apply_as_other(cp, obj, {"metadata": {"name": obj["metadata"]["name"], "labels": {MANAGED_BY: "another-tool"}}})
    # the Dask pod templates (atomic containers lists) by hand, the Ray head image by another applier
    etl = f"/apis/kubernetes.dask.org/v1/namespaces/{NS}/daskclusters/etl"
    extra = f"/apis/kubernetes.dask.org/v1/namespaces/{NS}/daskworkergroups/etl-extra"
    raydask_env = {}
    for path in (etl, extra):
        worker = kube_get(cp, path)["spec"]["worker"]["spec"]["containers"][0]
        raydask_env[path] = worker.get("env")
        edit(cp, path, {"spec": {"worker": {"spec": {"containers": [{**worker, "env": [{"name": "EDITED", "value": "1"}]}]}}}})
    train = next(o for o in objects.values() if o["kind"] == "RayCluster" and o["metadata"]["name"] == "train")
    apply_as_other(cp, train, {"spec": {"headGroupSpec": {"template": {"spec": {"containers": [
        {"name": "ray-head", "image": "rayproject/ray:2.52.0-py311-edited"}]}}}}})
    dask_op = "/apis/apps/v1/namespaces/d2-dask/deployments/dask-kubernetes-operator"
    edit(cp, dask_op, {"spec": {"template": {"spec": {"containers": [
        {"name": "dask-kubernetes-operator", "readinessProbe": {"periodSeconds": 99}}]}}}},
         "application/strategic-merge-patch+json")
    kuberay_op = "/apis/apps/v1/namespaces/d2-kuberay/deployments/kuberay-operator"
    edit(cp, kuberay_op, {"metadata": {"labels": {"app.kubernetes.io/version": "edited-by-hand"}}})

    events: list[Any] = []
    preview, out = day2.run("preview", refresh=True, on_event=events.append)
    assert isinstance(preview, auto.PreviewResult), out[-4000:]
    updated = {e.resource_pre_event.metadata.urn for e in events
               if e.resource_pre_event is not None and e.resource_pre_event.metadata.op == "update"}
    assert set(objects) <= updated, sorted(set(objects) - updated)
    assert any(u.endswith("DeploymentPatch::dask-operator-deploymentpatch-dask-kubernetes-operator") for u in updated)

    result, out = day2.run("up", refresh=True)
    assert isinstance(result, auto.UpResult), out[-4000:]
    for urn, obj in objects.items():
        labels, want = kube_get(cp, api_path(obj))["metadata"]["labels"], obj["metadata"]["labels"]
        assert (labels[PART_OF], labels[MANAGED_BY]) == (want[PART_OF], want[MANAGED_BY]), urn
    for path in (etl, extra):
        assert kube_get(cp, path)["spec"]["worker"]["spec"]["containers"][0].get("env") == raydask_env[path], path
    head = kube_get(cp, rc_path("train"))["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert head["image"] == "rayproject/ray:2.52.0-py311"
    probe = kube_get(cp, dask_op)["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["periodSeconds"] == 10
    # what a Helm release installed is Helm's: the provider reads the release record, not its objects
    assert not any(u.endswith("Release::kuberay") for u in updated)
    assert kube_get(cp, kuberay_op)["metadata"]["labels"]["app.kubernetes.io/version"] == "edited-by-hand"


# ---------------------------------------------------------------------------------------------------------------------
# worker groups
# ---------------------------------------------------------------------------------------------------------------------


def test_a_worker_group_leaves_a_raycluster_only_retired_and_leaves_no_pod(day2: Day2) -> None:
    """Renaming ``cpu`` to ``cpu-v2`` (fixed ft-fixed, autoscaled ft-auto): the plain rename is refused before anything
    changes (the API server's rule in raydask's RayCluster CRD, in preview already); retiring ``cpu`` beside the new
    group scales it to 0 (KubeRay deletes the pods of the fixed cluster; the Ray autoscaler, whose request is replayed
    here, those of the autoscaled one), then removing it leaves no pod of ``cpu``."""
    cp = day2.cluster
    assert len(group_pods(cp, "ft-fixed", "cpu")) == 2 and len(group_pods(cp, "ft-auto", "cpu")) == 2
    group = {"cpu": "500m", "memory": "1Gi"}
    day2.config({"raydask:rayClusters[1].workerGroups[0].name": "cpu-v2"})
    preview, out = day2.run("preview")
    assert isinstance(preview, auto.errors.CommandError), out[-3000:]
    assert "a worker group can only be removed (or renamed) once it is retired" in out
    day2.config({"raydask:rayClusters[1].workerGroups[0].name": "cpu"})

    # step 1: retire cpu, add cpu-v2
    day2.stack.remove_config("raydask:rayClusters[0].workerGroups[0].minReplicas", path=True)
    day2.stack.remove_config("raydask:rayClusters[0].workerGroups[0].maxReplicas", path=True)
    day2.stack.remove_config("raydask:rayClusters[1].workerGroups[0].replicas", path=True)
    day2.config({"raydask:rayClusters[0].workerGroups[0].retired": True, "raydask:rayClusters[1].workerGroups[0].retired": True,
                 "raydask:rayClusters[0].workerGroups[1]": {"name": "cpu-v2", "minReplicas": 2, "maxReplicas": 4, **group},
                 "raydask:rayClusters[1].workerGroups[1]": {"name": "cpu-v2", "replicas": 2, **group}})
    result, out = day2.run("up")
    assert isinstance(result, auto.UpResult), out[-3000:]
    wait_until(lambda: not group_pods(cp, "ft-fixed", "cpu"), 60, "KubeRay deleting the retired group's pods", 1)
    retired = kube_get(cp, rc_path("ft-auto"))["spec"]["workerGroupSpecs"][0]
    assert (retired["groupName"], retired["minReplicas"], retired["maxReplicas"]) == ("cpu", 0, 0)
    time.sleep(5)  # KubeRay leaves the pods of an autoscaled group to the autoscaler
    names = [p["metadata"]["name"] for p in group_pods(cp, "ft-auto", "cpu")]
    assert len(names) == 2
    # the Ray autoscaler terminates the nodes above the group's maxReplicas: its request, as it sends it
    status, response = patch_as(cp, rc_path("ft-auto"), [
        {"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 0},
        {"op": "replace", "path": "/spec/workerGroupSpecs/0/scaleStrategy", "value": {"workersToDelete": names}}],
        "application/json-patch+json", "python-requests/2.32.5")
    assert status == 200, response
    for cluster in ("ft-fixed", "ft-auto"):
        wait_until(lambda c=cluster: not group_pods(cp, c, "cpu") and len(group_pods(cp, c, "cpu-v2")) == 2, 60,
                   f"{cluster}: cpu pods gone, cpu-v2 pods running", 1)

    # step 2: remove the retired groups
    for i in (0, 1):
        day2.stack.remove_config(f"raydask:rayClusters[{i}].workerGroups[0]", path=True)
    result, out = day2.run("up")
    assert isinstance(result, auto.UpResult), out[-3000:]
    for cluster in ("ft-fixed", "ft-auto"):
        assert [g["groupName"] for g in kube_get(cp, rc_path(cluster))["spec"]["workerGroupSpecs"]] == ["cpu-v2"]
        assert not group_pods(cp, cluster, "cpu") and len(group_pods(cp, cluster, "cpu-v2")) == 2


# ---------------------------------------------------------------------------------------------------------------------
# protection
# ---------------------------------------------------------------------------------------------------------------------


def test_a_protected_stack_refuses_destroy_a_replacement_and_an_operator_removal_deleting_nothing(day2: Day2) -> None:
    """With ``raydask:protect: true``: ``pulumi destroy`` deletes nothing and names each protected resource and how to
    release it; an ``up`` that would replace a cluster (autoscaling off) and remove an operator is refused the same
    way. ``pulumi state unprotect --all`` releases the stack for the tests that follow."""
    cp = day2.cluster
    before = day2.state()
    live = {api_path(o) for o in managed_objects(day2).values()}
    kuberay = day2.stack.get_config("raydask:kuberay")
    try:
        assert all(r.get("protect") for r in before if r["custom"] and not r["type"].startswith("pulumi:providers:")), \
            [r["urn"] for r in before if r["custom"] and not r.get("protect")]
        result, out = day2.run("destroy")
        flat = " ".join(out.split())
        assert isinstance(result, auto.errors.CommandError), out[-3000:]
        assert "cannot be deleted because it is protected" in flat and "pulumi state unprotect 'urn:pulumi:day2::" in flat
        assert len(day2.state()) == len(before)
        assert all(cp.api("GET", path)[0] == 200 for path in live)

        day2.config({"raydask:rayClusters[2].autoscaling.enabled": False, "raydask:rayClusters[2].workerGroups[0].replicas": 1})
        result, out = day2.run("up")
        flat = " ".join(out.split())
        assert isinstance(result, auto.errors.CommandError), out[-3000:]
        assert "unable to replace resource" in flat and "RayCluster::train" in flat and "marked for protection" in flat
        assert kube_get(cp, rc_path("train"))["spec"]["enableInTreeAutoscaling"] is True
        for key in ("raydask:rayClusters[2].autoscaling.enabled", "raydask:rayClusters[2].workerGroups[0].replicas"):
            day2.stack.remove_config(key, path=True)

        day2.stack.remove_config("raydask:kuberay")
        result, out = day2.run("up")
        flat = " ".join(out.split())
        assert isinstance(result, auto.errors.CommandError), out[-3000:]
        assert "cannot be deleted because it is protected" in flat and "raydask:kuberay:KubeRayOperator$" in flat, out[-3000:]
        assert kube_get(cp, "/apis/apps/v1/namespaces/d2-kuberay/deployments/kuberay-operator")
        assert len(day2.state()) == len(before)
    finally:
        day2.stack.set_config("raydask:kuberay", kuberay)
        for key in ("raydask:rayClusters[2].autoscaling.enabled", "raydask:rayClusters[2].workerGroups[0].replicas"):
            with contextlib.suppress(auto.errors.CommandError):
                day2.stack.remove_config(key, path=True)
        day2.config({"raydask:protect": False})
        unprotect = day2.cli("state", "unprotect", "--all", "--yes")
    assert unprotect.returncode == 0, unprotect.stdout + unprotect.stderr
    assert not any(r.get("protect") for r in day2.state())


# ---------------------------------------------------------------------------------------------------------------------
# what KubeRay applies only to new pods: autoscaling, the Ray version
# ---------------------------------------------------------------------------------------------------------------------


def head_containers(cp: ControlPlane, cluster: str, namespace: str = NS) -> list[str]:
    (head,) = pods(cp, f"ray.io/cluster={cluster},ray.io/node-type=head", namespace)
    return [c["name"] for c in head["spec"]["containers"]]


def steps(events: list[Any], prefix: str) -> list[tuple[str, str]]:
    """(operation, resource name) of every step on resources named ``prefix…``, in the order they started."""
    out = []
    for e in events:
        pre = e.resource_pre_event
        if pre is not None and pre.metadata.op != "same" and pre.metadata.urn.rsplit("::", 1)[-1].startswith(prefix):
            out.append((str(pre.metadata.op.value), pre.metadata.urn.rsplit("::", 1)[-1]))
    return out


def test_autoscaling_off_and_on_again_with_a_new_ray_version_replaces_the_cluster(day2: Day2) -> None:
    """KubeRay 1.5 never recreates a pod when the spec changes: the head pod would keep (off) or lack (on) the autoscaler
    sidecar, and a new Ray version would run beside the old one. raydask replaces the cluster (delete, then create) and
    ``up`` waits until the new one is ready: off, then on again together with a new Ray version."""
    cp = day2.cluster
    first = kube_get(cp, rc_path("train"))["metadata"]["uid"]
    assert "autoscaler" in head_containers(cp, "train")
    day2.config({"raydask:rayClusters[2].autoscaling.enabled": False, "raydask:rayClusters[2].workerGroups[0].replicas": 2})
    events: list[Any] = []
    result, out = day2.run("up", on_event=events.append)
    assert isinstance(result, auto.UpResult), out[-3000:]
    order = steps(events, "train")
    assert order.index(("delete-replaced", "train")) < order.index(("create-replacement", "train")), order
    assert ("create-replacement", "train-rayclusterpatch-train") in order, order  # the wait runs again
    off = kube_get(cp, rc_path("train"))
    assert off["metadata"]["uid"] != first and off["status"]["state"] == "ready"
    assert head_containers(cp, "train") == ["ray-head"] and len(group_pods(cp, "train", "cpu")) == 2

    day2.stack.remove_config("raydask:rayClusters[2].workerGroups[0].replicas", path=True)
    day2.config({"raydask:rayClusters[2].autoscaling.enabled": True, "raydask:rayClusters[2].rayVersion": "2.53.0",
                 "raydask:rayClusters[2].image": "rayproject/ray:2.53.0-py311"})
    result, out = day2.run("up")
    assert isinstance(result, auto.UpResult), out[-3000:]
    on = kube_get(cp, rc_path("train"))
    assert on["metadata"]["uid"] != off["metadata"]["uid"] and on["status"]["state"] == "ready"
    assert on["spec"]["rayVersion"] == "2.53.0"
    assert head_containers(cp, "train") == ["ray-head", "autoscaler"]
    assert len(group_pods(cp, "train", "cpu")) == 1  # from minReplicas: the autoscaler owns the count again
    images = {c["image"] for p in pods(cp, "ray.io/cluster=train") for c in p["spec"]["containers"]}
    assert images == {"rayproject/ray:2.53.0-py311"}, images


# ---------------------------------------------------------------------------------------------------------------------
# a namespace move and fault-tolerant clusters deleted, in one up
# ---------------------------------------------------------------------------------------------------------------------

MOVE: dict[str, Any] = {}
"""What the up of the namespace move recorded, for the fault-tolerant clusters' test."""


def kuberay_log(cp: ControlPlane) -> str:
    return cp.log_path("kuberay").read_text(errors="replace")


def test_moving_a_workload_to_another_namespace_replaces_all_of_it(day2: Day2) -> None:
    """``train`` moves to d2-moved (the same ``up`` deletes the fault-tolerant clusters, next test): each of its objects
    is replaced, the new ones created before the old ones are deleted, except the RayCluster, deleted first (with its
    readiness patch) and then created; the stack output names the new namespace and nothing of it stays in d2."""
    cp = day2.cluster
    jobs: dict[str, dict[str, Any]] = {}

    def watch_jobs() -> None:
        def gone() -> bool:
            for job in items(cp, f"/apis/batch/v1/namespaces/{NS}/jobs"):
                jobs[job["metadata"]["name"]] = job
            return all(cp.api("GET", rc_path(c))[0] == 404 for c in ("ft-auto", "ft-fixed"))
        wait_until(gone, 300, "both fault-tolerant clusters deleted", 0.5)

    watcher = in_background(watch_jobs)
    day2.config({"raydask:rayClusters[2].namespace": MOVED})
    for _ in range(2):
        day2.stack.remove_config("raydask:rayClusters[0]", path=True)
    events: list[Any] = []
    started = time.monotonic()
    result, out = day2.run("up", on_event=events.append)
    MOVE.update(seconds=time.monotonic() - started, jobs=jobs, result=result, out=out)
    joined(watcher)
    assert isinstance(result, auto.UpResult), out[-3000:]
    order = steps(events, "train")
    print("namespace move:", order)
    assert order.index(("delete-replaced", "train-rayclusterpatch-train")) < order.index(("delete-replaced", "train"))
    assert order.index(("delete-replaced", "train")) < order.index(("create-replacement", "train"))
    for name in {n for _, n in order if n not in ("train", "train-rayclusterpatch-train")}:
        assert order.index(("create-replacement", name)) < order.index(("delete-replaced", name)), (name, order)
    assert {op for op, _ in order} == {"create-replacement", "replace", "delete-replaced"}, order
    assert result.outputs["rayClusters"].value["train"]["namespace"] == MOVED
    assert kube_get(cp, rc_path("train", MOVED))["status"]["state"] == "ready"
    assert cp.api("GET", rc_path("train"))[0] == 404
    for kind in ("services", "configmaps", "secrets", "serviceaccounts"):
        assert not items(cp, f"/api/v1/namespaces/{NS}/{kind}?labelSelector=app.kubernetes.io/instance=train"), kind
    assert not items(cp, f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses?labelSelector=app.kubernetes.io/instance=train")


def test_deleting_fault_tolerant_clusters_runs_their_redis_cleanup_to_completion(day2: Day2) -> None:
    """ft-auto (autoscaled: the cleanup Job's pod runs as the cluster's own service account) and ft-fixed left the stack
    in the previous test's ``up``: KubeRay's ``<cluster>-redis-cleanup`` Job got its pod and completed (kwok completes a
    Job's pod as a kubelet reports a container that exits 0), KubeRay removed its finalizer, and ``up`` returned once both
    were gone."""
    cp = day2.cluster
    assert isinstance(MOVE.get("result"), auto.UpResult), "the up of the previous test failed"
    print(f"namespace move and fault-tolerant clusters deleted in {MOVE['seconds']:.0f} s")
    log = kuberay_log(cp).splitlines()
    for cluster in ("ft-auto", "ft-fixed"):
        job = MOVE["jobs"][f"{cluster}-redis-cleanup"]
        assert job["spec"]["template"]["spec"]["containers"][0]["name"] == "ray-head"
        assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"].get("conditions", [])) or \
            job["status"].get("succeeded") == 1, job["status"]
        assert any("Redis cleanup Job has been completed" in line and f"{cluster}-redis-cleanup" in line for line in log), cluster
        assert not any("Redis cleanup Job has failed" in line and f"{cluster}-redis-cleanup" in line for line in log), cluster
    assert MOVE["jobs"]["ft-auto-redis-cleanup"]["spec"]["template"]["spec"]["serviceAccountName"] == "ft-auto"
    events = items(cp, f"/api/v1/namespaces/{NS}/events?fieldSelector=involvedObject.kind=Job")
    assert not [e["message"] for e in events if e["reason"] == "FailedCreate"]


# ---------------------------------------------------------------------------------------------------------------------
# operators
# ---------------------------------------------------------------------------------------------------------------------


def test_removing_an_operator_keeps_its_crds_and_clusters_running(day2: Day2) -> None:
    """Unprotected, removing ``raydask:kuberay`` uninstalls the release (its CRDs stay, and with them every cluster,
    whose pods keep running unreconciled); adding it back reinstalls it and KubeRay reconciles the clusters again."""
    cp = day2.cluster
    kuberay = day2.stack.get_config("raydask:kuberay")
    running = {p["metadata"]["name"] for p in pods(cp, "ray.io/cluster=train", MOVED)}
    day2.stack.remove_config("raydask:kuberay")
    result, out = day2.run("up")
    assert isinstance(result, auto.UpResult), out[-3000:]
    cp.stop_kuberay()  # the operator the release ran is gone
    assert cp.api("GET", "/apis/apps/v1/namespaces/d2-kuberay/deployments/kuberay-operator")[0] == 404
    assert kube_get(cp, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io")
    assert kube_get(cp, rc_path("train", MOVED))["status"]["state"] == "ready"
    assert {p["metadata"]["name"] for p in pods(cp, "ray.io/cluster=train", MOVED)} == running

    day2.stack.set_config("raydask:kuberay", kuberay)
    operator = in_background(lambda: (wait_until(lambda: cp.api("GET", "/apis/apps/v1/namespaces/d2-kuberay/deployments/"
                                                                        "kuberay-operator")[0] == 200, 300, "the release", 1),
                                      cp.start_kuberay("1.5.0", [NS, MOVED])))
    result, out = day2.run("up")
    joined(operator)
    assert isinstance(result, auto.UpResult), out[-3000:]
    victim = sorted(running)[0]
    assert cp.api("DELETE", f"/api/v1/namespaces/{MOVED}/pods/{victim}")[0] == 200
    wait_until(lambda: len(pods(cp, "ray.io/cluster=train", MOVED)) == len(running) and
               victim not in {p["metadata"]["name"] for p in pods(cp, "ray.io/cluster=train", MOVED)},
               60, "KubeRay replacing a deleted pod", 1)


# ---------------------------------------------------------------------------------------------------------------------
# interrupted runs
# ---------------------------------------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def test_a_killed_up_leaves_a_lock_and_a_pending_create_that_cancel_and_refresh_clear(day2: Day2) -> None:
    """``pulumi up`` killed (SIGKILL) while it waits on a new DaskCluster no operator reconciles: the stack stays
    locked (the next ``up`` says so and names ``pulumi cancel``); once unlocked, the create of the wait's patch stays
    pending in the state until ``pulumi refresh --clear-pending-creates``. The DaskCluster itself was recorded when it
    was created (its own create does not wait), so the next ``up`` deletes it: nothing is left behind."""
    cp = day2.cluster
    stuck = f"/apis/kubernetes.dask.org/v1/namespaces/{MOVED}/daskclusters/stuck"
    day2.config({"raydask:daskClusters[2]": {"name": "stuck", "namespace": MOVED, "worker": {"replicas": 1},
                                             "wait": {"timeoutSeconds": 300}}})
    env = {**os.environ, "RAYDASK_PROJECT_DIR": str(day2.project)}
    run = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_pulumi.py"), "up", "--stack", STACK, "-C",
                            str(day2.project)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        def waiting() -> bool:  # the readiness patch applied: the cluster's create is recorded, the patch's wait runs
            status, body = cp.api("GET", stuck)
            return status == 200 and "pulumi.com/waitFor" in (body.get("metadata", {}).get("annotations") or {})

        wait_until(waiting, 240, "the up to create DaskCluster stuck and its readiness patch", 1)
    finally:
        for pid in descendants(run.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        run.wait(30)
    day2.stack.remove_config("raydask:daskClusters[2]", path=True)
    result, out = day2.run("up")
    assert isinstance(result, auto.errors.CommandError), out[-3000:]
    assert "currently locked" in out and "pulumi cancel" in out, out[-3000:]
    cancel = day2.cli("cancel", "--yes")
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    pending = day2.stack.export_stack().deployment.get("pending_operations") or []
    assert [p["type"] for p in pending] == ["creating"], pending
    assert pending[0]["resource"]["urn"].endswith("::stuck-daskclusterpatch-stuck"), pending
    namespace = next(r["urn"] for r in day2.state() if r["urn"].endswith(f"::namespace-{MOVED}"))
    refresh = day2.cli("refresh", "--clear-pending-creates", "--yes", "--target", namespace)  # one resource: quick
    assert refresh.returncode == 0, refresh.stdout + refresh.stderr
    assert not day2.stack.export_stack().deployment.get("pending_operations")
    result, out = day2.run("up")
    assert isinstance(result, auto.UpResult), out[-3000:]
    assert not [r for r in day2.state() if r["urn"].endswith(("::stuck", "::stuck-daskclusterpatch-stuck"))]
    assert cp.api("GET", stuck)[0] == 404
