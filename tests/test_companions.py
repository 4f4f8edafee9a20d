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
    accounts = [{"name": "reader", "rules": [{"resources": ["configmaps"], "verbs": ["get"]}]}]
    result = run_program(lambda: RayCluster("train", {"name": "train", "configMaps": [CODE], "serviceAccounts": accounts},
                                            namespace="ml"))
    types = [r.type for r in result.resources]
    for kind in ("core/v1:ConfigMap", "core/v1:ServiceAccount", "rbac.authorization.k8s.io/v1:Role",
                 "rbac.authorization.k8s.io/v1:RoleBinding"):
        assert types.index(f"kubernetes:{kind}") < types.index("kubernetes:ray.io/v1:RayCluster"), kind
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


def test_service_accounts_with_rbac() -> None:
    reader = {"name": "reader", "annotations": {"iam.gke.io/gcp-service-account": "train@p.iam.gserviceaccount.com"},
              "rules": [{"resources": ["configmaps"], "verbs": ["get", "list", "watch"]},
                        {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["get"], "resourceNames": ["nightly"]}]}
    values = {"namespace": "ml", "rayClusters": [{"name": "train", "serviceAccounts": [reader, {"name": "plain"}],
                                                  "serviceAccount": "train-reader"}]}
    objs = build(values)
    assert_valid(objs, "1.31")
    made = {(o["kind"], o["metadata"]["name"]) for o in objs if o["kind"] in ("ServiceAccount", "Role", "RoleBinding")}
    assert made == {("ServiceAccount", "train-reader"), ("Role", "train-reader"), ("RoleBinding", "train-reader"),
                    ("ServiceAccount", "train-plain")}
    role = next(o for o in objs if o["kind"] == "Role")
    assert role["rules"][1] == {"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["get"], "resourceNames": ["nightly"]}
    binding = next(o for o in objs if o["kind"] == "RoleBinding")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "train-reader", "namespace": "ml"}]
    head = next(o for o in objs if o["kind"] == "RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]
    assert head["serviceAccountName"] == "train-reader" and "automountServiceAccountToken" not in head


@pytest.mark.parametrize(("rule", "message"), [
    ({"resources": ["pods"], "verbs": ["*"]},
     "raydask:rayClusters[0].serviceAccounts[0].rules[0].verbs[0]: '*' is not a verb raydask grants: one of get, list, watch, "
     "create, update, patch, delete, deletecollection (no '*': list what the pods need)"),
    ({"resources": ["*"], "verbs": ["get"]},
     "raydask:rayClusters[0].serviceAccounts[0].rules[0].resources[0]: '*' grants everything: list what the pods need"),
])
def test_rbac_refused(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [{"name": "train", "serviceAccounts": [{"name": "x", "rules": [rule]}]}]})
    assert exc.value.problems == [message]
