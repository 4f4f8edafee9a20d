"""docs/from-upstream.md accounts for every field of the upstream CRDs' ``spec``, and names only real raydask keys.

The CRDs are located at run time as the validators locate them (:mod:`raydask.offline.validation.upstream`, through the
chart cache the test session seeds), so a new operator version's new field fails here until the page has a row for it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest
from stack_renders import ROOT

from raydask import charts
from raydask.offline.validation.upstream import dask_crd_dir, kuberay_crd_dir

DOC = ROOT / "docs" / "from-upstream.md"
REFERENCE = ROOT / "docs" / "configuration.md"

SECTIONS: dict[str, tuple[str, ...]] = {
    "RayCluster": ("headGroupSpec", "workerGroupSpecs", "autoscalerOptions"),
    "RayJob": (),
    "RayService": ("upgradeStrategy",),
    "RayCronJob": (),
    "DaskCluster": ("scheduler", "worker"),
    "DaskWorkerGroup": ("worker",),
    "DaskJob": ("cluster", "job"),
    "DaskAutoscaler": (),
}
"""Each section (a CRD kind) and the ``spec`` fields whose own fields get rows too (one level deep)."""

STATUSES = ("set by raydask:", "refused:", "not exposed:")
"""How a row without a raydask key starts."""
KEY = re.compile(r"`raydask:([^`]*)`")
"""A raydask key in a row: ``raydask:rayClusters[].workerGroups[].maxReplicas``."""


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` does not split)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


@functools.cache
def doc_tables() -> dict[str, dict[str, str]]:
    """{section kind: {field path: raydask cell}} of docs/from-upstream.md; duplicate rows fail."""
    tables: dict[str, dict[str, str]] = {}
    section: str | None = None
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):  # a `## <Kind> `spec`` section; other sections hold other tables
            m = re.fullmatch(r"## (\w+) `spec`", line.strip())
            section = m.group(1) if m else None
            if section:
                tables[section] = {}
            continue
        if section is None or not line.startswith("|"):
            continue
        cells = _cells(line)
        if cells in (["field", "raydask"], ["---", "---"]):
            continue
        assert len(cells) == 2, f"from-upstream.md:{number}: a row has two cells, `field` | raydask: {line}"
        m = re.fullmatch(r"`([\w.\[\]]+)`", cells[0])
        assert m, f"from-upstream.md:{number}: the field cell is one code span: {cells[0]}"
        assert m.group(1) not in tables[section], f"from-upstream.md:{number}: {section} `{m.group(1)}` listed twice"
        tables[section][m.group(1)] = cells[1]
    return tables


@functools.cache
def crds() -> dict[str, dict[str, Any]]:
    """{kind: ``spec`` schema of its storage version} of the KubeRay and Dask operator CRDs in the chart cache."""
    out = {}
    for directory in (kuberay_crd_dir(), dask_crd_dir()):
        for crd in charts.load_dir(directory):
            version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
            out[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return out


def upstream_fields(kind: str) -> set[str]:
    """``spec`` fields of ``kind``, plus the fields of the objects :data:`SECTIONS` expands (``[]`` after a list)."""
    spec = crds()[kind]
    properties = spec["properties"]
    fields = set(properties)
    for name in SECTIONS[kind]:
        schema = properties[name]
        prefix = name
        if schema.get("type") == "array":
            schema, prefix = schema["items"], f"{name}[]"
        fields |= {f"{prefix}.{child}" for child in schema.get("properties", {})}
    return fields


@functools.cache
def reference() -> dict[str, dict[str, str]]:
    """{model: {key: type cell}} of docs/configuration.md."""
    models: dict[str, dict[str, str]] = {}
    model: str | None = None
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#### "):
            model = line[5:].strip()
            models[model] = {}
        elif model is not None and (m := re.match(r"\| `(\w+)`(?: \(required\))? \|", line)):
            models[model][m.group(1)] = _cells(line)[1]
    return models


def key_problem(path: str) -> str | None:
    """Why ``raydask:<path>`` is not a key of docs/configuration.md; None when it is."""
    model: str | None = "StackSpec"
    segments = path.split(".")
    for i, segment in enumerate(segments):
        name, is_list = (segment[:-2], True) if segment.endswith("[]") else (segment, False)
        if model is None:
            return f"'{segments[i - 1]}' has no keys, so no '{segment}'"
        keys = reference()[model]
        if name not in keys:
            return f"{model} has no key '{name}'"
        kind = keys[name]
        if is_list and not kind.startswith("list of"):
            return f"'{name}' is {kind}, not a list: write it without []"
        if kind.startswith("list of") and not is_list and i + 1 < len(segments):
            return f"'{name}' is {kind}: write '{name}[]' before its keys"
        if kind == "map":
            return None  # a free-form mapping: what follows is data
        link = re.search(r"\[(\w+)\]\(#\w+\)", kind)
        model = link.group(1) if link else None
    return None


def test_every_section_is_there() -> None:
    assert sorted(doc_tables()) == sorted(SECTIONS), "one `## <Kind> spec` section per upstream object"


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_upstream_field_has_a_row(kind: str) -> None:
    documented = set(doc_tables()[kind])
    upstream = upstream_fields(kind)
    missing = sorted(upstream - documented)
    unknown = sorted(documented - upstream)
    assert not (missing or unknown), (f"{kind} spec fields with no row in docs/from-upstream.md: {missing}; "
                                      f"rows naming no {kind} spec field: {unknown}")


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_row_names_a_key_or_says_why_not(kind: str) -> None:
    bad = [field for field, text in doc_tables()[kind].items()
           if not (text.startswith("`raydask:") or text.startswith(STATUSES))]
    assert not bad, f"{kind} rows that start neither with a `raydask:` key nor with one of {STATUSES}: {bad}"


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_every_raydask_key_is_in_the_configuration_reference(kind: str) -> None:
    problems = [f"`{field}`: raydask:{key}: {problem}"
                for field, text in doc_tables()[kind].items()
                for key in KEY.findall(text)
                if (problem := key_problem(key))]
    assert not problems, "keys of docs/from-upstream.md missing from docs/configuration.md:\n" + "\n".join(problems)


def test_key_check_catches_wrong_keys() -> None:
    assert key_problem("rayClusters[].workerGroups[].maxReplicas") is None
    assert key_problem("kuberay.featureGates") is None
    assert key_problem("rayClusters[].workerGroups[].maxReplica") == "WorkerGroupSpec has no key 'maxReplica'"
    assert key_problem("rayClusters.head") is not None  # a list without []
    assert key_problem("rayClusters[].rayVersion.major") is not None  # below a scalar
