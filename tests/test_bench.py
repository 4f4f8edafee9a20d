"""The benchmark script runs end to end and prints every figure it promises (a smoke run, nothing timed)."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench_script(name: str) -> Any:
    """``bench/<name>.py`` loaded as the module ``bench_<name>`` (registered: its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_prints_its_table_and_ratio_line() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--reps", "1", "--sizes", "1,2"],
                         check=True, capture_output=True, text=True, cwd=ROOT, timeout=300).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"\s+1\s+38\s+[\d.]+\s+[\d.]+\s+[\d.]+", lines[1]), out
    assert re.fullmatch(r"\s+2\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+", lines[2]), out
    assert "scaling time(N=2)/time(N=1): " in out
    assert re.search(r"our marginal cost per cluster \(Ray or Dask\): -?[\d.]+ ms \(the floor's: -?[\d.]+ ms\)", out)
    assert ("helm template of KubeRay's ray-cluster chart: " in out) == (bench_script("run").helm_template_command() is not None), out
    assert re.search(r"import raydask: [\d.]+ s; import pulumi, pulumi_kubernetes: [\d.]+ s", out)
    assert re.search(r"peak memory at N=2: \d+ MB", out)
    assert re.fullmatch(r"ratio N=1:[\d.]+ N=2:[\d.]+", lines[-1]), out


def test_offline_bench_parses_its_arguments_and_prints_its_figures() -> None:
    args = bench_script("offline").parse_args(["--reps", "2", "--commands", "help,validate"])
    assert (args.reps, args.commands, args.against) == (2, ["help", "validate"], None)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "offline.py"), "--reps", "1", "--commands", "help"],
                         check=True, capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert re.search(r"^help\s+[\d.]+\s+[\d.]+\s+0\.3$", out, re.MULTILINE), out
    assert re.search(r"load average during the runs: [\d.]+–[\d.]+ on \d+ CPUs", out), out


def test_offline_bench_keeps_the_validation_memory_in_its_own_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``validate-first`` empties the memory before each run: inside the benchmark's directory, whatever checkout
    ``--against`` names (a path joined to it once removed the checkout)."""
    offline = bench_script("offline")
    checkout = tmp_path / "checkout" / "components"
    checkout.mkdir(parents=True)
    seen: list[dict[str, str]] = []
    monkeypatch.setattr(offline.subprocess, "run", lambda *a, env, **k: seen.append(env) or subprocess.CompletedProcess(a, 0))
    for label, components in (("this", None), ("against", checkout.resolve())):
        offline.cpu_of("validate-first", label, components, tmp_path / "bench")
    memories = [Path(env["RAYDASK_VALIDATION_CACHE"]) for env in seen]
    assert memories == [tmp_path / "bench" / "validation-memo" / "this", tmp_path / "bench" / "validation-memo" / "against"]
    assert checkout.is_dir()


def test_live_bench_parses_its_arguments() -> None:
    live = bench_script("live")
    args = live.parse_args([])
    assert (args.sizes, args.reps, args.systems) == ([1, 10, 50], 3, ["raydask", "floor", "kubectl"])
    args = live.parse_args(["--sizes", "1,10", "--reps", "2", "--systems", "raydask,kubectl"])
    assert (args.sizes, args.reps, args.systems) == ([1, 10], 2, ["raydask", "kubectl"])
    for bad in (["--sizes", "1,x"], ["--sizes", "0"], ["--reps", "0"], ["--systems", "helm"]):
        with pytest.raises(SystemExit):
            live.parse_args(bad)


def test_live_bench_table_reports_medians_and_ratios() -> None:
    live = bench_script("live")
    samples = []
    for rep, (ours, floor, kubectl) in enumerate([(12.0, 10.0, 4.0), (30.0, 20.0, 5.0), (14.0, 10.0, 6.0)]):
        for system, wall in (("raydask", ours), ("floor", floor)):
            for op in ("preview", "up", "nochange", "destroy"):
                samples.append(live.Sample(system, 1, rep, op, wall, cpu_program=1.0, cpu_cli=2.0,
                                           changes=0 if op == "nochange" else None,
                                           state_bytes=2_000_000 if op == "up" else None, peak_rss_mb=100.0, load=rep))
            samples.append(live.Sample(system, 1, rep, "ready", wall * 2, load=rep))
        samples.append(live.Sample("kubectl", 1, rep, "ready", kubectl, cpu_cli=0.5, load=rep))
    samples[1].steps = [{"type": "kubernetes:ray.io/v1:RayCluster", "name": "train", "op": "create", "start": 1.0,
                         "end": 4.0}]
    out = live.report(samples, [1], ["raydask", "floor", "kubectl"])
    lines = out.splitlines()
    # raydask's medians: 14 s for every Pulumi step, 28 s to ready; program CPU 1 s per step (4 steps), CLI 2 s
    assert lines[1].split() == ["1", "raydask", "14.0", "14.0", "28.0", "14.0", "0", "14.0", "4.0", "8.0", "2.00", "100"]
    assert lines[3].split() == ["1", "kubectl", "—", "—", "5.0", "—", "—", "—", "0.0", "0.5", "—", "—"]
    # ratios of the medians: 14/10 on every step, ready 28/5 and 20/5
    assert lines[6].split() == ["1", "1.40", "1.40", "1.40", "1.40", "5.60", "4.00"]
    assert "N=1 raydask up steps: ray.io/v1:RayCluster ×1: median 3.0 s, max 3.0 s, first at 1.0 s" in out
    assert out.endswith("load average (1 min) at the steps' starts: 0.0–2.0 on " f"{os.cpu_count()} CPUs")
