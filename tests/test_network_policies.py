"""NetworkPolicies beyond RayClusters (issue 5): Dask clusters, the clusters and submitters of RayJobs and RayServices,
and both operators — what each admits, that the selectors pick the pods the operators really create, and that every
pod of both stacks is isolated for ingress and egress."""

from __future__ import annotations

from typing import Any

import pytest
from stack_renders import STACKS, manifests

from raydask.builders.dask import operator_network_policies as dask_operator_policies
from raydask.builders.dask_security import dask_network_policies
from raydask.builders.kuberay import operator_network_policies as kuberay_operator_policies
from raydask.builders.ray_security import job_network_policies, resolve_workload, service_network_policies
from raydask.offline import scan
from raydask.offline.validation import consumers, validate_objects
from raydask.spec import MonitoringSpec
from raydask.spec.dask import DaskClusterSpec, DaskOperatorSpec
from raydask.spec.kuberay import KubeRayOperatorSpec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
from raydask.spec.security import AuthSpec, NetworkPolicySpec, SecurityDefaults

POLICY = NetworkPolicySpec()
DEFAULTS = SecurityDefaults(network_policy=POLICY, kuberay_namespace="kuberay-system", dask_operator_namespace="dask-operator")
PROM = MonitoringSpec(namespace="prom")
HEAD = {"cpu": "1", "memory": "2Gi"}
CLUSTER = {"head": HEAD, "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 2, "cpu": "1",
                                          "memory": "2Gi"}]}


def ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def by_name(policies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["metadata"]["name"]: p["spec"] for p in policies}


def selects(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    return spec["podSelector"]["matchLabels"].items() <= labels.items()


def pod_labels(objects: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Pod name (``<object>-head``, ``<object>-worker-cpu``, Dask Deployment names) -> labels, as the operators create them."""
    return {t.name: t.template["metadata"]["labels"] for o in objects for t in scan.templates_of(o, objects)}


# --------------------------------------------------------------------------------------------------------------------
# every pod of both stacks
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_is_isolated_for_ingress_and_egress(stack: str) -> None:
    objects = manifests(stack)
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    templates = scan.pod_templates(objects)
    assert templates and policies
    for t in templates:
        labels = t.template.get("metadata", {}).get("labels") or {}
        covering = [p for p in policies if p["metadata"]["namespace"] == t.namespace and selects(p["spec"], labels)]
        types = {kind for p in covering for kind in p["spec"]["policyTypes"]}
        assert types == {"Ingress", "Egress"}, f"{stack}: pod {t.name} ({t.source or 'chart'}) is not isolated: {types}"


@pytest.mark.parametrize("stack", STACKS)
def test_operators_admit_prometheus_and_reach_what_they_manage(stack: str) -> None:
    objects = manifests(stack)
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NetworkPolicy"}
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    kuberay, dask = policies["kuberay-operator-netpol"], policies["dask-kubernetes-operator-netpol"]
    # the selectors match the pods the upstream charts render
    assert selects(kuberay["spec"], deployments["kuberay-operator"]["spec"]["template"]["metadata"]["labels"])
    assert selects(dask["spec"], deployments["dask-kubernetes-operator"]["spec"]["template"]["metadata"]["labels"])
    assert not selects(kuberay["spec"], deployments["dask-kubernetes-operator"]["spec"]["template"]["metadata"]["labels"])
    ray_pods = {"podSelector": {"matchLabels": {"ray.io/is-ray-node": "yes"}}}
    watched = "ml" if stack == "production" else "ray-dev"
    assert {"to": [{**ns(watched), **ray_pods}], "ports": tcp(8265, 8000)} in kuberay["spec"]["egress"]
    schedulers = {"podSelector": {"matchLabels": {"dask.org/component": "scheduler"}}}
    peer = {"namespaceSelector": {}, **schedulers} if stack == "production" else {**ns("ray-dev"), **schedulers}
    assert {"to": [peer], "ports": tcp(8786, 8787)} in dask["spec"]["egress"]
    scraped = [r for r in kuberay["spec"]["ingress"] if r.get("ports") == tcp(8080)]
    assert scraped == ([{"from": [ns("monitoring")], "ports": tcp(8080)}] if stack == "production" else [])


# --------------------------------------------------------------------------------------------------------------------
# Dask clusters
# --------------------------------------------------------------------------------------------------------------------


def test_dask_cluster_admits_clients_ingress_prometheus_and_its_operator() -> None:
    spec = DaskClusterSpec.model_validate({
        "name": "etl", "networkPolicy": {"clientNamespaces": ["jupyter"]},
        "workerGroups": [{"name": "gpu", "gpus": 1, "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]}],
        "dashboard": {"ingress": {"host": "dask.example.com", "tlsSecret": "t",
                                  "annotations": {"nginx.ingress.kubernetes.io/auth-url": "https://auth/x"}}},
    })
    policies = by_name(dask_network_policies(spec, "ml", PROM, "dask-operator"))
    assert set(policies) == {"etl-netpol", "etl-netpol-scheduler"}
    base, scheduler = policies["etl-netpol"], policies["etl-netpol-scheduler"]
    own = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "dask", "app.kubernetes.io/instance": "etl"}}}
    assert base["ingress"] == [{"from": [own]}, {"from": [ns("prom")], "ports": tcp(8787, 8788)}]  # scheduler, workers
    assert base["egress"] == [{"to": [own]}, {"to": [ns("kube-system")], "ports": [{"protocol": "UDP", "port": 53},
                                                                                  {"protocol": "TCP", "port": 53}]}]
    assert scheduler["policyTypes"] == ["Ingress"]
    assert scheduler["ingress"] == [
        {"from": [ns("jupyter")], "ports": tcp(8786)},
        {"from": [ns("ingress-nginx")], "ports": tcp(8787)},
        {"from": [ns("dask-operator")], "ports": tcp(8786, 8787)},
    ]
    # The selectors pick the pods the Dask operator creates (its own builder functions expand the objects).
    from raydask.builders.dask import build_dask_cluster

    built = build_dask_cluster(spec, "ml")
    pods = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
            for o in built.objects() if o["kind"] in ("DaskCluster", "DaskWorkerGroup")
            for d in (consumers.expand_dask_cluster(o) if o["kind"] == "DaskCluster"
                      else consumers.expand_dask_worker_group(o, built.cluster["metadata"]["labels"]))
            if d["kind"] == "Deployment"}
    assert len(pods) == 3
    for name, labels in pods.items():
        assert selects(base, labels), name
        assert selects(scheduler, labels) == (labels["dask.org/component"] == "scheduler"), name
    assert validate_objects([*built.objects(), *dask_network_policies(spec, "ml", PROM, "dask-operator")]) == []


def test_dask_cluster_only_opens_what_is_there() -> None:
    spec = DaskClusterSpec.model_validate({"name": "etl", "networkPolicy": {}})
    assert list(by_name(dask_network_policies(spec, "ml"))) == ["etl-netpol"]
    exposed = spec.model_copy(update={"scheduler": spec.scheduler.model_copy(update={"service_type": "LoadBalancer"})})
    scheduler = by_name(dask_network_policies(exposed, "ml"))["etl-netpol-scheduler"]
    assert scheduler["ingress"] == [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp(8786, 8787)}]
    assert dask_network_policies(DaskClusterSpec.model_validate({"name": "etl"}), "ml") == []


# --------------------------------------------------------------------------------------------------------------------
# RayJobs and RayServices
# --------------------------------------------------------------------------------------------------------------------


def job(**extra: Any) -> RayJobSpec:
    spec = RayJobSpec.model_validate({"name": "train", "entrypoint": "python -m train", **extra})
    if spec.cluster is not None:
        spec = spec.model_copy(update={"cluster": resolve_workload(spec.cluster, DEFAULTS)})
    return spec


def test_ray_job_isolates_its_cluster_and_submitter() -> None:
    spec = job(cluster={**CLUSTER, "autoscaling": {}})
    policies = by_name(job_network_policies(spec, "ml", PROM, DEFAULTS))
    assert set(policies) == {"train-netpol", "train-netpol-head"}
    head = policies["train-netpol-head"]
    assert head["ingress"] == [{"from": [ns("kuberay-system")], "ports": tcp(8265)}]  # the operator polls the job API
    assert head["egress"] == [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp(443, 6443)}]  # autoscaler
    from raydask.builders.ray_job import build_ray_job

    pods = pod_labels([build_ray_job(spec, "ml", PROM).job])
    assert set(pods) == {"train-head", "train-worker-cpu", "train-submitter"}
    for name, labels in pods.items():
        assert selects(policies["train-netpol"], labels), name  # the submitter reaches the head as one of the job's pods
        assert selects(head, labels) == (name == "train-head"), name


def test_ray_job_on_an_existing_cluster_lets_its_submitter_reach_only_that_head() -> None:
    spec = job(clusterSelector="shared")
    policies = by_name(job_network_policies(spec, "ml", PROM, DEFAULTS))
    assert list(policies) == ["train-netpol"]
    base = policies["train-netpol"]
    target = {"podSelector": {"matchLabels": {"ray.io/cluster": "shared", "ray.io/node-type": "head"}}}
    assert base["egress"][-1] == {"to": [target], "ports": tcp(8265)}
    from raydask.builders.ray_job import build_ray_job

    (labels,) = pod_labels([build_ray_job(spec, "ml").job]).values()
    assert selects(base, labels)
    assert job_network_policies(job(clusterSelector="shared", submissionMode="HTTPMode"), "ml", None, DEFAULTS) == []
    assert job_network_policies(spec, "ml", None, SecurityDefaults()) == []


def test_ray_service_admits_serve_traffic_on_every_pod() -> None:
    spec = RayServiceSpec.model_validate({
        "name": "fruit", "applications": [{"name": "fruit", "importPath": "fruit:app"}], "cluster": CLUSTER,
        "ingress": {"host": "fruit.example.com", "tlsSecret": "t"},
    })
    spec = spec.model_copy(update={"cluster": resolve_workload(spec.cluster, DEFAULTS)})
    policies = by_name(service_network_policies(spec, "ml", None, DEFAULTS))
    base, head = policies["fruit-netpol"], policies["fruit-netpol-head"]
    assert base["ingress"][1:] == [{"from": [ns("ingress-nginx")], "ports": tcp(8000)},
                                   {"from": [ns("kuberay-system")], "ports": tcp(8000)}]  # Serve proxies, health checks
    assert head["ingress"] == [{"from": [ns("kuberay-system")], "ports": tcp(8265)}]  # serve deploys and status
    no_ingress = spec.model_copy(update={"ingress": None})
    assert by_name(service_network_policies(no_ingress, "ml", None, DEFAULTS))["fruit-netpol"]["ingress"][1:] == [
        {"from": [ns("kuberay-system")], "ports": tcp(8000)}]


# --------------------------------------------------------------------------------------------------------------------
# operators
# --------------------------------------------------------------------------------------------------------------------


def test_kuberay_operator_reaches_only_the_namespaces_it_watches() -> None:
    watching = by_name(kuberay_operator_policies(KubeRayOperatorSpec(watchNamespaces=["a", "b"]), "ops", POLICY, None))
    (spec,) = watching.values()
    ray_pods = {"podSelector": {"matchLabels": {"ray.io/is-ray-node": "yes"}}}
    assert spec["egress"][-1] == {"to": [{**ns("a"), **ray_pods}, {**ns("b"), **ray_pods}], "ports": tcp(8265, 8000)}
    assert spec["ingress"] == [{"from": [{"podSelector": spec["podSelector"]}]}]  # nothing from outside without monitoring
    everywhere = by_name(kuberay_operator_policies(KubeRayOperatorSpec(), "ops", POLICY, PROM))
    (spec,) = everywhere.values()
    assert spec["egress"][-1] == {"to": [{"namespaceSelector": {}, **ray_pods}], "ports": tcp(8265, 8000)}
    assert spec["ingress"][-1] == {"from": [ns("prom")], "ports": tcp(8080)}
    assert kuberay_operator_policies(KubeRayOperatorSpec(), "ops", None, PROM) == []


def test_dask_operator_reaches_schedulers_where_it_runs_clusters() -> None:
    (namespaced,) = dask_operator_policies(DaskOperatorSpec(clusterWide=False), "ops", POLICY)
    schedulers = {"podSelector": {"matchLabels": {"dask.org/component": "scheduler"}}}
    assert namespaced["spec"]["egress"][-1] == {"to": [{**ns("ops"), **schedulers}], "ports": tcp(8786, 8787)}
    renamed = DaskOperatorSpec(values={"nameOverride": "dko"})
    (policy,) = dask_operator_policies(renamed, "ops", POLICY)
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "dko"


# --------------------------------------------------------------------------------------------------------------------
# the same rules and defaults through the components (Python API)
# --------------------------------------------------------------------------------------------------------------------


def test_components_apply_dask_and_workload_rules_from_python(run_program: Any) -> None:
    from raydask import DaskCluster
    from raydask.errors import ConfigError
    from raydask.resources.ray_service import RayService

    with pytest.raises(ConfigError) as exc:
        run_program(lambda: DaskCluster("etl", {"name": "etl", "scheduler": {"serviceType": "NodePort"}}, namespace="ml"))
    assert exc.value.problems == [
        "DaskCluster(etl).scheduler.serviceType: NodePort exposes the scheduler outside the cluster without authentication "
        "(anyone reaching port 8786 can run code on the workers): keep ClusterIP and use kubectl port-forward, or set "
        "dashboard.allowUnauthenticated: true"]
    service = {"name": "fruit", "applications": [{"name": "fruit", "importPath": "fruit:app"}],
               "ingress": {"host": "fruit.example.com"}}
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayService("fruit", service, namespace="ml", security=SecurityDefaults(require_tls=True)))
    assert exc.value.problems == [
        "RayService(fruit).ingress.tlsSecret: required: raydask:requireTls is on, so every Ingress serves HTTPS (set tlsSecret "
        "to the Secret with the certificate for fruit.example.com)"]
    inherited = SecurityDefaults(ray_auth=AuthSpec(k8sTokenAuth=True))
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayService("fruit", {**service, "ingress": None}, namespace="ml", security=inherited))
    assert exc.value.problems == [
        "RayService(fruit).cluster.auth.k8sTokenAuth: KubeRay rejects Kubernetes token authentication for RayJobs and "
        "RayServices (its own calls to the job API cannot carry one); use the shared token (auth: {})"]


def test_components_apply_stack_defaults_to_dask_and_workloads(run_program: Any) -> None:
    from raydask import DaskCluster
    from raydask.resources.ray_job import RayJob

    defaults = SecurityDefaults(network_policy=POLICY, ray_auth=AuthSpec(), kuberay_namespace="kuberay-system")

    def program() -> None:
        DaskCluster("etl", {"name": "etl"}, namespace="ml", security=defaults)
        RayJob("train", {"name": "train", "entrypoint": "python -m train", "cluster": CLUSTER}, namespace="ml", security=defaults)
        RayJob("mine", {"name": "mine", "entrypoint": "python -m train", "cluster": {**CLUSTER, "auth": {"enabled": False},
                                                                                   "networkPolicy": {"enabled": False}}},
               namespace="ml", security=defaults)

    result = run_program(program)
    objects = result.objects()
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "NetworkPolicy"}
    assert names == {"etl-netpol", "train-netpol", "train-netpol-head"}
    jobs = {o["metadata"]["name"]: o for o in objects if o["kind"] == "RayJob"}
    assert jobs["train"]["spec"]["rayClusterSpec"]["authOptions"] == {"mode": "token"}
    assert "authOptions" not in jobs["mine"]["spec"]["rayClusterSpec"]


def test_dask_exposure_opt_out_is_explicit_and_visible_to_policies() -> None:
    from raydask.builders.dask import build_dask_cluster
    from raydask.program import load_stack_spec

    cluster = {"name": "etl", "scheduler": {"serviceType": "LoadBalancer"}, "dashboard": {"allowUnauthenticated": True,
                                                                                        "ingress": {"host": "dask.local"}}}
    stack = load_stack_spec({"namespace": "ml", "daskClusters": [cluster]})  # accepted: the risk is taken explicitly
    built = build_dask_cluster(stack.dask_clusters[0], "ml")
    for o in (built.cluster, *built.ingresses):
        assert o["metadata"]["annotations"]["raydask.io/allow-unauthenticated-dashboard"] == "true"
