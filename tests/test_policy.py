"""The policy pack (policy/): every policy passes and fails with a precise message, the pulumi-policy glue, and zero
violations on everything the program registers for the dev and production stacks."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UNKNOWN_ARRAY_VALUE, UnknownValueError, unknown_checking_proxy
from stack_renders import ROOT, STACKS, program_run

from raydask.builders.dask import build_dask_cluster, dask_autoscaler
from raydask.builders.ray import build_ray_cluster
from raydask.builders.ray_job import build_ray_job
from raydask.offline.render import unwrap_secrets
from raydask.spec import RayClusterSpec
from raydask.spec.dask import DaskClusterSpec
from raydask.spec.ray_workloads import RayJobSpec

sys.path.insert(0, str(ROOT / "policy"))

import raydask_pack as pack  # policy/ is not a package
import raydask_policies as rp

Obj = dict[str, Any]
AUTH = {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}
OPT_OUT = {"raydask.io/allow-unauthenticated-dashboard": "true"}
FIX = 'or annotate the resource raydask.io/allow-unauthenticated-dashboard: "true" to accept the risk'
SECRET = ("looks like a secret ({}) given in plaintext: take it from a Secret (valueFrom.secretKeyRef, a Pulumi secret in "
          "raydask: a workload's secrets), or list it in the workload's notSecret")
AUTH_KEYS = ("nginx.ingress.kubernetes.io/auth-url, nginx.ingress.kubernetes.io/auth-type, "
             "nginx.ingress.kubernetes.io/auth-tls-verify-client, alb.ingress.kubernetes.io/auth-type, raydask.io/backend-authentication")


def ray_cluster(**extra: Any) -> Obj:
    spec = RayClusterSpec.model_validate({
        "name": "train", "head": {"cpu": "2", "memory": "8Gi"}, "autoscaling": {},
        "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 4, "cpu": "2", "memory": "4Gi"}],
        "gcsFaultTolerance": {"redisAddress": "redis:6379"}, **extra})
    return copy.deepcopy(build_ray_cluster(spec, "ml").cluster)


def ray_job() -> Obj:
    return copy.deepcopy(build_ray_job(RayJobSpec.model_validate({"name": "etl", "entrypoint": "python etl.py", "cluster": {}}), "ml").job)


def dask_cluster(**extra: Any) -> Obj:
    return copy.deepcopy(build_dask_cluster(DaskClusterSpec.model_validate({"name": "analytics", **extra}), "ml").cluster)


def deployment() -> Obj:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "ml"}, "spec": {
        "selector": {"matchLabels": {"app": "app"}},
        "template": {"metadata": {"labels": {"app": "app"}}, "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "image": "app:1.0", "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                                           "limits": {"cpu": "1", "memory": "1Gi"}},
                            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}]}}}}


def ingress(port: str = "dashboard", tls: bool = True, annotations: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"rules": [{"host": "ray.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "train-head-svc", "port": {"name": port}}}}]}}]}
    if tls:
        spec["tls"] = [{"hosts": ["ray.example.com"], "secretName": "ray-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "train-dashboard", "namespace": "ml", "annotations": annotations or {}}, "spec": spec}


def service(kind: str = "LoadBalancer", annotations: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "train-external", "namespace": "ml",
                                                                 "annotations": annotations or {}},
            "spec": {"type": kind, "ports": [{"name": "serve", "port": 8000}, {"name": "dashboard", "port": 8265}]}}


def mutate(obj: Obj, fn: Callable[[Obj], Any]) -> Obj:
    obj = copy.deepcopy(obj)
    fn(obj)
    return obj


PTRACE = {"name": "cpu", "minReplicas": 0, "maxReplicas": 4, "cpu": "2", "memory": "4Gi",
          "containerPatch": {"securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}}}


def worker0(o: Obj) -> Obj:
    return o["spec"]["workerGroupSpecs"][0]


W0 = "spec.workerGroupSpecs[0]"

# (policy, resource type, object, exact messages)
CASES: list[tuple[str, str, str, Callable[[], Obj], list[str]]] = [
    ("restricted-ok", "pod-security-restricted", rp.RAY_CLUSTER, ray_cluster, []),
    ("restricted-autoscaler", "pod-security-restricted", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["autoscalerOptions"].pop("securityContext")),
     ["spec.autoscalerOptions.securityContext.allowPrivilegeEscalation: container 'autoscaler': must be false "
      "(Pod Security restricted: Privilege Escalation)",
      "spec.autoscalerOptions.securityContext.capabilities.drop: container 'autoscaler': must drop ALL capabilities "
      "(Pod Security restricted: Capabilities)"]),
    ("restricted-deployment", "pod-security-restricted", rp.DEPLOYMENT,
     lambda: mutate(deployment(), lambda o: o["spec"]["template"]["spec"]["containers"][0]["securityContext"].update(privileged=True)),
     ["spec.template.spec.containers[0].securityContext.privileged: container 'app': must be false or unset "
      "(Pod Security restricted: Privileged Containers)"]),
    ("restricted-dask", "pod-security-restricted", rp.DASK_CLUSTER,
     lambda: mutate(dask_cluster(), lambda o: o["spec"]["worker"]["spec"].update(hostNetwork=True)),
     ["spec.worker.spec.hostNetwork: must be false or unset: host namespaces are not allowed (Pod Security restricted: Host Namespaces)"]),
    ("restricted-sidecar-submitter", "pod-security-restricted", rp.RAY_JOB,
     lambda: mutate(ray_job(), lambda o: (o["spec"].pop("submitterPodTemplate"), o["spec"].update(submissionMode="SidecarMode"))),
     ["spec.submissionMode (KubeRay's 'ray-job-submitter' container: securityContext.allowPrivilegeEscalation): container "
      "'ray-job-submitter': must be false (Pod Security restricted: Privilege Escalation)",
      "spec.submissionMode (KubeRay's 'ray-job-submitter' container: securityContext.capabilities.drop): container "
      "'ray-job-submitter': must drop ALL capabilities (Pod Security restricted: Capabilities)"]),
    ("exception-privileged", "pod-security-restricted", rp.RAY_CLUSTER,
     lambda: ray_cluster(workerGroups=[{**PTRACE, "podSecurity": {"level": "privileged", "reason": "py-spy"}}]), []),
    ("exception-baseline-exceeded", "pod-security-restricted", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(workerGroups=[{**PTRACE, "podSecurity": {"level": "privileged", "reason": "py-spy"}}]),
                    lambda o: worker0(o)["template"]["metadata"]["annotations"].update({"raydask.io/pod-security": "baseline"})),
     [f"{W0}.template.spec.containers[0].securityContext.capabilities.add: container '{name}': only NET_BIND_SERVICE "
      "may be added, got SYS_PTRACE (SYS_PTRACE only privileged allows) (Pod Security baseline: Capabilities)"
      for name in ("ray-worker", "wait-gcs-ready")]),  # KubeRay's init container copies the worker's securityContext
    ("resources-ok", "container-resources", rp.RAY_JOB, ray_job, []),
    ("resources-missing", "container-resources", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: worker0(o)["template"]["spec"]["containers"][0]["resources"].pop("limits")),
     [f"{W0}.template.spec.containers[0].resources: container 'ray-worker' has no limits.cpu, limits.memory"]),
    ("resources-autoscaler", "container-resources", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["autoscalerOptions"].update(resources={"requests": {"cpu": "1"}})),
     ["spec.autoscalerOptions.resources: container 'autoscaler' has no requests.memory, limits.cpu, limits.memory"]),
    ("images-ok", "pinned-images", rp.DASK_CLUSTER, dask_cluster, []),
    ("images-latest", "pinned-images", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["autoscalerOptions"].update(image="rayproject/ray:latest")),
     ["spec.autoscalerOptions.image: container 'autoscaler' 'rayproject/ray:latest' uses the ':latest' tag; pin a version tag "
      "or a digest"]),
    ("images-untagged", "pinned-images", rp.DEPLOYMENT,
     lambda: mutate(deployment(), lambda o: o["spec"]["template"]["spec"]["containers"][0].update(image="nginx")),
     ["spec.template.spec.containers[0].image: container 'app' 'nginx' has no tag; pin a version tag or a digest"]),
    ("tls-ok", "ingress-tls", rp.INGRESS, ingress, []),
    ("tls-missing", "ingress-tls", rp.INGRESS, lambda: ingress(tls=False),
     ["spec.tls: required: every Ingress serves HTTPS (add a tls entry with the certificate's secretName)"]),
    ("tls-host", "ingress-tls", rp.INGRESS,
     lambda: mutate(ingress(), lambda o: o["spec"]["rules"].append({"host": "other.example.com"})),
     ["spec.rules[1].host: 'other.example.com' is not covered by spec.tls[*].hosts, so it is served over plain HTTP"]),
    ("exposure-ingress-ok", "dashboard-exposure", rp.INGRESS, lambda: ingress(annotations=AUTH), []),
    ("exposure-ingress-serve", "dashboard-exposure", rp.INGRESS, lambda: ingress(port="serve", tls=False), []),
    ("exposure-ingress-opt-out", "dashboard-exposure", rp.INGRESS, lambda: ingress(tls=False, annotations=OPT_OUT), []),
    ("exposure-ingress-ray-token", "dashboard-exposure", rp.INGRESS,
     lambda: ingress(annotations={"raydask.io/backend-authentication": "ray-token"}), []),
    ("exposure-ingress", "dashboard-exposure", rp.INGRESS, lambda: ingress(tls=False),
     [f"spec.rules[0].http.paths[0]: routes to dashboard port 'dashboard' without TLS (spec.tls), {FIX}",
      f"spec.rules[0].http.paths[0]: routes to dashboard port 'dashboard' without an authentication annotation ({AUTH_KEYS}), {FIX}"]),
    ("exposure-ingress-auth-off", "dashboard-exposure", rp.INGRESS,
     lambda: ingress(annotations={"nginx.ingress.kubernetes.io/auth-tls-verify-client": "off"}),
     [f"spec.rules[0].http.paths[0]: routes to dashboard port 'dashboard' without an authentication annotation ({AUTH_KEYS}), {FIX}"]),
    ("exposure-service", "dashboard-exposure", rp.SERVICE, service,
     ["spec.ports[1]: LoadBalancer exposes port 'dashboard' outside the cluster without authentication "
      f"(raydask.io/backend-authentication: ray-token when the Ray head checks tokens), {FIX}"]),
    ("exposure-service-clusterip", "dashboard-exposure", rp.SERVICE, lambda: service("ClusterIP"), []),
    ("exposure-service-ray-token", "dashboard-exposure", rp.SERVICE,
     lambda: service(annotations={"raydask.io/backend-authentication": "ray-token"}), []),
    ("exposure-head", "dashboard-exposure", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["headGroupSpec"].update(serviceType="NodePort")),
     [f"spec.headGroupSpec.serviceType: NodePort exposes the dashboard, job API and Ray client outside the cluster without Ray "
      f"token authentication (authOptions.mode: token), {FIX}"]),
    ("exposure-head-token", "dashboard-exposure", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(auth={}), lambda o: o["spec"]["headGroupSpec"].update(serviceType="NodePort")), []),
    ("exposure-head-opt-out", "dashboard-exposure", rp.RAY_CLUSTER,
     lambda: ray_cluster(head={"serviceType": "LoadBalancer"}, dashboard={"allowUnauthenticated": True}), []),
    ("exposure-dask", "dashboard-exposure", rp.DASK_CLUSTER, lambda: dask_cluster(scheduler={"serviceType": "LoadBalancer"}),
     [f"spec.scheduler.service.type: LoadBalancer exposes the Dask dashboard and scheduler outside the cluster without "
      f"authentication, {FIX}"]),
    ("exposure-dask-opt-out", "dashboard-exposure", rp.DASK_CLUSTER,
     lambda: dask_cluster(scheduler={"serviceType": "LoadBalancer"}, annotations=OPT_OUT), []),
    ("redis-ok", "redis-password-secret", rp.RAY_CLUSTER, ray_cluster, []),
    ("redis-plaintext", "redis-password-secret", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["gcsFaultToleranceOptions"].update(redisPassword={"value": "hunter2"})),
     ["spec.gcsFaultToleranceOptions.redisPassword: must be valueFrom.secretKeyRef, not a plaintext value (it would be stored in "
      "the object and the Pulumi state)"]),
    ("plaintext-ok", "plaintext-secrets", rp.RAY_CLUSTER, ray_cluster, []),
    ("plaintext-start-param", "plaintext-secrets", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["headGroupSpec"]["rayStartParams"].update({"redis-password": "hunter2"})),
     [f"spec.headGroupSpec.rayStartParams.redis-password: redis-password {SECRET.format('the name says password')}"]),
    ("plaintext-start-param-reference", "plaintext-secrets", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: o["spec"]["headGroupSpec"]["rayStartParams"].update(
         {"redis-password": "$REDIS_PASSWORD"})), []),
    ("plaintext-env", "plaintext-secrets", rp.RAY_JOB,
     lambda: mutate(ray_job(), lambda o: o["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0].update(
         env=[{"name": "REDIS_PASSWORD", "value": "hunter2"}])),
     [f"spec.rayClusterSpec.headGroupSpec.template.spec.containers[0].env[0]: REDIS_PASSWORD "
      f"{SECRET.format('the name says password')}"]),
    ("plaintext-not-secret", "plaintext-secrets", rp.RAY_JOB,
     lambda: mutate(ray_job(), lambda o: (o["spec"]["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0].update(
         env=[{"name": "HF_TOKEN", "value": "public"}]), o["metadata"].update(annotations={"raydask.io/not-secret": "HF_TOKEN"}))),
     []),
    ("plaintext-runtime-env", "plaintext-secrets", rp.RAY_JOB,
     lambda: mutate(ray_job(), lambda o: o["spec"].update(runtimeEnvYAML="env_vars:\n  WANDB_API_KEY: abc123\n")),
     [f"spec.runtimeEnvYAML env_vars.WANDB_API_KEY: WANDB_API_KEY {SECRET.format('the name says api key')}"]),
    ("plaintext-config-map", "plaintext-secrets", rp.CONFIG_MAP,
     lambda: {"kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"settings.ini": "key = AKIAIOSFODNN7EXAMPLE"}},
     [f"data.settings.ini: settings.ini {SECRET.format('the value looks like an AWS access key id')}"]),
    ("exposure-dask-job", "dashboard-exposure", rp.DASK_JOB,
     lambda: {"kind": "DaskJob", "spec": {"cluster": {"spec": {"scheduler": {"service": {"type": "NodePort"}}}}}},
     [f"spec.cluster.spec.scheduler.service.type: NodePort exposes the Dask dashboard and scheduler outside the cluster without "
      f"authentication, {FIX}"]),
    ("params-ok", "ray-start-params-strings", rp.RAY_CLUSTER, ray_cluster, []),
    ("params-int", "ray-start-params-strings", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: worker0(o)["rayStartParams"].update({"num-cpus": 2, "block": True})),
     [f"{W0}.rayStartParams.num-cpus: must be a string, got int 2 (quote it: 'num-cpus: \"2\"')",
      f"{W0}.rayStartParams.block: must be a string, got bool True (quote it: 'block: \"true\"')"]),
    ("replicas-ok", "replica-bounds", rp.RAY_CLUSTER, ray_cluster, []),
    ("replicas-min-max", "replica-bounds", rp.RAY_CLUSTER,
     lambda: mutate(ray_cluster(), lambda o: worker0(o).update(minReplicas=5)),
     [f"{W0}.minReplicas: 5 is greater than maxReplicas 4"]),
    ("replicas-outside", "replica-bounds", rp.RAY_CLUSTER, lambda: mutate(ray_cluster(), lambda o: worker0(o).update(replicas=9)),
     [f"{W0}.replicas: 9 is outside [minReplicas 0, maxReplicas 4]"]),
    ("replicas-negative", "replica-bounds", rp.RAY_CLUSTER, lambda: mutate(ray_cluster(), lambda o: worker0(o).update(replicas=-1)),
     [f"{W0}.replicas: must be ≥ 0, got -1", f"{W0}.replicas: -1 is outside [minReplicas 0, maxReplicas 4]"]),
    ("replicas-dask-autoscaler", "replica-bounds", rp.DASK_AUTOSCALER,
     lambda: mutate(dask_autoscaler(DaskClusterSpec.model_validate({"name": "a", "autoscaling": {"maximum": 3}}), "ml"),
                    lambda o: o["spec"].update(minimum=5)),
     ["spec.minimum: 5 is greater than spec.maximum 3"]),
    ("replicas-dask-negative", "replica-bounds", rp.DASK_WORKER_GROUP,
     lambda: {"kind": "DaskWorkerGroup", "spec": {"cluster": "a", "worker": {"replicas": -2}}},
     ["spec.worker.replicas: must be ≥ 0, got -2"]),
]


@pytest.mark.parametrize(("policy", "resource_type", "make", "messages"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_policy(policy: str, resource_type: str, make: Callable[[], Obj], messages: list[str]) -> None:
    (rule,) = [r for r in rp.RULES if r.name == policy]
    assert resource_type in rule.types
    assert rule.check(resource_type, make()) == messages


def test_every_policy_can_pass_and_fail() -> None:
    outcomes = {(c[1], bool(c[4])) for c in CASES}
    assert {(r.name, ok) for r in rp.RULES for ok in (True, False)} <= outcomes


# --------------------------------------------------------------------------------------------------------------------
# pulumi-policy glue
# --------------------------------------------------------------------------------------------------------------------


def args(resource_type: str, props: Obj) -> ResourceValidationArgs:
    """Validation args as the analyzer builds them: deserialized wire properties behind the unknown-checking proxy."""
    return ResourceValidationArgs(resource_type, unknown_checking_proxy(deserialize_properties(props)), "urn:pulumi:dev::raydask::t::n",
                                  "n", None, None)  # type: ignore[arg-type]


def test_policies_are_mandatory_resource_policies() -> None:
    policies = pack.policies()
    assert [p.name for p in policies] == [r.name for r in rp.RULES] + [r.name for r in rp.STACK_RULES]
    resource, stack = policies[:len(rp.RULES)], policies[len(rp.RULES):]
    assert all(isinstance(p, ResourceValidationPolicy) for p in resource) and all(isinstance(p, StackValidationPolicy) for p in stack)
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in policies)
    assert pack.NAME == "raydask" and pack.ENFORCEMENT == EnforcementLevel.MANDATORY


def test_glue_reports_each_message_and_skips_other_types() -> None:
    reported: list[tuple[str, str | None]] = []
    (policy,) = [p for p in pack.policies() if p.name == "ingress-tls"]
    policy.validate(args(rp.INGRESS, ingress(tls=False)), lambda message, urn: reported.append((message, urn)))
    policy.validate(args(rp.SERVICE, service()), lambda message, urn: reported.append((message, urn)))
    assert reported == [("spec.tls: required: every Ingress serves HTTPS (add a tls entry with the certificate's secretName)", None)]


def test_numbers_arrive_as_floats_and_still_pass() -> None:
    """The real engine hands the analyzer protobuf Structs, where every number is a float (runAsUser: 10001.0): the
    policies read them as the manifest has them (found by the live tier)."""
    from google.protobuf import json_format, struct_pb2

    wire = json_format.MessageToDict(json_format.ParseDict(ray_cluster(), struct_pb2.Struct()))
    assert wire["spec"]["headGroupSpec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001.0
    reported: list[str] = []
    for policy in pack.policies():
        if isinstance(policy, ResourceValidationPolicy):
            policy.validate(args(rp.RAY_CLUSTER, wire), lambda message, urn: reported.append(message))
    assert reported == []


def test_unknown_preview_values_are_left_to_the_engine() -> None:
    obj = ingress()
    obj["spec"]["tls"] = UNKNOWN_ARRAY_VALUE
    (policy,) = [p for p in pack.policies() if p.name == "ingress-tls"]
    with pytest.raises(UnknownValueError):
        policy.validate(args(rp.INGRESS, obj), lambda message, urn: None)


def test_pack_files() -> None:
    manifest = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python" and manifest["runtime"]["options"]["virtualenv"] == "venv"
    requirements = (ROOT / "policy" / "requirements.txt").read_text().split("\n")
    assert "-e ..[dask]" in requirements and any(r.startswith("pulumi-policy") for r in requirements)


def test_pack_starts_and_serves(tmp_path: Path) -> None:
    """``__main__.py`` as the policy analyzer runs it: it serves the pack on a port printed to stdout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "policy" / "__main__.py")], cwd=ROOT / "policy", env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().strip()
        assert port.isdigit(), proc.stderr.read() if proc.stderr and proc.poll() is not None else port
    finally:
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------------------------
# what the components register in both stacks
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_stack_has_no_violations(stack: str) -> None:
    resources = [r for r in program_run(stack).resources if r.custom]
    found = {f"{r.type}::{r.name}": v for r in resources if (v := rp.violations(r.type, unwrap_secrets(r.inputs)))}
    assert found == {}


def test_every_policy_is_exercised_by_the_stacks() -> None:
    types = {r.type for stack in STACKS for r in program_run(stack).resources if r.custom}
    assert {r.name for r in rp.RULES if types & set(r.types)} == {r.name for r in rp.RULES}


# --------------------------------------------------------------------------------------------------------------------
# network-isolation (a stack policy: it needs the NetworkPolicies and the pods together)
# --------------------------------------------------------------------------------------------------------------------


def stack_resources(stack: str) -> list[tuple[str, Obj]]:
    return [(r.type, unwrap_secrets(r.inputs)) for r in program_run(stack).resources if r.custom]


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_of_the_stacks_is_isolated(stack: str) -> None:
    resources = stack_resources(stack)
    assert sum(t == rp.NETWORK_POLICY for t, _ in resources) >= 4
    assert rp.check_network_isolation(resources) == []


def test_missing_or_half_network_policies_are_reported() -> None:
    resources = stack_resources("dev")
    without = [(t, p) for t, p in resources if not (t == rp.NETWORK_POLICY and p["metadata"]["name"] == "dask-netpol")]
    hint = "(raydask:networkPolicy creates them; to opt out, disable this policy in the policy pack config)"
    assert rp.check_network_isolation(without) == [  # the scheduler keeps its own ingress policy
        f"DaskCluster ray-dev/dask ({name} pods): no NetworkPolicy in namespace ray-dev isolates them for {types} {hint}"
        for name, types in (("dask-scheduler", "Egress"), ("dask-default-worker-0000000000", "Egress and Ingress"))]
    ingress_only = copy.deepcopy(resources)
    for t, p in ingress_only:
        if t == rp.NETWORK_POLICY and p["metadata"]["name"] == "hello-netpol":
            p["spec"]["policyTypes"] = ["Ingress"]
    assert [m.split(":")[0] for m in rp.check_network_isolation(ingress_only)] == [
        "RayJob ray-dev/hello (hello-head pods)", "RayJob ray-dev/hello (hello-submitter pods)"]
    elsewhere = [(t, {**p, "metadata": {**p["metadata"], "namespace": "other"}}) if t == rp.NETWORK_POLICY else (t, p)
                 for t, p in resources]
    assert len(rp.check_network_isolation(elsewhere)) == len(scan_templates(resources))


def scan_templates(resources: list[tuple[str, Obj]]) -> list[Any]:
    from raydask.offline import scan

    return scan.pod_templates([rp.manifest(t, p) for t, p in resources if t in rp.POD_MAKERS])


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    ({}, {"a": "1"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "1"}, False),
])
def test_label_selectors(selector: Obj, labels: dict[str, str], expected: bool) -> None:
    assert rp.selects(selector, labels) is expected


def test_stack_glue_reports_each_message() -> None:
    (policy,) = [p for p in pack.policies() if p.name == "network-isolation"]
    resources = [(t, p) for t, p in stack_resources("dev") if t != rp.NETWORK_POLICY]
    wire = [PolicyResource(t, unknown_checking_proxy(deserialize_properties(p)), f"urn:pulumi:dev::raydask::{t}::n", "n",
                           None, None, None, [], {}) for t, p in resources]  # type: ignore[arg-type]
    reported: list[tuple[str, str | None]] = []
    policy.validate(StackValidationArgs(wire), lambda message, urn: reported.append((message, urn)))
    assert [m for m, _ in reported] == rp.check_network_isolation(resources) and len(reported) == len(scan_templates(resources))
