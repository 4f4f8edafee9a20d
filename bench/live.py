"""Live benchmark: raydask against a hand-written floor and against kubectl, on the live tier (prints figures).

    .venv/bin/python bench/live.py [--sizes 1,10,50] [--reps 3] [--systems raydask,floor,kubectl] [--json FILE]

On the live tier's local control plane (e2e/cluster.py: etcd, the API server, kwok's fake nodes, the real KubeRay and
Dask operators run out of cluster, all on 127.0.0.1; the real Pulumi CLI and kubernetes provider from
e2e/toolchain.sh), for stacks of N production-like Ray clusters plus N Dask clusters (bench/run.py's clones of
stacks/Pulumi.production.yaml, the operators as Helm releases from a chart repository on 127.0.0.1):

- raydask: its program (``raydask.program.main``) as an Automation API inline program;
- the floor: a plain Pulumi program registering exactly the resources raydask registers (recorded under the mock
  engine) as prebuilt dicts through pulumi-kubernetes, with the same dependencies and options, no components;
- kubectl: ``kubectl apply --server-side`` of ``raydask render --include-crds`` (CRDs first) and ``kubectl wait``.

Each system runs preview, up, the wait for ready clusters (every RayCluster ``ready``, every DaskCluster ``Running``),
a no-change up and destroy, in a fresh process per step; the repetitions interleave (each repetition runs every N and
every system), so the machine's slow spells weigh on all sides alike. The operators are started for each system's
run once its namespace exists and stopped after its destroy, by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NAMESPACE = "ml"
"""The production stack's namespace: the operators watch it."""
STACK = "bench"
SYSTEMS = ("raydask", "floor", "kubectl")
OPS = ("preview", "up", "ready", "nochange", "destroy")
SECRETS = ("raydask:redisPassword",)
WAIT_S = 900
"""Bound on every wait (a step, the clusters' readiness, a deletion)."""


# ---------------------------------------------------------------------------------------------------------- arguments
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,50", type=sizes_arg, help="comma-separated N (default 1,10,50)")
    parser.add_argument("--reps", type=positive, default=3, help="interleaved repetitions (default 3)")
    parser.add_argument("--systems", default=",".join(SYSTEMS), type=systems_arg, help="subset of raydask,floor,kubectl")
    parser.add_argument("--json", type=Path, help="also write every sample and step timing to this file")
    parser.add_argument("--workdir", type=Path, help="work directory (default: a new temporary one, kept for the logs)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def sizes_arg(text: str) -> list[int]:
    try:
        return [positive(s) for s in text.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}") from exc


def systems_arg(text: str) -> list[str]:
    chosen = [s for s in text.split(",") if s]
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown system(s) {unknown or text!r}: choose from {', '.join(SYSTEMS)}")
    return chosen


# ------------------------------------------------------------------------------------------------------- the figures
@dataclass
class Sample:
    """One step of one system at one N in one repetition."""

    system: str
    n: int
    rep: int
    op: str
    wall: float
    """Seconds of the step (for ``ready``: from the start of ``up`` to ready clusters)."""
    cpu_program: float = 0.0
    """User + system CPU seconds of the process running the program (the Automation API's inline program)."""
    cpu_cli: float = 0.0
    """User + system CPU seconds of the CLI and its plugins (kubectl for kubectl)."""
    changes: int | None = None
    """Resources whose step was not ``same`` (an up), or the objects kubectl reported changed."""
    state_bytes: int | None = None
    peak_rss_mb: float | None = None
    """The largest resident set of one process of the step (the program's or the CLI's or a plugin's)."""
    load: float = 0.0
    """The 1-minute load average when the step started."""
    steps: list[dict[str, Any]] = field(default_factory=list)
    """Per resource: type, name, op, start and end seconds since the step began (from the engine's events)."""


def median_of(samples: Sequence[Sample], system: str, n: int, op: str, attr: str = "wall") -> float | None:
    values = [getattr(s, attr) for s in samples if (s.system, s.n, s.op) == (system, n, op)
              and getattr(s, attr) is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def table(samples: Sequence[Sample], sizes: Sequence[int], systems: Sequence[str]) -> str:
    """Medians per system and N, then the ratios raydask/floor and up-to-ready raydask/kubectl."""
    def cell(value: float | None, fmt: str = ".1f") -> str:
        return "—" if value is None else format(value, fmt)

    lines = [f"{'N':>3} {'system':<8} {'preview s':>9} {'up s':>7} {'ready s':>8} {'nochg s':>8} {'chg':>4} "
             f"{'destroy s':>9} {'prog CPU s':>10} {'CLI CPU s':>9} {'state MB':>8} {'peak MB':>7}"]
    for n in sizes:
        for system in systems:
            m = functools_partial(median_of, samples, system, n)
            cpu_prog = sum(v for op in OPS if (v := m(op, "cpu_program")) is not None)
            cpu_cli = sum(v for op in OPS if (v := m(op, "cpu_cli")) is not None)
            state = m("up", "state_bytes")
            peak = max((v for op in OPS if (v := m(op, "peak_rss_mb")) is not None), default=None)
            lines.append(f"{n:>3} {system:<8} {cell(m('preview')):>9} {cell(m('up')):>7} {cell(m('ready')):>8} "
                         f"{cell(m('nochange')):>8} {cell(m('nochange', 'changes'), '.0f'):>4} {cell(m('destroy')):>9} "
                         f"{cpu_prog:>10.1f} {cpu_cli:>9.1f} {cell(None if state is None else state / 1e6, '.2f'):>8} "
                         f"{cell(peak, '.0f'):>7}")
    lines.append("")
    lines.append(f"{'N':>3} {'preview r/f':>11} {'up r/f':>7} {'nochange r/f':>12} {'destroy r/f':>11} "
                 f"{'ready r/kubectl':>15} {'ready f/kubectl':>15}")
    for n in sizes:
        def r(a: str, b: str, op: str, n: int = n) -> str:
            return cell(ratio(median_of(samples, a, n, op), median_of(samples, b, n, op)), ".2f")
        lines.append(f"{n:>3} {r('raydask', 'floor', 'preview'):>11} {r('raydask', 'floor', 'up'):>7} "
                     f"{r('raydask', 'floor', 'nochange'):>12} {r('raydask', 'floor', 'destroy'):>11} "
                     f"{r('raydask', 'kubectl', 'ready'):>15} {r('floor', 'kubectl', 'ready'):>15}")
    return "\n".join(lines)


def functools_partial(fn: Any, *args: Any) -> Any:
    return lambda *more: fn(*args, *more)


def slowest_steps(samples: Sequence[Sample], system: str, n: int, op: str, top: int = 6) -> str:
    """Per resource type, over the repetitions: the median step seconds, the longest, and when the first step of the
    type started (seconds into the step) — where the engine's time goes."""
    by_type: dict[str, list[tuple[float, float]]] = {}
    for s in samples:
        if (s.system, s.n, s.op) == (system, n, op):
            for step in s.steps:
                by_type.setdefault(step["type"], []).append((step["end"] - step["start"], step["start"]))
    rows = sorted(by_type.items(), key=lambda kv: -sum(d for d, _ in kv[1]))[:top]
    return "; ".join(f"{t.removeprefix('kubernetes:')} ×{len(v)}: median {statistics.median(d for d, _ in v):.1f} s, "
                     f"max {max(d for d, _ in v):.1f} s, first at {min(s for _, s in v):.1f} s" for t, v in rows)


# ------------------------------------------------------------------------------------------------------ the stacks
def bench_config(n: int, chart_repo: str) -> dict[str, Any]:
    """bench/run.py's production clones, runnable here: unprotected (the benchmark destroys them), the operators'
    charts from ``chart_repo``, and no DaskAutoscaler (the Dask operator's autoscaler calls the scheduler's Service,
    a fake address on kwok's nodes)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from run import stack_config

    cfg = stack_config(n)
    cfg["raydask:protect"] = False
    for key in ("raydask:kuberay", "raydask:daskOperator"):
        cfg[key] = {**cfg[key], "chart": {**cfg[key].get("chart", {}), "repo": chart_repo}}
    cfg["raydask:daskClusters"] = [{k: v for k, v in c.items() if k != "autoscaling"} for c in cfg["raydask:daskClusters"]]
    return cfg


def write_project(directory: Path, name: str, cfg: dict[str, Any] | None) -> Path:
    """A project directory: Pulumi.yaml named ``name`` (raydask's own for ``raydask``) and the stack's config."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["name"] = name
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    (directory / "stacks").mkdir(exist_ok=True)
    (directory / "stacks" / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": cfg or {}}))
    return directory


def create_stack(project: Path, name: str, secrets: dict[str, str]) -> None:
    """Create the stack in the backend and set ``secrets`` as secrets (encrypted in its stack file, which
    ``raydask render`` reads as well)."""
    from pulumi import automation as auto

    stack = auto.create_or_select_stack(stack_name=STACK, project_name=name, program=lambda: None,
                                        opts=auto.LocalWorkspaceOptions(work_dir=str(project)))
    for key, value in secrets.items():
        stack.set_config(key, auto.ConfigValue(value, secret=True))


def record_floor(cfg: dict[str, Any], path: Path) -> int:
    """Run raydask's program under the mock engine and write what the floor registers to ``path``: every Kubernetes
    resource (objects, patches, Helm releases) in construction order, with its inputs, the options raydask gave it and
    the Kubernetes resources it depends on. Returns how many."""
    import pulumi

    from raydask.program import main
    from raydask.testing import mockrun

    options: dict[tuple[str, str], dict[str, Any]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        o = args.opts
        options[(args.type_, args.name)] = {
            "retain_on_delete": o.retain_on_delete, "ignore_changes": o.ignore_changes,
            "replace_on_changes": o.replace_on_changes, "delete_before_replace": o.delete_before_replace,
            "protect": o.protect}

    def program() -> None:
        pulumi.runtime.register_stack_transformation(capture)  # type: ignore[arg-type]
        main()

    os.environ["RAYDASK_PROJECT_DIR"] = str(ROOT)
    result = mockrun.run(program, config=cfg, stack="production", secret_keys=["raydask:redisPassword"])
    kept = sorted((r for r in result.resources if r.custom and r.type.startswith("kubernetes:")), key=lambda r: r.seq)
    names = {(r.type, r.name) for r in kept}
    floor = [{"type": r.type, "name": r.name, "inputs": r.inputs,
              "opts": {k: v for k, v in options.get((r.type, r.name), {}).items() if v is not None},
              "depends_on": [list(d) for d in result.dependencies.get((r.type, r.name), ()) if d in names]}
             for r in kept]
    path.write_bytes(pickle.dumps(floor, protocol=pickle.HIGHEST_PROTOCOL))
    return len(floor)


def floor_program(path: Path) -> Any:
    """The hand-written floor: the recorded resources as prebuilt dicts through pulumi-kubernetes's typed classes
    (``CustomResource`` / ``CustomResourcePatch`` for custom kinds, ``helm.v3.Release``), no raydask code."""
    def program() -> None:
        import importlib

        import pulumi
        from pulumi_kubernetes.apiextensions import CustomResource, CustomResourcePatch
        from pulumi_kubernetes.helm.v3 import Release

        made: dict[tuple[str, str], pulumi.Resource] = {}
        for r in pickle.loads(path.read_bytes()):
            opts = pulumi.ResourceOptions(depends_on=[made[tuple(d)] for d in r["depends_on"] if tuple(d) in made],
                                          **r["opts"])
            inputs, typ = r["inputs"], r["type"]
            # "status" is the engine's output (a Release's, a custom object's), never an input
            body = {snake(k): v for k, v in inputs.items() if k not in ("apiVersion", "kind", "status")}
            if typ == "kubernetes:helm.sh/v3:Release":
                made[(typ, r["name"])] = Release(r["name"], opts=opts, **body)
                continue
            _, group_version, kind = typ.split(":")
            module = builtin_module(group_version)
            if module is not None:
                cls = getattr(importlib.import_module(f"pulumi_kubernetes.{module}"), kind)
                made[(typ, r["name"])] = cls(r["name"], opts=opts, **body)
            else:
                custom = CustomResourcePatch if kind.endswith("Patch") else CustomResource
                made[(typ, r["name"])] = custom(r["name"], api_version=inputs["apiVersion"], kind=inputs["kind"],
                                                opts=opts, **body)

    return program


def builtin_module(group_version: str) -> str | None:
    """pulumi-kubernetes's module for a built-in API group/version (``core/v1`` → ``core.v1``,
    ``networking.k8s.io/v1`` → ``networking.v1``); None for custom groups."""
    group, _, version = group_version.rpartition("/")
    if group in ("core", "apps", "batch", "policy", "autoscaling"):
        return f"{group}.{version}"
    return f"{group.split('.')[0]}.{version}" if group.endswith(".k8s.io") else None


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


# --------------------------------------------------------------------------------------------------------- processes
def run_measured(argv: list[str], timeout: float = WAIT_S, **kwargs: Any) -> tuple[int, str, float, float, float]:
    """Run ``argv`` (bounded); returns exit code, output, wall seconds, CPU seconds of its process tree (itself and
    every descendant it reaped) and its largest resident set in MB."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    return proc.returncode, text, time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def worker(spec_path: Path) -> None:
    """One Pulumi step in this fresh process (``--worker``): writes its figures as JSON beside the spec."""
    from pulumi import automation as auto

    spec = json.loads(spec_path.read_text())
    project = Path(spec["project"])
    if spec["system"] == "raydask":
        os.environ["RAYDASK_PROJECT_DIR"] = str(project)
        sys.path.insert(0, str(ROOT / "scripts"))
        from run_pulumi import program
    else:
        program = floor_program(Path(spec["floor"]))
    name = "raydask" if spec["system"] == "raydask" else "raydask-floor"
    stack = auto.create_or_select_stack(stack_name=STACK, project_name=name, program=program,
                                        opts=auto.LocalWorkspaceOptions(work_dir=str(project)))
    steps: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()

    def on_event(e: Any) -> None:
        now = time.perf_counter() - t0
        if e.resource_pre_event is not None:
            m = e.resource_pre_event.metadata
            op = getattr(m.op, "value", str(m.op))
            steps[m.urn] = {"type": m.type, "name": m.urn.rsplit("::", 1)[-1], "op": op, "start": now, "end": now}
        for done in (e.res_outputs_event, e.res_op_failed_event):
            urn = getattr(getattr(done, "metadata", None), "urn", None)
            if urn in steps:
                steps[urn]["end"] = now

    self0, kids0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    op = spec["op"]
    changes = None
    if op == "preview":
        stack.preview(color="never", on_event=on_event)
    elif op == "destroy":
        stack.destroy(color="never", on_event=on_event)
    else:
        result = stack.up(color="never", on_event=on_event)
        changes = sum(v for k, v in (result.summary.resource_changes or {}).items() if k != "same")
    wall = time.perf_counter() - t0
    self1, kids1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    state = len(json.dumps(stack.export_stack().deployment)) if op != "preview" else None
    figures = {
        "wall": wall, "changes": changes, "state_bytes": state,
        "cpu_program": self1.ru_utime + self1.ru_stime - self0.ru_utime - self0.ru_stime,
        "cpu_cli": kids1.ru_utime + kids1.ru_stime - kids0.ru_utime - kids0.ru_stime,
        "peak_rss_mb": max(peak_rss_kib(), kids1.ru_maxrss) / 1024,
        "steps": [s for s in steps.values() if not s["type"].startswith("pulumi:")],
    }
    spec_path.with_suffix(".out.json").write_text(json.dumps(figures))


# -------------------------------------------------------------------------------------------------------- the runner
@dataclass
class Live:
    """The live tier's pieces the runs share."""

    cluster: Any
    workdir: Path
    chart_repo: str
    kubectl: str


class BenchError(RuntimeError):
    pass


def pulumi_step(live: Live, system: str, n: int, rep: int, op: str, project: Path, floor: Path | None) -> Sample:
    spec = live.workdir / "steps" / f"{system}-{n}-{rep}-{op}.json"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(json.dumps({"system": system, "op": op, "project": str(project), "floor": str(floor or "")}))
    load = os.getloadavg()[0]
    code, out, *_ = run_measured([sys.executable, str(Path(__file__).resolve()), "--worker", str(spec)],
                                 cwd=project)
    (spec.with_suffix(".log")).write_text(out)
    if code:
        raise BenchError(f"{system} {op} at N={n} failed (exit {code}); last lines:\n" + "\n".join(out.splitlines()[-30:]))
    figures = json.loads(spec.with_suffix(".out.json").read_text())
    return Sample(system, n, rep, "nochange" if op == "nochange" else op, load=load, **figures)


def wait_ready(live: Live, n: int) -> None:
    """Every RayCluster ``ready`` and every DaskCluster ``Running`` (the harness's wait, which nudges the Dask
    operator past its race, dask-kubernetes #968), bounded."""
    cp = live.cluster
    sys.path.insert(0, str(ROOT / "e2e"))
    from cluster import wait_until

    def rays_ready() -> bool:
        status, body = cp.api("GET", f"/apis/ray.io/v1/namespaces/{NAMESPACE}/rayclusters")
        states = [(i.get("status") or {}).get("state") for i in body.get("items", [])] if status == 200 else []
        return len(states) == n and all(s == "ready" for s in states)

    wait_until(rays_ready, WAIT_S, f"{n} RayClusters ready", 1)
    status, body = cp.api("GET", f"/apis/kubernetes.dask.org/v1/namespaces/{NAMESPACE}/daskclusters")
    for item in body.get("items", []) if status == 200 else []:
        cp.wait_dask_cluster_running(NAMESPACE, item["metadata"]["name"], WAIT_S)


def wait_gone(live: Live, namespaces: Sequence[str]) -> None:
    sys.path.insert(0, str(ROOT / "e2e"))
    from cluster import wait_until

    wait_until(lambda: all(live.cluster.api("GET", f"/api/v1/namespaces/{ns}")[0] == 404 for ns in namespaces),
               WAIT_S, f"namespaces {list(namespaces)} deleted", 1)


@contextlib.contextmanager
def operators(live: Live) -> Iterator[None]:
    """The KubeRay and Dask operators, started once the namespace and CRDs exist, stopped by PID afterwards."""
    from live import joined, start_operators

    threads = start_operators(live.cluster, [NAMESPACE])
    try:
        yield
        for thread in threads:
            joined(thread, WAIT_S)
    finally:
        for thread in threads:
            thread.join(WAIT_S)
        live.cluster.stop_kuberay()
        live.cluster.stop_dask()


def run_pulumi_system(live: Live, system: str, n: int, rep: int, project: Path, floor: Path | None) -> list[Sample]:
    out = [pulumi_step(live, system, n, rep, "preview", project, floor)]
    with operators(live):
        up = pulumi_step(live, system, n, rep, "up", project, floor)
        start = time.perf_counter()
        wait_ready(live, n)
        out += [up, Sample(system, n, rep, "ready", up.wall + time.perf_counter() - start, load=up.load)]
        out.append(pulumi_step(live, system, n, rep, "nochange", project, floor))
        out.append(pulumi_step(live, system, n, rep, "destroy", project, floor))
    return out


def kubectl_step(live: Live, argv: list[str]) -> tuple[str, float, float, float]:
    code, out, wall, cpu, rss = run_measured([live.kubectl, f"--kubeconfig={live.cluster.kubeconfig}", *argv])
    if code:
        raise BenchError(f"kubectl {' '.join(argv)} failed (exit {code}):\n{out[-3000:]}")
    return out, wall, cpu, rss


def run_kubectl(live: Live, n: int, rep: int, rendered: Path) -> list[Sample]:
    """``kubectl apply --server-side`` of the rendering (CRDs first, then everything else), ``kubectl wait`` for the
    RayClusters, the harness's wait for the DaskClusters; a second apply; ``kubectl delete --wait`` of all but the
    CRDs (Pulumi keeps them too)."""
    crds = ["-f", str(rendered / "_crds")]
    rest = [a for d in rendered_dirs(rendered) for a in ("-f", str(d))]
    namespaces = sorted(p.name for p in rendered.iterdir() if p.is_dir() and not p.name.startswith("_"))

    def apply(op: str) -> Sample:
        load = os.getloadavg()[0]
        outs, wall, cpu, rss = [], 0.0, 0.0, 0.0
        for argv in (["apply", "--server-side", *crds],
                     ["wait", "--for=condition=Established", "crd", "--all", f"--timeout={WAIT_S}s"],
                     ["apply", "--server-side", "-R", *rest]):
            o, w, c, r = kubectl_step(live, argv)
            outs.append(o)
            wall, cpu, rss = wall + w, cpu + c, max(rss, r)
        return Sample("kubectl", n, rep, op, wall, cpu_cli=cpu, peak_rss_mb=rss, load=load)

    with operators(live):
        up = apply("up")
        _, w_ray, c_ray, r_ray = kubectl_step(live, ["wait", "-n", NAMESPACE, "--for=jsonpath={.status.state}=ready",
                                                     "raycluster", "--all", f"--timeout={WAIT_S}s"])
        start = time.perf_counter()
        wait_ready(live, n)
        ready = Sample("kubectl", n, rep, "ready", up.wall + w_ray + time.perf_counter() - start, cpu_cli=c_ray,
                       peak_rss_mb=r_ray, load=up.load)
        nochange = apply("nochange")
        load = os.getloadavg()[0]
        # the workloads first, then the operators, then the namespaces and cluster-scoped objects: a RayCluster with
        # GCS fault tolerance keeps its finalizer until KubeRay's Redis cleanup Job ran, which a terminating
        # namespace refuses
        wall, cpu, rss = 0.0, 0.0, 0.0
        for d in sorted(rendered_dirs(rendered), key=lambda d: (d.name.startswith("_"), d.name != NAMESPACE)):
            _, w, c, r = kubectl_step(live, ["delete", "--wait=true", f"--timeout={WAIT_S}s", "--ignore-not-found",
                                             "-R", "-f", str(d)])
            wall, cpu, rss = wall + w, cpu + c, max(rss, r)
        destroy = Sample("kubectl", n, rep, "destroy", wall, cpu_cli=cpu, peak_rss_mb=rss, load=load)
    wait_gone(live, namespaces)
    return [up, ready, nochange, destroy]


CLUSTERS_PER_CPU_NODE = 4
"""A Ray plus a Dask cluster of the bench stack request 16 CPUs and 64 GiB on CPU nodes (kwok's: 64 CPUs, 256 GiB)."""
CLUSTERS_PER_GPU_NODE = 8
"""Each Dask cluster runs one GPU worker (1 GPU, 8 CPUs); a GPU node has 8 GPUs."""


def add_nodes(cp: Any, n: int) -> None:
    """More of the control plane's fake nodes (copies of its CPU and GPU nodes) so N clusters fit: its three nodes hold
    about three of the bench stack's Ray and Dask clusters, and a pod that fits nowhere keeps a cluster from ready."""
    from cluster import NODES

    cpu, gpu = (next(node for node in NODES if ("gpu" in node[0]) == want) for want in (False, True))
    cp.add_fake_nodes([(f"{name}-bench-{i}", labels, more, taints)
                       for (name, labels, more, taints), count in ((cpu, -(-n // CLUSTERS_PER_CPU_NODE)),
                                                                  (gpu, -(-n // CLUSTERS_PER_GPU_NODE)))
                       for i in range(count)])


def rendered_dirs(rendered: Path) -> list[Path]:
    """The rendering's directories but the CRDs': ``_cluster`` (namespaces, cluster-scoped objects) first, then one
    per namespace."""
    return sorted(p for p in rendered.iterdir() if p.is_dir() and p.name != "_crds")


def render(project: Path, out: Path) -> Path:
    raydask = Path(sys.executable).parent / "raydask"
    subprocess.run([str(raydask), "render", STACK, "--project", str(project), "--out", str(out), "--include-crds"],
                   check=True, capture_output=True, timeout=WAIT_S)
    return out


def bench(args: argparse.Namespace) -> list[Sample]:
    """Set up the live tier, run every repetition, tear it down by PID."""
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]
    from live import control_plane, pulumi_setup, running_ingress_controller, serve_chart_mirror

    sys.path.insert(0, str(ROOT / "e2e"))
    from cluster import load_tools_env

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="raydask-bench-live-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"work directory (logs): {workdir}", file=sys.stderr)
    tools = load_tools_env(None)
    samples: list[Sample] = []
    with (control_plane(workdir / "control-plane", tools) as cp, running_ingress_controller(cp),
          serve_chart_mirror(workdir) as repo):
        add_nodes(cp, max(args.sizes))
        pulumi_setup(tools, cp, workdir)
        live = Live(cp, workdir, repo, tools["RAYDASK_KUBECTL"])
        prepared = {}
        for n in args.sizes:
            cfg = bench_config(n, repo)
            project = write_project(workdir / f"raydask-{n}", "raydask", {k: v for k, v in cfg.items() if k not in SECRETS})
            create_stack(project, "raydask", {k: v for k, v in cfg.items() if k in SECRETS})
            floor_project = write_project(workdir / f"floor-{n}", "raydask-floor", None)
            floor = workdir / f"floor-{n}.pickle"
            count = record_floor(cfg, floor)
            rendered = render(project, workdir / f"rendered-{n}") if "kubectl" in args.systems else None
            print(f"N={n}: {count} Kubernetes resources registered by raydask", file=sys.stderr)
            prepared[n] = (project, floor_project, floor, rendered)
        for rep in range(args.reps):
            for n, (project, floor_project, floor, rendered) in prepared.items():
                for system in args.systems:
                    print(f"rep {rep + 1}/{args.reps} N={n} {system}…", file=sys.stderr, flush=True)
                    if system == "kubectl":
                        assert rendered is not None
                        samples += run_kubectl(live, n, rep, rendered)
                    elif system == "raydask":
                        samples += run_pulumi_system(live, system, n, rep, project, None)
                    else:
                        samples += run_pulumi_system(live, system, n, rep, floor_project, floor)
                    if args.json:  # kept as it grows: a run cut short still has its samples
                        args.json.write_text(json.dumps([s.__dict__ for s in samples], indent=1))
    shutil.rmtree(workdir / "pulumi-home" / "plugins", ignore_errors=True)
    return samples


def report(samples: Sequence[Sample], sizes: Sequence[int], systems: Sequence[str]) -> str:
    loads = [s.load for s in samples]
    lines = [table(samples, sizes, systems), ""]
    for n in sizes:
        for system in (s for s in systems if s != "kubectl"):
            for op in ("up", "destroy"):
                if any((s.system, s.n, s.op) == (system, n, op) for s in samples):
                    lines.append(f"N={n} {system} {op} steps: {slowest_steps(samples, system, n, op)}")
    if loads:
        lines.append(f"load average (1 min) at the steps' starts: {min(loads):.1f}–{max(loads):.1f} on "
                     f"{os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args.worker)
        return
    samples = bench(args)
    if args.json:
        args.json.write_text(json.dumps([s.__dict__ for s in samples], indent=1))
    print(report(samples, args.sizes, args.systems))


if __name__ == "__main__":
    main()
