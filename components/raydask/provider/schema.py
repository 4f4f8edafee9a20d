"""The Pulumi package schema of raydask, generated from the pydantic spec models (inputs) and the components' Output
attributes (outputs): one source of truth. ``schema.json`` beside this module is its committed copy, checked by the
tests; regenerate it with ``python -m raydask.provider.schema --write``.

Each model becomes an object type ``raydask:index:<Model>`` (its fields camelCase, described by their docstrings,
required when they have no default); each set of ``Literal`` values an enum type; inputs whose values only ever reach
Secrets are marked ``secret``. Defaults are stated in the descriptions, not as the schema's ``default``: the SDKs
would send a schema default as if the user had set it, and raydask tells a key set from a key left out (a cluster's
own ``networkPolicy`` keys win over the stack's, ``replicas`` set beside autoscaling is refused)."""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import re
import sys
import types
import typing
from importlib import metadata
from pathlib import Path
from typing import Any

import pulumi
from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic.json_schema import models_json_schema

from raydask.provider.components import KINDS, Kind
from raydask.spec.config import DescribedFields, field_docs

PACKAGE = "raydask"
TYPES = f"{PACKAGE}:index:"
SCHEMA_FILE = Path(__file__).with_name("schema.json")
ANY = {"$ref": "pulumi.json#/Any"}

LANGUAGE = {
    "nodejs": {"packageName": "@raydask/sdk", "packageDescription": "raydask: Ray and Dask clusters on Kubernetes",
               "respectSchemaVersion": True},
    "python": {"packageName": "raydask_sdk", "respectSchemaVersion": True},
    "go": {"importBasePath": "raydask.local/sdk/go/raydask", "generateResourceContainerTypes": True,
           "respectSchemaVersion": True},
    "csharp": {"rootNamespace": "RayDask", "namespaces": {"raydask": "Sdk"}, "respectSchemaVersion": True},
    "java": {"basePackage": "dev"},
}
"""Names of the generated SDKs (``raydask_sdk`` beside the native Python package ``raydask``; Java ``dev.raydask``),
versioned as the schema. The Go module path is local: ``pulumi package add`` points a ``replace`` at the generated SDK
(``supportPack`` has the generator write its ``go.mod``)."""


def version() -> str:
    """The package version: raydask's own."""
    return metadata.version(PACKAGE)


def markdown(text: str) -> str:
    """A docstring as the schema's Markdown: ``code`` in single backticks, paragraphs kept, lines joined."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", inspect.cleandoc(text)).replace("``", "`")
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


def _pascal(text: str) -> str:
    parts = re.split(r"[^0-9A-Za-z]+", text)
    out = "".join(p[:1].upper() + (p[1:].lower() if p.isupper() else p[1:]) for p in parts if p)
    return out if out[:1].isalpha() else f"V{out}"


def _enum_occurrences(defs: dict[str, Any]) -> dict[tuple[Any, ...], list[tuple[str, str]]]:
    """Every set of Literal values in the models, with the (model, field) pairs that take it."""
    found: dict[tuple[Any, ...], list[tuple[str, str]]] = {}

    def walk(p: Any, owner: str, field: str) -> None:
        if not isinstance(p, dict):
            return
        if "enum" in p or "const" in p:
            found.setdefault(tuple(p["enum"] if "enum" in p else [p["const"]]), []).append((owner, field))
        for branch in p.get("anyOf", []):
            walk(branch, owner, field)
        walk(p.get("items"), owner, field)
        walk(p.get("additionalProperties"), owner, field)

    for owner, schema in defs.items():
        for field, p in schema.get("properties", {}).items():
            walk(p, owner, field)
    return found


def _enum_names(defs: dict[str, Any]) -> dict[tuple[Any, ...], str]:
    """An enum type name per value set: the field's name when several models share it (``ImagePullPolicy``), else
    ``<Model><Field>`` (``TolerationOperator``)."""
    names: dict[tuple[Any, ...], str] = {}
    for values, where in _enum_occurrences(defs).items():
        fields = {field for _, field in where}
        owners = {owner for owner, _ in where}
        owner, field = where[0]
        name = _pascal(field) if len(fields) == 1 and len(owners) > 1 else _pascal(owner.removesuffix("Spec")) + _pascal(field)
        if name in defs or name in names.values():
            raise ValueError(f"enum type name {name} of {where} is taken")
        names[values] = name
    return names


class _Builder:
    """Turns the models' JSON schema into Pulumi types, enums and properties."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.types: dict[str, Any] = {}
        self.enum_names = _enum_names(defs)

    def enum(self, values: list[Any], field: str) -> dict[str, Any]:
        name = self.enum_names[tuple(values)]
        token = f"{TYPES}{name}"
        if token not in self.types:
            self.types[token] = {
                "type": "string", "description": f"The values `{field}` takes.",
                "enum": [{"name": _pascal(str(v)), "value": v} for v in values]}
        return {"$ref": f"#/types/{token}"}

    def type_of(self, p: dict[str, Any], owner: str, field: str) -> dict[str, Any]:
        """The Pulumi type of a JSON schema fragment (``None`` branches dropped: every optional input may be left out)."""
        if "$ref" in p:
            name = p["$ref"].rsplit("/", 1)[-1]
            self.object_type(name)
            return {"$ref": f"#/types/{TYPES}{name}"}
        if "anyOf" in p:
            branches = [b for b in p["anyOf"] if b.get("type") != "null"]
            if len(branches) == 1:
                return self.type_of(branches[0], owner, field)
            return {"oneOf": [self.type_of(b, owner, field) for b in branches]}
        if "enum" in p:
            return self.enum(p["enum"], field)
        if "const" in p:
            return self.enum([p["const"]], field)
        kind = p.get("type")
        if kind == "array":
            return {"type": "array", "items": self.type_of(p.get("items") or {}, owner, field)}
        if kind == "object":
            extra = p.get("additionalProperties")
            return {"type": "object", "additionalProperties": self.type_of(extra, owner, field) if isinstance(extra, dict) else ANY}
        if kind in ("string", "integer", "number", "boolean"):
            return {"type": kind}
        return dict(ANY)

    def properties(self, schema: dict[str, Any], owner: str, secret: frozenset[str] = frozenset()) -> dict[str, Any]:
        out = {}
        for name, p in schema.get("properties", {}).items():
            prop = self.type_of(p, owner, name)
            if p.get("description"):
                prop["description"] = markdown(p["description"])
            if name in secret:
                prop["secret"] = True
            out[name] = prop
        return out

    def object_type(self, name: str) -> None:
        token = f"{TYPES}{name}"
        if token in self.types:
            return
        schema = self.defs[name]
        self.types[token] = {}  # reserved before recursing
        self.types[token] = {"type": "object", "description": markdown(schema.get("description", name)),
                             "properties": self.properties(schema, name),
                             **({"required": sorted(schema["required"])} if schema.get("required") else {})}


def _python_type(hint: Any) -> tuple[dict[str, Any], bool]:
    """(Pulumi type, required) of an Output's value type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [x for x in args if x is not type(None)]
        inner, _ = _python_type(rest[0] if len(rest) == 1 else Any)
        return inner, False
    if hint is str:
        return {"type": "string"}, True
    if hint is bool:
        return {"type": "boolean"}, True
    if hint is int:
        return {"type": "integer"}, True
    if hint is float:
        return {"type": "number"}, True
    if origin is list:
        return {"type": "array", "items": _python_type(args[0])[0]}, True
    if origin is dict:
        return {"type": "object", "additionalProperties": _python_type(args[1])[0]}, True
    return dict(ANY), True


def outputs(kind: Kind) -> tuple[dict[str, Any], list[str]]:
    """A component's output properties: its ``pulumi.Output`` attributes (a workload's live ``status`` among them)."""
    hints: dict[str, Any] = {}
    for klass in reversed(kind.component.__mro__):
        if klass.__module__.startswith(f"{PACKAGE}."):
            scope = vars(sys.modules[klass.__module__])
            for attr, hint in vars(klass).get("__annotations__", {}).items():
                hints[attr] = eval(hint, scope) if isinstance(hint, str) else hint  # our own annotations
    docs = field_docs(kind.component)
    props: dict[str, Any] = {}
    required: list[str] = []
    for attr, hint in hints.items():
        if typing.get_origin(hint) is not pulumi.Output:
            continue
        prop, needed = _python_type(typing.get_args(hint)[0])
        if attr not in docs:
            raise ValueError(f"{kind.component.__name__}.{attr}: an output without a docstring")
        prop["description"] = markdown(docs[attr])
        props[to_camel(attr)] = prop
        if needed:
            required.append(to_camel(attr))
    return dict(sorted(props.items())), sorted(required)


@functools.cache
def package_schema() -> dict[str, Any]:
    """The package schema (a JSON object)."""
    models: list[tuple[type[BaseModel], Any]] = [(kind.args, "validation") for kind in KINDS]
    keys, top = models_json_schema(models, by_alias=True, ref_template="#/$defs/{model}",
                                   schema_generator=DescribedFields)
    defs = top.get("$defs", {})
    builder = _Builder(defs)
    resources = {}
    for kind in KINDS:
        name = keys[(kind.args, "validation")]["$ref"].rsplit("/", 1)[-1]
        args = defs[name]
        secret = frozenset(to_camel(f) for f in kind.args.SECRET)
        props, required = outputs(kind)
        resources[kind.token] = {
            "isComponent": True,
            "description": markdown((kind.component.__doc__ or kind.token).split("\n\n")[0]),
            "inputProperties": builder.properties(args, kind.component.__name__, secret),
            **({"requiredInputs": sorted(args["required"])} if args.get("required") else {}),
            "properties": props,
            "required": required,
        }
    return {
        "name": PACKAGE,
        "displayName": "raydask",
        "version": version(),
        "description": "Ray (KubeRay) and Dask clusters on Kubernetes from typed configuration, as Pulumi components.",
        "keywords": ["kubernetes", "ray", "kuberay", "dask", "category/cloud", "kind/component"],
        "license": "Apache-2.0",
        "language": LANGUAGE,
        "meta": {"supportPack": True},
        "config": {},
        "types": dict(sorted(builder.types.items())),
        "resources": resources,
    }


def text() -> str:
    """The schema as committed: indented JSON, keys in a stable order, one trailing newline."""
    return json.dumps(package_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print raydask's Pulumi package schema, or --write it to schema.json "
                                                 "(--check: exit 1 when the committed copy differs).")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    opts = parser.parse_args(argv)
    if opts.write:
        SCHEMA_FILE.write_text(text())
        print(f"wrote {SCHEMA_FILE}")
    elif opts.check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text() != text():
            print(f"{SCHEMA_FILE} is stale: run python -m raydask.provider.schema --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
