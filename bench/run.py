"""Benchmark: raydask's program against the raw-SDK floor and against `helm template` (prints figures).

    .venv/bin/python bench/run.py [--reps 5] [--sizes 1,10,100]

Stacks of N production-like Ray clusters plus N Dask clusters (two worker groups, Ingress, monitoring,
NetworkPolicy — cloned from stacks/Pulumi.production.yaml) are built under the SDK mock engine. The floor registers
the very same objects as prebuilt dicts straight through pulumi-kubernetes: no models, no builders, no components.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from raydask import charts
from raydask.k8s.manifest import RELEASE_TYPE
from raydask.offline.render import RenderError, find_helm
from raydask.program import main
from raydask.testing import mockrun

ROOT = Path(__file__).resolve().parent.parent

SECRETS = {"raydask:redisPassword": "bench-placeholder"}
HELM_SAMPLES_PER_REP = 3


def stack_config(n: int) -> dict[str, Any]:
    """Production config with its first Ray and Dask cluster cloned N times."""
    cfg = yaml.safe_load((ROOT / "stacks" / "Pulumi.production.yaml").read_text())["config"]
    for key in ("raydask:rayClusters", "raydask:daskClusters"):
        template = cfg.get(key, [{}])[0]
        clones = []
        for i in range(n):
            c = copy.deepcopy(template)
            c["name"] = f"{template['name']}-{i}"
            for exposure in ("dashboard", "serve"):
                ingress = (c.get(exposure) or {}).get("ingress")
                if ingress:
                    ingress["host"] = f"{c['name']}-{exposure}.example.com"
            clones.append(c)
        if template:
            cfg[key] = clones
    for key in ("raydask:rayJobs", "raydask:rayServices"):
        cfg.pop(key, None)
    cfg.update(SECRETS)
    return cfg


def ours(cfg: dict[str, Any]) -> mockrun.RunResult:
    os.environ["RAYDASK_PROJECT_DIR"] = str(ROOT)
    return mockrun.run(main, config=cfg, stack="production", secret_keys=list(SECRETS))


def floor_objects(registered: list[mockrun.Registered]) -> bytes:
    """What the floor registers (the objects and Helm releases raydask registered), pickled: nothing the garbage
    collector walks while the other side is timed."""
    objects = [(r.name, r.inputs) for r in registered if r.is_kubernetes_object]
    releases = [(r.name, r.inputs) for r in registered if r.type == RELEASE_TYPE]
    return pickle.dumps((objects, releases), protocol=pickle.HIGHEST_PROTOCOL)


def floor_program(blob: bytes) -> Any:
    """A hand-written program: the same objects as prebuilt dicts, typed SDK classes, no raydask code."""
    import pulumi_kubernetes as k8s
    from pulumi_kubernetes.apiextensions import CustomResource
    from pulumi_kubernetes.helm.v3 import Release

    classes = {
        "Namespace": k8s.core.v1.Namespace, "Service": k8s.core.v1.Service, "Secret": k8s.core.v1.Secret,
        "Ingress": k8s.networking.v1.Ingress, "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
        "CustomResourceDefinition": k8s.apiextensions.v1.CustomResourceDefinition,
    }
    objects, releases = pickle.loads(blob)

    def program() -> None:
        for name, o in objects:
            body = {re.sub(r"([A-Z])", r"_\1", k).lower(): v for k, v in o.items() if k not in ("apiVersion", "kind")}
            cls = classes.get(o["kind"])
            if cls is not None:
                cls(name, api_version=o["apiVersion"], kind=o["kind"], **body)
            else:
                CustomResource(name, api_version=o["apiVersion"], kind=o["kind"], **body)
        for name, r in releases:
            Release(name, chart=r["chart"], version=r["version"], namespace=r["namespace"], values=r["values"],
                    repository_opts=r["repositoryOpts"], skip_crds=r["skipCrds"], name=r["name"])

    return program


def sample(fn: Any, setup: Any = None) -> float:
    """Seconds of one ``fn(setup())``; ``setup`` and a full collection run untimed first, so every sample starts from
    the same heap."""
    arg = setup() if setup else None
    gc.collect()
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def timed(fn: Any, reps: int, setup: Any = None) -> float:
    """Median seconds of ``reps`` samples of ``fn``."""
    return statistics.median(sample(fn, setup) for _ in range(reps))


def marginal(big: list[float], small: list[float], clusters: int) -> float:
    """Seconds per cluster from ``small`` to ``big`` (``clusters`` more): the median of each repetition's difference,
    whose two runs are moments apart."""
    return statistics.median((b - s) / clusters for b, s in zip(big, small, strict=True))


def import_time(statement: str, reps: int) -> float:
    return timed(lambda _: subprocess.run([sys.executable, "-c", statement], check=True, cwd=ROOT), reps)


def peak_rss_kib() -> int:
    """This process's peak resident set size in KiB: Linux's ``VmHWM``, which (unlike ``ru_maxrss``) does not inherit
    the high-water mark of the process that forked it."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_memory_mb(n: int) -> float:
    """Peak RSS of a fresh interpreter that imports raydask and builds the N-cluster stack once."""
    code = (f"import sys; sys.argv=['x']; sys.path.insert(0, {str(ROOT / 'bench')!r}); import run; "
            f"run.ours(run.stack_config({n})); print(run.peak_rss_kib())")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def helm_template_command() -> list[str] | None:
    """``helm template`` of KubeRay's ray-cluster chart 1.7.0 from the chart cache; None without helm or the chart."""
    try:
        helm = find_helm()
        chart = charts.cached("ray-cluster", "1.7.0")
    except (RenderError, charts.ChartError):
        return None
    return [str(helm), "template", "train", str(chart.path), "--namespace", "ml"] if chart else None


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="1,10,100")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    helm = helm_template_command()
    prepared = {}
    for n in sizes:
        cfg = stack_config(n)
        result = ours(cfg)
        prepared[n] = (cfg, len(result.resources), floor_objects(result.resources))
        del result
    # Repetitions interleave every measurement (ours and the floor at each N, then helm), so slow spells of a shared
    # machine weigh on all sides alike instead of on whichever ran during them.
    samples: dict[str, list[float]] = {}
    for _ in range(args.reps):
        for n, (cfg, _count, blob) in prepared.items():
            samples.setdefault(f"ours{n}", []).append(sample(lambda _, cfg=cfg: ours(cfg)))
            samples.setdefault(f"floor{n}", []).append(sample(lambda floor: mockrun.run(floor, stack="production"),
                                                              setup=lambda blob=blob: floor_program(blob)))
        if helm:
            for _ in range(HELM_SAMPLES_PER_REP):
                samples.setdefault("helm", []).append(
                    sample(lambda _: subprocess.run(helm, check=True, capture_output=True)))
    median = {key: statistics.median(values) for key, values in samples.items()}
    rows = [(n, count, median[f"ours{n}"], median[f"floor{n}"]) for n, (_cfg, count, _blob) in prepared.items()]
    ratios = {n: t_o / t_f for n, _, t_o, t_f in rows}
    helm_s = median.get("helm")

    imp_ours = import_time("import raydask", args.reps)
    imp_api = import_time("from raydask import RayCluster, DaskCluster, KubeRayOperator, DaskOperator", args.reps)
    imp_floor = import_time("import pulumi, pulumi_kubernetes", args.reps)
    imp_floor_api = import_time("import pulumi, pulumi_kubernetes.core.v1, pulumi_kubernetes.networking.v1, "
                                "pulumi_kubernetes.apiextensions, pulumi_kubernetes.helm.v3", args.reps)
    mem = peak_memory_mb(max(sizes))

    print(f"{'N':>5} {'resources':>10} {'ours s':>9} {'floor s':>9} {'ratio':>6}")
    for n, count, t_o, t_f in rows:
        print(f"{n:>5} {count:>10} {t_o:>9.3f} {t_f:>9.3f} {t_o / t_f:>6.2f}")
    if len(sizes) > 1:
        small, big = sorted(sizes)[-2:]
        print(f"scaling time(N={big})/time(N={small}): {median[f'ours{big}'] / median[f'ours{small}']:.2f}")
        more = 2 * (big - small)  # N Ray plus N Dask clusters
        per_cluster = marginal(samples[f"ours{big}"], samples[f"ours{small}"], more)
        floor_per_cluster = marginal(samples[f"floor{big}"], samples[f"floor{small}"], more)
        print(f"our marginal cost per cluster (Ray or Dask): {per_cluster * 1000:.1f} ms "
              f"(the floor's: {floor_per_cluster * 1000:.1f} ms)")
        if helm_s:
            print(f"helm template of KubeRay's ray-cluster chart: {helm_s * 1000:.1f} ms per cluster "
                  f"(ours / helm = {per_cluster / helm_s:.2f})")
    print(f"import raydask: {imp_ours:.3f} s; import pulumi, pulumi_kubernetes: {imp_floor:.3f} s "
          f"(ratio {imp_ours / imp_floor:.2f})")
    print(f"import the four components: {imp_api:.3f} s; the SDK modules they use: {imp_floor_api:.3f} s "
          f"(ratio {imp_api / imp_floor_api:.2f})")
    print(f"peak memory at N={max(sizes)}: {mem:.0f} MB")
    print(json.dumps({"ratio": ratios}), file=sys.stderr)
    print("ratio " + " ".join(f"N={n}:{r:.2f}" for n, r in ratios.items()))


if __name__ == "__main__":
    main_bench()
