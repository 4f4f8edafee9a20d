"""Field-by-field comparison of an upstream custom resource (a KubeRay sample, a Dask operator example) with what raydask
renders for the configuration that says it, and the deliberate differences docs/from-upstream.md lists.

Rules (:func:`compare`): every field the upstream object sets must come out equal; what raydask adds is allowed.

- maps are compared key by key over the upstream keys; an empty map, list or ``null`` upstream equals an absent field
  (Kubernetes reads them alike). Container ``resources.requests`` / ``resources.limits`` are compared both ways: an
  amount raydask adds is a difference too (it changes what the pod gets);
- lists of named items are matched by name (containers and init containers, ports (by ``containerPort`` when
  unnamed), env, volumes, image pull secrets, Serve applications and deployments; volume mounts by ``mountPath``,
  worker groups by ``groupName``), extra items raydask adds are allowed; ``tolerations`` are a set: each upstream
  toleration must be among raydask's (an omitted ``operator`` is ``Equal``), which may add more (the tolerations of
  the extended resources a pod requests); any other list is compared position by position and must have the same
  length;
- scalars are equal, or numerically equal; amounts under ``resources``, ``requests``, ``limits`` and ``sizeLimit`` are
  compared as Kubernetes quantities (``1`` = ``"1"`` = ``1000m``); ``rayStartParams`` values as strings;
- strings holding YAML or JSON (``serveConfigV2``, ``runtimeEnvYAML``, ``entrypointResources``) are parsed and compared
  as data;
- a Dask command line (``args`` starting with ``dask-scheduler``, ``dask-worker`` or ``dask``) is compared as a command
  and its options: ``dask-worker`` is ``dask worker``, each upstream option must be given with the same value as Dask
  reads it (``8788`` = ``:8788``; ``--memory-limit 6GB`` = ``6000000000``; ``--resources MEMORY=32e9`` =
  ``MEMORY=3.2e+10``), in any order (path ``args[--option]``).

A difference is ``(path, kind, upstream value, raydask value)``: ``absent`` (upstream sets it, raydask does not),
``value`` (both set, unequal) or ``added`` (raydask adds an amount to ``resources``). Paths read like
``spec.workerGroupSpecs[small-group].template.spec.containers[ray-worker].resources.limits.cpu``.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from raydask.k8s import quantities

NAMED_LISTS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ports": ("name", "containerPort"), "env": ("name",),
    "volumes": ("name",), "imagePullSecrets": ("name",), "applications": ("name",), "deployments": ("name",),
    "volumeMounts": ("mountPath",), "workerGroupSpecs": ("groupName",),
}
"""List fields matched by a key of their items (the first key an item has), not by position."""
SET_LISTS = frozenset({"tolerations"})
"""List fields whose order means nothing, compared item by item as data (raydask may add items)."""
EMBEDDED = {"serveConfigV2": "yaml", "runtimeEnvYAML": "yaml", "entrypointResources": "json"}
"""String fields holding data, compared as data."""
QUANTITY_SEGMENTS = frozenset({"resources", "requests", "limits", "sizeLimit"})
DASK_COMMANDS = {"dask-scheduler": ("dask", "scheduler"), "dask-worker": ("dask", "worker")}
KINDS = ("absent", "value", "added")


@dataclass(frozen=True)
class Difference:
    """One field that does not come out as upstream writes it."""

    path: str
    kind: str
    upstream: Any = None
    raydask: Any = None
    siblings: Any = None
    """The upstream map holding the field (for rows that apply only where it equals a sibling)."""

    def __str__(self) -> str:
        if self.kind == "absent":
            return f"{self.path}: absent (upstream: {_short(self.upstream)})"
        if self.kind == "added":
            return f"{self.path}: added by raydask ({_short(self.raydask)})"
        return f"{self.path}: upstream {_short(self.upstream)}, raydask {_short(self.raydask)}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


def _empty(value: Any) -> bool:
    return value is None or value == {} or value == [] or value == ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return quantities.parse(str(value))
    except (ValueError, InvalidOperation):
        return None


def _scalar_equal(a: Any, b: Any, segments: tuple[str, ...]) -> bool:
    if a == b and type(a) is type(b):
        return True
    if _is_number(a) and _is_number(b):
        return Decimal(str(a)) == Decimal(str(b))
    if "rayStartParams" in segments:
        return _text(a) == _text(b)
    if QUANTITY_SEGMENTS & set(segments):
        qa, qb = _quantity(a), _quantity(b)
        return qa is not None and qa == qb
    return False


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _item_key(item: Any, keys: tuple[str, ...]) -> str | None:
    if not isinstance(item, dict):
        return None
    for key in keys:
        if item.get(key) is not None:
            return str(item[key])
    return None


def _toleration(item: dict[str, Any]) -> dict[str, Any]:
    """A toleration as Kubernetes reads it: no empty fields, ``operator`` ``Equal`` unless given, numbers as numbers."""
    out = {k: v for k, v in item.items() if not _empty(v)}
    out.setdefault("operator", "Equal")
    if _is_number(out.get("tolerationSeconds")):
        out["tolerationSeconds"] = Decimal(str(out["tolerationSeconds"]))
    return out


def _strict(segments: tuple[str, ...]) -> bool:
    """Container ``resources.requests`` / ``resources.limits``: raydask's additions count too."""
    return len(segments) >= 2 and segments[-2] == "resources" and segments[-1] in ("requests", "limits")


def _dask_command(args: Any) -> tuple[tuple[str, ...], dict[str, str | None], list[str]] | None:
    """``(command words, {--option: value or None}, positional words)`` of a Dask command line, else None."""
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        return None
    if args[0] in DASK_COMMANDS:
        words, rest = DASK_COMMANDS[args[0]], args[1:]
    elif args[0] == "dask" and len(args) > 1:
        words, rest = ("dask", args[1]), args[2:]
    else:
        return None
    options: dict[str, str | None] = {}
    positional: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.startswith("--"):
            name, eq, value = word.partition("=")
            if eq:
                options[name] = value
            elif i + 1 < len(rest) and not rest[i + 1].startswith("--"):
                options[name] = rest[i + 1]
                i += 1
            else:
                options[name] = None
        else:
            positional.append(word)
        i += 1
    return words, options, positional


def _dask_option(option: str, value: str | None) -> Any:
    """An option's value as Dask reads it: addresses without the leading ``:``, ``--memory-limit`` in bytes,
    ``--resources`` as numbers by name."""
    if value is None:
        return None
    if option.endswith("-address") and value.startswith(":"):
        return value[1:]
    if option == "--memory-limit":
        from dask.utils import parse_bytes

        try:
            return parse_bytes(value)
        except ValueError:
            return value
    if option == "--resources":
        pairs = (p.partition("=") for p in value.replace(",", " ").split())
        try:
            return {name: float(number) for name, _, number in pairs}
        except ValueError:
            return value
    return value


class Comparison:
    """The differences of one upstream object and raydask's (:func:`compare`)."""

    def __init__(self) -> None:
        self.found: list[Difference] = []

    def add(self, segments: tuple[str, ...], kind: str, upstream: Any = None, raydask: Any = None,
            siblings: Any = None) -> None:
        self.found.append(Difference(render_path(segments), kind, upstream, raydask, siblings))

    def value(self, up: Any, ours: Any, segments: tuple[str, ...]) -> None:
        if up is None:  # the sample leaves it unset
            return
        name = segments[-1] if segments else ""
        if name in EMBEDDED and isinstance(up, str) and isinstance(ours, str) and up != ours:
            parse = json.loads if EMBEDDED[name] == "json" else yaml.safe_load
            self.value(parse(up), parse(ours), segments)
            return
        if isinstance(up, dict):
            if not isinstance(ours, dict):
                self.add(segments, "value", up, ours)
                return
            for key, item in up.items():
                child = (*segments, str(key))
                if key not in ours or ours[key] is None:
                    if not _empty(item):
                        self.add(child, "absent", item, siblings=up)
                    continue
                self.value(item, ours[key], child)
            if _strict(segments):
                for key in ours:
                    if key not in up:
                        self.add((*segments, str(key)), "added", None, ours[key])
            return
        if isinstance(up, list):
            self.sequence(up, ours, segments)
            return
        if not _scalar_equal(up, ours, segments):
            self.add(segments, "value", up, ours)

    def sequence(self, up: list[Any], ours: Any, segments: tuple[str, ...]) -> None:
        if not isinstance(ours, list):
            self.add(segments, "value", up, ours)
            return
        name = segments[-1] if segments else ""
        keys = NAMED_LISTS.get(name)
        if keys and all(_item_key(item, keys) is not None for item in up):
            mine = {_item_key(item, keys): item for item in ours}
            for item in up:
                key = _item_key(item, keys)
                child = (*segments[:-1], f"{name}[{key}]")
                if key not in mine:
                    self.add(child, "absent", item)
                else:
                    self.value(item, mine[key], child)
            return
        if name in SET_LISTS and all(isinstance(item, dict) for item in [*up, *ours]):
            mine = [_toleration(item) for item in ours]
            for item in up:
                if _toleration(item) not in mine:
                    self.add((*segments[:-1], f"{name}[{item.get('key') or '*'}]"), "absent", item)
            return
        up_cmd, our_cmd = _dask_command(up), _dask_command(ours)
        if name in ("args", "command") and up_cmd is not None:
            self.dask_command(up_cmd, our_cmd, ours, segments)
            return
        if len(up) != len(ours):
            self.add(segments, "value", up, ours)
            return
        for i, (a, b) in enumerate(zip(up, ours, strict=True)):
            self.value(a, b, (*segments[:-1], f"{name}[{i}]"))

    def dask_command(self, up: tuple[tuple[str, ...], dict[str, str | None], list[str]],
                     ours: tuple[tuple[str, ...], dict[str, str | None], list[str]] | None, raw: Any,
                     segments: tuple[str, ...]) -> None:
        name = segments[-1]
        if ours is None or ours[0] != up[0] or ours[2] != up[2]:
            self.add(segments, "value", " ".join((*up[0], *up[2])), raw)
            return
        for option, value in up[1].items():
            child = (*segments[:-1], f"{name}[{option}]")
            if option not in ours[1]:
                self.add(child, "absent", value)
            elif _dask_option(option, ours[1][option]) != _dask_option(option, value):
                self.add(child, "value", value, ours[1][option])


def render_path(segments: tuple[str, ...]) -> str:
    return ".".join(segments)


def compare(upstream: dict[str, Any], ours: dict[str, Any]) -> list[Difference]:
    """The differences of ``ours`` from ``upstream`` (two objects of the same kind), by the rules of the module."""
    c = Comparison()
    c.value({k: v for k, v in upstream.items() if k not in ("apiVersion", "kind", "status")},
            {k: v for k, v in ours.items() if k not in ("apiVersion", "kind", "status")}, ())
    return c.found


# ---------------------------------------------------------------------------------------------------------------------
# the deliberate differences (docs/from-upstream.md)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deliberate:
    """One row of the "Deliberate differences" table: a path pattern, the kind of difference, the samples it applies to,
    why."""

    pattern: str
    kind: str
    samples: tuple[str, ...]
    """Patterns of the samples it applies to (``kuberay/<sample path>``, ``dask/<config>``, ``*`` within a name); empty:
    every sample."""
    reason: str
    line: int
    equal_to: str | None = None
    """Applies only where the upstream value equals this sibling field's (``absent where equal to minReplicas``)."""

    @property
    def regex(self) -> re.Pattern[str]:
        return glob(self.pattern)

    def covers(self, sample: str) -> bool:
        return not self.samples or any(fnmatch.fnmatchcase(sample, s) for s in self.samples)

    def applies(self, sample: str, difference: Difference) -> bool:
        if self.equal_to is not None and not (isinstance(difference.siblings, dict)
                                              and difference.siblings.get(self.equal_to) == difference.upstream):
            return False
        return (self.covers(sample) and difference.kind == self.kind
                and self.regex.fullmatch(difference.path) is not None)


def glob(pattern: str) -> re.Pattern[str]:
    """A path pattern as a regex: ``**`` any run of segments, ``*`` any text within one segment or list key,
    ``{a,b}`` either pattern."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "{":
            end = pattern.index("}", i)
            out.append("(?:" + "|".join(glob(p).pattern for p in pattern[i + 1:end].split(",")) + ")")
            i = end + 1
        elif pattern.startswith("**.", i):
            out.append(r"(?:.*\.)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(r".*")
            i += 2
        elif pattern[i] == "*":
            out.append(r"[^.\[\]]*")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


TABLE = "## Deliberate differences from the samples"


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def deliberate_differences(doc: Path) -> list[Deliberate]:
    """The rows of the "Deliberate differences" table of ``doc``; a malformed row fails with its line."""
    rows: list[Deliberate] = []
    inside = False
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            inside = line.strip() == TABLE
            continue
        if not inside or not line.startswith("|"):
            continue
        cells = _cells(line)
        if cells[:2] in (["path", "difference"], ["---", "---"]):
            continue
        assert len(cells) == 4, f"{doc.name}:{number}: a row has four cells: path | difference | samples | reason"
        m = re.fullmatch(r"`([^`]+)`", cells[0])
        assert m, f"{doc.name}:{number}: the path cell is one code span: {cells[0]}"
        kind = re.fullmatch(rf"({'|'.join(KINDS)})(?: where equal to `?(\w+)`?)?", cells[1])
        assert kind, f"{doc.name}:{number}: the difference is one of {KINDS} (optionally `where equal to <field>`): {cells[1]}"
        samples: tuple[str, ...] = ()
        if cells[2] != "all":
            samples = tuple(re.findall(r"`([^`]+)`", cells[2]))
            assert samples, f"{doc.name}:{number}: samples is `all` or code spans naming samples: {cells[2]}"
        assert len(cells[3]) > 20, f"{doc.name}:{number}: a row says why"
        rows.append(Deliberate(m.group(1), kind.group(1), samples, cells[3], number, kind.group(2)))
    assert rows, f"{doc.name} has no \"{TABLE[3:]}\" table"
    return rows


def explain(differences: list[Difference], rows: list[Deliberate], sample: str
            ) -> Iterator[tuple[Difference, Deliberate | None]]:
    """Each difference with the deliberate-difference row that accounts for it (None: none does)."""
    for d in differences:
        yield d, next((r for r in rows if r.applies(sample, d)), None)
