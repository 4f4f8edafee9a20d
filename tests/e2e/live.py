"""The live tier: the real Pulumi CLI and kubernetes provider, a real API server with fake nodes (kwok), and the real
KubeRay and Dask operators, all on 127.0.0.1 (e2e/cluster.py). Tools come from e2e/toolchain.sh's cache.

Every test here is marked ``e2e``; they share one control plane per session and run in file order. The fixtures are
declared to pytest by ``conftest.py``; the tests import the helpers from here (a module named ``conftest`` would shadow
the fast tier's).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from upstream import DASK_OPERATOR_VERSION, dask_wheel_chart, kuberay_chart, prometheus_crds

from raydask import charts
from raydask.offline.render import find_helm

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "e2e"))
sys.path.insert(0, str(ROOT / "scripts"))

from cluster import ControlPlane, HarnessError, load_tools_env, wait_until  # noqa: E402

PASSPHRASE = "raydask-e2e"
E2E_STACKS = Path(__file__).resolve().parent / "stacks"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def tools() -> dict[str, str]:
    """The binaries e2e/toolchain.sh built (the tier fails, not skips, without them: CI builds them first)."""
    try:
        env = load_tools_env(None)
    except HarnessError as exc:
        pytest.fail(f"{exc}: run `bash e2e/toolchain.sh`")
    for key in ("RAYDASK_PULUMI", "RAYDASK_PULUMI_RESOURCE_KUBERNETES", "RAYDASK_KUBE_APISERVER", "RAYDASK_KWOK"):
        if not os.access(env.get(key, ""), os.X_OK):
            pytest.fail(f"{key} is missing ({env.get(key)!r}): run `bash e2e/toolchain.sh`")
    return env


@pytest.fixture(scope="session")
def workdir() -> Path:
    """The live tier's own directory (not pytest's basetemp, which another pytest run of the same user may rotate away
    under a running control plane); kept for the logs."""
    return Path(tempfile.mkdtemp(prefix="raydask-e2e-"))


@pytest.fixture(scope="session")
def cluster(tools: dict[str, str], workdir: Path) -> Iterator[ControlPlane]:
    """A control plane for the session; stopped by PID at the end, its logs kept in ``workdir``."""
    with control_plane(workdir / "control-plane", tools) as cp:
        yield cp


@contextlib.contextmanager
def control_plane(directory: Path, tools: dict[str, str]) -> Iterator[ControlPlane]:
    """A control plane in ``directory`` with the monitors' CRDs applied; stopped by PID on exit (the fixture's and
    bench/live.py's)."""
    cp = ControlPlane(directory, tools)
    cp.up()
    try:
        cp.kubectl("apply", "--server-side", "-f", str(prometheus_crds()))  # monitors need their CRDs
        yield cp
    finally:
        cp.down()


@dataclass
class IngressController:
    """Stands in for an ingress controller: writes a load-balancer address into every Ingress's status, which the
    kubernetes provider waits for (no controller here publishes one)."""

    cluster: ControlPlane
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(1.0):
            try:
                self.publish()
            except (OSError, HarnessError):  # its API server is down (a node's, before the fixture's end) or busy
                continue

    def publish(self) -> None:
        status, body = self.cluster.api("GET", "/apis/networking.k8s.io/v1/ingresses")
        for item in body.get("items", []) if status == 200 else []:
            if (item.get("status") or {}).get("loadBalancer", {}).get("ingress"):
                continue
            meta = item["metadata"]
            self.cluster.api("PATCH", f"/apis/networking.k8s.io/v1/namespaces/{meta['namespace']}/ingresses/{meta['name']}/status",
                             {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}},
                             content_type="application/merge-patch+json")


@pytest.fixture(scope="session")
def ingress_controller(cluster: ControlPlane) -> Iterator[IngressController]:
    with running_ingress_controller(cluster) as controller:
        yield controller


@contextlib.contextmanager
def running_ingress_controller(cluster: ControlPlane) -> Iterator[IngressController]:
    """The stand-in ingress controller in a thread, stopped (bounded) on exit."""
    controller = IngressController(cluster)
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    try:
        yield controller
    finally:
        controller.stop.set()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chart_mirror(workdir: Path) -> Iterator[str]:
    """A Helm repository on 127.0.0.1 holding the pinned charts: the kind of mirror an air-gapped cluster uses."""
    with serve_chart_mirror(workdir) as url:
        yield url


@contextlib.contextmanager
def serve_chart_mirror(workdir: Path) -> Iterator[str]:
    """Serve the pinned charts from ``workdir``/chart-mirror on 127.0.0.1; yields the repository's URL."""
    root = workdir / "chart-mirror"
    root.mkdir()
    helm = str(find_helm())
    dask = charts.add(dask_wheel_chart(), version=DASK_OPERATOR_VERSION, cache=workdir / "dask-chart")
    for chart in (kuberay_chart("1.7.0"), kuberay_chart("1.5.0"), dask.path):
        subprocess.run([helm, "package", str(chart), "-d", str(root)], check=True, capture_output=True)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    subprocess.run([helm, "repo", "index", str(root), "--url", url], check=True, capture_output=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Pulumi:
    """The Pulumi CLI with a file backend and a PULUMI_HOME of the session's own, the kubernetes plugin installed from
    the provider binary e2e/toolchain.sh built."""

    home: Path
    backend: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def pulumi(tools: dict[str, str], cluster: ControlPlane, workdir: Path) -> Pulumi:
    return pulumi_setup(tools, cluster, workdir)


def pulumi_setup(tools: dict[str, str], cluster: ControlPlane, workdir: Path) -> Pulumi:
    """A PULUMI_HOME and file backend in ``workdir``, the kubernetes plugin installed, the CLI on PATH and the
    environment set in this process (the inline program runs here; the CLI and plugins inherit it)."""
    home, backend = workdir / "pulumi-home", workdir / "pulumi-backend"
    home.mkdir()
    backend.mkdir()
    env = {
        "PULUMI_HOME": str(home), "PULUMI_BACKEND_URL": backend.as_uri(), "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_SKIP_UPDATE_CHECK": "true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "KUBECONFIG": str(cluster.kubeconfig), "RAYDASK_POLICY_PYTHON": sys.executable,
    }
    os.environ["PATH"] = f"{Path(tools['RAYDASK_PULUMI']).parent}{os.pathsep}{os.environ['PATH']}"
    for key, value in env.items():  # the inline program runs in this process; the CLI and plugins get them too
        os.environ[key] = value
    subprocess.run([tools["RAYDASK_PULUMI"], "plugin", "install", "resource", "kubernetes",
                    f"v{tools['RAYDASK_PULUMI_KUBERNETES_VERSION']}", "--file", tools["RAYDASK_PULUMI_RESOURCE_KUBERNETES"]],
                   check=True, capture_output=True, env={**os.environ, **env})
    return Pulumi(home, backend, env)


def project_copy(tmp: Path, stack_file: Path, stack: str) -> Path:
    """A copy of the project's Pulumi.yaml and ``stack_file`` as stacks/Pulumi.<stack>.yaml: config the tests change
    stays out of the checkout."""
    (tmp / "stacks").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Pulumi.yaml", tmp / "Pulumi.yaml")
    shutil.copy(stack_file, tmp / "stacks" / f"Pulumi.{stack}.yaml")
    return tmp


def kube_get(cluster: ControlPlane, path: str) -> dict[str, Any]:
    status, body = cluster.api("GET", path)
    assert status == 200, f"GET {path}: {status} {body}"
    return body


def items(cluster: ControlPlane, path: str) -> list[dict[str, Any]]:
    return list(kube_get(cluster, path).get("items", []))


def secret_value(cluster: ControlPlane, namespace: str, name: str, key: str) -> str:
    data = kube_get(cluster, f"/api/v1/namespaces/{namespace}/secrets/{name}")["data"]
    return base64.b64decode(data[key]).decode()


def patch_as(cluster: ControlPlane, path: str, body: Any, content_type: str, user_agent: str) -> tuple[int, Any]:
    """PATCH ``path`` with the admin credentials but another client's user agent (the API server derives the field
    manager of a non-apply request from it)."""
    context = ssl.create_default_context(cafile=str(cluster.pki / "ca.crt"))
    context.load_cert_chain(str(cluster.pki / "admin.crt"), str(cluster.pki / "admin.key"))
    request = urllib.request.Request(cluster.server + path, data=json.dumps(body).encode(), method="PATCH",
                                     headers={"Content-Type": content_type, "User-Agent": user_agent})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def start_operators(cluster: ControlPlane, namespaces: list[str], kuberay: str = "1.5.0") -> list[threading.Thread]:
    """Start the KubeRay and Dask operators, watching ``namespaces``, once ``pulumi up`` has created those namespaces
    and the CRDs (kopf never watches a namespace that did not exist when it started)."""
    def exist() -> bool:
        return all(cluster.api("GET", f"/api/v1/namespaces/{ns}")[0] == 200 for ns in namespaces)

    def kuberay_operator() -> None:
        wait_until(exist, 300, f"namespaces {namespaces}", 1)
        cluster.start_kuberay(kuberay, namespaces)

    def dask_operator() -> None:
        wait_until(exist, 300, f"namespaces {namespaces}", 1)
        cluster.start_dask(namespaces)

    return [in_background(kuberay_operator), in_background(dask_operator)]


def in_background(fn: Callable[[], Any]) -> threading.Thread:
    """Run ``fn`` in a daemon thread (e.g. start an operator once ``pulumi up`` has applied its CRDs)."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def joined(thread: threading.Thread, timeout: float = 300) -> None:
    thread.join(timeout)
    assert not thread.is_alive(), "background step did not finish"
    errors = thread.errors  # type: ignore[attr-defined]
    if errors:
        raise errors[0]


__all__ = ["E2E_STACKS", "ROOT", "ControlPlane", "Pulumi", "control_plane", "in_background", "items", "joined", "kube_get",
           "patch_as", "project_copy", "pulumi_setup", "running_ingress_controller", "secret_value", "serve_chart_mirror",
           "start_operators", "wait_until"]


def assert_no_changes(stack: Any) -> None:
    """A preview and an up of ``stack`` with nothing changed report every resource ``same``: no update, create, delete
    or replace (a readiness wait or a status field that leaves an update behind would show here, named with the paths
    that differ)."""
    for run in (stack.preview, stack.up):
        events: list[Any] = []
        result = run(color="never", on_event=events.append)
        changed = sorted((m.op, m.urn.rsplit("::", 1)[-1], sorted((m.detailed_diff or {}).keys()) or m.diffs)
                         for m in (e.resource_pre_event.metadata for e in events if e.resource_pre_event is not None)
                         if m.op not in ("same", "read"))
        summary = result.change_summary if hasattr(result, "change_summary") else result.summary.resource_changes
        assert not changed and set(summary or {}) <= {"same"}, (run.__name__, summary, changed)
