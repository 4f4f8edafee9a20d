"""RayJob and RayService fields beyond the basics: the RayJob ``deletionStrategy`` (rules and legacy policies),
``submitter.backoffLimit`` (``submitterConfig``), ``preRunningDeadlineSeconds``; RayService incremental upgrades
(``clusterUpgradeOptions``), ``rayClusterDeletionDelaySeconds``, ``excludeHeadPodFromServeSvc``, ``suspend``,
``managedBy``. Every render is validated against the KubeRay 1.7.0 CRDs, and against the 1.5.0 CRDs where 1.5.0 has
the field; every refusal is checked with its exact message, the KubeRay version and feature-gate rules included."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from captured import options_seen
from test_properties import assert_valid, build

from raydask.builders.ray_job import ray_job_spec
from raydask.builders.ray_service import ray_service
from raydask.errors import ConfigError
from raydask.offline.validation import crd, upstream
from raydask.program import load_stack_spec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec

JOB: dict[str, Any] = {
    "name": "etl",
    "entrypoint": "python -m etl",
    "cluster": {"head": {"cpu": "1", "memory": "2Gi"},
                "workerGroups": [{"name": "cpu", "replicas": 1, "cpu": "1", "memory": "2Gi"}]},
}
SELECTOR_JOB: dict[str, Any] = {"name": "report", "entrypoint": "python report.py", "clusterSelector": "train"}
SERVICE: dict[str, Any] = {
    "name": "fruit",
    "applications": [{"name": "fruit", "importPath": "fruit:app"}],
    "cluster": {"head": {"cpu": "1", "memory": "2Gi"},
                "workerGroups": [{"name": "cpu", "minReplicas": 1, "maxReplicas": 4, "cpu": "1", "memory": "2Gi"}],
                "autoscaling": {}},
}
UPGRADE = {"gatewayClassName": "istio", "intervalSeconds": 30, "stepSizePercent": 20, "maxSurgePercent": 50}
INCREMENTAL = {**SERVICE, "upgradeStrategy": "NewClusterWithIncrementalUpgrade", "clusterUpgradeOptions": UPGRADE}


def rule(status: str, policy: str, ttl: int | None = None, key: str = "jobStatus") -> dict[str, Any]:
    condition: dict[str, Any] = {key: status}
    if ttl is not None:
        condition["ttlSeconds"] = ttl
    return {"condition": condition, "policy": policy}


RULES = [rule("SUCCEEDED", "DeleteWorkers"), rule("SUCCEEDED", "DeleteCluster", 600), rule("SUCCEEDED", "DeleteSelf", 86400),
         rule("FAILED", "DeleteCluster", 3600)]
LEGACY = {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteSelf"}}


def stack(kuberay: str = "1.7.0", gates: dict[str, bool] | None = None, **lists: Any) -> dict[str, Any]:
    return {"namespace": "ml", "kuberay": {"version": kuberay, "featureGates": gates or {}}, **lists}


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec(values)
    return exc.value.problems


def kind(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == name)


@contextlib.contextmanager
def kuberay_crds(version: str) -> Iterator[None]:
    """The offline validators read the KubeRay ``version`` CRDs (from the test session's chart cache) meanwhile."""
    original = upstream.kuberay_crd_dir
    upstream.kuberay_crd_dir = lambda v=version: original(version)  # type: ignore[assignment]
    crd._index.cache_clear()
    crd.lookup.cache_clear()
    try:
        yield
    finally:
        upstream.kuberay_crd_dir = original  # type: ignore[assignment]
        crd._index.cache_clear()
        crd.lookup.cache_clear()


def assert_valid_on(objects: list[dict[str, Any]], *versions: str) -> None:
    for version in versions:
        with kuberay_crds(version):
            assert_valid(objects, "1.31")


def crd_issues(obj: dict[str, Any], version: str) -> list[str]:
    with kuberay_crds(version):
        issues, _ = crd.custom_resource_issues(obj)
    return [f"{path}: {message}" for path, message in issues]


def test_the_crd_swap_reads_the_older_crds() -> None:
    job = kind(build(stack(rayJobs=[{**JOB, "preRunningDeadlineSeconds": 600}])), "RayJob")
    assert crd_issues(job, "1.7.0") == []
    assert crd_issues(job, "1.5.0") == ["spec.preRunningDeadlineSeconds: unknown field 'preRunningDeadlineSeconds' would be "
                                        "pruned by the API server"]


# ---- renders ------------------------------------------------------------------------------------------------------


def test_deletion_rules_render_and_turn_shutdown_off() -> None:
    objects = build(stack(rayJobs=[{**JOB, "deletionStrategy": {"deletionRules": RULES}}]))
    spec = kind(objects, "RayJob")["spec"]
    assert spec["deletionStrategy"] == {"deletionRules": [
        {"condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 0}, "policy": "DeleteWorkers"},
        {"condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 600}, "policy": "DeleteCluster"},
        {"condition": {"jobStatus": "SUCCEEDED", "ttlSeconds": 86400}, "policy": "DeleteSelf"},
        {"condition": {"jobStatus": "FAILED", "ttlSeconds": 3600}, "policy": "DeleteCluster"},
    ]}
    assert spec["shutdownAfterJobFinishes"] is False  # KubeRay refuses true next to deletionRules
    assert "ttlSecondsAfterFinished" not in spec
    assert_valid_on(objects, "1.5.0", "1.7.0")


def test_job_deployment_status_condition_renders_on_kuberay_1_7() -> None:
    rules = [*RULES, rule("Failed", "DeleteSelf", 60, key="jobDeploymentStatus")]
    objects = build(stack(rayJobs=[{**JOB, "deletionStrategy": {"deletionRules": rules}}]))
    job = kind(objects, "RayJob")
    assert job["spec"]["deletionStrategy"]["deletionRules"][-1] == {
        "condition": {"jobDeploymentStatus": "Failed", "ttlSeconds": 60}, "policy": "DeleteSelf"}
    assert_valid_on(objects, "1.7.0")
    assert "spec.deletionStrategy.deletionRules[4].condition.jobDeploymentStatus: unknown field 'jobDeploymentStatus' would be " \
           "pruned by the API server" in crd_issues(job, "1.5.0")


@pytest.mark.parametrize(("legacy", "shutdown"), [
    (LEGACY, True),
    ({"onSuccess": {"policy": "DeleteNone"}, "onFailure": {"policy": "DeleteCluster"}}, False),
])
def test_legacy_policies_render_with_the_shutdown_kuberay_accepts(legacy: dict[str, Any], shutdown: bool) -> None:
    ttl = {"ttlSecondsAfterFinished": 300} if shutdown else {}
    objects = build(stack(rayJobs=[{**JOB, "deletionStrategy": legacy, **ttl}]))
    spec = kind(objects, "RayJob")["spec"]
    assert spec["deletionStrategy"] == legacy
    assert spec["shutdownAfterJobFinishes"] is shutdown
    assert spec.get("ttlSecondsAfterFinished") == ttl.get("ttlSecondsAfterFinished")
    assert_valid_on(objects, "1.5.0", "1.7.0")


def test_legacy_policies_with_an_explicit_shutdown_false() -> None:
    spec = ray_job_spec(RayJobSpec.model_validate({**JOB, "shutdownAfterJobFinishes": False, "deletionStrategy": LEGACY}), "ml")
    assert spec["shutdownAfterJobFinishes"] is False and spec["deletionStrategy"] == LEGACY


def test_submitter_backoff_limit_renders_as_submitter_config() -> None:
    objects = build(stack(rayJobs=[{**JOB, "submitter": {"backoffLimit": 0}}]))
    spec = kind(objects, "RayJob")["spec"]
    assert spec["submitterConfig"] == {"backoffLimit": 0}
    assert "backoffLimit" not in spec  # the job's own retries are another key
    assert_valid_on(objects, "1.5.0", "1.7.0")


def test_pre_running_deadline_renders_on_kuberay_1_7() -> None:
    objects = build(stack(rayJobs=[{**JOB, "preRunningDeadlineSeconds": 900, "activeDeadlineSeconds": 7200}]))
    assert kind(objects, "RayJob")["spec"]["preRunningDeadlineSeconds"] == 900
    assert_valid_on(objects, "1.7.0")


def test_new_job_keys_change_the_derived_job_id() -> None:
    """A change of any of them gives a new jobId, so the RayJob is replaced (``spec.jobId`` replaces) and runs again."""
    base = ray_job_spec(RayJobSpec.model_validate(JOB), "ml")["jobId"]
    for extra in ({"deletionStrategy": LEGACY}, {"preRunningDeadlineSeconds": 60}, {"submitter": {"backoffLimit": 1}}):
        assert ray_job_spec(RayJobSpec.model_validate({**JOB, **extra}), "ml")["jobId"] != base, extra


def test_job_without_the_new_keys_renders_as_before() -> None:
    spec = ray_job_spec(RayJobSpec.model_validate(JOB), "ml")
    assert not {"deletionStrategy", "submitterConfig", "preRunningDeadlineSeconds"} & set(spec)
    assert spec["shutdownAfterJobFinishes"] is True


def test_incremental_upgrade_renders_cluster_upgrade_options() -> None:
    objects = build(stack(rayServices=[INCREMENTAL]))
    spec = kind(objects, "RayService")["spec"]
    assert spec["upgradeStrategy"] == {"type": "NewClusterWithIncrementalUpgrade", "clusterUpgradeOptions": UPGRADE}
    assert spec["rayClusterConfig"]["enableInTreeAutoscaling"] is True
    assert_valid_on(objects, "1.5.0", "1.7.0")
    options = {k: v for k, v in UPGRADE.items() if k != "maxSurgePercent"}
    default = RayServiceSpec.model_validate({**INCREMENTAL, "clusterUpgradeOptions": options})
    assert ray_service(default, "ml")["spec"]["upgradeStrategy"]["clusterUpgradeOptions"]["maxSurgePercent"] == 100


def test_service_fields_of_kuberay_1_5() -> None:
    objects = build(stack(rayServices=[{**SERVICE, "rayClusterDeletionDelaySeconds": 300, "excludeHeadPodFromServeSvc": True}]))
    spec = kind(objects, "RayService")["spec"]
    assert spec["rayClusterDeletionDelaySeconds"] == 300 and spec["excludeHeadPodFromServeSvc"] is True
    assert_valid_on(objects, "1.5.0", "1.7.0")


def test_service_fields_of_kuberay_1_7() -> None:
    objects = build(stack(rayServices=[{**SERVICE, "suspend": True, "managedBy": "kueue.x-k8s.io/multikueue"}]))
    service = kind(objects, "RayService")
    assert service["spec"]["suspend"] is True and service["spec"]["managedBy"] == "kueue.x-k8s.io/multikueue"
    assert_valid_on(objects, "1.7.0")
    assert sorted(crd_issues(service, "1.5.0")) == [
        "spec.managedBy: unknown field 'managedBy' would be pruned by the API server",
        "spec.suspend: unknown field 'suspend' would be pruned by the API server",
    ]


def test_service_without_the_new_keys_renders_as_before() -> None:
    spec = ray_service(RayServiceSpec.model_validate(SERVICE), "ml")["spec"]
    assert spec["upgradeStrategy"] == {"type": "NewCluster"}
    assert not {"rayClusterDeletionDelaySeconds", "excludeHeadPodFromServeSvc", "suspend", "managedBy"} & set(spec)
    off = ray_service(RayServiceSpec.model_validate({**SERVICE, "excludeHeadPodFromServeSvc": False, "suspend": False}), "ml")
    assert not {"excludeHeadPodFromServeSvc", "suspend"} & set(off["spec"])


def test_kuberay_1_5_with_its_gates_on_takes_the_gated_fields() -> None:
    gates = {"RayJobDeletionPolicy": True, "RayServiceIncrementalUpgrade": True}
    objects = build(stack("1.5.0", gates, rayJobs=[{**JOB, "deletionStrategy": LEGACY}], rayServices=[INCREMENTAL]))
    assert_valid_on(objects, "1.5.0")


def test_gates_of_a_version_without_chart_defaults_follow_the_operator_defaults() -> None:
    load_stack_spec(stack("1.6.0", rayJobs=[{**JOB, "deletionStrategy": LEGACY}]))  # on by default from 1.6
    assert problems(stack("1.6.0", rayServices=[INCREMENTAL])) == [
        "raydask:rayServices[0].upgradeStrategy: needs the KubeRay feature gate RayServiceIncrementalUpgrade, off in "
        "raydask:kuberay (without it KubeRay upgrades the RayService in place, with downtime): set "
        "raydask:kuberay.featureGates: {RayServiceIncrementalUpgrade: true}"]


def test_no_operator_in_the_stack_no_version_rules() -> None:
    load_stack_spec({"namespace": "ml", "rayJobs": [{**JOB, "deletionStrategy": LEGACY, "preRunningDeadlineSeconds": 60}],
                     "rayServices": [{**INCREMENTAL, "suspend": True}]})


# ---- refusals -----------------------------------------------------------------------------------------------------

J = "raydask:rayJobs[0]"
S = "raydask:rayServices[0]"

JOB_REFUSALS: list[tuple[dict[str, Any], list[str]]] = [
    ({**JOB, "deletionStrategy": {}},
     [f"{J}.deletionStrategy.deletionRules: needs at least one rule (or the legacy onSuccess and onFailure): KubeRay refuses "
      "an empty deletionStrategy; remove the key to keep the default"]),
    ({**JOB, "deletionStrategy": {"deletionRules": []}},
     [f"{J}.deletionStrategy.deletionRules: needs at least one rule (or the legacy onSuccess and onFailure): KubeRay refuses "
      "an empty deletionStrategy; remove the key to keep the default"]),
    ({**JOB, "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}}},
     [f"{J}.deletionStrategy.onFailure: required with onSuccess: KubeRay needs both legacy policies (or use deletionRules)"]),
    ({**JOB, "deletionStrategy": {"onFailure": {"policy": "DeleteCluster"}}},
     [f"{J}.deletionStrategy.onSuccess: required with onFailure: KubeRay needs both legacy policies (or use deletionRules)"]),
    ({**JOB, "deletionStrategy": {**LEGACY, "deletionRules": RULES}},
     [f"{J}.deletionStrategy.deletionRules: cannot be combined with onSuccess/onFailure (KubeRay takes one form): keep "
      "deletionRules alone, or onSuccess and onFailure alone"]),
    ({**JOB, "deletionStrategy": {"onSuccess": {}, "onFailure": {"policy": "DeleteCluster"}}},
     [f"{J}.deletionStrategy.onSuccess.policy: required key is missing"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [rule("SUCCEEDED", "DeleteEverything")]}},
     [f"{J}.deletionStrategy.deletionRules[0].policy: must be one of 'DeleteCluster', 'DeleteWorkers', 'DeleteSelf' or "
      "'DeleteNone', got 'DeleteEverything'"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [rule("SUCCESS", "DeleteCluster")]}},
     [f"{J}.deletionStrategy.deletionRules[0].condition.jobStatus: must be one of 'SUCCEEDED' or 'FAILED', got 'SUCCESS'"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [rule("SUCCEEDED", "DeleteCluster", -1)]}},
     [f"{J}.deletionStrategy.deletionRules[0].condition.ttlSeconds: must be ≥ 0, got -1"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [{"condition": {}, "policy": "DeleteCluster"}]}},
     [f"{J}.deletionStrategy.deletionRules[0].condition.jobStatus: required: set jobStatus (SUCCEEDED or FAILED) or "
      "jobDeploymentStatus (Failed)"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [
        {"condition": {"jobStatus": "FAILED", "jobDeploymentStatus": "Failed"}, "policy": "DeleteCluster"}]}},
     [f"{J}.deletionStrategy.deletionRules[0].condition.jobDeploymentStatus: cannot be combined with jobStatus in one "
      "condition: write two rules"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [rule("FAILED", "DeleteCluster"), rule("FAILED", "DeleteCluster", 60)]}},
     [f"{J}.deletionStrategy.deletionRules[1]: repeats deletionRules[0] (DeleteCluster on jobStatus FAILED): keep one rule per "
      "condition and policy"]),
    ({**JOB, "deletionStrategy": {"deletionRules": [rule("SUCCEEDED", "DeleteSelf", 60), rule("SUCCEEDED", "DeleteCluster", 600),
                                                    rule("FAILED", "DeleteSelf", 0), rule("FAILED", "DeleteWorkers", 10)]}},
     [f"{J}.deletionStrategy.deletionRules[0].condition.ttlSeconds: DeleteSelf on jobStatus SUCCEEDED after 60s comes before "
      "DeleteCluster (deletionRules[1], 600s): KubeRay requires ttlSeconds not to decrease from DeleteWorkers to "
      "DeleteCluster to DeleteSelf",
      f"{J}.deletionStrategy.deletionRules[2].condition.ttlSeconds: DeleteSelf on jobStatus FAILED after 0s comes before "
      "DeleteWorkers (deletionRules[3], 10s): KubeRay requires ttlSeconds not to decrease from DeleteWorkers to "
      "DeleteCluster to DeleteSelf"]),
    ({**JOB, "shutdownAfterJobFinishes": True, "deletionStrategy": {"deletionRules": RULES}},
     [f"{J}.shutdownAfterJobFinishes: cannot be true with deletionStrategy.deletionRules (KubeRay refuses both; the deletion "
      "strategy decides what is deleted): remove it"]),
    ({**JOB, "ttlSecondsAfterFinished": 300, "deletionStrategy": {"deletionRules": RULES}},
     [f"{J}.ttlSecondsAfterFinished: does not apply with deletionStrategy.deletionRules: set the delay in each rule's "
      "condition.ttlSeconds"]),
    ({**JOB, "suspend": True, "deletionStrategy": {"deletionRules": RULES}},
     [f"{J}.suspend: a job with deletionStrategy.deletionRules cannot be suspended (KubeRay suspends only jobs with "
      "shutdownAfterJobFinishes: true, which it refuses with that strategy)"]),
    ({**JOB, "shutdownAfterJobFinishes": True,
      "deletionStrategy": {"onSuccess": {"policy": "DeleteNone"}, "onFailure": {"policy": "DeleteCluster"}}},
     [f"{J}.shutdownAfterJobFinishes: cannot be true with a DeleteNone policy in deletionStrategy (KubeRay refuses both; the "
      "deletion strategy decides what is deleted): remove it"]),
    ({**JOB, "ttlSecondsAfterFinished": 60,
      "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteNone"}}},
     [f"{J}.ttlSecondsAfterFinished: needs shutdownAfterJobFinishes: true, which KubeRay refuses with a DeleteNone policy in "
      "deletionStrategy: remove it, or use deletionRules with their own delays"]),
    ({**JOB, "cluster": {**JOB["cluster"], "autoscaling": {}},
      "deletionStrategy": {"deletionRules": [rule("SUCCEEDED", "DeleteWorkers"), rule("SUCCEEDED", "DeleteCluster", 60)]}},
     [f"{J}.deletionStrategy.deletionRules[0].policy: DeleteWorkers cannot be used with cluster.autoscaling (KubeRay refuses it "
      "on an autoscaling cluster): use DeleteCluster, or turn autoscaling off"]),
    ({**JOB, "cluster": {**JOB["cluster"], "autoscaling": {}},
      "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}, "onFailure": {"policy": "DeleteWorkers"}}},
     [f"{J}.deletionStrategy.onFailure.policy: DeleteWorkers cannot be used with cluster.autoscaling (KubeRay refuses it on an "
      "autoscaling cluster): use DeleteCluster, or turn autoscaling off"]),
    ({**SELECTOR_JOB, "deletionStrategy": {"onSuccess": {"policy": "DeleteSelf"}, "onFailure": {"policy": "DeleteSelf"}}},
     [f"{J}.deletionStrategy: does nothing with clusterSelector: KubeRay deletes nothing of a job on an existing cluster, "
      "whatever the policy; remove it"]),
    ({**JOB, "submitter": {"backoffLimit": -1}}, [f"{J}.submitter.backoffLimit: must be ≥ 0, got -1"]),
    ({**JOB, "submissionMode": "HTTPMode", "submitter": {"backoffLimit": 3}},
     [f"{J}.submitter: only applies to K8sJobMode (HTTPMode runs no submitter pod)"]),
    ({**JOB, "preRunningDeadlineSeconds": 0}, [f"{J}.preRunningDeadlineSeconds: must be > 0, got 0"]),
]


@pytest.mark.parametrize(("job", "messages"), JOB_REFUSALS, ids=lambda v: str(v)[:60])
def test_job_refusals(job: dict[str, Any], messages: list[str]) -> None:
    assert problems(stack(rayJobs=[job])) == messages


SERVICE_REFUSALS: list[tuple[dict[str, Any], list[str]]] = [
    ({**SERVICE, "upgradeStrategy": "NewClusterWithIncrementalUpgrade"},
     [f"{S}.clusterUpgradeOptions: required with upgradeStrategy NewClusterWithIncrementalUpgrade: set gatewayClassName, "
      "intervalSeconds and stepSizePercent"]),
    ({**SERVICE, "clusterUpgradeOptions": UPGRADE},
     [f"{S}.clusterUpgradeOptions: only applies to upgradeStrategy NewClusterWithIncrementalUpgrade (upgradeStrategy is "
      "NewCluster): remove it or change upgradeStrategy"]),
    ({**INCREMENTAL, "cluster": {"head": {"cpu": "1", "memory": "2Gi"}}},
     [f"{S}.cluster.autoscaling: required with upgradeStrategy NewClusterWithIncrementalUpgrade (KubeRay scales the new "
      "cluster with Ray's autoscaler): set autoscaling: {}"]),
    ({**INCREMENTAL, "clusterUpgradeOptions": {**UPGRADE, "stepSizePercent": 60}},
     [f"{S}.clusterUpgradeOptions.stepSizePercent: must be ≤ maxSurgePercent (60 > 50): KubeRay moves no more traffic than "
      "the new cluster has scaled up for"]),
    ({**INCREMENTAL, "clusterUpgradeOptions": {"gatewayClassName": "Istio_GW", "intervalSeconds": 0, "stepSizePercent": 0,
                                               "maxSurgePercent": 101}},
     [f"{S}.clusterUpgradeOptions.gatewayClassName: 'Istio_GW' is not a DNS-1123 subdomain (lower-case, digits, '-', '.')",
      f"{S}.clusterUpgradeOptions.intervalSeconds: must be > 0, got 0",
      f"{S}.clusterUpgradeOptions.maxSurgePercent: must be ≤ 100, got 101",
      f"{S}.clusterUpgradeOptions.stepSizePercent: must be ≥ 1, got 0"]),
    ({**INCREMENTAL, "clusterUpgradeOptions": {"gatewayClassName": "istio"}},
     [f"{S}.clusterUpgradeOptions.intervalSeconds: required key is missing",
      f"{S}.clusterUpgradeOptions.stepSizePercent: required key is missing"]),
    ({**SERVICE, "rayClusterDeletionDelaySeconds": -1}, [f"{S}.rayClusterDeletionDelaySeconds: must be ≥ 0, got -1"]),
    ({**SERVICE, "managedBy": "kueue"},
     [f"{S}.managedBy: must be one of 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue', got 'kueue'"]),
    ({**SERVICE, "serviceUnhealthySecondThreshold": 60}, [f"{S}.serviceUnhealthySecondThreshold: unknown key"]),
]


@pytest.mark.parametrize(("service", "messages"), SERVICE_REFUSALS, ids=lambda v: str(v)[:60])
def test_service_refusals(service: dict[str, Any], messages: list[str]) -> None:
    assert problems(stack(rayServices=[service])) == messages


VERSION_REFUSALS: list[tuple[dict[str, Any], list[str]]] = [
    (stack("1.5.0", {"RayJobDeletionPolicy": True}, rayJobs=[{**JOB, "preRunningDeadlineSeconds": 60, "deletionStrategy": {
        "deletionRules": [rule("FAILED", "DeleteCluster"), rule("Failed", "DeleteSelf", 60, key="jobDeploymentStatus")]}}]),
     [f"{J}.deletionStrategy.deletionRules[1].condition.jobDeploymentStatus: needs KubeRay ≥ 1.6.0; raydask:kuberay.version "
      "is 1.5.0 (its RayJob CRD has no deletionStrategy.deletionRules[].condition.jobDeploymentStatus: the API server drops "
      "it): set raydask:kuberay.version to 1.6.0 or later, or remove deletionStrategy.deletionRules[1].condition."
      "jobDeploymentStatus",
      f"{J}.preRunningDeadlineSeconds: needs KubeRay ≥ 1.6.0; raydask:kuberay.version is 1.5.0 (its RayJob CRD has no "
      "preRunningDeadlineSeconds: the API server drops it): set raydask:kuberay.version to 1.6.0 or later, or remove "
      "preRunningDeadlineSeconds"]),
    (stack("1.5.0", rayJobs=[{**JOB, "deletionStrategy": LEGACY}]),
     [f"{J}.deletionStrategy: needs the KubeRay feature gate RayJobDeletionPolicy, off in raydask:kuberay (without it KubeRay "
      "refuses a RayJob with a deletionStrategy): set raydask:kuberay.featureGates: {RayJobDeletionPolicy: true}"]),
    (stack("1.7.0", {"RayJobDeletionPolicy": False}, rayJobs=[{**JOB, "deletionStrategy": LEGACY}]),
     [f"{J}.deletionStrategy: needs the KubeRay feature gate RayJobDeletionPolicy, off in raydask:kuberay (without it KubeRay "
      "refuses a RayJob with a deletionStrategy): set raydask:kuberay.featureGates: {RayJobDeletionPolicy: true}"]),
    (stack("1.4.2", rayJobs=[{**JOB, "deletionStrategy": LEGACY}]),
     [f"{J}.deletionStrategy: needs KubeRay ≥ 1.5.0; raydask:kuberay.version is 1.4.2 (its RayJob CRD has no "
      "deletionStrategy: the API server drops it): set raydask:kuberay.version to 1.5.0 or later, or remove deletionStrategy"]),
    (stack("1.5.0", rayServices=[{**INCREMENTAL, "suspend": True, "managedBy": "ray.io/kuberay-operator"}]),
     [f"{S}.managedBy: needs KubeRay ≥ 1.6.0; raydask:kuberay.version is 1.5.0 (its RayService CRD has no managedBy: the "
      "API server drops it): set raydask:kuberay.version to 1.6.0 or later, or remove managedBy",
      f"{S}.suspend: needs KubeRay ≥ 1.7.0; raydask:kuberay.version is 1.5.0 (its RayService CRD has no suspend: the API "
      "server drops it): set raydask:kuberay.version to 1.7.0 or later, or remove suspend",
      f"{S}.upgradeStrategy: needs the KubeRay feature gate RayServiceIncrementalUpgrade, off in raydask:kuberay (without it "
      "KubeRay upgrades the RayService in place, with downtime): set raydask:kuberay.featureGates: "
      "{RayServiceIncrementalUpgrade: true}"]),
    (stack("1.7.0", {"RayServiceIncrementalUpgrade": False}, rayServices=[INCREMENTAL]),
     [f"{S}.upgradeStrategy: needs the KubeRay feature gate RayServiceIncrementalUpgrade, off in raydask:kuberay (without it "
      "KubeRay upgrades the RayService in place, with downtime): set raydask:kuberay.featureGates: "
      "{RayServiceIncrementalUpgrade: true}"]),
    (stack("1.4.2", rayServices=[{**SERVICE, "rayClusterDeletionDelaySeconds": 10}]),
     [f"{S}.rayClusterDeletionDelaySeconds: needs KubeRay ≥ 1.5.0; raydask:kuberay.version is 1.4.2 (its RayService CRD has "
      "no rayClusterDeletionDelaySeconds: the API server drops it): set raydask:kuberay.version to 1.5.0 or later, or "
      "remove rayClusterDeletionDelaySeconds"]),
]


@pytest.mark.parametrize(("values", "messages"), VERSION_REFUSALS, ids=lambda v: str(v)[:60])
def test_version_and_feature_gate_refusals(values: dict[str, Any], messages: list[str]) -> None:
    assert problems(values) == messages


def test_the_crd_rules_agree_with_ours() -> None:
    """What raydask refuses in ``deletionStrategy`` the CRD's own CEL rules refuse too (here on a hand-made object)."""
    job = kind(build(stack(rayJobs=[{**JOB, "deletionStrategy": LEGACY}])), "RayJob")
    one_legacy = {**job, "spec": {**job["spec"], "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}}}}
    both = {**job, "spec": {**job["spec"], "deletionStrategy": {**LEGACY, "deletionRules": RULES}}}
    for version in ("1.5.0", "1.7.0"):
        assert crd_issues(one_legacy, version) and crd_issues(both, version), version


def test_job_metadata_and_managed_by() -> None:
    objects = build(stack(rayJobs=[{**JOB, "jobMetadata": {"team": "search", "run": "42"},
                                    "managedBy": "kueue.x-k8s.io/multikueue"}]))
    spec = kind(objects, "RayJob")["spec"]
    assert spec["metadata"] == {"team": "search", "run": "42"} and spec["managedBy"] == "kueue.x-k8s.io/multikueue"
    assert_valid_on(objects, "1.5.0", "1.7.0")
    base = ray_job_spec(RayJobSpec.model_validate(JOB), "ml")["jobId"]
    assert ray_job_spec(RayJobSpec.model_validate({**JOB, "jobMetadata": {"run": "43"}}), "ml")["jobId"] != base
    assert problems(stack(rayJobs=[{**JOB, "managedBy": "kueue"}])) == [
        "raydask:rayJobs[0].managedBy: must be one of 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue', got 'kueue'"]


# ---- SidecarMode ----------------------------------------------------------------------------------------------------


SIDECAR = {"name": "sidecar", "entrypoint": "python -c 'import ray; ray.init()'", "submissionMode": "SidecarMode",
           "cluster": {"head": {"podSecurity": {"level": "baseline", "reason": "KubeRay's SidecarMode submitter has no "
                                                                              "securityContext"}}}}


def test_sidecar_mode_with_a_baseline_head() -> None:
    """KubeRay's ray-job.sidecar-mode sample: the submitter runs as a container KubeRay adds to the head pod, without a
    securityContext, so the head needs Pod Security "baseline": an explicit exception on the head, which lowers the
    namespace's enforce label to baseline; the head pod as KubeRay builds it (the offline scan adds the sidecar) then
    meets baseline and breaks restricted only in the sidecar."""
    from raydask.builders.namespaces import namespaces
    from raydask.k8s import pss
    from raydask.offline import scan
    from raydask.program import load_stack_spec

    values = {"namespace": "ml", "kuberay": {"version": "1.7.0"}, "rayJobs": [SIDECAR]}
    objs = build(values)
    assert_valid(objs, "1.31")
    job = next(o for o in objs if o["kind"] == "RayJob")["spec"]
    assert job["submissionMode"] == "SidecarMode" and "submitterPodTemplate" not in job and "submitterConfig" not in job
    head = next(t for t in scan.pod_templates([next(o for o in objs if o["kind"] == "RayJob")]) if t.name.endswith("-head"))
    assert [c["name"] for c in head.template["spec"]["containers"]] == ["ray-head", "ray-job-submitter"]
    assert pss.check_template(head.template, level="baseline") == []
    broken = pss.check_template(head.template, level="restricted")
    assert broken and all("ray-job-submitter" in v.message for v in broken)
    ns = next(n for n in namespaces(load_stack_spec(values)) if n["metadata"]["name"] == "ml")
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def refused(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        build(values)
    return exc.value.problems


def test_sidecar_mode_refusals() -> None:
    assert refused({"namespace": "ml", "rayJobs": [{**SIDECAR, "cluster": {}}]}) == [
        "raydask:rayJobs[0].submissionMode: SidecarMode: KubeRay adds its submitter container to the head pod without a "
        "securityContext, which Pod Security \"restricted\" refuses: give the head an exception, cluster.head.podSecurity: "
        "{level: baseline, reason: ...} (its namespace then enforces baseline), or use K8sJobMode"]
    assert refused({"namespace": "ml", "rayJobs": [{**SIDECAR, "cluster": None, "clusterSelector": "train"}]}) == [
        "raydask:rayJobs[0].submissionMode: SidecarMode needs a cluster of the job's own (KubeRay refuses it with "
        "clusterSelector): use K8sJobMode or HTTPMode"]
    privileged = {"level": "privileged", "reason": "x"}
    assert refused({"namespace": "ml", "rayJobs": [{**SIDECAR, "cluster": {"head": {"podSecurity": privileged}}}]}) == [
        "raydask:rayJobs[0].cluster.head.podSecurity.level: 'privileged' is more than the pods need: they meet \"baseline\"; "
        "use level: baseline"]


# ---- serveService.spec ----------------------------------------------------------------------------------------------


def test_serve_service_spec() -> None:
    """KubeRay's ray-service.custom-serve-service sample: the Serve Service's type and ServiceSpec fields, merged by
    port name as KubeRay merges them; a LoadBalancer admits its source ranges to Serve through the NetworkPolicies."""
    serve_service = {"name": "custom-ray-serve-service-name", "labels": {"custom-label": "x"},
                     "annotations": {"custom-annotation": "y"},
                     "spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"],
                              "externalTrafficPolicy": "Local",
                              "ports": [{"name": "serve", "port": 8000, "appProtocol": "http"},
                                        {"name": "serve-grpc", "port": 9000, "appProtocol": "kubernetes.io/h2c"}]}}
    service = {"name": "custom", "applications": [{"name": "a", "importPath": "m:app"}], "serveService": serve_service,
               "cluster": {"head": {"extraPorts": [{"name": "serve-grpc", "containerPort": 9000}]}}}
    objs = build({"namespace": "ml", "networkPolicy": {}, "rayServices": [service]})
    assert_valid(objs, "1.31")
    spec = next(o for o in objs if o["kind"] == "RayService")["spec"]["serveService"]
    assert spec["metadata"]["name"] == "custom-ray-serve-service-name"
    assert spec["spec"] == {"type": "LoadBalancer", "loadBalancerSourceRanges": ["10.0.0.0/8"], "externalTrafficPolicy": "Local",
                            "ports": [{"name": "serve", "port": 8000, "appProtocol": "http"},
                                      {"name": "serve-grpc", "port": 9000, "appProtocol": "kubernetes.io/h2c"}]}
    rules = [r for o in objs if o["kind"] == "NetworkPolicy" for r in o["spec"].get("ingress", [])]
    assert {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"protocol": "TCP", "port": 8000}]} in rules


@pytest.mark.parametrize(("serve_service", "messages"), [
    ({"spec": {"selector": {"a": "b"}}}, ["raydask:rayServices[0].serveService.spec.selector: is refused: KubeRay selects the "
                                          "pods serving traffic itself"]),
    ({"spec": {"ports": [{"name": "custom-ray-serve-service-port", "port": 12345}]}},
     ["raydask:rayServices[0].serveService.spec.ports[0].name: KubeRay keeps only serving ports on the Serve Service (named "
      "'serve' or 'serve-…', as the head container declares them) and drops 'custom-ray-serve-service-port': name one of "
      "those, or expose the port on the head Service (cluster.head.service.extraPorts)"]),
    ({"spec": {"ports": [{"name": "serve-grpc", "port": 9000}]}},
     ["raydask:rayServices[0].serveService.spec.ports[0].name: 'serve-grpc' is no port of the head container: KubeRay drops "
      "it; declare it in cluster.head.extraPorts"]),
    ({"spec": {"type": "Balanced"}}, ["raydask:rayServices[0].serveService.spec.type: expected ClusterIP, NodePort or "
                                      "LoadBalancer, got 'Balanced'"]),
    ({"spec": {"sessionAfinity": "ClientIP"}}, ["raydask:rayServices[0].serveService.spec.sessionAfinity: unknown key (did you "
                                                "mean 'sessionAffinity'?): the API server would silently drop it"]),
])
def test_serve_service_spec_refusals(serve_service: dict[str, Any], messages: list[str]) -> None:
    service = {"name": "custom", "applications": [{"name": "a", "importPath": "m:app"}], "serveService": serve_service}
    assert refused({"namespace": "ml", "rayServices": [service]}) == messages


# ---- generateName ---------------------------------------------------------------------------------------------------


def test_generate_name_names_each_job_definition_anew(run_program: Any) -> None:
    """KubeRay's ray-job.kueue-toy-sample (``generateName: rayjob-sample-``): the object is ``<name>-<5 characters>``
    from the API server's alphabet, derived from the definition, so an unchanged job keeps its object and a changed one
    is a new object, created before the old one is deleted; the outputs name it."""
    import pulumi

    from raydask.resources.ray_job import RayJob

    job = {"name": "rayjob-sample", "generateName": True, "entrypoint": "python -c 'print(1)'", "cluster": {}}
    objs = build({"namespace": "ml", "rayJobs": [job]})
    assert_valid(objs, "1.31")
    name = next(o for o in objs if o["kind"] == "RayJob")["metadata"]["name"]
    assert re.fullmatch(r"rayjob-sample-[bcdfghjklmnpqrstvwxz2456789]{5}", name)
    assert next(o for o in build({"namespace": "ml", "rayJobs": [job]}) if o["kind"] == "RayJob")["metadata"]["name"] == name
    changed = {**job, "entrypoint": "python -c 'print(2)'"}
    assert next(o for o in build({"namespace": "ml", "rayJobs": [changed]}) if o["kind"] == "RayJob")["metadata"]["name"] != name
    suspended = {**job, "suspend": True}
    assert next(o for o in build({"namespace": "ml", "rayJobs": [suspended]}) if o["kind"] == "RayJob")["metadata"]["name"] == name
    seen, capture = options_seen()
    result = run_program(lambda: pulumi.export("job", RayJob("rayjob-sample", job, namespace="ml",
                                                                opts=pulumi.ResourceOptions(transformations=[capture])).job_name))
    assert result.outputs["job"] == name
    assert seen["rayjob-sample"].delete_before_replace is False
    # the pods and NetworkPolicies keep the job's name; the head Service is KubeRay's, after the object's name
    pod_labels = next(o for o in objs if o["kind"] == "RayJob")["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["metadata"]
    assert pod_labels["labels"]["app.kubernetes.io/instance"] == "rayjob-sample"


def test_generate_name_bounds_the_name() -> None:
    job = {"name": "x" * 42, "generateName": True, "entrypoint": "python -m x", "cluster": {}}
    assert refused({"namespace": "ml", "rayJobs": [job]}) == [
        f"raydask:rayJobs[0].name: '{'x' * 42}' is 42 characters; with generateName the RayJob is named <name>-<5 characters>, "
        "which KubeRay limits to 47: at most 41"]
