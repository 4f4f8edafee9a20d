"""KubeRay fields beyond the pod: Ray logical resources and node labels apart from the container's, ``numOfHosts``,
``suspend``. Renders validated against the RayCluster CRD and Ray's own autoscaler code (which reads ``resources``,
``labels`` and ``numOfHosts``)."""

from __future__ import annotations

from typing import Any

import pytest
from test_properties import assert_valid, build

from raydask.builders.ray import readiness_patch
from raydask.errors import ConfigError
from raydask.offline.validation import consumers
from raydask.spec import RayClusterSpec

TPU = {"name": "tpu", "minReplicas": 0, "maxReplicas": 2, "numOfHosts": 4, "gpus": 4, "gpuResource": "google.com/tpu",
       "tolerations": [{"key": "google.com/tpu", "operator": "Exists", "effect": "NoSchedule"}],
       "rayResources": {"CPU": "8", "TPU": "4", "memory": "16Gi"},
       "rayLabels": {"ray.io/accelerator-type": "TPU-V6E", "zone": "us-central2-b"}}


def cluster(**extra: Any) -> dict[str, Any]:
    return {"namespace": "ml", "rayClusters": [{"name": "train", "workerGroups": [TPU], "autoscaling": {}, **extra}]}


def test_ray_resources_labels_and_hosts_reach_kuberay_and_the_autoscaler() -> None:
    objs = build(cluster())
    assert_valid(objs, "1.31")
    rc = next(o for o in objs if o["kind"] == "RayCluster")
    group = rc["spec"]["workerGroupSpecs"][0]
    assert group["resources"] == TPU["rayResources"] and group["labels"] == TPU["rayLabels"] and group["numOfHosts"] == 4
    config = consumers._autoscaling_config()._derive_autoscaling_config_from_ray_cr(rc)
    node = config["available_node_types"]["tpu"]
    assert node["resources"]["CPU"] == 8 and node["resources"]["TPU"] == 4
    assert node["max_workers"] == 8  # two replicas of four hosts
    assert node["labels"]["zone"] == "us-central2-b"


def test_suspended_cluster_is_not_waited_for() -> None:
    rc = next(o for o in build(cluster(suspend=True)) if o["kind"] == "RayCluster")
    assert rc["spec"]["suspend"] is True
    assert readiness_patch(RayClusterSpec.model_validate({"name": "train", "suspend": True}), "ml") is None
    assert readiness_patch(RayClusterSpec.model_validate({"name": "train"}), "ml") is not None


@pytest.mark.parametrize(("group", "message"), [
    ({**TPU, "rayStartParams": {"num-cpus": "8"}},
     "raydask:rayClusters[0].workerGroups[0].rayStartParams.num-cpus: 'num-cpus' is replaced by rayResources (KubeRay and "
     "Ray's autoscaler use only that): declare every Ray resource there"),
    ({**TPU, "rayResources": {"TPU": "0.5"}},
     "raydask:rayClusters[0].workerGroups[0].rayResources.TPU: '0.5': Ray counts custom resources in whole units"),
    ({**TPU, "rayLabels": {"zone": "us central"}},
     "raydask:rayClusters[0].workerGroups[0].rayLabels.zone: 'us central' is not a valid label value: letters, digits, '-', "
     "'_' and '.', starting and ending with a letter or digit (or empty)"),
    ({**TPU, "numOfHosts": 0}, "raydask:rayClusters[0].workerGroups[0].numOfHosts: must be ≥ 1, got 0"),
])
def test_refused(group: dict[str, Any], message: str) -> None:
    values = cluster()
    values["rayClusters"][0]["workerGroups"] = [group]
    with pytest.raises(ConfigError) as exc:
        build(values)
    assert exc.value.problems == [message]


def test_autoscaler_image_and_env_from() -> None:
    values = cluster(autoscaling={"image": "example.com/ray-autoscaler:2.60.0", "envFrom": [{"secretRef": {"name": "s"}}]})
    objs = build(values)
    assert_valid(objs, "1.31")
    options = next(o for o in objs if o["kind"] == "RayCluster")["spec"]["autoscalerOptions"]
    assert options["image"] == "example.com/ray-autoscaler:2.60.0" and options["imagePullPolicy"] == "Always"
    assert options["envFrom"] == [{"secretRef": {"name": "s"}}]
