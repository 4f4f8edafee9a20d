"""One error type for bad input, and the translation of pydantic errors into messages for people: the key path, what
was given, what is expected and the fix -- no Python class names, no pydantic wording."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

RULES_ERROR = "raydask_rules"
"""The pydantic error type of :func:`rules`: its context holds the problems as data, ``problems``: ``[(parts, message)]``."""

Path = str | tuple[Any, ...]
"""A key path relative to the model: dotted (``workerGroups.0.name``, digits are list indices) or a tuple of parts
(for keys that hold dots or digits, such as the label key ``ray.io/group``)."""


class ConfigError(ValueError):
    """Bad configuration: every line names a config key path and the rule it breaks."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [one_line(p) for p in problems]
        super().__init__("\n".join(self.problems))


def one_line(text: str) -> str:
    """``text`` on one line: line breaks in a value it quotes shown as ``\\n``."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def parts(path: Path) -> tuple[Any, ...]:
    """``path`` as a tuple of keys and list indices: a tuple as it is, a dotted path split at its dots (digits become
    indices)."""
    if isinstance(path, tuple):
        return path
    return tuple(int(p) if p.isdigit() else p for p in path.split(".") if p)


def rules(problems: Iterable[tuple[Path, str]]) -> PydanticCustomError:
    """A pydantic error carrying several problems (each ``(sub-key, message)``) as data, for a validator that reports
    every problem it finds, not only the first; :func:`from_validation_error` puts each on its key."""
    found = [(parts(path), message) for path, message in problems]
    summary = "; ".join(f"{key_path('', path) or '.'}: {message}" for path, message in found)
    return PydanticCustomError(RULES_ERROR, "{summary}", {"summary": summary, "problems": found})


def check(problems: Iterable[tuple[Path, str]]) -> None:
    """Raise :func:`rules` when there are problems."""
    found = list(problems)
    if found:
        raise rules(found)


_INTERNAL = re.compile(r"^(function-[a-z-]+(\[.*\])?|[a-z-]+\[.*\]|\[key\])$")
"""Parts of a pydantic error location that are its own (validator and union tags), not config keys."""
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def quote_key(key: str) -> str:
    """A config key as a message names it: as written when plain (``raydask:rayClusters``), else quoted."""
    import json

    return key if re.fullmatch(r"[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?", key) else json.dumps(key, ensure_ascii=False)


def key_path(prefix: str, loc: Iterable[Any]) -> str:
    """``raydask:rayClusters`` + (0, 'workerGroups', 1) -> ``raydask:rayClusters[0].workerGroups[1]``; keys that are not
    plain names are quoted: ``nodeSelector["cloud.google.com/gke-accelerator"]``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "":
            out += '[""]' if out and not out.endswith(":") else ""
        elif out.endswith(":") or not out:
            out += str(part) if _SIMPLE_KEY.match(str(part)) else _quoted(str(part))
        elif _SIMPLE_KEY.match(str(part)):
            out += f".{part}"
        else:
            out += f"[{_quoted(str(part))}]"
    return out


def _quoted(key: str) -> str:
    import json

    return json.dumps(key, ensure_ascii=False)


def describe(value: Any) -> str:
    """What was given, for a message: ``the number 1.5``, ``the boolean true``, ``'abc'``, ``a list``."""
    if value is None:
        return "no value (null)"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "an empty string" if value == "" else f"'{value}'"
    if isinstance(value, dict):
        return "a mapping (key: value)"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def quote_hint(value: Any) -> str:
    """How to write ``value`` as the string it was meant to be."""
    if isinstance(value, bool):
        return f': quote it ("{"true" if value else "false"}"); unquoted, true and false are booleans in YAML'
    if isinstance(value, float):
        return f': quote it ("{value}", or as you wrote it); unquoted, YAML reads a number and drops trailing zeros'
    if isinstance(value, int):
        return f': quote it ("{value}")'
    return ""


def _expected_of(typ: str) -> str:
    return {"dict": "a mapping (key: value)", "list": "a list", "int": "a whole number", "float": "a number",
            "bool": "true or false", "str": "a string"}[typ]


def _empty_hint(typ: str) -> str:
    return {"dict": "write {} for the defaults, or remove the key", "list": "write [] for none, or remove the key"}.get(
        typ, "give a value, or remove the key")


def _type_message(typ: str, value: Any) -> str:
    if value is None or value == "":
        return f"has no value: {_empty_hint(typ)}"
    message = f"expected {_expected_of(typ)}, got {describe(value)}"
    if typ == "str":
        return message + quote_hint(value)
    if typ == "bool" and isinstance(value, str):
        return message + " (in YAML 1.2, as Pulumi reads it, yes/no/on/off are strings: write true or false)"
    if typ == "list" and isinstance(value, str | int | float):
        return message + f": write [{value}] for a list of one"
    if typ in ("int", "float") and isinstance(value, str):
        return message
    return message


_TYPE_ERRORS = {
    "string_type": "str", "string_sub_type": "str", "dict_type": "dict", "model_type": "dict", "model_attributes_type": "dict",
    "dataclass_type": "dict", "list_type": "list", "tuple_type": "list", "set_type": "list", "int_type": "int",
    "int_parsing": "int", "int_from_float": "int", "float_type": "float", "float_parsing": "float", "bool_type": "bool",
    "bool_parsing": "bool", "iterable_type": "list", "mapping_type": "dict",
}
_BOUNDS = {"greater_than_equal": ("ge", "≥"), "greater_than": ("gt", ">"), "less_than_equal": ("le", "≤"), "less_than": ("lt", "<")}


def _bound(err: dict[str, Any]) -> str:
    key, sign = _BOUNDS[err["type"]]
    limit = (err.get("ctx") or {}).get(key)
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    value = err.get("input")
    if key == "le" and limit == 2**31 - 1:
        return (f"must be at most {limit} (the largest 32-bit integer: raydask keeps counts and seconds within it, as "
                f"Kubernetes and KubeRay read them), got {value}")
    return f"must be {sign} {limit}, got {value}"


def _message(err: dict[str, Any]) -> list[tuple[list[Any], str]]:
    """``(location, message)`` of one pydantic error (several for a :func:`rules` error)."""
    loc = [p for p in err["loc"] if not (isinstance(p, str) and _INTERNAL.match(p))]
    msg = str(err["msg"])
    typ = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if typ == RULES_ERROR:
        return [([*loc, *sub], text) for sub, text in ctx["problems"]]
    if typ == "extra_forbidden":
        msg = "unknown key"
        if ctx.get("suggestion"):
            msg += f" (did you mean '{ctx['suggestion']}'?)"
    elif typ == "missing":
        msg = "required key is missing"
    elif typ == "literal_error":
        msg = f"must be one of {ctx.get('expected', '')}, got {describe(value)}"
        if isinstance(value, bool):
            msg += quote_hint(value)
    elif typ == "enum":
        msg = f"must be one of {ctx.get('expected', '')}, got {describe(value)}"
    elif typ in _TYPE_ERRORS:
        msg = _type_message(_TYPE_ERRORS[typ], value)
    elif typ in _BOUNDS:
        msg = _bound(err)
    elif typ == "string_too_short":
        least = ctx.get("min_length", 1)
        msg = "must not be empty" if least == 1 else f"must be at least {least} characters, got {describe(value)}"
    elif typ == "string_too_long":
        msg = f"must be at most {ctx.get('max_length')} characters, got {len(str(value))}"
    elif typ == "too_short":
        least = ctx.get("min_length", 1)
        msg = f"needs at least {least} item{'s' if least != 1 else ''}"
    elif typ == "too_long":
        msg = f"takes at most {ctx.get('max_length')} items, got {ctx.get('actual_length')}"
    elif typ == "string_pattern_mismatch":
        msg = f"{describe(value)} does not have the expected form"
    elif typ in ("finite_number",):
        msg = f"must be a finite number, got {describe(value)}"
    return [(loc, msg)]


SYNONYMS: dict[str, tuple[str, ...]] = {
    # what users carry over from KubeRay, the Dask operator, Kubernetes and Helm values, by normalized name
    "tls": ("tlsSecret", "tls"), "tlssecretname": ("tlsSecret",), "secretname": ("tlsSecret", "secretName"),
    "secret": ("tlsSecret", "secretName"), "ingressclassname": ("className",), "ingressclass": ("className",),
    "class": ("className",), "hostname": ("host",), "hosts": ("host",), "pathtype": ("pathType",),
    "release": ("prometheusRelease",), "releaselabel": ("prometheusRelease",), "releasename": ("prometheusRelease",),
    "prometheus": ("prometheusRelease", "monitoring"), "scrapeinterval": ("interval",),
    "rayclusterconfig": ("cluster",), "rayclusterspec": ("cluster",), "raycluster": ("cluster",),
    "headgroupspec": ("head",), "workergroupspecs": ("workerGroups",), "workergroupspec": ("workerGroups",),
    "groupname": ("name",), "enableintreeautoscaling": ("autoscaling",), "autoscaleroptions": ("autoscaling",),
    "serveconfigv2": ("applications",), "serveconfig": ("applications",), "submitterpodtemplate": ("submitter",),
    "submitterconfig": ("submitter",), "headservice": ("service",), "serveservice": ("serveService",),
    "gcsfaulttoleranceoptions": ("gcsFaultTolerance",), "authoptions": ("auth",), "tlsoptions": ("tls",),
    "historyserveroptions": ("historyServer",), "runtimeenvyaml": ("runtimeEnv",), "metadata": ("jobMetadata",),
    "minworkers": ("minReplicas", "minimum"), "maxworkers": ("maxReplicas", "maximum"), "numworkers": ("replicas",),
    "workers": ("replicas", "worker"), "nworkers": ("replicas",), "threads": ("nthreads",), "resources": (
        "requests", "workerResources", "rayResources"), "template": ("podPatch",), "containers": ("sidecars",),
    "securitycontext": ("containerPatch", "podSecurity"), "serviceaccountname": ("serviceAccount",),
    "ports": ("extraPorts",), "volumemounts": ("volumes",), "priorityclass": ("priorityClassName",),
}
"""Names users write for a key, from the tools they know (KubeRay's CRD fields, Helm values), normalized (lower case,
no ``_`` or ``-``): the first candidate the model has at that level is suggested when no spelling is close."""


def _suggestion(key: str, options: list[str]) -> str | None:
    """The key most likely meant by ``key`` among ``options``: a close spelling, the same word in another case or with
    ``_`` / ``-``, or a name from KubeRay, Kubernetes or Helm (:data:`SYNONYMS`)."""
    close = difflib.get_close_matches(key, options, n=1)
    if close:
        return close[0]
    norm = re.sub(r"[_\-]", "", key).lower()
    by_norm = {re.sub(r"[_\-]", "", o).lower(): o for o in options}
    if norm in by_norm:
        return by_norm[norm]
    return next((o for o in SYNONYMS.get(norm, ()) if o in options and o != key), None)


def from_validation_error(exc: ValidationError, prefix: str, known: dict[tuple[Any, ...], list[str]] | None = None) -> ConfigError:
    """Turn a pydantic ValidationError into a ConfigError whose lines start with the full key path."""
    problems = []
    for err in exc.errors(include_url=False):
        for loc, msg in _message(dict(err)):
            if err["type"] == "extra_forbidden" and known is not None and loc:
                parent = tuple(loc[:-1])
                options = known.get(tuple(p for p in parent if not isinstance(p, int)), [])
                if (close := _suggestion(str(loc[-1]), options)) is not None:
                    msg = f"unknown key (did you mean '{close}'?)"
            problems.append(f"{key_path(prefix, loc)}: {msg}")
    return ConfigError(sorted(dict.fromkeys(problems)))
