"""Validators proving rendered manifests are correct against upstream schemas and real consumers.

``validate_objects(objects)`` runs, per object:

* ``crd`` -- custom resources (KubeRay, Prometheus-operator, Dask) against their CRD's structural schema with
  API-server semantics: pruning of unknown fields, types, enums, required, list-map keys, ... (:mod:`.crd`);
* ``schema`` -- built-in kinds against kubernetes-validate's strict schemas plus API-server rules, and pod templates
  embedded in Ray custom resources against the API-server rules (:mod:`.builtin`);
* ``ray-autoscaler`` -- the Ray autoscaler's own reading of RayCluster/RayJob/RayService specs (:mod:`.consumers`);
* ``dask-operator`` -- the Dask operator's expansion of DaskCluster/DaskWorkerGroup/DaskJob, validated strictly;

and over the whole list ``references`` -- selectors, Ingress backends and monitor ports that must resolve
(:mod:`.references`).  Submodules are imported lazily: heavy dependencies load only when needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Finding", "ref_of", "validate_objects"]


@dataclass(frozen=True)
class Finding:
    """One problem in one object."""

    obj: str
    """``Kind namespace/name`` (:func:`raydask.k8s.manifest.object_ref`)."""
    path: str
    """JSON-path-ish location inside the object; ``""`` for the whole object."""
    message: str
    """The precise rule that is broken."""
    check: str
    """Which validator: ``schema``, ``crd``, ``ray-autoscaler``, ``dask-operator`` or ``references``."""

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.obj}: {where}{self.message} [{self.check}]"


def ref_of(obj: Any) -> str:
    """:func:`raydask.k8s.manifest.object_ref`, tolerant of malformed objects."""
    from raydask.k8s.manifest import object_ref

    try:
        return object_ref(obj)
    except Exception:
        kind = obj.get("kind", "?") if isinstance(obj, dict) else "?"
        return f"{kind} ?"


def _object_shape(obj: Any) -> list[Finding]:
    if not isinstance(obj, dict):
        return [Finding("?", "", f"expected a Kubernetes object (mapping), got {type(obj).__name__}", "schema")]
    ref = ref_of(obj)
    out = []
    for field in ("apiVersion", "kind"):
        if not isinstance(obj.get(field), str) or not obj.get(field):
            out.append(Finding(ref, field, f"missing or non-string '{field}'", "schema"))
    if not isinstance(obj.get("metadata"), dict):
        out.append(Finding(ref, "metadata", "missing or non-object 'metadata'", "schema"))
    return out


VALIDATORS = {"jsonschema": "jsonschema", "kubernetes_validate": "kubernetes-validate", "ray": "ray[serve]",
              "dask_kubernetes": "dask-kubernetes"}
"""The modules the validators run (the ``validate`` extra), with the distribution that provides each."""


def missing_validators() -> list[str]:
    """The distributions of :data:`VALIDATORS` that are not installed."""
    import importlib.util

    return [dist for module, dist in VALIDATORS.items() if importlib.util.find_spec(module) is None]


def validate_objects(objects: list[dict[str, Any]], kubernetes_version: str = "1.31") -> list[Finding]:
    """Every finding of every check on ``objects`` (empty list: all good).

    Malformed objects yield findings, never exceptions; only missing upstream reference material (the KubeRay or
    Prometheus-operator CRDs, see :mod:`.upstream`) raises ``FileNotFoundError``.
    """
    from raydask.k8s.manifest import normalize
    from raydask.offline.validation import references

    findings: list[Finding] = []
    normalized: list[dict[str, Any]] = []
    for raw in objects:
        if isinstance(raw, dict) and raw.get("kind") == "CustomResourceDefinition":
            obj, found = _crd_checked(raw, kubernetes_version)
            normalized.append(obj)
            findings.extend(found)
            continue
        obj = normalize(raw)
        shape = _object_shape(obj)
        if shape:
            findings.extend(shape)
            if any(f.path in ("apiVersion", "kind") or f.obj == "?" for f in shape):
                continue
        normalized.append(obj)
        findings.extend(_checked(obj, kubernetes_version))
    try:
        findings.extend(references.check_references(normalized))
    except FileNotFoundError:
        raise
    except Exception as exc:
        findings.append(Finding("*", "", f"validator error: {type(exc).__name__}: {exc}", "references"))
    return _deduplicate(findings)


def _checked(obj: dict[str, Any], kubernetes_version: str) -> list[Finding]:
    """The per-object checks of ``obj`` (already normalized and well-shaped)."""
    from raydask.offline.validation import builtin, consumers, crd

    try:
        if crd.is_custom_resource(obj):
            return [*crd.check_crd(obj, kubernetes_version), *consumers.check_consumers(obj, kubernetes_version)]
        return builtin.check_builtin(obj, kubernetes_version)
    except FileNotFoundError:
        raise
    except Exception as exc:  # a validator bug must not hide the other findings
        return [Finding(ref_of(obj), "", f"validator error: {type(exc).__name__}: {exc}", "schema")]


_CRD_RESULTS: dict[tuple[bytes, str], tuple[dict[str, Any], tuple[Finding, ...]]] = {}
"""Checked CRDs by ``(digest of the pickled CRD, Kubernetes version)``: every stack of a project installs the same
megabyte-sized CRDs, so a process (``raydask validate dev production``) walks each one once."""
_CRD_RESULTS_KEPT = 32
"""At most this many (the oldest go first): a project installs a dozen CRDs at most."""


def _crd_checked(raw: dict[str, Any], kubernetes_version: str) -> tuple[dict[str, Any], tuple[Finding, ...]]:
    """A CustomResourceDefinition normalized and checked, once per process per content."""
    import hashlib
    import pickle

    from raydask.k8s.manifest import normalize

    try:  # a third of the time of sorted JSON text; CRDs built alike pickle alike (else: only a second check)
        text = pickle.dumps(raw, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        text = repr(raw).encode()
    key = (hashlib.sha256(text).digest(), kubernetes_version)
    if key not in _CRD_RESULTS:
        if len(_CRD_RESULTS) >= _CRD_RESULTS_KEPT:
            del _CRD_RESULTS[next(iter(_CRD_RESULTS))]
        obj = normalize(raw)
        shape = _object_shape(obj)
        _CRD_RESULTS[key] = (obj, (*shape, *(() if any(f.path == "apiVersion" for f in shape) else _checked(obj, kubernetes_version))))
    return _CRD_RESULTS[key]


def _deduplicate(findings: list[Finding]) -> list[Finding]:
    """Drop exact repeats, and operator-expansion findings that restate a finding on the same path
    (``expanded Deployment x at <path>: <message>`` after ``<message>``)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        core = f.message.partition(": ")[2] if f.message.startswith("expanded ") else f.message
        if (f.obj, f.path, f.message) in seen or (f.obj, f.path, core) in seen:
            continue
        seen.add((f.obj, f.path, f.message))
        out.append(f)
    return out
