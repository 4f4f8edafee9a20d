"""Ray on the real node, on the e2e stack (every component; deployed once by :func:`pods.e2e_stack`): KubeRay runs as a
pod from raydask's release and reconciles; Ray's processes run in the pods raydask declares, with its defaults (UID
10001, read-only root, the emptyDirs, the NetworkPolicies, GCS fault tolerance on a real Redis).

In order: the operators and clusters Ready by their real probes; a Ray client pod (``ray://`` through the head Service)
whose pending demand makes Ray's autoscaler add workers while ``pulumi up`` changes another group of the same cluster,
and whose tasks move an object between two workers; the dashboard through the head Service; RayJobs (K8sJobMode,
HTTPMode, a failing entrypoint) and ``shutdownAfterJobFinishes``; the RayService through its Serve Service and its
Ingress backend, then a Serve config change rolled out in place; every path the NetworkPolicies allow, and a refused
connection on every port they close; GCS fault tolerance across a head restart; the workers scaled back down.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from node import NodeCluster
from pods import (
    CLIENTS,
    E2E,
    EXEMPT,
    OUTSIDER,
    QUIET,
    RAY_IMAGE,
    NodeStack,
    client_pod,
    connect,
    events,
    exec_in,
    get,
    items,
    kubectl,
    log,
    maybe,
    pod_log,
    pods,
    python_in,
    ray_client,
    ready,
    result,
    save_diagnostics,
    wait_ready,
    waited,
)

TRAIN = f"/apis/ray.io/v1/namespaces/{E2E}/rayclusters/train"
HEAD_SVC = f"train-head-svc.{E2E}.svc.cluster.local"
CLIENT = "ray-client"
CONNECT = ray_client(f"ray://{HEAD_SVC}:10001") + f"""
import json
DASHBOARD = "http://{HEAD_SVC}:8265"
"""


@pytest.fixture(scope="module")
def e2e(e2e_stack: NodeStack) -> NodeStack:
    node = e2e_stack.node
    if not maybe(node, f"/api/v1/namespaces/{CLIENTS}/pods/{CLIENT}"):
        client_pod(node, CLIENTS, CLIENT, RAY_IMAGE)
        for ns in (OUTSIDER, "monitoring", "ingress-nginx"):
            client_pod(node, ns, "prober", RAY_IMAGE)
        wait_ready(node, CLIENTS, [CLIENT])
        for ns in (OUTSIDER, "monitoring", "ingress-nginx"):
            wait_ready(node, ns, ["prober"])
    return e2e_stack


def test_the_operators_run_as_pods_and_every_ray_pod_is_ready_by_its_probes(e2e: NodeStack) -> None:
    node = e2e.node
    for ns, name in (("kuberay-system", "kuberay-operator"), ("dask-operator", "dask-kubernetes-operator")):
        ops = pods(node, ns, f"app.kubernetes.io/name={name}")
        assert len(ops) == 1 and ready(ops[0]), ops
    assert get(node, TRAIN)["status"]["state"] == "ready"
    head = pods(node, E2E, "ray.io/cluster=train,ray.io/node-type=head")
    workers = pods(node, E2E, "ray.io/cluster=train,ray.io/group=cpu")
    assert len(head) == 1 and len(workers) >= 1 and all(ready(p) for p in head + workers)
    for pod in head + workers:
        ray_container = pod["spec"]["containers"][0]
        assert ray_container["readinessProbe"] and ray_container["livenessProbe"]
        assert all(s["ready"] and s["restartCount"] == 0 for s in pod["status"]["containerStatuses"]), pod["status"]
    assert [c["name"] for c in head[0]["spec"]["containers"]] == ["ray-head", "fluent-bit", "autoscaler"]


AUTOSCALE = CONNECT + r"""
import getpass, os
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
connect()
head = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])

N = int(sys.argv[1])

# actors keep their CPU for as long as they live (a task blocked in ray.get lends its CPU to another task of the same
# node, so tasks waiting for each other may all run on one node): N of them need N CPUs at once
@ray.remote(num_cpus=1)
class Hold:
    def node(self):
        return ray.get_runtime_context().get_node_id()

print("demand placed", file=sys.stderr, flush=True)
holders = [Hold.remote() for _ in range(N)]
held_on = ray.get([h.node.remote() for h in holders], timeout=900)
for h in holders:
    ray.kill(h)
workers = sorted({n for n in held_on if n != head})

@ray.remote(num_cpus=1)
def produce():
    import numpy as np
    with open("written-by-a-task.txt", "w") as f:  # a relative path, in the working directory
        f.write("ok")
    return np.ones(50 * 2**20 // 8)  # 50 MiB: stored in the object store of the node that made it

@ray.remote(num_cpus=1)
def consume(array):
    return {"node": ray.get_runtime_context().get_node_id(), "sum": float(array.sum()), "bytes": int(array.nbytes),
            "user": getpass.getuser(), "cwd": os.getcwd()}

def on(node):
    return NodeAffinitySchedulingStrategy(node, soft=False)

made_on = workers[0]
ref = produce.options(scheduling_strategy=on(made_on)).remote()
consumed = ray.get(consume.options(scheduling_strategy=on(workers[1])).remote(ref), timeout=300)
print(json.dumps({"head": head, "held_on": held_on, "workers": workers, "made_on": made_on, "consumed": consumed}))
"""


def cpu_workers(node: NodeCluster) -> list[dict[str, Any]]:
    return [p for p in pods(node, E2E, "ray.io/cluster=train,ray.io/group=cpu") if not p["metadata"].get("deletionTimestamp")]


def test_a_client_pod_autoscales_workers_and_moves_an_object_between_two_of_them_while_pulumi_up_changes_the_cluster(
        e2e: NodeStack) -> None:
    """Four 1-CPU actors are pending demand on a head (1 CPU) and one worker (1 CPU): Ray's autoscaler
    scales the ``cpu`` group up; meanwhile ``pulumi up`` changes the ``gpu`` group of the same RayCluster, and the
    autoscaler's replicas survive it. Then a 50 MiB object made on one worker is consumed on another."""
    node = e2e.node
    before = len(cpu_workers(node))
    started = time.monotonic()
    program = node.popen([node.tool("RAYDASK_KUBECTL"), f"--kubeconfig={node.kubeconfig}", "exec", "-n", CLIENTS, CLIENT,
                          "--", "python", "-c", AUTOSCALE, "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        waited(lambda: (get(node, TRAIN)["spec"]["workerGroupSpecs"][0].get("replicas") or 0) > before, 300,
               "Ray's autoscaler to scale the cpu group up", 2,
               diagnose=lambda: pod_log(node, E2E, head_pod(node), "autoscaler")[-3000:])
        scaled = get(node, TRAIN)["spec"]["workerGroupSpecs"][0]["replicas"]
        log(f"autoscaler: cpu group {before} -> {scaled} after {time.monotonic() - started:.0f}s; pulumi up changes the gpu group")
        e2e.config({"raydask:rayClusters[0].workerGroups[1].maxReplicas": 1})
        e2e.up()
        spec = get(node, TRAIN)["spec"]["workerGroupSpecs"]
        assert spec[1]["maxReplicas"] == 1
        assert spec[0]["replicas"] >= scaled, spec[0]   # the autoscaler's write survived the update
        out, err = program.communicate(timeout=900)
    finally:
        if program.poll() is None:
            program.kill()
            program.wait(10)
    assert program.returncode == 0, f"{out.decode()[-2000:]}\n{err.decode()[-5000:]}"
    run = json.loads(out.decode().strip().splitlines()[-1])
    log(f"autoscaled run after {time.monotonic() - started:.0f}s: {json.dumps(run)}")
    assert len(run["workers"]) >= 2, run
    assert run["consumed"]["node"] != run["made_on"] and run["consumed"]["node"] in run["workers"]
    assert run["consumed"]["sum"] == 50 * 2**20 // 8 and run["consumed"]["bytes"] == 50 * 2**20
    assert run["consumed"]["user"] == "ray" and run["consumed"]["cwd"] == "/tmp"
    assert len(cpu_workers(node)) >= 3


def head_pod(node: NodeCluster, cluster: str = "train", namespace: str = E2E) -> str:
    return str(pods(node, namespace, f"ray.io/cluster={cluster},ray.io/node-type=head")[0]["metadata"]["name"])


def test_the_dashboard_answers_through_the_head_service(e2e: NodeStack) -> None:
    code = f"""
import json, urllib.request
with urllib.request.urlopen("http://{HEAD_SVC}:8265/api/version", timeout=10) as r:
    print(json.dumps(json.loads(r.read())))
"""
    assert result(python_in(e2e.node, CLIENTS, CLIENT, code))["ray_version"] == "2.60.0"


def rayjob(node: NodeCluster, name: str, namespace: str = QUIET) -> dict[str, Any]:
    return get(node, f"/apis/ray.io/v1/namespaces/{namespace}/rayjobs/{name}")


def finished(node: NodeCluster, name: str, namespace: str = QUIET, timeout: float = 600) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status = rayjob(node, name, namespace).get("status", {})
        return status if status.get("jobDeploymentStatus") in ("Complete", "Failed") else None
    return dict(waited(done, timeout, f"RayJob {name} to finish", 3,
                       diagnose=lambda: json.dumps(rayjob(node, name, namespace).get("status")) + "\n" + events(node, namespace)))


def test_rayjobs_succeed_in_both_submission_modes_and_a_failing_one_fails_without_failing_the_update(e2e: NodeStack) -> None:
    """``report`` (K8sJobMode, the default) runs to SUCCEEDED and, with ``shutdownAfterJobFinishes``, KubeRay deletes its
    cluster. Two more jobs come with one update: ``http`` in HTTPMode (KubeRay submits through the job API itself) and
    ``broken``, whose entrypoint exits 3. ``pulumi up`` does not wait for jobs (docs/workloads.md): it succeeds; the
    outcome is in each RayJob's status."""
    node = e2e.node
    small = {"head": {"cpu": "500m", "memory": "1Gi"}}
    e2e.config({"raydask:rayJobs[1]": {"name": "http", "namespace": QUIET, "submissionMode": "HTTPMode", "cluster": small,
                                       "entrypoint": "python -c \"import getpass, ray; ray.init(); print('ran as', getpass.getuser())\""},
                "raydask:rayJobs[2]": {"name": "broken", "namespace": QUIET, "cluster": small,
                                       "entrypoint": "python -c \"import sys; print('failing on purpose'); sys.exit(3)\""}})
    up = e2e.up()
    assert up.returncode == 0
    report = finished(node, "report")
    assert report["jobStatus"] == "SUCCEEDED", report
    http = finished(node, "http")
    assert http["jobStatus"] == "SUCCEEDED", http
    broken = finished(node, "broken")
    assert broken["jobStatus"] == "FAILED" and broken["jobDeploymentStatus"] == "Failed", broken
    submitter = items(node, f"/api/v1/namespaces/{QUIET}/pods?labelSelector=batch.kubernetes.io/job-name=broken")
    assert submitter and "failing on purpose" in pod_log(node, QUIET, submitter[0]["metadata"]["name"])
    # shutdownAfterJobFinishes (raydask's default): KubeRay deletes each job's cluster once it finished
    for name, status in (("report", report), ("http", http), ("broken", broken)):
        cluster = status.get("rayClusterName")
        assert cluster
        waited(lambda c=cluster: not maybe(node, f"/apis/ray.io/v1/namespaces/{QUIET}/rayclusters/{c}")
               and not pods(node, QUIET, f"ray.io/cluster={c}"), 240, f"{name}'s cluster to be deleted", 3)


SERVE = """
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1], data=json.dumps(["MANGO", 2]).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=20) as r:
    print(r.read().decode())
"""


def ask_fruit(node: NodeCluster, url: str) -> dict[str, Any]:
    return dict(result(exec_in(node, "ingress-nginx", "prober", ["python", "-c", SERVE, url], timeout=60)))


def test_the_rayservice_answers_through_its_serve_service_and_its_ingress_backend_and_rolls_out_a_config_change(
        e2e: NodeStack) -> None:
    node = e2e.node
    path = f"/apis/ray.io/v1/namespaces/{QUIET}/rayservices/fruit"

    def running() -> bool:
        return get(node, path).get("status", {}).get("serviceStatus") == "Running"
    waited(running, 600, "RayService fruit Running", 3,
           diagnose=lambda: json.dumps(get(node, path).get("status"))[-3000:] + "\n" + events(node, QUIET))
    svc = f"http://fruit-serve-svc.{QUIET}.svc.cluster.local:8000/fruit"
    first = waited(lambda: _try_fruit(node, svc), 120, "the Serve Service to answer", 3)
    assert first["price"] == 6 and first["user"] == "ray", first
    ingress = get(node, f"/apis/networking.k8s.io/v1/namespaces/{QUIET}/ingresses")["items"]
    backend = next(i for i in ingress if i["metadata"]["name"].startswith("fruit"))["spec"]["rules"][0]["http"]["paths"][0]
    target = backend["backend"]["service"]
    port = next(p["port"] for p in get(node, f"/api/v1/namespaces/{QUIET}/services/{target['name']}")["spec"]["ports"]
                if p["name"] == target["port"]["name"])
    assert ask_fruit(node, f"http://{target['name']}.{QUIET}.svc.cluster.local:{port}{backend['path'].rstrip('/')}/fruit"
                     if backend["path"] != "/fruit" else
                     f"http://{target['name']}.{QUIET}.svc.cluster.local:{port}/fruit")["price"] == 6
    cluster = get(node, path)["status"]["activeServiceStatus"]["rayClusterName"]
    e2e.config({"raydask:rayServices[0].applications[0].deployments": [{"name": "FruitMarket", "userConfig": {"prices": {"MANGO": 5}}}]})
    e2e.up()
    waited(lambda: (_try_fruit(node, svc) or {}).get("price") == 10, 300, "the new Serve config to answer", 3,
           diagnose=lambda: json.dumps(get(node, path).get("status"))[-3000:])
    assert get(node, path)["status"]["activeServiceStatus"]["rayClusterName"] == cluster   # in place: no new cluster


def _try_fruit(node: NodeCluster, url: str) -> dict[str, Any] | None:
    r = exec_in(node, "ingress-nginx", "prober", ["python", "-c", SERVE, url], timeout=60)
    return json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 and r.stdout.strip() else None


def pod_ip(node: NodeCluster, namespace: str, selector: str) -> str:
    return str(pods(node, namespace, selector)[0]["status"]["podIP"])


def test_network_policies_admit_every_path_the_clusters_need_and_refuse_the_rest(e2e: NodeStack) -> None:
    """Allowed paths (worker to worker, clients to the head and the scheduler, Prometheus to the metrics ports, the
    Ingress controller to what Ingresses route to, the operators to what they call) answer; a pod in a namespace no
    policy admits is refused (its SYN dropped) on every port the policies close."""
    node = e2e.node
    head = pod_ip(node, E2E, "ray.io/cluster=train,ray.io/node-type=head")
    worker = pod_ip(node, E2E, "ray.io/cluster=train,ray.io/group=cpu")
    scheduler = pod_ip(node, E2E, "dask.org/cluster-name=etl,dask.org/component=scheduler")
    dask_worker = pod_ip(node, E2E, "dask.org/cluster-name=etl,dask.org/component=worker,dask.org/workergroup-name=etl-default")
    ray_ports = {f"{head}:{p}" for p in (10001, 8265, 6379, 8080, 52365, 44217, 44227)} | {f"{worker}:{p}" for p in (8080, 52365)}
    # a Dask worker: dashboard and /metrics 8788 (as the Dask operator puts it), worker 8789, nanny 8790
    dask_ports = {f"{scheduler}:{p}" for p in (8786, 8787)} | {f"{dask_worker}:{p}" for p in (8788, 8789, 8790)}
    outsider = connect(node, OUTSIDER, "prober", sorted(ray_ports | dask_ports))
    assert set(outsider.values()) == {"dropped"}, outsider
    clients = connect(node, CLIENTS, CLIENT, [f"{head}:10001", f"{head}:8265", f"{scheduler}:8786", f"{head}:6379",
                                              f"{worker}:8080", f"{dask_worker}:8789"])
    assert clients == {f"{head}:10001": "open", f"{head}:8265": "open", f"{scheduler}:8786": "open", f"{head}:6379": "dropped",
                       f"{worker}:8080": "dropped", f"{dask_worker}:8789": "dropped"}, clients
    monitoring = connect(node, "monitoring", "prober", [f"{head}:8080", f"{worker}:8080", f"{scheduler}:8787",
                                                        f"{dask_worker}:8788", f"{head}:10001"])
    assert monitoring == {f"{head}:8080": "open", f"{worker}:8080": "open", f"{scheduler}:8787": "open",
                          f"{dask_worker}:8788": "open", f"{head}:10001": "dropped"}, monitoring
    ingress = connect(node, "ingress-nginx", "prober", [f"{head}:8265", f"{scheduler}:8787", f"{head}:10001"])
    assert ingress == {f"{head}:8265": "open", f"{scheduler}:8787": "open", f"{head}:10001": "dropped"}, ingress
    # worker to worker and head to worker: Ray's own traffic, every port (Ray picks them at random)
    from_head = exec_in(node, E2E, head_pod(node), ["python", "-c", f"import socket; socket.create_connection(('{worker}', 52365), 5)"],
                        container="ray-head")
    assert from_head.returncode == 0, from_head.stderr


GCS_BEFORE = CONNECT + r"""
from ray.job_submission import JobSubmissionClient
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
connect(namespace="ft")
head = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])
worker = next(n["NodeID"] for n in ray.nodes() if n["Alive"] and n["NodeID"] != head)

@ray.remote(num_cpus=0)
class Counter:
    def __init__(self):
        self.n = 0
    def add(self):
        self.n += 1
        return self.n

counter = Counter.options(name="counter", lifetime="detached",
                          scheduling_strategy=NodeAffinitySchedulingStrategy(worker, soft=False)).remote()
assert ray.get(counter.add.remote()) == 1
jobs = JobSubmissionClient(DASHBOARD)
job = jobs.submit_job(entrypoint="python -c 'print(42)'")
deadline = time.time() + 300
while jobs.get_job_status(job).is_terminal() is False and time.time() < deadline:
    time.sleep(2)
print(json.dumps({"job": job, "status": str(jobs.get_job_status(job).value)}))
"""
GCS_AFTER = CONNECT + r"""
from ray.job_submission import JobSubmissionClient
connect(namespace="ft")
counter = ray.get_actor("counter")
jobs = JobSubmissionClient(DASHBOARD)
print(json.dumps({"count": ray.get(counter.add.remote()), "status": str(jobs.get_job_status(sys.argv[1]).value),
                  "jobs": [j.submission_id for j in jobs.list_jobs()]}))
"""


def test_gcs_fault_tolerance_keeps_jobs_and_actors_across_a_head_restart(e2e: NodeStack) -> None:
    """With GCS fault tolerance (Redis: the tests' own, with a password), deleting the head pod keeps the cluster's jobs
    and detached actors: KubeRay makes a new head, the workers reconnect, the actor keeps its state."""
    node = e2e.node
    before = result(python_in(node, CLIENTS, CLIENT, GCS_BEFORE, timeout=600))
    assert before["status"] == "SUCCEEDED", before
    old = head_pod(node)
    workers = {p["metadata"]["uid"] for p in cpu_workers(node)}
    assert kubectl(node, "delete", "pod", "-n", E2E, old, "--wait=false").returncode == 0
    started = time.monotonic()

    def new_head_ready() -> bool:
        heads = pods(node, E2E, "ray.io/cluster=train,ray.io/node-type=head")
        return len(heads) == 1 and heads[0]["metadata"]["name"] != old and ready(heads[0])
    waited(new_head_ready, 300, "a new head pod Ready", 2, diagnose=lambda: events(node, E2E))
    log(f"new head Ready {time.monotonic() - started:.0f}s after the old one was deleted")
    after = result(python_in(node, CLIENTS, CLIENT, GCS_AFTER.replace("sys.argv[1]", repr(before["job"])), timeout=600))
    assert after["count"] == 2, after   # the same actor, its state kept
    assert after["status"] == "SUCCEEDED" and before["job"] in after["jobs"], after
    assert workers & {p["metadata"]["uid"] for p in cpu_workers(node)}, "the workers survived the head's restart"


def test_a_pod_security_exception_runs_where_its_namespace_allows_it(e2e: NodeStack) -> None:
    """``profiled`` (namespace e2e-exempt, enforce: privileged) adds SYS_PTRACE to its Dask workers: they run with it in
    their bounding set; the same pod is refused in e2e (restricted)."""
    node = e2e.node
    worker = waited(lambda: next((p for p in pods(node, EXEMPT, "dask.org/component=worker") if ready(p)), None), 180,
                    "a profiled worker Ready", 2)
    status = exec_in(node, EXEMPT, worker["metadata"]["name"], ["cat", "/proc/1/status"])
    caps = dict(line.split(":\t") for line in status.stdout.splitlines() if line.startswith("Cap"))
    assert int(caps["CapBnd"], 16) & (1 << 19), caps   # CAP_SYS_PTRACE
    dry = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ptrace"}, "spec": worker["spec"]}
    code, body = node.api("POST", f"/api/v1/namespaces/{E2E}/pods?dryRun=All", dry)
    assert code == 403 and "SYS_PTRACE" in body["message"], body


def test_the_autoscaler_scaled_the_workers_back_down(e2e: NodeStack) -> None:
    """After the demand is gone and ``idleTimeoutSeconds`` (60) has passed, Ray's autoscaler returns the cpu group to its
    minimum (1); KubeRay deletes the idle pods."""
    node = e2e.node
    waited(lambda: len(cpu_workers(node)) == 1 and get(node, TRAIN)["spec"]["workerGroupSpecs"][0]["replicas"] == 1, 420,
           "the cpu group back at 1 worker", 5, diagnose=lambda: pod_log(node, E2E, head_pod(node), "autoscaler")[-3000:])


def test_down_stops_every_process_by_pid(e2e: NodeStack, request: pytest.FixtureRequest, workdir: Path) -> None:
    """The last test of the workload tier: the node goes down here (not at the session's end, so the tiers after it do
    not share the machine with a loaded node), every process by PID, nothing left in its namespace or cgroup."""
    node = e2e.node
    if request.session.testsfailed:
        save_diagnostics(node, [E2E, QUIET, EXEMPT, CLIENTS], workdir / "pods-e2e" / "diagnostics")
    in_namespace, containers = node.processes_in_netns(), node.cgroup_pids()
    assert len(containers) > 20
    node.down()
    assert not [pid for pid in [*in_namespace, *containers] if _running(pid)]
    assert not node.processes_in_netns()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
