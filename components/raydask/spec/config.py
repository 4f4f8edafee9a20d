"""The pydantic configuration every spec model shares."""

from __future__ import annotations

from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

SPEC_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    use_attribute_docstrings=True,
    coerce_numbers_to_str=True,
)
"""Frozen, unknown keys rejected, camelCase keys in config and snake_case in Python, field docstrings as descriptions."""
