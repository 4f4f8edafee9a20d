"""DaskJob: a batch job on its own Dask cluster. Rendered objects validated against the DaskJob CRD, expanded with the
Dask operator's own builders (the cluster and the runner pod it would create) and checked for Pod Security
"restricted"; the component under the mock engine; the rules with their messages."""

from __future__ import annotations

import sys
from typing import Any

import pulumi
import pytest
from captured import options_seen
from stack_renders import ROOT
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.offline import scan
from raydask.offline.validation import consumers
from raydask.program import load_stack_spec
from raydask.resources.dask_job import DaskJob

sys.path.insert(0, str(ROOT / "policy"))

import raydask_policies as rp  # policy/ is not a package

JOB: dict[str, Any] = {"name": "etl", "command": ["python", "-m", "etl"], "args": ["--date", "2026-12-01"],
                       "worker": {"replicas": 2, "cpu": "1", "memory": "2Gi"},
                       "runner": {"env": {"MODE": "batch"}, "envValueFrom": {"MY_POD_IP": {"fieldRef": {"fieldPath": "status.podIP"}}}},
                       "configMaps": [{"name": "code", "data": {"etl.py": "print(1)\n"}}]}


def objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    return build(values)


def test_a_dask_job_renders_validates_and_expands_as_the_operator_does() -> None:
    objs = objects({"namespace": "ml", "networkPolicy": {}, "daskJobs": [JOB]})
    assert_valid(objs, "1.31")
    job = next(o for o in objs if o["kind"] == "DaskJob")
    runner = job["spec"]["job"]["spec"]
    (container,) = runner["containers"]
    assert container["name"] == "job" and container["command"] == ["python", "-m", "etl"]
    assert container["args"] == ["--date", "2026-12-01"] and runner["restartPolicy"] == "Never"
    assert container["image"] == "ghcr.io/dask/dask:2026.8.0"
    assert job["spec"]["cluster"]["spec"]["worker"]["replicas"] == 2
    # what the operator creates from it: the cluster named after the job, and the runner pod with the scheduler address
    expanded = consumers.expand_dask_job(job)
    pod = next(x for x in expanded if x["kind"] == "Pod")
    assert pod["metadata"]["name"] == "etl-runner"
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    assert env["DASK_SCHEDULER_ADDRESS"] == "tcp://etl-scheduler.ml.svc.cluster.local:8786" and env["MODE"] == "batch"
    assert sorted(t.path for t in scan.templates_of(job)) == ["spec.cluster.spec.scheduler", "spec.cluster.spec.worker", "spec.job"]
    # the NetworkPolicy of the job's cluster admits the runner (it is one of the cluster's own pods)
    selector = next(o for o in objs if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "etl-netpol")["spec"]["podSelector"]
    labels = pod["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in selector["matchLabels"].items())
    assert rp.check_pod_security("kubernetes:kubernetes.dask.org/v1:DaskJob", job) == []
    assert rp.check_resources("kubernetes:kubernetes.dask.org/v1:DaskJob", job) == []


def test_args_alone_keep_the_images_entrypoint() -> None:
    """The Dask operator's examples give the runner ``args`` only: the image's entrypoint (the Dask image's ``tini``
    and ``prepare.sh``, which installs ``EXTRA_PIP_PACKAGES``) runs them, as it runs raydask's scheduler and workers."""
    job = {"name": "etl", "args": ["python", "-c", "from dask.distributed import Client; Client()"],
           "runner": {"env": {"EXTRA_PIP_PACKAGES": "s3fs==2026.3.0"}}}
    objs = objects({"namespace": "ml", "daskJobs": [job]})
    assert_valid(objs, "1.31")
    dask_job = next(o for o in objs if o["kind"] == "DaskJob")
    (container,) = dask_job["spec"]["job"]["spec"]["containers"]
    assert "command" not in container and container["args"] == job["args"]
    pod = next(x for x in consumers.expand_dask_job(dask_job) if x["kind"] == "Pod")
    assert "command" not in pod["spec"]["containers"][0] and pod["spec"]["containers"][0]["args"] == job["args"]
    for side in (dask_job["spec"]["cluster"]["spec"]["scheduler"], dask_job["spec"]["cluster"]["spec"]["worker"]):
        assert "command" not in side["spec"]["containers"][0]  # like raydask's own scheduler and workers


def test_the_component_registers_a_job_replaced_on_change(run_program: Any) -> None:
    seen, capture = options_seen()
    result = run_program(lambda: DaskJob("etl", JOB, namespace="ml", opts=pulumi.ResourceOptions(transformations=[capture])))
    types = [r.type for r in result.resources]
    assert types[0] == "raydask:dask:DaskJob"
    assert types.index("kubernetes:core/v1:ConfigMap") < types.index("kubernetes:kubernetes.dask.org/v1:DaskJob")
    assert seen["etl"].replace_on_changes == ["spec"] and seen["etl"].delete_before_replace is True


@pytest.mark.parametrize(("change", "message"), [
    ({"runner": {"command": ["x"]}}, "raydask:daskJobs[0].runner.command: set the job's own command"),
    ({"runner": {"env": {"DASK_SCHEDULER_ADDRESS": "tcp://x:8786"}}},
     "raydask:daskJobs[0].runner.env.DASK_SCHEDULER_ADDRESS: 'DASK_SCHEDULER_ADDRESS' is set by the Dask operator (the job's "
     "scheduler)"),
    ({"command": []}, "raydask:daskJobs[0].command: needs at least 1 item"),
    ({"command": None, "args": []}, "raydask:daskJobs[0].args: the runner needs something to run: set args (run by the "
                                    "image's entrypoint, e.g. [python, -m, etl]) or command"),
    ({"image": "ghcr.io/dask/dask:2024.1.0"},
     "raydask:daskJobs[0].image: image tag '2024.1.0' does not match daskVersion 2026.8.0; set the matching image or allow "
     "the mismatch (allowImageVersionMismatch: true)"),
])
def test_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "daskJobs": [{**JOB, **change}]})
    assert exc.value.problems == [message]


def test_a_job_and_a_cluster_of_one_name_collide() -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "daskClusters": [{"name": "etl"}], "daskJobs": [JOB]})
    assert "raydask:daskJobs[0].name: duplicate cluster name 'etl' in namespace 'ml' (also daskClusters[0])" in exc.value.problems
