"""bench/live.py runs end to end on the live tier and prints every figure it promises (N = 1, one repetition; a smoke
run, nothing timed). It starts its own control plane, by PID, beside the session's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from live import ROOT


def test_live_bench_runs_every_system_once(workdir: Path) -> None:
    samples_file = workdir / "bench-live.json"
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "live.py"), "--sizes", "1", "--reps", "1",
                          "--workdir", str(workdir / "bench-live"), "--json", str(samples_file)],
                         capture_output=True, text=True, cwd=ROOT, timeout=3600)
    assert out.returncode == 0, out.stderr[-5000:]
    lines = out.stdout.splitlines()
    number = r"\d+\.\d"
    assert re.fullmatch(rf"\s+1 raydask\s+{number}\s+{number}\s+{number}\s+{number}\s+0\s+{number}\s+{number}\s+{number}"
                        r"\s+\d+\.\d\d\s+\d+", lines[1]), out.stdout
    assert re.fullmatch(rf"\s+1 floor\s+{number}\s+{number}\s+{number}\s+{number}\s+\d+\s+{number}.*", lines[2]), out.stdout
    assert re.fullmatch(rf"\s+1 kubectl\s+—\s+{number}\s+{number}\s+{number}\s+—\s+{number}.*", lines[3]), out.stdout
    assert re.fullmatch(r"\s+1(\s+\d+\.\d\d){6}", lines[6]), out.stdout
    assert re.search(r"^N=1 raydask up steps: .*RayCluster", out.stdout, re.MULTILINE), out.stdout
    assert re.search(r"load average \(1 min\) at the steps' starts: [\d.]+–[\d.]+ on \d+ CPUs$", out.stdout), out.stdout
    samples = json.loads(samples_file.read_text())
    assert {(s["system"], s["op"]) for s in samples} == {
        *((system, op) for system in ("raydask", "floor") for op in ("preview", "up", "ready", "nochange", "destroy")),
        *(("kubectl", op) for op in ("up", "ready", "nochange", "destroy"))}
    nochange = next(s for s in samples if (s["system"], s["op"]) == ("raydask", "nochange"))
    assert nochange["changes"] == 0, [s for s in nochange["steps"] if s["op"] != "same"]
