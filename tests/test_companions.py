"""ConfigMaps declared with a workload (``configMaps``): built beside it, named ``<workload>-<name>``, labelled like its
other objects, validated against the real schemas, registered before the workload, refused with the key named."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.program import load_stack_spec
from raydask.resources.ray_cluster import RayCluster

CODE = {"name": "code", "data": {"train.py": "import ray\nray.init()\n", "settings.yaml": "epochs: 3\n"}}
MOUNT = {"name": "code", "mountPath": "/app", "readOnly": True, "source": {"configMap": {"name": "train-code"}}}
BASE: dict[str, Any] = {
    "namespace": "ml",
    "rayClusters": [{"name": "train", "configMaps": [CODE], "head": {"volumes": [MOUNT]}}],
    "rayJobs": [{"name": "nightly", "entrypoint": "python /app/train.py", "cluster": {}, "configMaps": [CODE]}],
    "daskClusters": [{"name": "etl", "configMaps": [{"name": "settings", "data": {"dask.yaml": "distributed: {}\n"}}]}],
}


def config_maps(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}


def test_config_maps_are_built_beside_their_workload_and_validate() -> None:
    objs = build(copy.deepcopy(BASE))
    assert_valid(objs, "1.31")
    made = config_maps(objs)
    assert set(made) == {"train-code", "nightly-code", "etl-settings"}
    train = made["train-code"]
    assert train["metadata"]["namespace"] == "ml" and train["data"] == CODE["data"]
    assert train["metadata"]["labels"]["app.kubernetes.io/instance"] == "train"
    assert train["metadata"]["labels"]["app.kubernetes.io/component"] == "config"
    head = next(o for o in objs if o["kind"] == "RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]
    assert {"name": "code", "configMap": {"name": "train-code"}} in head["volumes"]


def test_the_component_registers_them_before_the_cluster(run_program: Any) -> None:
    result = run_program(lambda: RayCluster("train", {"name": "train", "configMaps": [CODE]}, namespace="ml"))
    types = [r.type for r in result.resources]
    assert types.index("kubernetes:core/v1:ConfigMap") < types.index("kubernetes:ray.io/v1:RayCluster")
    cm = next(r for r in result.resources if r.type == "kubernetes:core/v1:ConfigMap")
    assert cm.name == "train-configmap-train-code"


@pytest.mark.parametrize(("change", "message"), [
    ({"rayClusters": [{"name": "train", "configMaps": [CODE, CODE]}]},
     "raydask:rayClusters[0].configMaps[1].name: 'code' is already the name of configMaps[0]"),
    ({"rayClusters": [{"name": "train", "configMaps": [{"name": "code", "data": {"a/b.py": ""}}]}]},
     "raydask:rayClusters[0].configMaps[0].data[\"a/b.py\"]: 'a/b.py' is not a ConfigMap key: letters, digits, '-', '_' and "
     "'.' (a file name, no '/')"),
    ({"rayClusters": [{"name": "train", "configMaps": [{"name": "big", "data": {"x": "a" * (1024 * 1024)}}]}]},
     "raydask:rayClusters[0].configMaps[0].data: is 1048577 bytes; a ConfigMap holds at most 1048576 (1 MiB): mount bigger "
     "files from a volume or the image"),
    ({"rayClusters": [{"name": "a", "configMaps": [{"name": "b-c"}]}], "daskClusters": [{"name": "a-b", "configMaps": [{"name": "c"}]}]},
     "raydask:daskClusters[0].configMaps[0].name: makes the ConfigMap ml/a-b-c, which rayClusters[0].configMaps[0] makes "
     "too: choose another name"),
])
def test_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", **change})
    assert message in exc.value.problems
