"""What both operator specs share: the chart source, the CRD handling, resources and the chart-value escape hatch."""

from __future__ import annotations

import contextlib
import contextvars
import difflib
import json
import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator

from raydask import facts
from raydask.errors import Path
from raydask.spec.base import Cpu, Label, Memory, Spec


def _chart_version(value: str) -> str:
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", value):
        raise ValueError(f"'{value}' is not a pinned chart version such as '1.7.0' (major.minor.patch, no ranges)")
    return value


def _repo_url(value: str) -> str:
    if not re.fullmatch(r"(https?|file)://[^\s]+", value):
        raise ValueError(f"'{value}' is not a Helm repository URL: https://, http:// or file://")
    return value


ChartVersion = Annotated[str, AfterValidator(_chart_version)]
"""A pinned chart version such as ``1.7.0`` (no ranges)."""
RepoUrl = Annotated[str, AfterValidator(_repo_url)]
"""A Helm repository URL (``https://``, ``http://`` or ``file://``)."""


class OperatorResources(Spec):
    """Operator container resources."""

    cpu: Cpu = "100m"
    """CPU request; default ``100m``."""
    cpu_limit: Cpu = "500m"
    """CPU limit; default ``500m``."""
    memory: Memory = "512Mi"
    """Memory request and limit; default ``512Mi`` (about 500 Ray pods)."""

    def problems(self) -> list[tuple[Path, str]]:
        from raydask.k8s import quantities

        if quantities.cores(self.cpu_limit) < quantities.cores(self.cpu):
            return [*super().problems(), ("cpuLimit", f"must be at least cpu ({self.cpu_limit} < {self.cpu})")]
        return super().problems()


class CrdSpec(Spec):
    """How the operator's CRDs are managed (outside Helm, which never upgrades them)."""

    manage: bool = True
    """Apply the chart's CRDs with server-side apply, upgrade them with the chart and keep them on removal; default
    true. False: install them yourself."""


class ChartSourceSpec(Spec):
    """Where the operator's Helm chart comes from; the CRDs raydask applies are the ones in its ``crds/``."""

    repo: RepoUrl
    """Helm repository (the public one, or your mirror); the chart is fetched once into the chart cache
    (``$RAYDASK_CHART_CACHE``, default ``~/.cache/raydask/charts``) and the provider installs it from there."""
    path: str | None = None
    """A local chart directory of this version (``helm pull <chart> --version <version> --untar``), relative to the
    project: nothing is downloaded and ``repo`` is not used; default none. For air-gapped clusters."""


class OperatorSpec(Spec):
    """Settings every operator release has."""

    version: ChartVersion
    """Chart, operator image and CRD version."""
    namespace: Label | None = None
    """Namespace of the operator; default the stack's ``raydask:namespace``."""
    chart: ChartSourceSpec
    """Where the chart comes from; default the public repository."""
    crds: CrdSpec = CrdSpec()
    """CRD management; default applied by raydask (server-side), kept on removal."""
    resources: OperatorResources = OperatorResources()
    """Operator container resources."""
    values: dict[str, Any] = {}
    """Escape hatch: any other chart value, deep-merged last; default none."""

    RESERVED_VALUES: ClassVar[dict[str, str]] = {}
    """Chart values raydask sets itself (dotted paths), with the key to use instead."""
    CHART: ClassVar[str] = ""

    def problems(self) -> list[tuple[Path, str]]:
        """Chart values that override what raydask sets, that the chart does not have, or of the wrong kind."""
        problems = super().problems()
        for path, hint in self.RESERVED_VALUES.items():
            node: Any = self.values
            parts = path.split(".")
            for part in parts:
                if not isinstance(node, dict) or part not in node:
                    break
                node = node[part]
            else:
                problems.append((("values", *parts), f"set by raydask: {hint}"))
        shipped = facts.SUPPORTED.get(self.CHART, ())
        if shipped and _release(self.version) > _release(shipped[-1]) and self.chart.path is None:
            problems.append(("version", f"{self.version} is not a {self.CHART} release raydask knows: it ships the CRD schemas "
                                        f"and chart values of {' and '.join(shipped)} and checks every release up to "
                                        f"{shipped[-1]} against the nearest of them; choose one of those (a newer release "
                                        "needs a newer raydask)"))
        defaults = chart_defaults(self.CHART, self.version) if self.CHART and self.chart.path is None else None
        if defaults is None:
            return problems
        known, values = defaults
        for key, value in self.values.items():
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                problems.append((("values", key), f"the {self.CHART} {self.version} chart has no value '{key}'{hint}: it "
                                                  "would be ignored"))
            elif key in values and not any(p[0][:2] == ("values", key) for p in problems):
                problems += [(("values", key, *sub), message) for sub, message in _kind_problems(value, values[key])]
        return problems


def _release(version: str) -> tuple[int, ...]:
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", version)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def _kind_problems(value: Any, default: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """``value`` against the chart's ``default``: a mapping, list, boolean, number or string where the default is one."""
    if default is None or value is None:
        return []
    kinds = ((bool, "true or false"), (dict, "a mapping"), (list, "a list"), ((int, float), "a number"), (str, "a string"))
    for typ, name in kinds:
        if isinstance(default, typ):
            if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, typ):
                if typ is str and isinstance(value, int | float) and not isinstance(value, bool):
                    return []  # Helm templates print numbers as text
                return [(path, f"expected {name} (the chart's default is {json.dumps(default)}), got {json.dumps(value)}")]
            break
    if isinstance(default, dict) and isinstance(value, dict):
        out = []
        for key, item in value.items():
            if key in default:
                out += _kind_problems(item, default[key], (*path, str(key)))
        return out
    return []


def chart_defaults(chart: str, version: str) -> tuple[frozenset[str], dict[str, Any]] | None:
    """(top-level value keys, default values) of ``chart`` ``version`` as raydask ships them (:mod:`raydask.facts`); None
    for a version it does not ship."""
    return facts.chart_values(chart, version)


OPERATOR_VERSIONS: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("raydask_operator_versions",
                                                                                        default=None)
"""While a stack is validated: the chart version of each operator it installs, by chart (``kuberay-operator``). The
checks of nested models (a pod group's ``podPatch`` against the PodSpec its operator's CRD embeds) follow it."""


def operator_version(chart: str, default: str) -> str:
    """The version of the operator ``chart`` the spec being validated runs on: the stack's, else ``default``."""
    return (OPERATOR_VERSIONS.get() or {}).get(chart, default)


@contextlib.contextmanager
def operator_versions(versions: dict[str, str]) -> Iterator[None]:
    """Validate nested models against these operator versions (by chart) inside the block."""
    token = OPERATOR_VERSIONS.set(versions)
    try:
        yield
    finally:
        OPERATOR_VERSIONS.reset(token)
