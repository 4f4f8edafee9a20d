"""Defaults that real Ray and Dask processes contradicted on the real node (issue 24), held on every pod raydask renders:
a writable working directory and ``HOME`` for UID 10001 under a read-only root, a ``USER`` (no passwd entry, so
``getpass.getuser()`` raises), Ray's SIGTERM drain ending inside the grace period, and ``raydask:imagePullPolicy``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from stack_renders import rendering

from raydask.builders.ray import build_ray_cluster, drain_timeout
from raydask.k8s.security import DEFAULT_GRACE_PERIOD, RAY_DRAIN_ENV, RAY_DRAIN_MARGIN
from raydask.program import load_stack_spec
from raydask.spec import RayClusterSpec
from raydask.spec.base import with_pull_policy

RAY_MAIN = {"ray-head", "ray-worker"}
RAY_OTHER = {"ray-job-submitter"}
DASK_MAIN = {"scheduler", "worker", "job"}


def pod_specs(node: Any) -> Iterator[dict[str, Any]]:
    """Every pod spec (a mapping with ``containers``) inside a rendered object."""
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for value in node.values():
            yield from pod_specs(value)
    elif isinstance(node, list):
        for value in node:
            yield from pod_specs(value)


def autoscaler_options(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if isinstance(node.get("autoscalerOptions"), dict):
            yield node["autoscalerOptions"]
        for value in node.values():
            yield from autoscaler_options(value)
    elif isinstance(node, list):
        for value in node:
            yield from autoscaler_options(value)


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


def writable(pod: dict[str, Any], container: dict[str, Any], path: str) -> bool:
    """``path`` is on an emptyDir mounted into ``container`` (the root filesystem is read-only)."""
    empty = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    return any(m["name"] in empty and (path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/"))
               for m in container.get("volumeMounts", []))


def workload_pods(stack: str) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(object, pod spec, container) of every Ray and Dask container raydask renders for ``stack``."""
    for obj in rendering(stack).manifests(include_crds=False):
        if obj["kind"] not in ("RayCluster", "RayJob", "RayService", "DaskCluster", "DaskWorkerGroup", "DaskJob"):
            continue
        where = f"{obj['kind']} {obj['metadata']['name']}"
        for pod in pod_specs(obj["spec"]):
            for container in pod["containers"]:
                if container["name"] in RAY_MAIN | RAY_OTHER | DASK_MAIN:
                    yield where, pod, container


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_every_workload_container_has_a_writable_home_and_working_directory_and_a_user(stack: str) -> None:
    """Found on the real node: the Ray image's working directory (/home/ray) is read-only under raydask's read-only root,
    Dask's HOME was / (EXTRA_PIP_PACKAGES failed), and UID 10001 has no passwd entry (getpass.getuser() raised)."""
    seen = set()
    for where, pod, container in workload_pods(stack):
        seen.add(container["name"])
        assert container["securityContext"]["readOnlyRootFilesystem"] is True, (where, container["name"])
        values = env(container)
        ray = container["name"] in RAY_MAIN | RAY_OTHER
        assert values.get("USER") == ("ray" if ray else "dask"), (where, container["name"], values)
        assert values.get("HOME") == "/tmp", (where, container["name"], values)
        assert container.get("workingDir") == "/tmp", (where, container["name"])
        assert writable(pod, container, values["HOME"]) and writable(pod, container, container["workingDir"]), (where, container["name"])
    assert {"ray-head", "scheduler", "worker"} <= seen


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_the_autoscaler_sidecar_has_a_user_and_a_writable_home(stack: str) -> None:
    """(autoscalerOptions has no workingDir: the sidecar writes nothing by a relative path.)"""
    options = [o for obj in rendering(stack).manifests(include_crds=False) for o in autoscaler_options(obj)]
    assert options
    for o in options:
        values = env(o)
        assert values["USER"] == "ray" and values["HOME"] == "/tmp", o
        assert any(m["mountPath"] == "/tmp" for m in o["volumeMounts"]), o


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_rays_sigterm_drain_ends_before_the_kubelets_sigkill(stack: str) -> None:
    """Found on the real node: Ray 2.60 drains for up to 30 s on SIGTERM, as long as Kubernetes' default grace period, so
    the head and Serve workers were SIGKILLed mid-drain. The drain is set under each pod's grace period."""
    checked = 0
    for where, pod, container in workload_pods(stack):
        if container["name"] not in RAY_MAIN:
            continue
        grace = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD)
        drain = float(env(container)[RAY_DRAIN_ENV])
        assert drain > 0 and drain + RAY_DRAIN_MARGIN <= grace, (where, container["name"], drain, grace)
        checked += 1
    assert checked >= 2


def cluster(**head: Any) -> dict[str, Any]:
    return build_ray_cluster(RayClusterSpec.model_validate({
        "name": "c", "head": {"cpu": "1", "memory": "2Gi", **head},
        "workerGroups": [{"name": "cpu", "terminationGracePeriodSeconds": 120}], "autoscaling": {}}), "ns").cluster


def head_env(rc: dict[str, Any]) -> dict[str, str]:
    return env(rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0])


def test_the_drain_follows_the_grace_period_however_it_is_set_and_an_explicit_one_wins() -> None:
    rc = cluster()
    assert head_env(rc)[RAY_DRAIN_ENV] == "25"
    assert env(rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0])[RAY_DRAIN_ENV] == "115"
    assert head_env(cluster(podPatch={"spec": {"terminationGracePeriodSeconds": 60}}))[RAY_DRAIN_ENV] == "55"
    assert head_env(cluster(terminationGracePeriodSeconds=3))[RAY_DRAIN_ENV] == "0"   # no time to drain: Ray skips it
    assert head_env(cluster(env={RAY_DRAIN_ENV: "10"}))[RAY_DRAIN_ENV] == "10"
    assert drain_timeout({}) == str(DEFAULT_GRACE_PERIOD - RAY_DRAIN_MARGIN)
    names = [e["name"] for e in rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]]
    assert names == sorted(names)


def pull_policies(stack: str) -> dict[str, str]:
    """``<object>/<container or chart>`` -> imagePullPolicy, for every container and operator chart image."""
    out = {}
    for obj in rendering(stack).manifests(include_crds=False):
        where = f"{obj['kind']} {obj['metadata']['name']}"
        for pod in pod_specs(obj.get("spec", {})):
            for container in [*pod["containers"], *pod.get("initContainers", [])]:
                out[f"{where}/{container['name']}"] = container.get("imagePullPolicy", "")
        for o in autoscaler_options(obj):
            out[f"{where}/autoscaler"] = o["imagePullPolicy"]
    return out


def test_the_dev_stack_uses_images_already_on_the_node_and_production_pulls_tags() -> None:
    """Found on the real node: a tag pulled Always cannot start where images are loaded onto the nodes (kind, minikube,
    an air-gapped node); the dev stack says IfNotPresent, production keeps Always for its tags."""
    dev, prod = pull_policies("dev"), pull_policies("production")
    assert any(k.startswith("Deployment kuberay-operator/") for k in dev) and any("/autoscaler" in k for k in dev)
    assert set(dev.values()) == {"IfNotPresent"}, dev
    raydask_made = {k: v for k, v in prod.items() if not k.startswith(("Deployment", "DaemonSet"))}
    assert set(raydask_made.values()) == {"Always"}, raydask_made


def test_the_stack_pull_policy_fills_only_what_is_unset() -> None:
    spec = load_stack_spec({
        "namespace": "ml", "imagePullPolicy": "IfNotPresent", "kuberay": {"version": "1.7.0"},
        "rayClusters": [{"name": "c", "head": {"imagePullPolicy": "Never"}, "workerGroups": [{"name": "w"}],
                         "autoscaling": {}}],
        "daskClusters": [{"name": "d"}]})
    resolved = with_pull_policy(spec, spec.image_pull_policy)
    assert resolved.ray_clusters[0].head.image_pull_policy == "Never"
    assert resolved.ray_clusters[0].worker_groups[0].image_pull_policy == "IfNotPresent"
    assert resolved.ray_clusters[0].autoscaling is not None and resolved.ray_clusters[0].autoscaling.image_pull_policy == "IfNotPresent"
    assert resolved.dask_clusters[0].worker.image_pull_policy == "IfNotPresent"
    assert resolved.kuberay is not None and resolved.kuberay.image_pull_policy == "IfNotPresent"
    assert with_pull_policy(spec, None) is spec


def test_the_autoscaler_pulls_the_heads_image_as_the_head_does() -> None:
    rc = cluster(imagePullPolicy="IfNotPresent")
    assert rc["spec"]["autoscalerOptions"]["imagePullPolicy"] == "IfNotPresent"


def test_the_dask_operator_has_a_user_name_and_keeps_a_high_uid() -> None:
    """Found on the real node: the Dask operator (kopf) calls getpass.getuser() when it starts and crashed as UID 10001,
    which its image has no passwd entry for. It keeps a UID above 10000 (no host user can have it) and gets USER; a
    user's own extraEnv keeps it too."""
    for stack in ("dev", "production"):
        deployment = next(o for o in rendering(stack).manifests(include_crds=False)
                          if o["kind"] == "Deployment" and o["metadata"]["name"] == "dask-kubernetes-operator")
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] >= 10000
        assert {"name": "USER", "value": "dask"} in pod["containers"][0]["env"], stack
    from raydask.builders.dask import operator_values
    from raydask.spec.dask import DaskOperatorSpec

    own = operator_values(DaskOperatorSpec(values={"extraEnv": [{"name": "A", "value": "1"}]}), "d", None)["extraEnv"]
    assert own == [{"name": "A", "value": "1"}, {"name": "USER", "value": "dask"}]
    mine = operator_values(DaskOperatorSpec(values={"extraEnv": [{"name": "USER", "value": "me"}]}), "d", None)["extraEnv"]
    assert mine == [{"name": "USER", "value": "me"}]


def restart_window(container: dict[str, Any]) -> int:
    """Seconds a container may take to start before its probes get it restarted."""
    probe = container.get("startupProbe") or container.get("livenessProbe") or {}
    if not probe:
        return 10**9
    return int(probe.get("initialDelaySeconds", 0) + probe.get("periodSeconds", 10) * probe.get("failureThreshold", 3))


@pytest.mark.parametrize("stack", ["dev", "production"])
def test_dask_pods_get_minutes_to_start_before_a_probe_restarts_them(stack: str) -> None:
    """Found on the real node: a 500m scheduler starting among a dozen pods on a busy node answered /health later than
    its liveness probe allowed (15 s + 3 x 20 s) and was restarted again and again. A startup probe gives 5 minutes."""
    checked = 0
    for where, _, container in workload_pods(stack):
        if container["name"] in ("scheduler", "worker"):
            assert restart_window(container) >= 300, (where, container["name"], container.get("startupProbe"))
            assert "initialDelaySeconds" not in container["livenessProbe"], (where, container["livenessProbe"])
            checked += 1
    assert checked >= 2


def test_the_daskjob_runner_waits_for_a_scheduler_that_starts_with_it() -> None:
    """Found on the real node: the Dask operator starts the runner together with the job's scheduler; the scheduler,
    one of a dozen pods starting, listened after more than 50 s, the runner's Client() gave up at Dask's default 30 s
    and the DaskJob Failed. The runner waits as long as the scheduler's startup probe lets it start; a user's own
    value wins."""
    from raydask.builders.dask import RUNNER_CONNECT_ENV, STARTUP_SECONDS, build_dask_job
    from raydask.spec.dask import DaskJobSpec

    def runner_env(**runner: Any) -> dict[str, str]:
        job = build_dask_job(DaskJobSpec(name="nightly", command=["python", "-m", "etl"], runner=runner), "ns").job
        return env(job["spec"]["job"]["spec"]["containers"][0])

    scheduler = build_dask_job(DaskJobSpec(name="nightly", command=["python"]), "ns").job["spec"]["cluster"]["spec"]["scheduler"]
    assert restart_window(scheduler["spec"]["containers"][0]) == STARTUP_SECONDS
    assert runner_env()[RUNNER_CONNECT_ENV] == f"{STARTUP_SECONDS}s"
    assert runner_env(env={RUNNER_CONNECT_ENV: "20s"})[RUNNER_CONNECT_ENV] == "20s"
    from dask.config import collect_env  # how the Dask image's processes read it
    from dask.utils import parse_timedelta

    read = collect_env({RUNNER_CONNECT_ENV: runner_env()[RUNNER_CONNECT_ENV]})
    assert parse_timedelta(read["distributed"]["comm"]["timeouts"]["connect"]) == STARTUP_SECONDS
