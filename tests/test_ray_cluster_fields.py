"""RayCluster keys of KubeRay 1.6 / 1.7: ``autoscaling.command`` / ``args``, ``tls`` (``tlsOptions``), ``historyServer``
(``historyServerOptions``), ``upgradeStrategy`` and ``managedBy``. Renders validated against the real KubeRay 1.7.0 CRD
and Ray's own autoscaler code; each refusal, and the refusal of every 1.6 / 1.7 key on an older ``raydask:kuberay``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from test_properties import assert_valid, build
from upstream import kuberay_chart

from raydask.errors import ConfigError
from raydask.offline.validation import consumers
from raydask.spec import RayClusterSpec
from raydask.spec.ray_workloads import WorkloadClusterSpec

COLLECTOR = {"image": "quay.io/kuberay/collector:v1.7.0", "env": {"STORAGE_BACKEND": "GCS", "GCS_BUCKET": "ray-history"},
             "secretEnv": {"GOOGLE_APPLICATION_CREDENTIALS_JSON": {"name": "gcs-credentials", "key": "key.json"}}}
GATES = {"RayClusterMTLS": True, "RayClusterHistoryServer": True}
JOB = {"name": "etl", "entrypoint": "python -m etl", "cluster": {"head": {"cpu": "1", "memory": "2Gi"}}}


def stack(cluster: dict[str, Any] | None = None, *, kuberay: str = "1.7.0", gates: dict[str, bool] | None = None,
          create_namespace: bool = False, job_cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"namespace": "ml", "createNamespace": create_namespace,
                              "kuberay": {"version": kuberay, "featureGates": GATES if gates is None else gates}}
    if cluster is not None:
        values["rayClusters"] = [{"name": "train", "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 4}],
                                  "autoscaling": {}, **cluster}]
    if job_cluster is not None:
        values["rayJobs"] = [{**JOB, "cluster": {**JOB["cluster"], **job_cluster}}]
    return values


def ray_cluster(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "RayCluster")


def refused(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        build(values)
    return exc.value.problems


def crd_spec_properties(version: str) -> dict[str, Any]:
    path = kuberay_chart(version) / "crds" / "ray.io_rayclusters.yaml"
    doc = yaml.safe_load(path.read_text())
    props: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    return props


def test_the_keys_are_new_in_the_1_7_crd() -> None:
    """Which of the keys the 1.5.0 CRD lacks (so its API server would drop them): the version rules' premise."""
    old, new = crd_spec_properties("1.5.0"), crd_spec_properties("1.7.0")
    for key in ("tlsOptions", "historyServerOptions", "upgradeStrategy"):
        assert key in new and key not in old
    assert "managedBy" in old and "managedBy" in new
    assert {"command", "args"} <= set(new["autoscalerOptions"]["properties"])
    assert not {"command", "args"} & set(old["autoscalerOptions"]["properties"])
    assert new["upgradeStrategy"]["properties"]["type"]["enum"] == ["Recreate", "None"]


def test_unset_keys_render_nothing() -> None:
    spec = ray_cluster(build(stack({})))["spec"]
    for key in ("tlsOptions", "historyServerOptions", "upgradeStrategy", "managedBy"):
        assert key not in spec
    assert "command" not in spec["autoscalerOptions"] and "args" not in spec["autoscalerOptions"]
    off = ray_cluster(build(stack({"tls": {"enabled": False}}, gates={})))["spec"]
    assert "tlsOptions" not in off  # KubeRay refuses even {enabled: false} without its feature gate


def test_autoscaler_command_and_args() -> None:
    command, args = ["/bin/bash", "-lc", "--"], ["ulimit -n 65536; $KUBERAY_GEN_AUTOSCALER_START_CMD"]
    objects = build(stack({"autoscaling": {"command": command, "args": args}}))
    assert_valid(objects, "1.31")
    rc = ray_cluster(objects)
    options = rc["spec"]["autoscalerOptions"]
    assert options["command"] == command and options["args"] == args
    # Ray's autoscaler reads the same RayCluster as before
    config = consumers._autoscaling_config()._derive_autoscaling_config_from_ray_cr(rc)
    assert config["available_node_types"]["cpu"]["max_workers"] == 4


def test_tls() -> None:
    objects = build(stack({"tls": {}}))
    assert_valid(objects, "1.31")
    rc = ray_cluster(objects)
    assert rc["spec"]["tlsOptions"] == {"enabled": True}
    config = consumers._autoscaling_config()._derive_autoscaling_config_from_ray_cr(rc)
    assert set(config["available_node_types"]) == {"headgroup", "cpu"}


def test_history_server() -> None:
    values = stack({"historyServer": {"collector": {**COLLECTOR, "limits": {"memory": "512Mi", "cpu": None},
                                                    "imagePullPolicy": "IfNotPresent"}}})
    objects = build(values)
    assert_valid(objects, "1.31")
    options = ray_cluster(objects)["spec"]["historyServerOptions"]
    assert options == {"collectorOptions": {
        "image": "quay.io/kuberay/collector:v1.7.0", "imagePullPolicy": "IfNotPresent",
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
        "env": [{"name": "GCS_BUCKET", "value": "ray-history"}, {"name": "STORAGE_BACKEND", "value": "GCS"},
                {"name": "GOOGLE_APPLICATION_CREDENTIALS_JSON",
                 "valueFrom": {"secretKeyRef": {"name": "gcs-credentials", "key": "key.json"}}}]}}
    plain = ray_cluster(build(stack({"historyServer": {"collector": {"image": "quay.io/kuberay/collector:v1.7.0"}}})))
    assert plain["spec"]["historyServerOptions"] == {"collectorOptions": {"image": "quay.io/kuberay/collector:v1.7.0"}}


@pytest.mark.parametrize("strategy", ["Recreate", "None"])
def test_upgrade_strategy(strategy: str) -> None:
    objects = build(stack({"upgradeStrategy": strategy}))
    assert_valid(objects, "1.31")
    assert ray_cluster(objects)["spec"]["upgradeStrategy"] == {"type": strategy}


@pytest.mark.parametrize("manager", ["ray.io/kuberay-operator", "kueue.x-k8s.io/multikueue"])
def test_managed_by(manager: str) -> None:
    objects = build(stack({"managedBy": manager, "labels": {"kueue.x-k8s.io/queue-name": "user-queue"}}))
    assert_valid(objects, "1.31")
    assert ray_cluster(objects)["spec"]["managedBy"] == manager


def test_workload_cluster_carries_tls_history_server_and_autoscaler_command() -> None:
    assert {"tls", "history_server"} <= set(WorkloadClusterSpec.model_fields)
    assert not {"upgrade_strategy", "managed_by"} & set(WorkloadClusterSpec.model_fields)
    cluster = {"tls": {}, "historyServer": {"collector": {"image": "quay.io/kuberay/collector:v1.7.0"}},
               "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 2}],
               "autoscaling": {"args": ["$KUBERAY_GEN_AUTOSCALER_START_CMD"]}}
    objects = build(stack(job_cluster=cluster))
    assert_valid(objects, "1.31")
    spec = next(o for o in objects if o["kind"] == "RayJob")["spec"]["rayClusterSpec"]
    assert spec["tlsOptions"] == {"enabled": True}
    assert spec["historyServerOptions"]["collectorOptions"]["image"] == "quay.io/kuberay/collector:v1.7.0"
    assert spec["autoscalerOptions"]["args"] == ["$KUBERAY_GEN_AUTOSCALER_START_CMD"]
    assert "upgradeStrategy" not in spec and "managedBy" not in spec


def test_workload_cluster_refuses_upgrade_strategy_and_managed_by() -> None:
    for key, value in (("upgradeStrategy", "Recreate"), ("managedBy", "kueue.x-k8s.io/multikueue")):
        problems = refused(stack(job_cluster={key: value}))
        assert problems[0].startswith(f"raydask:rayJobs[0].cluster.{key}: unknown key")


P = "raydask:rayClusters[0]"
TLS_ENV_MESSAGE = "is set by KubeRay when tls is on (it refuses the cluster otherwise): remove it"


@pytest.mark.parametrize(("cluster", "messages"), [
    ({"autoscaling": {"args": ["ray", "kuberay-autoscaler"]}},
     [f"{P}.autoscaling.args: 2 arguments under KubeRay's default command (/bin/bash -c --) run only the first, as a shell "
      "script (the others become its $0, $1…): join them into one string, or set command too"]),
    ({"autoscaling": {"command": []}}, [f"{P}.autoscaling.command: needs at least 1 item"]),
    ({"autoscaling": {"env": {"KUBERAY_GEN_AUTOSCALER_START_CMD": "ray"}}},
     [f"{P}.autoscaling.env.KUBERAY_GEN_AUTOSCALER_START_CMD: 'KUBERAY_GEN_AUTOSCALER_START_CMD' is set by KubeRay (the "
      "autoscaler's own start command)"]),
    ({"tls": {}, "head": {"env": {"RAY_USE_TLS": "1"}}}, [f"{P}.head.env.RAY_USE_TLS: 'RAY_USE_TLS' {TLS_ENV_MESSAGE}"]),
    ({"tls": {}, "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 4, "env": {"RAY_TLS_CA_CERT": "/ca"}}]},
     [f"{P}.workerGroups[0].env.RAY_TLS_CA_CERT: 'RAY_TLS_CA_CERT' {TLS_ENV_MESSAGE}"]),
    ({"tls": {}, "autoscaling": {"env": {"RAY_TLS_SERVER_KEY": "/k"}}},
     [f"{P}.autoscaling.env.RAY_TLS_SERVER_KEY: 'RAY_TLS_SERVER_KEY' {TLS_ENV_MESSAGE}"]),
    ({"tls": {}, "head": {"volumes": [{"name": "certs", "mountPath": "/etc/ray/tls", "source": {"secret": {"secretName": "c"}}}]}},
     [f"{P}.head.volumes[0]: 'certs' at /etc/ray/tls: KubeRay mounts the TLS certificates as volume 'ray-tls' at "
      "/etc/ray/tls when tls is on: choose another name and path"]),
    ({"historyServer": {"collector": {}}}, [f"{P}.historyServer.collector.image: required key is missing"]),
    ({"historyServer": {"collector": {**COLLECTOR, "env": {"RAY_CLUSTER_NAME": "x"}}}},
     [f"{P}.historyServer.collector.env.RAY_CLUSTER_NAME: 'RAY_CLUSTER_NAME' is set by KubeRay"]),
    ({"historyServer": {"collector": {**COLLECTOR, "requests": {"memory": "1Gi"}}}},
     [f"{P}.historyServer.collector.requests.memory: '1Gi' is above the limit '256Mi': a request is at most the limit"]),
    ({"upgradeStrategy": "RollingUpdate"},
     [f"{P}.upgradeStrategy: must be one of 'Recreate' or 'None', got 'RollingUpdate'"]),
    ({"managedBy": "kueue"},
     [f"{P}.managedBy: must be one of 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue', got 'kueue'"]),
])
def test_refused(cluster: dict[str, Any], messages: list[str]) -> None:
    assert refused(stack(cluster)) == messages


def test_feature_gates_and_pod_security() -> None:
    history = {"historyServer": {"collector": COLLECTOR}}
    assert refused(stack({"tls": {}}, gates={})) == [
        f"{P}.tls: needs the KubeRay feature gate RayClusterMTLS, off in raydask:kuberay (without it KubeRay refuses the "
        "cluster): set raydask:kuberay.featureGates: {RayClusterMTLS: true}"]
    assert refused(stack(history, gates={"RayClusterHistoryServer": False})) == [
        f"{P}.historyServer: needs the KubeRay feature gate RayClusterHistoryServer, off in raydask:kuberay (without it "
        "KubeRay ignores it (no collector)): set raydask:kuberay.featureGates: {RayClusterHistoryServer: true}"]
    assert refused(stack(history, create_namespace=True)) == [
        f"{P}.historyServer: KubeRay gives the collector sidecar no securityContext, so Pod Security 'restricted', which the "
        "namespaces raydask creates enforce, rejects every pod of the cluster: set raydask:createNamespace: false and run "
        "the cluster in a namespace at Pod Security level 'baseline', or remove historyServer"]
    # KubeRay installed elsewhere: its feature gates are not known, nothing to check
    values = stack({"tls": {}})
    del values["kuberay"]
    build(values)


def test_older_kuberay_refuses_the_new_keys() -> None:
    cluster = {"autoscaling": {"command": ["/bin/sh", "-c"], "args": ["$KUBERAY_GEN_AUTOSCALER_START_CMD"]}, "tls": {},
               "historyServer": {"collector": COLLECTOR}, "upgradeStrategy": "Recreate", "managedBy": "ray.io/kuberay-operator"}

    def message(key: str, crd_key: str, since: str) -> str:
        return (f"needs KubeRay ≥ {since}; raydask:kuberay.version is 1.5.0 (its RayCluster CRD has no {crd_key}: the API "
                f"server drops it): set raydask:kuberay.version to {since} or later, or remove {key}")

    expected = [f"{P}.{key}: {message(key, crd, since)}" for key, crd, since in (
        ("autoscaling.command", "autoscalerOptions.command", "1.7.0"), ("autoscaling.args", "autoscalerOptions.args", "1.7.0"),
        ("tls", "tlsOptions", "1.7.0"), ("historyServer", "historyServerOptions", "1.7.0"),
        ("upgradeStrategy", "upgradeStrategy", "1.6.0"))]
    assert refused(stack(cluster, kuberay="1.5.0", gates={})) == sorted(expected)
    job = {k: v for k, v in cluster.items() if k not in ("upgradeStrategy", "managedBy")}
    job |= {"workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 2}]}
    assert refused(stack(job_cluster=job, kuberay="1.5.0", gates={})) == [
        line.replace(P, "raydask:rayJobs[0].cluster") for line in sorted(expected[:4])]
    # managedBy is in the 1.5.0 CRD: accepted
    build(stack({"managedBy": "kueue.x-k8s.io/multikueue"}, kuberay="1.5.0", gates={}))


def test_model_defaults() -> None:
    spec = RayClusterSpec.model_validate({"name": "train"})
    assert spec.tls is None and spec.history_server is None and spec.upgrade_strategy is None and spec.managed_by is None
    copied = copy.deepcopy(spec.model_dump(by_alias=True))
    assert {"tls", "historyServer", "upgradeStrategy", "managedBy"} <= set(copied)


def test_worker_group_priority() -> None:
    groups = [{"name": "spot", "minReplicas": 0, "maxReplicas": 8, "priority": 10},
              {"name": "on-demand", "minReplicas": 0, "maxReplicas": 4}]
    objects = build(stack({"workerGroups": groups}))
    assert_valid(objects, "1.31")
    rc = ray_cluster(objects)
    assert [g.get("priority") for g in rc["spec"]["workerGroupSpecs"]] == [10, None]
    config = consumers._autoscaling_config()._derive_autoscaling_config_from_ray_cr(rc)  # Ray's autoscaler reads it
    assert config["available_node_types"]["spot"]["priority"] == 10
    assert "priority" not in config["available_node_types"]["on-demand"]
    assert refused(stack({"workerGroups": groups}, kuberay="1.5.0", gates={})) == [
        f"{P}.workerGroups[0].priority: needs KubeRay ≥ 1.7.0; raydask:kuberay.version is 1.5.0 (its RayCluster CRD has no "
        "workerGroupSpecs[].priority: the API server drops it): set raydask:kuberay.version to 1.7.0 or later, or remove "
        "workerGroups[0].priority"]
    assert refused(stack({"workerGroups": groups, "autoscaling": None})) == [
        f"{P}.workerGroups[0].priority: only the Ray autoscaler reads it, and this cluster has none: turn on autoscaling, or "
        "remove it"]
    assert refused(stack({"workerGroups": groups, "rayVersion": "2.55.0",
                          "image": "rayproject/ray:2.55.0-py311"})) == [
        f"{P}.workerGroups[0].priority: a worker group's priority needs Ray ≥ 2.56.0 and KubeRay ≥ 1.7.0; rayVersion is "
        "2.55.0"]
    assert refused(stack({"workerGroups": groups, "autoscaling": {"version": "v1"}})) == [
        f"{P}.workerGroups[0].priority: only the v2 autoscaler reads it; this cluster runs v1 (autoscaling.version: v1): set "
        "autoscaling.version: v2, or remove it"]


# ---- GCS fault tolerance in embedded RocksDB ------------------------------------------------------------------------


ROCKSDB_GATES = {"GCSFaultToleranceEmbeddedStorage": True}


def test_gcs_fault_tolerance_in_embedded_rocksdb() -> None:
    """KubeRay's ray-cluster.embedded-gcs-ft sample (backend rocksdb, a 1Gi PVC KubeRay creates): no Redis, so no
    password Secret and no Redis egress; the CRD takes it, KubeRay's gate is on."""
    storage = {"size": "1Gi", "storageClassName": "ssd", "accessModes": ["ReadWriteOnce"], "subPath": "clusters/train/gcs",
               "deletionPolicy": "Retain"}
    values = stack({"gcsFaultTolerance": {"backend": "rocksdb", "storage": storage}, "networkPolicy": {}}, gates=ROCKSDB_GATES)
    objects = build(values)
    assert_valid(objects, "1.31")
    assert ray_cluster(objects)["spec"]["gcsFaultToleranceOptions"] == {"backend": "rocksdb", "storage": storage}
    assert not [o for o in objects if o["kind"] == "Secret"]
    egress = [rule for o in objects if o["kind"] == "NetworkPolicy" for rule in o["spec"].get("egress", [])]
    assert not [r for r in egress if any(p.get("port") == 6379 for p in r.get("ports", []))]
    minimal = build(stack({"gcsFaultTolerance": {"backend": "rocksdb"}}, gates=ROCKSDB_GATES))
    assert ray_cluster(minimal)["spec"]["gcsFaultToleranceOptions"] == {"backend": "rocksdb"}
    claim = build(stack({"gcsFaultTolerance": {"backend": "rocksdb", "storage": {"claimName": "gcs"}}}, gates=ROCKSDB_GATES))
    assert ray_cluster(claim)["spec"]["gcsFaultToleranceOptions"]["storage"] == {"claimName": "gcs"}
    # a RayService's cluster takes it too; the operator's own gate list knows the gate the chart's list leaves out
    from raydask.spec.kuberay import KubeRayOperatorSpec

    KubeRayOperatorSpec.model_validate({"version": "1.7.0", "featureGates": ROCKSDB_GATES})


@pytest.mark.parametrize(("ft", "messages"), [
    ({"backend": "rocksdb", "redisAddress": "redis:6379"},
     [f"{P}.gcsFaultTolerance.redisAddress: is Redis's: KubeRay refuses it with backend: rocksdb"]),
    ({"backend": "rocksdb", "storage": {"claimName": "gcs", "size": "2Gi"}},
     [f"{P}.gcsFaultTolerance.storage.size: configures the PVC KubeRay creates; with claimName KubeRay uses your PVC as it "
      "is: remove it"]),
    ({"backend": "rocksdb", "storage": {"subPath": "/abs"}},
     [f"{P}.gcsFaultTolerance.storage.subPath: '/abs' must be a relative path inside the volume (no leading '/', no '..')"]),
    ({"redisAddress": "redis:6379", "storage": {"size": "1Gi"}},
     [f"{P}.gcsFaultTolerance.storage: only applies to backend: rocksdb (KubeRay refuses it with redis)"]),
    ({}, [f"{P}.gcsFaultTolerance.redisAddress: required with the redis backend: host:port of your Redis (or backend: "
          "rocksdb for the store embedded in the GCS)"]),
])
def test_gcs_fault_tolerance_refusals(ft: dict[str, Any], messages: list[str]) -> None:
    assert refused(stack({"gcsFaultTolerance": ft}, gates=ROCKSDB_GATES)) == messages


def test_rocksdb_needs_kuberay_1_7_and_its_gate() -> None:
    ft = {"gcsFaultTolerance": {"backend": "rocksdb"}}
    assert refused(stack(ft, gates={})) == [
        f"{P}.gcsFaultTolerance.backend: needs the KubeRay feature gate GCSFaultToleranceEmbeddedStorage, off in "
        "raydask:kuberay (without it KubeRay refuses the cluster): set raydask:kuberay.featureGates: "
        "{GCSFaultToleranceEmbeddedStorage: true}"]
    assert refused(stack(ft, kuberay="1.5.0", gates={})) == [
        f"{P}.gcsFaultTolerance.backend: needs KubeRay ≥ 1.7.0; raydask:kuberay.version is 1.5.0 (its RayCluster CRD has no "
        "gcsFaultToleranceOptions.backend: the API server drops it): set raydask:kuberay.version to 1.7.0 or later, or remove "
        "gcsFaultTolerance.backend"]
    assert "backend" in crd_spec_properties("1.7.0")["gcsFaultToleranceOptions"]["properties"]
    assert "backend" not in crd_spec_properties("1.5.0")["gcsFaultToleranceOptions"]["properties"]
    assert refused(stack({"gcsFaultTolerance": {"backend": "rocksdb"}, "head": {
        "env": {"RAY_gcs_storage": "rocksdb"},
        "volumes": [{"name": "gcs-storage", "mountPath": "/data/gcs", "source": {"emptyDir": {}}}]}}, gates=ROCKSDB_GATES)) == [
        f"{P}.head.env.RAY_gcs_storage: 'RAY_gcs_storage' is set by KubeRay for the embedded RocksDB store (it refuses the "
        "cluster otherwise): remove it",
        f"{P}.head.volumes[0]: 'gcs-storage' at /data/gcs: KubeRay mounts the embedded RocksDB store as volume 'gcs-storage' "
        "at /data/gcs: choose another name and path"]
