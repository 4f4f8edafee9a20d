"""Check passthrough input (an ``affinity``, a volume source) against the structural schema a CRD embeds it in: what the
API server would refuse (wrong types, missing required fields, values outside an enum) or silently prune (unknown
fields), as ``(path, message)`` pairs with did-you-mean hints. Pure functions over the schema dict."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from raydask.k8s.naming import DNS1123_LABEL, label_value_error, qualified_name_error

Path = tuple[str | int, ...]
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def json_type(value: Any) -> str:
    """The JSON type name of a Python value (``integer``, ``array``, ``object``…)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number", "number": "a number",
          "boolean": "true or false", "null": "no value"}


def _shown(value: Any) -> str:
    kind = json_type(value)
    if kind in ("object", "array", "null"):
        return _NAMES[kind]
    if kind == "string":
        return f"'{value}'"
    return f"{'true' if value is True else 'false' if value is False else value}"


DROPPED = "the API server would silently drop it"


def issues(value: Any, schema: dict[str, Any], path: Path = (), dropped: str = DROPPED,
           partial: bool = False) -> Iterator[tuple[Path, str]]:
    """Every problem of ``value`` under ``schema`` (an OpenAPI v3 structural schema as CRDs carry it); ``dropped`` says
    what happens to unknown keys; a ``partial`` value (a patch) may leave required keys out."""
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema and "type" not in schema:
        return
    if value is None:
        if not schema.get("nullable"):
            yield path, "has no value: give one, or remove the key"
        return
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, int | str) or isinstance(value, bool):
            yield path, f"expected a number or a string, got {_shown(value)}"
        return
    typ = schema.get("type")
    kind = json_type(value)
    if typ == "number" and kind == "integer":
        kind = "number"
    if typ and kind != typ:
        hint = f" (quote it: '{_shown(value)}')" if typ == "string" and kind in ("integer", "number", "boolean") else ""
        yield path, f"expected {_NAMES.get(typ, typ)}, got {_shown(value)}{hint}"
        return
    if "enum" in schema and value not in schema["enum"]:
        yield path, f"must be one of {', '.join(repr(e) for e in schema['enum'])}, got {_shown(value)}"
    if typ == "integer":
        low, high = INT32 if schema.get("format") == "int32" else INT64
        if not low <= value <= high:
            yield path, f"must be between {low} and {high}, got {value}"
    for bound, check, sign in (("minimum", lambda a, b: a >= b, "≥"), ("maximum", lambda a, b: a <= b, "≤")):
        if bound in schema and isinstance(value, int | float) and not check(value, schema[bound]):
            yield path, f"must be {sign} {schema[bound]}, got {value}"
    if isinstance(value, str) and "maxLength" in schema and len(value) > schema["maxLength"]:
        yield path, f"must be at most {schema['maxLength']} characters"
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key in [] if partial else schema.get("required", []):
            if key not in value:
                yield (*path, key), "required key is missing"
        for key, item in value.items():
            if props is not None and key in props:
                yield from issues(item, props[key], (*path, key), dropped, partial)
            elif isinstance(extra, dict):
                yield from issues(item, extra, (*path, key), dropped, partial)
            elif extra is not True and not schema.get("x-kubernetes-preserve-unknown-fields"):
                close = difflib.get_close_matches(str(key), list(props or {}), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                yield (*path, key), f"unknown key{hint}: {dropped}"
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                yield from issues(item, items, (*path, i), dropped, partial)


# ---------------------------------------------------------------------------------------------------------------
# the API server's rules on an affinity (k8s.io/kubernetes/pkg/apis/core/validation) beyond its schema
# ---------------------------------------------------------------------------------------------------------------

NODE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
LABEL_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _requirement(req: Any, path: Path, operators: tuple[str, ...]) -> Iterator[tuple[Path, str]]:
    req = _dict(req)
    key, op, values = req.get("key"), req.get("operator"), req.get("values")
    if isinstance(key, str) and (err := qualified_name_error(key)):
        yield (*path, "key"), err
    if isinstance(op, str) and op not in operators:
        close = difflib.get_close_matches(op, operators, n=1)
        yield (*path, "operator"), (f"must be one of {', '.join(operators)}, got '{op}'" +
                                    (f" (did you mean '{close[0]}'?)" if close else ""))
    count = len(values) if isinstance(values, list) else 0
    if op in ("In", "NotIn") and count == 0:
        yield (*path, "values"), f"must list at least one value for operator {op}"
    elif op in ("Exists", "DoesNotExist") and count:
        yield (*path, "values"), f"must be empty for operator {op}"
    elif op in ("Gt", "Lt"):
        if count != 1:
            yield (*path, "values"), f"must hold exactly one value for operator {op}"
        elif not str(values[0]).lstrip("-").isdigit():
            yield (*path, "values"), f"must be a whole number for operator {op}, got '{values[0]}'"


def _node_term(term: Any, path: Path) -> Iterator[tuple[Path, str]]:
    term = _dict(term)
    for i, req in enumerate(_list(term.get("matchExpressions"))):
        yield from _requirement(req, (*path, "matchExpressions", i), NODE_OPERATORS)
    for i, req in enumerate(_list(term.get("matchFields"))):
        req = _dict(req)
        if req.get("key") != "metadata.name":
            yield (*path, "matchFields", i, "key"), f"must be 'metadata.name', got '{req.get('key')}'"
        if req.get("operator") not in ("In", "NotIn"):
            yield (*path, "matchFields", i, "operator"), "must be In or NotIn"
        elif len(_list(req.get("values"))) != 1:
            yield (*path, "matchFields", i, "values"), "must hold exactly one node name"


def _weight(item: dict[str, Any], path: Path) -> Iterator[tuple[Path, str]]:
    weight = item.get("weight")
    if isinstance(weight, int) and not isinstance(weight, bool) and not 1 <= weight <= 100:
        yield (*path, "weight"), f"must be between 1 and 100, got {weight}"


def _selector(selector: Any, path: Path) -> Iterator[tuple[Path, str]]:
    selector = _dict(selector)
    for key, value in _dict(selector.get("matchLabels")).items():
        if (err := qualified_name_error(str(key))) or (isinstance(value, str) and (err := label_value_error(value))):
            yield (*path, "matchLabels", key), err
    for i, req in enumerate(_list(selector.get("matchExpressions"))):
        yield from _requirement(req, (*path, "matchExpressions", i), LABEL_OPERATORS)


def _pod_term(term: Any, path: Path) -> Iterator[tuple[Path, str]]:
    term = _dict(term)
    topology = term.get("topologyKey")
    if not topology:
        yield (*path, "topologyKey"), "required: the node label that defines 'together', e.g. kubernetes.io/hostname"
    elif isinstance(topology, str) and (err := qualified_name_error(topology)):
        yield (*path, "topologyKey"), err
    yield from _selector(term.get("labelSelector"), (*path, "labelSelector"))
    yield from _selector(term.get("namespaceSelector"), (*path, "namespaceSelector"))
    for i, ns in enumerate(_list(term.get("namespaces"))):
        if isinstance(ns, str) and not DNS1123_LABEL.match(ns):
            yield (*path, "namespaces", i), f"'{ns}' is not a namespace name"
    for field in ("matchLabelKeys", "mismatchLabelKeys"):
        keys = _list(term.get(field))
        if keys and not term.get("labelSelector"):
            yield (*path, field), "needs labelSelector"
        for i, key in enumerate(keys):
            if isinstance(key, str) and (err := qualified_name_error(key)):
                yield (*path, field, i), err


def affinity_issues(affinity: Any) -> Iterator[tuple[Path, str]]:
    """The API server's rules on a (structurally valid) pod ``affinity``, as ``(path, message)`` pairs."""
    affinity = _dict(affinity)
    node = _dict(affinity.get("nodeAffinity"))
    required = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(required, dict):
        terms = _list(required.get("nodeSelectorTerms"))
        if not terms:
            yield ("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"), \
                "must hold at least one node selector term"
        for i, term in enumerate(terms):
            yield from _node_term(term, ("nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms", i))
    for i, item in enumerate(_list(node.get("preferredDuringSchedulingIgnoredDuringExecution"))):
        path: Path = ("nodeAffinity", "preferredDuringSchedulingIgnoredDuringExecution", i)
        yield from _weight(_dict(item), path)
        yield from _node_term(_dict(item).get("preference"), (*path, "preference"))
    for kind in ("podAffinity", "podAntiAffinity"):
        pod = _dict(affinity.get(kind))
        for i, term in enumerate(_list(pod.get("requiredDuringSchedulingIgnoredDuringExecution"))):
            yield from _pod_term(term, (kind, "requiredDuringSchedulingIgnoredDuringExecution", i))
        for i, item in enumerate(_list(pod.get("preferredDuringSchedulingIgnoredDuringExecution"))):
            path = (kind, "preferredDuringSchedulingIgnoredDuringExecution", i)
            yield from _weight(_dict(item), path)
            yield from _pod_term(_dict(item).get("podAffinityTerm"), (*path, "podAffinityTerm"))
