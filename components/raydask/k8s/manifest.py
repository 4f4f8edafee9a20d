"""Plain-dict helpers shared by builders, the offline renderer and the validators."""

from __future__ import annotations

import copy
from typing import Any, Final

RELEASE_TYPE: Final = "kubernetes:helm.sh/v3:Release"
"""Pulumi type token of pulumi-kubernetes's ``helm.v3.Release`` (the operators' charts)."""
CRD_TYPE: Final = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
"""Pulumi type token of a CustomResourceDefinition."""


class PulumiAnnotations:
    """Annotations the kubernetes provider reads off an object."""

    PATCH_FORCE: Final = "pulumi.com/patchForce"
    """Server-side apply with ``force``: take over the fields this object sets from any other field manager."""
    WAIT_FOR: Final = "pulumi.com/waitFor"
    """What ``pulumi up`` waits for after creating or updating the object (``jsonpath={.status.state}=ready``)."""
    TIMEOUT_SECONDS: Final = "pulumi.com/timeoutSeconds"
    """How long it waits."""
    SKIP_AWAIT: Final = "pulumi.com/skipAwait"
    """No waiting after applying this object (read from its own inputs, whatever annotations the live object has)."""
    DELETION_PROPAGATION: Final = "pulumi.com/deletionPropagationPolicy"
    """How ``pulumi`` deletes the object: ``foreground`` (the provider's default: dependents first), ``background``
    (the object first, its dependents after it is gone) or ``orphan``."""


def owned(manifest: dict[str, Any]) -> dict[str, Any]:
    """``manifest`` as raydask applies it: with ``patchForce``, so the fields it sets win over any other field manager's
    (``kubectl edit``, another server-side applier): ``pulumi up`` repairs an outside edit instead of failing on the
    conflict. Autoscalers keep what they own, because raydask never sets those fields (``replicas`` of an autoscaled
    Ray worker group, the Dask operator's default worker group). Returns a new dict; ``manifest`` is not modified."""
    meta = dict(manifest.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}), PulumiAnnotations.PATCH_FORCE: "true"}
    return {**manifest, "metadata": meta}


def normalize(value: Any) -> Any:
    """Return ``value`` with integral floats turned back into ints (the mock engine hands 3 back as 3.0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    return value


def object_ref(obj: dict[str, Any]) -> str:
    """``Kind namespace/name`` for messages."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return f"{obj.get('kind', '?')} {ns + '/' if ns else ''}{name}"


MERGE_KEYS = ("name", "mountPath")
"""Keys the API server merges list items by (containers, volumes, env by ``name``; volumeMounts by ``mountPath``)."""


def merge(base: Any, patch: Any, keys: tuple[str, ...] = MERGE_KEYS) -> Any:
    """``patch`` merged into ``base``, as server-side apply merges a partial object: maps key by key, lists whose items
    all carry one of ``keys`` (the first such key) item by item, new items appended, anything else replaced. ``keys=()``
    replaces every list (how Helm merges values). Returns a new value; ``base`` and ``patch`` are not modified (what comes
    from ``patch`` is copied)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: merge(base[k], v, keys) if k in base else copy.deepcopy(v) for k, v in patch.items()}}
    if isinstance(base, list) and isinstance(patch, list):
        for key in keys:
            if all(isinstance(i, dict) and key in i for i in [*base, *patch]):
                merged = {i[key]: i for i in base}
                for item in patch:
                    merged[item[key]] = merge(merged[item[key]], item, keys) if item[key] in merged else copy.deepcopy(item)
                return list(merged.values())
    return copy.deepcopy(patch)
