"""KubeRay's batch-scheduler integration: the operator's ``--batch-scheduler`` (``raydask:kuberay.batchScheduler``) and
a workload's ``batchScheduling`` (gang scheduling, queue, priority), written as the labels KubeRay 1.7's batchscheduler
plugins read off the RayCluster, RayJob or RayService (as KubeRay's volcano, yunikorn, scheduler-plugins and kai
samples set them). Renders validated against the CRDs; the chart renders the operator's flag."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import yaml
from test_properties import assert_valid, build
from upstream import kuberay_chart

from raydask.builders.kuberay import helm_values
from raydask.errors import ConfigError
from raydask.spec.kuberay import KubeRayOperatorSpec

KUBERAY = {"version": "1.7.0"}


def labels(objects: list[dict[str, Any]], kind: str) -> dict[str, str]:
    return next(o for o in objects if o["kind"] == kind)["metadata"]["labels"]


def refused(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        build(values)
    return exc.value.problems


@pytest.mark.parametrize(("scheduler", "batch", "expected"), [
    ("yunikorn", {"gang": True, "queue": "root.test"},
     {"ray.io/gang-scheduling-enabled": "true", "yunikorn.apache.org/app-id": "test-yunikorn-0",
      "yunikorn.apache.org/queue": "root.test"}),
    ("scheduler-plugins", {"gang": True}, {"ray.io/gang-scheduling-enabled": "true"}),
    ("volcano", {"queue": "kuberay-test-queue", "priorityClassName": "high"},
     {"volcano.sh/queue-name": "kuberay-test-queue", "ray.io/priority-class-name": "high"}),
    ("kai-scheduler", {"queue": "team-a"}, {"kai.scheduler/queue": "team-a"}),
])
def test_a_cluster_carries_the_labels_its_scheduler_reads(scheduler: str, batch: dict[str, Any], expected: dict[str, str]) -> None:
    """As KubeRay's ray-cluster.yunikorn-scheduler, .scheduler-plugins, .volcano-scheduler-queue and .kai-scheduler
    samples: on the RayCluster (KubeRay reads them there), not on its pods (KubeRay adds what the pods need)."""
    cluster = {"name": "test-yunikorn-0", "batchScheduling": {"scheduler": scheduler, **batch}}
    objs = build({"namespace": "ml", "kuberay": {**KUBERAY, "batchScheduler": scheduler}, "rayClusters": [cluster]})
    assert_valid(objs, "1.31")
    found = labels(objs, "RayCluster")
    assert {k: v for k, v in found.items() if not k.startswith("app.kubernetes.io/")} == expected
    rc = next(o for o in objs if o["kind"] == "RayCluster")
    pod_labels = rc["spec"]["headGroupSpec"]["template"]["metadata"]["labels"]
    assert not set(expected) & set(pod_labels)


def test_jobs_and_services_carry_them_for_the_cluster_kuberay_creates() -> None:
    """KubeRay copies a RayJob's and a RayService's labels to the RayCluster it creates (ray-job.yunikorn-scheduler,
    ray-job.volcano-scheduler-queue)."""
    batch = {"scheduler": "yunikorn", "gang": True, "queue": "root.test"}
    objs = build({"namespace": "ml", "kuberay": {**KUBERAY, "batchScheduler": "yunikorn"},
                  "rayJobs": [{"name": "rayjob-yunikorn-0", "entrypoint": "python -m x", "cluster": {}, "batchScheduling": batch}],
                  "rayServices": [{"name": "serve", "applications": [{"name": "a", "importPath": "m:app"}],
                                   "batchScheduling": batch}]})
    assert_valid(objs, "1.31")
    assert labels(objs, "RayJob")["ray.io/gang-scheduling-enabled"] == "true"
    assert labels(objs, "RayJob")["yunikorn.apache.org/app-id"] == "rayjob-yunikorn-0"
    assert labels(objs, "RayService")["yunikorn.apache.org/queue"] == "root.test"


@pytest.mark.parametrize("scheduler", ["volcano", "yunikorn", "scheduler-plugins", "kai-scheduler"])
def test_the_operator_runs_the_batch_scheduler(scheduler: str) -> None:
    """The chart turns ``batchScheduler.name`` into the operator's ``--batch-scheduler`` flag."""
    helm = shutil.which("helm") or ".venv/bin/helm"
    values = helm_values(KubeRayOperatorSpec.model_validate({**KUBERAY, "batchScheduler": scheduler}), "kuberay", None)
    assert values["batchScheduler"] == {"enabled": False, "name": scheduler}
    run = subprocess.run([helm, "template", "kuberay-operator", str(kuberay_chart("1.7.0")), "-f", "-"],
                         input=yaml.safe_dump(values), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    deployment = next(d for d in yaml.safe_load_all(run.stdout) if d and d["kind"] == "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--batch-scheduler={scheduler}" in args and "--enable-batch-scheduler" not in args


@pytest.mark.parametrize(("values", "messages"), [
    ({"rayClusters": [{"name": "t", "labels": {"ray.io/gang-scheduling-enabled": "true"}}]},
     ["raydask:rayClusters[0].labels[\"ray.io/gang-scheduling-enabled\"]: 'ray.io/gang-scheduling-enabled' is KubeRay's "
      "batch-scheduling label on the workload: set it with batchScheduling.gang"]),
    ({"rayJobs": [{"name": "t", "entrypoint": "x", "cluster": {}, "labels": {"ray.io/priority-class-name": "high"}}]},
     ["raydask:rayJobs[0].labels[\"ray.io/priority-class-name\"]: 'ray.io/priority-class-name' is KubeRay's batch-scheduling "
      "label on the workload: set it with batchScheduling.priorityClassName"]),
    ({"rayClusters": [{"name": "t", "batchScheduling": {"scheduler": "volcano", "gang": True}}]},
     ["raydask:rayClusters[0].batchScheduling.gang: Volcano puts every RayCluster's pods in one PodGroup by itself (KubeRay "
      "reads no gang label for it): remove gang"]),
    ({"rayClusters": [{"name": "t", "batchScheduling": {"scheduler": "kai-scheduler"}}]},
     ["raydask:rayClusters[0].batchScheduling.queue: required with kai-scheduler: KubeRay leaves a cluster without "
      "kai.scheduler/queue Pending"]),
    ({"rayClusters": [{"name": "t", "batchScheduling": {"scheduler": "yunikorn", "priorityClassName": "high"}}]},
     ["raydask:rayClusters[0].batchScheduling.priorityClassName: only Volcano reads it (yunikorn takes the pods' "
      "priorityClassName): remove it"]),
    ({"rayClusters": [{"name": "t", "labels": {"volcano.sh/queue-name": "q"},
                       "batchScheduling": {"scheduler": "volcano", "queue": "q"}}]},
     ["raydask:rayClusters[0].labels[\"volcano.sh/queue-name\"]: 'volcano.sh/queue-name' is set by batchScheduling: remove "
      "it here"]),
    ({"rayJobs": [{"name": "t", "entrypoint": "x", "clusterSelector": "c", "batchScheduling": {"scheduler": "yunikorn"}}]},
     ["raydask:rayJobs[0].batchScheduling: schedules the cluster a job creates: a job on an existing cluster "
      "(clusterSelector) has only its submitter; set it on that RayCluster"]),
    ({"kuberay": KUBERAY, "rayClusters": [{"name": "t", "batchScheduling": {"scheduler": "yunikorn"}}]},
     ["raydask:rayClusters[0].batchScheduling.scheduler: the stack's KubeRay operator runs no batch scheduler "
      "(raydask:kuberay.batchScheduler), so it would ignore yunikorn's labels: set raydask:kuberay.batchScheduler: yunikorn"]),
    ({"kuberay": {**KUBERAY, "values": {"batchScheduler": {"name": "volcano"}}}},
     ["raydask:kuberay.values.batchScheduler: set by raydask: use kuberay.batchScheduler"]),
])
def test_refused(values: dict[str, Any], messages: list[str]) -> None:
    assert refused({"namespace": "ml", **values}) == messages
