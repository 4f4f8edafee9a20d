#!/usr/bin/env python3
"""A real one-node Kubernetes inside a network namespace the test run creates (stdlib only).

Everything runs inside the namespace ``raydask-<random>``: etcd, kube-apiserver, controller-manager and scheduler (the
control plane of e2e/cluster.py, through its hooks), containerd + runc, the CNI bridge and the pods behind it, kubelet,
kube-proxy (nftables), CoreDNS, kube-network-policies (nftables + NFQUEUE), and whatever a test starts with
``run``/``popen``/``wrap`` (operators, the Pulumi CLI, clients). The namespace has no route out: a connection to a
public address fails at once (ENETUNREACH) and a public name does not resolve (CoreDNS answers NXDOMAIN).

Layout inside the namespace:
  - ``raydask0`` (one end of a veth pair whose other end stays inside too) holds NODE_IP: the node's InternalIP, the
    API server's advertise address (pods reach it through the ``kubernetes`` Service) and CoreDNS's address (behind
    the ``kube-system/kube-dns`` Service at DNS_IP). The Service range is routed to it so that processes of the
    namespace can dial ClusterIPs (kube-proxy rewrites them);
  - ``cni0``, the pods' bridge (10.244.0.0/24, made by the CNI bridge plugin);
  - ``ip_forward`` and ``bridge-nf-call-iptables`` on, inside the namespace only.

Processes join the namespace and a **mount namespace of the node** (held by a ``sleep`` process, "netns-holder"):
containerd, kubelet and the CNI plugins must share mounts (volume tmpfs, the pods' netns files), and the node's
mounts must not leak to the host. In it: a private ``/run``, ``/var/lib`` and ``/var/log`` (kubelet's root dir and the
pod logs bound from the state dir), ``/etc/resolv.conf`` pointing at the cluster DNS, and ``/proc/sys`` values that
kubelet would otherwise *set on the host* (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops) shown as it
wants them. When the last process of the node exits, its mounts go with it.

Pods' cgroups live under a cgroup root of the run's own (``/raydask-<random>`` in every v1 hierarchy); containerd and
the node's daemons sit in its ``system`` child of the pids hierarchy, so whatever the runtime leaves behind (shims,
containers) is found and stopped by PID at the end, and the cgroups are removed.

Python API:
    node = NodeCluster(state_dir)                 # tools from $RAYDASK_TOOLS_DIR/env.sh
    node = NodeCluster(state_dir, cpus=32, memory_gib=64)   # a node that advertises more than the machine has
    node.up()                                      # ~1 min; images from $RAYDASK_TOOLS_DIR/images/images.json
    node.kubectl("get", "nodes"); node.api("GET", "/api/v1/nodes")   # inside the namespace
    node.run(["getent", "hosts", "kubernetes.default"]); node.wrap(argv); node.env()
    node.start_kuberay("1.5.0", ["ns"]); node.start_dask(["ns"])      # operators inside the namespace
    node.down()                                    # every process by PID, cgroups, namespace

CLI: node.py {up|down|status|env|run} [--state-dir D] [--cpus N] [--memory-gib N]
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import SERVICE_CIDR, ControlPlane, HarnessError, _pid_alive, wait_until

DEFAULT_STATE = os.environ.get("RAYDASK_NODE_STATE", "/tmp/raydask-node")
NODE_IP = "10.250.0.1"          # raydask0 inside the namespace
DNS_IP = "10.96.0.10"           # the kube-dns Service (in SERVICE_CIDR)
POD_CIDR = "10.244.0.0/16"
POD_SUBNET = "10.244.0.0/24"    # the one node's pod range (CNI host-local)
CLUSTER_DOMAIN = "cluster.local"
NODE_NAME = "raydask-node"
CNI_BIN = "/usr/lib/cni"        # Debian's containernetworking-plugins
CGROUP_FS = Path("/sys/fs/cgroup")
# values kubelet sets on the (host-wide) kernel unless they are already so: shown to it as they are wanted
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
CLONE_NEWNET = 0x40000000
NFQUEUE_ID = 100
# kube-network-policies' postrouting hook (upstream: an nftables chain), as iptables rules in the mangle table:
# after DNAT (pod addresses, not ClusterIPs), before SNAT; the node's own traffic as root (kubelet's probes) and
# established flows pass; the first packet of any other connection from or to a pod goes to the enforcer's queue
NETPOL_HOOK = [
    ["-N", "RAYDASK-NETPOL"],
    ["-A", "POSTROUTING", "-j", "RAYDASK-NETPOL"],
    ["-A", "RAYDASK-NETPOL", "-m", "owner", "--uid-owner", "0", "-j", "RETURN"],
    ["-A", "RAYDASK-NETPOL", "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
    ["-A", "RAYDASK-NETPOL", "-s", POD_CIDR, "-j", "NFQUEUE", "--queue-num", str(NFQUEUE_ID)],
    ["-A", "RAYDASK-NETPOL", "-d", POD_CIDR, "-j", "NFQUEUE", "--queue-num", str(NFQUEUE_ID)],
]
NODE_DAEMONS = ["containerd", "coredns", "kubelet", "kube-proxy", "kube-network-policies"]
IMAGES_DIR = "images"           # under $RAYDASK_TOOLS_DIR: the images recipe's output (images.json + archives)
TEST_IMAGES = ("busybox", "pause")  # the recipe's images the node's own tests and sandboxes need (built if missing)
REPO = Path(__file__).resolve().parent.parent

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(path: str, nstype: int = CLONE_NEWNET) -> None:
    """Move the calling *thread* into the namespace at ``path`` (Python 3.11 has no os.setns)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, nstype) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def _ns_inode(pid: int | str, ns: str = "net") -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/{ns}").st_ino
    except OSError:
        return None


def docker_reference(ref: str) -> str:
    """A reference as the CRI spells it: ``rayproject/ray:2.60.0`` -> ``docker.io/rayproject/ray:2.60.0``."""
    first, _, rest = ref.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        domain, path = "docker.io", ref
    else:
        domain, path = first, rest
    if domain == "docker.io" and "/" not in path:
        path = f"library/{path}"
    name = f"{domain}/{path}"
    last = name.rsplit("/", 1)[-1]
    return name if (":" in last or "@" in name) else f"{name}:latest"


def read_images_json(path: Path) -> tuple[dict[str, Path], str | None]:
    """images.json -> ({reference: archive}, pause reference or None).

    Accepted forms: ``{"images": {ref: archive, ...}, "pause": ref}`` or a flat ``{ref: archive, ...}``; archive paths
    are relative to the file's directory or absolute. Without a ``pause`` key, a reference whose repository is named
    ``pause`` is the sandbox image."""
    data = json.loads(path.read_text())
    images = data.get("images", data) if isinstance(data.get("images"), dict) else data
    refs = {str(k): (path.parent / str(v)) for k, v in images.items() if isinstance(v, str) and k not in ("pause", "sandbox")}
    pause = data.get("pause") or data.get("sandbox")
    if not pause:
        pause = next((r for r in refs if r.rsplit(":", 1)[0].rsplit("/", 1)[-1] == "pause"), None)
    return refs, pause


class NodeCluster(ControlPlane):
    """The control plane of cluster.py plus one real node, all inside a network namespace of the run's own."""

    PROCESSES = ["netns-holder", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                 *NODE_DAEMONS, "kuberay", "dask-operator"]
    BIND_ADDRESS = "0.0.0.0"  # inside the namespace: pods dial it through the kubernetes Service
    ADVERTISE_ADDRESS = NODE_IP
    SANS = (*ControlPlane.SANS, f"IP:{NODE_IP}")

    def __init__(self, state_dir: str | os.PathLike = DEFAULT_STATE,
                 tools_env: str | os.PathLike | dict | None = None,
                 log: Callable[[str], None] | None = None, images: str | os.PathLike | None = None,
                 node_name: str = NODE_NAME, cpus: int | None = None, memory_gib: int | None = None,
                 unpack: bool = False):
        super().__init__(state_dir, tools_env, log or (lambda m: print(f"[node] {m}", file=sys.stderr, flush=True)))
        self.node_name = node_name
        self.cpus = cpus
        """CPUs the node advertises (capacity), when not the machine's: kubelet is shown a CPU topology of that many
        (the pods' CPU limits are still enforced, on the machine's real cores)."""
        self.unpack = unpack
        """Unpack each image when importing it (slower up) rather than when a container first needs it: many pods
        starting at once each try to unpack the same large image, and on this machine the CRI's attempts time out and
        start over (Ray, Dask)."""
        self.memory_gib = memory_gib
        """Memory the node advertises, when not the machine's: kubelet is shown a /proc/meminfo saying so (the pods'
        memory limits are still enforced; kubelet's memory eviction then never fires before the kernel's OOM killer)."""
        self._images_json = Path(images) if images else None
        self._executor: ThreadPoolExecutor | None = None
        self._executor_ns: str | None = None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------- state
    @property
    def netns(self) -> str:
        name = self._state().get("netns")
        if not name:
            raise HarnessError("no network namespace: the node is not up")
        return str(name)

    @property
    def netns_path(self) -> str:
        return f"/run/netns/{self.netns}"

    @property
    def cgroup_root(self) -> str:
        return str(self._state()["cgroup_root"])

    @property
    def containerd_socket(self) -> Path:
        return self.dir / "containerd" / "containerd.sock"

    def _tools_dir(self) -> Path:
        return Path(self.tools.get("RAYDASK_TOOLS_DIR") or Path.home() / ".cache/raydask-tools")

    # ------------------------------------------------------------- hooks
    def wrap(self, argv: list[str], cwd: str | os.PathLike | None = None) -> list[str]:
        """``argv`` run inside the node: its network namespace and its mount namespace (resolv.conf -> cluster DNS),
        in ``cwd`` (default: the state dir). (Not nsenter's --wd: it opens the directory before entering the mount
        namespace, and getcwd() then fails inside.)"""
        holder = self.pid("netns-holder")
        if not holder:
            raise HarnessError("the node's namespace holder is not running")
        return ["nsenter", f"--target={holder}", "--net", "--mount", "--",
                "sh", "-c", 'cd "$0" && exec "$@"', str(cwd or self.dir), *argv]

    def urlopen(self, request: str | urllib.request.Request, timeout: float, context: Any = None) -> Any:
        """urlopen from a thread inside the namespace (the socket lives there; reading it later works anywhere)."""
        return self.call(lambda: urllib.request.urlopen(request, context=context, timeout=timeout))

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in a thread that has entered the network namespace: the sockets it opens live there."""
        netns = self.netns_path
        if self._executor is None or self._executor_ns != netns:
            if self._executor:
                self._executor.shutdown(wait=False)
            self._executor = ThreadPoolExecutor(4, thread_name_prefix="netns", initializer=_setns, initargs=(netns,))
            self._executor_ns = netns
        return self._executor.submit(fn).result()

    def _apiserver_flags(self) -> list[str]:
        pki = self.pki
        return [f"--kubelet-client-certificate={pki / 'admin.crt'}", f"--kubelet-client-key={pki / 'admin.key'}",
                "--kubelet-preferred-address-types=InternalIP", f"--token-auth-file={pki / 'tokens.csv'}"]

    # ----------------------------------------------------------- running
    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a process inside the node: KUBECONFIG of this cluster."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), **extra}

    def run(self, argv: list[str], env: dict[str, str] | None = None, timeout: float = 60, check: bool = True,
            input: str | None = None, cwd: str | os.PathLike | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the node (network + mount namespace), bounded by ``timeout``."""
        r = subprocess.run(self.wrap(argv, cwd), env=env or self.env(), input=input, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode:
            raise HarnessError(f"{shlex.join(argv)} exited {r.returncode}: {(r.stderr or r.stdout).strip()[-2000:]}")
        return r

    def popen(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | os.PathLike | None = None,
              **kw: Any) -> subprocess.Popen[bytes]:
        """Start a command inside the node; the caller stops it (by its PID: the command's own, nsenter and sh exec)."""
        return subprocess.Popen(self.wrap(argv, cwd), env=env or self.env(), **kw)

    def _start_node_process(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        """A node daemon: moved into the run's pids cgroup (so its children are found at the end), then exec'd."""
        procs = CGROUP_FS / "pids" / self.cgroup_root.lstrip("/") / "system" / "cgroup.procs"
        launch = ["sh", "-c", f'echo $$ > {shlex.quote(str(procs))} && exec "$@"', name, *argv]
        return self._start(name, launch, env)

    def _start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
        if name == "netns-holder":
            return super()._start(name, argv, env)
        return super()._start(name, self.wrap(argv), env)

    # ----------------------------------------------------------------- up
    def up(self, timeout: float = 300) -> Path:
        if os.geteuid() != 0:
            raise HarnessError("the real node needs root (network namespaces, mounts, cgroups)")
        if self._state().get("netns") or any(self.pid(n) for n in self.PROCESSES):
            self.log(f"leftovers of an earlier run in {self.dir}: cleaning them up")
            self.down()
        return super().up(timeout)

    def _up(self, timeout: float) -> Path:
        self._check_tools()
        self._check_disk()
        return super()._up(timeout)

    MIN_FREE_GIB = 4
    """Free space the node needs where its state lives: its images, containers and logs. Below it the kubelet soon
    taints the node ``disk-pressure`` (its ``evictionHard`` thresholds are 1 %), and every pod stays Pending with "1
    node(s) had untolerated taint(s)"; a clear error first is better."""

    def _check_disk(self) -> None:
        where = next(d for d in (self.dir, *self.dir.parents) if d.exists())
        free = shutil.disk_usage(where).free / 2**30
        if free < self.MIN_FREE_GIB:
            raise HarnessError(f"{free:.1f} GiB free on the file system of {self.dir}; the real node needs at least "
                               f"{self.MIN_FREE_GIB} GiB (its images and containers): free some space (old "
                               "raydask-e2e-* work directories in the temporary directory, for example)")

    def _check_tools(self) -> None:
        for key in ("RAYDASK_KUBELET", "RAYDASK_KUBE_PROXY", "RAYDASK_COREDNS", "RAYDASK_KUBE_NETWORK_POLICIES"):
            self.tool(key)
        for exe in ("containerd", "containerd-shim-runc-v2", "ctr", "runc", "nft", "iptables", "nsenter", "unshare", "ip"):
            if not shutil.which(exe):
                raise HarnessError(f"{exe} not found: run e2e/toolchain.sh (it installs Debian's containerd, runc, "
                                   "containernetworking-plugins, nftables, iptables)")
        for plugin in ("bridge", "host-local", "portmap", "loopback"):
            if not os.access(f"{CNI_BIN}/{plugin}", os.X_OK):
                raise HarnessError(f"CNI plugin {CNI_BIN}/{plugin} missing: run e2e/toolchain.sh")

    def _prepare(self) -> None:
        """Before the control plane starts: the node agents' static token, the namespace, its mounts and cgroups."""
        token = secrets.token_hex(16)
        (self.pki / "tokens.csv").write_text(f'{token},system:raydask:node-agent,raydask-node-agent,"system:masters"\n')
        sa = self.dir / "serviceaccount"   # in-cluster credentials of kube-network-policies (a process here)
        sa.mkdir()
        (sa / "token").write_text(token)
        shutil.copy(self.pki / "ca.crt", sa / "ca.crt")
        (sa / "namespace").write_text("kube-system")
        self._make_netns()

    def _make_netns(self) -> None:
        t0 = time.monotonic()
        name = f"raydask-{secrets.token_hex(4)}"
        self._save_state(netns=name, cgroup_root=f"/{name}", node=self.node_name)
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=30)
        ipn = ["ip", "-n", name]
        for cmd in (["link", "set", "lo", "up"],
                    ["link", "add", "raydask0", "type", "veth", "peer", "name", "raydask1"],
                    ["addr", "add", f"{NODE_IP}/32", "dev", "raydask0"],
                    ["link", "set", "raydask0", "up"], ["link", "set", "raydask1", "up"],
                    ["route", "add", SERVICE_CIDR, "dev", "raydask0", "src", NODE_IP]):
            subprocess.run([*ipn, *cmd], check=True, capture_output=True, timeout=30)
        # inside the namespace only (each namespace has its own values): forward between pods and the node,
        # bridged pod-to-pod traffic through netfilter (kube-proxy's replies, the policy enforcer), and no
        # forwarding back out of raydask1 (whatever reaches it is dropped)
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-qw", "net.ipv4.ip_forward=1",
                        "net.bridge.bridge-nf-call-iptables=1", "net.bridge.bridge-nf-call-ip6tables=1",
                        "net.ipv4.conf.raydask1.forwarding=0"], check=True, capture_output=True, timeout=30)
        etc = Path("/etc/netns") / name
        etc.mkdir(parents=True, exist_ok=True)
        resolv = f"nameserver {DNS_IP}\nsearch svc.{CLUSTER_DOMAIN} {CLUSTER_DOMAIN}\noptions ndots:5 timeout:2 attempts:2\n"
        (etc / "resolv.conf").write_text(resolv)   # for `ip netns exec NAME ...` by hand
        (self.dir / "resolv.conf").write_text(resolv)
        self._make_cgroups()
        self._start_holder()
        self.timings["netns"] = time.monotonic() - t0

    def _make_cgroups(self) -> None:
        root = self.cgroup_root.lstrip("/")
        for hierarchy in sorted(p for p in CGROUP_FS.iterdir() if p.is_dir()):
            d = hierarchy / root
            d.mkdir(exist_ok=True)
            if hierarchy.name == "cpuset":   # a v1 cpuset cgroup is unusable until cpus and mems are set
                for f in ("cpuset.cpus", "cpuset.mems"):
                    (d / f).write_text((hierarchy / f).read_text())
        (CGROUP_FS / "pids" / root / "system").mkdir(exist_ok=True)
        if self.cpus:
            # kubelet would create <root>/kubepods with a cpuset of every CPU it counts, which the advertised CPUs exceed
            # (the kernel refuses it); made here with the real ones, kubelet finds it and leaves its cpuset alone (its
            # periodic update of the node-allocatable limits then fails on the cpuset: a warning event, no more)
            for hierarchy in sorted(p for p in CGROUP_FS.iterdir() if p.is_dir()):
                d = hierarchy / root / "kubepods"
                d.mkdir(exist_ok=True)
                if hierarchy.name == "cpuset":
                    for f in ("cpuset.cpus", "cpuset.mems"):
                        (d / f).write_text((hierarchy / root / f).read_text())

    def _start_holder(self) -> None:
        """The process that holds the node's mount namespace (entered by every other process with nsenter)."""
        s = self.dir
        for d in ("kubelet", "pod-logs", "container-logs", "sysctl"):
            (s / d).mkdir(parents=True, exist_ok=True)
        lines = ["set -eu",
                 "mount -t tmpfs -o mode=0755,size=256m raydask-run /run",
                 "mount -t tmpfs -o mode=0755,size=256m raydask-var-lib /var/lib",
                 "mount -t tmpfs -o mode=0755,size=64m raydask-var-log /var/log",
                 "mkdir -p /run/lock /run/netns /run/secrets/kubernetes.io/serviceaccount /var/lib/kubelet /var/lib/cni"
                 " /var/log/pods /var/log/containers",
                 f"mount --bind {shlex.quote(str(s / 'serviceaccount'))} /run/secrets/kubernetes.io/serviceaccount",
                 f"mount --bind {shlex.quote(str(s / 'kubelet'))} /var/lib/kubelet",
                 f"mount --bind {shlex.quote(str(s / 'pod-logs'))} /var/log/pods",
                 f"mount --bind {shlex.quote(str(s / 'container-logs'))} /var/log/containers",
                 f"mount --bind {shlex.quote(str(s / 'resolv.conf'))} /etc/resolv.conf"]
        for key, value in KUBELET_SYSCTLS.items():
            f = s / "sysctl" / key.replace("/", ".")
            f.write_text(value + "\n")
            lines.append(f"mount --bind {shlex.quote(str(f))} /proc/sys/{key}")
        lines += self._capacity_mounts()
        ready = s / "run" / "holder.ready"
        lines += [f"touch {shlex.quote(str(ready))}", "exec sleep infinity"]
        (s / "holder.sh").write_text("\n".join(lines) + "\n")
        self._start("netns-holder", ["nsenter", f"--net={self.netns_path}", "--", "unshare", "--mount",
                                     "--propagation", "slave", "--", "sh", str(s / "holder.sh")])
        wait_until(ready.exists, 30, "the node's mount namespace", 0.1, check=self._alive_check("netns-holder"))

    def _capacity_mounts(self) -> list[str]:
        """Holder lines showing kubelet (cAdvisor) the advertised capacity, when set: a CPU topology of ``cpus`` CPUs
        over /sys/devices/system/cpu (and no NUMA nodes, so cAdvisor counts those), a /proc/meminfo whose MemTotal is
        ``memory_gib``. Only the node's mount namespace sees them; containers mount their own /proc and /sys."""
        lines = []
        if self.cpus:
            cpu = self.dir / "capacity" / "cpu"
            for i in range(self.cpus):
                (cpu / f"cpu{i}" / "topology").mkdir(parents=True, exist_ok=True)
                (cpu / f"cpu{i}" / "topology" / "core_id").write_text(f"{i}\n")
                (cpu / f"cpu{i}" / "topology" / "physical_package_id").write_text("0\n")
            for f in ("online", "possible", "present"):
                (cpu / f).write_text(f"0-{self.cpus - 1}\n")
            (self.dir / "capacity" / "node").mkdir(exist_ok=True)
            lines += [f"mount --bind {shlex.quote(str(cpu))} /sys/devices/system/cpu",
                      f"mount --bind {shlex.quote(str(self.dir / 'capacity' / 'node'))} /sys/devices/system/node"]
        if self.memory_gib:
            meminfo = self.dir / "capacity" / "meminfo"
            meminfo.parent.mkdir(parents=True, exist_ok=True)
            real = Path("/proc/meminfo").read_text()
            meminfo.write_text("\n".join(f"MemTotal:       {self.memory_gib * 1024 * 1024} kB" if line.startswith("MemTotal:")
                                         else line for line in real.splitlines()) + "\n")
            lines.append(f"mount --bind {shlex.quote(str(meminfo))} /proc/meminfo")
        return lines

    def _start_nodes(self, timeout: float) -> None:
        t0 = time.monotonic()
        self._write_cni_config()
        self._start_containerd(timeout)
        self.import_images()
        self._start_coredns(timeout)
        self._start_kubelet(timeout)
        self._start_kube_proxy(timeout)
        self._start_network_policies(timeout)
        wait_until(lambda: self.run(["getent", "hosts", f"kubernetes.default.svc.{CLUSTER_DOMAIN}"],
                                    check=False, timeout=10).stdout.split()[:1] == ["10.96.0.1"],
                   timeout, "the kubernetes Service name to resolve inside the node (CoreDNS through kube-proxy)", 1)
        self.timings["node"] = time.monotonic() - t0

    # ------------------------------------------------------------ containerd
    def _start_containerd(self, timeout: float) -> None:
        c = self.dir / "containerd"
        c.mkdir()
        cfg = "\n".join([
            "version = 2",
            f'root = "{c / "root"}"',
            f'state = "{c / "state"}"',
            'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",'
            ' "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",'
            ' "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]',
            "[grpc]", f'  address = "{self.containerd_socket}"',
            "[ttrpc]", f'  address = "{c / "containerd.sock.ttrpc"}"',
            "[debug]", '  address = ""',
            "[metrics]", '  address = ""',
            '[plugins."io.containerd.grpc.v1.cri"]',
            f'  sandbox_image = "{self._pause_image()}"',
            '  stream_server_address = "127.0.0.1"',
            '  stream_server_port = "0"',
            # this machine's root lacks CAP_SYS_RESOURCE: a negative oom_score_adj (the sandbox's -998, a Guaranteed
            # pod's -997) cannot be set, so runc fails; containerd then keeps scores at its own (0) and above
            "  restrict_oom_score_adj = true",
            '[plugins."io.containerd.grpc.v1.cri".containerd]',
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
            '  runtime_type = "io.containerd.runc.v2"',
            '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
            "  SystemdCgroup = false",
            f'  BinaryName = "{shutil.which("runc")}"',
            '[plugins."io.containerd.grpc.v1.cri".cni]',
            f'  bin_dir = "{CNI_BIN}"',
            f'  conf_dir = "{self.dir / "cni" / "net.d"}"',
            "",
        ])
        (c / "config.toml").write_text(cfg)
        (self.dir / "crictl.yaml").write_text(json.dumps({
            "runtime-endpoint": f"unix://{self.containerd_socket}", "image-endpoint": f"unix://{self.containerd_socket}",
            "timeout": 30}))
        self._start_node_process("containerd", [shutil.which("containerd") or "containerd", f"--config={c / 'config.toml'}"])
        wait_until(lambda: self.ctr("version", check=False).returncode == 0, timeout, "containerd to answer",
                   0.3, check=self._alive_check("containerd"))

    def ctr(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """containerd's ctr on the node's socket, namespace k8s.io (the CRI's)."""
        return self.run(["ctr", f"--address={self.containerd_socket}", "--namespace=k8s.io", *args],
                        check=check, timeout=timeout)

    def crictl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """crictl on the node's CRI socket (built only by ``e2e/toolchain.sh crictl``: for debugging)."""
        return self.run([self.tool("RAYDASK_CRICTL"), *args], env=self.env(CRI_CONFIG_FILE=str(self.dir / "crictl.yaml")),
                        check=check, timeout=timeout)

    # -------------------------------------------------------------- images
    def images_json(self) -> Path:
        """The images to import: the ``images`` given, else the images recipe's images.json ($RAYDASK_IMAGES_JSON, else
        $RAYDASK_TOOLS_DIR/images/images.json), with busybox and pause built if missing."""
        return self._images_json or self.test_images()

    def _pause_image(self) -> str:
        """The sandbox image: the one images.json names, else the recipe's pause."""
        pause = read_images_json(self.images_json())[1] or read_images_json(self.test_images())[1]
        if not pause:
            raise HarnessError(f"{self.test_images()} names no pause image")
        return docker_reference(pause)

    def test_images(self) -> Path:
        """The images recipe's images.json (e2e/images.sh), with the images the node always needs in it: busybox (the
        node's own tests, test clients) and pause (the pod sandbox). Builds those two if missing (seconds, cached)."""
        recipe = Path(self.tools.get("RAYDASK_IMAGES_JSON") or self._tools_dir() / IMAGES_DIR / "images.json")
        built = json.loads(recipe.read_text()).get("builds", {}) if recipe.exists() else {}
        if not all(name in built for name in TEST_IMAGES):
            self.log(f"building the recipe's {', '.join(TEST_IMAGES)} images (e2e/images.sh)")
            subprocess.run(["bash", str(REPO / "e2e" / "images.sh"), "build", *TEST_IMAGES], check=True, timeout=1800,
                           env={**os.environ, "RAYDASK_TOOLS_DIR": str(self._tools_dir())})
        return recipe

    def import_images(self, images_json: Path | None = None) -> dict[str, str]:
        """Import every archive listed in images.json, and the recipe's busybox and pause, into containerd's ``k8s.io``
        namespace under the CRI's spelling of each reference; returns {reference: image digest}. An archive listed
        under several references is imported once (and tagged with any name it does not carry itself)."""
        t0 = time.monotonic()
        by_archive: dict[Path, set[str]] = {}
        for f in dict.fromkeys([images_json or self.images_json(), self.test_images()]):
            for ref, archive in read_images_json(f)[0].items():
                by_archive.setdefault(archive.resolve(), set()).add(docker_reference(ref))
        for archive, refs in by_archive.items():
            before = set(self._image_names())
            # content only: the CRI unpacks an image for the snapshotter when a container first needs it
            self.ctr("images", "import", *([] if self.unpack else ["--no-unpack"]), str(archive))
            names = set(self._image_names())
            new = sorted(n for n in names - before if not n.startswith("sha256:"))
            for ref in sorted(refs - names):  # the archive names itself otherwise (a bare tag, another spelling)
                if not new:
                    raise HarnessError(f"importing {archive} for {ref}: it added no named image")
                self.ctr("images", "tag", "--force", new[0], ref)
        wanted = set().union(*by_archive.values())
        ids = {}
        for line in self.ctr("images", "ls").stdout.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] in wanted:
                ids[parts[0]] = parts[2]
        missing = sorted(wanted - set(ids))
        if missing:
            raise HarnessError(f"images missing after import: {missing}")
        self.timings["images"] = time.monotonic() - t0
        self.log(f"imported {len(by_archive)} archives ({len(ids)} references) in {self.timings['images']:.1f}s: "
                 f"{', '.join(sorted(ids))}")
        return ids

    def _image_names(self) -> list[str]:
        return self.ctr("images", "ls", "-q").stdout.split()

    # ------------------------------------------------------------- network
    def _write_cni_config(self) -> None:
        d = self.dir / "cni" / "net.d"
        d.mkdir(parents=True, exist_ok=True)
        conf = {"cniVersion": "0.4.0", "name": "raydask", "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET}]], "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": str(self.dir / "cni" / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}
        (d / "10-raydask.conflist").write_text(json.dumps(conf, indent=1))

    def _start_coredns(self, timeout: float) -> None:
        """CoreDNS as a process on NODE_IP:53, behind kube-system/kube-dns (a Service with an EndpointSlice of ours).
        Names outside the cluster get NXDOMAIN at once: there is nothing to forward to."""
        corefile = self.dir / "Corefile"
        corefile.write_text(f"""\
{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {NODE_IP}
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {self.kubeconfig} raydask-e2e
        pods insecure
        ttl 5
    }}
    cache 5
}}
.:53 {{
    bind {NODE_IP}
    errors
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
""")
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
               "spec": {"clusterIP": DNS_IP, "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                       {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}}
        eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
               "metadata": {"name": "kube-dns-node", "namespace": "kube-system",
                            "labels": {"kubernetes.io/service-name": "kube-dns",
                                       "endpointslice.kubernetes.io/managed-by": "raydask-e2e"}},
               "addressType": "IPv4", "endpoints": [{"addresses": [NODE_IP], "conditions": {"ready": True}}],
               "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}
        for path, body in (("/api/v1/namespaces/kube-system/services", svc),
                           ("/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices", eps)):
            wait_until(lambda p=path, b=body: self.api("POST", p, b)[0] in (201, 409), 60, f"POST {path}", 1)
        self._start_node_process("coredns", [self.tool("RAYDASK_COREDNS"), "-conf", str(corefile)])

        def ready() -> bool:
            with self.urlopen("http://127.0.0.1:8181/ready", 2) as r:
                return r.status == 200
        wait_until(ready, timeout, "CoreDNS /ready", 0.5, check=self._alive_check("coredns"))

    # -------------------------------------------------------------- kubelet
    def _start_kubelet(self, timeout: float) -> None:
        pki = self.pki
        cfg = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False, "cgroupDriver": "cgroupfs", "cgroupRoot": self.cgroup_root,
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "address": NODE_IP, "port": 10250, "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": 10248,
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(pki / "ca.crt")}},
            "authorization": {"mode": "Webhook"},
            "clusterDNS": [DNS_IP], "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": str(self.dir / "resolv.conf"),
            "failSwapOn": False, "staticPodPath": "", "serializeImagePulls": False,
            "podLogsDir": "/var/log/pods", "volumePluginDir": str(self.dir / "kubelet-plugins"),
            # no registry to pull back from: never collect an imported image; evict only on a nearly full machine
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                             "nodefs.inodesFree": "1%"},
            "nodeStatusReportFrequency": "10s", "nodeStatusUpdateFrequency": "5s",
            # images are imported without unpacking: the first container of an image waits for the CRI to unpack it
            # (the Ray and Dask images take minutes when several pods start at once), past the 2 min default
            "runtimeRequestTimeout": "10m",
        }
        (self.dir / "kubelet.json").write_text(json.dumps(cfg, indent=1))
        self._start_node_process("kubelet", [
            self.tool("RAYDASK_KUBELET"), f"--config={self.dir / 'kubelet.json'}", f"--kubeconfig={self.kubeconfig}",
            f"--hostname-override={self.node_name}", f"--node-ip={NODE_IP}", "--root-dir=/var/lib/kubelet", "--v=1"])
        wait_until(self._node_ready, timeout, f"node {self.node_name} Ready", 1, check=self._alive_check("kubelet"))

    def _node_ready(self) -> bool:
        st, node = self.api("GET", f"/api/v1/nodes/{self.node_name}")
        return st == 200 and any(c["type"] == "Ready" and c["status"] == "True"
                                 for c in node.get("status", {}).get("conditions", []))

    def _start_kube_proxy(self, timeout: float) -> None:
        cfg = {"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "mode": "nftables",
               "clientConnection": {"kubeconfig": str(self.kubeconfig)}, "hostnameOverride": self.node_name,
               "clusterCIDR": POD_CIDR, "healthzBindAddress": "127.0.0.1:10256", "metricsBindAddress": "127.0.0.1:10249",
               # conntrack settings are the host kernel's: leave them alone
               "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"}}
        (self.dir / "kube-proxy.json").write_text(json.dumps(cfg, indent=1))
        self._start_node_process("kube-proxy", [self.tool("RAYDASK_KUBE_PROXY"), f"--config={self.dir / 'kube-proxy.json'}",
                                                "--v=1"])

        def healthy() -> bool:
            with self.urlopen("http://127.0.0.1:10256/healthz", 2) as r:
                return r.status == 200
        wait_until(healthy, timeout, "kube-proxy /healthz", 0.5, check=self._alive_check("kube-proxy"))

    def _start_network_policies(self, timeout: float) -> None:
        """kube-network-policies as a process (upstream runs it as a DaemonSet): in-cluster credentials from the
        static token bound at /run/secrets/kubernetes.io/serviceaccount; containerd 1.6 has no NRI.

        It decides (reads NetworkPolicies, namespaces and pods; gives the first packet of every new connection its
        verdict through NFQUEUE), but its own nftables rules cannot load here: this kernel lacks nftables' ``queue``
        expression (CONFIG_NFT_QUEUE unset). So the harness installs the same hook with iptables' NFQUEUE target
        (NETPOL_HOOK), queueing every pod's new connections rather than only those of pods a policy selects (the
        enforcer accepts the others). Its DNS workaround (netfilter bug 1766, fixed in kernel 6.12) is off, so DNS
        is judged like any other traffic."""
        for rule in NETPOL_HOOK:
            self.run(["iptables", "-w", "10", "-t", "mangle", *rule])
        port = self._state()["ports"]["apiserver"]
        self._start_node_process("kube-network-policies", [
            self.tool("RAYDASK_KUBE_NETWORK_POLICIES"), f"--hostname-override={self.node_name}", "--disable-nri",
            f"--nfqueue-id={NFQUEUE_ID}", "--netfilter-bug-1766-fix=false", "--metrics-bind-address=127.0.0.1:9080",
            "--v=2"],
            env={"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(port)})

        def serving() -> bool:
            with self.urlopen("http://127.0.0.1:9080/metrics", 2) as r:
                return r.status == 200
        wait_until(serving, timeout, "kube-network-policies /metrics", 0.5, check=self._alive_check("kube-network-policies"))

    # ------------------------------------------------------------- checks
    def netns_inode(self) -> int | None:
        try:
            return os.stat(self.netns_path).st_ino
        except (OSError, HarnessError):
            return None

    def processes_in_netns(self) -> dict[int, str]:
        """Every process whose network namespace is the node's: {pid: command}."""
        ino = self.netns_inode()
        out: dict[int, str] = {}
        if ino is None:
            return out
        for p in Path("/proc").iterdir():
            if p.name.isdigit() and _ns_inode(p.name) == ino:
                with contextlib.suppress(OSError):
                    out[int(p.name)] = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        return out

    def loopback_violations(self) -> list[str]:
        """Processes of this cluster outside its network namespace (the node's rule replaces the loopback rule):
        every recorded process and every process of the run's cgroup must be inside."""
        ino = self.netns_inode()
        bad = []
        for name in self.PROCESSES:
            pid = self.pid(name)
            if pid and _ns_inode(pid) != ino:
                bad.append(f"{name} (pid {pid}) is outside the network namespace")
        for pid in self.cgroup_pids():
            # containers have network namespaces of their own (joined to the node's by a veth): their parent chain
            # must reach a process inside (containerd's shim)
            if _ns_inode(pid) not in (ino, None) and not self._ancestor_in(pid, ino):
                bad.append(f"pid {pid} of the run's cgroup is outside the network namespace")
        return bad

    def _ancestor_in(self, pid: int, ino: int | None) -> bool:
        for _ in range(64):
            try:
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                return False
            if ppid <= 1:
                return False
            if _ns_inode(ppid) == ino:
                return True
            pid = ppid
        return False

    def cgroup_pids(self) -> list[int]:
        """PIDs in the run's cgroup tree (pids hierarchy): containerd, its shims, the containers, the daemons."""
        try:
            base = CGROUP_FS / "pids" / self.cgroup_root.lstrip("/")
        except (KeyError, HarnessError):
            return []
        pids: list[int] = []
        if base.is_dir():
            for procs in base.rglob("cgroup.procs"):
                with contextlib.suppress(OSError):
                    pids += [int(x) for x in procs.read_text().split()]
        return pids

    def status(self) -> dict[str, Any]:
        out = super().status()
        st = self._state()
        out.update(netns=st.get("netns"), cgroup_root=st.get("cgroup_root"), node_ip=NODE_IP,
                   processes_in_netns=len(self.processes_in_netns()), cgroup_pids=len(self.cgroup_pids()))
        return out

    # ---------------------------------------------------------------- down
    def down(self) -> None:
        """Stop everything by PID (bounded waits, SIGTERM then SIGKILL): the operators, kubelet and the node's
        daemons, the pod sandboxes (``crictl rmp`` if crictl was built), containerd, whatever is left in the run's
        cgroup (shims, containers), the control plane, anything else inside the namespace, the holder; then remove the
        cgroups, the namespace, /etc/netns/<name> and the node's images and pod volumes (logs stay). Safe to call
        again, and on a half-started node."""
        st = self._state()
        for name in ("dask-operator", "kuberay", "kube-network-policies", "kube-proxy", "kubelet"):
            self._stop(name)
        if self.pid("containerd") and self.pid("netns-holder") and os.access(self.tools.get("RAYDASK_CRICTL", ""), os.X_OK):
            with contextlib.suppress(Exception):   # every pod sandbox: containers killed, CNI DEL, netns removed
                self.crictl("rmp", "--all", "--force", check=False, timeout=120)
        # (without crictl, or for what it left: the sweep of the run's cgroup below stops shims and containers)
        for name in ("coredns", "containerd"):
            self._stop(name)
        self._kill_cgroup()
        for name in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            self._stop(name)
        self._kill_netns_leftovers()
        self._stop("netns-holder")
        clear = not self.processes_in_netns() and not [p for p in self.cgroup_pids() if _pid_alive(p)]
        if self._executor:
            self._executor.shutdown(wait=False)
            self._executor = None
        self._remove_cgroups()
        if st.get("netns"):
            name = st["netns"]
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=30)
            shutil.rmtree(Path("/etc/netns") / name, ignore_errors=True)
            with contextlib.suppress(OSError):
                Path("/etc/netns").rmdir()   # only if empty (another run may have its own entry)
            self._save_state(netns=None)
        if clear:   # the images and pod volumes (GBs once Ray runs): the node's mounts went with its last process
            for d in ("containerd", "kubelet"):
                shutil.rmtree(self.dir / d, ignore_errors=True)
        self.log(f"down; logs kept in {self.dir / 'logs'}")

    def _kill_cgroup(self, timeout: float = 3) -> None:
        """SIGTERM, then SIGKILL, every PID left in the run's cgroup (shims, containers): by PID, bounded (the
        graceful path, kubelet and containerd, is over by then: a container's PID 1 may ignore SIGTERM)."""
        pids = self.cgroup_pids()
        if not pids:
            return
        self.log(f"stopping {len(pids)} leftover processes of the run's cgroup: {pids}")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.cgroup_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(HarnessError):
                wait_until(lambda: not [p for p in self.cgroup_pids() if _pid_alive(p)], timeout,
                           "the run's cgroup to empty", 0.2)
                return

    def _kill_netns_leftovers(self, timeout: float = 10) -> None:
        """Anything else still inside the namespace is ours (only this run enters it): e.g. a command a test left."""
        holder = self.pid("netns-holder")
        left = {p: c for p, c in self.processes_in_netns().items() if p != holder}
        if not left:
            return
        self.log(f"stopping processes left in the namespace: {left}")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            with contextlib.suppress(HarnessError):
                wait_until(lambda: not [p for p in left if _pid_alive(p)], timeout, "processes to leave the namespace", 0.2)
                return

    def _remove_cgroups(self) -> None:
        root = self._state().get("cgroup_root")
        if not root:
            return
        for hierarchy in CGROUP_FS.iterdir():
            base = hierarchy / root.lstrip("/")
            if not base.is_dir():
                continue
            for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                with contextlib.suppress(OSError):
                    d.rmdir()
            with contextlib.suppress(OSError):
                base.rmdir()


@contextlib.contextmanager
def node_cluster(state_dir: str | os.PathLike, tools_env: Any = None, **kw: Any) -> Iterator[NodeCluster]:
    """A NodeCluster that is up inside the block and down (every process by PID, the namespace removed) after it."""
    node = NodeCluster(state_dir, tools_env, **kw)
    try:
        node.up()
        yield node
    finally:
        node.down()


# ------------------------------------------------------------------------ CLI
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["up", "down", "status", "env", "run"])
    ap.add_argument("args", nargs="*", help="for run: the command (after --)")
    ap.add_argument("--state-dir", default=DEFAULT_STATE)
    ap.add_argument("--tools-env", help="env.sh written by toolchain.sh (default: $RAYDASK_TOOLS_DIR/env.sh)")
    ap.add_argument("--images", help="images.json to import (default: the images recipe's)")
    ap.add_argument("--cpus", type=int, help="CPUs the node advertises (default: the machine's)")
    ap.add_argument("--memory-gib", type=int, help="memory the node advertises, GiB (default: the machine's)")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args(argv)
    node = NodeCluster(a.state_dir, a.tools_env, images=a.images, cpus=a.cpus, memory_gib=a.memory_gib)
    try:
        if a.command == "up":
            node.up(a.timeout)
            print(json.dumps({"kubeconfig": str(node.kubeconfig), "netns": node.netns, "timings": node.timings}))
        elif a.command == "down":
            node.down()
        elif a.command == "status":
            print(json.dumps(node.status(), indent=1))
        elif a.command == "env":
            print(f"export KUBECONFIG={shlex.quote(str(node.kubeconfig))}")
            print(f"# run commands inside the node: {shlex.join(node.wrap(['bash']))}")
        elif a.command == "run":
            return subprocess.run(node.wrap(a.args), env=node.env()).returncode
    except HarnessError as exc:
        print(f"node: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
