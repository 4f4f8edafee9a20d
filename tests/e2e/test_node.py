"""The real node (e2e/node.py): a one-node Kubernetes inside a network namespace of the test run's own, with real
containers (containerd + runc), the CNI bridge, kube-proxy, CoreDNS and an enforcing NetworkPolicy implementation
(kube-network-policies). Pods here run the tiny busybox image e2e/node.py builds; the Ray and Dask images come from
the images recipe.

The tests run in file order on one node; the last one stops it and checks that nothing is left.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live import kube_get, wait_until  # puts e2e/ on sys.path
from node import CGROUP_FS, DNS_IP, NODE_IP, NodeCluster, docker_reference, read_images_json

NS = "node-e2e"
WEB_PORT, ADMIN_PORT = 8080, 9090


@pytest.fixture(scope="module")
def node(tools: dict[str, str], workdir: Path) -> Iterator[NodeCluster]:
    """One real node for this module, stopped by PID at the end (also when a test fails); timings in its state dir."""
    cluster = NodeCluster(workdir / "node", tools)
    started = time.monotonic()
    try:
        cluster.up()
        cluster.timings["up"] = time.monotonic() - started
        (cluster.dir / "timings.json").write_text(json.dumps(cluster.timings, indent=1))
        print(f"real node up: {json.dumps({k: round(v, 1) for k, v in cluster.timings.items()})}")
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def busybox(node: NodeCluster) -> str:
    refs, _ = read_images_json(node.test_images())
    return docker_reference(next(r for r in refs if "/busybox:" in r))


def pod(name: str, image: str, labels: dict[str, str], command: str, **container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": labels},
            "spec": {"terminationGracePeriodSeconds": 1, "enableServiceLinks": False,
                     "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                     "command": ["sh", "-c", command], **container}]}}


def create(node: NodeCluster, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, obj = node.api("POST", path, body)
    assert status == 201, f"POST {path}: {status} {obj}"
    return obj


def pod_status(node: NodeCluster, name: str) -> dict[str, Any]:
    return kube_get(node, f"/api/v1/namespaces/{NS}/pods/{name}").get("status", {})  # type: ignore[arg-type]


def condition(status: dict[str, Any], kind: str) -> str | None:
    return next((c["status"] for c in status.get("conditions", []) if c["type"] == kind), None)


def kubectl_exec(node: NodeCluster, name: str, *argv: str, timeout: float = 30) -> tuple[int, str]:
    r = node.run([node.tool("RAYDASK_KUBECTL"), f"--kubeconfig={node.kubeconfig}", "exec", "-n", NS, name, "--", *argv],
                 check=False, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip()


FETCH_TIMEOUT = 5
HUNG = 143   # busybox `timeout` killed wget: no answer at all (its own -T crashes busybox 1.35's static build)


def fetch(node: NodeCluster, client: str, url: str) -> tuple[int, str]:
    """wget from inside ``client``, given FETCH_TIMEOUT seconds: (exit code, output)."""
    return kubectl_exec(node, client, "timeout", str(FETCH_TIMEOUT), "wget", "-q", "-O-", url)


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def test_node_is_ready_inside_its_namespace(node: NodeCluster) -> None:
    obj = kube_get(node, f"/api/v1/nodes/{node.node_name}")
    info = obj["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.34.4"
    assert info["containerRuntimeVersion"].startswith("containerd://1.6.")
    assert {"type": "InternalIP", "address": NODE_IP} in obj["status"]["addresses"]
    assert condition(obj["status"], "Ready") == "True"
    assert obj["status"]["capacity"]["cpu"] == str(os.cpu_count())   # a real machine's, not kwok's 64
    assert "kwok.x-k8s.io/node" not in obj["metadata"].get("annotations", {})
    assert node.loopback_violations() == []
    inside = node.processes_in_netns()
    for name in ("etcd", "kube-apiserver", "kubelet", "containerd", "kube-proxy", "coredns", "kube-network-policies"):
        assert node.pid(name) in inside, f"{name} is not inside the network namespace"


def test_no_route_out(node: NodeCluster) -> None:
    """Nothing leaves the namespace: a connection to a public address fails at once, a public name does not resolve."""
    def dial() -> tuple[int, float]:
        started = time.monotonic()
        with socket.socket() as s:
            s.settimeout(5)
            try:
                s.connect(("1.1.1.1", 443))
            except OSError as exc:
                return exc.errno or 0, time.monotonic() - started
        return 0, time.monotonic() - started
    err, took = node.call(dial)
    assert err == errno.ENETUNREACH and took < 1, (err, took)
    started = time.monotonic()
    r = node.run(["getent", "hosts", "pypi.org"], check=False, timeout=30)
    assert r.returncode != 0 and time.monotonic() - started < 5, r


def test_pod_runs_and_is_ready_by_its_probe(node: NodeCluster, busybox: str) -> None:
    create(node, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    wait_until(lambda: node.api("GET", f"/api/v1/namespaces/{NS}/serviceaccounts/default")[0] == 200, 60,
               "the namespace's default ServiceAccount", 1)
    serve = f"httpd -p {ADMIN_PORT} -h /www && exec httpd -f -p {WEB_PORT} -h /www"
    probe = {"httpGet": {"path": "/index.html", "port": WEB_PORT}, "periodSeconds": 1, "failureThreshold": 2}
    create(node, f"/api/v1/namespaces/{NS}/pods", pod("web", busybox, {"app": "web"}, serve, readinessProbe=probe,
                                                       ports=[{"containerPort": WEB_PORT}, {"containerPort": ADMIN_PORT}]))
    # the same probe against a port nothing listens on: Running, never Ready (the probe really runs)
    create(node, f"/api/v1/namespaces/{NS}/pods", pod("unready", busybox, {"app": "unready"}, "exec sleep 3600",
                                                       readinessProbe=probe))
    for name, labels in (("client", {"app": "client"}), ("admin", {"app": "client", "access": "admin"})):
        create(node, f"/api/v1/namespaces/{NS}/pods", pod(name, busybox, labels, "exec sleep 3600"))
    for name in ("web", "client", "admin"):
        wait_until(lambda n=name: condition(pod_status(node, n), "Ready") == "True", 120, f"pod {name} Ready", 1)
    status = pod_status(node, "unready")
    assert status["phase"] == "Running" and condition(status, "Ready") == "False", status
    web = pod_status(node, "web")
    assert web["podIP"].startswith("10.244.0."), web
    assert web["containerStatuses"][0]["imageID"], web


def test_pod_to_pod_and_service_traffic(node: NodeCluster) -> None:
    web_ip = pod_status(node, "web")["podIP"]
    assert fetch(node, "client", f"http://{web_ip}:{WEB_PORT}/") == (0, "raydask e2e")
    svc = create(node, f"/api/v1/namespaces/{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": WEB_PORT},
                                                      {"name": "admin", "port": ADMIN_PORT, "targetPort": ADMIN_PORT}]}})
    cluster_ip = svc["spec"]["clusterIP"]
    # kube-proxy programs the ClusterIP once the endpoints are there: from a pod, then from a process of the namespace
    wait_until(lambda: fetch(node, "client", f"http://{cluster_ip}/") == (0, "raydask e2e"), 60, "pod -> ClusterIP", 1)

    def from_namespace() -> str:
        import urllib.request
        with urllib.request.urlopen(f"http://{cluster_ip}/", timeout=5) as r:
            return r.read().decode().strip()
    assert node.call(from_namespace) == "raydask e2e"


def test_cluster_dns(node: NodeCluster) -> None:
    cluster_ip = kube_get(node, f"/api/v1/namespaces/{NS}/services/web")["spec"]["clusterIP"]
    fqdn = f"web.{NS}.svc.cluster.local"
    # from a process of the namespace (its resolv.conf points at the cluster DNS)
    r = node.run(["getent", "hosts", fqdn])
    assert r.stdout.split()[0] == cluster_ip
    r = node.run(["getent", "hosts", f"web.{NS}"])   # the search path, as the operators use it
    assert r.stdout.split()[0] == cluster_ip
    # from a pod: the kubelet's resolv.conf (cluster DNS, the namespace's search path); busybox's own resolver
    code, out = kubectl_exec(node, "client", "cat", "/etc/resolv.conf")
    assert code == 0 and f"nameserver {DNS_IP}" in out and f"search {NS}.svc.cluster.local" in out, out
    code, out = kubectl_exec(node, "client", "nslookup", fqdn)
    assert code == 0 and cluster_ip in out, out
    code, out = kubectl_exec(node, "client", "nslookup", "pypi.org")
    assert code != 0, out


def test_network_policy_is_enforced(node: NodeCluster) -> None:
    """One port open to every pod of the namespace, the other only to pods labelled access=admin."""
    web_ip = pod_status(node, "web")["podIP"]
    admin_url = f"http://{web_ip}:{ADMIN_PORT}/"
    assert fetch(node, "client", admin_url) == (0, "raydask e2e")   # open before the policy
    create(node, f"/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies", {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "web", "namespace": NS},
        "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": WEB_PORT}]},
                             {"from": [{"podSelector": {"matchLabels": {"access": "admin"}}}],
                              "ports": [{"port": ADMIN_PORT}]}]}})
    wait_until(lambda: fetch(node, "client", admin_url)[0] != 0, 60, "the policy to close the admin port to 'client'", 1)
    started = time.monotonic()
    code, out = fetch(node, "client", admin_url)
    assert code == HUNG and time.monotonic() - started >= FETCH_TIMEOUT, (code, out)   # dropped, never answered
    cluster_ip = kube_get(node, f"/api/v1/namespaces/{NS}/services/web")["spec"]["clusterIP"]
    assert fetch(node, "client", f"http://{cluster_ip}:{ADMIN_PORT}/")[0] == HUNG   # through the Service too
    assert fetch(node, "client", f"http://{web_ip}:{WEB_PORT}/") == (0, "raydask e2e")   # the allowed port
    assert fetch(node, "admin", admin_url) == (0, "raydask e2e")      # the admitted pod
    time.sleep(3)   # kubelet's probes come from the node: still allowed, the pod stays Ready
    assert condition(pod_status(node, "web"), "Ready") == "True"


def test_image_pull_fails_at_once(node: NodeCluster) -> None:
    """No registry is reachable: a pod whose image is not imported fails to pull at once (no name resolves)."""
    create(node, f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pull", "namespace": NS},
        "spec": {"containers": [{"name": "main", "image": "docker.io/library/raydask-not-imported:1"}]}})

    def waiting_reason() -> str | None:
        for c in pod_status(node, "pull").get("containerStatuses", []):
            reason = c.get("state", {}).get("waiting", {}).get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                return str(reason)
        return None
    started = time.monotonic()
    wait_until(waiting_reason, 60, "the pull to fail", 0.5)
    assert time.monotonic() - started < 30


PULUMI_PROGRAM = """
import os, sys
import pulumi, pulumi_kubernetes as k8s
from pulumi import automation as auto

def program():
    cm = k8s.core.v1.ConfigMap("probe", metadata={"name": "probe", "namespace": "node-e2e"}, data={"from": "pulumi"})
    pulumi.export("uid", cm.metadata.uid)

opts = auto.LocalWorkspaceOptions(work_dir=sys.argv[1], pulumi_home=os.environ["PULUMI_HOME"], env_vars=dict(os.environ))
stack = auto.create_or_select_stack(stack_name="node", project_name="node-probe", program=program, opts=opts)
print(stack.up(on_output=lambda _: None).outputs["uid"].value)
"""


def test_pulumi_runs_inside(node: NodeCluster, tools: dict[str, str], workdir: Path) -> None:
    """The Pulumi CLI, its kubernetes provider and an Automation API program, all inside the namespace (their gRPC on
    its loopback, the provider talking to this node's API server)."""
    base = workdir / "node-pulumi"
    for d in ("home", "backend", "project"):
        (base / d).mkdir(parents=True)
    env = node.env(PULUMI_HOME=str(base / "home"), PULUMI_BACKEND_URL=(base / "backend").as_uri(),
                   PULUMI_CONFIG_PASSPHRASE="node", PULUMI_SKIP_UPDATE_CHECK="true",
                   PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
                   PATH=f"{Path(tools['RAYDASK_PULUMI']).parent}{os.pathsep}{os.environ['PATH']}")
    node.run([tools["RAYDASK_PULUMI"], "plugin", "install", "resource", "kubernetes",
              f"v{tools['RAYDASK_PULUMI_KUBERNETES_VERSION']}", "--file", tools["RAYDASK_PULUMI_RESOURCE_KUBERNETES"]], env=env)
    r = node.run([sys.executable, "-c", PULUMI_PROGRAM, str(base / "project")], env=env, timeout=300)
    uid = r.stdout.strip().splitlines()[-1]
    assert kube_get(node, f"/api/v1/namespaces/{NS}/configmaps/probe")["metadata"]["uid"] == uid
    assert node.loopback_violations() == []


def test_down_stops_every_process_by_pid(node: NodeCluster) -> None:
    netns, root = node.netns, node.cgroup_root
    recorded = {name: node.pid(name) for name in node.PROCESSES if node.pid(name)}
    in_namespace = node.processes_in_netns()
    containers = node.cgroup_pids()
    assert len(containers) > 5 and set(recorded.values()) <= set(in_namespace), (recorded, in_namespace)
    node.down()
    alive = [pid for pid in [*recorded.values(), *in_namespace, *containers] if running(pid)]
    assert alive == []
    assert not Path(f"/run/netns/{netns}").exists() and not Path(f"/etc/netns/{netns}").exists()
    assert [h.name for h in CGROUP_FS.iterdir() if (h / root.lstrip("/")).exists()] == []
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(node.dir) not in mounts and netns not in mounts
    assert not (node.dir / "containerd").exists() and (node.dir / "logs" / "kubelet.log").exists()
