"""RayCluster: spec rules with their exact messages, the built manifests, and the component under mocks."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pulumi
import pytest
from captured import options_seen

from raydask.builders.ray import build_ray_cluster
from raydask.errors import ConfigError
from raydask.k8s import quantities
from raydask.program import load_stack_spec
from raydask.resources.ray_cluster import RayCluster
from raydask.spec import MonitoringSpec, RayClusterSpec
from raydask.spec.base import parse_spec

BASE: dict[str, Any] = {
    "name": "train",
    "rayVersion": "2.60.0",
    "head": {"cpu": "2", "memory": "8Gi"},
    "workerGroups": [
        {"name": "cpu", "minReplicas": 1, "maxReplicas": 10, "cpu": "4", "memory": "16Gi"},
        {"name": "gpu", "replicas": 0, "minReplicas": 0, "maxReplicas": 4, "cpu": "8", "memory": "32Gi", "gpus": 1,
         "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
    ],
    "autoscaling": {"idleTimeoutSeconds": 60, "upscalingMode": "Default"},
}


def config_with(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """BASE with ``value`` set at a dotted path (``workerGroups.1.maxReplicas``); ``...`` deletes the key."""
    cfg = copy.deepcopy(base or BASE)
    node: Any = cfg
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return cfg


def errors_for(cluster: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [cluster]})
    return exc.value.problems


RULES = [
    ("workerGroups.0.minReplicas", 11, "raydask:rayClusters[0].workerGroups[0].minReplicas: must be ≤ maxReplicas (11 > 10)"),
    ("workerGroups.0.replicas", 0, "raydask:rayClusters[0].workerGroups[0].replicas: must be ≥ minReplicas (0 < 1)"),
    ("workerGroups.0.replicas", 12, "raydask:rayClusters[0].workerGroups[0].replicas: must be ≤ maxReplicas (12 > 10)"),
    ("workerGroups.1.maxReplicas", -1, "raydask:rayClusters[0].workerGroups[1].maxReplicas: must be ≥ 0, got -1"),
    ("workerGroups.0.cpu", "four", "raydask:rayClusters[0].workerGroups[0].cpu: 'four' is not a Kubernetes quantity"),
    ("workerGroups.0.memory", "16GB", "raydask:rayClusters[0].workerGroups[0].memory: '16GB' is not a Kubernetes quantity (use G or Gi)"),
    ("head.memory", "0", "raydask:rayClusters[0].head.memory: '0' must be greater than 0"),
    ("name", "x" * 54, f"raydask:rayClusters[0].name: '{'x' * 54}' is 54 characters; the limit is 53"),
    ("name", "train.v2", "raydask:rayClusters[0].name: 'train.v2' is not a DNS-1035 label: lower-case letters, digits and '-', "
                         "starting with a letter, ending with a letter or digit (no dots or underscores)"),
    ("workerGroups.1.name", "cpu", "raydask:rayClusters[0].workerGroups[1].name: duplicate worker group name 'cpu'"),
    ("workerGroups.1.gpus", 0.5, "raydask:rayClusters[0].workerGroups[1].gpus: must be a whole number, got 0.5"),
    ("image", "rayproject/ray:2.59.0", "raydask:rayClusters[0].image: image tag '2.59.0' does not match rayVersion 2.60.0; set the "
                                       "matching image or allow the mismatch (allowImageVersionMismatch: true)"),
    ("workerGroups.1.image", "rayproject/ray:latest", "raydask:rayClusters[0].workerGroups[1].image: 'rayproject/ray:latest' uses the "
                                                      "':latest' tag; pin a version tag or a digest"),
    ("head.image", "rayproject/ray", "raydask:rayClusters[0].head.image: 'rayproject/ray' has no tag; pin a version tag or a digest"),
    ("workerGroups.0.maxReplica", 3, "raydask:rayClusters[0].workerGroups[0].maxReplica: unknown key (did you mean 'maxReplicas'?)"),
    ("autoscaling.upscalingMode", "Fast", "raydask:rayClusters[0].autoscaling.upscalingMode: must be one of 'Default', 'Aggressive' "
                                          "or 'Conservative', got 'Fast'"),
    ("rayVersion", "2.60", "raydask:rayClusters[0].rayVersion: '2.60' is not a Ray release such as '2.60.0' (major.minor.patch)"),
    ("head.cpuLimit", "1", "raydask:rayClusters[0].head.cpuLimit: must be at least cpu (1 < 2)"),
    ("workerGroups.0.tolerations", [{"key": "k", "operator": "Exists", "value": "v"}],
     "raydask:rayClusters[0].workerGroups[0].tolerations[0].value: must be empty when operator is Exists"),
    ("head.volumes", [{"name": "data", "mountPath": "/data", "source": {"hostPath": {"path": "/x"}}}],
     "raydask:rayClusters[0].head.volumes[0].source: volume type 'hostPath' is not allowed by Pod Security 'restricted'; use one of "
     "['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']"),
    ("dashboard.ingress", {"host": "Ray_Example"}, "raydask:rayClusters[0].dashboard.ingress.host: 'Ray_Example' is not a DNS host "
                                                   "name: lower-case letters, digits, '-' and '.'"),
    ("workerGroups.0.name", ..., "raydask:rayClusters[0].workerGroups[0].name: required key is missing"),
]


@pytest.mark.parametrize(("path", "value", "message"), RULES, ids=[f"{p}={v!r}"[:60] for p, v, _ in RULES])
def test_rule_messages(path: str, value: Any, message: str) -> None:
    assert message in errors_for(config_with(path, value))


def test_image_mismatch_allowed_with_flag_and_digest_counts_as_pinned() -> None:
    digest = "rayproject/ray:2.59.0@sha256:" + "a" * 64
    spec = RayClusterSpec.model_validate({**BASE, "image": digest, "allowImageVersionMismatch": True})
    assert spec.image_for(spec.head) == digest
    assert errors_for({**BASE, "image": "rayproject/ray@sha256:" + "a" * 64}) == [
        "raydask:rayClusters[0].image: image 'rayproject/ray@sha256:" + "a" * 64 + "' has no tag to check against rayVersion "
        "2.60.0; add one or allow the mismatch (allowImageVersionMismatch: true)"
    ]


def test_unknown_top_level_key_and_duplicate_cluster() -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayCluster": []})
    assert exc.value.problems == ["raydask:rayCluster: unknown key (did you mean 'rayClusters'?)"]
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [BASE, BASE]})
    assert exc.value.problems == ["raydask:rayClusters[1].name: duplicate cluster name 'train' in namespace 'ml' (also rayClusters[0])"]


def built(cfg: dict[str, Any] | None = None, monitoring: MonitoringSpec | None = None) -> dict[str, Any]:
    return build_ray_cluster(RayClusterSpec.model_validate(cfg or BASE), "ml", monitoring).cluster


def test_manifest_always_has_namespace_groups_bounds_and_string_params() -> None:
    rc = built({"name": "solo"})
    assert rc["metadata"]["namespace"] == "ml"
    assert rc["spec"]["workerGroupSpecs"] == []
    rc = built()
    for group in rc["spec"]["workerGroupSpecs"]:  # autoscaled: the autoscaler owns replicas, raydask never applies them
        assert {"minReplicas", "maxReplicas", "groupName"} <= set(group) and "replicas" not in group
    fixed = built({**BASE, "autoscaling": None})
    assert [g["replicas"] for g in fixed["spec"]["workerGroupSpecs"]] == [1, 0]
    params = [rc["spec"]["headGroupSpec"]["rayStartParams"], *(g["rayStartParams"] for g in rc["spec"]["workerGroupSpecs"])]
    assert all(isinstance(v, str) for p in params for v in p.values())
    head = {"cpu": "2", "memory": "8Gi", "schedulable": False, "rayStartParams": {"object-store-memory": "1000000000"}}
    rc = built({**BASE, "head": head})
    assert rc["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert rc["spec"]["headGroupSpec"]["rayStartParams"]["object-store-memory"] == "1000000000"


def test_head_ports_gpu_limits_shm_and_autoscaler() -> None:
    rc = built()
    head = rc["spec"]["headGroupSpec"]["template"]["spec"]
    ports = {p["name"]: p["containerPort"] for p in head["containers"][0]["ports"]}
    assert ports["metrics"] == 8080 and ports["as-metrics"] == 44217 and ports["dash-metrics"] == 44227
    assert ports["dashboard"] == 8265 and ports["client"] == 10001 and ports["gcs-server"] == 6379
    gpu = rc["spec"]["workerGroupSpecs"][1]["template"]["spec"]
    assert gpu["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert gpu["containers"][0]["image"] == "rayproject/ray:2.60.0-gpu"
    shm = next(v for v in head["volumes"] if v["name"] == "dshm")
    assert shm["emptyDir"]["medium"] == "Memory"
    assert quantities.bytes_of(shm["emptyDir"]["sizeLimit"]) == int(Decimal(8 * 2**30) * Decimal("0.3")) // 2**20 * 2**20
    mounts = {m["mountPath"] for m in head["containers"][0]["volumeMounts"]}
    assert {"/dev/shm", "/tmp/ray"} <= mounts
    opts = rc["spec"]["autoscalerOptions"]
    assert rc["spec"]["enableInTreeAutoscaling"] is True
    assert opts["version"] == "v2" and opts["idleTimeoutSeconds"] == 60
    assert opts["securityContext"]["runAsNonRoot"] is True and opts["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    old = built({**BASE, "rayVersion": "2.46.0"})
    assert old["spec"]["autoscalerOptions"]["version"] == "v1"
    assert built({"name": "x"})["spec"]["enableInTreeAutoscaling"] is False


def test_pod_security_defaults_everywhere() -> None:
    rc = built()
    templates = [rc["spec"]["headGroupSpec"]["template"], *(g["template"] for g in rc["spec"]["workerGroupSpecs"])]
    for t in templates:
        pod = t["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert set(c["resources"]["requests"]) >= {"cpu", "memory"} and set(c["resources"]["limits"]) >= {"cpu", "memory"}
            # everything Ray writes is an emptyDir: HOME, temp files, sessions and logs, the object store
            assert {"name": "HOME", "value": "/tmp"} in c["env"]
            writable = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert {writable.get(p) for p in ("/tmp", "/tmp/ray", "/dev/shm")} <= empty_dirs
    options = rc["spec"]["autoscalerOptions"]
    assert options["securityContext"]["readOnlyRootFilesystem"] is True
    assert options["env"] == [{"name": "HOME", "value": "/tmp"}, {"name": "USER", "value": "ray"}]
    assert {"name": "tmp", "mountPath": "/tmp"} in options["volumeMounts"]
    # KubeRay mounts its own volume named ray-logs at /tmp/ray into the autoscaler: the head's, so both share the logs
    assert {"name": "ray-logs", "mountPath": "/tmp/ray"} in rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["volumeMounts"]


def test_scheduling_passthrough() -> None:
    cfg = config_with("workerGroups.1.tolerations", [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])
    cfg = config_with("workerGroups.1.nodeSelector", {"pool": "gpu"}, cfg)
    cfg = config_with("workerGroups.1.affinity", {"nodeAffinity": {}}, cfg)
    cfg = config_with("workerGroups.1.env", {"B": "2", "A": "1"}, cfg)
    cfg = config_with("serviceAccount", "ray-sa", cfg)
    pod = built(cfg)["spec"]["workerGroupSpecs"][1]["template"]["spec"]
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"pool": "gpu"} and pod["affinity"] == {"nodeAffinity": {}}
    assert pod["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "HOME", "value": "/tmp"},
                                           {"name": "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S", "value": "25"},
                                           {"name": "USER", "value": "ray"}]
    assert pod["serviceAccountName"] == "ray-sa"


def test_component_alone_registers_cluster_and_outputs(run_program: Any) -> None:
    captured: dict[str, Any] = {}

    def program() -> None:
        c = RayCluster("train", BASE, namespace="ml")
        pulumi.export("client", c.client_address)
        pulumi.export("dashboard", c.dashboard_url)
        pulumi.export("head", c.head_service_name)
        captured["c"] = c

    result = run_program(program)
    types = [r.type for r in result.resources]
    assert types == ["raydask:ray:RayCluster", "kubernetes:ray.io/v1:RayCluster", "kubernetes:ray.io/v1:RayClusterPatch"]
    assert result.outputs == {
        "client": "ray://train-head-svc.ml.svc.cluster.local:10001",
        "dashboard": "http://train-head-svc.ml.svc.cluster.local:8265",
        "head": "train-head-svc",
    }
    ep = captured["c"].endpoints  # the same addresses as plain values, known before anything is registered
    assert (ep.client_address, ep.dashboard_url, ep.head_service) == (result.outputs["client"], result.outputs["dashboard"],
                                                                       result.outputs["head"])
    rc = result.objects()[0]
    assert rc["spec"]["workerGroupSpecs"][0]["minReplicas"] == 1 and isinstance(rc["spec"]["workerGroupSpecs"][0]["minReplicas"], int)


def test_component_with_monitoring_ingress_and_external_service(run_program: Any) -> None:
    cfg = {**BASE, "dashboard": {"ingress": {"host": "ray.example.com", "tlsSecret": "ray-tls", "className": "nginx"},
                                 "allowUnauthenticated": True},
           "serve": {"ingress": {"host": "serve.example.com", "tlsSecret": "serve-tls"}},
           "externalService": {"type": "LoadBalancer", "ports": ["client"], "loadBalancerSourceRanges": ["10.0.0.0/8"]}}

    def program() -> None:
        RayCluster("train", cfg, namespace="ml", monitoring=MonitoringSpec(prometheus_release="prom"))

    objs = {(o["kind"], o["metadata"]["name"]): o for o in run_program(program).objects()}
    assert set(objs) == {("RayCluster", "train"), ("Service", "train-external"), ("Service", "train-metrics"),
                         ("Ingress", "train-dashboard"), ("Ingress", "train-serve"), ("ServiceMonitor", "train-ray")}
    ing = objs[("Ingress", "train-dashboard")]["spec"]
    assert ing["ingressClassName"] == "nginx" and ing["tls"] == [{"hosts": ["ray.example.com"], "secretName": "ray-tls"}]
    assert ing["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "train-head-svc", "port": {"name": "dashboard"}}
    serve = objs[("Ingress", "train-serve")]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert serve == {"name": "train-head-svc", "port": {"name": "serve"}}
    sm = objs[("ServiceMonitor", "train-ray")]
    assert sm["metadata"]["labels"]["release"] == "prom"
    assert [e["port"] for e in sm["spec"]["endpoints"]] == ["metrics", "as-metrics", "dash-metrics"]
    relabel = sm["spec"]["endpoints"][0]["relabelings"][0]
    assert relabel == {"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"], "targetLabel": "ray_io_cluster"}
    metrics = objs[("Service", "train-metrics")]
    assert metrics["spec"]["clusterIP"] == "None"
    assert sm["spec"]["selector"]["matchLabels"].items() <= metrics["metadata"]["labels"].items()
    rc = objs[("RayCluster", "train")]
    for t in [rc["spec"]["headGroupSpec"]["template"], *(g["template"] for g in rc["spec"]["workerGroupSpecs"])]:
        assert metrics["spec"]["selector"].items() <= t["metadata"]["labels"].items()
    ext = objs[("Service", "train-external")]["spec"]
    assert ext["type"] == "LoadBalancer" and ext["ports"] == [{"name": "client", "port": 10001, "targetPort": "client", "protocol": "TCP"}]
    assert ext["selector"].items() <= rc["spec"]["headGroupSpec"]["template"]["metadata"]["labels"].items()


def test_each_pod_scraped_exactly_once() -> None:
    b = build_ray_cluster(RayClusterSpec.model_validate(BASE), "ml", MonitoringSpec())
    svc = next(s for s in b.services if s["metadata"]["name"] == "train-metrics")
    scraped_ports = {e["port"] for e in b.monitors[0]["spec"]["endpoints"]}
    targets: list[tuple[str, str]] = []
    rc = b.cluster
    groups = [("head", rc["spec"]["headGroupSpec"])] + [(g["groupName"], g) for g in rc["spec"]["workerGroupSpecs"]]
    for name, group in groups:
        container_ports = {p["name"] for c in group["template"]["spec"]["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            if port["name"] in scraped_ports and port["targetPort"] in container_ports:
                targets.append((name, port["name"]))
    assert sorted(targets) == sorted([("head", "metrics"), ("head", "as-metrics"), ("head", "dash-metrics"),
                                      ("cpu", "metrics"), ("gpu", "metrics")])
    assert len(targets) == len(set(targets))


def test_missing_namespace_is_a_config_error(run_program: Any) -> None:
    with pytest.raises(ConfigError, match=r"RayCluster\(x\)\.namespace: required"):
        run_program(lambda: RayCluster("x", {"name": "x"}))


def test_options_propagate_to_children(run_program: Any) -> None:
    seen, capture = options_seen()

    def program() -> None:
        RayCluster("train", {**BASE, "dashboard": {"ingress": {"host": "ray.example.com"}, "allowUnauthenticated": True}}, namespace="ml",
                   opts=pulumi.ResourceOptions(protect=True, retain_on_delete=True, transformations=[capture]))

    run_program(program)
    children = {n: o for n, o in seen.items() if o.parent is not None}
    assert {"train", "train-ingress-train-dashboard"} <= set(children)
    for name, opts in children.items():
        assert opts.protect is True, name
        assert opts.retain_on_delete is True, name


def test_autoscaled_groups_leave_replicas_to_the_autoscaler() -> None:
    """KubeRay starts an autoscaled group at minReplicas; the RayCluster carries no replicas an update could reset."""
    group = {"name": "cpu", "minReplicas": 1, "maxReplicas": 4}
    cluster = {"name": "train", "autoscaling": {}, "workerGroups": [group]}
    assert "replicas" not in built(cluster)["spec"]["workerGroupSpecs"][0]
    assert "replicas" not in built({**cluster, "workerGroups": [{**group, "replicas": 1}]})["spec"]["workerGroupSpecs"][0]
    assert "replicas" not in built({**cluster, "workerGroups": [{**group, "replicas": 3}]})["spec"]["workerGroupSpecs"][0]
    with pytest.raises(ConfigError) as exc:
        parse_spec(RayClusterSpec, {**cluster, "workerGroups": [{**group, "replicas": 5}]}, "raydask:rayClusters[0]")
    assert exc.value.problems == ["raydask:rayClusters[0].workerGroups[0].replicas: must be ≤ maxReplicas (5 > 4)"]
    off = {**cluster, "autoscaling": {"enabled": False}, "workerGroups": [{**group, "replicas": 3}]}
    assert built(off)["spec"]["workerGroupSpecs"][0]["replicas"] == 3


def test_a_warm_start_is_a_patch_applied_once() -> None:
    """``replicas: 3, minReplicas: 1`` in an autoscaled cluster: a patch of the group's replicas alone, registered to be
    applied when it is created and never updated (``on_create``); the RayCluster itself still carries none. A RayJob's
    or RayService's cluster carries it (KubeRay reads it when it creates the cluster)."""
    from raydask.builders.plan import Context
    from raydask.builders.ray_job import build_ray_job
    from raydask.builders.workloads import plan_ray_cluster
    from raydask.spec.ray_workloads import RayJobSpec

    groups = [{"name": "warm", "replicas": 3, "minReplicas": 1, "maxReplicas": 5},
              {"name": "cold", "minReplicas": 0, "maxReplicas": 5}, {"name": "even", "replicas": 2, "minReplicas": 2, "maxReplicas": 5}]
    spec = RayClusterSpec.model_validate({"name": "train", "autoscaling": {}, "workerGroups": groups})
    plan = plan_ray_cluster(spec, Context("k", "ml"))
    assert plan.on_create == ({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "train", "namespace": "ml"},
                               "spec": {"workerGroupSpecs": [{"groupName": "warm", "replicas": 3}]}},)
    assert all("replicas" not in g for g in plan.main["spec"]["workerGroupSpecs"])
    job = RayJobSpec.model_validate({"name": "etl", "entrypoint": "python -m etl",
                                     "cluster": {"autoscaling": {}, "workerGroups": groups}})
    embedded = build_ray_job(job, "ml").job["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    assert [g.get("replicas") for g in embedded] == [3, None, None]
    off = RayClusterSpec.model_validate({"name": "train", "workerGroups": groups[:1]})
    assert plan_ray_cluster(off, Context("k", "ml")).on_create == ()


def test_the_warm_start_patch_registers_once(run_program: Any) -> None:
    """The patch registers after the RayCluster with ``ignore_changes: [spec]`` (a later change of replicas is never
    applied) and ``retain_on_delete`` (removing it leaves the autoscaler's count alone)."""
    seen, capture = options_seen()
    spec = {"name": "train", "autoscaling": {}, "wait": {"enabled": False},
            "workerGroups": [{"name": "cpu", "replicas": 3, "minReplicas": 1, "maxReplicas": 4}]}
    result = run_program(lambda: RayCluster("train", spec, namespace="ml", opts=pulumi.ResourceOptions(transformations=[capture])))
    patches = [r for r in result.resources if r.type == "kubernetes:ray.io/v1:RayClusterPatch"]
    assert [r.name for r in patches] == ["train-rayclusterpatch-train-on-create"]
    opts = seen["train-rayclusterpatch-train-on-create"]
    assert opts.ignore_changes == ["spec"] and opts.retain_on_delete is True


def test_the_readiness_patch_ignores_a_change_of_its_annotations(run_program: Any) -> None:
    """The readiness patch is not updated for its annotations alone: the provider may record the object its wait observed
    before the patch applied (a shared informer's cache), and a no-change ``up`` must not apply the wait again."""
    seen, capture = options_seen()
    run_program(lambda: RayCluster("train", {"name": "train"}, namespace="ml",
                                   opts=pulumi.ResourceOptions(transformations=[capture])))
    assert seen["train-rayclusterpatch-train"].ignore_changes == ["metadata.annotations"]
    assert seen["train-rayclusterpatch-train"].depends_on and not seen["train"].ignore_changes


def test_pulumi_up_waits_once_for_ready_and_again_after_a_replacement() -> None:
    from raydask.builders.plan import Context
    from raydask.builders.workloads import plan_ray_cluster

    assert built({"name": "solo"})["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert built({"name": "solo", "wait": {"enabled": False}})["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    plan = plan_ray_cluster(RayClusterSpec(name="solo", wait={"timeout_seconds": 60}), Context("k", "ml"))
    assert plan.patches == ({"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {
        "name": "solo", "namespace": "ml", "annotations": {"pulumi.com/waitFor": "jsonpath={.status.state}=ready",
                                                          "pulumi.com/timeoutSeconds": "60"}}},)
    assert plan_ray_cluster(RayClusterSpec(name="solo", wait={"enabled": False}), Context("k", "ml")).patches == ()


def test_a_new_ray_version_or_autoscaling_replaces_the_cluster_unless_kuberay_recreates_its_pods() -> None:
    from raydask.builders.plan import Context
    from raydask.builders.workloads import plan_ray_cluster

    plan = plan_ray_cluster(RayClusterSpec(name="solo"), Context("k", "ml"))
    assert plan.replace_on_changes == ("spec.rayVersion", "spec.enableInTreeAutoscaling")
    recreate = plan_ray_cluster(RayClusterSpec(name="solo", upgrade_strategy="Recreate"), Context("k", "ml"))
    assert recreate.replace_on_changes == ()


def test_the_readiness_patch_is_replaced_with_its_cluster(run_program: Any) -> None:
    """The patch names its RayCluster through the cluster's output (a property dependency): a delete-first replacement
    of the cluster replaces the patch with it, so ``up`` waits for the new cluster and never re-creates the old one."""
    seen: dict[str, Any] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        seen[args.name] = args.props

    run_program(lambda: RayCluster("solo", {"name": "solo"}, namespace="ml",
                                   opts=pulumi.ResourceOptions(transformations=[capture])))
    name = seen["solo-rayclusterpatch-solo"]["metadata"]["name"]
    assert isinstance(name, pulumi.Output)


def test_every_object_is_applied_forced_from_one_place(run_program: Any) -> None:
    """Registration forces every object (kubectl edits and other appliers are overwritten, not conflicts); the builders
    leave it out, so nothing else decides it."""
    spec = {"name": "solo", "gcsFaultTolerance": {"redisAddress": "redis:6379"}, "dashboard": {"ingress": {
        "host": "ray.example.com", "tlsSecret": "t"}, "allowUnauthenticated": True}, "secrets": [{"name": "s", "fromConfig": {"K": "k"}}]}
    result = run_program(lambda: RayCluster("solo", spec, namespace="ml", redis_password="pw", secret_values={"k": "v"}))
    kinds = [r for r in result.resources if r.type.startswith("kubernetes:")]
    assert {r.type for r in kinds} >= {"kubernetes:ray.io/v1:RayCluster", "kubernetes:ray.io/v1:RayClusterPatch",
                                       "kubernetes:core/v1:Secret", "kubernetes:networking.k8s.io/v1:Ingress"}
    for r in kinds:
        assert r.inputs["metadata"]["annotations"]["pulumi.com/patchForce"] == "true", r.name
    assert "pulumi.com/patchForce" not in json.dumps(built(spec))


def test_the_readiness_patch_registers_as_a_patch_of_the_raycluster(run_program: Any) -> None:
    result = run_program(lambda: RayCluster("solo", {"name": "solo"}, namespace="ml"))
    types = [(r.type, r.name) for r in result.resources]
    assert ("kubernetes:ray.io/v1:RayClusterPatch", "solo-rayclusterpatch-solo") in types


def test_a_retired_worker_group_is_sized_zero_and_keeps_the_rest() -> None:
    """The first step of removing or renaming a group: KubeRay deletes its pods (the autoscaler drains an autoscaled
    group), the template stays as it was (nothing else of the group changes in the diff)."""
    group = {"name": "cpu", "cpu": "1", "memory": "2Gi"}
    fixed = built({"name": "c", "workerGroups": [{**group, "replicas": 2}]})["spec"]["workerGroupSpecs"][0]
    retired = built({"name": "c", "workerGroups": [{**group, "retired": True}]})["spec"]["workerGroupSpecs"][0]
    assert (retired["replicas"], retired["minReplicas"], retired["maxReplicas"]) == (0, 0, 0)
    assert {k: v for k, v in retired.items() if k not in ("replicas", "minReplicas", "maxReplicas")} == \
        {k: v for k, v in fixed.items() if k not in ("replicas", "minReplicas", "maxReplicas")}
    scaled = built({"name": "c", "autoscaling": {}, "workerGroups": [{**group, "retired": True}]})["spec"]["workerGroupSpecs"][0]
    assert "replicas" not in scaled and (scaled["minReplicas"], scaled["maxReplicas"]) == (0, 0)


def test_a_retired_group_takes_no_size_and_only_a_rayclusters_groups_retire() -> None:
    spec = {"raydask:rayClusters": [{"name": "c", "workerGroups": [
        {"name": "cpu", "retired": True, "minReplicas": 1, "maxReplicas": 4}]}]}
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({k.split(":", 1)[1]: v for k, v in spec.items()})
    assert exc.value.problems == [
        "raydask:rayClusters[0].workerGroups[0].maxReplicas: a retired group is sized 0: remove it",
        "raydask:rayClusters[0].workerGroups[0].minReplicas: a retired group is sized 0: remove it"]
    service = {"rayServices": [{"name": "s", "applications": [{"name": "a", "importPath": "m:app"}],
                                "cluster": {"workerGroups": [{"name": "cpu", "retired": True}]}}]}
    with pytest.raises(ConfigError) as exc:
        load_stack_spec(service)
    assert any("rayServices[0].cluster.workerGroups[0].retired: only a RayCluster's groups are retired" in p
               for p in exc.value.problems), exc.value.problems


def test_a_fault_tolerant_cluster_is_deleted_in_the_background() -> None:
    """KubeRay's Redis cleanup Job runs as the head's service account, which a foreground deletion removes first."""
    from raydask.builders.ray_service import ray_service
    from raydask.spec.ray_workloads import RayServiceSpec

    ft = {"gcsFaultTolerance": {"redisAddress": "redis:6379"}}
    assert built({"name": "c", **ft})["metadata"]["annotations"]["pulumi.com/deletionPropagationPolicy"] == "background"
    assert "pulumi.com/deletionPropagationPolicy" not in built({"name": "c"})["metadata"]["annotations"]
    service = RayServiceSpec.model_validate({"name": "s", "applications": [{"name": "a", "importPath": "m:app"}],
                                             "cluster": ft})
    assert ray_service(service, "ml")["metadata"]["annotations"] == {"pulumi.com/deletionPropagationPolicy": "background"}
