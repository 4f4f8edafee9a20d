"""Custom resources against their CRD's structural schema, with API-server semantics.

The API server, on create, (1) prunes every field the structural schema does not declare, (2) applies ``default``s,
(3) validates: types (``integer`` is not ``string``; ``x-kubernetes-int-or-string`` takes either), ``format``
int32/int64 ranges, ``enum``, ``required`` (a required field with a ``default`` is satisfied by defaulting),
``minimum``/``maximum``/``pattern``/``maxLength``/``minItems``/..., ``x-kubernetes-list-type`` map keys and set
uniqueness, and ``x-kubernetes-validations`` CEL rules.  This module does the same walk: pruned fields and dropped
nulls are *errors* here (silently lost configuration), and :func:`stored_object` returns the object as the API
server would store it -- what operators and consumers actually read.

CRDs come from the chart cache (:mod:`raydask.charts`): the KubeRay chart, the Prometheus-operator CRDs and the
dask-kubernetes wheel; each file is parsed once per process, lazily, on first use of one of its kinds.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from raydask.charts import YAML_LOADER as _Loader
from raydask.k8s import naming
from raydask.k8s.schema import json_type
from raydask.offline.validation import Finding, builtin, ref_of, upstream
from raydask.offline.validation.builtin import Issue, describe, is_int, join

CHECK = "crd"

#: API groups served by the CRDs this module knows, even when their files are missing.
KNOWN_GROUPS = ("ray.io", "monitoring.coreos.com", "kubernetes.dask.org")

#: ObjectMeta fields a manifest may set at the top level (the rest are server-managed).
ALLOWED_METADATA = ("name", "namespace", "labels", "annotations", "generateName", "ownerReferences", "finalizers")


@dataclass(frozen=True)
class CRDVersion:
    """One served version of one CRD."""

    group: str
    kind: str
    version: str
    served: bool
    deprecated: bool
    deprecation_warning: str | None
    scope: str
    status_subresource: bool
    schema: dict[str, Any]
    source: Path
    versions: tuple[str, ...]


# --------------------------------------------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------------------------------------------


def _group_kind(doc: Any) -> tuple[str, str] | None:
    if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
        return None
    spec = doc.get("spec") or {}
    group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
    return (group, kind) if isinstance(group, str) and isinstance(kind, str) else None


def _scan(path: Path) -> list[tuple[str, str]]:
    """(group, kind) of each CRD in a file, parsing only the part before ``versions:`` (the huge schemas)."""
    found = []
    for chunk in re.split(r"^---\s*$", path.read_text(encoding="utf-8"), flags=re.M):
        if not chunk.strip():
            continue
        cut = re.search(r"^  versions:", chunk, flags=re.M)
        gk = None
        if cut:
            try:
                gk = _group_kind(yaml.load(chunk[: cut.start()], Loader=_Loader))
            except yaml.YAMLError:
                gk = None
        if gk is None:
            gk = _group_kind(yaml.load(chunk, Loader=_Loader))
        if gk:
            found.append(gk)
    return found


@functools.cache
def _index() -> tuple[dict[tuple[str, str], Path], tuple[str, ...]]:
    """``(group, kind) -> CRD file`` for every known CRD file, and the errors of directories not found."""
    index: dict[tuple[str, str], Path] = {}
    errors: list[str] = []
    for locate in (upstream.kuberay_crd_dir, upstream.prometheus_crd_dir, upstream.dask_crd_dir):
        try:
            directory = locate()
        except FileNotFoundError as exc:
            errors.append(str(exc))
            continue
        for file in sorted(directory.glob("*.yaml")):
            for gk in _scan(file):
                index[gk] = file
    return index, tuple(errors)


@functools.cache
def _load(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    from raydask.charts import file_documents

    return {gk: doc for doc in file_documents(path) if (gk := _group_kind(doc))}


@functools.cache
def lookup(group: str, kind: str, version: str) -> CRDVersion | None:
    """The CRD version for ``group/version`` ``kind``; None when no CRD defines the kind."""
    index, errors = _index()
    path = index.get((group, kind))
    if path is None:
        if errors and group in KNOWN_GROUPS:
            raise FileNotFoundError("; ".join(errors))
        return None
    doc = _load(path)[(group, kind)]
    spec = doc["spec"]
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict)]
    names = tuple(str(v.get("name")) for v in versions)
    for v in versions:
        if v.get("name") == version:
            schema = ((v.get("schema") or {}).get("openAPIV3Schema")) or {}
            return CRDVersion(
                group=group,
                kind=kind,
                version=version,
                served=bool(v.get("served", False)),
                deprecated=bool(v.get("deprecated", False)),
                deprecation_warning=v.get("deprecationWarning"),
                scope=str(spec.get("scope", "Namespaced")),
                status_subresource="status" in (v.get("subresources") or {}),
                schema=schema,
                source=path,
                versions=names,
            )
    return CRDVersion(group, kind, version, False, False, None, str(spec.get("scope", "Namespaced")), False, {}, path, names)


def split_api_version(api_version: str) -> tuple[str, str]:
    """``"ray.io/v1"`` -> ``("ray.io", "v1")``; ``"v1"`` -> ``("", "v1")``."""
    group, _, version = api_version.rpartition("/")
    return group, version


def known_kinds() -> dict[str, str]:
    """``kind -> group`` of every CRD found."""
    return {kind: group for group, kind in _index()[0]}


def is_custom_resource(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` belongs to a CRD this module validates (by API group, or by a kind one of them defines)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return False
    group, _ = split_api_version(api_version)
    if group in KNOWN_GROUPS:
        return True
    index, _ = _index()
    return any(g == group for g, _ in index) or kind in known_kinds()


# --------------------------------------------------------------------------------------------------------------
# a tiny CEL subset: has(self.f), !, &&, ||, (), self in [...], self == oldSelf
# --------------------------------------------------------------------------------------------------------------

_CEL_TOKEN = re.compile(
    r"\s*(?:(?P<has>has\(self\.(?P<field>[A-Za-z_][A-Za-z0-9_]*)\))|(?P<in>self\s+in\s+\[(?P<list>[^\]]*)\])"
    r"|(?P<old>self\s*==\s*oldSelf)|(?P<op>&&|\|\||!|\(|\)))"
)


class _Unsupported(Exception):
    pass


@functools.cache
def _cel_tokens(rule: str) -> tuple[tuple[str, Any], ...]:
    tokens: list[tuple[str, Any]] = []
    pos = 0
    rule = rule.strip()
    while pos < len(rule):
        m = _CEL_TOKEN.match(rule, pos)
        if not m or m.end() == pos:
            raise _Unsupported(rule)
        if m["has"]:
            tokens.append(("has", m["field"]))
        elif m["in"]:
            try:
                values = ast.literal_eval(f"[{m['list']}]")
            except (ValueError, SyntaxError) as exc:
                raise _Unsupported(rule) from exc
            tokens.append(("in", tuple(values)))
        elif m["old"]:
            tokens.append(("old", None))
        else:
            tokens.append((m["op"], None))
        pos = m.end()
    return tuple(tokens)


def _cel_eval(rule: str, value: Any) -> bool:
    """Evaluate a supported CEL rule on ``value`` (transition rules pass: objects are being created)."""
    tokens = _cel_tokens(rule)
    pos = 0

    def peek() -> str | None:
        return tokens[pos][0] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        if pos >= len(tokens):
            raise _Unsupported(rule)
        pos += 1
        return tokens[pos - 1]

    def primary() -> bool:
        kind, arg = take()
        if kind == "has":
            return isinstance(value, dict) and arg in value
        if kind == "in":
            return value in arg
        if kind == "old":
            return True
        if kind == "!":
            return not primary()
        if kind == "(":
            result = disjunction()
            if take()[0] != ")":
                raise _Unsupported(rule)
            return result
        raise _Unsupported(rule)

    def conjunction() -> bool:
        result = primary()
        while peek() == "&&":
            take()
            result = primary() and result
        return result

    def disjunction() -> bool:
        result = conjunction()
        while peek() == "||":
            take()
            result = conjunction() or result
        return result

    result = disjunction()
    if pos != len(tokens):
        raise _Unsupported(rule)
    return result


# --------------------------------------------------------------------------------------------------------------
# the structural-schema walk
# --------------------------------------------------------------------------------------------------------------

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_TYPE_OK = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": is_int,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


@functools.cache
def _regex(pattern: str) -> re.Pattern[str] | None:
    # Go's '$' (no multiline) only matches at the very end; Python's also before a final newline.
    fixed = pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern
    try:
        return re.compile(fixed)
    except re.error:
        return None


def _same(a: Any, b: Any) -> bool:
    if json_type(a) != json_type(b) and not (json_type(a) in ("integer", "number") and json_type(b) in ("integer", "number")):
        return False
    return bool(a == b)


def _type_name(schema: dict[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return "integer or string"
    return str(schema.get("type") or "a value")


class _Walker:
    """Prune, default and validate a value against a structural schema, collecting issues."""

    def __init__(self, *, record: bool = True, prune_errors: bool = True) -> None:
        self.issues: list[Issue] = []
        self.record = record
        self.prune_errors = prune_errors

    def add(self, path: str, message: str) -> None:
        if self.record:
            self.issues.append((path, message))

    def node(self, value: Any, schema: Any, path: str) -> Any:
        if not isinstance(schema, dict) or not schema:
            return value
        if value is None:
            if not schema.get("nullable"):
                self.add(path, f"expected {_type_name(schema)}, got null")
            return value
        if schema.get("x-kubernetes-int-or-string"):
            if not (is_int(value) or isinstance(value, str)):
                self.add(path, f"expected integer or string, got {describe(value)}")
                return value
        else:
            want = schema.get("type")
            check = _TYPE_OK.get(want) if isinstance(want, str) else None
            if check is not None and not check(value):
                message = f"expected {want}, got {describe(value)}"
                if schema.get("format") == "int-or-string" and want == "string":
                    message += " (the CRD declares type string with format int-or-string: only strings are accepted, e.g. a port name)"
                self.add(path, message)
                return value
        if isinstance(value, dict):
            value = self.obj(value, schema, path)
        elif isinstance(value, list):
            value = self.arr(value, schema, path)
        else:
            self.scalar(value, schema, path)
        self.common(value, schema, path)
        return value

    def obj(self, value: dict[str, Any], schema: dict[str, Any], path: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
        embedded = schema.get("x-kubernetes-embedded-resource") is True
        result: dict[str, Any] = {}
        for key, child in value.items():
            if key in skip:
                continue
            kpath = join(path, str(key))
            if key in props:
                sub = props[key]
                if child is None and isinstance(sub, dict) and not sub.get("nullable"):
                    if "default" in sub:
                        self.add(kpath, f"null value would be replaced by the default {sub['default']!r} (field is not nullable)")
                    else:
                        self.add(kpath, "null value would be dropped by the API server (field is not nullable)")
                    continue
                result[key] = self.node(child, sub, kpath)
            elif isinstance(extra, dict):
                result[key] = self.node(child, extra, kpath)
            elif extra is True or preserve or (embedded and key in ("apiVersion", "kind", "metadata")):
                result[key] = child
            elif self.prune_errors:
                self.add(kpath, f"unknown field '{key}' would be pruned by the API server")
        for key, sub in props.items():
            if key not in result and key not in skip and isinstance(sub, dict) and "default" in sub:
                result[key] = _Walker(record=False).node(copy.deepcopy(sub["default"]), sub, join(path, key))
        for key in schema.get("required") or []:
            if key not in result and key not in skip:
                self.add(join(path, str(key)), f"missing required field '{key}'")
        n = len(result)
        if isinstance(schema.get("minProperties"), int) and n < schema["minProperties"]:
            self.add(path, f"object has {n} properties, fewer than minProperties {schema['minProperties']}")
        if isinstance(schema.get("maxProperties"), int) and n > schema["maxProperties"]:
            self.add(path, f"object has {n} properties, more than maxProperties {schema['maxProperties']}")
        return result

    def arr(self, value: list[Any], schema: dict[str, Any], path: str) -> list[Any]:
        items = schema.get("items")
        result = [self.node(child, items, join(path, i)) for i, child in enumerate(value)] if isinstance(items, dict) else list(value)
        n = len(result)
        if isinstance(schema.get("minItems"), int) and n < schema["minItems"]:
            self.add(path, f"array has {n} items, fewer than minItems {schema['minItems']}")
        if isinstance(schema.get("maxItems"), int) and n > schema["maxItems"]:
            self.add(path, f"array has {n} items, more than maxItems {schema['maxItems']}")
        list_type = schema.get("x-kubernetes-list-type")
        if schema.get("uniqueItems") and list_type != "set":
            list_type = "set"
        for issue in builtin.list_key_issues(result, list_type, schema.get("x-kubernetes-list-map-keys"), path, defaults={}):
            self.add(*issue)
        return result

    def scalar(self, value: Any, schema: dict[str, Any], path: str) -> None:
        if isinstance(value, str):
            if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
                self.add(path, f"string of length {len(value)} is longer than maxLength {schema['maxLength']}")
            if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
                self.add(path, f"string of length {len(value)} is shorter than minLength {schema['minLength']}")
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and (rx := _regex(pattern)) is not None and not rx.search(value):
                if schema.get("x-kubernetes-int-or-string") and "[KMGTPE]i" in pattern:
                    self.add(path, f"{value!r} is not a valid quantity (e.g. '500m', '2', '4Gi'; pattern {pattern})")
                else:
                    self.add(path, f"{value!r} does not match pattern {pattern!r}")
            if schema.get("format") == "date-time" and not _is_datetime(value):
                self.add(path, f"{value!r} is not an RFC 3339 date-time")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            low = schema.get("minimum")
            if isinstance(low, (int, float)) and (value <= low if schema.get("exclusiveMinimum") else value < low):
                self.add(path, f"{value} is less than the minimum {low}" + (" (exclusive)" if schema.get("exclusiveMinimum") else ""))
            high = schema.get("maximum")
            if isinstance(high, (int, float)) and (value >= high if schema.get("exclusiveMaximum") else value > high):
                self.add(path, f"{value} is greater than the maximum {high}" + (" (exclusive)" if schema.get("exclusiveMaximum") else ""))
            multiple = schema.get("multipleOf")
            if isinstance(multiple, (int, float)) and multiple and (value / multiple) != int(value / multiple):
                self.add(path, f"{value} is not a multiple of {multiple}")
            bounds = _INT_RANGES.get(str(schema.get("format")))
            if bounds and is_int(value) and not bounds[0] <= value <= bounds[1]:
                self.add(path, f"{value} is out of the {schema['format']} range (consumers decoding it would fail)")

    def common(self, value: Any, schema: dict[str, Any], path: str) -> None:
        enum = schema.get("enum")
        if isinstance(enum, list) and not any(_same(value, e) for e in enum):
            self.add(path, f"{value!r} is not one of {enum!r}")
        if not schema.get("x-kubernetes-int-or-string"):
            branches = schema.get("anyOf")
            if isinstance(branches, list) and branches and not any(not _errors(value, b, path) for b in branches):
                self.add(
                    path, f"{describe(value)} does not match any of the allowed schemas (anyOf): {_errors(value, branches[0], path)[0][1]}"
                )
        for branch in schema.get("allOf") or []:
            for issue in _errors(value, branch, path):
                self.add(*issue)
        one_of = schema.get("oneOf")
        if isinstance(one_of, list) and one_of:
            matches = sum(1 for b in one_of if not _errors(value, b, path))
            if matches != 1:
                self.add(path, f"{describe(value)} matches {matches} of the oneOf schemas, exactly one required")
        if isinstance(schema.get("not"), dict) and not _errors(value, schema["not"], path):
            self.add(path, f"{describe(value)} must not match the 'not' schema")
        for rule in schema.get("x-kubernetes-validations") or []:
            if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str):
                continue
            try:
                ok = _cel_eval(rule["rule"], value)
            except _Unsupported:
                continue
            if not ok:
                self.add(path, f"{rule.get('message') or 'validation rule failed'} (x-kubernetes-validations: {rule['rule']})")


def _errors(value: Any, schema: Any, path: str) -> list[Issue]:
    walker = _Walker(prune_errors=False)
    walker.node(copy.deepcopy(value), schema, path)
    return walker.issues


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in value or "t" in value


# --------------------------------------------------------------------------------------------------------------
# whole objects
# --------------------------------------------------------------------------------------------------------------


def _metadata_issues(meta: Any, crd: CRDVersion) -> list[Issue]:
    if not isinstance(meta, dict):
        return [("metadata", f"expected object, got {describe(meta)}")]
    out: list[Issue] = []
    for key, value in meta.items():
        if key not in ALLOWED_METADATA:
            out.append((join("metadata", key), f"unknown metadata field '{key}' (a manifest may set only {', '.join(ALLOWED_METADATA)})"))
            continue
        if key in ("name", "namespace", "generateName") and not isinstance(value, str):
            out.append((join("metadata", key), f"expected string, got {describe(value)}"))
        if key in ("labels", "annotations") and not isinstance(value, dict):
            out.append((join("metadata", key), f"expected object, got {describe(value)}"))
        if key == "finalizers":
            if not isinstance(value, list):
                out.append(("metadata.finalizers", f"expected array, got {describe(value)}"))
            else:
                for i, fin in enumerate(value):
                    if not isinstance(fin, str) or (err := naming.qualified_name_error(fin)):
                        out.append((join("metadata.finalizers", i), f"invalid finalizer: {err if isinstance(fin, str) else describe(fin)}"))
        if key == "ownerReferences":
            if not isinstance(value, list):
                out.append(("metadata.ownerReferences", f"expected array, got {describe(value)}"))
                continue
            for i, ref in enumerate(value):
                for field in ("apiVersion", "kind", "name", "uid"):
                    if not isinstance(ref, dict) or not isinstance(ref.get(field), str):
                        out.append((join(join("metadata.ownerReferences", i), field), f"missing required field '{field}'"))
    out.extend(builtin.metadata_issues(meta))
    name = meta.get("name")
    if name is None and not meta.get("generateName"):
        out.append(("metadata.name", "missing required field 'name' (or generateName)"))
    elif isinstance(name, str) and (err := naming.dns1123_subdomain_error(name)):
        out.append(("metadata.name", f"invalid name: {err}"))
    ns = meta.get("namespace")
    if isinstance(ns, str):
        if crd.scope == "Cluster":
            out.append(("metadata.namespace", f"{crd.kind} is cluster-scoped: namespace must not be set"))
        elif err := naming.dns1123_label_error(ns):
            out.append(("metadata.namespace", f"invalid namespace: {err}"))
    return out


def _resolve(obj: dict[str, Any]) -> tuple[CRDVersion | None, list[Issue]]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None, [("", "apiVersion and kind must be strings")]
    group, version = split_api_version(api_version)
    crd = lookup(group, kind, version)
    if crd is None:
        owner = known_kinds().get(kind)
        if owner and owner != group:
            return None, [("apiVersion", f"kind {kind} belongs to API group {owner!r}, not {group!r}")]
        groups = sorted({g for g, _ in _index()[0] if g == group})
        kinds = sorted(k for g, k in _index()[0] if g == group)
        hint = f" (group {group} defines {', '.join(kinds)})" if groups else ""
        return None, [("kind", f"no CRD defines {api_version} {kind}{hint}")]
    if not crd.served:
        served = ", ".join(crd.versions)
        return None, [("apiVersion", f"{api_version} is not a served version of the {kind} CRD (versions: {served})")]
    issues: list[Issue] = []
    if crd.deprecated:
        issues.append(("apiVersion", crd.deprecation_warning or f"{api_version} {kind} is deprecated"))
    return crd, issues


def custom_resource_issues(obj: dict[str, Any]) -> tuple[list[Issue], dict[str, Any] | None]:
    """Issues of ``obj`` against its CRD, and the object as the API server would store it (None if rejected
    before schema validation: unknown kind or version)."""
    crd, issues = _resolve(obj)
    if crd is None:
        return issues, None
    meta = obj.get("metadata")
    issues.extend(_metadata_issues(meta, crd))
    walker = _Walker()
    # with a status subresource the API server drops status on create, before validation
    skip = ("apiVersion", "kind", "metadata", "status") if crd.status_subresource else ("apiVersion", "kind", "metadata")
    body = walker.obj(obj, crd.schema, "", skip=skip)
    issues.extend(walker.issues)
    if crd.status_subresource and "status" in obj:
        issues.append(("status", "status is ignored on create: the CRD has a status subresource (only the controller sets it)"))
    stored: dict[str, Any] = {"apiVersion": obj["apiVersion"], "kind": obj["kind"]}
    if isinstance(meta, dict):
        stored["metadata"] = {k: copy.deepcopy(v) for k, v in meta.items() if k in ALLOWED_METADATA}
    stored.update(body)
    return issues, stored


def stored_object(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` as the API server would store it: unknown fields pruned, non-nullable nulls dropped, defaults applied.
    Objects without a (served) CRD come back unchanged."""
    try:
        _, stored = custom_resource_issues(obj)
    except FileNotFoundError:
        raise
    except Exception:
        return obj
    return stored if stored is not None else obj


# Pod templates and Services embedded in custom resources that an operator turns into built-in objects.
def _as_kuberay_completes(service: dict[str, Any], template: Any) -> dict[str, Any]:
    """A head Service template as KubeRay completes it: the head container's named ports appended to its own."""
    out = copy.deepcopy(service)
    containers = ((template or {}).get("spec") or {}).get("containers") or [] if isinstance(template, dict) else []
    ports = (containers[0].get("ports") or []) if containers and isinstance(containers[0], dict) else []
    spec = out.setdefault("spec", {})
    if isinstance(spec, dict):
        spec["ports"] = [*(spec.get("ports") or []),
                         *({"name": p["name"], "port": p["containerPort"]} for p in ports if isinstance(p, dict) and p.get("name"))]
    return out



def _ray_cluster_parts(spec: Any, base: str) -> list[tuple[Any, str, str]]:
    if not isinstance(spec, dict):
        return []
    parts: list[tuple[Any, str, str]] = []
    head = spec.get("headGroupSpec")
    if isinstance(head, dict):
        parts.append((head.get("template"), "io.k8s.api.core.v1.PodTemplateSpec", join(join(base, "headGroupSpec"), "template")))
        if isinstance(head.get("headService"), dict):
            parts.append((_as_kuberay_completes(head["headService"], head.get("template")), "io.k8s.api.core.v1.Service",
                          join(join(base, "headGroupSpec"), "headService")))
    for i, group in enumerate(spec.get("workerGroupSpecs") or []):
        if isinstance(group, dict):
            parts.append(
                (group.get("template"), "io.k8s.api.core.v1.PodTemplateSpec", join(join(join(base, "workerGroupSpecs"), i), "template"))
            )
    return parts


def embedded_parts(obj: dict[str, Any]) -> list[tuple[Any, str, str]]:
    """``(value, definition, path)`` of the built-in objects embedded in a Ray custom resource."""
    kind, spec = obj.get("kind"), obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if kind == "RayCluster":
        return _ray_cluster_parts(spec, "spec")
    if kind in ("RayJob", "RayCronJob"):
        base = "spec"
        if kind == "RayCronJob":
            spec, base = spec.get("jobTemplate") or {}, "spec.jobTemplate"
            if not isinstance(spec, dict):
                return []
        parts = _ray_cluster_parts(spec.get("rayClusterSpec"), join(base, "rayClusterSpec"))
        if isinstance(spec.get("submitterPodTemplate"), dict):
            parts.append((spec["submitterPodTemplate"], "io.k8s.api.core.v1.PodTemplateSpec", join(base, "submitterPodTemplate")))
        return parts
    if kind == "RayService":
        parts = _ray_cluster_parts(spec.get("rayClusterConfig"), "spec.rayClusterConfig")
        if isinstance(spec.get("serveService"), dict):
            parts.append((spec["serveService"], "io.k8s.api.core.v1.Service", "spec.serveService"))
        return parts
    return []


def check_crd(obj: dict[str, Any], kubernetes_version: str = "1.31") -> list[Finding]:
    """Findings of a custom resource against its CRD (check ``crd``), plus the API-server rules for the pod
    templates/Services it embeds (check ``schema``: the objects an operator creates from them would be rejected)."""
    ref = ref_of(obj)
    if not isinstance(obj, dict):
        return [Finding(ref, "", f"expected an object, got {describe(obj)}", CHECK)]
    try:
        issues, stored = custom_resource_issues(obj)
    except FileNotFoundError:
        raise
    except Exception as exc:  # never crash on malformed input
        return [Finding(ref, "", f"CRD validation failed: {type(exc).__name__}: {exc}", CHECK)]
    findings = [Finding(ref, path, message, CHECK) for path, message in issues]
    flagged = {path for path, _ in issues}
    if stored is not None:
        for value, definition, path in embedded_parts(stored):
            for ipath, message in builtin.embedded_issues(value, definition, kubernetes_version, path):
                if ipath in flagged:
                    continue  # the CRD schema already rejects this value
                findings.append(Finding(ref, ipath, f"{message} (rejected when the operator creates it)", builtin.CHECK))
    return findings
