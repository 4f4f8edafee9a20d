"""The pydantic configuration and the base every spec model shares."""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel
from pydantic.json_schema import DEFAULT_REF_TEMPLATE, GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

SPEC_CONFIG = ConfigDict(
    frozen=True,
    extra="forbid",
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    coerce_numbers_to_str=True,
)
"""Frozen, unknown keys rejected, camelCase keys in config and snake_case in Python. Field docstrings are read by
:func:`field_docs` where they are shown, not by pydantic at import (its ``use_attribute_docstrings`` re-reads the module
for every class: half of the spec's import time)."""


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

    @classmethod
    def model_json_schema(cls, by_alias: bool | None = None, ref_template: str = DEFAULT_REF_TEMPLATE,
                          schema_generator: type[GenerateJsonSchema] = GenerateJsonSchema, mode: JsonSchemaMode = "validation",
                          **kwargs: Any) -> dict[str, Any]:
        """Pydantic's JSON schema, each field described by its docstring (:class:`DescribedFields` unless another
        ``schema_generator`` is given)."""
        generator = DescribedFields if schema_generator is GenerateJsonSchema else schema_generator
        return super().model_json_schema(by_alias=by_alias, ref_template=ref_template, schema_generator=generator,
                                         mode=mode, **kwargs)

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


@functools.cache
def _module_docs(module: str) -> dict[str, dict[str, str]]:
    """Per class of ``module`` (by qualified name): the docstring below each annotated attribute, as pydantic's
    ``use_attribute_docstrings`` reads it (``inspect.cleandoc``)."""
    try:
        tree = ast.parse(inspect.getsource(sys.modules[module]))
    except (KeyError, OSError, TypeError):
        return {}
    out: dict[str, dict[str, str]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, ast.ClassDef):
                continue
            docs = out.setdefault(prefix + node.name, {})
            for stmt, after in zip(node.body, [*node.body[1:], None], strict=True):
                if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and isinstance(after, ast.Expr)
                        and isinstance(after.value, ast.Constant) and isinstance(after.value.value, str)):
                    docs[stmt.target.id] = inspect.cleandoc(after.value.value)
            visit(node.body, f"{prefix}{node.name}.")

    visit(tree.body, "")
    return out


def field_docs(cls: type) -> dict[str, str]:
    """The docstrings of a raydask class's annotated attributes (the string right below each), its bases' first: the
    descriptions of spec fields, argument models' inputs and components' outputs."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__.partition(".")[0] == "raydask":
            out.update(_module_docs(klass.__module__).get(klass.__qualname__, {}))
    return out


def field_description(model: type[BaseModel], name: str) -> str | None:
    """The description of ``model``'s field ``name``: its ``Field(description=...)``, else its docstring."""
    return model.model_fields[name].description or field_docs(model).get(name)


class DescribedFields(GenerateJsonSchema):
    """Pydantic's JSON schema with each model field described by its docstring (:func:`field_docs`)."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        cls = schema["cls"]
        docs = field_docs(cls)
        properties = json_schema.get("properties", {})
        for name, field in cls.model_fields.items():
            prop = properties.get(field.alias or name if self.by_alias else name)
            if prop is not None and name in docs:
                prop.setdefault("description", docs[name])
        return json_schema
