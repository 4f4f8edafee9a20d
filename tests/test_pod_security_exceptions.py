"""Explicit exceptions from Pod Security "restricted" (``podSecurity`` on a pod group): refused unless declared with a
level and a reason, refused when not needed, carried on the pod template for the validators and the policy pack, and
the namespaces raydask creates enforce the level the exceptions need (warn and audit stay restricted)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.k8s import pss
from raydask.program import load_stack_spec, main
from raydask.testing import mockrun

PTRACE = {"containerPatch": {"securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}}
ROOT_USER = {"containerPatch": {"securityContext": {"runAsUser": 0, "runAsNonRoot": False}}}
PRIVILEGED = {"level": "privileged", "reason": "py-spy attaches to the workers (SYS_PTRACE)"}
BASELINE = {"level": "baseline", "reason": "the vendor image runs as root"}
GROUP = {"name": "cpu", "minReplicas": 0, "maxReplicas": 2, "cpu": "1", "memory": "2Gi"}


def values(head: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"namespace": "ml", "rayClusters": [{"name": "train", "head": head, "workerGroups": [GROUP]}], **extra}


def refused(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        build(config)
    return exc.value.problems


def test_without_an_exception_the_merged_pod_must_pass_restricted() -> None:
    assert refused(values(PTRACE)) == [
        "raydask:rayClusters[0].head.containerPatch: the pod would break Pod Security \"restricted\" (Capabilities): "
        "spec.containers[0].securityContext.capabilities.add: container 'ray-head': only NET_BIND_SERVICE may be added, got "
        "SYS_PTRACE (SYS_PTRACE only privileged allows) (if the pods truly need it, make an explicit exception: "
        "podSecurity: {level: baseline or privileged, reason: ...})"]


def test_an_exception_holds_the_pod_to_its_level() -> None:
    assert refused(values({**PTRACE, "podSecurity": BASELINE})) == [
        "raydask:rayClusters[0].head.containerPatch: the pod would break Pod Security \"baseline\" (Capabilities): "
        "spec.containers[0].securityContext.capabilities.add: container 'ray-head': only NET_BIND_SERVICE may be added, got "
        "SYS_PTRACE (SYS_PTRACE only privileged allows) (if the pods truly need it: podSecurity.level: privileged)"]
    objs = build(values({**PTRACE, "podSecurity": PRIVILEGED}))
    assert_valid(objs, "1.31")  # the validators hold the pod to the level it declares
    head = next(o for o in objs if o["kind"] == "RayCluster")["spec"]["headGroupSpec"]["template"]
    assert head["metadata"]["annotations"] == {"raydask.io/pod-security": "privileged",
                                               "raydask.io/pod-security-reason": PRIVILEGED["reason"]}
    assert pss.check_template(head) == [] and [v.control for v in pss.check_template(head, level="restricted")] == ["Capabilities"]
    namespace = next(o for o in objs if o["kind"] == "Namespace" and o["metadata"]["name"] == "ml")
    assert {k: v for k, v in namespace["metadata"]["labels"].items() if k.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/audit": "restricted"}


def test_baseline_admits_root() -> None:
    objs = build(values({**ROOT_USER, "podSecurity": BASELINE}))
    assert_valid(objs, "1.31")
    head = next(o for o in objs if o["kind"] == "RayCluster")["spec"]["headGroupSpec"]["template"]
    assert pss.required_level(head) == "baseline"
    assert load_stack_spec(values({**ROOT_USER, "podSecurity": BASELINE})).pod_security("ml") == "baseline"


@pytest.mark.parametrize(("head", "message"), [
    ({"podSecurity": BASELINE},
     "raydask:rayClusters[0].head.podSecurity.level: 'baseline' is more than the pods need: they meet \"restricted\"; remove "
     "podSecurity"),
    ({**ROOT_USER, "podSecurity": PRIVILEGED},
     "raydask:rayClusters[0].head.podSecurity.level: 'privileged' is more than the pods need: they meet \"baseline\"; use "
     "level: baseline"),
])
def test_an_exception_the_pods_do_not_need_is_refused(head: dict[str, Any], message: str) -> None:
    assert refused(values(head)) == [message]


@pytest.mark.parametrize(("head", "message"), [
    ({"podSecurity": {"level": "privileged", "reason": " "}},
     "raydask:rayClusters[0].head.podSecurity.reason: "),
    ({"podSecurity": {"level": "restricted", "reason": "x"}}, "raydask:rayClusters[0].head.podSecurity.level: "),
    ({"annotations": {"raydask.io/pod-security": "privileged"}},
     "raydask:rayClusters[0].head.annotations[\"raydask.io/pod-security\"]: is set by raydask from podSecurity: use that key"),
    ({"podPatch": {"metadata": {"annotations": {"raydask.io/pod-security": "privileged"}}}},
     "raydask:rayClusters[0].head.podPatch.metadata.annotations[\"raydask.io/pod-security\"]: is set by raydask from "
     "podSecurity: use that key"),
])
def test_an_exception_is_explicit(head: dict[str, Any], message: str) -> None:
    problems = refused(values(head))
    assert any(p.startswith(message) for p in problems), problems


def test_dask_groups_and_other_namespaces() -> None:
    config = {"namespace": "ml", "daskClusters": [{"name": "etl", "namespace": "etl", "worker": {**PTRACE, "podSecurity": PRIVILEGED}}],
              "rayClusters": [{"name": "train"}]}
    objs = build(config)
    assert_valid(objs, "1.31")
    labels = {o["metadata"]["name"]: o["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for o in objs if o["kind"] == "Namespace"}
    assert labels == {"ml": "restricted", "etl": "privileged"}
    worker = next(o for o in objs if o["kind"] == "DaskCluster")["spec"]["worker"]
    assert worker["metadata"]["annotations"]["raydask.io/pod-security"] == "privileged"


def test_the_program_labels_the_namespace() -> None:
    config = {f"raydask:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values({**PTRACE, "podSecurity": PRIVILEGED}).items()}
    result = mockrun.run(main, config=config, stack="dev")
    namespace = next(o for o in result.objects() if o["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


@pytest.mark.parametrize(("container", "level"), [
    ({"securityContext": {"capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}}}, "restricted"),
    ({"securityContext": {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}}, "baseline"),
    ({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}, "baseline"),
    ({"securityContext": {"allowPrivilegeEscalation": True}}, "restricted"),
    ({"securityContext": {"privileged": True}}, "baseline"),
])
def test_violation_levels(container: dict[str, Any], level: str) -> None:
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
          "seccompProfile": {"type": "RuntimeDefault"}}
    pod = {"containers": [{"name": "c", "image": "x:1", "securityContext": {**sc, **container["securityContext"]}}]}
    (v,) = pss.check_pod_spec(pod)
    assert v.level == level
    assert pss.check_pod_spec(pod, level="baseline") == ([v] if level == "baseline" else [])
