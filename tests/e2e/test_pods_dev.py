"""The ``dev`` stack on the real node, as a laptop user runs it: ``pulumi up`` installs both operators (running as pods),
the RayCluster, the RayJob and the DaskCluster become Ready by their real probes, the job installs its pip requirement
and prints its greeting, and the stack's documented access (``kubectl port-forward``) reaches Ray and Dask.

Test-only settings, each for something this machine cannot have: the charts come from the test host (no internet),
``kuberay.version`` is 1.5.0 (the operator built here; v1.7.0's Go module is not served), and the job's head gets the
test host's package index in ``PIP_INDEX_URL`` (as an air-gapped cluster points pip at its mirror).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from live import ROOT, wait_until
from node import NODE_IP
from pods import (
    KUBERAY_VERSION,
    NodeStack,
    events,
    get,
    items,
    log,
    pod_log,
    pods,
    ray_client,
    ready,
    real_node,
    save_diagnostics,
    serving,
    waited,
)

NS = "ray-dev"


@pytest.fixture(scope="module")
def dev(tools: dict[str, str], workdir: Path) -> Iterator[NodeStack]:
    """The dev stack on a node of its own (the e2e stack's modules get another): taking the node down takes the stack
    with it, sooner than ``pulumi destroy`` would (measured: 152 s, Ray's drain and the namespaces' finalization)."""
    with real_node(tools, workdir / "pods-dev-node") as node, \
            serving(node, workdir / "pods-dev-host", workdir / "pods-dask-chart") as host:
        stack = NodeStack.create(node, tools, workdir, "dev", ROOT / "stacks" / "Pulumi.dev.yaml")
        stack.config({
            "raydask:kuberay.chart.repo": host.charts,
            "raydask:kuberay.version": KUBERAY_VERSION,
            "raydask:daskOperator.chart.repo": host.charts,
            "raydask:rayJobs[0].cluster.head.env": {"PIP_INDEX_URL": host.index, "PIP_TRUSTED_HOST": NODE_IP},
        })
        try:
            stack.up()
            yield stack
        finally:
            save_diagnostics(node, [NS], workdir / "pods-dev" / "diagnostics")


def test_up_runs_the_operators_and_the_clusters_ready_by_their_probes(dev: NodeStack) -> None:
    node = dev.node
    operators = [*pods(node, NS, "app.kubernetes.io/name=kuberay-operator"),
                 *pods(node, NS, "app.kubernetes.io/name=dask-kubernetes-operator")]
    assert len(operators) == 2 and all(ready(p) for p in operators), [p["status"] for p in operators]
    assert get(node, f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/dev")["status"]["state"] == "ready"
    # KubeRay's state stays "ready" once reached; the head pod itself may still be starting: with the autoscaler on
    # KubeRay gives it restartPolicy Never and replaces it when `ray start` gives up (Ray waits 30 s for its raylet
    # to register: on a loaded machine that failed twice in a row, measured)
    head = waited(lambda: [p for p in pods(node, NS, "ray.io/cluster=dev,ray.io/node-type=head") if ready(p)], 600,
                  "the head pod Ready", diagnose=lambda: json.dumps(pods(node, NS, "ray.io/cluster=dev"))[-3000:] + "\n"
                  + events(node, NS))
    container = head[0]["spec"]["containers"][0]
    assert container["readinessProbe"] and container["livenessProbe"], container   # KubeRay's, run by the kubelet
    assert head[0]["status"]["containerStatuses"][0]["restartCount"] == 0
    # the Dask scheduler and worker, Ready by raydask's /health probes
    dask = waited(lambda: len(d := [p for p in pods(node, NS, "dask.org/cluster-name=dask") if ready(p)]) == 2 and d, 180,
                  "the Dask scheduler and worker Ready", diagnose=lambda: events(node, NS))
    assert {p["metadata"]["labels"]["dask.org/component"] for p in dask} == {"scheduler", "worker"}


def test_the_rayjob_installs_its_requirement_and_succeeds(dev: NodeStack) -> None:
    node = dev.node
    path = f"/apis/ray.io/v1/namespaces/{NS}/rayjobs/hello"

    def finished() -> str | None:
        status = get(node, path).get("status", {})
        return status.get("jobStatus") if status.get("jobDeploymentStatus") in ("Complete", "Failed") else None
    status = waited(finished, 600, "RayJob hello to finish", 3, diagnose=lambda: json.dumps(get(node, path).get("status")) +
                    "\n" + events(node, NS))
    submitter = next(p for p in items(node, f"/api/v1/namespaces/{NS}/pods?labelSelector=batch.kubernetes.io/job-name=hello"))
    output = pod_log(node, NS, submitter["metadata"]["name"])
    assert status == "SUCCEEDED", output[-4000:]
    assert "Hello from Ray \U0001f680" in output, output[-4000:]   # emoji, installed from the index by runtimeEnv.pip
    assert get(node, path)["status"]["jobDeploymentStatus"] == "Complete"


PORT_FORWARD_CLIENT = ray_client("ray://127.0.0.1:10001") + r"""
import getpass, json, os
from distributed import Client

connect()

@ray.remote(num_cpus=1)
def where():
    with open("written-by-a-task.txt", "w") as f:  # a relative path: the working directory must be writable
        f.write("ok")
    return {"user": getpass.getuser(), "cwd": os.getcwd(), "home": os.environ["HOME"], "node": ray.get_runtime_context().get_node_id()}

ray_result = ray.get(where.remote(), timeout=600)
ray.shutdown()

with Client("tcp://127.0.0.1:8786", timeout=60) as client:
    total = client.submit(sum, range(101)).result(timeout=120)
    dask_env = client.run(lambda: {"user": getpass.getuser(), "home": os.environ["HOME"], "cwd": os.getcwd()})
print(json.dumps({"ray": ray_result, "dask_sum": total, "dask": list(dask_env.values())}))
"""


def test_port_forward_reaches_ray_and_dask_as_the_stack_documents(dev: NodeStack) -> None:
    """The dev stack's access comments: ``kubectl port-forward svc/dev-head-svc 8265:8265 10001:10001`` and
    ``svc/dask-scheduler 8786:8786 8787:8787``; a Ray client (the project's Ray 2.60) runs a task and a Dask client
    computes. The task and the Dask workers run as UID 10001 and find a user name, a
    home and a writable working directory."""
    node = dev.node
    kubectl = [node.tool("RAYDASK_KUBECTL"), f"--kubeconfig={node.kubeconfig}", "-n", NS, "port-forward"]
    forwards = [node.popen([*kubectl, "svc/dev-head-svc", "8265:8265", "10001:10001"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL),
                node.popen([*kubectl, "svc/dask-scheduler", "8786:8786", "8787:8787"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)]
    try:
        def forwarding() -> bool:
            with node.urlopen("http://127.0.0.1:8265/api/version", 3) as r, node.urlopen("http://127.0.0.1:8787/health", 3) as d:
                return r.status == 200 and d.status == 200
        wait_until(forwarding, 60, "the port-forwards", 1)
        with node.urlopen("http://127.0.0.1:8265/api/version", 5) as r:
            assert json.loads(r.read())["ray_version"] == "2.60.0"
        run = node.run([sys.executable, "-c", PORT_FORWARD_CLIENT], timeout=900, check=False)
        assert run.returncode == 0, f"{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
        out = json.loads(run.stdout.strip().splitlines()[-1])
        log(f"port-forward clients: {out}")
    finally:
        for proc in forwards:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
    assert out["ray"]["user"] == "ray" and out["ray"]["home"] == "/tmp" and out["ray"]["cwd"].startswith("/tmp"), out
    assert out["dask_sum"] == 5050
    assert out["dask"] == [{"user": "dask", "home": "/tmp", "cwd": "/tmp"}], out
