"""Offline figures: CPU time (user + system, the command and its children: helm) of ``raydask --help``, ``raydask
render production`` and ``raydask validate dev production`` (prints figures, with the machine's load).

    .venv/bin/python bench/offline.py [--reps 3] [--commands help,render,validate,validate-first] [--against DIR]

``validate`` runs with the validators' memory of upstream results warm (the clusters were validated before: the usual
run while editing a stack), ``validate-first`` with it empty (the Dask operator and Ray's autoscaler imported and run);
both in the benchmark's own directory, never the user's.

``--against DIR``: also time the ``components/`` of another checkout (e.g. ``git worktree add /tmp/before main``) with
this virtualenv, interleaved with this one, repetition by repetition. Targets (issue 27): ``--help`` ≤ 0.3 s, ``render
production`` ≤ 2 s, ``validate dev production`` ≤ 3 s. CPU time on a shared machine grows with its load (caches,
hyper-threads): compare figures taken side by side, not across days.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"help": ["--help"], "render": ["render", "production", "--out", "{tmp}"],
            "validate": ["validate", "dev", "production"], "validate-first": ["validate", "dev", "production"]}
"""What each figure runs (``raydask <args>``)."""
TARGETS = {"help": 0.3, "render": 2.0, "validate": 3.0, "validate-first": 3.0}
"""Issue 27's targets, seconds of CPU."""


def cpu_of(command: str, label: str, components: Path | None, tmp: Path) -> float:
    """CPU seconds (user + system) of one ``raydask`` run of ``command`` and its children; ``components``: run that
    checkout's code (``label`` names it)."""
    args = COMMANDS[command]
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules are cached
    memo = tmp / "validation-memo" / label
    if command == "validate-first":
        shutil.rmtree(memo, ignore_errors=True)
    env["RAYDASK_VALIDATION_CACHE"] = str(memo)
    if components is not None:
        env["PYTHONPATH"] = str(components)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-m", "raydask.offline.command", *[a.format(tmp=tmp) for a in args]],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):  # validate exits 1 on findings: still a full run
        raise SystemExit(f"raydask {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each command (default 3)")
    parser.add_argument("--commands", default=",".join(COMMANDS), help="which figures (default: all of help,render,validate)")
    parser.add_argument("--against", type=Path, help="another checkout whose components/ to time beside this one")
    args = parser.parse_args(argv)
    args.commands = [c for c in args.commands.split(",") if c]
    if unknown := set(args.commands) - set(COMMANDS):
        parser.error(f"unknown command(s) {sorted(unknown)}: choose from {', '.join(COMMANDS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    variants: dict[str, Path | None] = {"this": None}
    if args.against is not None:
        variants["against"] = (args.against / "components").resolve()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"raydask-bench-offline-{os.getpid()}"
    try:
        for command in args.commands:  # warm-up: chart cache, parsed CRDs, compiled modules
            for label, components in variants.items():
                cpu_of(command, label, components, tmp)
        times: dict[tuple[str, str], list[float]] = {}
        loads = []
        started = time.monotonic()
        for _ in range(args.reps):
            for command in args.commands:
                for label, components in variants.items():
                    loads.append(os.getloadavg()[0])
                    times.setdefault((command, label), []).append(cpu_of(command, label, components, tmp))
        print(f"{'command':<15}" + "".join(f"{label + ' CPU s (median, min)':>30}" for label in variants) + f"{'target s':>10}")
        for command in args.commands:
            cells = "".join(f"{statistics.median(t):>20.2f}{min(t):>10.2f}" for t in (times[(command, v)] for v in variants))
            print(f"{command:<15}{cells}{TARGETS[command]:>10.1f}")
        print(f"load average during the runs: {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs; "
              f"{args.reps} interleaved repetitions in {time.monotonic() - started:.0f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
