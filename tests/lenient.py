"""The objects raydask would declare for a configuration it refuses, had it not refused it: the components' own steps
(:func:`test_properties.build_spec`) with raydask's rules switched off, so that the real API server can judge the
objects of every row of the bad-input table (``tests/e2e/test_api_server_judges_the_table.py``).

Two ways, the first that works: the spec models validate the configuration as usual but every rule that reports a
problem (:func:`raydask.errors.check`, the builders' ``Context.refuse``) lets it through; or, when a value does not
even fit its field (``memory: 1GB``, a name with capitals), the models are built without any validation
(:func:`construct`, pydantic's ``model_construct`` all the way down), values as written. What neither way builds (the
builders themselves cannot compute with the value) is reported, not guessed.
"""

from __future__ import annotations

import contextlib
import types
import typing
from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import BaseModel
from test_properties import build_spec

import raydask.spec.base
import raydask.spec.companions
from raydask.builders.plan import Context
from raydask.errors import ConfigError
from raydask.program import load_stack_spec
from raydask.spec.stack import StackSpec

Config = dict[str, Any]


@contextlib.contextmanager
def rules_off() -> Iterator[None]:
    """Every rule of the spec models and builders reports nothing while inside."""
    saved = (raydask.spec.base.check, raydask.spec.companions.check, Context.refuse)

    def nothing(*_args: Any, **_kwargs: Any) -> None:
        return None

    raydask.spec.base.check = nothing  # type: ignore[assignment]
    raydask.spec.companions.check = nothing  # type: ignore[assignment]
    Context.refuse = nothing  # type: ignore[method-assign]
    try:
        yield
    finally:
        raydask.spec.base.check, raydask.spec.companions.check, Context.refuse = saved  # type: ignore[method-assign]


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The model types an annotation admits (through Optional, unions and Annotated)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _models(args[0])
    if origin in (typing.Union, types.UnionType):
        return [m for a in args for m in _models(a)]
    return [annotation] if isinstance(annotation, type) and issubclass(annotation, BaseModel) else []


def _value(annotation: Any, value: Any) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _value(args[0], value)
    if annotation is str and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # text fields hold text: raydask writes a number as its digits
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], value) if len(inner) == 1 else (
            construct(_models(annotation)[0], value) if isinstance(value, dict) and _models(annotation) else value)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
        return construct(annotation, value)
    if origin is list and args and isinstance(value, list):
        return [_value(args[0], v) for v in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _value(args[1], v) for k, v in value.items()}
    return value


def construct(model: type[BaseModel], data: Any) -> Any:
    """``data`` as a ``model`` without any validation: nested models constructed too, every other value as given."""
    if not isinstance(data, dict):
        return data
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        for key in (info.alias or name, name):
            if key in data:
                fields[name] = _value(info.annotation, data[key])
                break
    return model.model_construct(**fields)


def objects(values: Config) -> tuple[list[dict[str, Any]] | None, str]:
    """(the objects raydask would declare for ``values`` with its rules off, how they were built) -- None and why when
    they cannot be built."""
    with rules_off():
        try:
            return build_spec(load_stack_spec(values)), "rules off"
        except ConfigError:
            pass
        try:
            return build_spec(construct(StackSpec, values)), "unvalidated"
        except Exception as exc:  # the builders cannot compute with the value: nothing to judge
            return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
