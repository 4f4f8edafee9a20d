"""The e2e stack, for real and in order: preview, up (the operators reconcile), no-change up and refresh, a one-group
change, the autoscalers' replicas surviving an update, the KubeRay upgrade, the readiness wait, the pull-request
preview, and destroy with and without protection.

The KubeRay operator here is v1.5.0 (v1.7.0 is not served by the Go module proxy) and watches ``e2e`` only; the Dask
operator watches ``e2e`` only: what sits in ``e2e-quiet`` would make them call fake pod and Service addresses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from live import (
    E2E_STACKS,
    ROOT,
    ControlPlane,
    Pulumi,
    assert_no_changes,
    items,
    joined,
    kube_get,
    patch_as,
    project_copy,
    secret_value,
    start_operators,
    wait_until,
)
from pulumi import automation as auto
from run_pulumi import select_stack

STACK = "e2e"
NS, QUIET, EXEMPT = "e2e", "e2e-quiet", "e2e-exempt"
PASSWORD = "e2e-redis-password"
TOKEN = "e2e-tracking-token"
RAYCLUSTER = f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/train"
DASK_DEFAULT_GROUP = f"/apis/kubernetes.dask.org/v1/namespaces/{NS}/daskworkergroups/etl-default"


@dataclass
class Deployed:
    stack: auto.Stack
    project: Path
    cluster: ControlPlane

    def config(self, values: dict[str, Any]) -> None:
        """Set config keys by path (``raydask:rayClusters[0].head.memory``); mappings and lists are set leaf by leaf
        (a path value is otherwise stored as a string), scalars as their YAML text."""
        flat: dict[str, auto.ConfigValue] = {}

        def put(key: str, value: Any) -> None:
            if isinstance(value, dict) and value:
                for k, v in value.items():
                    put(f"{key}.{k}", v)
            elif isinstance(value, list) and value:
                for i, v in enumerate(value):
                    put(f"{key}[{i}]", v)
            else:
                flat[key] = auto.ConfigValue(value if isinstance(value, str) else json.dumps(value))

        for key, value in values.items():
            put(key, value)
        self.stack.set_all_config(flat, path=True)

    def up(self, **kwargs: Any) -> auto.UpResult:
        return self.stack.up(color="never", on_output=print, **kwargs)


@pytest.fixture(scope="module")
def deployed(cluster: ControlPlane, pulumi: Pulumi, chart_mirror: str, ingress_controller: Any,
             workdir: Path) -> Iterator[Deployed]:
    project = project_copy(workdir / "e2e-project", E2E_STACKS / "Pulumi.e2e.yaml", STACK)
    stack = select_stack(STACK, project)
    state = Deployed(stack, project, cluster)
    state.config({"raydask:kuberay.chart.repo": chart_mirror, "raydask:daskOperator.chart.repo": chart_mirror})
    stack.set_config("raydask:redisPassword", auto.ConfigValue(PASSWORD, secret=True))
    stack.set_config("raydask:trackingToken", auto.ConfigValue(TOKEN, secret=True))
    yield state
    cluster.stop_kuberay()
    cluster.stop_dask()


def created(events: list[Any]) -> dict[str, int]:
    """Resource types a preview plans to create, with counts."""
    out: dict[str, int] = {}
    for e in events:
        pre = e.resource_pre_event
        if pre is not None and pre.metadata.op == "create":
            out[pre.metadata.type] = out.get(pre.metadata.type, 0) + 1
    return out


def test_preview_plans_every_component(deployed: Deployed) -> None:
    events: list[Any] = []
    deployed.stack.preview(on_event=events.append, color="never")
    plan = created(events)
    for token, count in {"raydask:kuberay:KubeRayOperator": 1, "raydask:dask:DaskOperator": 1, "raydask:ray:RayCluster": 1,
                         "raydask:ray:RayJob": 1, "raydask:ray:RayService": 1, "raydask:dask:DaskCluster": 3,
                         "raydask:dask:DaskJob": 1, "kubernetes:kubernetes.dask.org/v1:DaskJob": 1,
                         "kubernetes:helm.sh/v3:Release": 2, "kubernetes:ray.io/v1:RayCluster": 1,
                         "kubernetes:kubernetes.dask.org/v1:DaskWorkerGroup": 1, "kubernetes:kubernetes.dask.org/v1:DaskAutoscaler": 1,
                         "kubernetes:networking.k8s.io/v1:Ingress": 3, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor": 3,
                         "kubernetes:core/v1:Secret": 2, "kubernetes:apps/v1:DeploymentPatch": 4,
                         "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition": 7}.items():
        assert plan.get(token) == count, (token, plan)
    assert plan["kubernetes:networking.k8s.io/v1:NetworkPolicy"] >= 10


def test_up_creates_what_the_operators_reconcile(deployed: Deployed) -> None:
    cp = deployed.cluster
    operators = start_operators(cp, [NS, EXEMPT])
    result = deployed.up()
    for thread in operators:
        joined(thread)
    assert result.summary.result == "succeeded"
    assert result.outputs["rayClusters"].value["train"]["dashboardIngressUrl"] == "https://ray.e2e.example.com/"

    rc = kube_get(cp, RAYCLUSTER)
    assert rc["status"]["state"] == "ready"
    assert kube_get(cp, f"/api/v1/namespaces/{NS}/services/train-head-svc")["spec"]["selector"]["ray.io/cluster"] == "train"
    pods = items(cp, f"/api/v1/namespaces/{NS}/pods?labelSelector=ray.io/cluster=train")
    assert {p["metadata"]["labels"]["ray.io/group"] for p in pods} == {"headgroup", "cpu"}
    assert all(p["status"]["phase"] == "Running" for p in pods)
    # requests apart from limits, overrides and a sidecar reached the pods KubeRay made
    head = next(p for p in pods if p["metadata"]["labels"]["ray.io/group"] == "headgroup")["spec"]
    assert [c["name"] for c in head["containers"]] == ["ray-head", "fluent-bit", "autoscaler"]
    assert head["containers"][0]["resources"]["requests"]["memory"] == "1Gi"
    assert head["containers"][2]["resources"]["requests"]["cpu"] == "200m"
    worker = next(p for p in pods if p["metadata"]["labels"]["ray.io/group"] == "cpu")["spec"]
    assert worker["containers"][0]["resources"]["limits"] == {"memory": "3Gi"}
    assert worker["terminationGracePeriodSeconds"] == 60 and worker["enableServiceLinks"] is False
    assert {"name": "MY_POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}} \
        in worker["containers"][0]["env"]
    # the Dask operator made the scheduler, its Service and both worker groups' pods
    assert kube_get(cp, f"/api/v1/namespaces/{NS}/services/etl-scheduler")
    dask_pods = items(cp, f"/api/v1/namespaces/{NS}/pods?labelSelector=dask.org/cluster-name=etl")
    assert {p["metadata"]["labels"]["dask.org/component"] for p in dask_pods} == {"scheduler", "worker"}
    assert {p["metadata"]["labels"].get("dask.org/workergroup-name") for p in dask_pods} >= {"etl-default", "etl-gpu"}
    assert all(p["status"]["phase"] == "Running" for p in dask_pods)
    default_worker = next(p for p in dask_pods if p["metadata"]["labels"].get("dask.org/workergroup-name") == "etl-default")
    assert default_worker["spec"]["containers"][0]["resources"]["limits"]["memory"] == "3Gi"
    assert default_worker["spec"]["containers"][0]["workingDir"] == "/tmp"
    cp.wait_dask_cluster_running(NS, "etl")
    # the DaskJob: the operator made its cluster and the runner from raydask's template, and the runner runs
    wait_until(lambda: kube_get(cp, f"/apis/kubernetes.dask.org/v1/namespaces/{NS}/daskjobs/nightly")
               .get("status", {}).get("jobStatus") == "Running", 180, "DaskJob nightly Running", 1)
    runner = kube_get(cp, f"/api/v1/namespaces/{NS}/pods/nightly-runner")
    assert runner["spec"]["containers"][0]["name"] == "job" and runner["spec"]["restartPolicy"] == "Never"
    assert "cpu" not in runner["spec"]["containers"][0]["resources"]["limits"]
    env = {e["name"]: e.get("value") for e in runner["spec"]["containers"][0]["env"]}
    assert env["DASK_SCHEDULER_ADDRESS"] == f"tcp://nightly-scheduler.{NS}.svc.cluster.local:8786"
    assert kube_get(cp, f"/apis/kubernetes.dask.org/v1/namespaces/{NS}/daskclusters/nightly")
    # every Ingress backend and every ServiceMonitor selector matches a live Service
    for ing in items(cp, f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses"):
        backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        svc = kube_get(cp, f"/api/v1/namespaces/{NS}/services/{backend['name']}")
        assert backend["port"]["name"] in {p["name"] for p in svc["spec"]["ports"]}, ing["metadata"]["name"]
    for mon in items(cp, f"/apis/monitoring.coreos.com/v1/namespaces/{NS}/servicemonitors"):
        selector = ",".join(f"{k}={v}" for k, v in mon["spec"]["selector"]["matchLabels"].items())
        assert items(cp, f"/api/v1/namespaces/{NS}/services?labelSelector={selector}"), mon["metadata"]["name"]
    # CRDs are the pinned chart's, raydask's list-map patch applied
    crd = kube_get(cp, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io")
    assert crd["metadata"]["labels"]["app.kubernetes.io/version"] == "1.5.0"
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["workerGroupSpecs"]
    assert schema["x-kubernetes-list-type"] == "map"
    # the Redis password and the declared Secret's value reached their Secrets, and are secrets in the state
    assert secret_value(cp, NS, "train-redis-password", "password") == PASSWORD
    assert secret_value(cp, NS, "train-tracking", "TRACKING_TOKEN") == TOKEN
    state = deployed.stack.export_stack().deployment
    secrets = [r for r in state["resources"] if r["type"] == "kubernetes:core/v1:Secret"]
    assert len(secrets) == 2 and PASSWORD not in json.dumps(state) and TOKEN not in json.dumps(state)
    assert all("4dabf18193072939515e22adb298388d" in json.dumps(s["outputs"]) for s in secrets)
    # Pod Security: e2e enforces restricted (the API server refuses a pod with SYS_PTRACE there); e2e-exempt, holding
    # the one workload with an explicit exception, enforces privileged, and the Dask operator's pods with SYS_PTRACE run
    labels = {ns: kube_get(cp, f"/api/v1/namespaces/{ns}")["metadata"]["labels"] for ns in (NS, EXEMPT)}
    assert labels[NS]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert {k: v for k, v in labels[EXEMPT].items() if k.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted"}
    ptrace = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ptrace"}, "spec": {"containers": [
        {"name": "c", "image": "busybox:1.36.1", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}]}}
    status, body = cp.api("POST", f"/api/v1/namespaces/{NS}/pods?dryRun=All", ptrace)
    assert status == 403 and 'violates PodSecurity "restricted' in body["message"] and "SYS_PTRACE" in body["message"], body
    cp.wait_dask_cluster_running(EXEMPT, "profiled")
    profiled = items(cp, f"/api/v1/namespaces/{EXEMPT}/pods?labelSelector=dask.org/component=worker")
    assert profiled and all(p["status"]["phase"] == "Running" for p in profiled)
    assert profiled[0]["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] == ["SYS_PTRACE"]
    assert profiled[0]["metadata"]["annotations"]["raydask.io/pod-security"] == "privileged"
    # what sits in e2e-quiet was created and is left alone
    assert kube_get(cp, f"/apis/ray.io/v1/namespaces/{QUIET}/rayjobs/report")
    assert kube_get(cp, f"/apis/kubernetes.dask.org/v1/namespaces/{QUIET}/daskautoscalers/adapt")


def test_a_second_up_and_a_refresh_change_nothing(deployed: Deployed) -> None:
    assert_no_changes(deployed.stack)
    deployed.stack.refresh(expect_no_changes=True, color="never", on_output=print)


def test_a_readiness_wait_recorded_before_it_applied_is_not_applied_again(deployed: Deployed) -> None:
    """The provider records the RayCluster as its readiness wait last observed it, from a shared informer's cache that
    can predate the readiness patch's apply (seen in CI: a no-change ``up`` updated the patch). Made deterministic: the
    wait's annotations removed by another client and a refresh record the patch without them; nothing changes."""
    cp = deployed.cluster
    gone = {"pulumi.com/waitFor": None, "pulumi.com/timeoutSeconds": None}
    status, body = patch_as(cp, RAYCLUSTER, {"metadata": {"annotations": gone}}, "application/merge-patch+json",
                            "kubectl-edit")
    assert status == 200, body
    assert "pulumi.com/waitFor" not in kube_get(cp, RAYCLUSTER)["metadata"]["annotations"]
    deployed.stack.refresh(color="never", on_output=print)
    assert_no_changes(deployed.stack)


def test_changing_one_worker_group_updates_only_the_raycluster(deployed: Deployed) -> None:
    deployed.config({"raydask:rayClusters[0].workerGroups[1].maxReplicas": 3})
    events: list[Any] = []
    result = deployed.up(on_event=events.append)
    updated = [e.resource_pre_event.metadata for e in events
               if e.resource_pre_event is not None and e.resource_pre_event.metadata.op == "update"]
    assert [(m.type, m.urn.rsplit("::", 1)[-1]) for m in updated] == [("kubernetes:ray.io/v1:RayCluster", "train")]
    assert result.summary.resource_changes.get("update") == 1
    assert kube_get(deployed.cluster, RAYCLUSTER)["spec"]["workerGroupSpecs"][1]["maxReplicas"] == 3


def autoscale(cp: ControlPlane, path: str, body: Any, content_type: str, agent: str) -> None:
    """A PATCH as the autoscalers send it: their client, their kind of request (the API server names the field manager
    after the user agent)."""
    status, response = patch_as(cp, path, body, content_type, agent)
    assert status == 200, response


def test_autoscaled_replicas_survive_an_update(deployed: Deployed) -> None:
    cp = deployed.cluster
    # Ray's autoscaler: a JSON patch of workerGroupSpecs[0].replicas from python-requests
    autoscale(cp, RAYCLUSTER, [{"op": "replace", "path": "/spec/workerGroupSpecs/0/replicas", "value": 3}],
              "application/json-patch+json", "python-requests/2.32.5")
    # the Dask operator's autoscaler: kr8s scales the default DaskWorkerGroup with a merge patch
    autoscale(cp, DASK_DEFAULT_GROUP, {"spec": {"worker": {"replicas": 2}}}, "application/merge-patch+json", "kr8s/0.20.15")
    deployed.config({"raydask:rayClusters[0].head.memory": "3Gi", "raydask:daskClusters[0].scheduler.memory": "1536Mi"})
    deployed.up()
    assert kube_get(cp, RAYCLUSTER)["spec"]["workerGroupSpecs"][0]["replicas"] == 3
    assert kube_get(cp, RAYCLUSTER)["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "3Gi"
    assert kube_get(cp, DASK_DEFAULT_GROUP)["spec"]["worker"]["replicas"] == 2
    # autoscaling switched off and on again replaces the cluster: test_day_two.py


def test_operator_upgrade_updates_crds_in_place(deployed: Deployed) -> None:
    cp = deployed.cluster
    before_crd = kube_get(cp, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io")["metadata"]
    before_rc = kube_get(cp, RAYCLUSTER)["metadata"]
    deployed.config({"raydask:kuberay.version": "1.7.0", "raydask:rayAuth": {}})
    deployed.up()
    after_crd = kube_get(cp, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rayclusters.ray.io")["metadata"]
    after_rc = kube_get(cp, RAYCLUSTER)
    assert after_crd["uid"] == before_crd["uid"] and after_crd["labels"]["app.kubernetes.io/version"] == "1.7.0"
    assert after_rc["metadata"]["uid"] == before_rc["uid"]  # neither deleted nor recreated
    assert after_rc["spec"]["authOptions"] == {"mode": "token"}
    release = kube_get(cp, "/api/v1/namespaces/kuberay-system/secrets?labelSelector=owner=helm,name=kuberay-operator")
    assert max(int(s["metadata"]["labels"]["version"]) for s in release["items"]) >= 2


def test_up_waits_for_the_cluster_and_names_why_it_is_not_ready(deployed: Deployed) -> None:
    """A cluster whose pods cannot be created: the update fails after the wait, naming the cluster and the reason."""
    cp = deployed.cluster
    running = len(items(cp, f"/api/v1/namespaces/{NS}/pods"))
    cp.kubectl("apply", "-f", "-", input=yaml.safe_dump({  # no room for one more pod
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "full", "namespace": NS},
        "spec": {"hard": {"pods": str(running)}}}))
    stuck = {"name": "stuck", "head": {"cpu": "500m", "memory": "1Gi"}, "wait": {"timeoutSeconds": 45},
             "workerGroups": [{"name": "cpu", "replicas": 3, "cpu": "500m", "memory": "1Gi"}]}
    deployed.config({"raydask:rayClusters[1]": stuck})
    output: list[str] = []
    with pytest.raises(auto.errors.CommandError) as exc:
        deployed.stack.up(color="never", on_output=lambda line: (output.append(line), print(line)))
    text = str(exc.value) + "\n".join(output)
    assert "RayClusterPatch::stuck-rayclusterpatch-stuck" in text and "timed out waiting" in text
    assert "exceeded quota" in text  # KubeRay's warning event, relayed by the provider while it waited
    deployed.config({"raydask:rayClusters[1].wait.enabled": False})
    deployed.up()  # not waiting: the update succeeds although the cluster is not ready
    assert kube_get(cp, f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/stuck")["status"].get("state") != "ready"
    deployed.stack.remove_config("raydask:rayClusters[1]", path=True)
    deployed.up()
    cp.kubectl("delete", "resourcequota", "full", "-n", NS)


def workflow_step(step_id: str) -> dict[str, Any]:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "preview.yml").read_text())
    return next(s for s in workflow["jobs"]["pulumi-preview"]["steps"] if s.get("id") == step_id)


def test_the_pull_request_preview_runs_as_the_workflow_runs_it(deployed: Deployed, pulumi: Pulumi) -> None:
    """The pulumi-preview job's own command, after a change to the stack: the diff names the changed object and the
    changed values, the policy pack runs and passes it."""
    deployed.config({"raydask:daskClusters[0].worker.memory": "3Gi"})
    step = workflow_step("preview")
    env = {**dict(__import__("os").environ), "STACK": STACK, "RAYDASK_PROJECT_DIR": str(deployed.project)}
    script = step["run"].replace(".venv/bin/python", sys.executable).replace("scripts/", str(ROOT / "scripts") + "/")
    script = script.replace("--policy-pack policy", f"--policy-pack {ROOT / 'policy'}").replace("-C .", f"-C {deployed.project}")
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=600, cwd=deployed.project)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "kubernetes:kubernetes.dask.org/v1:DaskCluster" in out and "etl" in out and "3Gi" in out, out[-4000:]
    assert "Policy Packs run:" in out and "pulumi-analyzer-raydask" in out, out[-4000:]  # the pack ran ...
    assert "[mandatory]" not in out and "[advisory]" not in out, out[-4000:]  # ... and found no violation
    deployed.config({"raydask:daskClusters[0].worker.memory": "2Gi"})


def test_destroy_refuses_a_protected_stack_then_keeps_only_the_crds(deployed: Deployed) -> None:
    cp = deployed.cluster
    deployed.config({"raydask:protect": True})
    deployed.up()
    with pytest.raises(auto.errors.CommandError) as exc:
        deployed.stack.destroy(color="never")
    assert "protected" in str(exc.value)
    assert kube_get(cp, RAYCLUSTER)  # nothing was deleted (test_day_two.py checks every object)
    deployed.config({"raydask:protect": False})
    deployed.up()
    deployed.stack.destroy(color="never", on_output=print)
    for ns in (NS, QUIET, EXEMPT, "kuberay-system", "dask-operator"):
        status, body = cp.api("GET", f"/api/v1/namespaces/{ns}")
        assert status == 404 or body["status"]["phase"] == "Terminating", ns
    crds = {c["metadata"]["name"] for c in items(cp, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")}
    assert {"rayclusters.ray.io", "rayjobs.ray.io", "daskclusters.kubernetes.dask.org"} <= crds
    assert cp.loopback_violations() == []

