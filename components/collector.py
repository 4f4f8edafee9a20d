"""The cyclic garbage collector while a stack is declared and registered.

A Pulumi program declares resources faster than the engine registers them: each component leaves hundreds of the
SDK's in-flight objects (tasks, futures, Outputs) that stay alive until the engine has its resources. Python's
collections re-scan every one of them, again and again — at 200 clusters about as much time as registering them
(README, "Performance"). :func:`spare` takes what is alive out of those scans and collects the young generation less
often; :func:`hand_back_when` undoes both once the components' main objects are registered. Reference counting frees
everything as usual meanwhile; only reference cycles among the spared objects wait for the hand-back.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

import pulumi

YOUNG_THRESHOLD = 5000
"""Allocations between young collections while sparing (Python's default is 700): the SDK's objects for a handful of
in-flight registrations die young instead of being promoted and scanned again (README, "Performance")."""

_saved_threshold: tuple[int, int, int] | None = None
"""The collector's thresholds before the first :func:`spare` (None when not sparing)."""


def spare() -> None:
    """Exempt every object alive now from cyclic collection until :func:`hand_back` (O(1); call it after each
    component); until then young collections run every :data:`YOUNG_THRESHOLD` allocations."""
    global _saved_threshold
    gc.freeze()
    if _saved_threshold is None:
        _saved_threshold = gc.get_threshold()
        if 0 < _saved_threshold[0] < YOUNG_THRESHOLD:
            gc.set_threshold(YOUNG_THRESHOLD, *_saved_threshold[1:])


def sparing() -> bool:
    """Whether objects are spared now (a :func:`spare` not yet handed back)."""
    return _saved_threshold is not None


def hand_back() -> None:
    """Return every spared object to the collector (its oldest generation) and restore its thresholds; nothing when not
    sparing."""
    global _saved_threshold
    if _saved_threshold is None:
        return
    gc.unfreeze()
    gc.set_threshold(*_saved_threshold)
    _saved_threshold = None


def hand_back_when(done: Iterable[pulumi.Output[Any]]) -> None:
    """:func:`hand_back` once every Output in ``done`` has resolved (at once when there are none)."""
    pulumi.Output.all(*done).apply(lambda _: hand_back())
