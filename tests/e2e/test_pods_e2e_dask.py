"""Dask on the real node, on the e2e stack (:func:`pods.e2e_stack`, shared with test_pods_e2e_ray.py): the Dask operator runs
as a pod from raydask's release; a client pod computes on a DaskCluster through its scheduler Service; the
DaskAutoscaler scales the workers up with load and back down when it is gone (the operator asks the scheduler's HTTP
API raydask turns on, and retires workers through it); a DaskJob runs to Successful. The workers of ``adapt`` install a
package at start (the image's ``EXTRA_PIP_PACKAGES``, from the test host's index), which needs the writable ``HOME``
raydask now gives UID 10001.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from node import NodeCluster
from pods import (
    CLIENTS,
    DASK_IMAGE,
    E2E,
    QUIET,
    NodeStack,
    client_pod,
    events,
    get,
    log,
    maybe,
    pod_log,
    pods,
    python_in,
    ready,
    result,
    wait_ready,
    waited,
)

CLIENT = "dask-client"
ETL = f"tcp://etl-scheduler.{E2E}.svc.cluster.local:8786"
ADAPT = f"tcp://adapt-scheduler.{QUIET}.svc.cluster.local:8786"


@pytest.fixture(scope="module")
def e2e(e2e_stack: NodeStack) -> NodeStack:
    node = e2e_stack.node
    if not maybe(node, f"/api/v1/namespaces/{CLIENTS}/pods/{CLIENT}"):
        client_pod(node, CLIENTS, CLIENT, DASK_IMAGE)
    wait_ready(node, CLIENTS, [CLIENT])
    return e2e_stack


COMPUTE = f"""
import getpass, json, os
import dask.array as da
from distributed import Client
with Client("{ETL}", timeout=60) as client:
    array = da.ones((4000, 4000), chunks=(500, 500))
    total = float(array.sum().compute())
    def where():
        with open("written-by-a-task.txt", "w") as f:   # a relative path, in the working directory
            f.write("ok")
        return {{"user": getpass.getuser(), "home": os.environ["HOME"], "cwd": os.getcwd()}}
    workers = client.run(where)
print(json.dumps({{"total": total, "workers": list(workers.values())}}))
"""


def test_a_client_pod_computes_on_the_cluster_through_the_scheduler_service(e2e: NodeStack) -> None:
    out = result(python_in(e2e.node, CLIENTS, CLIENT, COMPUTE))
    assert out["total"] == 16_000_000.0
    assert out["workers"] and all(w == {"user": "dask", "home": "/tmp", "cwd": "/tmp"} for w in out["workers"]), out


LOAD = f"""
import json, time
from distributed import Client

def slow(i):
    import emoji   # installed at start by the worker's EXTRA_PIP_PACKAGES
    time.sleep(2)
    return emoji.emojize(":rocket:")

with Client("{ADAPT}", timeout=60) as client:
    results = client.gather(client.map(slow, range(40)))
    workers = len(client.scheduler_info()["workers"])
print(json.dumps({{"results": sorted(set(results)), "workers": workers}}))
"""


def adapt_workers(node: NodeCluster) -> list[dict[str, object]]:
    return [p for p in pods(node, QUIET, "dask.org/cluster-name=adapt,dask.org/component=worker")
            if not p["metadata"].get("deletionTimestamp")]


def operator_log(node: NodeCluster) -> str:
    operator = pods(node, "dask-operator", "app.kubernetes.io/name=dask-kubernetes-operator")[0]["metadata"]["name"]
    return pod_log(node, "dask-operator", operator)[-3000:]


def test_the_dask_autoscaler_scales_workers_up_with_load_and_down_without(e2e: NodeStack) -> None:
    node = e2e.node
    group = f"/apis/kubernetes.dask.org/v1/namespaces/{QUIET}/daskworkergroups/adapt-default"
    assert get(node, group)["spec"]["worker"]["replicas"] == 1
    started = time.monotonic()
    load = node.popen([node.tool("RAYDASK_KUBECTL"), f"--kubeconfig={node.kubeconfig}", "exec", "-n", CLIENTS, CLIENT, "--",
                       "python", "-c", LOAD], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        waited(lambda: get(node, group)["spec"]["worker"]["replicas"] == 3 and len([p for p in adapt_workers(node) if ready(p)]) == 3,
               300, "the DaskAutoscaler to scale adapt to 3 Ready workers", 2,
               diagnose=lambda: operator_log(node) + "\n" + events(node, QUIET))
        log(f"DaskAutoscaler: adapt at 3 Ready workers after {time.monotonic() - started:.0f}s")
        out, err = load.communicate(timeout=600)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait(10)
    assert load.returncode == 0, f"{out.decode()[-2000:]}\n{err.decode()[-4000:]}"
    assert json.loads(out.decode().strip().splitlines()[-1])["results"] == ["\U0001f680"]
    waited(lambda: get(node, group)["spec"]["worker"]["replicas"] == 1 and len(adapt_workers(node)) == 1, 300,
           "the DaskAutoscaler to scale adapt back to 1 worker", 3, diagnose=lambda: events(node, QUIET))
    log(f"DaskAutoscaler: adapt back at 1 worker after {time.monotonic() - started:.0f}s")


def test_the_daskjob_runs_to_successful(e2e: NodeStack) -> None:
    node = e2e.node
    path = f"/apis/kubernetes.dask.org/v1/namespaces/{E2E}/daskjobs/nightly"
    status = waited(lambda: get(node, path).get("status", {}).get("jobStatus") in ("Successful", "Failed")
                    and get(node, path)["status"], 420, "DaskJob nightly to finish", 3,
                    diagnose=lambda: json.dumps(get(node, path).get("status")) + "\n" + events(node, E2E))
    runner = maybe(node, f"/api/v1/namespaces/{E2E}/pods/nightly-runner")
    assert status["jobStatus"] == "Successful", (status, runner and pod_log(node, E2E, "nightly-runner")[-3000:])
