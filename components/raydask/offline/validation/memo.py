"""What upstream consumers derived from an input, kept on disk: the Dask operator's expansion of a DaskCluster, the Ray
autoscaler's config of a RayCluster. Importing them costs more CPU than everything else ``raydask validate`` does
(distributed, kopf and kr8s ~1.1 s, ray ~0.35 s), so a run whose clusters were validated before reads the results
instead of importing them.

A result is keyed by everything it depends on: the input, the upstream distribution's version and the files the
computation reads (the raydask module around the upstream call, the CRDs it prunes with). What raises is not kept. The
directory is ``$RAYDASK_VALIDATION_CACHE``, else ``$XDG_CACHE_HOME/raydask/validation``, else
``~/.cache/raydask/validation``; ``RAYDASK_VALIDATION_CACHE=off`` keeps nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from raydask.charts import write_atomically

CACHE_ENV = "RAYDASK_VALIDATION_CACHE"
"""Environment variable naming the directory (``off``: no cache)."""
FORMAT = 1
"""Bumped when what is stored changes shape."""
KEPT = 2000
"""Entries kept: past that, a write removes the oldest half (an entry is a few kilobytes)."""

T = TypeVar("T")


def cache_dir() -> Path | None:
    """Where results are kept; None when ``$RAYDASK_VALIDATION_CACHE`` is ``off``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return None if env == "off" else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "raydask" / "validation"


@functools.cache
def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "missing"


@functools.cache
def _content(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remembered(what: str, distribution: str, sources: Iterable[Path], inputs: Any, compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned for the same ``inputs`` before: ``what`` names the computation,
    ``distribution`` the upstream package it runs and ``sources`` the other files it reads. The result must survive a
    JSON round trip unchanged."""
    directory = cache_dir()
    if directory is None:
        return compute()
    fingerprint = [FORMAT, what, _version(distribution), sorted(_content(p.resolve()) for p in sources), inputs]
    key = hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=repr).encode()).hexdigest()
    entry = directory / f"{key}.json"
    with contextlib.suppress(OSError, ValueError):
        stored: T = json.loads(entry.read_text(encoding="utf-8"))
        return stored
    result = compute()
    with contextlib.suppress(OSError, TypeError, ValueError):
        _store(directory, entry, json.dumps(result))
    return result


def _store(directory: Path, entry: Path, text: str) -> None:
    write_atomically(entry, text)
    entries = list(directory.glob("*.json"))
    if len(entries) > KEPT:
        for old in sorted(entries, key=lambda p: p.stat().st_mtime)[: len(entries) // 2]:
            with contextlib.suppress(OSError):
                old.unlink()
