"""Requests apart from limits for every container raydask creates (Ray head and worker groups, the autoscaler sidecar,
the RayJob submitter, the Dask scheduler and worker groups): ``requests`` / ``limits`` merged over the ``cpu`` /
``memory`` / ``gpus`` shorthand, a ``null`` limit removed on purpose, and what follows from them (Ray's CPU count, the
shared-memory size, Dask's threads and memory limit). Each rendering is validated against the real schemas, Ray's
autoscaler and the Dask operator's builders, Pod Security "restricted" and the policy pack."""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest
from stack_renders import ROOT
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.k8s.security import NO_LIMITS_ANNOTATION
from raydask.offline import scan

sys.path.insert(0, str(ROOT / "policy"))

import raydask_policies as rp  # policy/ is not a package

BASE: dict[str, Any] = {
    "namespace": "ml",
    "kuberay": {}, "daskOperator": {},
    "rayClusters": [{
        "name": "train",
        "head": {"cpu": "1", "memory": "4Gi", "requests": {"memory": "2Gi", "ephemeral-storage": "1Gi"},
                 "limits": {"ephemeral-storage": "4Gi"}},
        "autoscaling": {"requests": {"cpu": "200m", "memory": "256Mi"}, "imagePullPolicy": "IfNotPresent",
                        "env": {"AUTOSCALER_LOG_LEVEL": "DEBUG"}},
        "workerGroups": [
            {"name": "cpu", "cpu": "2", "memory": "8Gi", "minReplicas": 0, "maxReplicas": 4,
             "limits": {"cpu": None, "memory": "12Gi"}},
            {"name": "fpga", "cpu": "1", "memory": "2Gi", "minReplicas": 0, "maxReplicas": 1,
             "limits": {"example.com/fpga": "1"}},
        ],
    }],
    "rayJobs": [{"name": "nightly", "entrypoint": "python -m nightly",
                 "cluster": {"workerGroups": [{"name": "cpu", "requests": {"cpu": "500m"}}]},
                 "submitter": {"limits": {"cpu": None}}}],
    "daskClusters": [{
        "name": "etl",
        "scheduler": {"memory": "1Gi", "requests": {"memory": "512Mi"}},
        "worker": {"cpu": "1", "memory": "2Gi", "replicas": 1, "limits": {"cpu": "3", "memory": "6Gi"}},
    }],
}


def objects(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return build(copy.deepcopy(values or BASE))


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def container(template: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return template["spec"]["containers"][index]


def test_requests_and_limits_land_where_written_and_validate() -> None:
    objs = objects()
    assert_valid(objs, "1.31")  # schemas, Ray's autoscaler, the Dask operator's builders, Pod Security restricted
    rc = find(objs, "RayCluster", "train")["spec"]
    head = rc["headGroupSpec"]["template"]
    assert container(head)["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"},
        "limits": {"cpu": "1", "memory": "4Gi", "ephemeral-storage": "4Gi"}}
    cpu, fpga = rc["workerGroupSpecs"]
    assert container(cpu["template"])["resources"] == {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "12Gi"}}
    assert container(fpga["template"])["resources"]["limits"] == {"cpu": "1", "memory": "2Gi", "example.com/fpga": "1"}
    # removed on purpose, and said so on the pod for the policy pack
    assert cpu["template"]["metadata"]["annotations"] == {NO_LIMITS_ANNOTATION: "ray-worker/cpu"}
    # shared memory follows the limit (Ray sizes its object store from what the cgroup allows)
    shm = next(v for v in cpu["template"]["spec"]["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["sizeLimit"] == "3686Mi"  # 0.3 × 12Gi, rounded down
    options = rc["autoscalerOptions"]
    assert options["resources"] == {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
    assert options["imagePullPolicy"] == "IfNotPresent"
    assert {"name": "AUTOSCALER_LOG_LEVEL", "value": "DEBUG"} in options["env"]


def test_ray_counts_cpus_from_the_request_when_there_is_no_limit() -> None:
    """KubeRay passes ``--num-cpus`` from the limit, else the request; so must the autoscaler's view (checked by the
    validator running Ray's own autoscaler code) and raydask's num-cpus rule."""
    values = copy.deepcopy(BASE)
    values["rayClusters"][0]["workerGroups"][0]["rayStartParams"] = {"num-cpus": "2"}
    assert_valid(objects(values), "1.31")
    values["rayClusters"][0]["workerGroups"][0]["rayStartParams"] = {"num-cpus": "4"}
    with pytest.raises(ConfigError) as exc:
        objects(values)
    assert exc.value.problems == [
        "raydask:rayClusters[0].workerGroups[0].rayStartParams.num-cpus: '4' disagrees with the CPU limit (else request) "
        "rounded up (2); leave it out (raydask derives it) or set \"0\" to keep tasks off these pods"]


def test_dask_threads_and_memory_limit_follow_the_container_limits() -> None:
    objs = objects()
    group = find(objs, "DaskCluster", "etl")["spec"]["worker"]
    args = container(group)["args"]
    assert args[args.index("--nthreads") + 1] == "3"
    assert args[args.index("--memory-limit") + 1] == str(6 * 2**30)
    scheduler = find(objs, "DaskCluster", "etl")["spec"]["scheduler"]
    assert container(scheduler)["resources"] == {"requests": {"cpu": "1", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def test_the_policy_pack_accepts_only_the_limits_removed_on_purpose() -> None:
    objs = objects()
    rc = find(objs, "RayCluster", "train")
    job = find(objs, "RayJob", "nightly")
    for obj in (rc, job):
        assert rp.check_resources(f"kubernetes:ray.io/v1:{obj['kind']}", obj) == []
    unannotated = copy.deepcopy(rc)
    del unannotated["spec"]["workerGroupSpecs"][0]["template"]["metadata"]["annotations"]
    assert rp.check_resources("kubernetes:ray.io/v1:RayCluster", unannotated) == [
        "spec.workerGroupSpecs[0].template.spec.containers[0].resources: container 'ray-worker' has no limits.cpu"]
    submitter = next(t for t in scan.templates_of(job) if t.template["metadata"]["labels"]["app.kubernetes.io/component"] == "submitter")
    assert submitter.template["metadata"]["annotations"] == {NO_LIMITS_ANNOTATION: "ray-job-submitter/cpu"}


def test_without_the_new_keys_nothing_changes() -> None:
    """The shorthand alone renders what it always did: requests equal to limits (cpuLimit aside), no annotation."""
    values = {"namespace": "ml", "rayClusters": [{"name": "r", "head": {"cpu": "1", "cpuLimit": "2", "memory": "2Gi"},
                                                   "workerGroups": [{"name": "w", "gpus": 1, "tolerations": [
                                                       {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}]}]}
    rc = find(objects(values), "RayCluster", "r")["spec"]
    assert container(rc["headGroupSpec"]["template"])["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}
    assert container(rc["workerGroupSpecs"][0]["template"])["resources"] == {
        "requests": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"}, "limits": {"cpu": "1", "memory": "2Gi", "nvidia.com/gpu": "1"}}
    assert "annotations" not in rc["workerGroupSpecs"][0]["template"]["metadata"]


@pytest.mark.parametrize(("where", "settings", "message"), [
    ("rayClusters[0].head", {"requests": {"example.com/fpga": "1"}, "limits": {"example.com/fpga": "2"}},
     "requests[\"example.com/fpga\"]: 'example.com/fpga' cannot be overcommitted: the request (1) must equal the limit (2)"),
    ("rayClusters[0].head", {"requests": {"hugepages-2Mi": "4Mi"}},
     "limits.hugepages-2Mi: 'hugepages-2Mi' cannot be overcommitted: Kubernetes needs a limit equal to the request (4Mi)"),
    ("rayClusters[0].head", {"requests": {"ephemeral-storage": "2Gi"}, "limits": {"ephemeral-storage": "1Gi"}},
     "requests.ephemeral-storage: '2Gi' is above the limit '1Gi': a request is at most the limit"),
    ("rayClusters[0].head", {"limits": {"memory": None}, "requests": {"memory": "3Gi"}}, None),
    ("daskClusters[0].worker", {"memoryLimit": "3Gi", "limits": {"memory": None}}, None),
    ("daskClusters[0].worker", {"memoryLimit": "3Gi", "limits": {"memory": "2Gi"}},
     "memoryLimit: must be ≤ the container's memory limit (3Gi > 2Gi): Dask would ignore it and spill, pause and restart "
     "the worker at the container's limit"),
    ("rayJobs[0].submitter", {"requests": {"memory": "2Gi"}},
     "requests.memory: '2Gi' is above the limit '512Mi': a request is at most the limit"),
])
def test_rules(where: str, settings: dict[str, Any], message: str | None) -> None:
    values = copy.deepcopy(BASE)
    node: Any = values
    for part in where.replace("]", "").replace("[", ".").split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    node.update(settings)
    if message is None:
        assert_valid(objects(values), "1.31")
        return
    with pytest.raises(ConfigError) as exc:
        objects(values)
    assert exc.value.problems == [f"raydask:{where}.{message}"]


def test_every_new_key_is_in_the_configuration_reference() -> None:
    reference = (ROOT / "docs" / "configuration.md").read_text()
    for key in ("`requests`", "`limits`", "`imagePullPolicy`"):
        assert key in reference


def test_tpu_groups_default_to_the_cpu_image_and_gpu_groups_to_cuda() -> None:
    toleration = {"operator": "Exists", "effect": "NoSchedule"}
    values = {"namespace": "ml", "rayClusters": [{"name": "r", "workerGroups": [
        {"name": "tpu", "gpus": 4, "gpuResource": "google.com/tpu", "tolerations": [{"key": "google.com/tpu", **toleration}]},
        {"name": "gpu", "gpus": 1, "tolerations": [{"key": "nvidia.com/gpu", **toleration}]}]}]}
    tpu, gpu = find(objects(values), "RayCluster", "r")["spec"]["workerGroupSpecs"]
    assert container(tpu["template"])["image"].endswith(":2.60.0")
    assert container(gpu["template"])["image"].endswith(":2.60.0-gpu")


def test_pods_tolerate_the_taints_of_the_extended_resources_they_request() -> None:
    """As Kubernetes' ExtendedResourceToleration admission plugin (and GKE) do: a pod asking for ``nvidia.com/gpu`` tolerates
    the ``nvidia.com/gpu`` NoSchedule taint, unless its own tolerations already do; an Equal toleration of one value does
    not (another value of the taint would keep the pod off the node)."""
    gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    values = {"namespace": "ml", "rayClusters": [{"name": "r", "workerGroups": [
        {"name": "bare", "gpus": 2},
        {"name": "told", "gpus": 1, "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
        {"name": "any", "gpus": 1, "tolerations": [{"operator": "Exists"}]},
        {"name": "one-value", "gpus": 1, "tolerations": [{"key": "nvidia.com/gpu", "value": "present"}]},
        {"name": "fpga", "limits": {"example.com/fpga": "1"},
         "sidecars": [{"name": "nic", "image": "example.com/nic:1.0.0",
                       "resources": {"requests": {"example.com/nic": "1"}, "limits": {"example.com/nic": "1"}}}]},
    ]}], "daskClusters": [{"name": "d", "worker": {"gpus": 1}}],
        "rayJobs": [{"name": "j", "entrypoint": "python -m x", "cluster": {"head": {"gpus": 1, "schedulable": True}}}]}
    objs = objects(values)
    assert_valid(objs, "1.31")
    rc = find(objs, "RayCluster", "r")["spec"]
    assert "tolerations" not in rc["headGroupSpec"]["template"]["spec"]
    tolerations = {g["groupName"]: g["template"]["spec"].get("tolerations") for g in rc["workerGroupSpecs"]}
    assert tolerations == {
        "bare": [gpu], "told": [{"key": "nvidia.com/gpu", "operator": "Exists"}], "any": [{"operator": "Exists"}],
        "one-value": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, gpu],
        "fpga": [{"key": "example.com/fpga", "operator": "Exists", "effect": "NoSchedule"},
                 {"key": "example.com/nic", "operator": "Exists", "effect": "NoSchedule"}]}
    assert find(objs, "DaskCluster", "d")["spec"]["worker"]["spec"]["tolerations"] == [gpu]
    job = find(objs, "RayJob", "j")["spec"]
    assert job["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["tolerations"] == [gpu]
    assert "tolerations" not in job["submitterPodTemplate"]["spec"]
