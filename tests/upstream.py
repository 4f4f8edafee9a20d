"""The upstream charts and CRDs the tests use, read through the runtime's own chart source and cache
(:mod:`raydask.charts`): the chart cache (``$RAYDASK_CHART_CACHE``, else ``~/.cache/raydask/charts``), where a chart
missing from it is fetched from its public repository, as ``pulumi up`` and ``raydask render`` fetch it. Without the
network, fill the cache once from a local copy of the repositories: ``.venv/bin/raydask charts mirror <dir>`` (CI:
``../shared``). The session copies what it needs into a cache of its own, so tests that write to a cache never touch
the user's.

KubeRay's samples are not a chart and no registry ships them: they come from the reference folder beside the checkout
(``../shared``, or ``$RAYDASK_SHARED_DIR``) only. A test that needs them skips with one line saying so when it is absent
(and fails instead where ``RAYDASK_REQUIRE_SAMPLES=1``, as in ``.ci/run``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from raydask import charts
from raydask.offline.validation.upstream import PINNED, PROMETHEUS_OPERATOR, PROMETHEUS_OPERATOR_VERSION, Pinned
from raydask.offline.validation.upstream import dask_wheel_chart as _wheel
from raydask.spec.dask import DASK_OPERATOR_VERSION
from raydask.spec.kuberay import KUBERAY_CHART_REPO

ROOT = Path(__file__).resolve().parent.parent
REQUIRED: tuple[Pinned, ...] = (*PINNED, Pinned("ray-cluster", "1.7.0", KUBERAY_CHART_REPO))
"""What the tests read: every operator version raydask supports, the monitor CRDs, and KubeRay's own ray-cluster chart
(the tool users have today, for comparisons)."""
__all__ = ["DASK_OPERATOR_VERSION", "dask_wheel_chart", "kuberay_chart", "kuberay_samples", "prometheus_crds", "seed"]


def seed(session_cache: Path) -> str | None:
    """Copy every chart of :data:`REQUIRED` from the chart cache (fetched into it first where the network allows) into
    ``session_cache``; None when all are there, else the one line that says what to do."""
    missing: list[str] = []
    reason = ""
    for chart in REQUIRED:
        try:
            found = chart.locate()
        except charts.ChartError as exc:
            missing.append(f"{chart.name} {chart.version}")
            reason = reason or str(exc)
            continue
        if chart.name == PROMETHEUS_OPERATOR:
            charts.add_crds(found / "crds", chart.name, chart.version, cache=session_cache)
        else:
            charts.add(found, cache=session_cache)
    if not missing:
        return None
    return (f"raydask tests: the chart cache {charts.cache_dir()} lacks {', '.join(missing)}, which cannot be fetched here "
            f"({reason}): connect to the public chart repositories (the charts are fetched on first use), or fill the cache "
            "from a local copy once: .venv/bin/raydask charts mirror <dir> (CI: ../shared)")


def kuberay_chart(version: str = "1.7.0", name: str = "kuberay-operator") -> Path:
    """A KubeRay chart in the session's chart cache (``kuberay-operator`` 1.7.0 or 1.5.0, ``ray-cluster`` 1.7.0)."""
    found = charts.cached(name, version)
    assert found is not None, f"{name} {version} is not in the session's chart cache (tests/upstream.py REQUIRED)"
    return found.path


def prometheus_crds() -> Path:
    """The Prometheus operator's ServiceMonitor and PodMonitor CRDs in the session's chart cache."""
    found = charts.cached(PROMETHEUS_OPERATOR, PROMETHEUS_OPERATOR_VERSION)
    assert found is not None, "the Prometheus operator's CRDs are not in the session's chart cache"
    return found.path / "crds"


def dask_wheel_chart() -> Path:
    """The Dask operator chart inside the installed dask-kubernetes wheel (its Chart.yaml carries placeholders)."""
    found = _wheel()
    assert found is not None, "dask-kubernetes is not installed (bash scripts/setup.sh --test)"
    return found[0]


def kuberay_samples() -> Path:
    """KubeRay 1.7.0's ``ray-operator/config/samples/`` in the reference folder; skips (fails with
    ``RAYDASK_REQUIRE_SAMPLES=1``) with one line when it is not there."""
    shared = Path(os.environ.get("RAYDASK_SHARED_DIR") or ROOT.parent / "shared")
    path = shared / "upstream" / "kuberay-1.7.0" / "samples"
    if not path.is_dir():
        line = (f"KubeRay 1.7.0's samples are not at {path}: put the reference folder beside the checkout (../shared) or "
                "set RAYDASK_SHARED_DIR")
        if os.environ.get("RAYDASK_REQUIRE_SAMPLES") == "1":
            pytest.fail(line, pytrace=False)
        pytest.skip(line)
    return path
