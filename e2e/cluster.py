#!/usr/bin/env python3
"""Local Kubernetes control plane for the end-to-end tests (stdlib only).

etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok (fake kubelet:
pods become Running/Ready without containers), from the binaries e2e/toolchain.sh builds,
plus the KubeRay and Dask operators run out of cluster.

Network rule: every process listens on 127.0.0.1 only (ports are picked free at run time),
and nothing may ever connect to a pod or Service IP (they are fake). Consequences for tests:
no kubectl logs/exec/port-forward; no RayJob/RayService in namespaces KubeRay watches (their
controllers call the Ray dashboard); no DaskAutoscaler, worker scale-down or idleTimeout in
namespaces the Dask operator watches (those call the scheduler). See README in e2e/.

Python API (used by the pytest fixture):
    cp = ControlPlane("/tmp/raydask-e2e")          # tools from $RAYDASK_TOOLS_DIR/env.sh
    cp.up(); cp.kubeconfig
    cp.start_kuberay("1.5.0", ["ray-ns"]); cp.stop_kuberay()
    cp.start_dask(["dask-ns"]); cp.stop_dask()
    cp.log_tail("kube-apiserver"); cp.loopback_violations(); cp.down()

CLI: cluster.py {up|down|status|env|start-kuberay|stop-kuberay|start-dask|stop-dask|logs} [--state-dir D]
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import json
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STATE = os.environ.get("RAYDASK_E2E_STATE", "/tmp/raydask-e2e")
SERVICE_CIDR = "10.96.0.0/16"   # fake: nothing may connect to these addresses
POD_CIDR = "10.244.0.0/16"      # fake (kwok hands them out)
CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
PROCESSES = [*CONTROL_PLANE, "kuberay", "dask-operator"]
RAY_CRDS = ["rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io"]
DASK_CRDS = ["daskclusters.kubernetes.dask.org", "daskworkergroups.kubernetes.dask.org",
             "daskjobs.kubernetes.dask.org", "daskautoscalers.kubernetes.dask.org"]

# Fake nodes: (name, extra labels, allocatable extras, taints)
NODES = [
    ("kwok-cpu-0", {}, {}, []),
    ("kwok-cpu-1", {}, {}, []),
    ("kwok-gpu-0", {"cloud.google.com/gke-accelerator": "nvidia-l4"}, {"nvidia.com/gpu": "8"},
     [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]),
]


class HarnessError(RuntimeError):
    pass


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (bind to port 0 and let the kernel choose)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_tools_env(tools_env: str | os.PathLike | dict | None = None) -> dict[str, str]:
    """RAYDASK_* paths: from a dict, an env.sh path, or $RAYDASK_TOOLS_DIR/env.sh; os.environ wins."""
    if isinstance(tools_env, dict):
        env = dict(tools_env)
    else:
        path = Path(tools_env) if tools_env else Path(
            os.environ.get("RAYDASK_TOOLS_DIR", Path.home() / ".cache/raydask-tools")) / "env.sh"
        env = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.startswith("export ") and "=" in line:
                    k, v = line[len("export "):].split("=", 1)
                    env[k] = shlex.split(v)[0] if v else ""
    env.update({k: v for k, v in os.environ.items() if k.startswith("RAYDASK_")})
    return env


def wait_until(fn: Callable[[], Any], timeout: float, what: str, interval: float = 0.5,
               check: Callable[[], None] | None = None) -> Any:
    """Poll fn until it returns a truthy value; `check` may raise early (e.g. process died)."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        if check:
            check()
        try:
            val = fn()
            if val:
                return val
        except Exception as exc:
            last_exc = exc
        if time.monotonic() >= deadline:
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}"
                               + (f" (last error: {last_exc})" if last_exc else ""))
        time.sleep(interval)


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has exited


def _pid_starttime(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot): with the PID, identifies it even if the PID is reused."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class ControlPlane:
    """etcd, the API server, controller-manager and scheduler on 127.0.0.1, kwok's fake nodes.

    The class attributes and the small hooks below (``wrap``, ``urlopen``, ``_apiserver_flags``,
    ``_start_nodes``) are what e2e/node.py's real node overrides to run the same control plane
    inside a network namespace."""

    PROCESSES: list[str] = PROCESSES            # every process it may start (stopped in reverse by down)
    BIND_ADDRESS = "127.0.0.1"                  # the API server's --bind-address
    ADVERTISE_ADDRESS = "127.0.0.1"             # its --advertise-address
    SANS = ("DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:10.96.0.1")

    def __init__(self, state_dir: str | os.PathLike = DEFAULT_STATE,
                 tools_env: str | os.PathLike | dict | None = None,
                 log: Callable[[str], None] | None = None):
        self.dir = Path(state_dir).resolve()
        self.tools = load_tools_env(tools_env)
        self.log = log or (lambda msg: print(f"[cluster] {msg}", file=sys.stderr, flush=True))
        self._procs: dict[str, subprocess.Popen[bytes]] = {}  # processes this Python object started
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ paths/state
    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def pki(self) -> Path:
        return self.dir / "pki"

    def _state(self) -> dict:
        p = self.dir / "state.json"
        return json.loads(p.read_text()) if p.exists() else {}

    def _save_state(self, **kw: Any) -> None:
        with self._lock:  # start_kuberay/start_dask may run in threads at once
            st = self._state()
            st.update(kw)
            tmp = self.dir / "state.json.tmp"
            tmp.write_text(json.dumps(st, indent=1))
            tmp.replace(self.dir / "state.json")

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self._state()['ports']['apiserver']}"

    def tool(self, key: str) -> str:
        path = self.tools.get(key)
        if not path or not os.access(path, os.X_OK):
            raise HarnessError(f"{key} not found ({path!r}): run e2e/toolchain.sh first")
        return path

    def log_path(self, name: str) -> Path:
        return self.dir / "logs" / f"{name}.log"

    def log_tail(self, name: str, lines: int = 40) -> str:
        p = self.log_path(name)
        if not p.exists():
            return f"(no log {p})"
        return "\n".join(p.read_text(errors="replace").splitlines()[-lines:])

    # -------------------------------------------------------------- processes
    def _pidfile(self, name: str) -> Path:
        return self.dir / "run" / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        """PID of the live process we started as `name` (PID + start time must match the pid file)."""
        pf = self._pidfile(name)
        if not pf.exists():
            return None
        rec = json.loads(pf.read_text())
        pid = int(rec["pid"])
        if not _pid_alive(pid) or _pid_starttime(pid) != rec.get("start"):
            return None  # exited (or the PID was reused by something else: never touch it)
        return pid

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        if self.pid(name):
            raise HarnessError(f"{name} already running (pid {self.pid(name)})")
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        self._pidfile(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as logf:
            logf.write(f"\n==== {time.strftime('%F %T')} {shlex.join(argv)}\n".encode())
            logf.flush()
            # own session: survives the CLI that started it, and a Ctrl-C in the terminal
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    cwd=self.dir, env={**os.environ, **(env or {})}, start_new_session=True)
        self._procs[name] = proc
        self._pidfile(name).write_text(json.dumps({"pid": proc.pid, "start": _pid_starttime(proc.pid), "argv": argv}))
        self.log(f"started {name} (pid {proc.pid}), log {self.log_path(name)}")
        return proc.pid

    def _alive_check(self, name: str) -> Callable[[], None]:
        def check() -> None:
            if not self.pid(name):
                raise HarnessError(f"{name} exited; last log lines:\n{self.log_tail(name)}")
        return check

    def _stop(self, name: str, timeout: float = 15) -> None:
        """SIGTERM the recorded PID, wait (bounded), then SIGKILL. Only ever our own PID."""
        pid = self.pid(name)

        def gone() -> bool:
            if name in self._procs:
                self._procs[name].poll()  # reap it if it is our child
            return pid is None or not _pid_alive(pid)
        if pid:
            self.log(f"stopping {name} (pid {pid})")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            try:
                wait_until(gone, timeout, f"{name} to exit", 0.1)
            except HarnessError:
                self.log(f"{name} ignored SIGTERM for {timeout:.0f}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                wait_until(gone, 10, f"{name} to die after SIGKILL", 0.1)
        self._procs.pop(name, None)
        self._pidfile(name).unlink(missing_ok=True)

    # ------------------------------------------------------------------- PKI
    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], check=True, cwd=self.pki, capture_output=True, timeout=60)

    def _make_pki(self) -> None:
        self.pki.mkdir(parents=True)
        o = self._openssl
        o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
          "-days", "3650", "-subj", "/CN=raydask-e2e-ca")

        def leaf(name: str, subj: str, ext: str) -> None:
            (self.pki / f"{name}.ext").write_text(ext)
            o("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subj)
            o("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-out", f"{name}.crt", "-days", "3650", "-extfile", f"{name}.ext")

        sans = ",".join(self.SANS)
        leaf("serving", "/CN=kube-apiserver",
             f"basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
             f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}\n")
        leaf("admin", "/O=system:masters/CN=kubernetes-admin",
             "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n")
        # service-account token signing key (private) and its public half for verification
        o("genrsa", "-out", "sa.key", "2048")
        o("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")

    def _write_kubeconfig(self, port: int) -> None:
        b64 = lambda f: base64.b64encode((self.pki / f).read_bytes()).decode()  # noqa: E731
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "raydask-e2e",
            "clusters": [{"name": "raydask-e2e", "cluster": {
                "server": f"https://127.0.0.1:{port}", "certificate-authority-data": b64("ca.crt")}}],
            "users": [{"name": "admin", "user": {
                "client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")}}],
            "contexts": [{"name": "raydask-e2e", "context": {"cluster": "raydask-e2e", "user": "admin"}}],
        }
        self.kubeconfig.write_text(json.dumps(cfg, indent=1))  # JSON is valid YAML
        self.kubeconfig.chmod(0o600)

    # ------------------------------------------------------------ API access
    def api(self, method: str, path: str, body: Any = None, timeout: float = 10,
            content_type: str = "application/json") -> tuple[int, Any]:
        """Minimal API-server client (admin cert). Returns (status, decoded JSON or text)."""
        if self._ssl is None:
            ctx = ssl.create_default_context(cafile=str(self.pki / "ca.crt"))
            ctx.load_cert_chain(str(self.pki / "admin.crt"), str(self.pki / "admin.key"))
            self._ssl = ctx
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": "application/json"})
        try:
            with self.urlopen(req, timeout, self._ssl) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 60) -> str:
        """Run the built kubectl against this cluster (never logs/exec/port-forward: fake pod IPs)."""
        r = subprocess.run(self.wrap([self.tool("RAYDASK_KUBECTL"), f"--kubeconfig={self.kubeconfig}", *args]),
                           input=input, capture_output=True, text=True, timeout=timeout)
        if r.returncode:
            raise HarnessError(f"kubectl {shlex.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def wait_crds_established(self, names: Iterable[str], timeout: float = 120) -> None:
        def established(n: str) -> bool:
            st, obj = self.api("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
            return st == 200 and any(c["type"] == "Established" and c["status"] == "True"
                                     for c in obj.get("status", {}).get("conditions", []))
        names = list(names)
        wait_until(lambda: all(established(n) for n in names), timeout, f"CRDs {names} Established", 1)

    # -------------------------------------------------------------------- up
    def up(self, timeout: float = 180) -> Path:
        """Start a fresh control plane in the state dir (processes left there by an earlier run,
        e.g. a killed pytest, are stopped first). On failure everything started is stopped again
        (logs stay) and HarnessError is raised."""
        if any(self.pid(n) for n in self.PROCESSES):
            self.log(f"processes of an earlier run in {self.dir}: stopping them")
            self.down()
        try:
            return self._up(timeout)
        except BaseException:
            self.down()
            raise

    def __enter__(self) -> ControlPlane:
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def _up(self, timeout: float) -> Path:
        t0 = time.monotonic()
        tools = {k: self.tool(k) for k in ("RAYDASK_ETCD", "RAYDASK_KUBE_APISERVER",
                                           "RAYDASK_KUBE_CONTROLLER_MANAGER", "RAYDASK_KUBE_SCHEDULER",
                                           "RAYDASK_KUBECTL")}
        if self.dir.exists() and any(self.dir.iterdir()):
            if not (self.dir / "state.json").exists():  # never wipe a directory that is not ours
                raise HarnessError(f"{self.dir} is not empty and has no state.json: choose another --state-dir")
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._make_pki()
        self._ssl = None  # new CA: drop a client context of an earlier up()
        ports = {k: free_port() for k in ("etcd", "etcd_peer", "apiserver", "kcm", "scheduler")}
        self._save_state(ports=ports)
        self._write_kubeconfig(ports["apiserver"])
        self._prepare()
        kc, pki = str(self.kubeconfig), self.pki

        etcd_url, peer_url = f"http://127.0.0.1:{ports['etcd']}", f"http://127.0.0.1:{ports['etcd_peer']}"
        self._start("etcd", [
            tools["RAYDASK_ETCD"], "--name=e2e", f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls={etcd_url}", f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}", f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=e2e={peer_url}", "--unsafe-no-fsync", "--log-level=warn"])

        def etcd_healthy() -> bool:
            with self.urlopen(f"{etcd_url}/health", 2) as r:
                return json.loads(r.read()).get("health") == "true"
        wait_until(etcd_healthy, timeout, "etcd /health", 0.2, check=self._alive_check("etcd"))
        self._start("kube-apiserver", [
            tools["RAYDASK_KUBE_APISERVER"], f"--etcd-servers={etcd_url}",
            f"--bind-address={self.BIND_ADDRESS}", f"--advertise-address={self.ADVERTISE_ADDRESS}",
            f"--secure-port={ports['apiserver']}",
            f"--tls-cert-file={pki / 'serving.crt'}", f"--tls-private-key-file={pki / 'serving.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}", f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--authorization-mode=Node,RBAC",
            "--allow-privileged=true", *self._apiserver_flags(),
            # request-header CA: without it the controller-manager and scheduler log errors about
            # the extension-apiserver-authentication ConfigMap (no aggregated APIs are used)
            f"--requestheader-client-ca-file={pki / 'ca.crt'}", "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--cert-dir={self.dir / 'apiserver-certs'}"])
        wait_until(lambda: self.api("GET", "/readyz", timeout=3)[0] == 200, timeout, "kube-apiserver /readyz",
                   check=self._alive_check("kube-apiserver"))
        self.log(f"kube-apiserver ready at {self.server} after {time.monotonic() - t0:.1f}s")

        common = [f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
                  "--leader-elect=false", "--bind-address=127.0.0.1",
                  f"--tls-cert-file={pki / 'serving.crt'}", f"--tls-private-key-file={pki / 'serving.key'}"]
        self._start("kube-controller-manager", [
            tools["RAYDASK_KUBE_CONTROLLER_MANAGER"], *common, f"--secure-port={ports['kcm']}",
            f"--service-account-private-key-file={pki / 'sa.key'}", f"--root-ca-file={pki / 'ca.crt'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}"])
        self._start("kube-scheduler", [tools["RAYDASK_KUBE_SCHEDULER"], *common, f"--secure-port={ports['scheduler']}"])
        self._start_nodes(timeout)
        wait_until(lambda: self.api("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200,
                   timeout, "ServiceAccount default/default", 1, check=self._alive_check("kube-controller-manager"))
        self._alive_check("kube-scheduler")()
        bad = self.loopback_violations()
        if bad:
            raise HarnessError(f"non-loopback listeners: {bad}")
        self.log(f"cluster up in {time.monotonic() - t0:.1f}s; KUBECONFIG={self.kubeconfig}")
        return self.kubeconfig

    # ------------------------------------------------------------- hooks
    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that runs ``argv`` where this cluster lives (here: as it is)."""
        return argv

    def urlopen(self, request: str | urllib.request.Request, timeout: float,
                context: ssl.SSLContext | None = None) -> Any:
        """urllib's urlopen, from where this cluster's addresses are reachable (here: this process)."""
        return urllib.request.urlopen(request, context=context, timeout=timeout)

    def _prepare(self) -> None:
        """Called once the state dir, PKI and kubeconfig exist, before the first process starts (here: nothing)."""

    def _apiserver_flags(self) -> list[str]:
        """Extra kube-apiserver flags: no endpoints for the ``kubernetes`` Service (nothing may dial it)."""
        return ["--endpoint-reconciler-type=none"]

    def _start_nodes(self, timeout: float) -> None:
        """kwok and the fake nodes, Ready."""
        kwok = self.tool("RAYDASK_KWOK")
        stages = Path(self.tools.get("RAYDASK_KWOK_STAGES") or Path(kwok).parent / "stages")
        # kwok: no --server-address/--node-port, so it serves nothing (no kubelet API, no metrics).
        # HOME is isolated so ~/.kwok/kwok.yaml is never read.
        (self.dir / "kwok-home").mkdir()
        self._start("kwok", [
            kwok, f"--kubeconfig={self.kubeconfig}", "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake", "--node-ip=127.0.0.1",
            f"--cidr={POD_CIDR}", "--node-lease-duration-seconds=40",
            *[f"--config={p}" for p in sorted(stages.glob("*.yaml"))]],
            env={"HOME": str(self.dir / "kwok-home")})

        self._create_nodes()
        wait_until(self._nodes_ready, timeout, "nodes Ready", 1, check=self._alive_check("kwok"))

    def _create_nodes(self) -> None:
        self.add_fake_nodes(NODES)

    def add_fake_nodes(self, nodes: Iterable[tuple[str, dict, dict, list]]) -> None:
        """Create kwok's fake nodes: ``(name, extra labels, allocatable extras, taints)`` as in ``NODES``."""
        for name, labels, extra, taints in nodes:
            res = {"cpu": "64", "memory": "256Gi", "pods": "110", "ephemeral-storage": "1Ti", **extra}
            node = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name,
                             "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                             "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                        "kubernetes.io/arch": "amd64", "type": "kwok", **labels}},
                "spec": {"taints": taints} if taints else {},
                "status": {"allocatable": res, "capacity": res},
            }
            st, obj = self.api("POST", "/api/v1/nodes", node)
            if st not in (201, 409):
                raise HarnessError(f"creating node {name}: {st} {obj}")

    def _nodes_ready(self) -> bool:
        st, obj = self.api("GET", "/api/v1/nodes")
        if st != 200 or len(obj["items"]) < len(NODES):
            return False
        return all(any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
                   for n in obj["items"])

    # ------------------------------------------------------------- operators
    def start_kuberay(self, version: str | None = None, namespaces: Iterable[str] = (),
                      timeout: float = 120) -> int:
        """Run the KubeRay operator out of cluster, watching `namespaces` (empty: all).

        Waits (bounded) for the Ray CRDs to be Established first: the operator exits without them.
        Do not create RayJob/RayService in watched namespaces (their controllers call the Ray dashboard)."""
        versions = self.tools.get("RAYDASK_KUBERAY_VERSIONS", "").split()
        version = version or (versions[-1] if versions else "")
        binary = self.tool(f"RAYDASK_KUBERAY_{version.replace('.', '_')}")
        self.wait_crds_established(RAY_CRDS, timeout)
        metrics, probe = free_port(), free_port()
        argv = [binary, f"--kubeconfig={self.kubeconfig}", "--enable-leader-election=false",
                f"--metrics-addr=127.0.0.1:{metrics}", f"--health-probe-bind-address=127.0.0.1:{probe}",
                "--log-stdout-encoder=console"]
        if namespaces:
            argv.append(f"--watch-namespace={','.join(namespaces)}")
        self._start("kuberay", argv, env={"KUBECONFIG": str(self.kubeconfig), "ENABLE_WEBHOOKS": "false"})
        self._save_state(kuberay={"version": version, "namespaces": list(namespaces),
                                  "metrics": metrics, "probe": probe})

        def ready() -> bool:
            with self.urlopen(f"http://127.0.0.1:{probe}/readyz", 2) as r:
                return r.status == 200
        wait_until(ready, timeout, "KubeRay operator /readyz", check=self._alive_check("kuberay"))
        self.log(f"KubeRay operator {version} ready (namespaces: {','.join(namespaces) or 'all'})")
        return self.pid("kuberay") or 0

    def stop_kuberay(self) -> None:
        self._stop("kuberay")

    def kopf_path(self, kopf: str | None = None) -> str:
        path = kopf or os.environ.get("RAYDASK_KOPF") or str(REPO / ".venv/bin/kopf")
        if not os.access(path, os.X_OK):
            raise HarnessError(f"kopf not found at {path} (set RAYDASK_KOPF or pass --kopf)")
        return path

    def start_dask(self, namespaces: Iterable[str] = (), kopf: str | None = None, timeout: float = 120) -> int:
        """Run the Dask operator (kopf --standalone: no peering; liveness endpoint on 127.0.0.1 only).

        Do not use DaskAutoscaler, worker scale-down or spec.idleTimeout in watched namespaces:
        those handlers call the scheduler's Service (DNS, then a port-forward)."""
        namespaces = list(namespaces)
        self.wait_crds_established(DASK_CRDS[:2], timeout)
        argv = [self.kopf_path(kopf), "run", "-m", "dask_kubernetes.operator.controller", "--standalone"]
        argv += [f"--namespace={ns}" for ns in namespaces] or ["--all-namespaces"]
        # kopf's liveness endpoint on a loopback port: our readiness signal (it answers once the
        # operator has started and run its startup/login activities)
        probe = free_port()
        argv.append(f"--liveness=http://127.0.0.1:{probe}/healthz")
        self._start("dask-operator", argv, env={"KUBECONFIG": str(self.kubeconfig), "PYTHONUNBUFFERED": "1"})
        self._save_state(dask={"namespaces": namespaces, "liveness": probe})

        def healthy() -> bool:
            with self.urlopen(f"http://127.0.0.1:{probe}/healthz", 2) as r:
                return r.status == 200
        wait_until(healthy, timeout, "Dask operator /healthz", check=self._alive_check("dask-operator"))
        self.log(f"Dask operator running (namespaces: {','.join(namespaces) or 'all'})")
        return self.pid("dask-operator") or 0

    def stop_dask(self) -> None:
        self._stop("dask-operator")

    def wait_dask_cluster_running(self, namespace: str, name: str, timeout: float = 120) -> None:
        """Wait (bounded) for DaskCluster status.phase == Running.

        dask-kubernetes 2026.3.0 races (upstream issue #968, fixed after it by PR #977): the
        scheduler-Service handler may set Running *before* the create handler finishes and writes
        Pending, and a ClusterIP Service's status never changes again. If the cluster sits in
        Pending with its Service present, touch the Service's status (a harmless condition) so
        the operator's handler runs once more. Touches only the API server."""
        svc = f"/api/v1/namespaces/{namespace}/services/{name}-scheduler"
        nudged_at = [time.monotonic()]

        def running() -> bool:
            st, obj = self.api("GET", f"/apis/kubernetes.dask.org/v1/namespaces/{namespace}/daskclusters/{name}")
            phase = obj.get("status", {}).get("phase") if st == 200 else None
            if phase == "Running":
                return True
            if phase == "Pending" and time.monotonic() - nudged_at[0] > 5 and self.api("GET", svc)[0] == 200:
                cond = {"type": "raydask.e2e/Nudge", "status": "True", "reason": "E2E", "message": "re-trigger",
                        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                self.api("PATCH", svc + "/status", {"status": {"conditions": [cond]}},
                         content_type="application/merge-patch+json")
                nudged_at[0] = time.monotonic()
                self.log(f"DaskCluster {namespace}/{name} Pending: touched its scheduler Service status")
            return False
        wait_until(running, timeout, f"DaskCluster {namespace}/{name} Running", 1,
                   check=self._alive_check("dask-operator"))

    # ------------------------------------------------------------ down/status
    def down(self) -> None:
        for name in reversed(self.PROCESSES):
            self._stop(name)
        self.log(f"down; logs kept in {self.dir / 'logs'}")

    def status(self) -> dict[str, Any]:
        names = self.PROCESSES
        out: dict[str, Any] = {"state_dir": str(self.dir), "kubeconfig": str(self.kubeconfig),
                               "processes": {n: self.pid(n) for n in names}}
        if self.pid("kube-apiserver"):
            try:
                out["readyz"] = self.api("GET", "/readyz", timeout=3)[0]
                _, nodes = self.api("GET", "/api/v1/nodes")
                out["nodes"] = {n["metadata"]["name"]: next((c["status"] for c in n["status"].get("conditions", [])
                                                            if c["type"] == "Ready"), "?") for n in nodes["items"]}
                out["network_risks"] = self.network_risks()
            except Exception as exc:
                out["readyz"] = f"error: {exc}"
        out["non_loopback_listeners"] = self.loopback_violations()
        return out

    def network_risks(self) -> list[str]:
        """Objects that make the kube-apiserver itself call a (fake) Service/pod IP: admission
        webhooks, aggregated APIServices and CRD conversion webhooks backed by a Service.
        A test stack must not create them (or must point them nowhere reachable, e.g. a URL on 127.0.0.1)."""
        risks = []
        for kind in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
            st, obj = self.api("GET", f"/apis/admissionregistration.k8s.io/v1/{kind}")
            for item in obj.get("items", []) if st == 200 else []:
                for wh in item.get("webhooks", []):
                    if "service" in wh.get("clientConfig", {}):
                        risks.append(f"{kind}/{item['metadata']['name']} webhook {wh['name']} -> Service")
        st, obj = self.api("GET", "/apis/apiregistration.k8s.io/v1/apiservices")
        for item in obj.get("items", []) if st == 200 else []:
            if item.get("spec", {}).get("service"):
                risks.append(f"apiservices/{item['metadata']['name']} -> Service")
        st, obj = self.api("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        for item in obj.get("items", []) if st == 200 else []:
            conv = item.get("spec", {}).get("conversion", {})
            if conv.get("strategy") == "Webhook" and "service" in conv.get("webhook", {}).get("clientConfig", {}):
                risks.append(f"customresourcedefinitions/{item['metadata']['name']} conversion webhook -> Service")
        return risks

    def loopback_violations(self) -> list[str]:
        """Sockets of our processes that are not loopback-only (should always be empty):
        TCP listeners or unconnected UDP sockets bound to a non-loopback address, and TCP
        connections to a non-loopback peer (e.g. a fake pod/Service IP: SYN_SENT shows here).
        A snapshot: short-lived connections between two calls are not seen.
        Reads /proc/<pid>/fd socket inodes and /proc/net/{tcp,tcp6,udp,udp6}."""
        inodes: dict[str, str] = {}
        for name in self.PROCESSES:
            pid = self.pid(name)
            if not pid:
                continue
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        link = os.readlink(fd)
                    except OSError:
                        continue
                    if link.startswith("socket:["):
                        inodes[link[8:-1]] = name
            except OSError:
                continue
        bad = []
        for proto in ("tcp", "tcp6", "udp", "udp6"):
            try:
                rows = Path(f"/proc/net/{proto}").read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                f = row.split()
                local, remote, state, inode = f[1], f[2], f[3], f[9]
                if inode not in inodes:
                    continue
                if proto.startswith("tcp") and state != "0A":  # a connection (0A = LISTEN)
                    if not _is_loopback(remote.split(":")[0]):
                        bad.append(f"{inodes[inode]} {proto} {local} -> {remote} state {state}")
                elif (state == "0A" or state == "07") and not _is_loopback(local.split(":")[0]):
                    bad.append(f"{inodes[inode]} {proto} bound {local}")
        return bad


def _is_loopback(hexaddr: str) -> bool:
    """Address from /proc/net/*: IPv4 is one little-endian word, IPv6 four of them."""
    raw = bytes.fromhex(hexaddr)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


# ------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status", "env", "start-kuberay", "stop-kuberay",
                                        "start-dask", "stop-dask", "logs"])
    ap.add_argument("name", nargs="?", help="for logs: process name")
    ap.add_argument("--state-dir", default=DEFAULT_STATE)
    ap.add_argument("--tools-env", help="env.sh written by toolchain.sh (default: $RAYDASK_TOOLS_DIR/env.sh)")
    ap.add_argument("--version", help="KubeRay operator version (default: newest built)")
    ap.add_argument("--watch-namespace", default="", help="KubeRay: comma-separated namespaces (default: all)")
    ap.add_argument("--namespace", action="append", default=[], help="Dask operator: repeatable (default: all)")
    ap.add_argument("--kopf", help="kopf executable (default: $RAYDASK_KOPF or <repo>/.venv/bin/kopf)")
    ap.add_argument("--timeout", type=float, default=180)
    a = ap.parse_args(argv)
    cp = ControlPlane(a.state_dir, a.tools_env)
    try:
        if a.command == "up":
            print(cp.up(a.timeout))
        elif a.command == "down":
            cp.down()
        elif a.command == "status":
            print(json.dumps(cp.status(), indent=1))
        elif a.command == "env":
            print(f"export KUBECONFIG={shlex.quote(str(cp.kubeconfig))}")
            kubectl = cp.tools.get("RAYDASK_KUBECTL")
            if kubectl:
                print(f"alias kubectl={shlex.quote(kubectl)}")
        elif a.command == "start-kuberay":
            cp.start_kuberay(a.version, [n for n in a.watch_namespace.split(",") if n], a.timeout)
        elif a.command == "stop-kuberay":
            cp.stop_kuberay()
        elif a.command == "start-dask":
            cp.start_dask(a.namespace, a.kopf, a.timeout)
        elif a.command == "stop-dask":
            cp.stop_dask()
        elif a.command == "logs":
            print(cp.log_tail(a.name or "kube-apiserver", 200))
    except HarnessError as exc:
        print(f"cluster: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
