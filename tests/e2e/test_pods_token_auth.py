"""Ray token authentication on the real node: tests/e2e/stacks/Pulumi.auth.yaml on a node of its own (the e2e stack and
its tests are untouched). ``pulumi up`` installs the KubeRay 1.6.2 operator (token authentication needs ≥ 1.5.1; the
toolchain builds it and its chart beside the upgrade test's pair) as a pod from raydask's release, and a RayCluster with
``auth: {}`` (a head and one worker) whose token KubeRay generates into a Secret.

Then, from client pods in a namespace the NetworkPolicies admit (so the token is all that decides): a pod without the
token reaches the Ray client port 10001 and the dashboard 8265 and is refused on both (gRPC ``UNAUTHENTICATED``, HTTP
401, ``ray.init`` fails; a wrong token: 403 and ``UNAUTHENTICATED``; the token without ``RAY_AUTH_MODE=token``: the job
SDK is refused, Ray's clients do not send it), and a pod given the token from that Secret is admitted (a Ray client runs
a task on the worker; the dashboard and the job API answer).

Test-only settings, each for something this machine cannot have: the chart from the test host, and a readiness wait of
600 s for the RayCluster (pods start on two shared cores).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live import E2E_STACKS
from pods import (
    RAY_IMAGE,
    NodeStack,
    client_pod,
    connect,
    ensure_namespace,
    events,
    exec_in,
    get,
    log,
    pods,
    python_in,
    ray_client,
    ready,
    real_node,
    result,
    save_diagnostics,
    secret,
    serving,
    wait_ready,
    waited,
)

NS, CLIENTS, CLUSTER = "ray-auth", "auth-clients", "locked"
KUBERAY = "1.6.2"
"""The operator of the stack file (``kuberay.version``), built by e2e/toolchain.sh with its chart."""
HEAD_SVC = f"{CLUSTER}-head-svc.{NS}.svc.cluster.local"
STRANGER, HOLDER = "no-token", "with-token"
"""The client pods: one without the token, one given it (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``) as Ray documents."""


@pytest.fixture(scope="module")
def auth(tools: dict[str, str], workdir: Path) -> Iterator[NodeStack]:
    chart = tools.get(f"RAYDASK_KUBERAY_{KUBERAY.replace('.', '_')}_CHART")
    if not chart or not tools.get(f"RAYDASK_KUBERAY_{KUBERAY.replace('.', '_')}"):
        pytest.fail(f"the KubeRay {KUBERAY} operator and its chart are not built: run `bash e2e/toolchain.sh`")
    with real_node(tools, workdir / "pods-auth-node") as node, \
            serving(node, workdir / "pods-auth-host", workdir / "pods-dask-chart", [Path(chart)]) as host:
        ensure_namespace(node, CLIENTS)
        client_pod(node, CLIENTS, STRANGER, RAY_IMAGE)
        stack = NodeStack.create(node, tools, workdir, "auth", E2E_STACKS / "Pulumi.auth.yaml")
        stack.config({"raydask:kuberay.chart.repo": host.charts, "raydask:rayClusters[0].wait.timeoutSeconds": 600})
        try:
            stack.up()
            token = secret(node, NS, CLUSTER, "auth_token")   # as a user reads it: kubectl get secret locked
            client_pod(node, CLIENTS, HOLDER, RAY_IMAGE, env={"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
            wait_ready(node, CLIENTS, [STRANGER, HOLDER])
            yield stack
        finally:
            save_diagnostics(node, [NS, CLIENTS], workdir / "pods-auth" / "diagnostics")


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def test_kuberay_generates_the_token_and_every_ray_container_runs_with_it(auth: NodeStack) -> None:
    node = auth.node
    operator = pods(node, NS, "app.kubernetes.io/name=kuberay-operator")
    assert len(operator) == 1 and ready(operator[0]), operator
    assert operator[0]["spec"]["containers"][0]["image"].endswith(f"quay.io/kuberay/operator:v{KUBERAY}")
    cluster = get(node, f"/apis/ray.io/v1/namespaces/{NS}/rayclusters/{CLUSTER}")
    assert cluster["spec"]["authOptions"] == {"mode": "token"}     # kept: the 1.6.2 CRD has it (1.5.0's would prune it)
    assert cluster["status"]["state"] == "ready"
    generated = get(node, f"/api/v1/namespaces/{NS}/secrets/{CLUSTER}")
    assert [o["kind"] for o in generated["metadata"]["ownerReferences"]] == ["RayCluster"]
    assert len(secret(node, NS, CLUSTER, "auth_token")) >= 32
    ray_pods = waited(lambda: len(p := [p for p in pods(node, NS, f"ray.io/cluster={CLUSTER}") if ready(p)]) == 2 and p,
                      600, "the head and the worker Ready", diagnose=lambda: events(node, NS))
    from_secret = {"secretKeyRef": {"name": CLUSTER, "key": "auth_token"}}
    for pod in ray_pods:
        env = env_of(pod["spec"]["containers"][0])
        assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN"] == from_secret, (pod["metadata"]["name"], env)
    mode = f"""
import json, urllib.request
with urllib.request.urlopen("http://{HEAD_SVC}:8265/api/authentication_mode", timeout=10) as r:
    print(json.dumps(json.loads(r.read())))
"""
    assert result(python_in(node, CLIENTS, STRANGER, mode))["authentication_mode"] == "token"   # a public path


REFUSED = f"""
import json, sys, time, urllib.error, urllib.request
import grpc
from ray.core.generated import ray_client_pb2, ray_client_pb2_grpc

def dashboard(token):
    request = urllib.request.Request("http://{HEAD_SVC}:8265/api/version")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code

def client_port(token):
    # the Ray client's first call (ClusterInfo PING), on a channel without Ray's auth interceptor
    with grpc.insecure_channel("{HEAD_SVC}:10001") as channel:
        stub = ray_client_pb2_grpc.RayletDriverStub(channel)
        metadata = [("authorization", "Bearer " + token)] if token else []
        try:
            stub.ClusterInfo(ray_client_pb2.ClusterInfoRequest(type=ray_client_pb2.ClusterInfoType.PING), timeout=30,
                             metadata=metadata)
            return "OK", ""
        except grpc.RpcError as exc:
            return exc.code().name, exc.details()

out = {{"dashboard": dashboard(None), "dashboard_wrong_token": dashboard("not-the-token"),
        "client": client_port(None), "client_wrong_token": client_port("not-the-token")}}
import ray
started = time.monotonic()
try:
    ray.init("ray://{HEAD_SVC}:10001", logging_level="ERROR")
    out["ray_init"] = "connected"
except Exception as exc:
    out["ray_init"] = type(exc).__name__ + ": " + str(exc)[:300]
out["ray_init_seconds"] = round(time.monotonic() - started)
print(json.dumps(out))
"""


JOBS = f"""
import json
from ray.job_submission import JobSubmissionClient   # what `ray job submit` / `ray job list` use
try:
    print(json.dumps({{"listed": len(JobSubmissionClient("http://{HEAD_SVC}:8265").list_jobs())}}))
except Exception as exc:
    print(json.dumps({{"error": type(exc).__name__ + ": " + str(exc)[:500]}}))
"""


def test_a_client_without_the_token_is_refused_on_the_client_port_and_the_dashboard(auth: NodeStack) -> None:
    """The policies let the pod in (both ports answer a TCP connect); Ray itself refuses it. ``ray.init`` reports the
    refusal as a connection timeout (its retry loop swallows ``UNAUTHENTICATED``). And the token alone is not enough:
    without ``RAY_AUTH_MODE=token`` Ray's clients do not send it (the job SDK is refused)."""
    node = auth.node
    assert connect(node, CLIENTS, STRANGER, [f"{HEAD_SVC}:10001", f"{HEAD_SVC}:8265"]) == {
        f"{HEAD_SVC}:10001": "open", f"{HEAD_SVC}:8265": "open"}
    refused = result(python_in(node, CLIENTS, STRANGER, REFUSED, timeout=240))
    log(f"without the token: {json.dumps(refused)}")
    assert refused["dashboard"] == 401 and refused["dashboard_wrong_token"] == 403, refused
    for key in ("client", "client_wrong_token"):
        assert refused[key] == ["UNAUTHENTICATED", "Invalid or missing authentication token"], refused
    assert refused["ray_init"] != "connected", refused
    token = secret(node, NS, CLUSTER, "auth_token")
    without_mode = result(exec_in(node, CLIENTS, STRANGER, ["env", f"RAY_AUTH_TOKEN={token}", "python", "-c", JOBS]))
    log(f"the token without RAY_AUTH_MODE: {json.dumps(without_mode)}")
    assert "Authentication required" in without_mode.get("error", ""), without_mode


ADMITTED = ray_client(f"ray://{HEAD_SVC}:10001") + f"""
import json, os, urllib.request
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

request = urllib.request.Request("http://{HEAD_SVC}:8265/api/version",
                                 headers={{"Authorization": "Bearer " + os.environ["RAY_AUTH_TOKEN"]}})
with urllib.request.urlopen(request, timeout=10) as r:
    version = json.loads(r.read())["ray_version"]
connect()
alive = [n for n in ray.nodes() if n["Alive"]]
worker = next(n["NodeID"] for n in alive if "node:__internal_head__" not in n["Resources"])

@ray.remote(num_cpus=0)
def where():
    return ray.get_runtime_context().get_node_id()

ran_on = ray.get(where.options(scheduling_strategy=NodeAffinitySchedulingStrategy(worker, soft=False)).remote(), timeout=120)
print(json.dumps({{"dashboard_version": version, "nodes": len(alive), "worker": worker, "ran_on": ran_on}}))
"""


def test_a_client_with_the_token_from_the_secret_is_admitted(auth: NodeStack) -> None:
    """The token KubeRay generated (read from its Secret) admits a Ray client, which runs a task on the worker (which
    joined the head through the authenticated internal RPCs), and the dashboard."""
    node = auth.node
    admitted = result(python_in(node, CLIENTS, HOLDER, ADMITTED, timeout=300))
    log(f"with the token: {json.dumps(admitted)}")
    assert admitted["dashboard_version"] == "2.60.0"
    assert admitted["nodes"] == 2 and admitted["ran_on"] == admitted["worker"], admitted
    jobs = result(python_in(node, CLIENTS, HOLDER, JOBS))
    assert set(jobs) == {"listed"}, jobs   # the job API answers (the Ray client's session above is listed as a job)
