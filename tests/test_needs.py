"""Version and feature-gate requirements are declared on the fields they govern (:class:`raydask.spec.needs.Needs`),
checked by one function, and agree with the pinned KubeRay CRDs: a key a release's CRD lacks is one that release is
too old for, and the reverse."""

from __future__ import annotations

import functools
import re
import typing
from typing import Any

import pytest
from pydantic import BaseModel

from raydask import charts
from raydask.offline.docs import _models
from raydask.offline.validation.upstream import kuberay_crd_dir
from raydask.spec import RayClusterSpec, StackSpec
from raydask.spec.config import field_description
from raydask.spec.needs import GATES, KubeRay, Needs, needs_of, release, unmet

CRD_FILES = {"RayCluster": "ray.io_rayclusters.yaml", "RayJob": "ray.io_rayjobs.yaml", "RayService": "ray.io_rayservices.yaml",
             "RayCronJob": "ray.io_raycronjobs.yaml"}
PINNED = ("1.5.0", "1.7.0")


def declared() -> list[tuple[str, type[BaseModel], str, Needs]]:
    """(CRD kind, model, field, requirement) of every field that declares one; a model's kind is that of the nearest
    model with a ``CRD_KIND`` it is reached from."""
    kinds: dict[type[BaseModel], str] = {}
    roots = [m for m in _models(StackSpec) if getattr(m, "CRD_KIND", None)]
    for root in roots:
        pending = [root]
        while pending:
            model = pending.pop()
            kinds[model] = root.CRD_KIND  # type: ignore[attr-defined]
            for field in model.model_fields.values():
                stack = [field.annotation]
                while stack:
                    t = stack.pop()
                    if isinstance(t, type) and issubclass(t, BaseModel):
                        if t not in kinds and not getattr(t, "CRD_KIND", None):
                            pending.append(t)
                    else:
                        stack.extend(typing.get_args(t))
    # a requirement of a whole kind (``rayCronJobs``) names that kind as its CRD key
    return [(kinds.get(m) or (need.crd if need.crd in CRD_FILES else ""), m, name, need) for m in _models(StackSpec)
            for name in m.model_fields if (need := needs_of(m, name)) is not None]


@functools.cache
def spec_schema(kind: str, version: str) -> dict[str, Any]:
    [doc] = charts.file_documents(kuberay_crd_dir(version) / CRD_FILES[kind])
    schema: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return schema["properties"]["jobTemplate"] if kind == "RayCronJob" else schema  # a RayCronJob's keys are its RayJob's


def has(schema: dict[str, Any], path: str) -> bool:
    node: dict[str, Any] | None = schema
    for part in re.split(r"\.", path):
        items = part.endswith("[]")
        node = ((node or {}).get("properties") or {}).get(part.removesuffix("[]"))
        if node is not None and items:
            node = node.get("items")
        if node is None:
            return False
    return True


def test_requirements_are_declared_on_fields() -> None:
    fields = {(m.__name__, name) for _, m, name, _ in declared()}
    assert {("RayClusterSpec", "tls"), ("RayClusterSpec", "auth"), ("WorkerGroupSpec", "priority"),
            ("RayJobSpec", "deletion_strategy"), ("RayServiceSpec", "suspend"), ("AutoscalingSpec", "version")} <= fields
    assert all(kind for kind, _, _, need in declared() if need.kuberay), "every KubeRay requirement knows its CRD"
    assert all(need.gate is None or need.gate in GATES for _, _, _, need in declared())
    assert all(need.ray is None or need.what for _, _, _, need in declared()), "a Ray requirement names what it enables"


@pytest.mark.parametrize("version", PINNED)
def test_requirements_agree_with_the_pinned_crds(version: str) -> None:
    wrong = []
    for kind, model, name, need in declared():
        if not need.kuberay:
            continue
        assert need.crd, f"{model.__name__}.{name} names its CRD key"
        exists = (kuberay_crd_dir(version) / CRD_FILES[kind]).exists()
        if need.crd == kind:
            present = exists
        elif not exists:  # a kind younger than the version: its own requirement covers its keys
            continue
        else:
            present = all(has(spec_schema(kind, version), path) for path in need.crd.split(" and "))
        if present != (release(version) >= release(need.kuberay)):
            wrong.append(f"{model.__name__}.{name}: needs KubeRay ≥ {need.kuberay}, but the {version} {kind} CRD "
                         f"{'has' if present else 'lacks'} {need.crd}")
    assert not wrong, "\n".join(wrong)


def test_no_field_docstring_repeats_a_declared_version() -> None:
    repeated = [f"{m.__name__}.{name}" for _, m, name, _ in declared()
                if re.search(r"(KubeRay|Ray) ≥ \d", field_description(m, name) or "")]
    assert not repeated


def test_one_function_checks_ray_and_kuberay() -> None:
    spec = RayClusterSpec.model_validate({"name": "a", "tls": {}, "workerGroups": [{"name": "g", "priority": 1}],
                                          "autoscaling": {}})
    assert unmet(spec, ray="2.50.0") == [(("workerGroups", 0, "priority"),
                                          "a worker group's priority needs Ray ≥ 2.56.0 and KubeRay ≥ 1.7.0; rayVersion is 2.50.0")]
    assert [p for p, _ in unmet(spec, kuberay=KubeRay("1.6.0"))] == [("workerGroups", 0, "priority"), ("tls",)]
    assert [m for _, m in unmet(spec, kuberay=KubeRay("1.7.0"))] == [
        "needs the KubeRay feature gate RayClusterMTLS, off in raydask:kuberay (without it KubeRay refuses the cluster): "
        "set raydask:kuberay.featureGates: {RayClusterMTLS: true}"]
    assert unmet(spec, kuberay=KubeRay("1.7.0", {"RayClusterMTLS": True})) == []
