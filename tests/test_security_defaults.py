"""Secure and reliable defaults (issue 5): NetworkPolicies, Ray token auth, GCS fault tolerance with a secret Redis
password, exposure rules — rule messages, built manifests, schema validity, and the whole program under mocks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
from stack_renders import stack_config

from raydask.builders.network import Allow, Egress, network_policies, render
from raydask.builders.ray import build_ray_cluster
from raydask.builders.ray_security import ray_network_policies, resolve
from raydask.errors import ConfigError
from raydask.offline.render import unwrap_secrets
from raydask.offline.validation import validate_objects
from raydask.program import config_values, load_stack_spec, main
from raydask.resources.ray_cluster import RayCluster
from raydask.spec import MonitoringSpec, RayClusterSpec
from raydask.spec.security import (
    OFFLINE_SECRET_CONFIG,
    REDIS_PASSWORD_PLACEHOLDER,
    AuthSpec,
    GcsFaultToleranceSpec,
    NetworkPolicySpec,
    SecurityDefaults,
    effective_network_policy,
)

PASSWORD = "s3cr3t-Redis-pa55word-7f9d2c"
PASSWORD_KEY = "raydask:redisPassword"
AUTH_URL = {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}

CLUSTER: dict[str, Any] = {
    "name": "train",
    "rayVersion": "2.60.0",
    "head": {"cpu": "2", "memory": "8Gi"},
    "workerGroups": [{"name": "cpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 4, "cpu": "2", "memory": "4Gi"}],
    "autoscaling": {},
}


def with_(path: str, value: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy of ``base`` (CLUSTER) with ``value`` at a dotted path."""
    cfg = copy.deepcopy(CLUSTER if base is None else base)
    node = cfg
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return cfg


def stack_errors(stack: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", **stack})
    return exc.value.problems


def cluster_errors(cluster: dict[str, Any], **stack: Any) -> list[str]:
    return stack_errors({"rayClusters": [cluster], **stack})


def production_config(password: str = REDIS_PASSWORD_PLACEHOLDER) -> dict[str, Any]:
    """The production stack config plus the Redis password, passed as secret config (as ``pulumi up`` does)."""
    return {**stack_config("production"), PASSWORD_KEY: password}


def findings(objects: list[dict[str, Any]]) -> list[str]:
    return [str(f) for f in validate_objects([unwrap_secrets(o) for o in objects])]


def by_kind_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector["matchLabels"].items() <= labels.items()


# --------------------------------------------------------------------------------------------------------------------
# rules and their exact messages
# --------------------------------------------------------------------------------------------------------------------

P = "raydask:rayClusters[0]"
NEEDS_AUTH_ANNOTATION = (
    "needs an authentication annotation (nginx.ingress.kubernetes.io/auth-url, nginx.ingress.kubernetes.io/auth-type, "
    "nginx.ingress.kubernetes.io/auth-tls-verify-client, alb.ingress.kubernetes.io/auth-type) or Ray token authentication: "
    "a dashboard runs code on the cluster (or set dashboard.allowUnauthenticated: true)"
)
NO_AUTH_FIX = "turn on Ray token authentication (auth: {}) or set dashboard.allowUnauthenticated: true"

CLUSTER_RULES = [
    ("networkPolicy.apiServerCidr", "10.0.0.1/8", f"{P}.networkPolicy.apiServerCidr: '10.0.0.1/8' has host bits set; use 10.0.0.0/8"),
    ("networkPolicy.apiServerCidr", "10.0.0.1", f"{P}.networkPolicy.apiServerCidr: '10.0.0.1' must include the prefix length, "
                                                "e.g. 10.0.0.1/32"),
    ("networkPolicy.apiServerCidr", "ten", f"{P}.networkPolicy.apiServerCidr: 'ten' is not a CIDR such as 10.0.0.0/8"),
    ("networkPolicy.extraEgress", [{"cidr": "10.20.0.0/16", "ports": []}],
     f"{P}.networkPolicy.extraEgress[0].ports: needs at least 1 item"),
    ("networkPolicy.extraEgress", [{"cidr": "10.20.0.0/16", "ports": [70000]}],
     f"{P}.networkPolicy.extraEgress[0].ports[0]: must be ≤ 65535, got 70000"),
    ("networkPolicy.extraIngress", [{"namespaces": ["Bad_NS"], "ports": [80]}],
     f"{P}.networkPolicy.extraIngress[0].namespaces[0]: 'Bad_NS' is not a DNS-1035 label: lower-case letters, digits and '-', "
     "starting with a letter, ending with a letter or digit (no dots or underscores)"),
    ("networkPolicy.clientNamespace", ["jupyter"], f"{P}.networkPolicy.clientNamespace: unknown key (did you mean 'clientNamespaces'?)"),
    ("gcsFaultTolerance", {"redisAddress": "redis"},
     f"{P}.gcsFaultTolerance.redisAddress: 'redis' is not a Redis address: use host:port, e.g. redis.ml.svc.cluster.local:6379 "
     "(redis:// or rediss:// allowed)"),
    ("gcsFaultTolerance", {"redisAddress": "redis:99999"},
     f"{P}.gcsFaultTolerance.redisAddress: 'redis:99999' is not a Redis address: use host:port, e.g. "
     "redis.ml.svc.cluster.local:6379 (redis:// or rediss:// allowed)"),
    ("gcsFaultTolerance", {}, f"{P}.gcsFaultTolerance.redisAddress: required with the redis backend: host:port of your Redis "
                              "(or backend: rocksdb for the store embedded in the GCS)"),
    ("gcsFaultTolerance", {"redisAddress": "redis:6379", "passwordSecret": {"key": "password"}},
     f"{P}.gcsFaultTolerance.passwordSecret.name: required key is missing"),
    ("auth", {"secretName": "ray-token", "k8sTokenAuth": True},
     f"{P}.auth.secretName: cannot be combined with k8sTokenAuth (Kubernetes tokens replace the shared token Secret)"),
    ("auth.mode", "token", f"{P}.auth.mode: unknown key"),
]


@pytest.mark.parametrize(("path", "value", "message"), CLUSTER_RULES, ids=[f"{p}={v!r}"[:60] for p, v, _ in CLUSTER_RULES])
def test_spec_rule_messages(path: str, value: Any, message: str) -> None:
    assert cluster_errors(with_(path, value)) == [message]


def test_gcs_fault_tolerance_conflicts_kuberay_rejects() -> None:
    ft = with_("gcsFaultTolerance", {"redisAddress": "redis.ml.svc.cluster.local:6379"})
    assert cluster_errors(with_("annotations", {"ray.io/ft-enabled": "true"}, ft)) == [
        f"{P}.annotations: 'ray.io/ft-enabled' cannot be combined with gcsFaultTolerance; use gcsFaultTolerance alone"]
    assert cluster_errors(with_("annotations", {"ray.io/external-storage-namespace": "x"}, ft)) == [
        f"{P}.annotations: 'ray.io/external-storage-namespace' cannot be combined with gcsFaultTolerance; use "
        "gcsFaultTolerance.externalStorageNamespace"]
    assert cluster_errors(with_("head.rayStartParams", {"redis-password": "x"}, ft)) == [
        f"{P}.head.rayStartParams: 'redis-password' cannot be combined with gcsFaultTolerance; the password comes from "
        "raydask:redisPassword or gcsFaultTolerance.passwordSecret"]
    refused = [f"{P}.head.env.RAY_REDIS_ADDRESS: 'RAY_REDIS_ADDRESS' is refused by KubeRay: use gcsFaultTolerance.redisAddress"]
    assert cluster_errors(with_("head.env", {"RAY_REDIS_ADDRESS": "redis:6379"}, ft)) == refused
    # Without fault tolerance too: KubeRay reads the variable as fault tolerance half set up and refuses the cluster.
    assert cluster_errors(with_("head.env", {"RAY_REDIS_ADDRESS": "redis:6379"})) == refused


def test_auth_version_rules_name_ray_and_kuberay() -> None:
    old_ray = {**CLUSTER, "rayVersion": "2.51.0"}
    assert cluster_errors(with_("auth", {}, old_ray)) == [
        f"{P}.auth: Ray token authentication needs Ray ≥ 2.52.0 and KubeRay ≥ 1.5.1; rayVersion is 2.51.0"]
    assert cluster_errors(with_("auth", {"k8sTokenAuth": True}, {**CLUSTER, "rayVersion": "2.54.0"})) == [
        f"{P}.auth.k8sTokenAuth: Kubernetes token authentication needs Ray ≥ 2.55.0 and KubeRay ≥ 1.6.0; rayVersion is 2.54.0"]
    assert cluster_errors(with_("auth", {}), kuberay={"version": "1.5.0"}) == [
        f"{P}.auth: needs KubeRay ≥ 1.5.1; raydask:kuberay.version is 1.5.0 (its RayCluster CRD has no authOptions: the API "
        "server drops it): set raydask:kuberay.version to 1.5.1 or later, or remove auth"]
    assert cluster_errors(with_("auth", {"secretName": "ray-token"}), kuberay={"version": "1.5.1"}) == [
        f"{P}.auth.secretName: needs KubeRay ≥ 1.6.0; raydask:kuberay.version is 1.5.1 (its RayCluster CRD has no "
        "authOptions.secretName: the API server drops it): set raydask:kuberay.version to 1.6.0 or later, or remove "
        "auth.secretName"]
    # The stack-wide default is checked against every cluster's Ray version.
    assert cluster_errors(old_ray, rayAuth={}) == [
        "raydask:rayAuth: Ray token authentication needs Ray ≥ 2.52.0 and KubeRay ≥ 1.5.1; rayVersion is 2.51.0 (rayClusters[0])"]
    # ...unless that cluster opts out.
    load_stack_spec({"namespace": "ml", "rayAuth": {}, "rayClusters": [with_("auth", {"enabled": False}, old_ray)]})
    load_stack_spec({"namespace": "ml", "kuberay": {"version": "1.6.0"}, "rayClusters": [with_("auth", {"secretName": "ray-token"})]})


def test_fault_tolerance_needs_a_kuberay_that_knows_it() -> None:
    ft = with_("gcsFaultTolerance", {"redisAddress": "redis:6379"})
    assert cluster_errors(ft, kuberay={"version": "1.2.2"}) == [
        f"{P}.gcsFaultTolerance: needs KubeRay ≥ 1.3.0; raydask:kuberay.version is 1.2.2 (its RayCluster CRD has no "
        "gcsFaultToleranceOptions: the API server drops it): set raydask:kuberay.version to 1.3.0 or later, or remove "
        "gcsFaultTolerance"]
    load_stack_spec({"namespace": "ml", "kuberay": {"version": "1.3.0"}, "rayClusters": [ft]})


def test_require_tls_refuses_every_ingress_without_tls() -> None:
    serve = with_("serve.ingress", {"host": "serve.example.com"})
    assert cluster_errors(serve, requireTls=True) == [
        f"{P}.serve.ingress.tlsSecret: required: raydask:requireTls is on, so every Ingress serves HTTPS (set tlsSecret to the "
        "Secret with the certificate for serve.example.com)"]
    # Opting out of authentication never opts out of requireTls.
    dash = with_("dashboard", {"ingress": {"host": "ray.example.com"}, "allowUnauthenticated": True})
    assert cluster_errors(dash, requireTls=True) == [
        f"{P}.dashboard.ingress.tlsSecret: required: raydask:requireTls is on, so every Ingress serves HTTPS (set tlsSecret to "
        "the Secret with the certificate for ray.example.com)"]
    service = {"name": "fruit", "applications": [{"name": "fruit", "importPath": "fruit:app"}],
               "ingress": {"host": "fruit.example.com"}}
    assert stack_errors({"requireTls": True, "rayServices": [service]}) == [
        "raydask:rayServices[0].ingress.tlsSecret: required: raydask:requireTls is on, so every Ingress serves HTTPS (set "
        "tlsSecret to the Secret with the certificate for fruit.example.com)"]
    load_stack_spec({"namespace": "ml", "rayClusters": [serve], "rayServices": [service]})  # fine without requireTls


def test_dashboard_is_never_exposed_without_tls_and_authentication() -> None:
    assert cluster_errors(with_("dashboard.ingress", {"host": "ray.example.com"})) == [
        f"{P}.dashboard.ingress.annotations: {NEEDS_AUTH_ANNOTATION}",
        f"{P}.dashboard.ingress.tlsSecret: required: a dashboard runs code on the cluster, so its Ingress needs TLS and "
        "authentication (or set dashboard.allowUnauthenticated: true)"]
    assert cluster_errors(with_("dashboard.ingress", {"host": "ray.example.com", "tlsSecret": "ray-tls"})) == [
        f"{P}.dashboard.ingress.annotations: {NEEDS_AUTH_ANNOTATION}"]
    off = {"nginx.ingress.kubernetes.io/auth-tls-verify-client": "off", "alb.ingress.kubernetes.io/auth-type": "none"}
    assert cluster_errors(with_("dashboard.ingress", {"host": "ray.example.com", "tlsSecret": "ray-tls", "annotations": off})) == [
        f"{P}.dashboard.ingress.annotations: {NEEDS_AUTH_ANNOTATION}"]
    assert cluster_errors(with_("externalService", {"type": "LoadBalancer"})) == [
        f"{P}.externalService.ports: LoadBalancer exposes client and dashboard outside the cluster without authentication: "
        f"{NO_AUTH_FIX}"]
    assert cluster_errors(with_("head.serviceType", "NodePort")) == [
        f"{P}.head.serviceType: NodePort exposes the dashboard, job API and Ray client outside the cluster without "
        f"authentication: {NO_AUTH_FIX}"]
    # Allowed: an auth annotation, Ray token auth (own or the stack's), the explicit opt-out, Serve only, ClusterIP.
    tls = {"host": "ray.example.com", "tlsSecret": "ray-tls"}
    accepted = [
        ({"rayClusters": [with_("dashboard.ingress", {**tls, "annotations": AUTH_URL})]}),
        ({"rayClusters": [with_("dashboard.ingress", {**tls, "annotations": {"alb.ingress.kubernetes.io/auth-type": "oidc"}})]}),
        ({"rayClusters": [with_("auth", {}, with_("dashboard.ingress", tls))]}),
        ({"rayAuth": {}, "rayClusters": [with_("externalService", {"type": "LoadBalancer"}, with_("head.serviceType", "NodePort"))]}),
        ({"rayClusters": [with_("dashboard", {"ingress": {"host": "ray.example.com"}, "allowUnauthenticated": True})]}),
        ({"rayClusters": [with_("externalService", {"type": "LoadBalancer", "ports": ["serve"]})]}),
        ({"rayClusters": [with_("externalService", {"type": "ClusterIP"})]}),
    ]
    for stack in accepted:
        load_stack_spec({"namespace": "ml", **stack})
    # A cluster that opts out of the stack's auth is unauthenticated again.
    opted_out = with_("auth", {"enabled": False}, with_("head.serviceType", "LoadBalancer"))
    assert cluster_errors(opted_out, rayAuth={}) == [
        f"{P}.head.serviceType: LoadBalancer exposes the dashboard, job API and Ray client outside the cluster without "
        f"authentication: {NO_AUTH_FIX}"]


def test_components_apply_the_same_rules_from_python(run_program: Any) -> None:
    strict = SecurityDefaults(require_tls=True)

    def program() -> None:
        RayCluster("x", with_("serve.ingress", {"host": "serve.example.com"}), namespace="ml", security=strict)

    with pytest.raises(ConfigError) as exc:
        run_program(program)
    assert exc.value.problems == [
        "RayCluster(x).serve.ingress.tlsSecret: required: raydask:requireTls is on, so every Ingress serves HTTPS (set tlsSecret "
        "to the Secret with the certificate for serve.example.com)"]
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayCluster("x", with_("externalService", {"type": "NodePort", "ports": ["client"]}), namespace="ml"))
    assert exc.value.problems == [
        f"RayCluster(x).externalService.ports: NodePort exposes client outside the cluster without authentication: {NO_AUTH_FIX}"]
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayCluster("x", with_("gcsFaultTolerance", {"redisAddress": "redis:6379"}), namespace="ml"))
    assert exc.value.problems == [
        "RayCluster(x).gcsFaultTolerance: needs the Redis password: set it with `pulumi config set --secret "
        "raydask:redisPassword <password>`, or name an existing Secret in gcsFaultTolerance.passwordSecret "
        "(a Redis without one, on the head pod's loopback: gcsFaultTolerance.noPassword: true)"]


def test_components_apply_stack_defaults_from_python(run_program: Any) -> None:
    defaults = SecurityDefaults(network_policy=NetworkPolicySpec(), ray_auth=AuthSpec(), require_tls=True)

    def program() -> None:
        RayCluster("train", with_("gcsFaultTolerance", {"redisAddress": "redis:6379"}), namespace="ml", security=defaults,
                   redis_password=pulumi.Output.secret(PASSWORD))

    result = run_program(program)
    objs = by_kind_name(result.objects())
    assert set(objs) == {("RayCluster", "train"), ("Secret", "train-redis-password"), ("NetworkPolicy", "train-netpol"),
                         ("NetworkPolicy", "train-netpol-head")}
    assert objs[("RayCluster", "train")]["spec"]["authOptions"] == {"mode": "token"}
    assert [r.type for r in result.resources][:2] == ["raydask:ray:RayCluster", "kubernetes:core/v1:Secret"]
    assert not [r.name for r in result.resources if r.type != "kubernetes:core/v1:Secret" and PASSWORD in json.dumps(r.inputs)]


# --------------------------------------------------------------------------------------------------------------------
# builders
# --------------------------------------------------------------------------------------------------------------------

FULL_POLICY = {
    "clientNamespaces": ["jupyter"],
    "extraEgress": [{"cidr": "10.20.0.0/16", "ports": [443]}, {"cidr": "169.254.20.10/32", "ports": [53], "protocol": "UDP"}],
    "extraIngress": [{"namespaces": ["batch"], "ports": [8000]}],
    "apiServerCidr": "172.16.0.0/28",
}


def policies_for(cluster: dict[str, Any], monitoring: MonitoringSpec | None = None,
                 defaults: SecurityDefaults | None = None) -> tuple[dict[str, Any], dict[tuple[str, str], dict[str, Any]]]:
    spec = resolve(RayClusterSpec.model_validate(cluster), defaults or SecurityDefaults())
    rc = build_ray_cluster(spec, "ml", monitoring).cluster
    kuberay = defaults.kuberay_namespace if defaults else None
    return rc, by_kind_name(ray_network_policies(spec, "ml", monitoring, kuberay))


def test_network_policies_deny_by_default_and_allow_what_ray_needs() -> None:
    ft = {"redisAddress": "redis.ml.svc:6379", "redisCidr": "10.9.0.0/24"}
    cluster = with_("networkPolicy", FULL_POLICY, with_("gcsFaultTolerance", ft))
    cluster = with_("dashboard.ingress", {"host": "ray.example.com", "tlsSecret": "t", "annotations": AUTH_URL}, cluster)
    cluster = with_("serve.ingress", {"host": "serve.example.com", "tlsSecret": "t"}, cluster)
    rc, policies = policies_for(cluster, MonitoringSpec(namespace="prom"), SecurityDefaults(kuberay_namespace="kuberay-system"))
    assert set(policies) == {("NetworkPolicy", "train-netpol"), ("NetworkPolicy", "train-netpol-head")}
    base = policies[("NetworkPolicy", "train-netpol")]["spec"]
    own = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ray", "app.kubernetes.io/instance": "train"}}}
    assert base["podSelector"] == own["podSelector"] and base["policyTypes"] == ["Ingress", "Egress"]

    def ns(name: str) -> dict[str, Any]:
        return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}

    def tcp(*ports: int) -> list[dict[str, Any]]:
        return [{"protocol": "TCP", "port": p} for p in ports]

    assert base["ingress"] == [
        {"from": [own]},
        {"from": [ns("prom")], "ports": tcp(8080, 44217, 44227)},
        {"from": [ns("batch")], "ports": tcp(8000)},
    ]
    assert base["egress"] == [
        {"to": [own]},
        {"to": [ns("kube-system")], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": tcp(443)},
        {"to": [{"ipBlock": {"cidr": "169.254.20.10/32"}}], "ports": [{"protocol": "UDP", "port": 53}]},
    ]
    head = policies[("NetworkPolicy", "train-netpol-head")]["spec"]
    assert head["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "head"
    assert head["policyTypes"] == ["Ingress", "Egress"]
    submitters = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ray", "app.kubernetes.io/component": "submitter"}}}
    assert head["ingress"] == [
        {"from": [ns("jupyter")], "ports": tcp(10001, 8265)},
        {"from": [ns("ingress-nginx")], "ports": tcp(8265, 8000)},
        {"from": [ns("kuberay-system")], "ports": tcp(8265)},
        {"from": [submitters], "ports": tcp(8265)},  # RayJobs of this namespace that select the cluster
    ]
    assert head["egress"] == [
        {"to": [{"ipBlock": {"cidr": "172.16.0.0/28"}}], "ports": tcp(443, 6443)},
        {"to": [{"ipBlock": {"cidr": "10.9.0.0/24"}}], "ports": tcp(6379)},
    ]
    # The selectors pick the right pods: every pod for the base policy, the head (and KubeRay's Redis cleanup Job, built
    # from the head's template) for the head policy, never a worker.
    head_labels = rc["spec"]["headGroupSpec"]["template"]["metadata"]["labels"]
    worker_labels = rc["spec"]["workerGroupSpecs"][0]["template"]["metadata"]["labels"]
    assert selects(base["podSelector"], head_labels) and selects(base["podSelector"], worker_labels)
    assert selects(head["podSelector"], head_labels) and not selects(head["podSelector"], worker_labels)
    assert findings([rc, *policies.values()]) == []


def test_network_policies_only_open_what_is_there() -> None:
    _, policies = policies_for(with_("networkPolicy", {"allowDns": False}, {**CLUSTER, "autoscaling": None}))
    # no Ingress, monitoring, operator, autoscaler, Redis: only RayJob submitters of the namespace reach the job API
    assert list(policies) == [("NetworkPolicy", "train-netpol"), ("NetworkPolicy", "train-netpol-head")]
    base = policies[("NetworkPolicy", "train-netpol")]["spec"]
    assert len(base["ingress"]) == 1 and len(base["egress"]) == 1  # the cluster's own pods, nothing else
    head = policies[("NetworkPolicy", "train-netpol-head")]["spec"]
    assert head["policyTypes"] == ["Ingress"] and [r["ports"] for r in head["ingress"]] == [[{"protocol": "TCP", "port": 8265}]]
    _, policies = policies_for(with_("networkPolicy", {}, with_("gcsFaultTolerance", {"redisAddress": "redis:6380"})))
    head = policies[("NetworkPolicy", "train-netpol-head")]["spec"]
    assert head["policyTypes"] == ["Ingress", "Egress"]
    assert head["egress"][-1] == {"ports": [{"protocol": "TCP", "port": 6380}]}  # any destination, Redis port only
    _, policies = policies_for(with_("networkPolicy", {"enabled": False}))
    assert policies == {}
    _, policies = policies_for(CLUSTER)
    assert policies == {}


def test_api_server_egress_for_every_pod_with_kubernetes_token_auth() -> None:
    _, policies = policies_for(with_("auth", {"k8sTokenAuth": True}, with_("networkPolicy", {}, {**CLUSTER, "autoscaling": None})))
    base = policies[("NetworkPolicy", "train-netpol")]["spec"]
    api = [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]
    assert {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": api} in base["egress"]


def test_externally_exposed_ports_admit_their_source_ranges() -> None:
    cluster = with_("externalService", {"type": "LoadBalancer", "ports": ["client", "serve"], "loadBalancerSourceRanges": ["10.0.0.0/8"]},
                    with_("auth", {}, with_("networkPolicy", {})))
    rc, policies = policies_for(cluster)
    head = policies[("NetworkPolicy", "train-netpol-head")]["spec"]
    ports = [{"protocol": "TCP", "port": 10001}, {"protocol": "TCP", "port": 8000}]
    assert {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": ports} in head["ingress"]
    _, policies = policies_for(with_("head.serviceType", "LoadBalancer", cluster))
    head = policies[("NetworkPolicy", "train-netpol-head")]["spec"]
    assert {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
            "ports": [{"protocol": "TCP", "port": p} for p in (10001, 8265, 8000)]} in head["ingress"]
    assert findings([rc, *policies.values()]) == []


def test_cluster_keys_override_the_stack_network_policy() -> None:
    stack = NetworkPolicySpec.model_validate({"ingressControllerNamespace": "nginx", "clientNamespaces": ["a"]})
    own = NetworkPolicySpec.model_validate({"clientNamespaces": ["b"]})
    merged = effective_network_policy(stack, own)
    assert merged is not None and merged.ingress_controller_namespace == "nginx" and merged.client_namespaces == ["b"]
    assert effective_network_policy(stack, NetworkPolicySpec(enabled=False)) is None
    assert effective_network_policy(None, None) is None
    assert effective_network_policy(None, own) == own


def test_generic_builder_serves_any_engine() -> None:
    """The call a Dask cluster makes: its own selectors, groups and ports."""
    selector = {"app.kubernetes.io/name": "dask", "app.kubernetes.io/instance": "analytics"}
    scheduler = {**selector, "app.kubernetes.io/component": "scheduler"}
    out = network_policies("analytics-netpol", "ml", {"app.kubernetes.io/name": "dask"}, selector,
                           NetworkPolicySpec(client_namespaces=["jupyter"]), groups={"scheduler": scheduler},
                           client_ports=(8786, 8787), client_group="scheduler", exposed=[(8787, "scheduler")],
                           metrics=("monitoring", (8787,)), operator=("dask-operator", (8786, 8787), "scheduler"),
                           ingress=[Allow((8786,), cidrs=("10.0.0.0/8",), group="scheduler")],
                           egress=[Egress((5432,), cidr="10.5.0.0/16")])
    assert [o["metadata"]["name"] for o in out] == ["analytics-netpol", "analytics-netpol-scheduler"]
    assert [r["ports"][0]["port"] for r in out[1]["spec"]["ingress"]] == [8786, 8787, 8786, 8786]
    assert out[0]["spec"]["egress"][-1] == {"to": [{"ipBlock": {"cidr": "10.5.0.0/16"}}], "ports": [{"protocol": "TCP", "port": 5432}]}
    checks = validate_objects(out)  # schema-valid; no Dask pods in this list, so no pod is selected yet
    assert [f.check for f in checks] == ["references", "references"] and all("matches no pod template" in f.message for f in checks)
    with pytest.raises(ValueError, match=r"unknown pod groups \['worker'\]"):
        render("x", "ml", {}, selector, {}, [Allow((1,), ("a",), "worker")], [])


def test_auth_and_fault_tolerance_in_the_ray_cluster() -> None:
    cluster = with_("gcsFaultTolerance", {"redisAddress": "rediss://redis.ml.svc:6380", "externalStorageNamespace": "train-ft",
                                          "passwordSecret": {"name": "redis", "key": "redis-password"}},
                    with_("auth", {"secretName": "ray-token"}))
    rc = build_ray_cluster(RayClusterSpec.model_validate(cluster), "ml").cluster
    assert rc["spec"]["authOptions"] == {"mode": "token", "secretName": "ray-token"}
    assert rc["spec"]["gcsFaultToleranceOptions"] == {
        "redisAddress": "rediss://redis.ml.svc:6380",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "redis", "key": "redis-password"}}},
        "externalStorageNamespace": "train-ft",
    }
    k8s = build_ray_cluster(RayClusterSpec.model_validate(with_("auth", {"k8sTokenAuth": True})), "ml").cluster
    assert k8s["spec"]["authOptions"] == {"mode": "token", "enableK8sTokenAuth": True}
    off = build_ray_cluster(RayClusterSpec.model_validate(with_("auth", {"enabled": False})), "ml").cluster
    assert "authOptions" not in off["spec"] and "gcsFaultToleranceOptions" not in off["spec"]
    assert findings([rc]) == [] and findings([k8s]) == []


# --------------------------------------------------------------------------------------------------------------------
# the whole program
# --------------------------------------------------------------------------------------------------------------------


def test_dev_stack_keeps_it_simple(run_program: Any, project_root: Path) -> None:
    objs = run_program(main, config=stack_config("dev"), stack="dev").objects()
    assert not [o for o in objs if o["kind"] == "Secret"]
    assert {o["metadata"]["name"] for o in objs if o["kind"] == "NetworkPolicy"} >= {"dev-netpol", "hello-netpol", "dask-netpol"}
    rc = next(o for o in objs if o["kind"] == "RayCluster")
    assert "authOptions" not in rc["spec"] and "gcsFaultToleranceOptions" not in rc["spec"]


def test_production_stack_is_secure_by_default(run_program: Any, project_root: Path) -> None:
    result = run_program(main, config=production_config(PASSWORD), secret_keys=[PASSWORD_KEY], stack="production")
    objs = by_kind_name(result.objects())
    rc = objs[("RayCluster", "train")]
    assert rc["spec"]["authOptions"] == {"mode": "token"}
    assert rc["spec"]["gcsFaultToleranceOptions"] == {
        "redisAddress": "redis.ml.svc.cluster.local:6379",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "train-redis-password", "key": "password"}}},
    }
    assert {("NetworkPolicy", "train-netpol"), ("NetworkPolicy", "train-netpol-head"), ("Secret", "train-redis-password")} <= set(objs)
    head = objs[("NetworkPolicy", "train-netpol-head")]["spec"]
    sources = {r["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for r in head["ingress"]
               if "namespaceSelector" in r["from"][0]}
    assert sources == {"ingress-nginx", "kuberay-system"}
    assert {"ports": [{"protocol": "TCP", "port": 6379}]} in head["egress"]
    metrics = objs[("NetworkPolicy", "train-netpol")]["spec"]["ingress"][1]
    assert metrics["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "monitoring"
    assert all(i["spec"].get("tls") for (kind, _), i in objs.items() if kind == "Ingress")
    ours = [o for (kind, name), o in objs.items() if kind in ("NetworkPolicy", "Secret", "RayCluster") and name.startswith("train")]
    assert findings(ours) == []


def test_redis_password_never_leaves_its_secret(run_program: Any, project_root: Path) -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        def capture(args: pulumi.ResourceTransformationArgs) -> None:
            seen[args.name] = args
        pulumi.runtime.register_stack_transformation(capture)  # type: ignore[arg-type]
        main()
        value = seen["train-secret-train-redis-password"].props["string_data"]["password"]
        pulumi.export("passwordIsSecret", pulumi.Output.from_input(value.is_secret()))

    result = run_program(program, config=production_config(PASSWORD), secret_keys=[PASSWORD_KEY], stack="production")
    (secret,) = [r for r in result.resources if r.type == "kubernetes:core/v1:Secret"]
    assert unwrap_secrets(secret.inputs)["stringData"] == {"password": PASSWORD}
    assert {"data", "stringData"} <= set(seen[secret.name].opts.additional_secret_outputs)
    assert result.outputs.pop("passwordIsSecret") is True
    elsewhere = [r for r in result.resources if r is not secret]
    assert elsewhere and not [r.name for r in elsewhere if PASSWORD in json.dumps(r.inputs, default=str)]
    assert PASSWORD not in json.dumps(result.outputs, default=str)
    # The cluster starts only once its Secret and NetworkPolicies exist (and its operator: see test_dependency_graph).
    after = {getattr(d, "_name", "") for d in seen["train"].opts.depends_on or []}
    assert after == {"train-secret-train-redis-password", "train-networkpolicy-train-netpol", "train-networkpolicy-train-netpol-head",
                     "kuberay"}


def test_redis_password_must_be_a_pulumi_secret(run_program: Any, project_root: Path) -> None:
    with pytest.raises(pulumi.RunError) as exc:
        run_program(main, config=stack_config("production"), stack="production")
    assert str(exc.value) == (
        "invalid raydask configuration:\n"
        "raydask:rayClusters[0].gcsFaultTolerance: needs the Redis password: set it with `pulumi config set --secret "
        "raydask:redisPassword <password>`, or name an existing Secret in gcsFaultTolerance.passwordSecret "
        "(a Redis without one, on the head pod's loopback: gcsFaultTolerance.noPassword: true)")
    with pytest.raises(pulumi.RunError) as exc:
        run_program(main, config=production_config(PASSWORD), stack="production")  # set without --secret
    assert str(exc.value) == (
        "invalid raydask configuration:\n"
        "raydask:redisPassword: must be a secret: run `pulumi config set --secret raydask:redisPassword <password>` (it is "
        "stored in plaintext in the stack config now)")
    assert PASSWORD not in str(exc.value)


def test_existing_password_secret_needs_no_config(run_program: Any, project_root: Path) -> None:
    cfg = stack_config("production")
    cfg["raydask:rayClusters"][0]["gcsFaultTolerance"]["passwordSecret"] = {"name": "redis-auth"}
    objs = by_kind_name(run_program(main, config=cfg, stack="production").objects())
    assert not [k for k in objs if k[0] == "Secret"]
    ref = objs[("RayCluster", "train")]["spec"]["gcsFaultToleranceOptions"]["redisPassword"]
    assert ref == {"valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}}


def test_offline_render_secret_config_and_spec_models_never_see_it(run_program: Any, project_root: Path) -> None:
    assert OFFLINE_SECRET_CONFIG == {PASSWORD_KEY: REDIS_PASSWORD_PLACEHOLDER}
    values: dict[str, Any] = {}

    def program() -> None:
        values.update(config_values())
        main()

    result = run_program(program, config={**stack_config("production"), **OFFLINE_SECRET_CONFIG},
                         secret_keys=list(OFFLINE_SECRET_CONFIG), stack="production")
    assert "redisPassword" not in values and "rayAuth" in values
    assert any(r.type == "kubernetes:core/v1:Secret" for r in result.resources)


def test_a_redis_without_a_password_on_the_head_pods_loopback(run_program: Any, project_root: Path) -> None:
    """``gcsFaultTolerance.noPassword``: a Redis sidecar bound to the head pod's loopback (KubeRay's
    ray-cluster.persistent-redis-sidecar.yaml) gets no password, no Secret, no Pulumi secret and no egress rule; one
    that other pods reach needs ``allowUnauthenticated`` as well."""
    cfg = stack_config("production")
    cfg["raydask:rayClusters"][0]["gcsFaultTolerance"] = {"redisAddress": "127.0.0.1:6380", "noPassword": True}
    objs = by_kind_name(run_program(main, config=cfg, stack="production").objects())  # no raydask:redisPassword given
    assert not [k for k in objs if k[0] == "Secret"]
    assert objs[("RayCluster", "train")]["spec"]["gcsFaultToleranceOptions"] == {"redisAddress": "127.0.0.1:6380"}
    head_egress = objs[("NetworkPolicy", "train-netpol-head")]["spec"].get("egress") or []
    assert not [rule for rule in head_egress if {"protocol": "TCP", "port": 6380} in rule.get("ports", [])]
    assert findings([o for (kind, name), o in objs.items() if name.startswith("train")]) == []
    for address in ("localhost:6379", "[::1]:6379", "redis://127.0.0.2:6379"):
        rc, _ = policies_for(with_("gcsFaultTolerance", {"redisAddress": address, "noPassword": True}))
        assert rc["spec"]["gcsFaultToleranceOptions"] == {"redisAddress": address}
    with pytest.raises(ValueError, match=r"noPassword: is about a Redis: backend rocksdb has none \(remove it\)"):
        GcsFaultToleranceSpec.model_validate({"backend": "rocksdb", "noPassword": True})
    remote = {"redisAddress": "redis.ml.svc:6379", "noPassword": True}
    assert cluster_errors(with_("gcsFaultTolerance", remote)) == [
        f"{P}.gcsFaultTolerance.noPassword: 'redis.ml.svc:6379' is not on the head pod's loopback (127.0.0.1, ::1, "
        "localhost), so other pods reach this Redis, and without a password any of them can read and rewrite the "
        "cluster's state: give the Redis a password (requirepass) and remove noPassword, or acknowledge it with "
        "gcsFaultTolerance.allowUnauthenticated: true"]
    rc, policies = policies_for(with_("networkPolicy", FULL_POLICY,
                                      with_("gcsFaultTolerance", {**remote, "allowUnauthenticated": True})))
    assert rc["spec"]["gcsFaultToleranceOptions"] == {"redisAddress": "redis.ml.svc:6379"}
    assert [r for r in policies[("NetworkPolicy", "train-netpol-head")]["spec"]["egress"]
            if {"protocol": "TCP", "port": 6379} in r["ports"]], "a Redis elsewhere keeps its egress rule"
    assert cluster_errors(with_("gcsFaultTolerance", {"redisAddress": "127.0.0.1:6380", "noPassword": True,
                                                      "passwordSecret": {"name": "redis"}})) == [
        f"{P}.gcsFaultTolerance.passwordSecret: names the password of a Redis that has one, and noPassword says this one "
        "has none: remove one of them"]
    assert cluster_errors(with_("gcsFaultTolerance", {"redisAddress": "redis:6379", "allowUnauthenticated": True})) == [
        f"{P}.gcsFaultTolerance.allowUnauthenticated: only applies with noPassword: true (a Redis without a password); "
        "remove it"]
