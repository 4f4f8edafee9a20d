"""The raydask policy pack: ``pulumi preview --policy-pack policy`` (every policy mandatory).

The checks are the pure functions of ``raydask_policies.py``; ``raydask_pack.py`` wraps them for pulumi-policy.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import PolicyPack
from raydask_pack import ENFORCEMENT, NAME, policies

PolicyPack(name=NAME, enforcement_level=ENFORCEMENT, policies=policies())
