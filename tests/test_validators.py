"""The validators: each one passes good objects and fails broken ones with a precise message."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from upstream import kuberay_chart

from raydask import charts
from raydask.offline.validation import Finding, builtin, consumers, crd, references, upstream, validate_objects

# --------------------------------------------------------------------------------------------------------------
# good objects
# --------------------------------------------------------------------------------------------------------------


def ray_cluster() -> dict[str, Any]:
    """A minimal valid RayCluster: head (unschedulable, num-cpus 0) and one autoscaled worker group."""
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": {"name": "train", "namespace": "ml", "labels": {"app.kubernetes.io/name": "ray"}},
        "spec": {
            "rayVersion": "2.60.0",
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {"upscalingMode": "Default", "idleTimeoutSeconds": 60},
            "headGroupSpec": {
                "rayStartParams": {"dashboard-host": "0.0.0.0", "num-cpus": "0"},
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "ray", "app.kubernetes.io/component": "head"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "ray-head",
                                "image": "rayproject/ray:2.60.0",
                                "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "2", "memory": "4Gi"}},
                                "ports": [
                                    {"name": "gcs", "containerPort": 6379},
                                    {"name": "dashboard", "containerPort": 8265},
                                    {"name": "client", "containerPort": 10001},
                                    {"name": "metrics", "containerPort": 8080},
                                ],
                            }
                        ]
                    },
                },
            },
            "workerGroupSpecs": [
                {
                    "groupName": "cpu",
                    "replicas": 1,
                    "minReplicas": 0,
                    "maxReplicas": 4,
                    "rayStartParams": {},
                    "template": {
                        "metadata": {"labels": {"app.kubernetes.io/name": "ray", "app.kubernetes.io/component": "worker"}},
                        "spec": {
                            "containers": [
                                {
                                    "name": "ray-worker",
                                    "image": "rayproject/ray:2.60.0",
                                    "resources": {
                                        "limits": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": 1},
                                        "requests": {"cpu": "4", "memory": "8Gi"},
                                    },
                                }
                            ]
                        },
                    },
                }
            ],
        },
    }


def dask_cluster() -> dict[str, Any]:
    """A valid DaskCluster: named ports everywhere (the CRD's int-or-string fields only take strings)."""
    return {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskCluster",
        "metadata": {"name": "etl", "namespace": "data", "labels": {"team": "data"}},
        "spec": {
            "scheduler": {
                "spec": {
                    "containers": [
                        {
                            "name": "scheduler",
                            "image": "ghcr.io/dask/dask:2026.3.0",
                            "args": ["dask-scheduler"],
                            "ports": [
                                {"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
                                {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"},
                            ],
                            "readinessProbe": {"httpGet": {"port": "http-dashboard", "path": "/health"}},
                        }
                    ]
                },
                "service": {
                    "type": "ClusterIP",
                    "selector": {"dask.org/cluster-name": "etl", "dask.org/component": "scheduler"},
                    "ports": [
                        {"name": "tcp-comm", "protocol": "TCP", "port": 8786, "targetPort": "tcp-comm"},
                        {"name": "http-dashboard", "protocol": "TCP", "port": 8787, "targetPort": "http-dashboard"},
                    ],
                },
            },
            "worker": {
                "replicas": 2,
                "spec": {
                    "containers": [
                        {
                            "name": "worker",
                            "image": "ghcr.io/dask/dask:2026.3.0",
                            "args": ["dask-worker", "--name", "$(DASK_WORKER_NAME)"],
                            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
                        }
                    ]
                },
            },
        },
    }


def service_monitor() -> dict[str, Any]:
    """Scrapes the ``metrics`` port of KubeRay's head Service of ``train``."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "train", "namespace": "ml", "labels": {"release": "prom"}},
        "spec": {
            "selector": {"matchLabels": {"ray.io/cluster": "train", "ray.io/node-type": "head"}},
            "endpoints": [{"port": "metrics", "interval": "30s"}],
        },
    }


def service() -> dict[str, Any]:
    """The Ray head pod's dashboard, by port name."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "train-dashboard", "namespace": "ml"},
        "spec": {
            "selector": {"ray.io/cluster": "train", "ray.io/node-type": "head"},
            "ports": [{"name": "dashboard", "port": 8265, "targetPort": "dashboard", "protocol": "TCP"}],
        },
    }


def ingress() -> dict[str, Any]:
    """One path to our Service (by port name), one to KubeRay's head Service (by number)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "train", "namespace": "ml"},
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "ray.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "train-dashboard", "port": {"name": "dashboard"}}},
                            },
                            {
                                "path": "/head",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "train-head-svc", "port": {"number": 8265}}},
                            },
                        ]
                    },
                }
            ],
        },
    }


def good_objects() -> list[dict[str, Any]]:
    return [ray_cluster(), dask_cluster(), service_monitor(), service(), ingress()]


def messages(findings: list[Finding], check: str | None = None) -> list[str]:
    return [f"{f.path}: {f.message}" for f in findings if check is None or f.check == check]


def only(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


# --------------------------------------------------------------------------------------------------------------
# the whole pipeline
# --------------------------------------------------------------------------------------------------------------


def test_good_objects_pass_every_check() -> None:
    assert validate_objects(good_objects()) == []


def test_finding_str() -> None:
    f = Finding("RayCluster ml/train", "spec.x", "boom", "crd")
    assert str(f) == "RayCluster ml/train: spec.x: boom [crd]"
    assert str(Finding("Service a", "", "boom", "schema")) == "Service a: boom [schema]"


def test_validation_is_fast_after_loading() -> None:
    objects = good_objects()
    validate_objects(objects)  # load CRDs, schemas, ray, dask once
    start = time.process_time()  # CPU, not wall time: the live tier may share the machine's cores with this test
    validate_objects(objects * 10)
    assert time.process_time() - start < 2.0


@pytest.mark.parametrize(
    "obj",
    [
        None,
        "a string",
        {},
        {"kind": "Service"},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}, "spec": "oops"},
        {"apiVersion": "v1", "kind": "Service", "metadata": "nope"},
        {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "x"}, "spec": {"headGroupSpec": "no"}},
        {"apiVersion": "ray.io/v1", "kind": "RayCluster", "metadata": {"name": "x"}, "spec": {"workerGroupSpecs": [None, 3]}},
        {"apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": "x"}, "spec": {"rayClusterConfig": []}},
        {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": {"name": "x"}, "spec": {"scheduler": [], "worker": 3}},
        {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskWorkerGroup", "metadata": {"name": "x"}, "spec": None},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "x"}, "spec": {"selector": 1}},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "x"},
            "spec": {"rules": [{"http": {"paths": [None]}}]},
        },
        {"apiVersion": "foo.example.com/v1", "kind": "Bar", "metadata": {"name": "x"}},
    ],
)
def test_malformed_objects_yield_findings_not_exceptions(obj: Any) -> None:
    findings = validate_objects([obj, service()])
    assert findings
    assert all(isinstance(f, Finding) for f in findings)
    assert not any("validator error" in f.message for f in findings), [str(f) for f in findings]


def test_duplicate_objects() -> None:
    assert messages(validate_objects([service(), ray_cluster(), service()])) == [
        "metadata.name: duplicate object: the same Service is already declared at index 0"
    ]


def test_unknown_kind_is_a_finding() -> None:
    findings = validate_objects([{"apiVersion": "foo.example.com/v1", "kind": "Bar", "metadata": {"name": "x"}}])
    assert messages(findings) == [": no schema for foo.example.com/v1 Bar in Kubernetes 1.31.0 (unknown or unsupported kind/apiVersion)"]


def test_unserved_crd_version_is_a_finding() -> None:
    rc = ray_cluster()
    rc["apiVersion"] = "ray.io/v2"
    assert "apiVersion: ray.io/v2 is not a served version of the RayCluster CRD (versions: v1, v1alpha1)" in messages(
        validate_objects([rc])
    )


# --------------------------------------------------------------------------------------------------------------
# crd: API-server semantics
# --------------------------------------------------------------------------------------------------------------


def test_wrong_type_int_where_string_expected() -> None:
    rc = ray_cluster()
    rc["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0
    findings = only(validate_objects([rc]), "crd")
    assert findings == [
        Finding("RayCluster ml/train", "spec.headGroupSpec.rayStartParams.num-cpus", "expected string, got integer 0", "crd")
    ]


def test_int32_format_range() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 2**31
    assert "spec.workerGroupSpecs[0].maxReplicas: 2147483648 is out of the int32 range (consumers decoding it would fail)" in messages(
        validate_objects([rc]), "crd"
    )


def test_unknown_fields_are_pruned_errors_at_top_and_deep() -> None:
    rc = ray_cluster()
    rc["spec"]["foo"] = 1
    rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["bar"] = {"x": 1}
    rc["spec"]["headGroupSpec"]["template"]["metadata"]["generateName"] = "x-"
    assert sorted(messages(validate_objects([rc]), "crd")) == [
        "spec.foo: unknown field 'foo' would be pruned by the API server",
        "spec.headGroupSpec.template.metadata.generateName: unknown field 'generateName' would be pruned by the API server",
        "spec.workerGroupSpecs[0].template.spec.containers[0].bar: unknown field 'bar' would be pruned by the API server",
    ]
    stored = crd.stored_object(rc)
    assert "foo" not in stored["spec"]
    assert "bar" not in stored["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]


def test_dask_cluster_embeds_a_kubernetes_1_21_pod_spec() -> None:
    schema = crd.lookup("kubernetes.dask.org", "DaskCluster", "v1")
    assert schema is not None
    pod_spec = schema.schema["properties"]["spec"]["properties"]["scheduler"]["properties"]["spec"]
    container = pod_spec["properties"]["containers"]["items"]
    # both exist in today's PodSpec/Container, neither in the CRD's 1.21 copy
    defs = builtin.definitions(builtin.resolve_version("1.31"))
    assert "os" in defs["io.k8s.api.core.v1.PodSpec"]["properties"] and "os" not in pod_spec["properties"]
    assert "restartPolicy" in defs["io.k8s.api.core.v1.Container"]["properties"] and "restartPolicy" not in container["properties"]

    dc = dask_cluster()
    dc["spec"]["scheduler"]["spec"]["os"] = {"name": "linux"}
    dc["spec"]["worker"]["spec"]["initContainers"] = [{"name": "sidecar", "image": "busybox", "restartPolicy": "Always"}]
    assert sorted(messages(validate_objects([dc]))) == [
        "spec.scheduler.spec.os: unknown field 'os' would be pruned by the API server",
        "spec.worker.spec.initContainers[0].restartPolicy: unknown field 'restartPolicy' would be pruned by the API server",
    ]
    # what the operator reads -- and so creates -- has lost them
    scheduler, _, _, worker = consumers.expand_dask_cluster(dc)
    assert "os" not in scheduler["spec"]["template"]["spec"]
    assert "restartPolicy" not in worker["spec"]["template"]["spec"]["initContainers"][0]


def test_bad_enum() -> None:
    rc = ray_cluster()
    rc["spec"]["autoscalerOptions"]["upscalingMode"] = "Fast"
    assert messages(validate_objects([rc])) == [
        "spec.autoscalerOptions.upscalingMode: 'Fast' is not one of ['Default', 'Aggressive', 'Conservative']"
    ]


def test_missing_required() -> None:
    rc = ray_cluster()
    del rc["spec"]["workerGroupSpecs"][0]["groupName"]
    findings = validate_objects([rc])
    assert messages(findings, "crd") == ["spec.workerGroupSpecs[0].groupName: missing required field 'groupName'"]
    assert messages(findings, "ray-autoscaler") == [
        "spec.workerGroupSpecs[0]: Ray autoscaler rejects this worker group: KeyError: missing field 'groupName' that the autoscaler reads"
    ]


def test_required_fields_with_defaults_are_satisfied_by_defaulting() -> None:
    rc = ray_cluster()
    del rc["spec"]["workerGroupSpecs"][0]["minReplicas"]
    del rc["spec"]["workerGroupSpecs"][0]["maxReplicas"]
    del rc["spec"]["workerGroupSpecs"][0]["replicas"]
    assert validate_objects([rc]) == []
    group = crd.stored_object(rc)["spec"]["workerGroupSpecs"][0]
    assert (group["minReplicas"], group["maxReplicas"], group["replicas"], group["numOfHosts"]) == (0, 2147483647, 0, 1)


def test_duplicate_list_map_keys() -> None:
    rc = ray_cluster()
    containers = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"]
    containers.append(copy.deepcopy(containers[0]) | {"ports": []})
    # protocol defaults to TCP, so these two collide on (containerPort, protocol)
    containers[0]["ports"].append({"name": "gcs-again", "containerPort": 6379, "protocol": "TCP"})
    assert sorted(messages(validate_objects([rc]), "crd")) == [
        "spec.headGroupSpec.template.spec.containers[0].ports[4]: duplicate entry for key (containerPort=6379, protocol='TCP'), "
        "first at index 0 (x-kubernetes-list-type: map)",
        "spec.headGroupSpec.template.spec.containers[1]: duplicate entry for key (name='ray-head'), "
        "first at index 0 (x-kubernetes-list-type: map)",
    ]


@pytest.mark.parametrize("value", [8265, "dashboard"])
def test_int_or_string_accepts_both(value: int | str) -> None:
    rc = ray_cluster()
    head = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    head["readinessProbe"] = {"httpGet": {"path": "/", "port": value}}
    head["resources"]["limits"]["cpu"] = 2 if isinstance(value, int) else "2"
    assert validate_objects([rc]) == []


def test_int_or_string_rejects_other_types() -> None:
    rc = ray_cluster()
    rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/", "port": True}}
    assert messages(validate_objects([rc]), "crd") == [
        "spec.headGroupSpec.template.spec.containers[0].readinessProbe.httpGet.port: expected integer or string, got boolean True"
    ]


def test_dask_crd_int_or_string_is_declared_as_string() -> None:
    dc = dask_cluster()
    dc["spec"]["scheduler"]["service"]["ports"][0]["targetPort"] = 8786
    assert messages(validate_objects([dc])) == [
        "spec.scheduler.service.ports[0].targetPort: expected string, got integer 8786 (the CRD declares type string with format "
        "int-or-string: only strings are accepted, e.g. a port name)"
    ]


def test_quantity_pattern() -> None:
    rc = ray_cluster()
    rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = "4 GB"
    (msg,) = messages(validate_objects([rc]), "crd")
    assert msg.startswith("spec.headGroupSpec.template.spec.containers[0].resources.limits.memory: '4 GB' is not a valid quantity")


def test_cel_rules() -> None:
    job: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "job", "namespace": "ml"},
        "spec": {
            "entrypoint": "python run.py",
            "shutdownAfterJobFinishes": True,
            "managedBy": "someone-else",
            "deletionStrategy": {"onSuccess": {"policy": "DeleteCluster"}},
            "rayClusterSpec": ray_cluster()["spec"],
        },
    }
    assert sorted(messages(validate_objects([job]), "crd")) == [
        "spec.deletionStrategy: deletionStrategy requires either BOTH onSuccess and onFailure, "
        "OR the deletionRules field (cannot be empty) "
        "(x-kubernetes-validations: ((has(self.onSuccess) && has(self.onFailure)) || has(self.deletionRules)))",
        "spec.managedBy: the managedBy field value must be either 'ray.io/kuberay-operator' or 'kueue.x-k8s.io/multikueue' "
        "(x-kubernetes-validations: self in ['ray.io/kuberay-operator', 'kueue.x-k8s.io/multikueue'])",
    ]
    job["spec"]["deletionStrategy"]["onFailure"] = {"policy": "DeleteNone"}
    job["spec"]["managedBy"] = "ray.io/kuberay-operator"
    assert validate_objects([job]) == []


def test_metadata_nulls_and_status() -> None:
    rc = ray_cluster()
    rc["metadata"]["uid"] = "1234"
    rc["metadata"]["labels"]["bad key!"] = "x"
    rc["spec"]["suspend"] = None
    rc["status"] = {"state": "ready"}
    assert sorted(messages(validate_objects([rc]), "crd")) == [
        "metadata.labels[\"bad key!\"]: invalid label key: 'bad key!' is not a valid key: letters, digits, '-', '_' and "
        "'.', starting and ending with a letter or digit, optionally after a DNS prefix and '/' (example.com/my-key)",
        "metadata.uid: unknown metadata field 'uid' (a manifest may set only name, namespace, labels, annotations, generateName, "
        "ownerReferences, finalizers)",
        "spec.suspend: null value would be dropped by the API server (field is not nullable)",
        "status: status is ignored on create: the CRD has a status subresource (only the controller sets it)",
    ]


def test_pod_template_rules_beyond_the_crd_schema() -> None:
    rc = ray_cluster()
    head = rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    head["imagePullPolicy"] = "Sometimes"
    head["volumeMounts"] = [{"name": "missing", "mountPath": "/data"}]
    assert sorted(messages(validate_objects([rc]), "schema")) == [
        "spec.headGroupSpec.template.spec.containers[0].imagePullPolicy: 'Sometimes' is not a pull policy: one of Always, "
        "IfNotPresent, Never (rejected when the operator creates it)",
        "spec.headGroupSpec.template.spec.containers[0].volumeMounts[0].name: 'missing' is not a volume of the pod: add it to "
        "volumes (the pod has none) (rejected when the operator creates it)",
    ]


# --------------------------------------------------------------------------------------------------------------
# schema: built-in kinds
# --------------------------------------------------------------------------------------------------------------


def test_builtin_service_unknown_field_and_ingress_bad_path_type() -> None:
    svc, ing = service(), ingress()
    svc["spec"]["foo"] = 1
    ing["spec"]["rules"][0]["http"]["paths"][0]["pathType"] = "Fuzzy"
    assert messages(validate_objects([ray_cluster(), svc, ing])) == [
        "spec.foo: unknown field 'foo' (not in io.k8s.api.core.v1.ServiceSpec of Kubernetes 1.31)",
        "spec.rules[0].http.paths[0].pathType: 'Fuzzy' is not one of ['Exact', 'Prefix', 'ImplementationSpecific']",
    ]


def test_builtin_strict_schema_agrees_with_kubernetes_validate() -> None:
    good, bad = service(), service()
    bad["spec"]["ports"][0]["port"] = "80"
    bad["spec"]["foo"] = 1
    kubernetes_validate.validate(good, "1.31", strict=True)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, "1.31", strict=True)
    assert builtin.strict_issues(good, "1.31") == []
    assert sorted(builtin.strict_issues(bad, "1.31")) == [
        ("spec.foo", "unknown field 'foo' (not in io.k8s.api.core.v1.ServiceSpec of Kubernetes 1.31)"),
        ("spec.ports[0].port", "expected integer, got string '80'"),
    ]


def test_builtin_api_server_rules() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ml"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "ports": [{"name": "http_port", "containerPort": 70000}],
                            "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1", "memory": "lots"}},
                        }
                    ]
                },
            },
        },
    }
    assert sorted(messages(validate_objects([deployment]))) == [
        "spec.selector: selector does not match template labels",
        "spec.template.spec.containers[0].ports[0].containerPort: 70000 is not a container port: port numbers are 1 to 65535",
        "spec.template.spec.containers[0].ports[0].name: port name 'http_port' must be lower-case letters, digits and '-' "
        "(no '--', no '-' at either end)",
        "spec.template.spec.containers[0].resources.limits.memory: 'lots' is not a Kubernetes quantity",
        "spec.template.spec.containers[0].resources.requests.cpu: '2' is above the limit '1': a request is at most the limit",
    ]


def test_unsupported_kubernetes_version_is_a_finding() -> None:
    (f,) = only(validate_objects([service()], kubernetes_version="1.99"), "schema")
    assert f.message.startswith("kubernetes-validate has no schemas for Kubernetes 1.99 (supported: 1.25-")


def test_kubernetes_version_changes_the_schema() -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    pod["spec"]["resources"] = {"limits": {"cpu": "1"}}  # pod-level resources arrived in Kubernetes 1.32
    assert messages(validate_objects([pod], "1.31")) == [
        "spec.resources: unknown field 'resources' (not in io.k8s.api.core.v1.PodSpec of Kubernetes 1.31)"
    ]
    assert validate_objects([pod], "1.32") == []


# --------------------------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------------------------


def test_dangling_service_selector_and_target_port() -> None:
    svc = service()
    svc["spec"]["selector"] = {"app": "nope"}
    assert messages(validate_objects([ray_cluster(), svc, ingress()])) == [
        "spec.selector: selector {app=nope} of Service train-dashboard matches no pod template in namespace ml"
    ]
    svc = service()
    svc["spec"]["ports"][0]["targetPort"] = "dash"
    assert messages(validate_objects([ray_cluster(), svc])) == [
        "spec.ports[0].targetPort: no pod selected by Service train-dashboard has a container port named 'dash' "
        "(named ports: client, dashboard, gcs, metrics)"
    ]


def test_ingress_backend_missing_service_and_port() -> None:
    ing = ingress()
    paths = ing["spec"]["rules"][0]["http"]["paths"]
    paths[0]["backend"]["service"]["name"] = "missing"
    paths[1]["backend"]["service"]["port"] = {"number": 9999}
    paths.append({"path": "/x", "pathType": "Prefix", "backend": {"service": {"name": "train-dashboard", "port": {"name": "http"}}}})
    assert messages(validate_objects([ray_cluster(), service(), ing])) == [
        "spec.rules[0].http.paths[0].backend.service.name: backend Service 'missing' does not exist in namespace ml "
        "(not in the manifests, not created by an operator)",
        "spec.rules[0].http.paths[1].backend.service.port.number: Service train-head-svc has no port 9999 "
        "(ports: client:10001, dashboard:8265, gcs:6379, metrics:8080)",
        "spec.rules[0].http.paths[2].backend.service.port.name: Service train-dashboard has no port named 'http' (ports: dashboard:8265)",
    ]


def test_service_monitor_port_that_no_service_has() -> None:
    sm = service_monitor()
    sm["spec"]["endpoints"].append({"port": "prom"})
    assert messages(validate_objects([ray_cluster(), sm])) == [
        "spec.endpoints[1].port: no selected Service has a port named 'prom' "
        "(selected: train-head-svc [client:10001, dashboard:8265, gcs:6379, metrics:8080])"
    ]
    sm = service_monitor()
    sm["spec"]["namespaceSelector"] = {"matchNames": ["other"]}
    assert messages(validate_objects([ray_cluster(), sm])) == [
        "spec.selector: selector {ray.io/cluster=train, ray.io/node-type=head} matches no Service in namespace(s) other"
    ]


def test_kuberay_head_service_defaults_when_the_head_declares_no_ports() -> None:
    rc = ray_cluster()
    del rc["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]
    services = references.collect([rc])[1]
    assert [(s.name, s.describe_ports()) for s in services] == [
        ("train-head-svc", "client:10001, dashboard:8265, gcs-server:6379, metrics:8080, serve:8000")
    ]


def test_pod_monitor_and_network_policy() -> None:
    pm = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "dask", "namespace": "data"},
        "spec": {
            "selector": {"matchLabels": {"dask.org/cluster-name": "etl", "dask.org/component": "scheduler"}},
            "podMetricsEndpoints": [{"port": "http-dashboard"}, {"port": "metrics"}],
        },
    }
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": "data"},
        "spec": {"podSelector": {"matchLabels": {"dask.org/component": "workers"}}, "policyTypes": ["Ingress"]},
    }
    assert messages(validate_objects([dask_cluster(), pm, netpol])) == [
        "spec.podMetricsEndpoints[1].port: no selected pod has a container port named 'metrics' (named ports: http-dashboard, tcp-comm)",
        "spec.podSelector: podSelector {dask.org/component=workers} matches no pod template in namespace data "
        "(the policy applies to none of these pods)",
    ]


def test_dask_scheduler_service_selector_must_match_the_operator_labels() -> None:
    dc = dask_cluster()
    dc["spec"]["scheduler"]["service"]["selector"] = {"app": "dask-scheduler"}
    assert messages(validate_objects([dc])) == [
        "spec.scheduler.service.selector: selector {app=dask-scheduler} of Service etl-scheduler matches no pod template in namespace data"
    ]


def test_rayservice_without_a_serve_port() -> None:
    svc = {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": "fruit", "namespace": "ml"},
        "spec": {"serveConfigV2": "applications: []\n", "rayClusterConfig": ray_cluster()["spec"]},
    }
    assert messages(validate_objects([svc]), "references") == [
        "spec.rayClusterConfig.headGroupSpec.template.spec.containers[0].ports: KubeRay cannot create the serve Service: "
        "the Ray head container declares ports but none named 'serve'"
    ]


# --------------------------------------------------------------------------------------------------------------
# ray-autoscaler
# --------------------------------------------------------------------------------------------------------------


def test_ray_autoscaler_rejects_a_bad_resource_quantity() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["resources"] = {"CPU": "four"}  # the CRD only says: a string
    assert messages(validate_objects([rc])) == [
        "spec.workerGroupSpecs[0]: Ray autoscaler rejects this worker group: ValueError: Invalid number format: four"
    ]


def test_ray_autoscaler_rejects_fractional_num_cpus() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["rayStartParams"]["num-cpus"] = "1.5"
    assert messages(validate_objects([rc])) == [
        "spec.workerGroupSpecs[0]: Ray autoscaler rejects this worker group: ValueError: invalid literal for int() with base 10: '1.5'"
    ]


def test_ray_autoscaler_needs_a_cpu_count() -> None:
    rc = ray_cluster()
    head = rc["spec"]["headGroupSpec"]
    del head["rayStartParams"]["num-cpus"]
    del head["template"]["spec"]["containers"][0]["resources"]
    assert messages(validate_objects([rc])) == [
        "spec.headGroupSpec: Ray autoscaler rejects the head group: ValueError: Autoscaler failed to detect `CPU` resources for group "
        "headgroup. Set the `--num-cpus` rayStartParam and/or the CPU resource limit for the Ray container."
    ]


def test_ray_autoscaler_cpu_mismatch() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["rayStartParams"]["num-cpus"] = "8"
    assert messages(validate_objects([rc])) == [
        "spec.workerGroupSpecs[0].rayStartParams.num-cpus: rayStartParams num-cpus=8 disagrees with the container limits.cpu '4' "
        "(rounded up: 4); the autoscaler schedules group 'cpu' as 8 CPUs"
    ]
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["resources"] = {"CPU": "16"}  # wins in Ray's autoscaler and in KubeRay's ray start
    assert messages(validate_objects([rc])) == []


def test_ray_autoscaler_rounds_fractional_cpu_up() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = "1500m"
    rc["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "1500m"
    assert validate_objects([rc]) == []
    config = consumers._autoscaling_config()._derive_autoscaling_config_from_ray_cr(consumers.as_ray_cluster(rc, rc["spec"]))
    assert config["available_node_types"]["cpu"]["resources"] == {"CPU": 2, "GPU": 1, "memory": 8 * 1024**3}
    assert config["available_node_types"]["headgroup"]["resources"] == {"CPU": 0, "memory": 4 * 1024**3}


def test_ray_autoscaler_min_greater_than_max() -> None:
    rc = ray_cluster()
    rc["spec"]["workerGroupSpecs"][0]["minReplicas"] = 5
    assert messages(validate_objects([rc])) == [
        "spec.workerGroupSpecs[0].minReplicas: minReplicas 5 is greater than maxReplicas 4 (KubeRay rejects the worker group)",
        "spec: Ray autoscaler rejects the cluster spec: ValueError: The specified global `max_workers` is smaller than the sum of "
        "`min_workers` of all the available node types.",
    ]


def test_ray_autoscaler_runs_on_embedded_cluster_specs() -> None:
    job: dict[str, Any] = {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": "job", "namespace": "ml"},
        "spec": {"entrypoint": "python run.py", "rayClusterSpec": ray_cluster()["spec"]},
    }
    job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["rayStartParams"]["num-gpus"] = "2"
    assert messages(validate_objects([job])) == [
        "spec.rayClusterSpec.workerGroupSpecs[0].rayStartParams.num-gpus: rayStartParams num-gpus=2 disagrees with the container "
        "limits.nvidia.com/gpu 1 for group 'cpu'"
    ]


# --------------------------------------------------------------------------------------------------------------
# dask-operator
# --------------------------------------------------------------------------------------------------------------


def test_dask_expansion() -> None:
    scheduler, svc, group, worker = consumers.expand_dask_cluster(dask_cluster())
    assert (scheduler["kind"], scheduler["metadata"]["name"]) == ("Deployment", "etl-scheduler")
    assert scheduler["spec"]["template"]["metadata"]["labels"] == {
        "team": "data",
        "dask.org/cluster-name": "etl",
        "dask.org/component": "scheduler",
        "sidecar.istio.io/inject": "false",
    }
    assert (svc["kind"], svc["metadata"]["name"], svc["metadata"]["namespace"]) == ("Service", "etl-scheduler", "data")
    assert (group["kind"], group["metadata"]["name"], group["spec"]["cluster"]) == ("DaskWorkerGroup", "etl-default", "etl")
    assert worker["metadata"]["name"] == "etl-default-worker-0000000000"
    assert worker["spec"]["template"]["metadata"]["labels"] == {
        "team": "data",
        "dask.org/cluster-name": "etl",
        "dask.org/workergroup-name": "etl-default",
        "dask.org/component": "worker",
        "sidecar.istio.io/inject": "false",
    }
    env = {e["name"]: e["value"] for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {
        "DASK_WORKER_NAME": "etl-default-worker-0000000000",
        "DASK_SCHEDULER_ADDRESS": "tcp://etl-scheduler.data.svc.cluster.local:8786",
    }


def test_dask_worker_group_expansion() -> None:
    wg = {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskWorkerGroup",
        "metadata": {"name": "etl-gpu", "namespace": "data"},
        "spec": {"cluster": "etl", "worker": {"replicas": 0, "spec": dask_cluster()["spec"]["worker"]["spec"]}},
    }
    (deployment,) = consumers.expand_dask_worker_group(wg, {"team": "data"})
    assert deployment["metadata"]["labels"]["dask.org/workergroup-name"] == "etl-gpu"
    assert deployment["spec"]["selector"]["matchLabels"]["team"] == "data"  # kopf.label mutates the shared dict
    assert validate_objects([dask_cluster(), wg]) == []


def test_dask_cluster_whose_expansion_fails_strict_validation() -> None:
    dc = dask_cluster()
    dc["spec"]["scheduler"]["service"]["topologyKeys"] = ["*"]  # ServiceSpec field of 1.21, removed in 1.22
    dc["spec"]["worker"]["spec"]["containers"][0]["ports"] = [{"name": "nanny", "containerPort": 70000}]
    assert messages(validate_objects([dc])) == [
        "spec.scheduler.service.topologyKeys: expanded Service etl-scheduler at spec.topologyKeys: "
        "unknown field 'topologyKeys' (not in io.k8s.api.core.v1.ServiceSpec of Kubernetes 1.31)",
        "spec.worker.spec.containers[0].ports[0].containerPort: expanded Deployment etl-default-worker-0000000000 at "
        "spec.template.spec.containers[0].ports[0].containerPort: 70000 is not a container port: port numbers are 1 to 65535",
    ]


def test_dask_cluster_name_rule_and_broken_expansion() -> None:
    dc = dask_cluster()
    dc["metadata"]["name"] = "a" * 60
    assert any("Dask operator rejects the cluster name" in m for m in messages(validate_objects([dc]), "dask-operator"))
    dc = dask_cluster()
    dc["spec"]["worker"]["spec"]["containers"][0]["env"] = [{"value": "no name"}]
    findings = validate_objects([dc])
    assert messages(findings, "crd") == ["spec.worker.spec.containers[0].env[0].name: missing required field 'name'"]
    assert messages(findings, "dask-operator") == [
        "spec: Dask operator fails to expand DaskCluster: KeyError: missing field 'name' that the operator reads"
    ]


# --------------------------------------------------------------------------------------------------------------
# upstream locations
# --------------------------------------------------------------------------------------------------------------


def test_upstream_directories_exist() -> None:
    assert (upstream.kuberay_crd_dir() / "ray.io_rayclusters.yaml").is_file()
    assert (upstream.kuberay_chart_dir("ray-cluster") / "values.yaml").is_file()
    assert (upstream.prometheus_crd_dir() / "monitoring.coreos.com_servicemonitors.yaml").is_file()
    assert (upstream.dask_crd_dir() / "daskcluster.yaml").is_file()
    assert (upstream.dask_chart_dir() / "Chart.yaml").is_file()


def test_upstream_material_comes_from_the_chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert str(upstream.kuberay_crd_dir()).startswith(str(charts.cache_dir()))
    monkeypatch.setenv(charts.CACHE_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"raydask charts add-crds prometheus-operator 0\.93\.0"):
        upstream.prometheus_crd_dir()


# keep the helper types honest for mypy users of this module
_: Callable[[list[dict[str, Any]], str], list[Finding]] = validate_objects


def test_one_owner_for_name_and_quantity_rules() -> None:
    """The validators and the config-time checks apply the same rule with the same words (raydask.k8s)."""
    from raydask.k8s import naming, quantities

    for name in ("dns1123_label_error", "dns1123_subdomain_error", "qualified_name_error", "port_name_error"):
        assert getattr(builtin, name) is getattr(naming, name)
    assert builtin.dns1035_label_error("Bad") == naming.dns1035_error("Bad")
    assert builtin.label_value_error("a b") == naming.label_value_error("a b")
    with pytest.raises(ValueError) as exc:
        quantities.parse("4 GB")
    assert builtin.quantity_error("4 GB") == str(exc.value)
    assert builtin.parse_quantity("1.5Gi") == quantities.parse("1.5Gi")


def test_a_crd_is_checked_once_per_process_whatever_the_number_of_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every stack installs the same megabyte-sized CRDs: ``raydask validate dev production`` walks each one once, and
    each stack still gets its findings."""
    import raydask.offline.validation as validation

    crd_doc = next(d for d in charts.LocalChart("kuberay-operator", "1.7.0", kuberay_chart("1.7.0")).crds()
                   if d["spec"]["names"]["kind"] == "RayCluster")
    calls: list[str] = []
    checked = validation._checked
    monkeypatch.setattr(validation, "_checked", lambda obj, version: calls.append(obj["kind"]) or checked(obj, version))
    monkeypatch.setattr(validation, "_CRD_RESULTS", {})
    broken = copy.deepcopy(crd_doc)
    broken["metadata"]["name"] = "others.ray.io"
    broken["spec"]["versions"][0]["served"] = "yes"
    first = validate_objects([crd_doc, broken, ray_cluster()])
    second = validate_objects([copy.deepcopy(crd_doc), copy.deepcopy(broken), ray_cluster()])
    assert calls == ["CustomResourceDefinition", "CustomResourceDefinition", "RayCluster", "RayCluster"]
    assert first == second and [f.path for f in first] == ["spec.versions[0].served"], first
