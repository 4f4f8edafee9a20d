"""Run the built images under runc the way raydask's pods run them, without Kubernetes.

    check.py [ray|dask|redis|pause|busybox ...]     (default: all; reads images.json, see build.py)

Each container gets what the kubelet and containerd would give raydask's pod: the containers and pod securityContext
raydask renders (its own builders make the Ray and Dask pod templates) -- uid/gid, fsGroup as a supplementary group,
read-only root, every capability dropped, no new privileges --, its emptyDirs as tmpfs (mode 0777), the CPU and memory
limits as cgroup limits, ``command``/``args`` over the image's Entrypoint/Cmd, ``$(VAR)`` expansion, and HOME from the
env, else the image's passwd, else ``/``. KubeRay's part is emulated as KubeRay 1.5/1.7 writes it: ``/bin/bash -c --
"ulimit -n 65536; ray start ..."`` from rayStartParams and limits, its env, and its probes (the exec wget probe and the
HTTP GET of /api/healthz). Not emulated: seccomp (RuntimeDefault), AppArmor, the service-account token.

Every pod lives in a network namespace this script creates (10.251.0.N/24 on a bridge in a hub namespace, default
route to the bridge, which has no route out); all processes are stopped by PID (SIGTERM, bounded wait, then
``runc delete --force``) and the namespaces deleted. Prints one line per check and ``N passed, N failed``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE = Path(os.environ.get("RAYDASK_TOOLS_DIR") or Path.home() / ".cache" / "raydask-tools") / "images"
SUBNET = "10.251.0"
GATEWAY = f"{SUBNET}.254"
RESULTS: list[tuple[str, bool, str]] = []
FINDINGS: list[tuple[str, bool, str]] = []
NOFILE = resource.getrlimit(resource.RLIMIT_NOFILE)
"""Containers inherit this process's open-files limit, as containerd 1.6's CRI containers inherit containerd's."""


def log(msg: str) -> None:
    print(f"[check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(*cmd: str, check: bool = True, timeout: float = 120, **kw: Any) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode:
        raise RuntimeError(f"{' '.join(cmd[:8])} exited {proc.returncode}: {(proc.stdout + proc.stderr)[-2000:]}")
    return proc


def record(name: str, ok: bool, detail: str = "") -> bool:
    RESULTS.append((name, ok, detail))
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def finding(name: str, holds: bool, detail: str = "") -> None:
    """A raydask default a real process contradicts (WARN): reported, not an image failure."""
    FINDINGS.append((name, holds, detail))
    print(f"{'OK  ' if holds else 'WARN'} raydask default: {name}" + (f": {detail}" if detail else ""), flush=True)


def wait_for(what: str, probe: Callable[[], bool], timeout: float, every: float = 2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if probe():
                return True
        time.sleep(every)
    log(f"timed out after {timeout:.0f}s waiting for {what}")
    return False


# ------------------------------------------------------------------------------------------------- the network
class Network:
    """A hub namespace with a bridge (the gateway, no route out) and one namespace per pod behind it."""

    def __init__(self, tag: str):
        self.prefix = f"rdimg{os.getpid()}{tag}"
        self.hub = f"{self.prefix}-hub"
        self.pods: list[str] = []
        sh("ip", "netns", "add", self.hub)
        sh("ip", "-n", self.hub, "link", "set", "lo", "up")
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "addr", "add", f"{GATEWAY}/24", "dev", "br0")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")

    def pod(self) -> tuple[str, str]:
        """A new pod namespace: (its /var/run/netns path, its IP)."""
        n = len(self.pods) + 1
        ns, ip = f"{self.prefix}-p{n}", f"{SUBNET}.{n}"
        sh("ip", "netns", "add", ns)
        self.pods.append(ns)
        sh("ip", "-n", self.hub, "link", "add", f"veth{n}", "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.hub, "link", "set", f"veth{n}", "master", "br0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", GATEWAY)
        return f"/var/run/netns/{ns}", ip

    def close(self) -> None:
        for ns in [*self.pods, self.hub]:
            sh("ip", "netns", "del", ns, check=False)


# --------------------------------------------------------------------------------------------------- the images
class Image:
    """An image of images.json unpacked once (read-only for every container that uses it)."""

    def __init__(self, ref: str, work: Path):
        index = json.loads((CACHE / "images.json").read_text())
        archive = index["images"][ref]
        self.ref, self.dir = ref, work / re.sub(r"[^a-z0-9]+", "-", ref)
        layout = self.dir / "oci"
        layout.mkdir(parents=True)
        sh("tar", "-C", str(layout), "-xf", archive, timeout=600)
        tag = index["names"][ref].rsplit(":", 1)[1]
        sh("umoci", "unpack", "--image", f"{layout}:{tag}", str(self.dir / "bundle"), timeout=900)
        shutil.rmtree(layout)
        self.rootfs = self.dir / "bundle" / "rootfs"
        self.spec = json.loads((self.dir / "bundle" / "config.json").read_text())
        self.config = self._image_config(archive, tag)

    @staticmethod
    def _image_config(archive: str, tag: str) -> dict[str, Any]:
        def member(name: str) -> Any:
            return json.loads(sh("tar", "-xOf", archive, name).stdout)

        index = member("index.json")
        [desc] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag][:1]
        manifest = member("blobs/sha256/" + desc["digest"].split(":")[1])
        return member("blobs/sha256/" + manifest["config"]["digest"].split(":")[1]).get("config", {})

    def home_of(self, uid: int) -> str | None:
        passwd = self.rootfs / "etc/passwd"
        for line in passwd.read_text().splitlines() if passwd.exists() else []:
            parts = line.split(":")
            if len(parts) > 5 and parts[2] == str(uid):
                return parts[5]
        return None


def quantity(value: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "m": 1e-3}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


# ----------------------------------------------------------------------------------------------- the containers
class Runtime:
    """runc with its own state directory; every container it starts is stopped by PID in close()."""

    def __init__(self, work: Path, state: Path | None = None):
        self.work = work
        self.root = state or Path(tempfile.mkdtemp(prefix="rdimg-runc-", dir="/run"))
        self.running: dict[str, int] = {}
        self.hostfiles = work / "hostfiles"
        self.hostfiles.mkdir()

    def spec(self, image: Image, pod: dict[str, Any], container: dict[str, Any], netns: str, ip: str, name: str,
             extra_env: dict[str, str] | None = None, binds: dict[str, str] | None = None) -> dict[str, Any]:
        """The runc config the kubelet + containerd would produce for this container of this pod (see module doc)."""
        spec = copy.deepcopy(image.spec)
        cfg = image.config
        psc, csc = pod.get("securityContext", {}), container.get("securityContext", {})
        env = {k: v for k, v in (e.split("=", 1) for e in cfg.get("Env") or [])}
        env.update(HOSTNAME=name, **(extra_env or {}))
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), item["value"])
        uid = csc.get("runAsUser", psc.get("runAsUser"))
        gid = csc.get("runAsGroup", psc.get("runAsGroup"))
        if uid is None:  # the image's user
            user = (cfg.get("User") or "0").split(":")
            uid, gid = int(user[0]), int(user[1]) if len(user) > 1 else gid
        gid = 0 if gid is None else gid
        if "HOME" not in env:
            env["HOME"] = image.home_of(uid) or "/"
        if "command" in container:
            args = list(container["command"]) + list(container.get("args", []))
        else:
            args = list(cfg.get("Entrypoint") or []) + list(container.get("args", cfg.get("Cmd") or []))
        args = [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in args]
        groups = [g for g in (psc.get("fsGroup"), *psc.get("supplementalGroups", [])) if g is not None]
        caps = [f"CAP_{c}" for c in csc.get("capabilities", {}).get("add", [])]
        if "ALL" not in csc.get("capabilities", {}).get("drop", []):
            caps = sorted(set(caps) | set(spec["process"]["capabilities"]["bounding"]))
        spec["process"].update(
            terminal=False, args=args, cwd=container.get("workingDir") or cfg.get("WorkingDir") or "/",
            env=[f"{k}={v}" for k, v in env.items()],
            user={"uid": uid, "gid": gid, **({"additionalGids": groups} if groups else {})},
            capabilities={k: caps for k in ("bounding", "effective", "permitted", "inheritable", "ambient")},
            noNewPrivileges=csc.get("allowPrivilegeEscalation") is False,
            rlimits=[{"type": "RLIMIT_NOFILE", "hard": NOFILE[1], "soft": NOFILE[0]}],
        )
        if (uid == 0) and (csc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
            raise RuntimeError(f"{name}: runAsNonRoot with uid 0 (the kubelet refuses to start it)")
        spec["root"] = {"path": str(image.rootfs), "readonly": bool(csc.get("readOnlyRootFilesystem"))}
        spec["hostname"] = name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        mounts = [m for m in spec["mounts"] if m["destination"] not in {vm["mountPath"] for vm in container.get("volumeMounts", [])}]
        hosts = self.hostfiles / f"{name}.hosts"
        hosts.write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n{ip}\t{name}\n")
        resolv = self.hostfiles / "resolv.conf"
        resolv.write_text(f"nameserver {GATEWAY}\noptions timeout:1 attempts:1\n")
        for path, src in (("/etc/hosts", hosts), ("/etc/resolv.conf", resolv), ("/etc/hostname", None)):
            if src is None:
                src = self.hostfiles / f"{name}.hostname"
                src.write_text(name + "\n")
            mounts.append({"destination": path, "type": "bind", "source": str(src), "options": ["rbind", "ro"]})
        for vm in sorted(container.get("volumeMounts", []), key=lambda m: m["mountPath"]):
            mounts.append(self.empty_dir(name, volumes[vm["name"]], vm["mountPath"], psc.get("fsGroup")))
        for src, dst in (binds or {}).items():
            mounts.append({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "ro"]})
        spec["mounts"] = mounts
        linux = spec["linux"]
        linux["namespaces"] = [n for n in linux["namespaces"] if n["type"] != "network"] + [{"type": "network", "path": netns}]
        linux.pop("uidMappings", None)
        linux.pop("gidMappings", None)
        limits = container.get("resources", {}).get("limits", {})
        resources: dict[str, Any] = {}
        if "memory" in limits:
            resources["memory"] = {"limit": int(quantity(limits["memory"]))}
        if "cpu" in limits:
            resources["cpu"] = {"quota": int(quantity(limits["cpu"]) * 100000), "period": 100000}
        linux["resources"] = resources
        linux["cgroupsPath"] = f"/rdimg-check/{name}"
        return spec

    def empty_dir(self, pod: str, volume: dict[str, Any], path: str, fs_group: int | None) -> dict[str, Any]:
        """The kubelet's emptyDir: a directory of the pod's, mode 0777 (with fsGroup: group fsGroup, setgid), bind-mounted;
        ``medium: Memory`` is a tmpfs of ``sizeLimit`` (runc mounts it; only at paths the image lacks, e.g. /dev/shm,
        since runc gives a tmpfs the mode of the directory it covers)."""
        if "emptyDir" not in volume:
            raise RuntimeError(f"{pod}: volume {volume['name']} is not an emptyDir")
        if volume["emptyDir"].get("medium") == "Memory":
            opts = ["nosuid", "nodev", "mode=777"]
            if size := volume["emptyDir"].get("sizeLimit"):
                opts.append(f"size={int(quantity(size))}")
            return {"destination": path, "type": "tmpfs", "source": "tmpfs", "options": opts}
        host = self.work / "volumes" / pod / volume["name"]
        if not host.exists():
            host.mkdir(parents=True)
            if fs_group is not None:
                os.chown(host, -1, fs_group)
            host.chmod(0o2777 if fs_group is not None else 0o777)
        return {"destination": path, "type": "bind", "source": str(host), "options": ["rbind", "rw"]}

    def start(self, name: str, spec: dict[str, Any]) -> int:
        bundle = self.work / "bundles" / name
        bundle.mkdir(parents=True)
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        logfile = open(self.work / f"{name}.log", "w")  # noqa: SIM115 -- runc keeps it as the container's stdout
        proc = subprocess.run(["runc", "--root", str(self.root), "run", "-d", "--bundle", str(bundle), "--pid-file",
                               str(bundle / "pid"), name], stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile,
                              timeout=120)
        logfile.close()
        if proc.returncode:
            raise RuntimeError(f"runc run {name} failed: {self.log(name)}")
        pid = int((bundle / "pid").read_text())
        self.running[name] = pid
        return pid

    def run(self, name: str, spec: dict[str, Any], timeout: float = 300) -> tuple[int, str]:
        """Run a container in the foreground until it exits (stopped by its PID after ``timeout``): (exit code, output)."""
        bundle = self.work / "bundles" / name
        bundle.mkdir(parents=True)
        (bundle / "config.json").write_text(json.dumps(spec, indent=1))
        with open(self.work / f"{name}.log", "w") as logfile:
            proc = subprocess.Popen(["runc", "--root", str(self.root), "run", "--bundle", str(bundle), "--pid-file",
                                     str(bundle / "pid"), name], stdin=subprocess.DEVNULL, stdout=logfile, stderr=logfile)
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                if (bundle / "pid").exists():
                    self.running[name] = int((bundle / "pid").read_text())
                self.stop(name, grace=5)
                code = proc.wait(timeout=30)
        sh("runc", "--root", str(self.root), "delete", "--force", name, check=False)
        return code, self.log(name)

    def exec(self, name: str, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return sh("runc", "--root", str(self.root), "exec", name, *cmd, check=False, timeout=timeout)

    def state(self, name: str) -> str:
        proc = sh("runc", "--root", str(self.root), "state", name, check=False)
        return json.loads(proc.stdout)["status"] if proc.returncode == 0 else "gone"

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, name: str, grace: float = 20) -> float:
        """SIGTERM to the container's PID, bounded wait, then runc delete --force. Seconds it took to stop."""
        pid = self.running.pop(name, None)
        t0 = time.monotonic()
        if pid and self.state(name) == "running":
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self.state(name) == "running":
                time.sleep(0.2)
        took = time.monotonic() - t0
        sh("runc", "--root", str(self.root), "delete", "--force", name, check=False)
        return took

    def close(self) -> None:
        for name in list(self.running):
            self.stop(name, grace=5)
        shutil.rmtree(self.root, ignore_errors=True)


def http_get(netns: str, url: str, timeout: float = 5) -> tuple[int, str]:
    """GET from inside a pod namespace, as the kubelet's HTTP probe would (the kubelet dials the pod IP)."""
    code = (
        "import sys, urllib.request\n"
        "try:\n"
        f"    r = urllib.request.urlopen({url!r}, timeout={timeout})\n"
        "    print(r.status); print(r.read().decode(errors='replace')[:2000])\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(e.code); print(e.read().decode(errors='replace')[:2000])\n"
    )
    proc = sh("ip", "netns", "exec", Path(netns).name, sys.executable, "-c", code, check=False, timeout=timeout + 10)
    lines = proc.stdout.splitlines()
    return (int(lines[0]), "\n".join(lines[1:])) if lines and lines[0].isdigit() else (0, proc.stderr[-500:])


# ------------------------------------------------------------------------------------------------------- Ray
def kuberay_start(params: dict[str, str], container: dict[str, Any], head: bool, head_ip: str) -> str:
    """KubeRay's generated command (common/pod.go: setMissingRayStartParams, generateRayStartCommand)."""
    params = dict(params)
    limits = container.get("resources", {}).get("limits", {})
    requests = container.get("resources", {}).get("requests", {})
    if "num-cpus" not in params and (cpu := limits.get("cpu") or requests.get("cpu")):
        params["num-cpus"] = str(int(quantity(cpu)))
    if "memory" not in params and "memory" in limits:
        params["memory"] = str(int(quantity(limits["memory"])))
    if head:
        params.setdefault("dashboard-host", "0.0.0.0")
    else:
        params.setdefault("address", f"{head_ip}:6379")
    params.setdefault("metrics-export-port", "8080")
    params["block"] = "true"
    params.setdefault("dashboard-agent-listen-port", "52365")
    flags = ""
    for key in sorted(params):
        value = params[key]
        if value.lower() in ("true", "false") and key not in ("log-color", "include-dashboard"):
            flags += f" --{key} " if value.lower() == "true" else ""
        else:
            flags += f" --{key}={value} "
    return f"ray start{' --head' if head else ''} {flags}"


def kuberay_pod(group: dict[str, Any], head: bool, head_ip: str, name: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(pod spec, ray container, KubeRay env) as KubeRay builds the pod from a raydask group template."""
    pod = copy.deepcopy(group["template"]["spec"])
    container = pod["containers"][0]
    start = kuberay_start(group["rayStartParams"], container, head, head_ip)
    container["command"] = ["/bin/bash", "-c", "--"]
    container["args"] = [f"ulimit -n 65536; {start}"]
    env = {"RAY_CLUSTER_NAME": "check", "RAY_CLOUD_INSTANCE_ID": name, "RAY_NODE_TYPE_NAME": "headgroup" if head else "cpu",
           "KUBERAY_GEN_RAY_START_CMD": start, "RAY_USAGE_STATS_KUBERAY_IN_USE": "1", "RAY_USAGE_STATS_ENABLED": "0",
           "RAY_DASHBOARD_ENABLE_K8S_DISK_USAGE": "1", "RAY_PORT": "6379"}
    env["RAY_ADDRESS"] = "127.0.0.1:6379" if head else f"{head_ip}:6379"
    if not head:
        env.update(FQ_RAY_IP=head_ip, RAY_IP=head_ip)
    return pod, container, env


PROBE_15 = ("wget --tries 1 -T 2 -q -O- http://localhost:52365/api/local_raylet_healthz | grep success"
            " && wget --tries 1 -T 10 -q -O- http://localhost:8265/api/gcs_healthz | grep success")
"""KubeRay 1.5's exec probe of a head (workers: the first half): bash, wget, grep in the image."""

RAY_CLIENT = r'''
import json, sys, time, urllib.request
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy as On
head = sys.argv[1]
for attempt in range(1, 4):  # Ray 2.60's client proxy sometimes fails to start the client's server (also outside images)
    try:
        ray.init(f"ray://{head}:10001")
        break
    except ConnectionAbortedError as exc:
        print(f"ray.init attempt {attempt}: {exc}".splitlines()[0], flush=True)
        ray.shutdown()
nodes = [n for n in ray.nodes() if n["Alive"]]
workers = sorted(n["NodeID"] for n in nodes if "node:__internal_head__" not in n["Resources"])
out = {"nodes": len(nodes), "workers": len(workers), "connect_attempts": attempt}
@ray.remote(num_cpus=1)
def make(n):
    return ray.get_runtime_context().get_node_id(), b"x" * n
@ray.remote(num_cpus=1)
def consume(pair):
    return pair[0], len(pair[1]), ray.get_runtime_context().get_node_id()
a = make.options(scheduling_strategy=On(workers[0], soft=False)).remote(50_000_000)
b = consume.options(scheduling_strategy=On(workers[1], soft=False)).remote(a)
made_on, size, used_on = ray.get(b, timeout=120)
out["object"] = {"made_on_worker": workers.index(made_on), "bytes": size, "used_on_worker": workers.index(used_on)}
out["sum"] = sum(ray.get([make.remote(1) for _ in range(20)], timeout=120) and [1] * 20)
from ray import serve
serve.start(http_options={"host": "0.0.0.0"})
@serve.deployment(num_replicas=2, ray_actor_options={"num_cpus": 0.1})
class Hello:
    def __call__(self, request):
        return "hello from serve"
serve.run(Hello.bind(), route_prefix="/hello")
out["serve"] = urllib.request.urlopen(f"http://{head}:8000/hello", timeout=30).read().decode()
print("RESULT " + json.dumps(out), flush=True)
'''


def check_ray(rt: Runtime, net: Network, work: Path, ref: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "components"))
    from raydask.builders.ray import ray_cluster_spec
    from raydask.k8s.security import RAY_UID
    from raydask.spec.ray import RayClusterSpec

    image = Image(ref, work)
    spec = RayClusterSpec.model_validate({
        "name": "check", "image": ref, "head": {"cpu": "1", "memory": "2Gi"},
        "workerGroups": [{"name": "cpu", "replicas": 2, "minReplicas": 2, "maxReplicas": 2, "cpu": "1", "memory": "2Gi"}]})
    cluster = ray_cluster_spec(spec)
    head_ns, head_ip = net.pod()
    pod, container, env = kuberay_pod(cluster["headGroupSpec"], True, head_ip, "check-head")
    rt.start("ray-head", rt.spec(image, pod, container, head_ns, head_ip, "check-head", env))
    raised = "ulimit" not in rt.log("ray-head")
    record(f"ray head: KubeRay's `ulimit -n 65536` (container's hard limit {NOFILE[1]})", raised or NOFILE[1] < 65536,
           "raised" if raised else f"not raised, Ray runs with {NOFILE[1]}: {rt.log('ray-head')[:200]}")
    ok = wait_for("the head's KubeRay 1.5 exec probe", lambda: rt.exec("ray-head", "bash", "-c", PROBE_15).returncode == 0, 240)
    record("ray head: KubeRay 1.5 exec probe (bash, wget, grep; raylet + GCS health)", ok, rt.log("ray-head")[-1500:] if not ok else "")
    code, body = http_get(head_ns, f"http://{head_ip}:52365/api/healthz")
    record("ray head: KubeRay 1.7 HTTP probe GET :52365/api/healthz", code == 200, f"{code} {body[:100]}")
    p = rt.exec("ray-head", "bash", "-c", "ray kuberay-autoscaler --help >/dev/null && sh -c 'openssl version'")
    record("ray head image: `ray kuberay-autoscaler` (the autoscaler sidecar) and sh + openssl (KubeRay's TLS init container)",
           p.returncode == 0, (p.stdout + p.stderr).strip()[-200:])
    workers = []
    for i in range(2):
        ns, ip = net.pod()
        name = f"check-worker-{i}"
        wpod, wcontainer, wenv = kuberay_pod(cluster["workerGroupSpecs"][0], False, head_ip, name)
        rt.start(f"ray-worker-{i}", rt.spec(image, wpod, wcontainer, ns, ip, name, wenv))
        workers.append((f"ray-worker-{i}", ns, ip))
    for cname, _, _ in workers:
        probe = PROBE_15.split(" && ")[0]
        ok = wait_for(f"{cname}'s exec probe", lambda c=cname, p=probe: rt.exec(c, "bash", "-c", p).returncode == 0, 240)
        record(f"{cname}: KubeRay exec probe (raylet health)", ok, rt.log(cname)[-1500:] if not ok else "")
    status = ""

    def three_nodes() -> bool:  # "Active:" / "Idle:" list "<count> <node type>" lines (autoscaler v2's format)
        nonlocal status
        status = rt.exec("ray-head", "ray", "status").stdout
        live = status.split("Active:", 1)[-1].split("Pending:", 1)[0]
        return sum(int(n) for n in re.findall(r"^\s*(\d+) \S+$", live, re.M)) == 3

    ok = wait_for("ray status to show 3 nodes", three_nodes, 120, every=5)
    record("ray status (in the head container): 3 live nodes (head + 2 workers)", ok, status[-800:])
    # the client: the Ray image as raydask's RayJob submitter pod runs it (restricted, read-only, HOME=/tmp)
    client_dir = work / "ray-client"
    client_dir.mkdir()
    (client_dir / "client.py").write_text(RAY_CLIENT)
    sub = submitter_pod(ref, cpu="1", memory="1Gi")
    cns, cip = net.pod()
    csub = {**sub["containers"][0], "command": ["python", "/check/client.py", head_ip]}
    code, out = rt.run("ray-client", rt.spec(image, sub, csub, cns, cip, "check-client", binds={str(client_dir): "/check"}),
                       timeout=600)
    m = re.search(r"^RESULT (.*)$", out, re.M)
    result = json.loads(m.group(1)) if m else {}
    record("ray client (ray://head:10001) from a submitter-like pod: 3 nodes, 2 workers", result.get("nodes") == 3 and
           result.get("workers") == 2, out[-2000:] if not m else json.dumps(result))
    obj = result.get("object", {})
    record("ray: a 50 MB object made on worker 0 is used by a task on worker 1", obj.get("bytes") == 50_000_000 and
           obj.get("made_on_worker") == 0 and obj.get("used_on_worker") == 1, json.dumps(obj))
    record("ray serve: a deployment answers through the head's :8000", result.get("serve") == "hello from serve",
           str(result.get("serve")))
    # Serve runs a proxy on each node with a replica: KubeRay's RayService worker readiness passes there only
    ready = [c for c, _, _ in workers
             if rt.exec(c, "bash", "-c", "wget --tries 1 -T 1 -q -O- http://localhost:8000/-/healthz | grep success").returncode == 0]
    record("ray serve: KubeRay's RayService worker readiness (wget :8000/-/healthz) passes on a worker with a replica",
           bool(ready), f"ready: {ready}")
    code, body = http_get(cns, f"http://{head_ip}:8265/api/version")
    record("ray dashboard: GET :8265/api/version", code == 200 and '"ray_version": "' in body.replace(" ", " "), body[:200])
    # KubeRay's K8sJobMode submitter: wait loop with python, then ray job submit (runs as the same restricted pod)
    submit = (f"until python -c \"import urllib.request; r=urllib.request.urlopen('http://{head_ip}:8265/api/gcs_healthz', "
              f"timeout=10); exit(0 if b'success' in r.read() else 1)\" >/dev/null 2>&1 ; do sleep 2 ; done ; "
              f"if ! ray job status --address http://{head_ip}:8265 rayjob-check >/dev/null 2>&1 ; then "
              f"ray job submit --address http://{head_ip}:8265 --no-wait --submission-id rayjob-check -- "
              f"python -c \"import ray; ray.init(); print('JOB', ray.cluster_resources()['CPU'])\" ; fi ; "
              f"ray job logs --address http://{head_ip}:8265 --follow rayjob-check")
    sub = submitter_pod(ref)  # raydask's defaults: 250m CPU, 512Mi
    jsub = {**sub["containers"][0], "command": ["/bin/bash", "-ce", "--"], "args": [submit]}
    cns2, cip2 = net.pod()
    code, out = rt.run("ray-submitter", rt.spec(image, sub, jsub, cns2, cip2, "check-submitter"), timeout=300)
    _, status = http_get(cns, f"http://{head_ip}:8265/api/jobs/rayjob-check")  # what KubeRay's RayJob controller reads
    record("ray job submit (KubeRay's K8sJobMode command) runs the entrypoint to SUCCEEDED", code == 0 and "JOB 3.0" in out and
           '"status": "SUCCEEDED"' in status, (out + status)[-1200:])
    p = rt.exec("ray-head", "python", "-c", "import getpass; print(getpass.getuser())")
    finding(f"uid {RAY_UID} without a passwd entry: getpass.getuser() (used by e.g. torch's compile cache) works",
            p.returncode == 0, (p.stdout + p.stderr).strip().splitlines()[-1][:200])
    p = rt.exec("ray-head", "bash", "-c", "touch ./probe-file")
    finding("the image's working directory (/home/ray) is writable", p.returncode == 0, p.stderr.strip()[:200])
    # Ray 2.60 drains a node for up to RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S (30 s) on SIGTERM; the kubelet SIGKILLs
    # after the pod's terminationGracePeriodSeconds (raydask leaves Kubernetes' 30 s)
    grace = pod.get("terminationGracePeriodSeconds", 30)
    for cname in [c for c, _, _ in workers] + ["ray-head"]:
        took = rt.stop(cname, grace=60)
        record(f"{cname}: stops on SIGTERM", took < 60, f"{took:.1f}s")
        finding(f"{cname} stops within the pod's grace period ({grace} s) after SIGTERM", took < grace,
                f"{took:.1f}s (Ray drains up to 30 s)")


def submitter_pod(image: str, **submitter: str) -> dict[str, Any]:
    """raydask's RayJob submitter pod template (``submitter`` settings over its defaults)."""
    from raydask.builders.ray_job import submitter_template
    from raydask.spec.ray_workloads import RayJobSpec

    job = RayJobSpec.model_validate({"name": "check", "entrypoint": "python -c 'pass'", "submitter": submitter,
                                     "cluster": {"image": image, "head": {"cpu": "1", "memory": "2Gi"}}})
    return submitter_template(job, "check")["spec"]


# ------------------------------------------------------------------------------------------------------ Dask
DASK_CLIENT = r'''
import json, sys, urllib.request
from distributed import Client
sched = sys.argv[1]
out = {}
with Client(f"tcp://{sched}:8786", timeout=60) as c:
    c.wait_for_workers(1, timeout=60)
    out["workers"] = len(c.scheduler_info()["workers"])
    out["sum"] = c.submit(sum, range(1000)).result(timeout=60)
    import dask.array as da
    out["array"] = float(da.ones((2000, 2000), chunks=500).sum().compute())
    for path in ("health", "api/v1/adaptive_target", "api/v1/check_idle"):
        with urllib.request.urlopen(f"http://{sched}:8787/{path}", timeout=10) as r:
            out[path] = r.read().decode()[:200]
    req = urllib.request.Request(f"http://{sched}:8787/api/v1/retire_workers", data=json.dumps({"n": 0}).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        out["retire_workers"] = r.status
print("RESULT " + json.dumps(out), flush=True)
'''


def check_dask(rt: Runtime, net: Network, work: Path, ref: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "components"))
    from raydask.builders import dask as builders
    from raydask.spec.dask import DaskClusterSpec

    image = Image(ref, work)
    spec = DaskClusterSpec.model_validate({"name": "check", "image": ref, "worker": {"replicas": 1, "cpu": "1", "memory": "1Gi"}})
    sched = builders.scheduler(spec)
    sns, sip = net.pod()
    # the Dask operator adds nothing to the scheduler container; to workers it adds these two (and the args' $(...))
    rt.start("dask-scheduler", rt.spec(image, sched["spec"], sched["spec"]["containers"][0], sns, sip, "check-scheduler"))
    ok = wait_for("the scheduler's /health", lambda: http_get(sns, f"http://{sip}:8787/health")[0] == 200, 120)
    record("dask scheduler: readiness probe GET :8787/health", ok, rt.log("dask-scheduler")[-1500:] if not ok else "")
    worker = builders.worker(spec, spec.worker, "worker-default")
    wns, wip = net.pod()
    wenv = {"DASK_WORKER_NAME": "check-default-worker-0", "DASK_SCHEDULER_ADDRESS": f"tcp://{sip}:8786"}
    rt.start("dask-worker", rt.spec(image, worker["spec"], worker["spec"]["containers"][0], wns, wip, "check-worker", wenv))
    ok = wait_for("the worker's /health", lambda: http_get(wns, f"http://{wip}:8787/health")[0] == 200, 120)
    record("dask worker: readiness probe GET :8787/health", ok, rt.log("dask-worker")[-1500:] if not ok else "")
    client_dir = work / "dask-client"
    client_dir.mkdir()
    (client_dir / "client.py").write_text(DASK_CLIENT)
    cns, cip = net.pod()
    client = {**worker["spec"]["containers"][0], "args": ["python", "/check/client.py", sip]}
    client.pop("readinessProbe")
    _, out = rt.run("dask-client", rt.spec(image, worker["spec"], client, cns, cip, "check-client",
                                           binds={str(client_dir): "/check"}), timeout=300)
    m = re.search(r"^RESULT (.*)$", out, re.M)
    result = json.loads(m.group(1)) if m else {}
    record("dask client (prepare.sh entrypoint, restricted pod) computes on the cluster",
           result.get("workers") == 1 and result.get("sum") == 499500 and result.get("array") == 4e6, out[-2000:] if not m else "")
    record("dask scheduler HTTP API (distributed.http.scheduler.api): adaptive_target, check_idle, retire_workers",
           all(k in result for k in ("api/v1/adaptive_target", "api/v1/check_idle")) and result.get("retire_workers") == 200,
           json.dumps({k: v for k, v in result.items() if k.startswith(("api", "retire"))}))
    # prepare.sh's EXTRA_PIP_PACKAGES under raydask's defaults (uid 10001, no passwd entry, read-only root), from a
    # local wheel (no index is reachable): HOME unset (= /) must fail, HOME=/tmp falls back to a user install there.
    wheel = next((CACHE / "wheels").glob("colorful-*.whl"), None)
    if wheel:
        for home, want in ((None, False), ("/tmp", True)):  # HOME as raydask leaves it, then set
            env = [{"name": "EXTRA_PIP_PACKAGES", "value": f"--no-index /wheels/{wheel.name}"}]
            if home:
                env.append({"name": "HOME", "value": home})
            c = {**client, "args": ["python", "-c", "import colorful; print('IMPORTED')"], "env": env}
            _, out = rt.run(f"dask-pip-{home is not None}", rt.spec(image, worker["spec"], c, cns, cip, "check-pip",
                                                                      binds={str(wheel.parent): "/wheels"}), timeout=180)
            record(f"dask prepare.sh EXTRA_PIP_PACKAGES as uid 10001, HOME={home or 'unset (/)'}: "
                   f"{'installs' if want else 'fails'}", ("IMPORTED" in out) == want, out.strip().splitlines()[-1][:300])
            if home is None:
                finding("Dask containers (HOME unset, so / for uid 10001): the image's EXTRA_PIP_PACKAGES works",
                        "IMPORTED" in out, "pip's user install needs a writable HOME; works with HOME=/tmp")
    for name in ("dask-worker", "dask-scheduler"):
        took = rt.stop(name)
        record(f"{name}: stops on SIGTERM (tini -g forwards it)", took < 20, f"{took:.1f}s")


# ------------------------------------------------------------------------------------------- Redis, pause, busybox
def restricted(uid: int, gid: int, volumes: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pod + container as restricted as raydask's: (pod spec, container) with emptyDirs at ``volumes``."""
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True,
          "runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid}
    pod = {"securityContext": {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid},
           "volumes": [{"name": n, "emptyDir": {}} for n in volumes]}
    return pod, {"securityContext": sc, "volumeMounts": [{"name": n, "mountPath": p} for n, p in volumes.items()]}


def check_redis(rt: Runtime, net: Network, work: Path, ref: str) -> None:
    image = Image(ref, work)
    pod, c = restricted(999, 999, {"data": "/data"})
    sns, sip = net.pod()
    rt.start("redis", rt.spec(image, pod, {**c, "args": ["--requirepass", "s3cret"]}, sns, sip, "redis-0"))
    cns, cip = net.pod()
    cli = {**c, "command": ["redis-cli", "-h", sip]}

    def ask(*args: str) -> str:
        _, out = rt.run(f"redis-cli-{time.monotonic_ns()}", rt.spec(image, pod, {**cli, "args": list(args)}, cns, cip, "cli"),
                           timeout=30)
        return out.strip()

    ok = wait_for("redis to accept connections", lambda: "NOAUTH" in ask("ping"), 30)
    record("redis (uid 999, read-only root, /data emptyDir): a client without the password is refused", ok, ask("ping"))
    out = ask("-a", "s3cret", "--no-auth-warning", "set", "k", "v")
    out += " " + ask("-a", "s3cret", "--no-auth-warning", "get", "k")
    record("redis: with --requirepass's password: SET/GET over the pod network", out.split() == ["OK", "v"], out)
    took = rt.stop("redis")
    record("redis: stops on SIGTERM", took < 10, f"{took:.1f}s")


def check_pause(rt: Runtime, net: Network, work: Path, ref: str) -> None:
    image = Image(ref, work)
    ns, ip = net.pod()
    rt.start("pause", rt.spec(image, {}, {}, ns, ip, "pause"))
    time.sleep(1)
    record("pause: runs (as the image's 65535)", rt.state("pause") == "running", rt.log("pause"))
    took = rt.stop("pause", grace=5)
    record("pause: exits on SIGTERM at once", took < 2, f"{took:.2f}s")


def check_busybox(rt: Runtime, net: Network, work: Path, ref: str) -> None:
    image = Image(ref, work)
    pod, c = restricted(65534, 65534, {"tmp": "/tmp"})
    ns, ip = net.pod()
    code, out = rt.run("busybox", rt.spec(image, pod, {**c, "args": ["sh", "-c", "id -u; wget --help 2>&1 | head -1; "
                                                                      "nc --help 2>&1 | head -1; echo done"]},
                                          ns, ip, "busybox"), timeout=30)
    record("busybox: sh, wget, nc as uid 65534 on a read-only root", code == 0 and "65534" in out and "done" in out, out[-300:])


CHECKS = {"ray": ("rayproject/ray", check_ray), "dask": ("ghcr.io/dask/dask", check_dask), "redis": ("redis", check_redis),
          "pause": ("registry.k8s.io/pause", check_pause), "busybox": ("busybox", check_busybox)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", choices=[[], *CHECKS], default=[])
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("check: needs root (runc, network namespaces)")
    if not (CACHE / "images.json").exists():
        sys.exit(f"check: no {CACHE / 'images.json'}: run e2e/images.sh build first")
    index = json.loads((CACHE / "images.json").read_text())
    for name in args.images or list(CHECKS):
        repo, fn = CHECKS[name]
        refs = [r for r in index["images"] if r.rsplit(":", 1)[0] == repo]
        if not refs:
            record(f"{name}: in images.json", False, f"no {repo} image; run e2e/images.sh build {name}")
            continue
        for old in CACHE.glob(f".check-{name}.*"):  # the previous run's logs (only the last run's are kept)
            shutil.rmtree(old, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".check-{name}.", dir=CACHE))
        net, rt = Network(name[:3]), Runtime(work)
        t0 = time.monotonic()
        try:
            log(f"{name}: {refs[0]}")
            fn(rt, net, work, refs[0])
        except Exception as exc:  # a broken check is a failed check, with its reason
            record(f"{name}: check ran to the end", False, f"{type(exc).__name__}: {exc}")
        finally:
            rt.close()
            net.close()
            failed = any(not ok for _, ok, _ in RESULTS)
            log(f"{name}: {time.monotonic() - t0:.0f}s; logs in {work}" + (" (and volumes/)" if failed else ""))
            for item in work.iterdir():  # the unpacked image; the pods' emptyDirs (Ray's session logs) too unless a check failed
                if item.is_dir() and not (failed and item.name == "volumes"):
                    shutil.rmtree(item, ignore_errors=True)
    if warned := [n for n, holds, _ in FINDINGS if not holds]:
        print(f"{len(warned)} raydask default(s) contradicted by a real process:\n  " + "\n  ".join(warned))
    passed = sum(ok for _, ok, _ in RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    sys.exit(0 if passed == len(RESULTS) else 1)


if __name__ == "__main__":
    main()
