"""Upstream's names and ports, settable where KubeRay's samples and the Dask examples differ: the main container's name
of every pod group, the head's GCS port name, Serve on a port other than 8000. Renders validated against the real CRDs,
Ray's autoscaler code and Serve's schema (``assert_valid``), and against what KubeRay reads by name."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.k8s.ports import RayPorts

NS = {"namespace": "ml"}
APPS = [{"name": "fruit", "importPath": "fruit.deployment_graph", "routePrefix": "/fruit"}]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name))


def refused(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        build(values)
    return exc.value.problems


def ports(container: dict[str, Any]) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container["ports"]}


def test_defaults_are_upstreams() -> None:
    """KubeRay's own names (its samples' ``ray-head`` / ``ray-worker``, its submitter's and GCS port's) and the Dask
    operator's (``scheduler``, ``worker``, its examples' ``job``)."""
    objs = build({**NS, "rayJobs": [{"name": "etl", "entrypoint": "python -m etl",
                                     "cluster": {"workerGroups": [{"name": "cpu"}]}}],
                  "daskJobs": [{"name": "nightly", "args": ["python", "-m", "nightly"]}]})
    spec = one(objs, "RayJob")["spec"]
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    worker = spec["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert (head["name"], worker["name"]) == ("ray-head", "ray-worker")
    assert ports(head)["gcs-server"] == 6379 and ports(head)["serve"] == 8000 and "serve" not in ports(worker)
    assert spec["submitterPodTemplate"]["spec"]["containers"][0]["name"] == "ray-job-submitter"
    dask = one(objs, "DaskJob")["spec"]
    assert dask["job"]["spec"]["containers"][0]["name"] == "job"
    assert dask["cluster"]["spec"]["scheduler"]["spec"]["containers"][0]["name"] == "scheduler"
    assert dask["cluster"]["spec"]["worker"]["spec"]["containers"][0]["name"] == "worker"


def test_container_names_are_settable_on_every_pod_group() -> None:
    """As KubeRay's samples name them (``head``, ``llm``, ``ray-node``…): KubeRay takes the first container as Ray's,
    whatever its name; overrides, sidecars and the no-limits annotation follow the name."""
    objs = build({**NS, "rayClusters": [{"name": "llm", "head": {"containerName": "head", "limits": {"cpu": None},
                                                                 "sidecars": [{"name": "shipper", "image": "busybox:1.36.1"}]},
                                         "workerGroups": [{"name": "gpu", "containerName": "llm",
                                                           "containerPatch": {"workingDir": "/tmp"}}]}],
                  "rayJobs": [{"name": "etl", "entrypoint": "python -m etl", "clusterSelector": "llm",
                               "submitter": {"containerName": "submit"}}],
                  "daskClusters": [{"name": "analytics", "scheduler": {"containerName": "dask-scheduler"},
                                    "worker": {"containerName": "dask-worker"},
                                    "workerGroups": [{"name": "big", "containerName": "big-worker"}]}],
                  "daskJobs": [{"name": "nightly", "args": ["python"], "runner": {"containerName": "runner"}}]})
    assert_valid(objs, "1.31")
    rc = one(objs, "RayCluster")["spec"]
    head = rc["headGroupSpec"]["template"]
    assert [c["name"] for c in head["spec"]["containers"]] == ["head", "shipper"]
    assert head["metadata"]["annotations"]["raydask.io/no-limits"] == "head/cpu"
    worker = rc["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert worker["name"] == "llm" and worker["workingDir"] == "/tmp"
    assert one(objs, "RayJob")["spec"]["submitterPodTemplate"]["spec"]["containers"][0]["name"] == "submit"
    dc = one(objs, "DaskCluster")["spec"]
    assert dc["scheduler"]["spec"]["containers"][0]["name"] == "dask-scheduler"
    assert dc["worker"]["spec"]["containers"][0]["name"] == "dask-worker"
    assert one(objs, "DaskWorkerGroup")["spec"]["worker"]["spec"]["containers"][0]["name"] == "big-worker"
    assert one(objs, "DaskJob")["spec"]["job"]["spec"]["containers"][0]["name"] == "runner"


@pytest.mark.parametrize("name", ["gcs", "redis", "gcs-server"])
def test_the_gcs_port_name_is_settable(name: str) -> None:
    """KubeRay's samples name the GCS port ``gcs-server`` (KubeRay's own default), ``gcs`` or ``redis``; KubeRay copies
    it to the head Service by that name."""
    objs = build({**NS, "rayClusters": [{"name": "train", "head": {"gcsPortName": name}}]})
    assert_valid(objs, "1.31")
    head = one(objs, "RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert ports(head)[name] == 6379 and len(head["ports"]) == len(RayPorts.head())


def test_serve_on_another_port() -> None:
    """KubeRay's ray-service.different-port sample: Serve's ``http_options.port``, the head's and every worker's
    ``serve`` port (KubeRay probes a RayService's workers there), the Serve Service KubeRay routes there, raydask's
    NetworkPolicies and the operator's egress all follow ``head.servePort``."""
    values = {**NS, "networkPolicy": {}, "kuberay": {"version": "1.7.0"},
              "rayServices": [{"name": "fruit", "applications": APPS, "ingress": {"host": "fruit.example.com", "tlsSecret": "t"},
                               "serveService": {"annotations": {"a": "b"}},
                               "cluster": {"head": {"servePort": 9000}, "workerGroups": [{"name": "small"}]}}]}
    objs = build(values)
    assert_valid(objs, "1.31")
    spec = one(objs, "RayService")["spec"]
    assert yaml.safe_load(spec["serveConfigV2"])["http_options"] == {"host": "0.0.0.0", "port": 9000}
    cluster = spec["rayClusterConfig"]
    head = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]
    worker = cluster["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]
    assert ports(head)["serve"] == 9000 and ports(worker) == {"metrics": 8080, "serve": 9000}
    assert spec["serveService"]["spec"]["ports"] == [{"name": "serve", "port": 9000}]
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    admitted = {p["port"] for o in policies for rule in o["spec"].get("ingress", []) for p in rule.get("ports", [])}
    assert 9000 in admitted and 8000 not in admitted
    operator = one(objs, "NetworkPolicy", "kuberay-operator-netpol")
    egress = [rule for rule in operator["spec"]["egress"] if any(p["port"] == 8265 for p in rule.get("ports", []))]
    assert [p["port"] for p in egress[0]["ports"]] == [8265, 8000, 9000]


@pytest.mark.parametrize(("values", "messages"), [
    ({"rayClusters": [{"name": "t", "head": {"containerName": "Head"}}]},
     ["raydask:rayClusters[0].head.containerName: 'Head' is not a DNS-1123 label: lower-case letters, digits and '-', starting "
      "and ending with a letter or digit"]),
    ({"rayClusters": [{"name": "t", "autoscaling": {}, "head": {"containerName": "autoscaler"}}]},
     ["raydask:rayClusters[0].head.containerName: 'autoscaler' is the name of a container KubeRay adds (the autoscaler "
      "sidecar of an autoscaled cluster's head): choose another"]),
    ({"rayClusters": [{"name": "t", "head": {"gcsPortName": "dashboard"}}]},
     ["raydask:rayClusters[0].head.gcsPortName: 'dashboard' is the name of the head's port 8265: choose another"]),
    ({"rayClusters": [{"name": "t", "head": {"gcsPortName": "gcs-server-port-x"}}]},
     ["raydask:rayClusters[0].head.gcsPortName: port name 'gcs-server-port-x' is longer than 15 characters"]),
    ({"rayClusters": [{"name": "t", "head": {"servePort": 8265}}]},
     ["raydask:rayClusters[0].head.servePort: 8265 is the head's port 'dashboard': choose another"]),
    ({"rayClusters": [{"name": "t", "head": {"extraPorts": [{"name": "gcs", "containerPort": 6379}]}}]},
     ["raydask:rayClusters[0].head.extraPorts[0].containerPort: 6379 is the head's port 'gcs-server': KubeRay copies the head "
      "container's named ports to the head Service, which refuses two ports of one number (to name the GCS port otherwise, "
      "set gcsPortName)"]),
    ({"rayClusters": [{"name": "t", "head": {"servePort": 9000, "service": {"extraPorts": [{"name": "web", "port": 9000}]}}}]},
     ["raydask:rayClusters[0].head.service.extraPorts[0]: 'web' (9000) is a port of the head container, which KubeRay adds "
      "to the head Service itself: choose another"]),
])
def test_refused(values: dict[str, Any], messages: list[str]) -> None:
    assert refused({**NS, **values}) == messages
