"""Secret builders: an Opaque Secret whose values the caller passes through untouched (a Pulumi secret Output)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raydask.builders.common import Manifest, obj

SECRET_FIELDS = ("data", "stringData")
"""Fields of a Secret that carry secret values (register them as ``additional_secret_outputs``)."""


def opaque_secret(name: str, namespace: str, labels: dict[str, str], string_data: Mapping[str, Any]) -> Manifest:
    """An Opaque Secret with ``stringData``; values are passed as given, never inspected or logged."""
    return obj("v1", "Secret", name, namespace, labels, type="Opaque", stringData=dict(string_data))
