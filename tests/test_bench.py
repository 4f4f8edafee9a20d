"""The benchmark script runs end to end and prints every figure it promises (a smoke run, nothing timed)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_prints_its_table_and_ratio_line() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--reps", "1", "--sizes", "1,2"],
                         check=True, capture_output=True, text=True, cwd=ROOT, timeout=300).stdout
    lines = out.splitlines()
    assert re.fullmatch(r"\s+1\s+35\s+[\d.]+\s+[\d.]+\s+[\d.]+", lines[1]), out
    assert re.fullmatch(r"\s+2\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+", lines[2]), out
    assert "scaling time(N=2)/time(N=1): " in out
    assert re.search(r"our marginal cost per cluster \(Ray or Dask\): -?[\d.]+ ms \(the floor's: -?[\d.]+ ms\)", out)
    assert ("helm template of KubeRay's ray-cluster chart: " in out) == (bench_module().helm_template_command() is not None), out
    assert re.search(r"import raydask: [\d.]+ s; import pulumi, pulumi_kubernetes: [\d.]+ s", out)
    assert re.search(r"peak memory at N=2: \d+ MB", out)
    assert re.fullmatch(r"ratio N=1:[\d.]+ N=2:[\d.]+", lines[-1]), out


def test_offline_bench_parses_its_arguments_and_prints_its_figures() -> None:
    spec = importlib.util.spec_from_file_location("bench_offline", ROOT / "bench" / "offline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(["--reps", "2", "--commands", "help,validate"])
    assert (args.reps, args.commands, args.against) == (2, ["help", "validate"], None)
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "offline.py"), "--reps", "1", "--commands", "help"],
                         check=True, capture_output=True, text=True, cwd=ROOT, timeout=120).stdout
    assert re.search(r"^help\s+[\d.]+\s+[\d.]+\s+0\.3$", out, re.MULTILINE), out
    assert re.search(r"load average during the runs: [\d.]+–[\d.]+ on \d+ CPUs", out), out
