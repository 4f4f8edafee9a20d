"""RayCronJob (KubeRay 1.7): ``raydask:rayCronJobs``, a RayJob on a schedule. KubeRay's own samples
(``samples/ray-cronjob.sample.yaml``, ``samples/ray-cronjob-timezone.sample.yaml``) said in raydask, rendered and
validated against the KubeRay 1.7.0 CRDs; the RayJob the schedule creates is the RayJob raydask builds; the refusals
(KubeRay version, feature gate, what a schedule cannot have) checked with their exact messages."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from test_properties import assert_valid, build

from raydask.builders.ray_job import ray_job_spec
from raydask.errors import ConfigError
from raydask.program import load_stack_spec
from raydask.resources.ray_cron_job import RayCronJob
from raydask.spec.ray_workloads import RayJobSpec

CRON: dict[str, Any] = {
    "name": "raycronjob-timezone-sample",
    "schedule": "45 21 * * *",
    "timeZone": "Asia/Taipei",
    "entrypoint": "python /home/ray/samples/sample_code.py",
    "ttlSecondsAfterFinished": 600,
    "runtimeEnv": {"pip": ["requests==2.26.0", "pendulum==2.1.2"], "envVars": {"counter_name": "test_counter"}},
    "cluster": {"head": {"cpu": "200m", "cpuLimit": "1", "memory": "5Gi"},
                "workerGroups": [{"name": "small-group", "replicas": 1, "minReplicas": 1, "maxReplicas": 5,
                                  "cpu": "200m", "cpuLimit": "1", "memory": "1Gi"}]},
}


def stack(kuberay: str = "1.7.0", gates: dict[str, bool] | None = None, **lists: Any) -> dict[str, Any]:
    return {"namespace": "ml", "kuberay": {"version": kuberay, "featureGates": {"RayCronJob": True} if gates is None else gates},
            **lists}


def problems(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec(values)
    return exc.value.problems


def test_the_timezone_sample() -> None:
    objects = build(stack(rayCronJobs=[CRON]))
    assert_valid(objects, "1.31")
    cron = next(o for o in objects if o["kind"] == "RayCronJob")
    assert cron["apiVersion"] == "ray.io/v1" and cron["metadata"]["name"] == "raycronjob-timezone-sample"
    spec = cron["spec"]
    assert list(spec)[:2] == ["schedule", "timeZone"] and "suspend" not in spec
    assert (spec["schedule"], spec["timeZone"]) == ("45 21 * * *", "Asia/Taipei")
    template = spec["jobTemplate"]
    # the template is the RayJob raydask builds, less what each run must not share (its id) or the schedule owns
    job = ray_job_spec(RayJobSpec.model_validate({k: v for k, v in CRON.items() if k not in ("schedule", "timeZone")}), "ml")
    assert template == {k: v for k, v in job.items() if k not in ("jobId", "suspend")}
    assert "jobId" not in template and template["shutdownAfterJobFinishes"] is True and template["ttlSecondsAfterFinished"] == 600
    assert template["entrypoint"] == "python /home/ray/samples/sample_code.py"
    assert "requests==2.26.0" in template["runtimeEnvYAML"]
    # the runs' pods carry the job's labels, which its NetworkPolicies select
    labels = template["rayClusterSpec"]["headGroupSpec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/instance"] == "raycronjob-timezone-sample"
    guarded = build({**stack(rayCronJobs=[CRON]), "networkPolicy": {}})
    assert_valid(guarded, "1.31")
    selectors = [o["spec"]["podSelector"].get("matchLabels", {}) for o in guarded if o["kind"] == "NetworkPolicy"]
    assert any(s.get("app.kubernetes.io/instance") == "raycronjob-timezone-sample" for s in selectors)


def test_suspend_is_the_schedules() -> None:
    selector = {"name": "report", "schedule": "@every 1h30m", "entrypoint": "python report.py", "clusterSelector": "train",
                "suspend": True}
    objects = build(stack(rayCronJobs=[selector], rayClusters=[{"name": "train"}]))
    assert_valid(objects, "1.31")
    spec = next(o for o in objects if o["kind"] == "RayCronJob")["spec"]
    assert spec["suspend"] is True and "suspend" not in spec["jobTemplate"] and "timeZone" not in spec
    assert spec["jobTemplate"]["clusterSelector"] == {"ray.io/cluster": "train"}
    # a job on a stack cluster submits with its image, as a RayJob does
    assert spec["jobTemplate"]["submitterPodTemplate"]["spec"]["containers"][0]["image"].startswith("rayproject/ray:")


@pytest.mark.parametrize(("change", "messages"), [
    ({"schedule": "every day"}, ["raydask:rayCronJobs[0].schedule: 'every day' is not a cron schedule: five fields (minute hour "
                                 "day-of-month month day-of-week, e.g. '45 21 * * *'), one of @yearly, @annually, @monthly, "
                                 "@weekly, @daily, @midnight, @hourly, or '@every <duration>' (e.g. @every 1h30m)"]),
    ({"schedule": "CRON_TZ=UTC 0 * * * *"}, ["raydask:rayCronJobs[0].schedule: 'CRON_TZ=UTC 0 * * * *': set the time zone "
                                             "with timeZone, not in the schedule"]),
    ({"timeZone": "Mars/Olympus"}, ["raydask:rayCronJobs[0].timeZone: 'Mars/Olympus' is not a time zone of the IANA database "
                                    "(e.g. Asia/Taipei, Europe/Paris, UTC)"]),
    ({"name": "x" * 42}, [f"raydask:rayCronJobs[0].name: '{'x' * 42}' is 42 characters; KubeRay names each run <name>-<5 "
                          "characters>, a RayJob name of at most 47: at most 41"]),
    ({"generateName": True}, ["raydask:rayCronJobs[0].generateName: KubeRay names each run of a RayCronJob <name>-<5 random "
                              "characters> already: remove it"]),
    ({"jobId": "fixed"}, ["raydask:rayCronJobs[0].jobId: every run of a RayCronJob is a new Ray job, which needs an id of its "
                          "own (Ray refuses a second job of one id on a cluster): remove it, KubeRay generates one"]),
    ({"submissionMode": "InteractiveMode", "entrypoint": None},
     ["raydask:rayCronJobs[0].submissionMode: InteractiveMode waits for you to submit each run: use K8sJobMode, HTTPMode or "
      "SidecarMode"]),
    ({"batchScheduling": {"scheduler": "volcano"}},
     ["raydask:rayCronJobs[0].batchScheduling: KubeRay puts no label of the RayCronJob on the RayJobs it creates (only "
      "ray.io/cronjob-name), so the batch scheduler would never see them: remove it"]),
])
def test_refusals(change: dict[str, Any], messages: list[str]) -> None:
    job = {k: v for k, v in {**CRON, **change}.items() if v is not None}
    assert problems(stack(rayCronJobs=[job])) == messages


def test_needs_kuberay_1_7_with_its_gate() -> None:
    assert problems(stack("1.5.0", {}, rayCronJobs=[CRON])) == [
        "raydask:rayCronJobs: needs KubeRay ≥ 1.7.0; raydask:kuberay.version is 1.5.0, which has no RayCronJob CRD (the API "
        "server refuses the object): set raydask:kuberay.version to 1.7.0 or later, or remove rayCronJobs"]
    assert problems(stack("1.7.0", {}, rayCronJobs=[CRON])) == [
        "raydask:rayCronJobs: needs the KubeRay feature gate RayCronJob, off in raydask:kuberay (without it KubeRay runs no "
        "RayCronJob controller: no RayJob is ever scheduled): set raydask:kuberay.featureGates: {RayCronJob: true}"]
    # the job's own keys keep their requirements under the kind's
    incremental = {**CRON, "preRunningDeadlineSeconds": 60}
    load_stack_spec(stack(rayCronJobs=[incremental]))
    # an operator installed elsewhere is not known: nothing to check
    load_stack_spec({"namespace": "ml", "rayCronJobs": [CRON]})


def test_the_component(run_program: Any) -> None:
    result = run_program(lambda: pulumi.export("name", RayCronJob("nightly", {**CRON, "name": "nightly"}, namespace="ml")
                                                        .cron_job_name))
    assert result.outputs["name"] == "nightly"
    types = {r.type for r in result.resources}
    assert {"raydask:ray:RayCronJob", "kubernetes:ray.io/v1:RayCronJob"} <= types
