"""Typed container and pod overrides and the escape hatch (``podPatch`` / ``containerPatch``) on every pod raydask
creates: where each lands, that the result passes the real schemas, Ray's autoscaler, the Dask operator's builders and
Pod Security "restricted", and the errors for what the API server would refuse, prune, or what would break
"restricted"."""

from __future__ import annotations

import copy
import sys
from typing import Any

import pytest
from stack_renders import ROOT
from test_properties import assert_valid, build

from raydask.errors import ConfigError

FLUENT = {"name": "fluent-bit", "image": "fluent/fluent-bit:3.1.9", "args": ["-c", "/fluent-bit/etc/fluent-bit.conf"],
          "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}}
CERTS = {"name": "gen-certs", "image": "alpine:3.20.3", "command": ["sh", "-c", "echo certs > /tmp/ray/ca.crt"],
         "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "50m", "memory": "32Mi"}}}
POD_IP = {"fieldRef": {"fieldPath": "status.podIP"}}
EVERYTHING: dict[str, Any] = {
    "command": ["sh", "-c", "pip list > /tmp/pip.txt"],
    "lifecycle": {"preStop": {"exec": {"command": ["ray", "stop"]}}},
    "startupProbe": {"exec": {"command": ["true"]}, "periodSeconds": 5},
    "envFrom": [{"configMapRef": {"name": "train-settings"}}],
    "envValueFrom": {"MY_POD_IP": POD_IP, "TOKEN": {"secretKeyRef": {"name": "hf", "key": "token"}}},
    "extraPorts": [{"name": "profiler", "containerPort": 9999, "protocol": "TCP"}],
    "imagePullSecrets": ["registry-creds"],
    "initContainers": [CERTS],
    "sidecars": [FLUENT],
    "terminationGracePeriodSeconds": 120,
    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "ScheduleAnyway",
                                   "labelSelector": {"matchLabels": {"app.kubernetes.io/instance": "train"}}}],
    "runtimeClassName": "gvisor",
    "schedulerName": "volcano",
    "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
    "hostAliases": [{"ip": "10.0.0.5", "hostnames": ["minio.local"]}],
    "containerPatch": {"workingDir": "/tmp"},
    "podPatch": {"metadata": {"annotations": {"example.com/team": "ml"}},
                 "spec": {"enableServiceLinks": False, "containers": [{"name": "fluent-bit", "workingDir": "/tmp"}]}},
}
DASK_EVERYTHING = {k: v for k, v in EVERYTHING.items() if k not in ("startupProbe",)} | {"command": ["tini", "--"]}
BASE: dict[str, Any] = {
    "namespace": "ml",
    "rayClusters": [{"name": "train", "head": copy.deepcopy(EVERYTHING),
                     "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 2, **copy.deepcopy(EVERYTHING)}]}],
    "rayJobs": [{"name": "nightly", "entrypoint": "python -m nightly", "cluster": {"head": {"sidecars": [FLUENT]}},
                 "submitter": {"image": "example.com/submitter:1.0.0", "command": ["python", "-m", "submit"],
                               "envValueFrom": {"MY_POD_IP": POD_IP}}}],
    "daskClusters": [{"name": "etl", "scheduler": copy.deepcopy(DASK_EVERYTHING), "worker": copy.deepcopy(DASK_EVERYTHING),
                      "workerGroups": [{"name": "big", "replicas": 1, "sidecars": [FLUENT]}]}],
}


def objects(values: dict[str, Any]) -> list[dict[str, Any]]:
    return build(copy.deepcopy(values))


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def refused(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        objects(values)
    return exc.value.problems


def with_(path: str, settings: dict[str, Any]) -> dict[str, Any]:
    """BASE without overrides, then ``settings`` at ``path`` (``rayClusters.0.head``)."""
    values: dict[str, Any] = {"namespace": "ml", "rayClusters": [{"name": "train", "head": {}, "workerGroups": [{"name": "cpu"}]}],
                              "rayJobs": [{"name": "nightly", "entrypoint": "python -m x", "cluster": {}}],
                              "daskClusters": [{"name": "etl"}]}
    node: Any = values
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node.update(settings)
    return values


def test_every_override_lands_and_validates() -> None:
    objs = objects(BASE)
    assert_valid(objs, "1.31")
    rc = find(objs, "RayCluster", "train")["spec"]
    for template in (rc["headGroupSpec"]["template"], rc["workerGroupSpecs"][0]["template"]):
        spec = template["spec"]
        main, sidecar = spec["containers"]
        assert main["command"] == EVERYTHING["command"] and main["workingDir"] == "/tmp"
        assert main["lifecycle"] == EVERYTHING["lifecycle"] and main["startupProbe"] == EVERYTHING["startupProbe"]
        assert main["envFrom"] == EVERYTHING["envFrom"]
        assert {"name": "MY_POD_IP", "valueFrom": POD_IP} in main["env"]
        assert main["ports"][-1] == {"name": "profiler", "containerPort": 9999, "protocol": "TCP"}
        assert spec["imagePullSecrets"] == [{"name": "registry-creds"}]
        for field in ("terminationGracePeriodSeconds", "topologySpreadConstraints", "runtimeClassName", "schedulerName",
                      "dnsConfig", "hostAliases"):
            assert spec[field] == EVERYTHING[field], field
        assert spec["enableServiceLinks"] is False
        assert template["metadata"]["annotations"] == {"example.com/team": "ml"}
        # the sidecar and init container run as the main container does, and the patch merged by name
        assert sidecar["name"] == "fluent-bit" and sidecar["workingDir"] == "/tmp" and sidecar["args"] == FLUENT["args"]
        assert sidecar["securityContext"] == main["securityContext"]
        assert spec["initContainers"][0]["securityContext"] == main["securityContext"]
    job = find(objs, "RayJob", "nightly")["spec"]
    submitter = job["submitterPodTemplate"]["spec"]["containers"][0]
    assert submitter["image"] == "example.com/submitter:1.0.0" and submitter["command"] == ["python", "-m", "submit"]
    assert job["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][1]["name"] == "fluent-bit"
    dask = find(objs, "DaskCluster", "etl")["spec"]
    for template in (dask["scheduler"], dask["worker"]):
        main = template["spec"]["containers"][0]
        assert main["command"] == ["tini", "--"] and main["args"][0] in ("dask", "dask-scheduler", "dask-worker")
        assert template["spec"]["containers"][1]["name"] == "fluent-bit"
    group = find(objs, "DaskWorkerGroup", "etl-big")["spec"]["worker"]
    assert [c["name"] for c in group["spec"]["containers"]] == ["worker", "fluent-bit"]


def test_without_overrides_the_pods_are_unchanged() -> None:
    plain = with_("rayClusters.0.head", {})
    patched = with_("rayClusters.0.head", {"podPatch": {}, "containerPatch": {}, "sidecars": []})
    assert objects(plain) == objects(patched)


@pytest.mark.parametrize(("path", "settings", "message"), [
    ("rayClusters.0.head", {"podPatch": {"spec": {"nodeNam": "n1"}}},
     "raydask:rayClusters[0].head.podPatch.spec.nodeNam: unknown key (did you mean 'nodeName'?): the API server would "
     "silently drop it"),
    ("rayClusters.0.workerGroups.0", {"containerPatch": {"name": "x"}},
     "raydask:rayClusters[0].workerGroups[0].containerPatch.name: set it with the group's containerName"),
    ("rayClusters.0.head", {"containerPatch": {"securityContext": {"privileged": True}}},
     "raydask:rayClusters[0].head.containerPatch: the pod would break Pod Security \"restricted\" (Privileged Containers): "
     "spec.containers[0].securityContext.privileged: container 'ray-head': must be false or unset"
     " (if the pods truly need it, make an explicit exception: podSecurity: {level: baseline or privileged, reason: ...})"),
    ("rayClusters.0.head", {"podPatch": {"spec": {"hostNetwork": True}}},
     "raydask:rayClusters[0].head.podPatch: the pod would break Pod Security \"restricted\" (Host Namespaces): "
     "spec.hostNetwork: must be false or unset: host namespaces are not allowed"
     " (if the pods truly need it, make an explicit exception: podSecurity: {level: baseline or privileged, reason: ...})"),
    ("rayClusters.0.head", {"sidecars": [{"name": "ray-head", "image": "busybox:1.36.1"}]},
     "raydask:rayClusters[0].head.sidecars: two containers are named 'ray-head': rename the one you add"),
    ("rayClusters.0.head", {"sidecars": [{"name": "shipper"}]},
     "raydask:rayClusters[0].head.sidecars[0].image: a container needs an image"),
    ("rayClusters.0.head", {"sidecars": [{"name": "shipper", "image": "busybox:latest"}]},
     "raydask:rayClusters[0].head.sidecars[0].image: 'busybox:latest' uses the ':latest' tag; pin a version tag or a digest"),
    ("rayClusters.0.head", {"extraPorts": [{"name": "dashboard", "containerPort": 9999}]},
     "raydask:rayClusters[0].head.extraPorts[0].name: 'dashboard' is the name of the head's port 8265: choose another"),
    ("rayClusters.0.head", {"extraPorts": [{"name": "gcs", "containerPort": 6379}]},
     "raydask:rayClusters[0].head.extraPorts[0].containerPort: 6379 is the head's port 'gcs-server': KubeRay copies the head "
     "container's named ports to the head Service, which refuses two ports of one number (to name the GCS port otherwise, "
     "set gcsPortName)"),
    ("rayClusters.0.workerGroups.0", {"extraPorts": [{"name": "metrics", "containerPort": 9998}]},
     "raydask:rayClusters[0].workerGroups[0].extraPorts: container 'ray-worker' has two ports with name metrics: raydask "
     "declares metrics:8080; pick another"),
    ("rayClusters.0.head", {"extraPorts": [{"containerPort": 9999}]},
     "raydask:rayClusters[0].head.extraPorts[0]: a port needs a name (the operators and Services refer to ports by name)"),
    ("rayClusters.0.head", {"envValueFrom": {"X": {"fieldRef": {"fieldPath": "status.podIP"}, "secretKeyRef": {}}}},
     "raydask:rayClusters[0].head.envValueFrom.X: expected exactly one of fieldRef, resourceFieldRef, configMapKeyRef, "
     "secretKeyRef"),
    ("rayClusters.0.head", {"env": {"X": "1"}, "envValueFrom": {"X": POD_IP}},
     "raydask:rayClusters[0].head.envValueFrom.X: 'X' is also in env: keep one"),
    ("daskClusters.0.worker", {"args": ["dask", "worker"]},
     "raydask:daskClusters[0].worker.args: raydask writes the dask command line: add options with extraArgs"),
    ("daskClusters.0.worker", {"podPatch": {"spec": {"hostUsers": False}}},
     "raydask:daskClusters[0].worker.podPatch.spec.hostUsers: unknown key (did you mean 'hostAliases'?): not in the Kubernetes "
     "1.21 PodSpec the Dask CRDs embed: the API server would silently drop it"),
    ("rayJobs.0.submitter", {"podPatch": {"metadata": {"name": "x"}}},
     "raydask:rayJobs[0].submitter.podPatch.metadata.name: a pod template's metadata takes labels and annotations only"),
    ("rayJobs.0.cluster.head", {"containerPatch": {"securityContext": {"runAsUser": 0}}},
     "raydask:rayJobs[0].cluster.head.containerPatch: the pod would break Pod Security \"restricted\" (Running as Non-root "
     "user): spec.containers[0].securityContext.runAsUser: must not be 0 (root)"
     " (if the pods truly need it, make an explicit exception: podSecurity: {level: baseline or privileged, reason: ...})"),
])
def test_refused(path: str, settings: dict[str, Any], message: str) -> None:
    assert refused(with_(path, settings)) == [message]


def test_head_and_serve_service_settings() -> None:
    tls = {"tlsSecret": "t", "className": "nginx", "annotations": {"nginx.ingress.kubernetes.io/auth-url": "https://a/x"}}
    service = {"name": "train-ray", "labels": {"team": "ml"}, "annotations": {"example.com/lb": "internal"},
               "extraPorts": [{"name": "proxy", "port": 9998, "targetPort": 9998}]}
    values = {"namespace": "ml",
              "rayClusters": [{"name": "train", "head": {"service": service, "extraPorts": [{"name": "profiler", "containerPort": 9999}]},
                               "dashboard": {"ingress": {"host": "ray.example.com", **tls}}}],
              "rayServices": [{"name": "fruit", "applications": [{"name": "a", "importPath": "m:app"}],
                               "serveService": {"name": "fruit-api", "annotations": {"example.com/lb": "internal"}},
                               "ingress": {"host": "fruit.example.com", **tls}}]}
    objs = objects(values)
    assert_valid(objs, "1.31")
    head = find(objs, "RayCluster", "train")["spec"]["headGroupSpec"]
    assert head["headService"] == {"metadata": {"name": "train-ray", "labels": {"team": "ml"},
                                                "annotations": {"example.com/lb": "internal"}},
                                   "spec": {"ports": [{"name": "proxy", "port": 9998, "protocol": "TCP", "targetPort": 9998}]}}
    backends = {o["metadata"]["name"]: o["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
                for o in objs if o["kind"] == "Ingress"}
    assert backends == {"train-dashboard": "train-ray", "fruit-serve": "fruit-api"}
    assert find(objs, "RayService", "fruit")["spec"]["serveService"] == {
        "metadata": {"name": "fruit-api", "annotations": {"example.com/lb": "internal"}},
        "spec": {"ports": [{"name": "serve", "port": 8000}]}}
    plain = objects(with_("rayClusters.0.head", {"service": {"labels": {"team": "ml"}}}))
    assert_valid(plain, "1.31")


@pytest.mark.parametrize(("path", "settings", "message"), [
    ("rayClusters.0.head", {"service": {"extraPorts": [{"name": "dashboard", "port": 9999}]}},
     "raydask:rayClusters[0].head.service.extraPorts[0].name: 'dashboard' is a port KubeRay adds itself (port 8265): "
     "choose another name"),
    ("rayClusters.0.head", {"extraPorts": [{"name": "profiler", "containerPort": 9999}],
                            "service": {"extraPorts": [{"name": "profiler", "port": 9999}]}},
     "raydask:rayClusters[0].head.service.extraPorts[0].name: 'profiler' is a port of the head container (extraPorts), which "
     "KubeRay adds to the head Service itself: leave it out"),
])
def test_service_settings_refused(path: str, settings: dict[str, Any], message: str) -> None:
    assert refused(with_(path, settings)) == [message]


def test_the_head_service_name_of_a_job_cluster() -> None:
    """KubeRay's RayCluster controller names a RayJob's cluster's head Service as told (the RayJob adds its own
    ``<job>-head-svc``); where two clusters would claim the name, it is refused."""
    values = with_("rayJobs.0.cluster.head", {"service": {"name": "nightly-ray"}})
    objs = objects(values)
    assert_valid(objs, "1.31")
    head = find(objs, "RayJob", "nightly")["spec"]["rayClusterSpec"]["headGroupSpec"]
    assert head["headService"] == {"metadata": {"name": "nightly-ray"}, "spec": {}}
    values["rayJobs"][0]["generateName"] = True
    assert refused(values) == [
        "raydask:rayJobs[0].cluster.head.service.name: 'nightly-ray' would be claimed by two clusters: with generateName a "
        "new job definition is a new RayJob, whose cluster starts before the old one is deleted (KubeRay cannot create the "
        "new head Service, and points the new job at the old cluster): remove the name or generateName"]
    taken = with_("rayJobs.0.cluster.head", {"service": {"name": "train-head-svc"}})
    assert refused(taken) == ["raydask:rayJobs[0].cluster.head.service.name: makes the Service ml/train-head-svc, which "
                              "rayClusters[0] makes too: choose another name"]
    service = {"namespace": "ml", "rayServices": [{"name": "fruit", "applications": [{"name": "a", "importPath": "m:app"}],
                                                   "cluster": {"head": {"service": {"name": "fruit-ray"}}}}]}
    assert refused(service) == [
        "raydask:rayServices[0].cluster.head.service.name: KubeRay refuses a head Service name on a RayService's cluster: it "
        "names the Service <name>-head-svc and moves it to the new cluster on upgrades; remove it"]
    cron = {"namespace": "ml", "kuberay": {"featureGates": {"RayCronJob": True}},
            "rayCronJobs": [{"name": "hourly", "schedule": "@hourly", "entrypoint": "python -m x",
                             "cluster": {"head": {"service": {"name": "hourly-ray"}}}}]}
    assert refused(cron) == [
        "raydask:rayCronJobs[0].cluster.head.service.name: 'hourly-ray' would be claimed by every run's cluster, and runs "
        "can overlap (KubeRay cannot create the next run's head Service, and points its job at the other run's cluster): "
        "remove it (KubeRay names each run's Service)"]


def test_an_ingress_without_a_host() -> None:
    ingress = {"path": "/ray", "className": "nginx", "tlsSecret": "ray-tls",
               "annotations": {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}}
    objs = objects({"namespace": "ml", "rayClusters": [{"name": "train", "dashboard": {"ingress": ingress}}]})
    assert_valid(objs, "1.31")
    ing = find(objs, "Ingress", "train-dashboard")
    assert "host" not in ing["spec"]["rules"][0] and ing["spec"]["tls"] == [{"secretName": "ray-tls"}]
    sys.path.insert(0, str(ROOT / "policy"))
    import raydask_policies as rp

    assert rp.check_ingress_tls("kubernetes:networking.k8s.io/v1:Ingress", ing) == []
