"""Shared fixtures: a mock-engine runner with a fresh event loop per run and options reset after."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest

from raydask.testing import mockrun

ROOT = Path(__file__).resolve().parent.parent


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _netns() -> str:
    """The calling thread's network namespace (a live test may move a thread into its node's namespace)."""
    return os.readlink(f"/proc/self/task/{threading.get_native_id()}/ns/net")


def _loopback_only(connect: Callable[..., Any]) -> Callable[..., Any]:
    """Only loopback from this machine's network namespace; from a thread inside a namespace the tests created (the
    real node's: no route out of it), anything there."""
    home = _netns()

    def guarded(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and not _is_loopback(str(host)) and _netns() == home:
            raise OSError(f"the tests talk to 127.0.0.1 only: connecting to {host} refused")
        return connect(sock, address)
    return guarded


SESSION_CACHE: list[Path] = []


def pytest_configure(config: pytest.Config) -> None:
    """The session's own chart cache, copied from the chart cache the runtime reads (missing charts fetched into it where
    the network allows; the run stops at once with one line when they cannot be), then no connection anywhere but
    loopback."""
    from upstream import seed

    from raydask.charts import CACHE_ENV
    from raydask.offline.validation import memo

    cache = Path(tempfile.mkdtemp(prefix="raydask-test-charts-"))
    SESSION_CACHE.append(cache)
    problem = seed(cache)
    if problem:
        pytest.exit(problem, returncode=4)
    os.environ[CACHE_ENV] = str(cache)
    os.environ[memo.CACHE_ENV] = "off"  # the validators run upstream's code in every test (tests/test_validation_memo.py: the cache)
    socket.socket.connect = _loopback_only(socket.socket.connect)  # type: ignore[method-assign]


LIVE_TIER = "tests/e2e/"
"""Where the live tier's tests are (node ids are relative to the repository): one session, one control plane and one
node, so one pytest-xdist worker runs them all, in file order."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (the test command: ``-n 2``) the live tier is one unit of work: one worker runs it while the
    other runs the fast tier. (``--dist loadgroup`` would say so with a mark, but pytest-xdist 3.8's renaming of the
    grouped node ids does not take under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class LiveTierApart(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return LIVE_TIER if nodeid.startswith(LIVE_TIER) else nodeid

    return LiveTierApart(config, log)


NICED: list[int] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The worker that runs the fast tier beside the live tier (whose waits and timeouts are real time) lowers its own
    priority before its first test: it takes the CPU the live tier leaves idle rather than slowing it down."""
    if os.environ.get("PYTEST_XDIST_WORKER") and not NICED and item.get_closest_marker("e2e") is None:
        NICED.append(os.nice(10))


def pytest_unconfigure(config: pytest.Config) -> None:
    for cache in SESSION_CACHE:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture
def run_program() -> Iterator[Callable[..., mockrun.RunResult]]:
    """Run a program under mocks: ``run_program(fn, config={...}, stack="dev")``; each call gets a fresh loop."""
    yield mockrun.run
    pulumi.runtime.settings.reset_options()


@pytest.fixture
def project_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run with the project directory as the program's working directory (as `pulumi up` does)."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("RAYDASK_PROJECT_DIR", str(ROOT))
    return ROOT
