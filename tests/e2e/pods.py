"""The workload tier on the real node (e2e/node.py): the project's stacks deployed by the real Pulumi CLI and kubernetes
provider from inside the node's network namespace, the KubeRay and Dask operators running as pods from raydask's Helm
releases (their images built here: e2e/images), and Ray and Dask doing real work in the pods raydask declares.

One node serves every ``test_pods_*`` module (a session fixture); a test host inside the namespace serves what the
cluster would otherwise fetch from the internet: the operators' Helm charts, a package index with the wheels the stacks'
runtime environments name, and the Serve application archive. Everything started here is stopped by its PID.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from live import E2E_STACKS, ROOT, HarnessError, IngressController, wait_until
from node import NODE_IP, NodeCluster, docker_reference, read_images_json
from upstream import DASK_OPERATOR_VERSION, dask_wheel_chart, kuberay_chart, prometheus_crds

from raydask import charts
from raydask.offline.render import find_helm

NODE_CPUS = 32
"""CPUs the node advertises: the stacks request more than this machine's 2 cores (the dev stack ~3, the e2e stack ~15 at
its minimum) and run unchanged; limits stay enforced on the real cores."""
NODE_MEMORY_GIB = 64
"""Memory the node advertises: the e2e stack requests ~23 GiB at its minimum (it uses a fraction of it)."""
KUBERAY_VERSION = "1.5.0"
"""The KubeRay operator built here (e2e/toolchain.sh, v1.7.0's module is not served): its image and chart."""
PASSPHRASE = "raydask-pods"
DATA = Path(__file__).resolve().parent / "data"
RAY_IMAGE = "rayproject/ray:2.60.0"
DASK_IMAGE = "ghcr.io/dask/dask:2026.8.0"
CONNECT_TIMEOUT = 5
"""Seconds a probe waits for a TCP connection: a port a NetworkPolicy closes drops the SYN (no answer at all)."""


def log(message: str) -> None:
    print(f"[pods {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------------------------- node
@contextlib.contextmanager
def real_node(tools: dict[str, str], state_dir: Path) -> Iterator[NodeCluster]:
    """A real node with every image of the recipe (unpacked: a dozen pods start at once), advertising NODE_CPUS and
    NODE_MEMORY_GIB; stopped by PID after."""
    node = NodeCluster(state_dir, tools, cpus=NODE_CPUS, memory_gib=NODE_MEMORY_GIB, unpack=True)
    started = time.monotonic()
    try:
        node.up()
        node.timings["up"] = time.monotonic() - started
        log(f"real node up: {json.dumps({k: round(v, 1) for k, v in node.timings.items()})}")
        yield node
    finally:
        node.down()


@pytest.fixture(scope="session")
def pods_node(tools: dict[str, str], workdir: Path) -> Iterator[NodeCluster]:
    """The real node of the e2e stack's modules (test_pods_e2e_*); the last of them stops it."""
    with real_node(tools, workdir / "pods-node") as node:
        yield node


# ------------------------------------------------------------------------------------------------------ test host
@dataclass
class NodeHost:
    """An HTTP file server inside the namespace (on the node's address, so pods and the provider reach it): ``charts/``
    (a Helm repository), ``simple/`` (a package index), ``apps/`` (archives for ``workingDir``)."""

    root: Path
    url: str
    pid: int

    @property
    def charts(self) -> str:
        return f"{self.url}/charts/"

    @property
    def index(self) -> str:
        return f"{self.url}/simple"

    def app(self, name: str) -> str:
        return f"{self.url}/apps/{name}"


def serve_app(root: Path, source: Path, name: str) -> Path:
    """``source`` (a directory) zipped as ``apps/<name>`` with a top-level directory, as GitHub's archives are."""
    (root / "apps").mkdir(parents=True, exist_ok=True)
    target = root / "apps" / name
    with zipfile.ZipFile(target, "w") as z:
        for f in sorted(source.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                z.write(f, f"{source.name}/{f.relative_to(source)}")
    return target


HOST_PORT = 8099


@contextlib.contextmanager
def serving(node: NodeCluster, root: Path, charts_cache: Path, extra_charts: Sequence[Path] = ()) -> Iterator[NodeHost]:
    """The test host on ``node``: the pinned charts (and ``extra_charts``, chart directories) as a Helm repository, the
    recipe's package index; stopped by PID."""
    (root / "charts").mkdir(parents=True)
    images = json.loads(node.images_json().read_text())
    if not images.get("mirror"):
        pytest.fail("the images recipe's package index is not built: run `bash e2e/toolchain.sh`")
    shutil.copytree(Path(images["mirror"]) / "simple", root / "simple")
    for chart in (kuberay_chart("1.5.0"), kuberay_chart("1.7.0"), *extra_charts):
        _package(chart, root / "charts")
    dask = charts.add(dask_wheel_chart(), version=DASK_OPERATOR_VERSION, cache=charts_cache)
    _package(dask.path, root / "charts")
    url = f"http://{NODE_IP}:{HOST_PORT}"
    subprocess.run([str(find_helm()), "repo", "index", str(root / "charts"), "--url", f"{url}/charts"], check=True,
                   capture_output=True)
    with open(root.parent / f"{root.name}.log", "wb") as host_log:
        proc = node.popen([sys.executable, "-m", "http.server", "--bind", NODE_IP, str(HOST_PORT), "--directory", str(root)],
                          stdout=subprocess.DEVNULL, stderr=host_log)
    try:
        def answers() -> bool:
            with node.urlopen(f"{url}/charts/index.yaml", 2) as r:
                return bool(r.status == 200)
        wait_until(answers, 30, "the test host", 0.3)
        yield NodeHost(root, url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture(scope="session")
def node_host(pods_node: NodeCluster, workdir: Path) -> Iterator[NodeHost]:
    with serving(pods_node, workdir / "pods-host", workdir / "pods-dask-chart") as host:
        yield host


def _package(chart: Path, into: Path) -> None:
    subprocess.run([str(find_helm()), "package", str(chart), "-d", str(into)], check=True, capture_output=True)


# ---------------------------------------------------------------------------------------------------------- stacks
def _set_path(config: dict[str, Any], key: str, value: Any) -> None:
    """``config[key]`` by a config path (``raydask:rayJobs[0].cluster.head.env.X``); ``None`` deletes it."""
    ns, _, rest = key.partition(":")
    first, *parts = re.findall(r"[^.\[\]]+|\[\d+\]", rest)
    node: Any = config
    keys: list[Any] = [f"{ns}:{first}"] + [int(p[1:-1]) if p.startswith("[") else p for p in parts]
    for k, nxt in itertools.pairwise(keys):
        if isinstance(node, list):
            while len(node) <= k:
                node.append({})
            node = node[k]
        else:
            if node.get(k) is None:
                node[k] = [] if isinstance(nxt, int) else {}
            node = node[k]
    last = keys[-1]
    if value is None:
        if isinstance(node, list):
            node.pop(last)
        else:
            node.pop(last, None)
    elif isinstance(node, list):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value


@dataclass
class NodeStack:
    """A copy of the project with one stack, driven by the Pulumi CLI inside the node's namespace (the inline program of
    ``scripts/run_pulumi.py``: no language plugin is served). Config is edited in the stack file, like a user's commit;
    secrets go through ``pulumi config set --secret``."""

    node: NodeCluster
    tools: dict[str, str]
    name: str
    project: Path
    env: dict[str, str] = field(default_factory=dict)
    ups: list[float] = field(default_factory=list)

    @classmethod
    def create(cls, node: NodeCluster, tools: dict[str, str], workdir: Path, name: str, stack_file: Path) -> NodeStack:
        base = workdir / f"pods-{name}"
        project, home, backend = base / "project", base / "pulumi-home", base / "backend"
        for d in (project / "stacks", home, backend):
            d.mkdir(parents=True)
        shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
        shutil.copy(stack_file, project / "stacks" / f"Pulumi.{name}.yaml")
        env = node.env(PULUMI_HOME=str(home), PULUMI_BACKEND_URL=backend.as_uri(), PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
                       PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
                       RAYDASK_PROJECT_DIR=str(project), RAYDASK_POLICY_PYTHON=sys.executable,
                       PATH=f"{Path(tools['RAYDASK_PULUMI']).parent}{os.pathsep}{os.environ['PATH']}")
        stack = cls(node, tools, name, project, env)
        stack.pulumi("plugin", "install", "resource", "kubernetes", f"v{tools['RAYDASK_PULUMI_KUBERNETES_VERSION']}",
                     "--file", tools["RAYDASK_PULUMI_RESOURCE_KUBERNETES"])
        stack.pulumi("stack", "select", "--create", name)
        return stack

    @property
    def stack_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.name}.yaml"

    def pulumi(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.node.run([self.tools["RAYDASK_PULUMI"], *args], env=self.env, cwd=self.project, timeout=timeout,
                             check=check)

    def config(self, values: dict[str, Any]) -> None:
        """Set (``None``: remove) config values by path, in the stack file."""
        doc = yaml.safe_load(self.stack_file.read_text()) or {}
        config = doc.setdefault("config", {})
        for key, value in values.items():
            _set_path(config, key, value)
        self.stack_file.write_text(yaml.safe_dump(doc, sort_keys=False, width=2**20))

    def secret(self, key: str, value: str) -> None:
        self.pulumi("config", "set", "--secret", key, value)

    def run(self, command: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``scripts/run_pulumi.py <command>`` inside the namespace (output kept in the project's log)."""
        started = time.monotonic()
        r = self.node.run([sys.executable, str(ROOT / "scripts" / "run_pulumi.py"), command, "--stack", self.name,
                           "-C", str(self.project)], env=self.env, cwd=self.project, timeout=timeout, check=False)
        took = time.monotonic() - started
        with open(self.project.parent / "pulumi.log", "a") as f:
            f.write(f"\n===== {command} ({took:.0f}s, exit {r.returncode})\n{r.stdout}\n{r.stderr}\n")
        log(f"pulumi {command} -s {self.name}: exit {r.returncode} after {took:.0f}s")
        if command == "up":
            self.ups.append(took)
        if check and r.returncode:
            raise HarnessError(f"pulumi {command} failed:\n{(r.stdout + r.stderr)[-6000:]}")
        return r

    def up(self, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("up", timeout, check)

    def destroy(self, timeout: float = 600) -> None:
        self.run("destroy", timeout)

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.pulumi("stack", "output", "--json", "--show-secrets").stdout))


# ------------------------------------------------------------------------------------------------ the e2e stack
E2E, QUIET, EXEMPT = "e2e", "e2e-quiet", "e2e-exempt"
CLIENTS, OUTSIDER, REDIS_NS = "e2e-clients", "e2e-outsider", "e2e-redis"
"""Namespaces of the tests' own pods: admitted clients (``networkPolicy.clientNamespaces``), a namespace no policy
admits, and the Redis of GCS fault tolerance."""
REDIS_PASSWORD = "e2e-redis-password"


def start_redis(node: NodeCluster) -> None:
    """A Redis with a password (the recipe's redis image: Debian's redis-server) at redis.e2e-redis:6379, restricted,
    read-only root and an emptyDir at /data (without it Redis refuses to stop: it cannot save)."""
    ensure_namespace(node, REDIS_NS)
    labels = {"app": "redis"}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "redis", "namespace": REDIS_NS, "labels": labels},
           "spec": {"enableServiceLinks": False, "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 999, "runAsGroup": 999, "fsGroup": 999},
                    "volumes": [{"name": "data", "emptyDir": {}}],
                    "containers": [{"name": "redis", "image": image(node, "redis:7.0.15"), "imagePullPolicy": "Never",
                                    # no snapshots: a fork of Redis stalled it for 20 s on the loaded machine (the
                                    # GCS gave up on it); Ray's state lives while Redis does, as the test needs
                                    "args": ["--requirepass", REDIS_PASSWORD, "--save", "", "--appendonly", "no"],
                                    "ports": [{"name": "redis", "containerPort": 6379}],
                                    "readinessProbe": {"tcpSocket": {"port": 6379}, "periodSeconds": 2},
                                    "securityContext": {**RESTRICTED, "runAsUser": 999, "runAsGroup": 999,
                                                        "readOnlyRootFilesystem": True},
                                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "redis", "namespace": REDIS_NS},
           "spec": {"selector": labels, "ports": [{"name": "redis", "port": 6379, "targetPort": 6379}]}}
    for path, body in ((f"/api/v1/namespaces/{REDIS_NS}/pods", pod), (f"/api/v1/namespaces/{REDIS_NS}/services", svc)):
        status, out = node.api("POST", path, body)
        assert status == 201, out


@pytest.fixture(scope="session")
def e2e_stack(pods_node: NodeCluster, node_host: NodeHost, tools: dict[str, str], workdir: Path) -> Iterator[NodeStack]:
    """tests/e2e/stacks/Pulumi.e2e.yaml (every component) deployed once for the session's test_pods_e2e_* modules,
    which then change it step by step. Not destroyed: the node goes down with everything on it.

    Test-only settings, each for something this machine cannot have: the charts from the test host; images loaded onto
    the node (``imagePullPolicy: IfNotPresent``, like a kind cluster); the fluent-bit sidecar runs the built busybox (no
    fluent-bit image can be built here); readiness waits of 900 s, not the kwok tier's 240 s (a dozen pods start at
    once on two cores, and a Ray head that loses that race is recreated by KubeRay); the RayService's ``workingDir`` is
    the test host's archive of tests/e2e/data/fruit (GitHub is out of reach); the Redis of GCS fault tolerance is the
    tests' own (e2e-redis); ``protect`` off (the kwok tier tests it); and the tests' client namespace is admitted
    (``clientNamespaces``). And one user setting exercised: ``adapt``'s workers install a package at start
    (``EXTRA_PIP_PACKAGES``)."""
    node = pods_node
    node.kubectl("apply", "--server-side", "-f", str(prometheus_crds()))  # the stack's monitors need their CRDs
    for ns in (CLIENTS, OUTSIDER, "monitoring", "ingress-nginx"):
        ensure_namespace(node, ns)
    start_redis(node)
    serve_app(node_host.root, DATA / "fruit", "fruit.zip")
    stack = NodeStack.create(node, tools, workdir, "e2e", E2E_STACKS / "Pulumi.e2e.yaml")
    stack.config({
        "raydask:protect": False,
        "raydask:imagePullPolicy": "IfNotPresent",
        "raydask:kuberay.chart.repo": node_host.charts,
        "raydask:daskOperator.chart.repo": node_host.charts,
        "raydask:networkPolicy.clientNamespaces": [CLIENTS],
        "raydask:rayClusters[0].head.sidecars[0]": {
            "name": "fluent-bit", "image": "busybox:1.35.0",
            "command": ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 5 & wait $!; done"],
            "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}},
        "raydask:rayClusters[0].gcsFaultTolerance.redisAddress": f"redis.{REDIS_NS}.svc.cluster.local:6379",
        "raydask:rayClusters[0].wait.timeoutSeconds": 900,
        "raydask:daskClusters[0].wait.timeoutSeconds": 900,
        "raydask:daskClusters[2].wait.timeoutSeconds": 900,
        "raydask:rayServices[0].applications[0].runtimeEnv.workingDir": node_host.app("fruit.zip"),
        # the Dask image's EXTRA_PIP_PACKAGES at worker start, from the test host's index (pip needs a writable HOME)
        "raydask:daskClusters[1].worker.env": {"EXTRA_PIP_PACKAGES": "emoji==2.14.1", "PIP_INDEX_URL": node_host.index,
                                               "PIP_TRUSTED_HOST": NODE_IP},
    })
    stack.secret("raydask:redisPassword", REDIS_PASSWORD)
    stack.secret("raydask:trackingToken", "e2e-tracking-token")
    wait_ready(node, REDIS_NS, ["redis"], 120)
    ingresses = IngressController(node)   # no Ingress controller runs here: it publishes an address, as the kwok tier's
    thread = threading.Thread(target=ingresses.run, daemon=True)
    thread.start()
    try:
        stack.up(timeout=1500)
        yield stack
    finally:
        ingresses.stop.set()
        thread.join(timeout=10)
        save_diagnostics(node, [E2E, QUIET, EXEMPT], workdir / "pods-e2e" / "diagnostics")


# ---------------------------------------------------------------------------------------------------- Kubernetes
def get(node: NodeCluster, path: str) -> dict[str, Any]:
    status, body = node.api("GET", path)
    assert status == 200, f"GET {path}: {status} {body}"
    return dict(body)


def maybe(node: NodeCluster, path: str) -> dict[str, Any] | None:
    status, body = node.api("GET", path)
    return dict(body) if status == 200 else None


def items(node: NodeCluster, path: str) -> list[dict[str, Any]]:
    return list(get(node, path).get("items", []))


def pods(node: NodeCluster, namespace: str, selector: str) -> list[dict[str, Any]]:
    return items(node, f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")


def ready(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in pod.get("status", {}).get("conditions", []))


def ensure_namespace(node: NodeCluster, name: str, labels: dict[str, str] | None = None) -> None:
    status, body = node.api("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                           "metadata": {"name": name, "labels": labels or {}}})
    assert status in (201, 409), body
    wait_until(lambda: node.api("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")[0] == 200, 60,
               f"namespace {name}'s default ServiceAccount", 0.5)


def image(node: NodeCluster, ref: str) -> str:
    """``ref`` as the node's containerd names it (it must be in the recipe)."""
    refs, _ = read_images_json(node.images_json())
    assert ref in refs, f"{ref} is not in the images recipe"
    return docker_reference(ref)


RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
              "runAsUser": 10001, "runAsGroup": 100, "seccompProfile": {"type": "RuntimeDefault"}}


def client_pod(node: NodeCluster, namespace: str, name: str, ref: str, labels: dict[str, str] | None = None,
               env: dict[str, str] | None = None, command: list[str] | None = None) -> str:
    """A client pod that sleeps (tests exec into it), restricted like raydask's pods, writable /tmp as HOME."""
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
            "spec": {"terminationGracePeriodSeconds": 1, "enableServiceLinks": False, "automountServiceAccountToken": False,
                     "volumes": [{"name": "tmp", "emptyDir": {}}],
                     "containers": [{"name": "main", "image": image(node, ref), "imagePullPolicy": "Never",
                                     "command": command or ["sleep", "infinity"], "workingDir": "/tmp",
                                     "env": [{"name": k, "value": v} for k, v in {"HOME": "/tmp", "USER": "client",
                                                                                   **(env or {})}.items()],
                                     "securityContext": {**RESTRICTED, "readOnlyRootFilesystem": True},
                                     "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}]}}
    status, out = node.api("POST", f"/api/v1/namespaces/{namespace}/pods", body)
    assert status == 201, out
    return name


def wait_ready(node: NodeCluster, namespace: str, names: list[str], timeout: float = 180) -> None:
    def all_ready() -> bool:
        return all(ready(maybe(node, f"/api/v1/namespaces/{namespace}/pods/{n}") or {}) for n in names)
    wait_until(all_ready, timeout, f"pods {names} in {namespace} Ready", 1)


def kubectl(node: NodeCluster, *args: str, timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return node.run([node.tool("RAYDASK_KUBECTL"), f"--kubeconfig={node.kubeconfig}", *args], check=False, timeout=timeout,
                    input=input)


def exec_in(node: NodeCluster, namespace: str, pod: str, argv: list[str], timeout: float = 120,
            container: str | None = None) -> subprocess.CompletedProcess[str]:
    c = ["-c", container] if container else []
    return kubectl(node, "exec", "-n", namespace, pod, *c, "--", *argv, timeout=timeout)


def python_in(node: NodeCluster, namespace: str, pod: str, code: str, timeout: float = 300,
              container: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a Python program in a pod's container (``python -c``); its last stdout line is its result."""
    return exec_in(node, namespace, pod, ["python", "-c", code], timeout, container)


def result(r: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a program printed last; its output in the assertion message when it failed."""
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def ray_client(address: str, attempts: int = 5) -> str:
    """Python source defining ``connect(**kw)`` for a pod script: ``ray.init(address, **kw)``, retried, since Ray 2.60's
    client server fails to start for about one connection in six; the script exits when no attempt connects."""
    return f"""
import sys, time
import ray

def connect(**kw):
    for attempt in range({attempts}):
        try:
            return ray.init({address!r}, logging_level="ERROR", **kw)
        except ConnectionError as exc:
            print(f"ray client connect failed ({{exc!r}}), retrying", file=sys.stderr)
            time.sleep(3)
    sys.exit("the Ray client never connected")
"""


PROBE = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor

def probe(target):
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), float(sys.argv[1])).close()
        return "open"
    except socket.timeout:
        return "dropped"
    except OSError as exc:
        return type(exc).__name__

with ThreadPoolExecutor(32) as pool:
    print(json.dumps(dict(zip(sys.argv[2:], pool.map(probe, sys.argv[2:])))))
"""


def connect(node: NodeCluster, namespace: str, pod: str, targets: list[str]) -> dict[str, str]:
    """From ``pod``: ``{host:port: open | dropped | <error>}`` for each target (TCP connects in parallel, CONNECT_TIMEOUT
    each): ``dropped`` is no answer at all, what a NetworkPolicy does to a connection it does not admit."""
    r = exec_in(node, namespace, pod, ["python", "-c", PROBE, str(CONNECT_TIMEOUT), *targets], timeout=120)
    return dict(result(r))


def pod_log(node: NodeCluster, namespace: str, pod: str, container: str | None = None) -> str:
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log" + (f"?container={container}" if container else "")
    _, body = node.api("GET", path, timeout=30)
    return body if isinstance(body, str) else json.dumps(body)


def secret(node: NodeCluster, namespace: str, name: str, key: str) -> str:
    return base64.b64decode(get(node, f"/api/v1/namespaces/{namespace}/secrets/{name}")["data"][key]).decode()


def events(node: NodeCluster, namespace: str) -> str:
    evs = items(node, f"/api/v1/namespaces/{namespace}/events")
    return "\n".join(f"{e.get('reason')} {e['involvedObject'].get('kind')}/{e['involvedObject'].get('name')}: "
                     f"{e.get('message', '')}" for e in evs[-40:])


RAY_LOGS = ("raylet.out", "gcs_server.out", "dashboard.log", "dashboard_agent.log", "runtime_env_agent.log", "monitor.log")


def save_diagnostics(node: NodeCluster, namespaces: list[str], into: Path) -> None:
    """Pods, events and every container's log of ``namespaces`` (and the tail of Ray's own logs in Ray containers) into
    ``into``, for a failed run; best effort (nothing when the node is down), bounded."""
    if not node.pid("kube-apiserver"):
        return
    into.mkdir(parents=True, exist_ok=True)
    for ns in namespaces:
        with contextlib.suppress(Exception):
            listing = get(node, f"/api/v1/namespaces/{ns}/pods")
            (into / f"{ns}.events.txt").write_text(events(node, ns))
            (into / f"{ns}.pods.json").write_text(json.dumps(listing, indent=1))
            for pod in listing.get("items", []):
                name = pod["metadata"]["name"]
                for c in pod["spec"]["containers"]:
                    (into / f"{ns}.{name}.{c['name']}.log").write_text(pod_log(node, ns, name, c["name"]))
                    if c["name"] in ("ray-head", "ray-worker"):
                        tails = exec_in(node, ns, name, ["bash", "-c", " ".join(
                            f"echo '===== {f}'; tail -n 150 /tmp/ray/session_latest/logs/{f};" for f in RAY_LOGS)], 60, c["name"])
                        (into / f"{ns}.{name}.ray-logs.txt").write_text(tails.stdout + tails.stderr)


def waited(fn: Callable[[], Any], timeout: float, what: str, interval: float = 2,
           diagnose: Callable[[], str] | None = None) -> Any:
    """wait_until, with ``diagnose()`` in the message when it times out."""
    try:
        return wait_until(fn, timeout, what, interval)
    except HarnessError as exc:
        raise AssertionError(f"{exc}\n{diagnose() if diagnose else ''}") from None


__all__ = [
    "CLIENTS",
    "CONNECT_TIMEOUT",
    "DASK_IMAGE",
    "DATA",
    "E2E",
    "EXEMPT",
    "KUBERAY_VERSION",
    "OUTSIDER",
    "QUIET",
    "RAY_IMAGE",
    "REDIS_NS",
    "NodeHost",
    "NodeStack",
    "client_pod",
    "connect",
    "e2e_stack",
    "ensure_namespace",
    "events",
    "exec_in",
    "get",
    "items",
    "kubectl",
    "log",
    "maybe",
    "node_host",
    "pod_log",
    "pods",
    "pods_node",
    "python_in",
    "ready",
    "real_node",
    "result",
    "save_diagnostics",
    "secret",
    "serve_app",
    "serving",
    "shlex",
    "wait_ready",
    "waited",
]
