"""Registration, the mock engine's fast paths and the CRD cache change nothing a program, the provider or the
consumers see."""

from __future__ import annotations

import asyncio
import gc
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from conftest import stack_config
from pulumi.runtime import rpc
from stack_renders import program_run

from components import collector, crds, mockrun, resources
from components.errors import ConfigError
from components.program import main
from components.render import unwrap_secrets

PLAIN = {
    "a": None, "b": 3, "c": 2.0, "d": 0.25, "e": True, "f": (1, "x", None), "g": {"h": None, "i": [], "j": {}},
    "k": [{"l": 2**60}, 7.0, False, ""], "m": "s",
}


def test_wire_copy_is_the_wire_round_trip() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(PLAIN, {}))
        wire = mockrun.restored(rpc.deserialize_properties(struct), PLAIN)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert mockrun.wire_copy(PLAIN) == wire
    assert list(mockrun.wire_copy(PLAIN) or {}) == list(wire)
    assert mockrun.wire_copy({"a": {"b": object()}}) is None
    recorded = mockrun.pickled_if_plain(PLAIN)  # what the recorder keeps of plain props, read in the wire's form
    assert recorded is not None and mockrun.decoded(recorded) == wire and list(mockrun.decoded(recorded)) == list(wire)


def test_only_plain_props_are_recorded_as_built() -> None:
    assert mockrun.pickled_if_plain({"a": [{"b": "TCP", "n": None}], "c": (1, 2.0, True)}) is not None
    class Args:
        pass

    for odd in (object(), Args(), asyncio.Future):
        assert mockrun.pickled_if_plain({"a": [{"b": odd}]}) is None, odd


def test_crd_documents_are_fresh(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                                     "metadata: {name: xs.example.com}\nspec: {group: example.com}\n")
    first = crds.load_dir(tmp_path)
    first[0]["spec"]["group"] = "changed"
    assert crds.load_dir(tmp_path)[0]["spec"]["group"] == "example.com"


def _typed(name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions, patch: bool) -> pulumi.CustomResource:
    """pulumi-kubernetes's own class for ``manifest`` (what ``KubernetesObject`` stands in for)."""
    import importlib

    from pulumi_kubernetes.apiextensions import CustomResource

    group, _, version = manifest["apiVersion"].rpartition("/")
    module = {"": "core", "apps": "apps", "networking.k8s.io": "networking", "apiextensions.k8s.io": "apiextensions"}.get(group)
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    if module is None:
        return CustomResource(name, api_version=manifest["apiVersion"], kind=manifest["kind"], opts=opts, **body)
    cls = getattr(importlib.import_module(f"pulumi_kubernetes.{module}.{version}"), manifest["kind"] + ("Patch" if patch else ""))
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in body.items()}
    return cls(name, opts=opts, **snake)


def _registration(run_program: Any, register: Any) -> tuple[str, dict[str, Any], tuple[str | None, list[str]]]:
    opts: list[pulumi.ResourceOptions] = []

    def program() -> None:
        pulumi.runtime.register_stack_transformation(lambda a: opts.append(a.opts))  # type: ignore[arg-type, func-returns-value]
        register()

    (reg,) = run_program(program).resources
    return reg.type, unwrap_secrets(reg.inputs), (opts[0].version, sorted(opts[0].additional_secret_outputs or []))


def test_kubernetes_object_registers_what_pulumi_kubernetes_would() -> None:
    """Same type token, inputs, plugin version and secret outputs as the typed class, for every kind raydask emits."""
    run = program_run("production")
    samples = {(r.type, r.is_patch): r for r in run.resources if r.is_kubernetes_object or r.is_patch}
    assert len(samples) >= 12 and any(patch for _, patch in samples)
    for (type_, patch), reg in samples.items():
        manifest = unwrap_secrets(reg.inputs)
        ours = _registration(mockrun.run, lambda m=manifest, p=patch: resources.KubernetesObject(
            "x", m, pulumi.ResourceOptions(), patch=p))
        theirs = _registration(mockrun.run, lambda m=manifest, p=patch: _typed("x", m, pulumi.ResourceOptions(), p))
        assert ours == theirs, type_
        assert ours[0] == type_


def test_secrets_stay_secret_whoever_builds_them() -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ml"},
                "stringData": {"password": "plain"}}
    seen: list[pulumi.ResourceTransformationArgs] = []

    def program() -> None:
        pulumi.runtime.register_stack_transformation(lambda a: seen.append(a))  # type: ignore[arg-type, func-returns-value]
        resources.register(manifest, pulumi.ResourceOptions())

    mockrun.run(program)
    assert isinstance(seen[0].props["stringData"], pulumi.Output)
    assert sorted(seen[0].opts.additional_secret_outputs or []) == ["data", "stringData"]
    assert "data" not in seen[0].props


def test_program_spares_its_in_flight_objects_until_they_are_registered(project_root: Path) -> None:
    seen: list[tuple[int, tuple[int, int, int]]] = []
    before = gc.get_threshold()

    def program() -> None:
        main()
        seen.append((gc.get_freeze_count(), gc.get_threshold()))

    assert gc.get_freeze_count() == 0 and before[0] < collector.YOUNG_THRESHOLD
    result = mockrun.run(program, config=stack_config("dev"), stack="dev")
    assert result.resources and seen[0][0] > 10_000
    assert seen[0][1] == (collector.YOUNG_THRESHOLD, *before[1:])
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before and not collector.sparing()


def test_sparing_leaves_a_disabled_or_higher_young_threshold_alone() -> None:
    before = gc.get_threshold()
    try:
        for young in (0, collector.YOUNG_THRESHOLD * 2):
            gc.set_threshold(young, *before[1:])
            collector.spare()
            assert gc.get_threshold()[0] == young and collector.sparing()
            collector.hand_back()
            assert gc.get_threshold()[0] == young and gc.get_freeze_count() == 0 and not collector.sparing()
    finally:
        gc.set_threshold(*before)


def test_a_program_that_fails_half_way_hands_everything_back(project_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components.dask import DaskCluster

    def refuse(*_: Any, **__: Any) -> None:
        raise ConfigError(["raydask:daskClusters[0]: refused"])

    before = gc.get_threshold()
    monkeypatch.setattr(DaskCluster, "__init__", refuse)
    with pytest.raises(pulumi.RunError, match="refused"):
        mockrun.run(main, config=stack_config("dev"), stack="dev")
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before


def test_a_run_never_ends_sparing() -> None:
    before = gc.get_threshold()
    result = mockrun.run(collector.spare)  # spares, and nothing it waits for is ever handed back
    assert result.resources == []
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == before and not collector.sparing()


def test_an_explicit_kubernetes_provider_reaches_every_object(project_root: Path) -> None:
    from pulumi_kubernetes import Provider

    from components.program import build_stack, load_stack_spec

    def program() -> None:
        provider = Provider("target-cluster", kubeconfig="offline")
        build_stack(load_stack_spec(), opts=pulumi.ResourceOptions(provider=provider))

    result = mockrun.run(program, config={**stack_config("production"), "raydask:redisPassword": "x"},
                         secret_keys=["raydask:redisPassword"], stack="production")
    kubernetes = [r for r in result.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 30 and any(r.is_patch for r in kubernetes)
    assert {r.provider.split("::")[-1] for r in kubernetes} == {"target-cluster-id"}, \
        [r.name for r in kubernetes if "target-cluster" not in r.provider]
