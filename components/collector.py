"""The cyclic garbage collector while a stack registers.

A Pulumi program constructs every resource before the engine registers any: when it returns, thousands of the SDK's
in-flight registrations (tasks, futures, Outputs) are alive and stay alive until the engine has them all. Python's
full collections re-scan every one of them, again and again, while they drain — at 200 clusters about as much time
as registering them (README, "Performance"). :func:`spare_until` takes what is alive out of the collector's scans
until the registrations are done. Reference counting still frees everything as usual; only reference cycles among
the spared objects wait until they are handed back.
"""

from __future__ import annotations

import gc
from typing import Any

import pulumi


def spare_until(done: Any) -> None:
    """Exempt every object alive now from cyclic collection until ``done`` (any Output-bearing value) resolves.

    Call it once, as the last step of a program (``components.program.main`` does); ``gc.unfreeze`` hands the objects
    back to the oldest generation afterwards.
    """
    gc.freeze()
    pulumi.Output.from_input(done).apply(_hand_back)


def _hand_back(_: Any) -> None:
    gc.unfreeze()
