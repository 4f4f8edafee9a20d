"""The pydantic configuration and the base every spec model shares."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
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


class ConfigModel(BaseModel):
    """Base of every spec model: :data:`SPEC_CONFIG`, and bad input given to the constructor raises
    :class:`raydask.errors.ConfigError` with key paths relative to the model (``RayClusterSpec.workerGroups[0].replicas:
    ...``), as a stack config gets them relative to ``raydask:``."""

    model_config = SPEC_CONFIG

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            from raydask.errors import from_validation_error

            raise from_validation_error(exc, type(self).__name__, known_keys(type(self))) from None

    # Nested models are validated without calling __init__ (pydantic's own marker for an __init__ that only validates),
    # so a stack's errors keep their paths from its root.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def known_keys(model: type[BaseModel]) -> dict[tuple[Any, ...], list[str]]:
    """Config keys accepted at each nesting level (list indices omitted), for did-you-mean hints."""
    out: dict[tuple[Any, ...], list[str]] = {}

    def walk(m: type[BaseModel], path: tuple[Any, ...], depth: int) -> None:
        if path in out or depth > 8:
            return
        out[path] = [f.alias or n for n, f in m.model_fields.items()]
        for n, f in m.model_fields.items():
            stack = [f.annotation]
            while stack:
                t = stack.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    walk(t, (*path, f.alias or n), depth + 1)
                else:
                    stack.extend(typing.get_args(t))

    walk(model, (), 0)
    return out
