"""Registration, the mock engine's fast paths and the CRD cache change nothing a program, the provider or the
consumers see."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from stack_renders import program_run, stack_config

from raydask import charts as crds
from raydask.program import main
from raydask.resources import registration
from raydask.testing import mockrun

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


def test_builtin_kinds_register_through_pulumi_kubernetes_typed_classes() -> None:
    """Every built-in kind raydask emits goes through its typed class (aliases, secret handling, outputs); custom kinds
    through CustomObject with the same token apiextensions.CustomResource uses."""
    import pulumi_kubernetes as k8s

    run = program_run("production")
    kinds = {(r.inputs["apiVersion"], r.inputs["kind"], r.is_patch) for r in run.resources if r.is_kubernetes_object or r.is_patch}
    assert len(kinds) >= 12 and any(patch for *_, patch in kinds)
    for api_version, kind, patch in kinds:
        cls = registration.builtin_class(api_version, kind + ("Patch" if patch else ""))
        group = api_version.rpartition("/")[0]
        if "." in group and not group.endswith(".k8s.io"):
            assert cls is None, (api_version, kind)
        else:
            assert cls is not None and cls.__module__.startswith("pulumi_kubernetes."), (api_version, kind)
    assert registration.builtin_class("apps/v1", "DeploymentPatch") is k8s.apps.v1.DeploymentPatch
    assert registration.builtin_class("networking.k8s.io/v1", "Ingress") is k8s.networking.v1.Ingress
    assert registration.builtin_class("ray.io/v1", "RayCluster") is None


def test_custom_objects_carry_status_and_the_custom_resource_token(run_program: Any) -> None:
    seen: list[Any] = []

    def program() -> None:
        seen.append(registration.kubernetes_resource("c", {"apiVersion": "ray.io/v1", "kind": "RayCluster",
                                                           "metadata": {"name": "c", "namespace": "ml"}, "spec": {}}))

    (reg,) = run_program(program).resources
    assert reg.type == "kubernetes:ray.io/v1:RayCluster"
    assert isinstance(seen[0], registration.CustomObject) and isinstance(seen[0].status, pulumi.Output)
    assert "status" not in reg.inputs  # an output only: never applied


def test_secrets_stay_secret_whoever_builds_them() -> None:
    manifest = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ml"},
                "stringData": {"password": "plain"}}
    seen: list[pulumi.ResourceTransformationArgs] = []

    def program() -> None:
        pulumi.runtime.register_stack_transformation(lambda a: seen.append(a))  # type: ignore[arg-type, func-returns-value]
        registration.kubernetes_resource("s", manifest)

    mockrun.run(program)
    assert isinstance(seen[0].props["string_data"], pulumi.Output)
    assert {"data", "stringData"} <= set(seen[0].opts.additional_secret_outputs or [])


def test_the_program_leaves_the_garbage_collector_alone(project_root: Path) -> None:
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    during: list[tuple[Any, ...]] = []

    def program() -> None:
        main()
        during.append((gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()))

    mockrun.run(program, config=stack_config("dev"), stack="dev")
    assert during == [before] and (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before


def test_an_explicit_kubernetes_provider_reaches_every_object(project_root: Path) -> None:
    from pulumi_kubernetes import Provider

    from raydask.program import build_stack, load_stack_spec

    def program() -> None:
        provider = Provider("target-cluster", kubeconfig="offline")
        build_stack(load_stack_spec(), opts=pulumi.ResourceOptions(provider=provider))

    result = mockrun.run(program, config={**stack_config("production"), "raydask:redisPassword": "x"},
                         secret_keys=["raydask:redisPassword"], stack="production")
    kubernetes = [r for r in result.resources if r.custom and r.type.startswith("kubernetes:")]
    assert len(kubernetes) > 30 and any(r.is_patch for r in kubernetes)
    assert {r.provider.split("::")[-1] for r in kubernetes} == {"target-cluster-id"}, \
        [r.name for r in kubernetes if "target-cluster" not in r.provider]
