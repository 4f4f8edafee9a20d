"""What users copy today, said in raydask: KubeRay 1.7.0's samples and the Dask operator's documented examples.

Each sample has a raydask stack config in ``tests/samples/`` (``kuberay/<sample path>``, ``dask/<example>.yaml``):
the ``config:`` block of a Pulumi stack file, written as a user would write it. The test renders it once with the real
program under the mock engine (``raydask render``) and compares every custom resource of the sample with the rendered
one, field by field (:mod:`upstream_samples`): what the sample sets must come out equal; raydask's additions are
allowed; the deliberate differences are the rows of docs/from-upstream.md's "Deliberate differences" tables, read here.

KubeRay's samples are read from the reference folder (``../shared/upstream/kuberay-1.7.0/samples``), the Dask
operator's test resources from the installed dask-kubernetes wheel; the examples of its documentation, which no
package ships, are compared with ``tests/samples/dask/expected/``: the fields they set, as the configs' headers cite
them (repository, path and commit). No upstream file is copied into the repository.

A sample raydask cannot say yet is listed in :data:`PENDING` with the gap it waits for: it runs as a strict xfail,
so it fails once the gap is closed (remove the entry), and it fails for real when anything but its gap differs.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_renders import ROOT
from upstream import kuberay_samples
from upstream_samples import Deliberate, Difference, compare, deliberate_differences, explain

from raydask.offline import render, stackfile

CONFIGS = ROOT / "tests" / "samples"
KUBERAY_CONFIGS = sorted(p.relative_to(CONFIGS / "kuberay").as_posix() for p in (CONFIGS / "kuberay").rglob("*.yaml"))
DASK_CONFIGS = sorted(p.name for p in (CONFIGS / "dask").glob("*.yaml"))
DOC = ROOT / "docs" / "from-upstream.md"
RAY_KINDS = ("RayCluster", "RayJob", "RayService", "RayCronJob")
DASK_KINDS = ("DaskCluster", "DaskWorkerGroup", "DaskJob", "DaskAutoscaler")


# ---------------------------------------------------------------------------------------------------------------------
# what raydask cannot say yet (found beyond issue 26, whose gaps are closed)
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """A missing raydask feature, and how a failure it causes reads (regexes over failure lines)."""

    what: str
    signatures: tuple[str, ...]

    def explains(self, line: str) -> bool:
        return any(re.search(s, line) for s in self.signatures)


GAPS: dict[str, Gap] = {}
"""Gaps found beyond issue 26, by a short name, with how the failures they cause read (none open: every sample renders
without loss)."""

PENDING: dict[str, tuple[str, ...]] = {}
"""Samples (``kuberay/<path>``, ``dask/<file>``) that wait for gaps, by gap name."""


class PendingGap(AssertionError):
    """Every failure of a pending sample is its gap's (the expected failure of a strict xfail)."""


# ---------------------------------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    objects: dict[tuple[str, str], dict[str, Any]]
    """Custom resources by (kind, name)."""
    refused: list[str]
    """What the program refused (one line each), when it did."""
    manifests: tuple[dict[str, Any], ...] = ()
    """Every object of the render (for validation)."""


@functools.cache
def rendered(config: Path) -> Rendered:
    """The stack config at ``config`` rendered once (as ``raydask render`` does)."""
    file = stackfile.read(config, "raydask")
    try:
        result = render.render_stack(config.stem, ROOT, config=file.values, problems=file.problems)
    except render.StackConfigError as exc:
        return Rendered({}, [line.strip() for line in str(exc).splitlines()[1:] if line.strip()])
    kinds = (*RAY_KINDS, *DASK_KINDS)
    return Rendered({(o.kind, o.name): o.manifest for o in result.objects if o.kind in kinds}, [],
                    tuple(result.manifests(include_crds=False)))


def _documents(text: str, kinds: Iterable[str]) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") in tuple(kinds)]


def _name(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName") or "")


GENERATED = "[bcdfghjklmnpqrstvwxz2456789]{5}"
"""The suffix the API server adds to a ``generateName`` (and raydask's ``generateName: true``)."""


def _generated(doc: dict[str, Any], objects: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any] | None:
    """The rendered object named as the API server completes ``doc``'s ``generateName`` (None without one)."""
    prefix = (doc.get("metadata") or {}).get("generateName")
    if not prefix or (doc.get("metadata") or {}).get("name"):
        return None
    return next((o for (kind, name), o in objects.items()
                 if kind == doc["kind"] and re.fullmatch(re.escape(prefix) + GENERATED, name)), None)


@functools.cache
def rows() -> tuple[Deliberate, ...]:
    return tuple(deliberate_differences(DOC))


def failures(corpus: str, sample: str, upstream: list[dict[str, Any]], config: Path,
             used: set[int] | None = None) -> list[str]:
    """One line per field of ``upstream`` that raydask's render of ``config`` does not reproduce (and is not a deliberate
    difference); ``used`` collects the lines of the rows that accounted for a difference."""
    result = rendered(config)
    if result.refused:
        return [f"refused: {line}" for line in result.refused]
    out = []
    kinds = RAY_KINDS if corpus == "kuberay" else DASK_KINDS
    expected = {(d["kind"], _name(d)) for d in upstream}
    expected |= {(d["kind"], name) for d in upstream for kind, name in result.objects
                 if kind == d["kind"] and _generated(d, {(kind, name): {}}) is not None}
    compared_kinds = {kind for kind, _ in expected}  # a DaskWorkerGroup's config declares its DaskCluster too
    for ref in sorted(r for r in set(result.objects) - expected if r[0] in compared_kinds):
        out.append(f"{ref[0]} {ref[1]}: rendered, but the sample has no such object")
    for doc in upstream:
        ref = (doc["kind"], _name(doc))
        ours = result.objects.get(ref) or _generated(doc, result.objects)
        if ours is None:
            out.append(f"{ref[0]} {ref[1]}: not rendered (rendered: {sorted(f'{k} {n}' for k, n in result.objects) or 'none'})")
            continue
        diffs: list[Difference] = compare(doc, ours)
        for diff, row in explain(diffs, list(rows()), f"{corpus}/{sample}"):
            if row is None:
                out.append(f"{ref[0]} {ref[1]}: {diff}")
            elif used is not None:
                used.add(row.line)
    assert all(d["kind"] in kinds for d in upstream)
    return out


def judge(sample: str, found: list[str]) -> None:
    """Pass, fail, or (pending samples whose every failure is their gap's) raise :class:`PendingGap`."""
    gaps = [GAPS[g] for g in PENDING.get(sample, ())]
    if not found:
        return
    unexplained = [line for line in found if not any(g.explains(line) for g in gaps)]
    if gaps and not unexplained:
        raise PendingGap(f"{sample} waits for {', '.join(PENDING[sample])}:\n" + "\n".join(found))
    pending = f" (pending {', '.join(PENDING[sample])}; these are not that gap's)" if gaps else ""
    raise AssertionError(f"{sample}: {len(unexplained)} differences from upstream{pending}:\n" + "\n".join(unexplained))


def _marks(sample: str) -> list[pytest.MarkDecorator]:
    if sample not in PENDING:
        return []
    return [pytest.mark.xfail(strict=True, raises=PendingGap, reason=f"waits for {', '.join(PENDING[sample])}")]


# ---------------------------------------------------------------------------------------------------------------------
# KubeRay's samples
# ---------------------------------------------------------------------------------------------------------------------


def kuberay_upstream(rel: str) -> list[dict[str, Any]]:
    return _documents((kuberay_samples() / rel).read_text(), RAY_KINDS)


@pytest.mark.parametrize("rel", [pytest.param(r, marks=_marks(f"kuberay/{r}"), id=r) for r in KUBERAY_CONFIGS])
def test_kuberay_sample_renders_without_loss(rel: str) -> None:
    judge(f"kuberay/{rel}", failures("kuberay", rel, kuberay_upstream(rel), CONFIGS / "kuberay" / rel))


def test_every_kuberay_sample_has_a_config() -> None:
    root = kuberay_samples()
    declaring = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.yaml")
                       if _documents(p.read_text(), RAY_KINDS))
    assert len(declaring) >= 80, f"KubeRay 1.7.0 ships 89 samples declaring Ray objects, found {len(declaring)}"
    assert declaring == KUBERAY_CONFIGS, (f"samples without a config: {sorted(set(declaring) - set(KUBERAY_CONFIGS))}; "
                                          f"configs without a sample: {sorted(set(KUBERAY_CONFIGS) - set(declaring))}")


# ---------------------------------------------------------------------------------------------------------------------
# the Dask operator's examples
# ---------------------------------------------------------------------------------------------------------------------

WHEEL_RESOURCES = "dask_kubernetes/operator/controller/tests/resources"
DASK_EXAMPLES: dict[str, str] = {
    "operator-tests-simplecluster.yaml": f"wheel:{WHEEL_RESOURCES}/simplecluster.yaml",
    "operator-tests-simpleworkergroup.yaml": f"wheel:{WHEEL_RESOURCES}/simpleworkergroup.yaml",
    "operator-tests-simplejob.yaml": f"wheel:{WHEEL_RESOURCES}/simplejob.yaml",
    "operator-tests-failedjob.yaml": f"wheel:{WHEEL_RESOURCES}/failedjob.yaml",
    "docs-operator-resources-cluster.yaml": "expected",
    "docs-operator-resources-highmemworkers.yaml": "expected",
    "docs-operator-resources-job.yaml": "expected",
    "docs-operator-resources-autoscaler.yaml": "expected",
    "docs-operator-resources-labels.yaml": "expected",
    "docs-kubecluster-migrating-cluster-spec.yaml": "expected",
}
"""Each Dask config and where its upstream object is read: from the installed dask-kubernetes wheel (the operator's
test resources), or, for the documentation's examples no package ships, from ``tests/samples/dask/expected/``."""


def dask_upstream(config: str) -> list[dict[str, Any]]:
    source = DASK_EXAMPLES[config]
    if source == "expected":
        return _documents((CONFIGS / "dask" / "expected" / config).read_text(), DASK_KINDS)
    import dask_kubernetes

    path = Path(dask_kubernetes.__file__).parent.parent / source.removeprefix("wheel:")
    assert path.is_file(), f"the dask-kubernetes wheel no longer ships {source.removeprefix('wheel:')}"
    return _documents(path.read_text(), DASK_KINDS)


@pytest.mark.parametrize("config", [pytest.param(c, marks=_marks(f"dask/{c}"), id=c) for c in DASK_CONFIGS])
def test_dask_example_renders_without_loss(config: str) -> None:
    judge(f"dask/{config}", failures("dask", config, dask_upstream(config), CONFIGS / "dask" / config))


def test_every_dask_config_names_its_example() -> None:
    assert sorted(DASK_EXAMPLES) == DASK_CONFIGS
    expected = sorted(p.name for p in (CONFIGS / "dask" / "expected").glob("*.yaml"))
    assert expected == sorted(c for c, s in DASK_EXAMPLES.items() if s == "expected")
    kinds = {d["kind"] for c in DASK_CONFIGS for d in dask_upstream(c)}
    assert kinds == set(DASK_KINDS), f"examples of every Dask kind, got {sorted(kinds)}"


def test_every_rendered_sample_validates() -> None:
    """What the configs render is what the API server, the operators' CRDs and their consumers (Ray's autoscaler,
    Serve's schema, the Dask operator's builders) accept."""
    from raydask.offline.validation import validate_objects

    checked = 0
    problems = []
    for sample in [f"kuberay/{r}" for r in KUBERAY_CONFIGS] + [f"dask/{c}" for c in DASK_CONFIGS]:
        result = rendered(CONFIGS / sample)
        if result.refused:
            continue
        checked += 1
        problems += [f"{sample}: {finding}" for finding in validate_objects(list(result.manifests))]
    assert checked >= 40
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------------------------------
# the deliberate differences and the pending list
# ---------------------------------------------------------------------------------------------------------------------


def test_every_deliberate_difference_is_used_and_names_real_samples() -> None:
    used: set[int] = set()
    for rel in KUBERAY_CONFIGS:
        failures("kuberay", rel, kuberay_upstream(rel), CONFIGS / "kuberay" / rel, used)
    for config in DASK_CONFIGS:
        failures("dask", config, dask_upstream(config), CONFIGS / "dask" / config, used)
    known = [f"kuberay/{r}" for r in KUBERAY_CONFIGS] + [f"dask/{c}" for c in DASK_CONFIGS]
    for row in rows():
        for pattern in row.samples:
            assert fnmatch.filter(known, pattern), f"from-upstream.md:{row.line}: no sample matches {pattern}"
    refused = {s for s in known if rendered(CONFIGS / s).refused}
    # a row that applies to a sample refused now (pending a gap) is checked once it renders
    unused = [f"from-upstream.md:{r.line} `{r.pattern}`" for r in rows()
              if r.line not in used and not any(r.covers(s) for s in refused)]
    assert not unused, f"deliberate differences no sample needs (remove them, or narrow what they apply to): {unused}"


def test_pending_entries_name_known_gaps_and_samples() -> None:
    samples = {f"kuberay/{r}" for r in KUBERAY_CONFIGS} | {f"dask/{d}" for d in DASK_CONFIGS}
    assert set(PENDING) <= samples, sorted(set(PENDING) - samples)
    named = {g for gaps in PENDING.values() for g in gaps}
    assert named <= set(GAPS), sorted(named - set(GAPS))
    assert set(GAPS) <= named, f"gaps no sample waits for: {sorted(set(GAPS) - named)}"


# ---------------------------------------------------------------------------------------------------------------------
# the comparison itself
# ---------------------------------------------------------------------------------------------------------------------


def _paths(upstream: dict[str, Any], ours: dict[str, Any]) -> dict[str, str]:
    return {d.path: d.kind for d in compare(upstream, ours)}


def test_the_comparison_finds_what_differs() -> None:
    pod = {"containers": [{"name": "c", "image": "i:1", "args": ["a", "b"],
                           "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}}]}
    up = {"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"template": {"spec": pod}, "n": 2}}
    assert compare(up, up) == []
    same = {"metadata": {"name": "x", "labels": {"a": "b", "extra": "ok"}, "namespace": "ray"},
            "spec": {"n": 2.0, "template": {"spec": {"containers": [
                {"name": "sidecar"},
                {"name": "c", "image": "i:1", "args": ["a", "b"], "securityContext": {"runAsNonRoot": True},
                 "resources": {"requests": {"cpu": "1000m"}, "limits": {"memory": "1024Mi"}}}]}}}}
    assert compare(up, same) == [], "additions, other list order, numbers and quantities as Kubernetes reads them"
    other = {"metadata": {"name": "x"}, "spec": {"n": 3, "template": {"spec": {"containers": [
        {"name": "c", "image": "i:2", "args": ["a"], "resources": {"requests": {"cpu": "1", "memory": "2Gi"},
                                                                   "limits": {"memory": "1G"}}}]}}}}
    assert _paths(up, other) == {
        "metadata.labels": "absent", "spec.n": "value", "spec.template.spec.containers[c].image": "value",
        "spec.template.spec.containers[c].args": "value",
        "spec.template.spec.containers[c].resources.requests.memory": "added",
        "spec.template.spec.containers[c].resources.limits.memory": "value"}
    assert _paths(up, {"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"n": 2, "template": {"spec": {
        "containers": [{"name": "d"}]}}}}) == {"spec.template.spec.containers[c]": "absent"}


def test_the_comparison_reads_embedded_data_and_dask_command_lines() -> None:
    up = {"spec": {"serveConfigV2": "applications:\n- name: a\n  import_path: m:app\n",
                   "rayStartParams": {"num-cpus": 0, "block": True}, "unset": None, "empty": {}}}
    ours = {"spec": {"serveConfigV2": "applications:\n  - import_path: m:app\n    name: a\n    route_prefix: /\n",
                     "rayStartParams": {"num-cpus": "0", "block": "true"}}}
    assert compare(up, ours) == []
    assert _paths(up, {"spec": {"serveConfigV2": "applications:\n- name: a\n  import_path: n:app\n",
                                "rayStartParams": {"num-cpus": "1", "block": "true"}}}) == {
        "spec.serveConfigV2.applications[a].import_path": "value", "spec.rayStartParams.num-cpus": "value"}
    worker = {"args": ["dask-worker", "--name", "$(N)", "--memory-limit", "6GB", "--resources", "MEMORY=32e9",
                       "--dashboard-address", "8788"]}
    ours_args = {"args": ["dask", "worker", "--dashboard-address", ":8788", "--name", "$(N)", "--memory-limit",
                          "6000000000", "--resources", "MEMORY=3.2e+10", "--nthreads", "2"]}
    assert compare(worker, ours_args) == []
    assert _paths(worker, {"args": ["dask", "worker", "--name", "$(N)", "--memory-limit", "6000000000",
                                    "--dashboard-address", ":8787"]}) == {
        "args[--resources]": "absent", "args[--dashboard-address]": "value"}
    assert _paths(worker, {"args": ["dask", "scheduler"]}) == {"args": "value"}


def test_deliberate_rows_apply_where_they_say() -> None:
    row = Deliberate("**.workerGroupSpecs[*].replicas", "absent", ("kuberay/a*.yaml",), "why it differs, at length", 1,
                     "minReplicas")
    warm = compare({"spec": {"workerGroupSpecs": [{"groupName": "g", "replicas": 3, "minReplicas": 1}]}},
                   {"spec": {"workerGroupSpecs": [{"groupName": "g", "minReplicas": 1}]}})
    same = compare({"spec": {"workerGroupSpecs": [{"groupName": "g", "replicas": 1, "minReplicas": 1}]}},
                   {"spec": {"workerGroupSpecs": [{"groupName": "g", "minReplicas": 1}]}})
    assert [r for _, r in explain(same, [row], "kuberay/auth.yaml")] == [row]
    assert [r for _, r in explain(same, [row], "kuberay/b.yaml")] == [None], "only the samples it names"
    assert [r for _, r in explain(warm, [row], "kuberay/auth.yaml")] == [None], "only where replicas = minReplicas"
    assert deliberate_differences(DOC), "docs/from-upstream.md has the table"


def test_a_pending_sample_fails_for_real_when_anything_else_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = "kuberay/ray-cluster.sample.yaml"
    monkeypatch.setitem(GAPS, "a-gap", Gap("a missing feature", (r"a-key: unknown key",)))
    monkeypatch.setitem(PENDING, sample, ("a-gap",))
    with pytest.raises(PendingGap):
        judge(sample, ["refused: raydask:rayClusters[0].a-key: unknown key"])
    with pytest.raises(AssertionError) as caught:
        judge(sample, ["refused: raydask:rayClusters[0].a-key: unknown key",
                       "RayCluster x: spec.rayVersion: upstream \"2.52.0\", raydask \"2.60.0\""])
    assert not isinstance(caught.value, PendingGap)
    judge(sample, [])  # no failure: the strict xfail turns this into the failure that says to remove the entry


def test_a_changed_render_of_a_sample_is_caught() -> None:
    rel = "ray-cluster.sample.yaml"
    upstream = kuberay_upstream(rel)[0]
    ours = rendered(CONFIGS / "kuberay" / rel).objects[("RayCluster", upstream["metadata"]["name"])]
    assert compare(upstream, ours) == []
    changed = yaml.safe_load(yaml.safe_dump(ours))
    changed["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 6
    changed["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "4Gi"
    assert _paths(upstream, changed) == {
        "spec.workerGroupSpecs[workergroup].maxReplicas": "value",
        "spec.headGroupSpec.template.spec.containers[ray-head].resources.limits.memory": "value"}


def test_the_comparison_reads_tolerations_as_a_set() -> None:
    gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    up = {"spec": {"tolerations": [{"key": "ray.io/node-type", "value": "worker", "effect": "NoSchedule"}, gpu]}}
    ours = {"spec": {"tolerations": [gpu, {"key": "ray.io/node-type", "operator": "Equal", "value": "worker",
                                           "effect": "NoSchedule"}, {"key": "example.com/fpga", "operator": "Exists"}]}}
    assert compare(up, ours) == [], "any order, operator Equal by default, raydask's additions"
    assert _paths(up, {"spec": {"tolerations": [gpu]}}) == {"spec.tolerations[ray.io/node-type]": "absent"}
    assert _paths(up, {"spec": {"tolerations": [{**gpu, "effect": "NoExecute"}]}}) == {
        "spec.tolerations[ray.io/node-type]": "absent", "spec.tolerations[nvidia.com/gpu]": "absent"}
