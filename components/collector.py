"""The cyclic garbage collector while a stack is declared and registered.

A Pulumi program declares resources faster than the engine registers them: each component leaves hundreds of the
SDK's in-flight objects (tasks, futures, Outputs) that stay alive until the engine has its resources. Python's full
collections re-scan every one of them, again and again — at 200 clusters about as much time as registering them
(README, "Performance"). :func:`spare` takes what is alive out of those scans; :func:`hand_back_when` returns it once
the stack's outputs resolve. Reference counting still frees everything as usual; only reference cycles among the
spared objects wait for the hand-back.
"""

from __future__ import annotations

import gc
from typing import Any

import pulumi


def spare() -> None:
    """Exempt every object alive now from cyclic collection until :func:`hand_back` (O(1); call it after each
    component)."""
    gc.freeze()


def hand_back() -> None:
    """Return every spared object to the collector (its oldest generation)."""
    gc.unfreeze()


def hand_back_when(done: Any) -> None:
    """:func:`hand_back` once ``done`` (any value holding Outputs, e.g. the stack outputs) has resolved."""
    pulumi.Output.from_input(done).apply(lambda _: hand_back())
