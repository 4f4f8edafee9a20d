"""What a config key needs of the software that reads it -- a KubeRay release whose CRD has the key, a KubeRay feature
gate, a Ray release -- declared on the field it governs and checked by one function.

A field declares its requirement in its annotation::

    tls: Annotated[TlsSpec | None, Needs(kuberay="1.7.0", crd="tlsOptions", gate="RayClusterMTLS")] = None

and :func:`unmet` walks a spec (at any depth) and reports every set field whose requirement the given Ray version or
KubeRay operator does not meet. Models check the Ray version they carry (``rayVersion``); the stack checks its
``raydask:kuberay`` (an operator installed elsewhere is not known, so nothing is checked against it). The configuration
reference (:mod:`raydask.offline.docs`) prints the requirement of each field from the same declaration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from raydask.errors import key_path

Problem = tuple[tuple[Any, ...], str]
"""``(key path as a tuple, message)``."""


@dataclass(frozen=True)
class Gate:
    """A KubeRay feature gate a key needs."""

    on_since: str | None
    """The first KubeRay release whose operator turns it on by default; None: off by default. Used for versions whose
    chart defaults raydask does not ship."""
    off: str
    """What KubeRay does with the key while the gate is off."""


GATES: dict[str, Gate] = {
    "RayJobDeletionPolicy": Gate("1.6.0", "KubeRay refuses a RayJob with a deletionStrategy"),
    "RayServiceIncrementalUpgrade": Gate("1.7.0", "KubeRay upgrades the RayService in place, with downtime"),
    "RayClusterMTLS": Gate(None, "KubeRay refuses the cluster"),
    "RayClusterHistoryServer": Gate(None, "KubeRay ignores it (no collector)"),
    "GCSFaultToleranceEmbeddedStorage": Gate(None, "KubeRay refuses the cluster"),
    "RayCronJob": Gate(None, "KubeRay runs no RayCronJob controller: no RayJob is ever scheduled"),
}
"""The feature gates keys need, with their defaults and effects."""


def _set(value: Any) -> bool:
    return value is not None and value is not False and not (isinstance(value, list | dict | tuple) and not value)


@dataclass(frozen=True)
class Needs:
    """The requirement of a field: attach it to the field's annotation (``Annotated[T, Needs(...)]``)."""

    kuberay: str | None = None
    """The first KubeRay release whose CRD has the key (older API servers drop it)."""
    crd: str | None = None
    """The key in the CRD, for messages (``tlsOptions``, ``workerGroupSpecs[].priority``)."""
    gate: str | None = None
    """The KubeRay feature gate that must be on (a key of :data:`GATES`)."""
    ray: str | None = None
    """The first Ray release that reads the key."""
    what: str | None = None
    """What the key turns on, for messages about the Ray version (``Ray token authentication``)."""
    when: Callable[[Any], bool] = field(default=_set, compare=False)
    """Whether a value uses the requirement; default: the key is set (not null, false or empty)."""

    def text(self) -> str:
        """The requirement for people: ``Needs KubeRay ≥ 1.7.0 and its feature gate RayClusterMTLS on.``"""
        parts = []
        if self.kuberay:
            parts.append(f"KubeRay ≥ {self.kuberay}" + (f" and its feature gate {self.gate} on" if self.gate else ""))
        elif self.gate:
            parts.append(f"KubeRay's feature gate {self.gate} on")
        if self.ray:
            parts.append(f"Ray ≥ {self.ray}")
        return f"{self.what[0].upper() + self.what[1:] if self.what else 'Needs'}{' needs' if self.what else ''} " + \
            ", ".join(parts) + "."


def release(version: str) -> tuple[int, ...]:
    """``1.7.0`` / ``1.7.0-rc.1`` -> (1, 7, 0); (0, 0, 0) when it is not a release."""
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(p) for p in m.groups()) if m else (0, 0, 0)


@dataclass(frozen=True)
class KubeRay:
    """The KubeRay operator a stack installs, as the requirements see it."""

    version: str
    gates: Mapping[str, bool] = field(default_factory=dict)
    """The gates the operator runs with: the chart's defaults for this version, then the stack's ``featureGates``."""

    def gate_on(self, gate: str) -> bool:
        """Whether ``gate`` is on: as set, else by default from :data:`GATES` (``on_since``)."""
        if gate in self.gates:
            return self.gates[gate]
        since = GATES[gate].on_since
        return since is not None and release(self.version) >= release(since)


def needs_of(model: type[BaseModel], name: str) -> Needs | None:
    """The requirement declared on field ``name`` of ``model``, None when it has none."""
    return next((m for m in model.model_fields[name].metadata if isinstance(m, Needs)), None)


def _children(value: Any, key: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], BaseModel]]:
    if isinstance(value, BaseModel):
        yield key, value
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if isinstance(item, BaseModel):
                yield (*key, i), item
    elif isinstance(value, dict):
        for k, item in value.items():
            if isinstance(item, BaseModel):
                yield (*key, k), item


def check(value: Any, need: Needs | None, key: tuple[Any, ...], *, kind: str, base: tuple[Any, ...] = (),
          ray: str | None = None, kuberay: KubeRay | None = None) -> list[Problem]:
    """The problems of ``value`` at ``key`` under its requirement ``need`` (of a ``kind`` CRD whose spec starts at
    ``base``), then of the fields inside it (not when it already breaks its own requirement)."""
    out: list[Problem] = []
    if need is not None and value is not None and need.when(value):
        if need.ray and ray and release(ray) < release(need.ray):
            also = f" and KubeRay ≥ {need.kuberay}" if need.kuberay else ""
            out.append((key, f"{need.what} needs Ray ≥ {need.ray}{also}; rayVersion is {ray}"))
        if need.kuberay and kuberay and release(kuberay.version) < release(need.kuberay) and need.crd == kind:
            out.append((key, f"needs KubeRay ≥ {need.kuberay}; raydask:kuberay.version is {kuberay.version}, which has no "
                             f"{kind} CRD (the API server refuses the object): set raydask:kuberay.version to "
                             f"{need.kuberay} or later, or remove {key_path('', key[len(base):])}"))
        elif need.kuberay and kuberay and release(kuberay.version) < release(need.kuberay):
            out.append((key, f"needs KubeRay ≥ {need.kuberay}; raydask:kuberay.version is {kuberay.version} (its {kind} CRD "
                             f"has no {need.crd}: the API server drops it): set raydask:kuberay.version to {need.kuberay} or "
                             f"later, or remove {key_path('', key[len(base):])}"))
        elif need.gate and kuberay and not kuberay.gate_on(need.gate):
            out.append((key, f"needs the KubeRay feature gate {need.gate}, off in raydask:kuberay (without it "
                             f"{GATES[need.gate].off}): set raydask:kuberay.featureGates: {{{need.gate}: true}}"))
        if out:
            return out
    for sub, model in _children(value, key):
        out += unmet(model, sub, kind=kind, base=base, ray=ray, kuberay=kuberay)
    return out


def unmet(model: BaseModel, key: tuple[Any, ...] = (), *, kind: str = "", base: tuple[Any, ...] = (),
          ray: str | None = None, kuberay: KubeRay | None = None) -> list[Problem]:
    """Every set field of ``model`` (at any depth, key paths under ``key``) whose requirement Ray ``ray`` or the KubeRay
    operator ``kuberay`` does not meet; pass None for what not to check. A model with a ``CRD_KIND`` starts the spec of
    that CRD (messages name the key to remove relative to it)."""
    own = getattr(type(model), "CRD_KIND", None)
    if own:
        kind, base = own, key
    out: list[Problem] = []
    for name, info in type(model).model_fields.items():
        need = next((m for m in info.metadata if isinstance(m, Needs)), None)
        out += check(getattr(model, name), need, (*key, info.alias or name), kind=kind, base=base, ray=ray, kuberay=kuberay)
    return out


def requirement_text(info: Any) -> str | None:
    """The requirement declared on a pydantic ``FieldInfo``, for the configuration reference; None without one."""
    need = next((m for m in getattr(info, "metadata", ()) if isinstance(m, Needs)), None)
    return need.text() if need else None
