"""Built-in kinds (Service, Ingress, Deployment, ...): kubernetes-validate's strict schemas plus API-server rules.

Two layers, both against the schemas that ship in the ``kubernetes-validate`` wheel for the requested Kubernetes
version (the newest schema set not newer than it, exactly as ``kubernetes_validate.validate`` picks it):

* the **strict** JSON schema (unknown fields, types, required fields) -- the same files and validator class as
  ``kubernetes_validate.validate(obj, version, strict=True)``, but compiled once per (version, kind) and reporting
  every error instead of the first;
* the **API-server rules** those schemas cannot express (they carry no enums): enum values such as Ingress
  ``pathType`` or Service ``type``, port ranges and port names, label/name syntax, quantities, requests <= limits,
  duplicate keys of ``x-kubernetes-list-type: map`` lists, selector/template agreement, volume mounts of existing
  volumes. The name and quantity rules are :mod:`raydask.k8s.naming`'s and :mod:`raydask.k8s.quantities`', the ones
  config-time checks use.  :func:`embedded_issues` runs only this layer on a sub-tree (pod templates embedded in custom resources).
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from raydask.k8s import naming, quantities, validation
from raydask.k8s.schema import json_type
from raydask.offline.validation import Finding, ref_of

Issue = tuple[str, str]
"""``(path, message)`` found inside one object."""

CHECK = "schema"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# --------------------------------------------------------------------------------------------------------------
# paths and small helpers (shared with crd.py, consumers.py and references.py)
# --------------------------------------------------------------------------------------------------------------

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def join(path: str, key: str | int) -> str:
    """Append a key or index to a JSON-path-ish ``path`` (``a.b[0]["app.kubernetes.io/name"]``)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not _PLAIN_KEY.match(key):
        return f"{path}[{json.dumps(key)}]"
    return f"{path}.{key}" if path else key


def describe(value: Any) -> str:
    """``integer 3`` / ``string 'x'`` / ``object`` for messages."""
    kind = json_type(value)
    if isinstance(value, (dict, list, tuple)):
        return kind
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind} {text}"


def is_int(value: Any) -> bool:
    """A JSON integer (``bool`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------------------------------
# Kubernetes syntax rules (k8s.io/apimachinery/pkg/util/validation)
# --------------------------------------------------------------------------------------------------------------

dns1123_label_error = naming.dns1123_label_error
dns1123_subdomain_error = naming.dns1123_subdomain_error
qualified_name_error = naming.qualified_name_error
port_name_error = naming.port_name_error


def dns1035_label_error(value: str) -> str | None:
    """Why ``value`` is not an RFC 1035 label (Service names), or None (:func:`raydask.k8s.naming.dns1035_error`)."""
    return naming.dns1035_error(value)


def label_value_error(value: Any) -> str | None:
    """Why ``value`` is not a valid label value, or None."""
    if not isinstance(value, str):
        return f"expected string, got {describe(value)}"
    return naming.label_value_error(value)


def port_number_error(value: Any, allow_zero: bool = False) -> str | None:
    """Why ``value`` is not a port number in 1..65535, or None."""
    if not is_int(value):
        return f"expected a port number, got {describe(value)}"
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        return f"port {value} is outside {low}-65535"
    return None


def int_or_string_port_error(value: Any) -> str | None:
    """A target/probe port: a number in 1..65535 or an IANA port name."""
    if isinstance(value, str):
        return port_name_error(value)
    return port_number_error(value)


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``"500m"``, ``"2Gi"``, ``4``) as a Decimal; None when it is not one."""
    if is_int(value) or isinstance(value, float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    try:
        return quantities.parse(value)
    except ValueError:
        return None


def quantity_error(value: Any) -> str | None:
    """Why ``value`` is not a quantity, or None (:func:`raydask.k8s.quantities.parse` says why)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return f"expected a quantity (string or number), got {describe(value)}"
    if isinstance(value, str):
        try:
            quantities.parse(value)
        except ValueError as exc:
            return str(exc)
    return None


def label_map_issues(labels: Any, path: str) -> list[Issue]:
    """Key and value syntax of a label map (``metadata.labels``, ``matchLabels``)."""
    out: list[Issue] = []
    if isinstance(labels, dict):
        for key, value in labels.items():
            p = join(path, str(key))
            if err := qualified_name_error(str(key)):
                out.append((p, f"invalid label key: {err}"))
            if err := label_value_error(value):
                out.append((p, f"invalid label value: {err}"))
    return out


def metadata_issues(meta: Any, path: str = "metadata") -> list[Issue]:
    """Label and annotation syntax of an ObjectMeta (names are checked per kind by the caller)."""
    if not isinstance(meta, dict):
        return []
    out = label_map_issues(meta.get("labels"), join(path, "labels"))
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = 0
        for key, value in annotations.items():
            p = join(join(path, "annotations"), str(key))
            if err := qualified_name_error(str(key)):
                out.append((p, f"invalid annotation key: {err}"))
            if not isinstance(value, str):
                out.append((p, f"annotation values must be strings, got {describe(value)}"))
            else:
                size += len(str(key)) + len(value)
        if size > 256 * 1024:
            out.append((join(path, "annotations"), f"annotations total {size} bytes, more than the 256 KiB limit"))
    return out


# --------------------------------------------------------------------------------------------------------------
# label selectors (shared with references.py)
# --------------------------------------------------------------------------------------------------------------


def selector_matches(selector: Any, labels: Mapping[str, Any], wildcard: Iterable[str] = ()) -> bool:
    """Whether a LabelSelector (``matchLabels``/``matchExpressions``) or a plain map selects ``labels``.

    Keys in ``wildcard`` have values unknown until run time (set by an operator) and match anything.
    """
    if not isinstance(selector, dict):
        return False
    wild = set(wildcard)
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
    else:
        match_labels, expressions = selector, []
    if not isinstance(match_labels, dict) or not isinstance(expressions, list):
        return False
    for key, value in match_labels.items():
        if key in wild:
            continue
        if labels.get(key) != value:
            return False
    for expr in expressions:
        if not isinstance(expr, dict):
            return False
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if not isinstance(key, str):
            return False
        if key in wild:
            continue
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


# --------------------------------------------------------------------------------------------------------------
# schema files of kubernetes-validate
# --------------------------------------------------------------------------------------------------------------


def _schema_root() -> Any:
    return importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.cache
def available_versions() -> tuple[tuple[int, int, int], ...]:
    """Kubernetes versions kubernetes-validate has strict schemas for, oldest first."""
    found = []
    for entry in _schema_root().iterdir():
        m = re.match(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$", entry.name)
        if m:
            found.append((int(m[1]), int(m[2]), int(m[3])))
    return tuple(sorted(found))


class SchemaVersionError(ValueError):
    """The requested Kubernetes version has no schema set."""


@functools.cache
def resolve_version(kubernetes_version: str) -> str:
    """The schema set used for ``kubernetes_version``: the newest one not newer than it (``"1.31"`` -> ``"1.31.0"``)."""
    m = re.match(r"^v?(\d+)\.(\d+)", str(kubernetes_version).strip())
    versions = available_versions()
    supported = f"{versions[0][0]}.{versions[0][1]}-{versions[-1][0]}.{versions[-1][1]}" if versions else "none"
    if not m:
        raise SchemaVersionError(f"invalid Kubernetes version {kubernetes_version!r} (expected e.g. '1.31')")
    wanted = (int(m[1]), int(m[2]))
    if versions and wanted > versions[-1][:2]:
        raise SchemaVersionError(f"kubernetes-validate has no schemas for Kubernetes {wanted[0]}.{wanted[1]} (supported: {supported})")
    older = [v for v in versions if v[:2] <= wanted]
    if not older:
        raise SchemaVersionError(f"kubernetes-validate has no schemas for Kubernetes {wanted[0]}.{wanted[1]} (supported: {supported})")
    return ".".join(map(str, older[-1]))


def _load_json(version: str, filename: str) -> Any:
    ref = _schema_root().joinpath(f"v{version}-local-strict").joinpath(filename)
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return json.loads(text)


@functools.cache
def definitions(version: str) -> dict[str, Any]:
    """The ``$defs`` of a schema set (``io.k8s.api.core.v1.PodSpec`` -> schema)."""
    doc = _load_json(version, "_definitions.json") or {}
    return dict(doc.get("$defs") or {})


@functools.cache
def _definition_names(version: str) -> dict[int, str]:
    return {id(schema): name for name, schema in definitions(version).items()}


@functools.cache
def _registry(version: str) -> Any:
    from referencing import Registry, Resource

    doc = _load_json(version, "_definitions.json")
    if doc is None:
        raise SchemaVersionError(f"no _definitions.json for Kubernetes {version}")
    doc["$defs"] = definitions(version)  # share the dicts so validation errors can be named
    return Resource.from_contents(doc) @ Registry()


def schema_filename(api_version: str, kind: str) -> str:
    """kubernetes-validate's file name for a kind (``networking.k8s.io/v1`` Ingress -> ``ingress-networking-v1.json``)."""
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


@functools.cache
def kind_schema(version: str, api_version: str, kind: str) -> dict[str, Any] | None:
    """The strict top-level schema of a built-in kind, or None when kubernetes-validate has none."""
    doc = _load_json(version, schema_filename(api_version, kind))
    return doc if isinstance(doc, dict) else None


@functools.cache
def _validator(version: str, api_version: str, kind: str) -> Any:
    from jsonschema import Draft202012Validator

    schema = kind_schema(version, api_version, kind)
    if schema is None:
        return None
    return Draft202012Validator(schema, registry=_registry(version))


def has_schema(api_version: str, kind: str, kubernetes_version: str) -> bool:
    """Whether kubernetes-validate knows ``apiVersion``/``kind`` at that Kubernetes version."""
    try:
        return kind_schema(resolve_version(kubernetes_version), api_version, kind) is not None
    except SchemaVersionError:
        return False


def _error_issues(error: Any, version: str, kind: str) -> list[Issue]:
    path = ""
    for part in error.absolute_path:
        path = join(path, part)
    names = _definition_names(version)
    defname = names.get(id(error.schema), "")
    validator = error.validator
    instance = error.instance
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = set((error.schema.get("properties") or {}).keys())
        minor = ".".join(version.split(".")[:2])
        where = f"{defname}" if defname else f"the {kind} schema"
        return [
            (join(path, str(extra)), f"unknown field '{extra}' (not in {where} of Kubernetes {minor})")
            for extra in instance
            if extra not in known
        ]
    if validator == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        want = [w for w in want if w != "null"]
        return [(path, f"expected {' or '.join(want)}, got {describe(instance)}")]
    if validator == "required":
        missing = error.validator_value
        field = next((r for r in missing if not (isinstance(instance, dict) and r in instance)), missing[0] if missing else "?")
        return [(path, f"missing required field '{field}'")]
    if validator in ("oneOf", "anyOf"):
        if defname == INT_OR_STRING:
            return [(path, f"expected integer or string, got {describe(instance)}")]
        if defname == QUANTITY:
            return [(path, f"expected a quantity (string or number), got {describe(instance)}")]
    if validator == "enum":
        return [(path, f"{instance!r} is not one of {error.validator_value!r}")]
    return [(path, error.message)]


def strict_issues(obj: dict[str, Any], kubernetes_version: str) -> list[Issue]:
    """Errors of the strict kubernetes-validate schema for ``obj`` (every error, not only the first)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [("", "apiVersion and kind must be strings")]
    try:
        version = resolve_version(kubernetes_version)
    except SchemaVersionError as exc:
        return [("", str(exc))]
    validator = _validator(version, api_version, kind)
    if validator is None:
        return [("", f"no schema for {api_version} {kind} in Kubernetes {version} (unknown or unsupported kind/apiVersion)")]
    out: list[Issue] = []
    for error in validator.iter_errors(obj):
        out.extend(_error_issues(error, version, kind))
    return out


# --------------------------------------------------------------------------------------------------------------
# API-server rules the JSON schemas do not carry
# --------------------------------------------------------------------------------------------------------------

Rule = Callable[[dict[str, Any], str, list[Issue]], None]
_RULES: dict[str, Rule] = {}


def _rule(*names: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        for name in names:
            _RULES[f"io.k8s.{name}"] = fn
        return fn

    return register


def _joined(path: str, parts: tuple[Any, ...]) -> str:
    """``path`` joined with the key path ``parts`` of a :mod:`raydask.k8s.validation` issue."""
    for part in parts:
        path = join(path, part)
    return path


def _enum(v: dict[str, Any], field: str, allowed: tuple[str, ...], path: str, out: list[Issue]) -> None:
    value = v.get(field)
    if value is not None and value not in allowed:
        out.append((join(path, field), f"{value!r} is not one of {list(allowed)!r}"))


PROTOCOLS = ("TCP", "UDP", "SCTP")


@_rule("api.networking.v1.HTTPIngressPath")
def _http_ingress_path(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    _enum(v, "pathType", ("Exact", "Prefix", "ImplementationSpecific"), path, out)
    p = v.get("path")
    if v.get("pathType") in ("Exact", "Prefix") and isinstance(p, str) and not p.startswith("/"):
        out.append((join(path, "path"), f"path {p!r} must be absolute (start with '/') for pathType {v['pathType']}"))


@_rule("api.networking.v1.IngressBackend")
def _ingress_backend(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    if ("service" in v) == ("resource" in v):
        out.append((path, "exactly one of 'service' or 'resource' must be set"))


@_rule("api.networking.v1.ServiceBackendPort")
def _backend_port(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    name, number = v.get("name"), v.get("number")
    if name and number:
        out.append((path, "cannot set both port name and port number"))
    elif not name and not number:
        out.append((path, "port name or number is required"))
    elif isinstance(name, str) and name and (err := port_name_error(name)):
        out.append((join(path, "name"), err))
    elif number is not None and (err := port_number_error(number)):
        out.append((join(path, "number"), err))


@_rule("api.core.v1.ServiceSpec")
def _service_spec(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    out.extend((_joined(path, p), m) for p, m in validation.service_spec_issues(v))


@_rule("api.core.v1.PodSpec")
def _pod_spec(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    """Every rule of the API server on a pod spec (:func:`raydask.k8s.validation.pod_spec_issues`, the rules the
    configuration's checks apply too); the walk applies no rule of its own beneath it."""
    out.extend((_joined(path, p), m) for p, m in validation.pod_spec_issues(v))


@_rule("apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement")
def _selector_requirement(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    _enum(v, "operator", ("In", "NotIn", "Exists", "DoesNotExist"), path, out)
    op, values = v.get("operator"), v.get("values") or []
    if op in ("In", "NotIn") and not values:
        out.append((join(path, "values"), f"must be non-empty for operator {op}"))
    if op in ("Exists", "DoesNotExist") and values:
        out.append((join(path, "values"), f"must be empty for operator {op}"))
    key = v.get("key")
    if isinstance(key, str) and (err := qualified_name_error(key)):
        out.append((join(path, "key"), err))


@_rule("apimachinery.pkg.apis.meta.v1.LabelSelector")
def _label_selector(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    out.extend(label_map_issues(v.get("matchLabels"), join(path, "matchLabels")))


@_rule("api.networking.v1.NetworkPolicySpec")
def _network_policy_spec(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    for i, t in enumerate(v.get("policyTypes") or []):
        if t not in ("Ingress", "Egress"):
            out.append((join(join(path, "policyTypes"), i), f"{t!r} is not one of ['Ingress', 'Egress']"))


@_rule("api.networking.v1.NetworkPolicyPort")
def _network_policy_port(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    _enum(v, "protocol", PROTOCOLS, path, out)
    if v.get("port") is not None and (err := int_or_string_port_error(v["port"])):
        out.append((join(path, "port"), err))


@_rule("api.apps.v1.DeploymentStrategy")
def _deployment_strategy(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    _enum(v, "type", ("Recreate", "RollingUpdate"), path, out)
    if v.get("type") == "Recreate" and v.get("rollingUpdate") is not None:
        out.append((join(path, "rollingUpdate"), "may not be specified when strategy type is 'Recreate'"))


@_rule("api.apps.v1.DeploymentSpec", "api.apps.v1.StatefulSetSpec", "api.apps.v1.DaemonSetSpec", "api.apps.v1.ReplicaSetSpec")
def _workload_spec(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    if "podManagementPolicy" in v:
        _enum(v, "podManagementPolicy", ("OrderedReady", "Parallel"), path, out)
    selector = v.get("selector")
    template = v.get("template")
    if isinstance(selector, dict) and isinstance(template, dict):
        labels = (template.get("metadata") or {}).get("labels") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            out.append((join(path, "selector"), "empty selector is invalid for a workload"))
        elif isinstance(labels, dict) and not selector_matches(selector, labels):
            out.append((join(path, "selector"), "selector does not match template labels"))


@_rule("api.core.v1.Secret", "api.core.v1.ConfigMap")
def _data_keys(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    for field in ("data", "stringData", "binaryData"):
        values = v.get(field)
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            p = join(join(path, field), str(key))
            if err := naming.config_key_error(str(key)):
                out.append((p, err))
            base64_field = field == "binaryData" or (field == "data" and v.get("kind") == "Secret")
            if base64_field and isinstance(value, str):
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    out.append((p, "value is not valid base64"))


@_rule("apimachinery.pkg.apis.meta.v1.ObjectMeta")
def _object_meta(v: dict[str, Any], path: str, out: list[Issue]) -> None:
    out.extend(metadata_issues(v, path))


_KEY_DEFAULTS = {"protocol": "TCP"}


def list_key_issues(items: list[Any], list_type: Any, keys: Any, path: str, defaults: Mapping[str, Any] | None = None) -> list[Issue]:
    """Duplicates in an ``x-kubernetes-list-type`` ``map`` (by ``x-kubernetes-list-map-keys``) or ``set`` list."""
    out: list[Issue] = []
    if list_type == "map" and isinstance(keys, list) and keys:
        seen: dict[tuple[Any, ...], int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            values = tuple(item.get(k, (_KEY_DEFAULTS if defaults is None else defaults).get(k)) for k in keys)
            marker = tuple(json.dumps(k, sort_keys=True, default=str) for k in values)
            if marker in seen:
                desc = ", ".join(f"{k}={val!r}" for k, val in zip(keys, values, strict=True))
                out.append(
                    (join(path, i), f"duplicate entry for key ({desc}), first at index {seen[marker]} (x-kubernetes-list-type: map)")
                )
            else:
                seen[marker] = i
    elif list_type == "set":
        seen_set: dict[str, int] = {}
        for i, item in enumerate(items):
            item_marker = json.dumps(item, sort_keys=True, default=str)
            if item_marker in seen_set:
                out.append(
                    (join(path, i), f"duplicate value {item!r}, first at index {seen_set[item_marker]} (x-kubernetes-list-type: set)")
                )
            else:
                seen_set[item_marker] = i
    return out


OWN_SUBTREE = frozenset({"io.k8s.api.core.v1.PodSpec", "io.k8s.api.core.v1.ServiceSpec"})
"""Definitions whose rule checks everything beneath them (:mod:`raydask.k8s.validation`): no other rule applies there."""


def _walk(value: Any, node: Any, defs: dict[str, Any], path: str, out: list[Issue], defname: str = "", *, full: bool = True,
          rules: bool = True) -> None:
    """Apply the rules along ``value`` (``rules=False``: beneath a definition whose rule covers its whole sub-tree);
    ``full=False`` skips what a CRD schema already checked (quantities, list keys)."""
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        defname = ref.rsplit("/", 1)[-1]
        node = defs.get(defname) or {}
    if defname == QUANTITY:
        if full and value is not None and (err := quantity_error(value)):
            out.append((path, err))
        return
    if defname == INT_OR_STRING:
        return
    if isinstance(value, dict):
        rule = _RULES.get(defname) if rules else None
        if rule is not None:
            rule(value, path, out)
        below = rules and defname not in OWN_SUBTREE
        props = node.get("properties") or {}
        extra = node.get("additionalProperties")
        for key, child in value.items():
            if key in props:
                _walk(child, props[key], defs, join(path, str(key)), out, full=full, rules=below)
            elif isinstance(extra, dict):
                _walk(child, extra, defs, join(path, str(key)), out, full=full, rules=below)
    elif isinstance(value, list):
        if full:
            out.extend(list_key_issues(value, node.get("x-kubernetes-list-type"), node.get("x-kubernetes-list-map-keys"), path))
        items = node.get("items")
        for i, child in enumerate(value):
            _walk(child, items, defs, join(path, i), out, full=full, rules=rules)


def apiserver_issues(obj: dict[str, Any], kubernetes_version: str) -> list[Issue]:
    """The API-server rules for a whole built-in object (plus its name syntax)."""
    try:
        version = resolve_version(kubernetes_version)
    except SchemaVersionError:
        return []
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return []
    schema = kind_schema(version, api_version, kind)
    if schema is None:
        return []
    out: list[Issue] = []
    _walk(obj, schema, definitions(version), "", out)
    if kind in ("Secret", "ConfigMap"):
        _data_keys(obj, "", out)
    out.extend(name_issues(obj))
    return out


def name_issues(obj: dict[str, Any]) -> list[Issue]:
    """``metadata.name``/``namespace`` syntax for the object's kind."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return []
    out: list[Issue] = []
    name, kind = meta.get("name"), obj.get("kind")
    if name is None and not meta.get("generateName"):
        out.append(("metadata.name", "missing required field 'name' (or generateName)"))
    elif isinstance(name, str):
        if kind == "Service":
            err = dns1035_label_error(name)
        elif kind == "Namespace":
            err = dns1123_label_error(name)
        else:
            err = dns1123_subdomain_error(name)
        if err:
            out.append(("metadata.name", f"invalid name: {err}"))
    ns = meta.get("namespace")
    if isinstance(ns, str) and (err := dns1123_label_error(ns)):
        out.append(("metadata.namespace", f"invalid namespace: {err}"))
    return out


def embedded_issues(value: Any, definition: str, kubernetes_version: str, path: str, *, full: bool = False) -> list[Issue]:
    """The API-server rules for a sub-tree of type ``definition`` (e.g. ``io.k8s.api.core.v1.PodTemplateSpec``)
    embedded in a custom resource: what the API server would reject once an operator creates it.  By default
    (``full=False``) quantity syntax and list-map keys are left to the CRD schema, which checks them too."""
    try:
        version = resolve_version(kubernetes_version)
    except SchemaVersionError:
        return []
    defs = definitions(version)
    if definition not in defs:
        return []
    out: list[Issue] = []
    _walk(value, {"$ref": f"#/$defs/{definition}"}, defs, path, out, full=full)
    return out


# --------------------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------------------


def builtin_issues(obj: dict[str, Any], kubernetes_version: str) -> list[Issue]:
    """Strict-schema errors and API-server rule violations of a built-in object, de-duplicated."""
    issues = strict_issues(obj, kubernetes_version)
    if issues and issues[0][1].startswith(("no schema for", "kubernetes-validate has no", "invalid Kubernetes version")):
        return issues
    seen = set(issues)
    for issue in apiserver_issues(obj, kubernetes_version):
        if issue not in seen:
            seen.add(issue)
            issues.append(issue)
    return issues


def check_builtin(obj: dict[str, Any], kubernetes_version: str = "1.31") -> list[Finding]:
    """Findings for a built-in kind at ``kubernetes_version`` (check ``schema``)."""
    ref = ref_of(obj)
    if not isinstance(obj, dict):
        return [Finding(ref, "", f"expected an object, got {describe(obj)}", CHECK)]
    try:
        issues = builtin_issues(obj, kubernetes_version)
    except Exception as exc:  # never crash on malformed input
        issues = [("", f"schema validation failed: {type(exc).__name__}: {exc}")]
    return [Finding(ref, path, message, CHECK) for path, message in issues]
