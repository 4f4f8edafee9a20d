"""The operator Deployments from the upstream charts get what their values cannot set (issue 5): no implicit
service-account token (the token mounted explicitly instead) and the Dask operator's readiness probe — as a
server-side apply patch the program registers after the release, and that ``render`` merges into the chart output."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
from captured import options_seen
from stack_renders import ROOT, STACKS, program_run, rendering

from raydask.builders import dask, kuberay
from raydask.builders.dask import token_patch as dask_patch
from raydask.builders.kuberay import token_patch as kuberay_patch
from raydask.builders.operators import ROLLED_OUT, chart_fullname
from raydask.k8s.manifest import merge, object_ref
from raydask.k8s.security import API_TOKEN_PATH, API_TOKEN_VOLUME
from raydask.offline.validation import validate_objects
from raydask.resources.operators import KubeRayOperator
from raydask.spec.dask import DaskOperatorSpec
from raydask.spec.kuberay import KubeRayOperatorSpec

DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"


def test_chart_fullname_follows_the_charts_helper() -> None:
    assert chart_fullname("kuberay-operator", "kuberay-operator", {}) == "kuberay-operator"
    assert chart_fullname("ops", "kuberay-operator", {}) == "ops-kuberay-operator"
    assert chart_fullname("ops", "kuberay-operator", {"nameOverride": "kr"}) == "ops-kr"
    assert chart_fullname("ops", "kuberay-operator", {"fullnameOverride": "mine"}) == "mine"


def test_patches_target_the_chart_deployment_and_its_container() -> None:
    patch = kuberay_patch(KubeRayOperatorSpec(values={"fullnameOverride": "kr"}), "ops")
    assert patch["metadata"] == {"name": "kr", "namespace": "ops", "annotations": {"pulumi.com/skipAwait": "true"}}
    pod = patch["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and [v["name"] for v in pod["volumes"]] == [API_TOKEN_VOLUME]
    assert pod["containers"] == [{"name": "kuberay-operator", "volumeMounts": [
        {"name": API_TOKEN_VOLUME, "mountPath": API_TOKEN_PATH, "readOnly": True}]}]
    (container,) = dask_patch(DaskOperatorSpec(), "dask-operator")["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "dask-kubernetes-operator"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8080}


def test_merge_merges_like_server_side_apply() -> None:
    target = {"metadata": {"name": "d", "labels": {"a": "1"}}, "spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "x", "mountPath": "/x"}]}, {"name": "s"}],
        "volumes": [{"name": "x", "emptyDir": {}}], "args": ["--a"]}}}}
    patch = {"metadata": {"annotations": {"k": "v"}}, "spec": {"template": {"spec": {
        "automountServiceAccountToken": False, "containers": [{"name": "c", "volumeMounts": [{"name": "t", "mountPath": "/t"}]}],
        "volumes": [{"name": "t", "projected": {}}], "args": ["--b"]}}}}
    merged = merge(target, patch)
    pod = merged["spec"]["template"]["spec"]
    assert merged["metadata"] == {"name": "d", "labels": {"a": "1"}, "annotations": {"k": "v"}}
    assert pod["containers"] == [{"name": "c", "image": "i", "volumeMounts": [{"name": "x", "mountPath": "/x"},
                                                                              {"name": "t", "mountPath": "/t"}]}, {"name": "s"}]
    assert [v["name"] for v in pod["volumes"]] == ["x", "t"] and pod["args"] == ["--b"] and pod["automountServiceAccountToken"] is False
    assert target["spec"]["template"]["spec"]["args"] == ["--a"]  # not modified


def test_the_rollout_wait_is_a_patch_of_annotations_alone() -> None:
    for plan in (kuberay.operator_plan(KubeRayOperatorSpec(values={"fullnameOverride": "kr"}), "ops", None, None, ()),
                 dask.operator_plan(DaskOperatorSpec(), "ops", None, None, ())):
        ((patch,), (wait,)) = plan.patches, plan.waits
        assert object_ref(wait) == object_ref(patch)
        assert wait["metadata"]["annotations"] == {"pulumi.com/waitFor": json.dumps(list(ROLLED_OUT))}
        assert set(wait) == {"apiVersion", "kind", "metadata"}


@pytest.mark.parametrize("stack", STACKS)
def test_program_patches_each_operator_after_its_release_then_waits_for_its_rollout(stack: str) -> None:
    """The content patch comes after the release and does not wait; the rollout wait comes after the content patch."""
    run = program_run(stack)
    patches = {r.name: r for r in run.resources if r.type == DEPLOYMENT_PATCH}
    assert sorted(patches) == ["dask-operator-deploymentpatch-dask-kubernetes-operator",
                               "dask-operator-deploymentpatch-dask-kubernetes-operator-rollout",
                               "kuberay-deploymentpatch-kuberay-operator",
                               "kuberay-deploymentpatch-kuberay-operator-rollout"]
    assert all(r.is_patch and not r.is_kubernetes_object for r in patches.values())
    assert {r.parent[0] for r in patches.values() if r.parent} == {"raydask:kuberay:KubeRayOperator", "raydask:dask:DaskOperator"}
    for name, r in patches.items():
        after = {dep for _, dep in run.dependencies[(DEPLOYMENT_PATCH, name)]}
        annotations = r.inputs["metadata"]["annotations"]
        if name.endswith("-rollout"):
            assert name.removesuffix("-rollout") in after, name
            assert annotations["pulumi.com/waitFor"] == json.dumps(list(ROLLED_OUT)) and "pulumi.com/skipAwait" not in annotations
            assert set(r.inputs) == {"apiVersion", "kind", "metadata"}
        else:
            assert name.split("-deploymentpatch-")[0] in after, name  # the Helm release
            assert annotations["pulumi.com/skipAwait"] == "true" and "pulumi.com/waitFor" not in annotations


def test_the_rollout_wait_ignores_updates_of_its_annotations(run_program: Any) -> None:
    """It waits when created; a no-change ``up`` never applies it again (an informer's stale Deployment, recorded by its
    wait, would otherwise differ from the inputs)."""
    seen, capture = options_seen()
    run_program(lambda: KubeRayOperator("kuberay", {}, namespace="ml", project_dir=ROOT,
                                        opts=pulumi.ResourceOptions(protect=True, transformations=[capture])))
    wait, content = seen["kuberay-deploymentpatch-kuberay-operator-rollout"], seen["kuberay-deploymentpatch-kuberay-operator"]
    assert wait.ignore_changes == ["metadata.annotations"] and not content.ignore_changes
    assert wait.protect is True and content.protect is True


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_operator_deployments_mount_their_token_explicitly(stack: str) -> None:
    deployments = {o.name: o for o in rendering(stack).objects if o.kind == "Deployment" and o.release}
    assert set(deployments) == {"kuberay-operator", "dask-kubernetes-operator"}
    for name, o in deployments.items():
        pod: dict[str, Any] = o.manifest["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        assert {"name": API_TOKEN_VOLUME, "mountPath": API_TOKEN_PATH, "readOnly": True} in container["volumeMounts"]
        assert container["image"] and container["livenessProbe"]  # the chart's fields survive the merge
        assert o.patched_by and rendering(stack).index()["objects"][rendering(stack).objects.index(o)]["patchedBy"] == o.patched_by
        assert validate_objects([o.manifest]) == []


def test_the_patches_wait_for_the_rollout_not_for_the_providers_deployment_check() -> None:
    """A ``waitFor`` of the rollout wait replaces the provider's Deployment wait, which misreads the KubeRay chart's Recreate
    rollout (``Replicas scaled to 0``): the Deployment controller reports the new ReplicaSet available and every pod is
    updated and available (the provider also waits for the observed generation)."""
    for plan in (kuberay.operator_plan(KubeRayOperatorSpec(), "ops", None, None, ()),
                 dask.operator_plan(DaskOperatorSpec(), "ops", None, None, ())):
        (wait,) = plan.waits
        conditions = json.loads(wait["metadata"]["annotations"]["pulumi.com/waitFor"])
        assert conditions == list(ROLLED_OUT) and all(c.startswith("jsonpath={") for c in conditions)
        assert "NewReplicaSetAvailable" in conditions[0] and "@.updatedReplicas == @.replicas" in conditions[1]
        assert "@.availableReplicas == @.replicas" in conditions[2]
        assert all(c.count("&&") <= 1 for c in conditions)  # the provider's parser refuses a third term
