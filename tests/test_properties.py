"""Property-based tests: generated stack configs, valid and invalid mixed, never crash raydask.

Every example either renders objects that pass :func:`raydask.offline.validation.validate_objects` and Pod Security
"restricted" (:mod:`raydask.offline.pss` over :mod:`raydask.offline.scan`), or is refused with a ``ConfigError`` whose every line is
``raydask:<key path>: <message>`` -- no other exception, ever.

Split: ``test_configs_render_valid_or_fail_cleanly`` runs 2000 examples through the path the components take (spec models
-> the same rule checks -> the builder functions), without the mock engine; ``test_the_engine_agrees`` runs fewer through
the real program (``raydask.program.main`` under the mock engine) and requires the same outcome -- the same objects, or
the same messages -- so the fast path cannot drift from the components. Both are derandomized (reproducible in CI).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Any

import pulumi
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stack_renders import ROOT

from raydask.builders.dask import operator_network_policies as dask_operator_policies
from raydask.builders.kuberay import operator_network_policies as kuberay_operator_policies
from raydask.builders.namespaces import namespaces
from raydask.builders.plan import Context, Plan
from raydask.builders.workloads import (
    on_stack_cluster,
    plan_dask_cluster,
    plan_dask_job,
    plan_ray_cluster,
    plan_ray_cron_job,
    plan_ray_job,
    plan_ray_service,
)
from raydask.errors import ConfigError
from raydask.k8s import pss
from raydask.k8s.manifest import CRD_TYPE, normalize, owned
from raydask.offline import scan
from raydask.offline.render import unwrap_secrets
from raydask.offline.validation import validate_objects
from raydask.program import load_stack_spec, main
from raydask.spec.ray_workloads import RayJobSpec
from raydask.spec.security import OFFLINE_SECRET_CONFIG, REDIS_PASSWORD_PLACEHOLDER, SecurityDefaults, effective_network_policy
from raydask.spec.stack import StackSpec
from raydask.testing import mockrun

FAST_EXAMPLES = int(os.environ.get("RAYDASK_FAST_EXAMPLES", 2000))
ENGINE_EXAMPLES = int(os.environ.get("RAYDASK_ENGINE_EXAMPLES", 300))
LINE = re.compile(r'^raydask:(?:[A-Za-z]|"(?:[^"\\]|\\.)*")(?:[^:\s"\[]|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*: \S')
"""A ConfigError line: the ``raydask:`` key path, then the message."""
AUTH = {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}

Config = dict[str, Any]


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any], weight: int = 20) -> st.SearchStrategy[Any]:
    """``valid`` about ``weight`` times as often as ``invalid`` (shrinking towards ``valid``)."""
    return st.sampled_from([False] * weight + [True]).flatmap(lambda bad: invalid if bad else valid)


def optional(required: dict[str, st.SearchStrategy[Any]], **extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Config]:
    return st.fixed_dictionaries(required, optional=extra)


names = mostly(st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True),
               st.sampled_from(["Bad_Name", "ray.dev", "x" * 60, "-x", "", "default"]))
cpus = mostly(st.sampled_from(["100m", "250m", "500m", "1", "2", "4", "1.5", 2, 0.5]),
              st.sampled_from(["1GB", "0", "-1", "abc", "", None, [1], True]))
memories = mostly(st.sampled_from(["256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "8Gi", "1G", "1500Mi"]),
                  st.sampled_from(["1GB", "2gi", "0", "-512Mi", "lots", 1.5, {"Gi": 2}]))
counts = mostly(st.integers(0, 4), st.sampled_from([-1, 0.5, "two", None]))
gpus = mostly(st.sampled_from([0, 0, 0, 1, 2]), st.sampled_from([0.5, -1, "1"]))
hosts = mostly(st.sampled_from(["ray.example.com", "dask.example.com", "a.b.c"]), st.sampled_from(["Bad Host", "x_y"]))
tolerations = st.lists(mostly(st.just({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}),
                              st.just({"key": "k", "operator": "Exists", "value": "v"})), max_size=1)
ingresses = st.fixed_dictionaries(
    {"host": hosts, "tlsSecret": mostly(st.just("tls"), st.sampled_from(["Bad_Secret", None])),
     "annotations": mostly(st.just(AUTH), st.sampled_from([{}, {"nginx.ingress.kubernetes.io/auth-tls-verify-client": "off"}]), 6)},
    optional={"path": mostly(st.just("/"), st.just("/sub")), "className": st.just("nginx")},
).map(lambda i: {k: v for k, v in i.items() if v is not None})


@st.composite
def bounds(draw: st.DrawFn) -> dict[str, Any]:
    """replicas / minReplicas / maxReplicas: mostly consistent (some omitted), sometimes not."""
    if draw(st.integers(0, 9)) == 0:
        return {"replicas": draw(counts), "minReplicas": draw(counts), "maxReplicas": draw(counts)}
    low = draw(st.integers(0, 2))
    replicas = draw(st.integers(low, low + 2))
    high = draw(st.integers(replicas, replicas + 2))
    out = {"replicas": replicas, "minReplicas": low, "maxReplicas": high}
    return {k: v for k, v in out.items() if k == "replicas" or draw(st.booleans())}


def pod(**extra: st.SearchStrategy[Any]) -> st.SearchStrategy[Config]:
    return optional({}, cpu=cpus, memory=memories, gpus=gpus, tolerations=tolerations,
                    imagePullPolicy=mostly(st.sampled_from(["Always", "IfNotPresent"]), st.just("Sometimes")),
                    env=st.sampled_from([{}, {"A": "1"}]), **extra)


ray_params = st.dictionaries(st.sampled_from(["num-cpus", "object-store-memory", "block"]),
                             mostly(st.sampled_from(["0", "1000000000", "true"]), st.sampled_from([True, "3"])), max_size=2)
heads = pod(schedulable=st.booleans(), rayStartParams=ray_params,
            serviceType=mostly(st.just("ClusterIP"), st.sampled_from(["NodePort", "LoadBalancer"]), 8))
groups = st.tuples(st.fixed_dictionaries({"name": names}), pod(rayStartParams=ray_params), bounds()).map(
    lambda t: {**t[0], **t[1], **t[2]})
ray_images = mostly(st.sampled_from(["rayproject/ray:2.60.0", "rayproject/ray:2.60.0-py311"]),
                    st.sampled_from(["rayproject/ray:latest", "rayproject/ray", "rayproject/ray:2.9.0",
                                     "rayproject/ray@sha256:" + "a" * 64]), 4)
autoscaling: st.SearchStrategy[Config] = st.one_of(st.just({}), optional({}, idleTimeoutSeconds=counts,
                                              upscalingMode=mostly(st.just("Aggressive"), st.just("Fast")),
                                              enabled=st.booleans()))
cluster_body = {
    "rayVersion": mostly(st.sampled_from(["2.60.0", "2.52.0", "2.46.0"]), st.just("2.x")),
    "head": heads,
    "workerGroups": st.lists(groups, max_size=3),
    "autoscaling": autoscaling,
}
ray_clusters = optional({"name": names}, image=ray_images, **cluster_body,
                        dashboard=optional({}, ingress=ingresses, allowUnauthenticated=st.booleans()),
                        serve=optional({}, ingress=ingresses),
                        externalService=optional({}, type=mostly(st.just("ClusterIP"), st.sampled_from(["LoadBalancer", "NodePort"]), 3)),
                        auth=st.sampled_from([{}, {"enabled": False}, {"k8sTokenAuth": True}]),
                        networkPolicy=st.sampled_from([{}, {"enabled": False}, {"clientNamespaces": ["jupyter"]}]),
                        gcsFaultTolerance=optional({"redisAddress": mostly(st.just("redis.ml.svc.cluster.local:6379"), st.just("redis"))}),
                        serviceAccount=st.just("ray"))
workload_clusters = optional({}, **cluster_body)
ray_jobs = st.one_of(
    optional({"name": names, "entrypoint": mostly(st.just("python -m job"), st.just("")), "cluster": workload_clusters},
             runtimeEnv=optional({}, pip=st.lists(mostly(st.just("emoji==2.14.1"), st.just("emoji=2")), max_size=1)),
             submitter=pod(), ttlSecondsAfterFinished=counts,
             submissionMode=mostly(st.sampled_from(["K8sJobMode", "HTTPMode"]), st.just("SidecarMode"))),
    optional({"name": names, "entrypoint": st.just("python -m job"), "clusterSelector": names}),
)
applications = st.lists(optional({"name": mostly(st.just("app"), st.just("bad app")),
                                  "importPath": mostly(st.just("pkg.mod:app"), st.just("not a path")),
                                  "routePrefix": mostly(st.sampled_from(["/", "/api"]), st.just("api"))}), min_size=1, max_size=1)
ray_services = optional({"name": names, "applications": applications}, cluster=workload_clusters, ingress=ingresses)
dask_workers = pod(replicas=counts, memoryLimit=mostly(st.just("256Mi"), st.just("64Gi")), nthreads=mostly(st.integers(1, 4), counts),
                   extraArgs=mostly(st.just([]), st.just(["--nthreads", "2"])))


@st.composite
def dask_autoscaling(draw: st.DrawFn) -> dict[str, Any]:
    """A DaskAutoscaler around the default group's replicas: mostly consistent, sometimes not."""
    if draw(st.integers(0, 9)) == 0:
        return {"worker": {"replicas": draw(counts)}, "autoscaling": {"minimum": draw(counts), "maximum": draw(counts)}}
    replicas = draw(st.integers(0, 3))
    return {"worker": {"replicas": replicas}, "autoscaling": {"minimum": draw(st.integers(0, replicas)),
                                                             "maximum": draw(st.integers(max(1, replicas), 6))}}
dask_clusters = optional(
    {"name": names},
    image=mostly(st.just("ghcr.io/dask/dask:2026.8.0"), st.sampled_from(["ghcr.io/dask/dask:latest", "ghcr.io/dask/dask:2024.1.0"]), 4),
    scheduler=pod(serviceType=st.sampled_from(["ClusterIP", "LoadBalancer"])),
    worker=dask_workers,
    workerGroups=st.lists(dask_workers, max_size=2).map(lambda ws: [{"name": f"g{i}", **w} for i, w in enumerate(ws)]),
    dashboard=optional({}, ingress=ingresses),
)
dask_clusters = st.tuples(dask_clusters, st.one_of(st.just({}), dask_autoscaling())).map(
    lambda t: {**t[0], **({"autoscaling": t[1]["autoscaling"], "worker": {**t[0].get("worker", {}), **t[1]["worker"]}} if t[1] else {})})
prometheus_releases = mostly(st.sampled_from(["kube-prometheus-stack", "prom"]),
                             st.sampled_from([["kube-prometheus-stack"], {"name": "prom"}, 3, "bad release!"]))


def unique(items: st.SearchStrategy[list[Config]], tag: str) -> st.SearchStrategy[list[Config]]:
    """Distinct names across the stack's lists (each name gets ``-<tag><index>``); duplicates are a table row already."""
    return items.map(lambda cs: [{**c, "name": f"{c['name']}-{tag}{i}"} if str(c.get("name", "")).isalnum() else c
                                 for i, c in enumerate(cs)])


stacks = optional(
    {"rayClusters": unique(st.lists(ray_clusters, max_size=2), "r"), "daskClusters": unique(st.lists(dask_clusters, max_size=2), "d")},
    namespace=mostly(st.sampled_from(["ml", "ray-dev"]), st.just("Bad_NS")),
    monitoring=mostly(st.one_of(st.just({}), optional({}, prometheusRelease=prometheus_releases)), st.just("kube-prometheus-stack")),
    requireTls=st.booleans(),
    networkPolicy=st.just({}),
    rayAuth=st.just({}),
    kuberay=optional({"crds": st.just({"manage": False})}, version=st.sampled_from(["1.7.0", "1.4.0"])),
    daskOperator=optional({"crds": st.just({"manage": False})}, clusterWide=st.booleans()),
    rayJobs=unique(st.lists(ray_jobs, max_size=1), "j"),
    rayServices=unique(st.lists(ray_services, max_size=1), "s"),
)
stacks = mostly(stacks, stacks.map(lambda s: {**s, "rayClster": []}), 20)


# --------------------------------------------------------------------------------------------------------------------
# the components' path, without the engine
# --------------------------------------------------------------------------------------------------------------------


def build(values: Config) -> list[dict[str, Any]]:
    """The Kubernetes objects the program declares for ``values`` (operators aside): the components' own steps -- spec
    models, the security rules, the builder functions -- without the mock engine. ConfigError on bad input."""
    return build_spec(load_stack_spec(values))


def build_spec(spec: StackSpec) -> list[dict[str, Any]]:
    """The Kubernetes objects the program declares for a parsed stack (:func:`build`)."""
    defaults = SecurityDefaults.from_stack(spec)
    objects: list[dict[str, Any]] = []
    objects += namespaces(spec)
    if spec.kuberay:  # raydask.resources.operators.KubeRayOperator
        objects += kuberay_operator_policies(spec.kuberay, spec.kuberay.namespace or spec.namespace,
                                             effective_network_policy(spec.network_policy, None), spec.monitoring,
                                             spec.serve_ports())
    secrets = {ref: f"{REDIS_PASSWORD_PLACEHOLDER}-{ref}" for _, _, w in spec.workloads() for _, ref in w.secret_references()}
    plans: dict[str, Callable[..., Plan[Any]]] = {
        "rayClusters": functools.partial(plan_ray_cluster, redis_password=REDIS_PASSWORD_PLACEHOLDER),
        "rayJobs": plan_ray_job, "rayCronJobs": plan_ray_cron_job,
        "rayServices": functools.partial(plan_ray_service, redis_password=REDIS_PASSWORD_PLACEHOLDER),
        "daskClusters": plan_dask_cluster, "daskJobs": plan_dask_job}
    clusters = {(c.namespace or spec.namespace, c.name): c for c in spec.ray_clusters}
    if spec.dask_operator:  # raydask.resources.dask_cluster.DaskOperator
        ns = spec.dask_operator.namespace or spec.namespace
        objects += dask_operator_policies(spec.dask_operator, ns, effective_network_policy(spec.network_policy, None))
    for field, i, w in spec.workloads():  # raydask.program.build_stack: one plan per workload component
        if isinstance(w, RayJobSpec):
            w = on_stack_cluster(w, clusters.get((w.namespace or spec.namespace, w.cluster_selector or "")))
        plan = plans[field](w, Context(f"raydask:{field}[{i}]", spec.namespace, spec.monitoring, defaults, secrets))
        objects += plan.objects()
    return [owned(o) for o in objects]  # raydask.resources.registration.kubernetes_resource


def refuse(problems: list[str]) -> None:
    if problems:
        raise ConfigError(problems)


def assert_clean_refusal(exc: ConfigError) -> None:
    assert exc.problems, "a ConfigError without problems"
    for line in str(exc).split("\n"):
        assert LINE.match(line), f"not a 'raydask:<key>: <message>' line: {line!r}"


def assert_valid(objects: list[dict[str, Any]], kubernetes_version: str) -> None:
    findings = [str(f) for f in validate_objects(objects, kubernetes_version)]
    # The operators' pods come from their Helm charts, which this path does not render (the stack tests do).
    chartless = [f for f in findings if re.search(r"^NetworkPolicy [^ ]+/(kuberay|dask-kubernetes)-operator-netpol: spec\.podSelector: "
                                                  r".* matches no pod template", f)]
    assert [f for f in findings if f not in chartless] == []
    violations = [f"{t.source} {t.locate(v.path.removeprefix('template.'))}: {v.message}"
                  for t in scan.pod_templates(objects) for v in pss.check_template(t.template)]
    assert violations == []


PROFILE = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
"""Reproducible in CI: a fixed seed derived from each test, no example database."""


@settings(PROFILE, max_examples=FAST_EXAMPLES)
@given(stacks)
def test_configs_render_valid_or_fail_cleanly(values: Config) -> None:
    try:
        objects = build(values)
    except ConfigError as exc:
        event("refused")
        assert_clean_refusal(exc)
        return
    ray = sum(o["kind"] in scan.RAY_KINDS for o in objects)
    dask = sum(o["kind"] in scan.DASK_KINDS for o in objects)
    event(f"rendered {min(ray, 3)}{'+' if ray >= 3 else ''} Ray and {min(dask, 2)}{'+' if dask >= 2 else ''} Dask resources")
    assert_valid(objects, str(values.get("kubernetesVersion", "1.31")))


# --------------------------------------------------------------------------------------------------------------------
# the real program under the mock engine
# --------------------------------------------------------------------------------------------------------------------


def engine(values: Config) -> list[dict[str, Any]] | ConfigError:
    """The program's objects (CRDs and Helm releases aside) for ``values``, or the ConfigError it stops with."""
    config = {f"raydask:{k}": v for k, v in values.items()} | OFFLINE_SECRET_CONFIG
    old = os.getcwd()
    os.chdir(ROOT)
    try:
        result = mockrun.run(main, config=config, secret_keys=list(OFFLINE_SECRET_CONFIG), stack="dev",
                             bulk_types=[CRD_TYPE])
    except pulumi.RunError as exc:
        text = str(exc)
        assert text.startswith("invalid raydask configuration:\n"), f"not a configuration error: {text}"
        return ConfigError(text.removeprefix("invalid raydask configuration:\n").split("\n"))
    finally:
        os.chdir(old)
        pulumi.runtime.settings.reset_options()
    return [unwrap_secrets(o) for o in result.objects() if o["kind"] != "CustomResourceDefinition"]


def keyed(objects: list[dict[str, Any]]) -> dict[tuple[str, str, str], Any]:
    return {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): normalize(o) for o in objects}


@settings(PROFILE, max_examples=ENGINE_EXAMPLES)
@given(stacks)
def test_the_engine_agrees(values: Config) -> None:
    got = engine(values)
    try:
        expected: list[dict[str, Any]] | ConfigError = build(values)
    except ConfigError as exc:
        expected = exc
    event("refused" if isinstance(got, ConfigError) else "rendered")
    if isinstance(got, ConfigError):
        assert_clean_refusal(got)
        assert isinstance(expected, ConfigError) and got.problems == expected.problems
        return
    assert not isinstance(expected, ConfigError), f"the engine accepted what the fast path refused: {expected}"
    assert keyed(got) == keyed(expected)
