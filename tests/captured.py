"""What the program registered, as a stack transformation saw it: for tests of the options each child gets."""

from __future__ import annotations

from collections.abc import Callable

import pulumi


def options_seen() -> tuple[dict[str, pulumi.ResourceOptions], Callable[[pulumi.ResourceTransformationArgs], None]]:
    """A transformation recording each resource's options by name, and what it recorded."""
    seen: dict[str, pulumi.ResourceOptions] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        seen[args.name] = args.opts

    return seen, capture
