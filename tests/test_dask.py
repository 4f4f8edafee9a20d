"""Dask on Kubernetes: DaskOperator (Helm release, CRD lifecycle, chart monitors) and DaskCluster, alone and in both stacks."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from captured import options_seen
from stack_renders import ROOT, stack_config
from upstream import dask_wheel_chart

from raydask import DaskCluster, DaskOperator, charts
from raydask.builders.dask import DEFAULT_SCHEDULER_ROUTES, build_dask_cluster, operator_values
from raydask.errors import ConfigError
from raydask.k8s import quantities
from raydask.k8s.manifest import CRD_TYPE as CRD
from raydask.k8s.manifest import RELEASE_TYPE as RELEASE
from raydask.offline.validation import validate_objects
from raydask.offline.validation.consumers import expand_dask_cluster, expand_dask_worker_group
from raydask.program import main
from raydask.spec import DaskClusterSpec, DaskOperatorSpec, MonitoringSpec
from raydask.spec.dask import embedded_pod_spec_schema, pruned_paths
from raydask.spec.security import OFFLINE_SECRET_CONFIG

DASK_CRDS = ["daskautoscalers.kubernetes.dask.org", "daskclusters.kubernetes.dask.org", "daskjobs.kubernetes.dask.org",
             "daskworkergroups.kubernetes.dask.org"]
AUTH = {"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}
FORCED = {"pulumi.com/patchForce": "true"}
"""What registration adds to every object (raydask.k8s.manifest.owned)."""
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "privileged": False,
    "runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"},
}

FULL: dict[str, Any] = {
    "name": "etl",
    "scheduler": {"cpu": "500m", "memory": "1Gi", "serviceType": "LoadBalancer", "env": {"A": "1"}},
    "worker": {"replicas": 2, "cpu": "1", "cpuLimit": "1500m", "memory": "3Gi", "env": {"B": "2"},
               "nodeSelector": {"pool": "cpu"}, "tolerations": [{"key": "dedicated", "operator": "Exists"}],
               "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                   {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["cpu"]}]}]}}},
               "volumes": [{"name": "data", "mountPath": "/data", "readOnly": True,
                            "source": {"persistentVolumeClaim": {"claimName": "data"}}}]},
    "workerGroups": [{"name": "gpu", "replicas": 1, "cpu": "4", "memory": "16Gi", "gpus": 1,
                      "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]}],
    "autoscaling": {"minimum": 1, "maximum": 6},
    "idleTimeout": 3600,
    "dashboard": {"ingress": {"host": "dask.example.com", "className": "nginx", "tlsSecret": "dask-tls", "annotations": AUTH},
                  "allowUnauthenticated": True},  # the LoadBalancer scheduler
}


# --------------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------------

GPU_TAINT = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def run_operator(run_program: Any, spec: dict[str, Any], monitoring: MonitoringSpec | None = None, **kwargs: Any) -> Any:
    return run_program(lambda: DaskOperator("dask", spec, namespace="dask-operator", monitoring=monitoring,
                                            project_dir=ROOT, **kwargs))


def run_stack(run_program: Any, stack: str, program: Any = main, config: dict[str, Any] | None = None) -> Any:
    """The whole program with a stack's config (production's secrets as the offline render passes them)."""
    cfg = config or stack_config(stack)
    secrets = OFFLINE_SECRET_CONFIG if stack == "production" else {}
    return run_program(program, config={**cfg, **secrets}, secret_keys=list(secrets), stack=stack)


def run_cluster(run_program: Any, spec: dict[str, Any], **kwargs: Any) -> Any:
    return run_program(lambda: DaskCluster(spec["name"], spec, namespace="ml", **kwargs))


def by_kind(result: Any, kind: str) -> list[dict[str, Any]]:
    return [o for o in result.objects() if o["kind"] == kind]


def one(result: Any, kind: str) -> dict[str, Any]:
    (found,) = by_kind(result, kind)
    return found


def container(part: dict[str, Any]) -> dict[str, Any]:
    (c,) = part["spec"]["containers"]
    return c


def env_of(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("env", [])}


def helm_binary() -> str | None:
    found = shutil.which("helm")
    if found:
        return found
    local = ROOT / ".venv" / "bin" / "helm"
    return str(local) if local.exists() else None


def helm_template(values: dict[str, Any], namespace: str, tmp_path: Path) -> list[dict[str, Any]]:
    """``helm template`` of the wheel's chart with ``values`` (the release name the component uses)."""
    helm = helm_binary()
    if helm is None:
        pytest.skip("helm not found (shutil.which('helm') or .venv/bin/helm)")
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    out = subprocess.run([helm, "template", "dask-kubernetes-operator", str(dask_wheel_chart()), "--namespace", namespace,
                          "--values", str(values_file)], check=True, capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    for d in docs:
        if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
            d["metadata"].setdefault("namespace", namespace)
    return docs


def validate(objects: list[dict[str, Any]]) -> None:
    findings = validate_objects([o for o in objects if o["kind"] != "CustomResourceDefinition"], "1.31")
    assert findings == [], "\n".join(map(str, findings))


def dask_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stack's Dask objects (and its Namespaces): the rest is validated by the Ray and stack tests."""
    return [o for o in objects if o["kind"].startswith("Dask") or o["kind"] == "Namespace"
            or o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "dask"]


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def in_namespaces(monitor: dict[str, Any], namespace: str) -> bool:
    sel = monitor["spec"].get("namespaceSelector", {})
    return sel.get("any") is True or namespace in sel.get("matchNames", [monitor["metadata"]["namespace"]])


def scrapes(monitors: list[dict[str, Any]], expanded: list[dict[str, Any]]) -> dict[str, int]:
    """How many (monitor endpoint, target) pairs reach /metrics of each expanded Deployment's pods."""
    deployments = [o for o in expanded if o["kind"] == "Deployment"]
    services = [o for o in expanded if o["kind"] == "Service"]
    count = {d["metadata"]["name"]: 0 for d in deployments}
    for m in monitors:
        for d in deployments:
            ns, tpl = d["metadata"]["namespace"], d["spec"]["template"]
            if not in_namespaces(m, ns):
                continue
            ports = {p["name"] for c in tpl["spec"]["containers"] for p in c.get("ports", [])}
            labels = tpl["metadata"]["labels"]
            if m["kind"] == "PodMonitor" and matches(m["spec"]["selector"], labels):
                eps = m["spec"]["podMetricsEndpoints"]
                count[d["metadata"]["name"]] += sum(1 for e in eps if e["port"] in ports and e.get("path", "/metrics") == "/metrics")
            if m["kind"] == "ServiceMonitor":
                for s in services:
                    svc_ports = {p["name"]: p["targetPort"] for p in s["spec"]["ports"]}
                    if s["metadata"]["namespace"] != ns or not matches(m["spec"]["selector"], s["metadata"]["labels"]):
                        continue
                    if not all(labels.get(k) == v for k, v in s["spec"]["selector"].items()):
                        continue
                    count[d["metadata"]["name"]] += sum(
                        1 for e in m["spec"]["endpoints"]
                        if e["port"] in svc_ports and svc_ports[e["port"]] in ports and e.get("path", "/metrics") == "/metrics")
    return count


def expanded_objects(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the Dask operator's own builders create from every DaskCluster and DaskWorkerGroup."""
    clusters = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects if o["kind"] == "DaskCluster"}
    out: list[dict[str, Any]] = []
    for o in objects:
        if o["kind"] == "DaskCluster":
            out += expand_dask_cluster(o)
        elif o["kind"] == "DaskWorkerGroup":
            owner = clusters[(o["metadata"]["namespace"], o["spec"]["cluster"])]
            out += expand_dask_worker_group(o, owner["metadata"]["labels"])
    return out


# --------------------------------------------------------------------------------------------------------------
# DaskOperator
# --------------------------------------------------------------------------------------------------------------


def test_operator_release_is_pinned_and_skips_crds(run_program: Any) -> None:
    result = run_operator(run_program, {})
    (release,) = result.of_type(RELEASE)
    inputs = release.inputs
    assert inputs["chart"] == "dask-kubernetes-operator" and inputs["version"] == "2026.3.0"
    assert inputs["repositoryOpts"] == {"repo": "https://helm.dask.org"}
    assert inputs["namespace"] == "dask-operator" and inputs["skipCrds"] is True and inputs["name"] == "dask-kubernetes-operator"
    assert inputs["atomic"] is True and inputs["cleanupOnFail"] is True
    values = inputs["values"]
    assert values["image"] == {"name": "ghcr.io/dask/dask-kubernetes-operator", "tag": "2026.3.0", "pullPolicy": "Always"}
    assert values["rbac"] == {"create": True, "cluster": True} and values["kopfArgs"] == ["--all-namespaces"]
    assert values["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert sorted(r.inputs["metadata"]["name"] for r in result.of_type(CRD)) == DASK_CRDS
    assert result.resources[0].type == "raydask:dask:DaskOperator"


def test_operator_pods_are_restricted() -> None:
    values = operator_values(DaskOperatorSpec(), "dask-operator", None)
    assert values["podSecurityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
                                            "seccompProfile": {"type": "RuntimeDefault"}}
    assert values["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
    assert values["extraEnv"] == [{"name": "USER", "value": "dask"}]   # kopf calls getpass.getuser() when it starts


def test_operator_namespaced_rbac_emits_kopf_namespace() -> None:
    values = operator_values(DaskOperatorSpec(cluster_wide=False), "ml", MonitoringSpec())
    assert values["rbac"] == {"create": True, "cluster": False}
    assert values["kopfArgs"] == ["--namespace=ml"]
    assert values["metrics"]["scheduler"]["serviceMonitor"]["namespaceSelector"] == {"matchNames": ["ml"]}
    assert values["metrics"]["worker"]["podMonitor"]["namespaceSelector"] == {"matchNames": ["ml"]}


def test_operator_monitors_follow_stack_monitoring() -> None:
    values = operator_values(DaskOperatorSpec(), "dask-operator", MonitoringSpec(prometheus_release="kps", interval="15s"))
    sched, work = values["metrics"]["scheduler"], values["metrics"]["worker"]
    assert sched["enabled"] is True and work["enabled"] is True
    sm, pm = sched["serviceMonitor"], work["podMonitor"]
    for m in (sm, pm):
        assert m["enabled"] is True and m["additionalLabels"] == {"release": "kps"} and m["interval"] == "15s"
        assert m["namespaceSelector"] == {"any": True} and m["metricRelabelings"] == [] and m["namespace"] == "dask-operator"
    assert sm["targetLabels"] == ["dask.org/cluster-name"]
    assert pm["targetLabels"] == ["dask.org/cluster-name", "dask.org/workergroup-name"]
    for off in (operator_values(DaskOperatorSpec(), "d", None),
                operator_values(DaskOperatorSpec(monitoring=False), "d", MonitoringSpec()),
                operator_values(DaskOperatorSpec(), "d", MonitoringSpec(enabled=False))):
        assert off["metrics"]["scheduler"]["enabled"] is False and off["metrics"]["scheduler"]["serviceMonitor"]["enabled"] is False
        assert off["metrics"]["worker"]["enabled"] is False and off["metrics"]["worker"]["podMonitor"]["enabled"] is False


def test_operator_escape_hatch_is_merged_last() -> None:
    spec = DaskOperatorSpec.model_validate({
        "image": "registry.example.com/dask-operator:2026.3.0@sha256:" + "a" * 64,
        "values": {"nodeSelector": {"pool": "system"}, "metrics": {"worker": {"podMonitor": {"interval": "5s"}}},
                   "workerAllocation": {"size": 10}},
    })
    values = operator_values(spec, "dask-operator", MonitoringSpec())
    assert values["nodeSelector"] == {"pool": "system"} and values["workerAllocation"] == {"size": 10}
    assert values["metrics"]["worker"]["podMonitor"]["interval"] == "5s"
    assert values["metrics"]["worker"]["podMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}
    assert values["image"]["name"] == "registry.example.com/dask-operator"
    assert values["image"]["tag"] == "2026.3.0@sha256:" + "a" * 64


@pytest.mark.parametrize("cluster_wide", [True, False])
def test_helm_renders_the_operator_and_monitors(tmp_path: Path, cluster_wide: bool) -> None:
    ns = "dask-operator" if cluster_wide else "ml"
    values = operator_values(DaskOperatorSpec(cluster_wide=cluster_wide), ns, MonitoringSpec(interval="20s"))
    docs = helm_template(values, ns, tmp_path)
    kinds = sorted(d["kind"] for d in docs)
    rbac = ["ClusterRole", "ClusterRoleBinding"] if cluster_wide else ["Role", "RoleBinding"]
    assert kinds == sorted(["Deployment", "PodMonitor", "ServiceAccount", "ServiceMonitor", *rbac])
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "ghcr.io/dask/dask-kubernetes-operator:2026.3.0"
    assert c["args"] == ["--liveness=http://0.0.0.0:8080/healthz", "--all-namespaces" if cluster_wide else "--namespace=ml"]
    assert c["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
    assert {"name": "USER", "value": "dask"} in c["env"]
    assert deploy["spec"]["template"]["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    (sm,) = [d for d in docs if d["kind"] == "ServiceMonitor"]
    (pm,) = [d for d in docs if d["kind"] == "PodMonitor"]
    selector = {"any": True} if cluster_wide else {"matchNames": ["ml"]}
    assert sm["metadata"]["labels"]["release"] == "kube-prometheus-stack" and sm["metadata"]["namespace"] == ns
    assert sm["spec"]["endpoints"] == [{"interval": "20s", "port": "http-dashboard"}]  # path: Prometheus' default /metrics
    assert sm["spec"]["targetLabels"] == ["dask.org/cluster-name"] and sm["spec"]["namespaceSelector"] == selector
    assert sm["spec"]["selector"] == {"matchLabels": {"dask.org/component": "scheduler"}}
    assert pm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert pm["spec"]["podMetricsEndpoints"] == [{"interval": "20s", "port": "http-dashboard"}]
    assert pm["spec"]["podTargetLabels"] == ["dask.org/cluster-name", "dask.org/workergroup-name"]
    assert pm["spec"]["namespaceSelector"] == selector
    assert pm["spec"]["selector"] == {"matchLabels": {"dask.org/component": "worker"}}
    without = helm_template(operator_values(DaskOperatorSpec(), ns, None), ns, tmp_path)
    assert not {"ServiceMonitor", "PodMonitor"} & {d["kind"] for d in without}


def test_chart_monitors_scrape_every_scheduler_and_worker_exactly_once(run_program: Any, project_root: Path,
                                                                       tmp_path: Path) -> None:
    result = run_stack(run_program, "production")
    (release,) = [r for r in result.of_type(RELEASE) if r.inputs["chart"] == "dask-kubernetes-operator"]
    rendered = helm_template(release.inputs["values"], release.inputs["namespace"], tmp_path)
    monitors = [d for d in rendered if d["kind"] in ("ServiceMonitor", "PodMonitor")]
    objects = [o for o in result.objects() if o["kind"] != "CustomResourceDefinition"]
    assert not [o for o in objects if o["kind"] in ("ServiceMonitor", "PodMonitor") and "dask" in json.dumps(o["spec"])]
    counts = scrapes(monitors, expanded_objects(objects))
    assert counts == {"analytics-scheduler": 1, "analytics-default-worker-0000000000": 1, "analytics-gpu-worker-0000000000": 1}
    validate([*dask_objects(objects), *monitors, *(d for d in rendered if d["kind"] == "Deployment")])


def test_crds_are_retained_and_the_release_waits_for_them(run_program: Any) -> None:
    seen, capture = options_seen()
    run_operator(run_program, {}, opts=pulumi.ResourceOptions(transformations=[capture]))
    crds = sorted(n for n in seen if "-crd-" in n)
    assert crds == [f"dask-crd-{n}" for n in DASK_CRDS]
    assert all(seen[n].retain_on_delete is True for n in crds)
    assert seen["dask"].retain_on_delete is not True
    assert {d._type for d in seen["dask"].depends_on} == {CRD}
    assert len(seen["dask"].depends_on) == 4


def test_crds_carry_patch_force_and_version(run_program: Any) -> None:
    result = run_operator(run_program, {})
    for r in result.of_type(CRD):
        meta = r.inputs["metadata"]
        assert meta["annotations"]["pulumi.com/patchForce"] == "true"
        assert meta["labels"]["app.kubernetes.io/version"] == "2026.3.0"
        assert "status" not in r.inputs


def test_version_bump_updates_crds_in_place(run_program: Any, tmp_path: Path) -> None:
    """The next version's chart (here a local chart directory) brings its CRDs: same resources, new schema and label."""
    new = tmp_path / "dask-kubernetes-operator"
    shutil.copytree(dask_wheel_chart(), new)
    meta = yaml.safe_load((new / "Chart.yaml").read_text())
    (new / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "2026.4.0", "appVersion": "2026.4.0"}))
    doc = yaml.safe_load((new / "crds" / "daskcluster.yaml").read_text())
    doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["newField"] = {"type": "string"}
    (new / "crds" / "daskcluster.yaml").write_text(yaml.safe_dump(doc))
    old = run_operator(run_program, {})
    bumped = run_operator(run_program, {"version": "2026.4.0", "chart": {"path": str(new)}})
    old_crds = {r.name: r.inputs for r in old.of_type(CRD)}
    new_crds = {r.name: r.inputs for r in bumped.of_type(CRD)}
    assert old_crds.keys() == new_crds.keys()
    key = "dask-crd-daskclusters.kubernetes.dask.org"
    props = new_crds[key]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "newField" in props
    assert "newField" not in old_crds[key]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert new_crds[key]["metadata"]["labels"]["app.kubernetes.io/version"] == "2026.4.0"
    assert new_crds[key]["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    (release,) = bumped.of_type(RELEASE)
    assert release.inputs["chart"] == str(new) and release.inputs["values"]["image"]["tag"] == "2026.4.0"


def test_unmanaged_crds_leave_them_to_helm(run_program: Any) -> None:
    result = run_operator(run_program, {"crds": {"manage": False}})
    assert result.of_type(CRD) == []
    assert result.of_type(RELEASE)[0].inputs["skipCrds"] is False


def test_chart_source_errors(run_program: Any, tmp_path: Path) -> None:
    with pytest.raises(charts.ChartError) as missing:  # a chart problem, not a configuration error
        run_operator(run_program, {"version": "2026.1.0", "chart": {"repo": "http://127.0.0.1:9/"}})
    problem = str(missing.value)
    assert problem.startswith("raydask:daskOperator.chart: cannot fetch http://127.0.0.1:9/index.yaml: ")
    assert "Provide chart dask-kubernetes-operator 2026.1.0 one of these ways" in problem
    assert "set raydask:daskOperator.chart.path" in problem
    with pytest.raises(ConfigError) as exc:
        run_operator(run_program, {"chart": {"path": str(dask_wheel_chart())}})  # the wheel's Chart.yaml carries placeholders
    assert exc.value.problems[0].startswith(f"raydask:daskOperator.chart: the chart at '{dask_wheel_chart()}' is version "
                                            "0.0.1-set.by.chartpress, not 2026.3.0")


@pytest.mark.parametrize(("spec", "message"), [
    ({"image": "ghcr.io/dask/dask-kubernetes-operator@sha256:" + "b" * 64},
     "raydask:daskOperator.image: 'ghcr.io/dask/dask-kubernetes-operator@sha256:" + "b" * 64 + "' has no tag: the chart "
     "renders '<name>:<tag>' (a digest may follow the tag)"),
    ({"image": "ghcr.io/dask/dask-kubernetes-operator:latest"},
     "raydask:daskOperator.image: 'ghcr.io/dask/dask-kubernetes-operator:latest' uses the ':latest' tag; pin a version tag or a digest"),
    ({"values": {"kopfArgs": ["--verbose"]}},
     "raydask:daskOperator.values.kopfArgs: set by clusterWide (--all-namespaces or --namespace=<operator namespace>)"),
    ({"values": {"rbac": {"cluster": False}}}, "raydask:daskOperator.values.rbac.cluster: set by clusterWide"),
    ({"values": {"metrics": {"scheduler": {"serviceMonitor": {"metricRelabelings": [{"action": "drop"}]}}}}},
     "raydask:daskOperator.values.metrics.scheduler.serviceMonitor.metricRelabelings: must stay empty: the chart's template "
     "cannot render it (toYaml is called with two arguments)"),
    ({"values": {"metrics": {"worker": {"podMonitor": {"podTargetLabels": ["team"]}}}}},
     "raydask:daskOperator.values.metrics.worker.podMonitor.podTargetLabels: the chart ignores this key; its PodMonitor "
     "template reads targetLabels"),
    ({"version": "2026.3"}, "raydask:daskOperator.version: '2026.3' is not a pinned chart version such as '1.7.0' (major.minor.patch, "
                            "no ranges)"),
    ({"clusterwide": False}, "raydask:daskOperator.clusterwide: unknown key (did you mean 'clusterWide'?)"),
    ({"resources": {"memory": "1GB"}}, "raydask:daskOperator.resources.memory: '1GB' is not a Kubernetes quantity (use G or Gi)"),
])
def test_operator_rules(run_program: Any, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        run_operator(run_program, spec)
    assert exc.value.problems == [message]


def test_operator_without_namespace_is_a_config_error(run_program: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: DaskOperator("dask", {}, project_dir=ROOT))
    assert exc.value.problems == ["raydask:daskOperator.namespace: required (no stack namespace given)"]


# --------------------------------------------------------------------------------------------------------------
# DaskCluster
# --------------------------------------------------------------------------------------------------------------


def test_default_cluster(run_program: Any) -> None:
    result = run_cluster(run_program, {"name": "demo"})
    assert [r.type for r in result.resources] == ["raydask:dask:DaskCluster", "kubernetes:kubernetes.dask.org/v1:DaskCluster",
                                                  "kubernetes:kubernetes.dask.org/v1:DaskClusterPatch"]
    dc = one(result, "DaskCluster")
    assert dc["apiVersion"] == "kubernetes.dask.org/v1" and dc["metadata"]["namespace"] == "ml"
    assert "idleTimeout" not in dc["spec"]
    sched = dc["spec"]["scheduler"]
    c = container(sched)
    assert c["image"] == "ghcr.io/dask/dask:2026.8.0"
    assert c["args"] == ["dask", "scheduler", "--host", "0.0.0.0", "--port", "8786", "--dashboard-address", ":8787"]
    assert c["ports"] == [{"name": "tcp-comm", "containerPort": 8786, "protocol": "TCP"},
                          {"name": "http-dashboard", "containerPort": 8787, "protocol": "TCP"}]
    assert c["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    assert c["readinessProbe"]["httpGet"] == {"port": "http-dashboard", "path": "/health"}
    assert c["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
    assert sched["spec"]["securityContext"]["runAsNonRoot"] is True and sched["spec"]["securityContext"]["runAsUser"] == 10001
    assert sched["service"] == {
        "type": "ClusterIP",
        "selector": {"dask.org/cluster-name": "demo", "dask.org/component": "scheduler"},
        "ports": [{"name": "tcp-comm", "protocol": "TCP", "port": 8786, "targetPort": "tcp-comm"},
                  {"name": "http-dashboard", "protocol": "TCP", "port": 8787, "targetPort": "http-dashboard"}],
    }
    worker = dc["spec"]["worker"]
    w = container(worker)
    assert worker["replicas"] == 1
    assert w["args"] == ["dask", "worker", "--name", "$(DASK_WORKER_NAME)", "--nthreads", "1", "--memory-limit", str(2 * 2**30),
                         "--dashboard-address", "8788", "--worker-port", "8789", "--nanny-port", "8790"]
    assert [p["name"] for p in w["ports"]] == ["http-dashboard", "tcp-worker", "tcp-nanny"]
    assert w["env"] == [{"name": "HOME", "value": "/tmp"}, {"name": "USER", "value": "dask"}] and w["workingDir"] == "/tmp"
    assert w["volumeMounts"] == [{"name": "dask-tmp", "mountPath": "/tmp"}]
    assert worker["metadata"]["labels"]["app.kubernetes.io/component"] == "worker-default"
    validate(result.objects())


def test_ports_are_the_dask_operators_own() -> None:
    """The scheduler's and the workers' dashboard ports are where the Dask operator's own specs put them (its
    ``make_scheduler_spec`` / ``make_worker_spec``, which every Dask example copies): 8787 and 8788, both
    ``http-dashboard``; raydask's fixed worker and nanny ports take none of them."""
    pytest.importorskip("dask_kubernetes")
    from dask_kubernetes.operator.kubecluster.kubecluster import make_scheduler_spec, make_worker_spec

    from raydask.builders.dask import worker_args
    from raydask.k8s.ports import DaskPorts
    from raydask.spec.dask import DaskWorkerSpec

    theirs = make_worker_spec()["spec"]["containers"][0]
    ours = dict(DaskPorts.worker())
    for port in theirs["ports"]:
        assert ours[port["name"]] == port["containerPort"]
    args = theirs["args"]
    assert worker_args(DaskWorkerSpec())[worker_args(DaskWorkerSpec()).index("--dashboard-address") + 1] == \
        args[args.index("--dashboard-address") + 1]
    scheduler = make_scheduler_spec("demo")["spec"]["containers"][0]
    assert {p["name"]: p["containerPort"] for p in scheduler["ports"]} == dict(DaskPorts.scheduler())
    assert len(set(ours.values()) | {DaskPorts.COMM, DaskPorts.DASHBOARD}) == 5


def test_scheduler_http_routes_keep_the_defaults_and_add_the_api(run_program: Any) -> None:
    import dask.config
    import distributed

    routes = env_of(container(one(run_cluster(run_program, {"name": "demo"}), "DaskCluster")["spec"]["scheduler"]))
    value = routes["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"]
    parsed = dask.config.collect_env({"DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES": value})
    got = parsed["distributed"]["scheduler"]["http"]["routes"]
    shipped = yaml.safe_load((Path(distributed.__file__).parent / "distributed.yaml").read_text())
    defaults = shipped["distributed"]["scheduler"]["http"]["routes"]
    assert list(DEFAULT_SCHEDULER_ROUTES) == defaults
    assert got == [*defaults, "distributed.http.scheduler.api"]
    assert {"distributed.http.scheduler.prometheus", "distributed.http.health"} <= set(got)


def test_full_cluster(run_program: Any) -> None:
    result = run_cluster(run_program, FULL)
    dc = one(result, "DaskCluster")
    assert dc["spec"]["idleTimeout"] == 3600
    sched = dc["spec"]["scheduler"]
    assert sched["service"]["type"] == "LoadBalancer"
    assert env_of(container(sched))["A"] == "1"
    assert container(sched)["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    worker = dc["spec"]["worker"]
    w = container(worker)
    assert worker["replicas"] == 2
    assert w["args"][4:8] == ["--nthreads", "2", "--memory-limit", str(3 * 2**30)]
    assert w["resources"] == {"requests": {"cpu": "1", "memory": "3Gi"}, "limits": {"cpu": "1500m", "memory": "3Gi"}}
    assert env_of(w) == {"B": "2", "HOME": "/tmp", "USER": "dask"}
    assert w["volumeMounts"] == [{"name": "dask-tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": "/data", "readOnly": True}]
    pod = worker["spec"]
    assert pod["volumes"] == [{"name": "dask-tmp", "emptyDir": {}}, {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}]
    assert pod["nodeSelector"] == {"pool": "cpu"} and pod["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert pod["affinity"] == FULL["worker"]["affinity"]
    (wg,) = by_kind(result, "DaskWorkerGroup")
    assert wg["metadata"]["name"] == "etl-gpu" and wg["spec"]["cluster"] == "etl"
    assert wg["metadata"]["labels"]["dask.org/cluster-name"] == "etl"
    g = container(wg["spec"]["worker"])
    assert wg["spec"]["worker"]["replicas"] == 1
    assert g["resources"]["limits"] == {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"}
    assert g["args"][-2:] == ["--resources", "GPU=1"]
    assert wg["spec"]["worker"]["spec"]["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert wg["spec"]["worker"]["metadata"]["labels"]["app.kubernetes.io/component"] == "worker-gpu"
    autoscaler = one(result, "DaskAutoscaler")
    assert autoscaler["metadata"]["name"] == "etl" and autoscaler["spec"] == {"cluster": "etl", "minimum": 1, "maximum": 6}
    ing = one(result, "Ingress")
    assert ing["metadata"]["name"] == "etl-dashboard"
    assert ing["metadata"]["annotations"] == {**AUTH, "raydask.io/allow-unauthenticated-dashboard": "true", **FORCED}
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["dask.example.com"], "secretName": "dask-tls"}]
    backend = ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "etl-scheduler", "port": {"name": "http-dashboard"}}}
    validate(result.objects())


def test_worker_overrides(run_program: Any) -> None:
    spec = {"name": "w", "worker": {"cpu": "2", "memory": "8Gi", "nthreads": 8, "memoryLimit": "6Gi", "gpus": 2,
                                    "tolerations": GPU_TAINT,
                                    "workerResources": {"MEMORY": 6e9, "GPU": 1}, "extraArgs": ["--lifetime", "1h"]}}
    w = container(one(run_cluster(run_program, spec), "DaskCluster")["spec"]["worker"])
    assert w["args"][4:8] == ["--nthreads", "8", "--memory-limit", "6Gi"]  # as written: Dask reads it
    assert w["args"][-4:] == ["--resources", "GPU=1,MEMORY=6e+09", "--lifetime", "1h"]
    assert w["resources"]["limits"]["nvidia.com/gpu"] == "2"


def test_dask_memory_syntax(run_program: Any) -> None:
    """Dask's own byte units, as the Dask docs write them (``--memory-limit 6GB``): kept as written where Dask reads
    them, written as the Kubernetes quantity of the same amount where the container's limit is emitted."""
    spec = {"name": "w", "worker": {"cpu": "2", "memory": "6GB", "memoryLimit": "6GB"}, "scheduler": {"memory": "1 GB"},
            "workerGroups": [{"name": "big", "memory": "1.5GiB", "memoryLimit": "1gib"}]}
    result = run_cluster(run_program, spec)
    worker = container(one(result, "DaskCluster")["spec"]["worker"])
    assert worker["resources"]["limits"]["memory"] == worker["resources"]["requests"]["memory"] == "6G"
    assert worker["args"][worker["args"].index("--memory-limit") + 1] == "6GB"
    assert container(one(result, "DaskCluster")["spec"]["scheduler"])["resources"]["limits"]["memory"] == "1G"
    big = container(one(result, "DaskWorkerGroup")["spec"]["worker"])
    assert big["resources"]["limits"]["memory"] == "1.5Gi" and big["args"][big["args"].index("--memory-limit") + 1] == "1gib"
    validate(result.objects())


@pytest.mark.parametrize("text", ["6GB", "6 GB", "6gb", "1.5GiB", "512Mi", "512MiB", "6e9", "1e6 kB", "100", "5.4 kB",
                                  "6G", "6 foos", "abc GB", "6Ei", "1kiB", "2TB", "3P"])
def test_dask_bytes_reads_what_dask_reads(text: str) -> None:
    from dask.utils import parse_bytes

    from raydask.spec.dask import dask_bytes

    try:
        expected: int | None = parse_bytes(text)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            dask_bytes(text)
    else:
        assert dask_bytes(text) == expected


def test_cluster_outputs(run_program: Any) -> None:
    plain: list[Any] = []

    def program() -> None:
        c = DaskCluster("etl", FULL, namespace="ml")
        plain.append(c.endpoints)
        pulumi.export("address", c.scheduler_address)
        pulumi.export("dashboard", c.dashboard_url)
        pulumi.export("ingress", c.dashboard_ingress_url)
        pulumi.export("service", c.scheduler_service_name)
        pulumi.export("namespace", c.namespace)

    outputs = run_program(program).outputs
    assert outputs == {
        "address": "tcp://etl-scheduler.ml.svc.cluster.local:8786",
        "dashboard": "http://etl-scheduler.ml.svc.cluster.local:8787",
        "ingress": "https://dask.example.com/",
        "service": "etl-scheduler",
        "namespace": "ml",
    }
    ep = plain[0]
    assert (ep.scheduler_address, ep.dashboard_url, ep.dashboard_ingress_url, ep.scheduler_service) == (
        outputs["address"], outputs["dashboard"], outputs["ingress"], outputs["service"])


def test_components_accept_spec_instances(run_program: Any) -> None:
    from raydask import DaskCluster as PublicCluster
    from raydask import DaskOperator as PublicOperator

    def program() -> None:
        PublicOperator("dask", DaskOperatorSpec(namespace="ops", cluster_wide=False), project_dir=ROOT)
        PublicCluster("etl", DaskClusterSpec.model_validate(FULL), namespace="ml")

    result = run_program(program)
    (release,) = result.of_type(RELEASE)
    assert release.inputs["namespace"] == "ops" and release.inputs["values"]["kopfArgs"] == ["--namespace=ops"]
    assert one(result, "DaskCluster")["spec"]["worker"]["replicas"] == 2


def test_children_are_parented_and_wait_for_the_cluster(run_program: Any) -> None:
    seen, capture = options_seen()
    run_cluster(run_program, FULL, opts=pulumi.ResourceOptions(protect=True, transformations=[capture]))
    children = ["etl-daskworkergroup-etl-gpu", "etl-daskautoscaler-etl", "etl-ingress-etl-dashboard", "etl-daskclusterpatch-etl"]
    assert sorted(seen) == sorted(["etl", *children])
    assert seen["etl"].protect is True
    for name in children:
        assert [d._type for d in seen[name].depends_on] == ["kubernetes:kubernetes.dask.org/v1:DaskCluster"]
        assert seen[name].protect is True and seen[name].parent is not None


def test_pod_specs_fit_the_embedded_kubernetes_1_21_schema(run_program: Any) -> None:
    schema = embedded_pod_spec_schema()
    assert schema is not None
    result = run_cluster(run_program, FULL)
    parts = [one(result, "DaskCluster")["spec"]["scheduler"], one(result, "DaskCluster")["spec"]["worker"],
             *(g["spec"]["worker"] for g in by_kind(result, "DaskWorkerGroup"))]
    for part in parts:
        pod = part["spec"]
        assert list(pruned_paths(pod, schema)) == []
        assert not {"resources", "os", "hostUsers", "schedulingGates", "resourceClaims"} & set(pod)
        for c in pod["containers"]:
            assert "restartPolicy" not in c and all(p["name"] for p in c["ports"])
            for block in c["resources"].values():
                assert all(isinstance(v, str) for v in block.values())
    assert list(pruned_paths({"containers": [], "os": {"name": "linux"}}, schema)) == [("os",)]


def test_operator_expansion_keeps_our_pods(run_program: Any) -> None:
    result = run_cluster(run_program, FULL)
    objects = result.objects()
    expanded = expanded_objects(objects)
    names = sorted((o["kind"], o["metadata"]["name"]) for o in expanded)
    assert names == [("DaskWorkerGroup", "etl-default"), ("Deployment", "etl-default-worker-0000000000"),
                     ("Deployment", "etl-gpu-worker-0000000000"), ("Deployment", "etl-scheduler"), ("Service", "etl-scheduler")]
    validate([o for o in expanded if o["kind"] in ("Deployment", "Service")])
    deployments = {o["metadata"]["name"]: o for o in expanded if o["kind"] == "Deployment"}
    sched = deployments["etl-scheduler"]["spec"]["template"]
    assert sched["metadata"]["labels"]["dask.org/component"] == "scheduler"
    c = container(sched)
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "1Gi"}}
    assert "distributed.http.scheduler.api" in env_of(c)["DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES"]
    assert c["securityContext"]["runAsNonRoot"] is True and sched["spec"]["securityContext"]["runAsUser"] == 10001
    (service,) = [o for o in expanded if o["kind"] == "Service"]
    assert service["spec"]["type"] == "LoadBalancer" and [p["name"] for p in service["spec"]["ports"]] == ["tcp-comm", "http-dashboard"]
    for name, nthreads, limits in [("etl-default-worker-0000000000", "2", {"cpu": "1500m", "memory": "3Gi"}),
                                   ("etl-gpu-worker-0000000000", "4", {"cpu": "4", "memory": "16Gi", "nvidia.com/gpu": "1"})]:
        tpl = deployments[name]["spec"]["template"]
        w = container(tpl)
        assert tpl["metadata"]["labels"]["dask.org/component"] == "worker"
        assert tpl["metadata"]["labels"]["dask.org/cluster-name"] == "etl"
        assert w["args"][w["args"].index("--nthreads") + 1] == nthreads and w["resources"]["limits"] == limits
        env = env_of(w)
        assert env["DASK_SCHEDULER_ADDRESS"] == "tcp://etl-scheduler.ml.svc.cluster.local:8786"
        assert env["DASK_WORKER_NAME"] == name
        assert [p["name"] for p in w["ports"]] == ["http-dashboard", "tcp-worker", "tcp-nanny"]
        assert w["securityContext"] == {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True}
        assert tpl["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


P = "DaskCluster(c)"


@pytest.mark.parametrize(("spec", "message"), [
    ({"name": "a" * 54}, f"{P}.name: '{'a' * 54}' is 54 characters; the limit is 53"),
    ({"name": "Etl"}, f"{P}.name: 'Etl' is not a DNS-1035 label: lower-case letters, digits and '-', starting with "
                      "a letter, ending with a letter or digit (no dots or underscores)"),
    ({"worker": {"replicas": -1}}, f"{P}.worker.replicas: must be ≥ 0, got -1"),
    ({"worker": {"gpus": 1.5}}, f"{P}.worker.gpus: must be a whole number, got 1.5"),
    ({"worker": {"memory": "2XB"}}, f"{P}.worker.memory: '2XB' is neither a Kubernetes quantity ('8Gi', '6G') nor an amount in "
                                    "Dask's byte units ('6GB', '1.5GiB')"),
    ({"worker": {"memoryLimit": "6 foos"}},
     f"{P}.worker.memoryLimit: '6 foos': Dask reads no byte unit 'foos' (kB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)"),
    ({"worker": {"memoryLimit": "0.5"}},
     f"{P}.worker.memoryLimit: '0.5' is 0 bytes (Dask reads a number up to 1 as a fraction of the memory it finds, not an "
     "amount): give an amount with a unit, e.g. '6GB' or '6GiB'"),
    ({"worker": {"memory": "6G", "memoryLimit": "7GB"}},
     f"{P}.worker.memoryLimit: must be ≤ the container's memory limit (7GB > 6G): Dask would ignore it and spill, pause and "
     "restart the worker at the container's limit"),
    ({"worker": {"cpu": "2", "cpuLimit": "1"}}, f"{P}.worker.cpuLimit: must be at least cpu (1 < 2)"),
    ({"worker": {"nthreads": 0}}, f"{P}.worker.nthreads: must be ≥ 1, got 0"),
    ({"worker": {"memory": "2Gi", "memoryLimit": "3Gi"}},
     f"{P}.worker.memoryLimit: must be ≤ the container's memory limit (3Gi > 2Gi): Dask would ignore it and spill, pause and "
     "restart the worker at the container's limit"),
    ({"worker": {"extraArgs": ["--nthreads=4"]}}, f"{P}.worker.extraArgs[0]: '--nthreads' is set by raydask: use the nthreads key"),
    ({"worker": {"extraArgs": ["--nworkers", "2"]}},
     f"{P}.worker.extraArgs[0]: '--nworkers' is set by raydask: one worker process per pod: scale with replicas"),
    ({"workerGroups": [{"name": "g", "extraArgs": ["--worker-port", "9000"]}]},
     f"{P}.workerGroups[0].extraArgs[0]: '--worker-port' is set by raydask: ports are fixed (8789), so NetworkPolicies can name them"),
    ({"scheduler": {"extraArgs": ["--port", "9000"]}},
     f"{P}.scheduler.extraArgs[0]: '--port' is set by raydask: the Service, the operator and the workers use port 8786"),
    ({"worker": {"workerResources": {"GPU count": 1}}},
     f"{P}.worker.workerResources[\"GPU count\"]: 'GPU count' is not a Dask resource name: letters, digits, '_', '.' and '-', "
     "starting with a letter or '_'"),
    ({"worker": {"workerResources": {"GPU": 0}}}, f"{P}.worker.workerResources.GPU: must be > 0, got 0"),
    ({"scheduler": {"env": {"DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES": "['distributed.http.health']"}}},
     f"{P}.scheduler.env.DASK_DISTRIBUTED__SCHEDULER__HTTP__ROUTES: must include 'distributed.http.scheduler.api' (the operator "
     "scales and retires workers through it)"),
    ({"scheduler": {"serviceType": "ExternalName"}},
     f"{P}.scheduler.serviceType: must be one of 'ClusterIP', 'NodePort' or 'LoadBalancer', got 'ExternalName'"),
    ({"autoscaling": {"minimum": 1}}, f"{P}.autoscaling.maximum: required key is missing"),
    ({"autoscaling": {"minimum": 5, "maximum": 3}, "worker": {"replicas": 4}}, f"{P}.autoscaling.minimum: must be ≤ maximum (5 > 3)"),
    ({"autoscaling": {"minimum": 2, "maximum": 4}}, f"{P}.worker.replicas: must be ≥ autoscaling.minimum (1, the default, < 2): the "
                                                    "cluster starts with worker.replicas workers; set worker.replicas: 2"),
    ({"autoscaling": {"maximum": 4}, "worker": {"replicas": 5}}, f"{P}.worker.replicas: must be ≤ autoscaling.maximum (5 > 4)"),
    ({"autoscaling": {"maximum": 0}, "worker": {"replicas": 0}}, f"{P}.autoscaling.maximum: must be ≥ 1, got 0"),
    ({"workerGroups": [{"name": "gpu"}, {"name": "gpu"}]}, f"{P}.workerGroups[1].name: duplicate worker group name 'gpu'"),
    ({"workerGroups": [{"name": "default"}]},
     f"{P}.workerGroups[0].name: 'default' is reserved for the cluster's own worker group ('c-default', configured by the worker key)"),
    ({"name": "c" * 10, "workerGroups": [{"name": "g" * 56}]},
     f"{P}.workerGroups[0].name: the DaskWorkerGroup name '{'c' * 10}-{'g' * 56}' is 67 characters; the limit is 63 (it is a label value "
     "on every worker pod)"),
    ({"workerGroups": [{"name": "GPU"}]},
     f"{P}.workerGroups[0].name: 'GPU' is not a DNS-1035 label: lower-case letters, digits and '-', starting with a "
     "letter, ending with a letter or digit (no dots or underscores)"),
    ({"image": "ghcr.io/dask/dask:latest"},
     f"{P}.image: 'ghcr.io/dask/dask:latest' uses the ':latest' tag; pin a version tag or a digest"),
    ({"worker": {"image": "ghcr.io/dask/dask"}},
     f"{P}.worker.image: 'ghcr.io/dask/dask' has no tag; pin a version tag or a digest"),
    ({"workerGroups": [{"name": "gpu", "image": "rapidsai/base:25.08-cuda12.9-py3.12"}]},
     f"{P}.workerGroups[0].image: image tag '25.08-cuda12.9-py3.12' does not match daskVersion 2026.8.0; set the matching image "
     "or allow the mismatch (allowImageVersionMismatch: true)"),
    ({"daskVersion": "2026.8"}, f"{P}.daskVersion: '2026.8' is not a Dask release such as '2026.8.0' (major.minor.patch)"),
    ({"dashboard": {"ingress": {"host": "dask.example.com", "path": "/dask"}}},
     f"{P}.dashboard.ingress.path: must be '/', got '/dask': the Dask dashboard links to absolute paths (/status, /statics); give "
     "it its own host"),
    ({"dashboard": {"ingress": {"host": "Dask_Example"}}},
     f"{P}.dashboard.ingress.host: 'Dask_Example' is not a DNS host name: lower-case letters, digits, '-' and '.'"),
    ({"worker": {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {}, "matchLabelKeys": ["pod-template-hash"]}]}}}},
     f"{P}.worker.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].matchLabelKeys: unknown key: not in the "
     "Kubernetes "
     "1.21 PodSpec the Dask CRDs embed: the API server would silently drop it"),
    ({"scheduler": {"volumes": [{"name": "bundle", "mountPath": "/etc/ca", "source": {"projected": {"sources": [
        {"clusterTrustBundle": {"name": "ca", "path": "ca.pem"}}]}}}]}},
     f"{P}.scheduler.volumes[0].source.projected.sources[0].clusterTrustBundle: unknown key: not in the Kubernetes 1.21 PodSpec "
     "the Dask CRDs "
     "embed: the API server would silently drop it"),
    ({"workerGroups": [{"name": "g", "volumes": [{"name": "v", "mountPath": "/v", "source": {"hostPath": {"path": "/"}}}]}]},
     f"{P}.workerGroups[0].volumes[0].source: volume type 'hostPath' is not allowed by Pod Security 'restricted'; use one of "
     "['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']"),
    ({"idleTimeout": -5}, f"{P}.idleTimeout: must be ≥ 0, got -5"),
    ({"workers": {}}, f"{P}.workers: unknown key (did you mean 'worker'?)"),
])
def test_cluster_rules(run_program: Any, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: DaskCluster("c", {"name": "c", **spec}, namespace="ml"))
    assert exc.value.problems == [message]


def test_cluster_without_namespace_is_a_config_error(run_program: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: DaskCluster("c", {"name": "c"}))
    assert exc.value.problems == ["DaskCluster(c).namespace: required (no stack namespace given)"]


def test_image_rules_accept_pinned_variants() -> None:
    spec = DaskClusterSpec.model_validate({
        "name": "c", "image": "ghcr.io/dask/dask:2026.8.0-py3.12",
        "workerGroups": [{"name": "gpu", "image": "registry.example.com/rapids:25.08"}], "allowImageVersionMismatch": True,
    })
    assert spec.image_for(spec.scheduler) == "ghcr.io/dask/dask:2026.8.0-py3.12"
    assert spec.image_for(spec.worker_groups[0]) == "registry.example.com/rapids:25.08"
    digest = DaskClusterSpec(name="c", dask_version="2026.8.0", image="ghcr.io/dask/dask:2026.8.0@sha256:" + "c" * 64)
    assert digest.image_for(digest.worker).endswith("c" * 64)


# --------------------------------------------------------------------------------------------------------------
# stacks
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture
def dev(run_program: Any, project_root: Path) -> Any:
    return run_stack(run_program, "dev")


@pytest.fixture
def production(run_program: Any, project_root: Path) -> Any:
    return run_stack(run_program, "production")


def pod_requests(pod_spec: dict[str, Any]) -> tuple[Decimal, int]:
    cpu, mem = Decimal(0), 0
    for c in pod_spec.get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        cpu += quantities.cores(req.get("cpu", "0"))
        mem += quantities.bytes_of(req.get("memory", "0"))
    return cpu, mem


def ray_cluster_requests(spec: dict[str, Any]) -> tuple[Decimal, int]:
    cpu, mem = pod_requests(spec["headGroupSpec"]["template"]["spec"])
    if spec.get("enableInTreeAutoscaling"):
        req = spec["autoscalerOptions"]["resources"]["requests"]
        cpu, mem = cpu + quantities.cores(req["cpu"]), mem + quantities.bytes_of(req["memory"])
    for g in spec.get("workerGroupSpecs", []):
        c, m = pod_requests(g["template"]["spec"])
        cpu, mem = cpu + c * g["maxReplicas"], mem + m * g["maxReplicas"]
    return cpu, mem


def has_containers(value: Any) -> bool:
    if isinstance(value, dict):
        return "containers" in value or any(has_containers(v) for v in value.values())
    return isinstance(value, list) and any(has_containers(v) for v in value)


def stack_requests(result: Any) -> tuple[Decimal, int]:
    """Requests of every pod of the stack at maximum scale: operators, Ray (autoscaler sidecars included) and Dask."""
    total_cpu, total_mem = Decimal(0), 0
    maxima = {(o["metadata"]["namespace"], o["spec"]["cluster"]): o["spec"]["maximum"] for o in by_kind(result, "DaskAutoscaler")}
    for o in result.objects():
        spec = o.get("spec", {})
        if o["kind"] == "RayCluster":
            cpu, mem = ray_cluster_requests(spec)
        elif o["kind"] == "RayJob":
            cpu, mem = ray_cluster_requests(spec["rayClusterSpec"])
            if "submitterPodTemplate" in spec:
                c, m = pod_requests(spec["submitterPodTemplate"]["spec"])
                cpu, mem = cpu + c, mem + m
        elif o["kind"] == "RayService":
            cpu, mem = ray_cluster_requests(spec["rayClusterConfig"])
        elif o["kind"] == "DaskCluster":
            cpu, mem = pod_requests(spec["scheduler"]["spec"])
            n = maxima.get((o["metadata"]["namespace"], o["metadata"]["name"]), spec["worker"]["replicas"])
            c, m = pod_requests(spec["worker"]["spec"])
            cpu, mem = cpu + c * n, mem + m * n
        elif o["kind"] == "DaskWorkerGroup":
            c, m = pod_requests(spec["worker"]["spec"])
            cpu, mem = c * spec["worker"]["replicas"], m * spec["worker"]["replicas"]
        else:
            assert o["kind"] == "CustomResourceDefinition" or not has_containers(spec), f"pods of {o['kind']} not counted"
            continue
        total_cpu, total_mem = total_cpu + cpu, total_mem + mem
    for release in result.of_type(RELEASE):
        values = release.inputs["values"]
        req = values["resources"]["requests"]
        n = values.get("replicas", 1)
        total_cpu += quantities.cores(req["cpu"]) * n
        total_mem += quantities.bytes_of(req["memory"]) * n
    return total_cpu, total_mem


def test_dev_stack_has_a_small_dask_cluster_and_fits_a_laptop(dev: Any) -> None:
    cpu, mem = stack_requests(dev)
    assert cpu <= 4 and mem <= 8 * 2**30, (cpu, mem)
    dc = one(dev, "DaskCluster")
    assert dc["metadata"] == {**dc["metadata"], "name": "dask", "namespace": "ray-dev"}
    assert not by_kind(dev, "DaskAutoscaler") and not by_kind(dev, "DaskWorkerGroup")
    assert not [o for o in dev.objects() if o["kind"] == "Ingress" and "dask" in o["metadata"]["name"]]
    for part in (dc["spec"]["scheduler"], dc["spec"]["worker"]):
        assert "nvidia.com/gpu" not in container(part)["resources"]["limits"]
    (release,) = [r for r in dev.of_type(RELEASE) if r.inputs["chart"] == "dask-kubernetes-operator"]
    assert release.inputs["namespace"] == "ray-dev" and release.inputs["values"]["kopfArgs"] == ["--namespace=ray-dev"]
    assert release.inputs["values"]["metrics"]["scheduler"]["enabled"] is False
    assert dev.outputs["daskClusters"]["dask"] == {
        "namespace": "ray-dev",
        "schedulerService": "dask-scheduler",
        "schedulerAddress": "tcp://dask-scheduler.ray-dev.svc.cluster.local:8786",
        "dashboardUrl": "http://dask-scheduler.ray-dev.svc.cluster.local:8787",
        "dashboardIngressUrl": None,
    }
    assert dev.outputs["daskOperatorVersion"] == "2026.3.0"
    validate(dask_objects(dev.objects()))


def test_production_stack_runs_an_autoscaling_gpu_dask_cluster(production: Any) -> None:
    (release,) = [r for r in production.of_type(RELEASE) if r.inputs["chart"] == "dask-kubernetes-operator"]
    values = release.inputs["values"]
    assert release.inputs["namespace"] == "dask-operator" and release.inputs["version"] == "2026.3.0"
    assert values["kopfArgs"] == ["--all-namespaces"] and values["rbac"]["cluster"] is True
    assert values["metrics"]["scheduler"]["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}
    assert values["metrics"]["worker"]["podMonitor"]["enabled"] is True
    assert sorted(r.inputs["metadata"]["name"] for r in production.of_type(CRD) if "dask" in r.inputs["metadata"]["name"]) == DASK_CRDS
    dc = one(production, "DaskCluster")
    assert dc["metadata"]["name"] == "analytics" and dc["metadata"]["namespace"] == "ml"
    assert one(production, "DaskAutoscaler")["spec"] == {"cluster": "analytics", "minimum": 2, "maximum": 20}
    (gpu,) = by_kind(production, "DaskWorkerGroup")
    assert container(gpu["spec"]["worker"])["resources"]["limits"]["nvidia.com/gpu"] == "1"
    ing = next(o for o in production.objects() if o["kind"] == "Ingress" and o["metadata"]["name"] == "analytics-dashboard")
    assert ing["spec"]["tls"] == [{"hosts": ["dask.example.com"], "secretName": "dask-tls"}]
    assert "nginx.ingress.kubernetes.io/auth-url" in ing["metadata"]["annotations"]
    assert production.outputs["daskClusters"]["analytics"]["dashboardIngressUrl"] == "https://dask.example.com/"
    assert production.outputs["daskClusters"]["analytics"]["schedulerAddress"] == "tcp://analytics-scheduler.ml.svc.cluster.local:8786"
    for o in production.objects():
        if o["kind"] in ("DaskCluster", "DaskWorkerGroup"):
            parts = [o["spec"]["worker"], *([o["spec"]["scheduler"]] if o["kind"] == "DaskCluster" else [])]
            for part in parts:
                assert container(part)["image"] == "ghcr.io/dask/dask:2026.8.0"
    validate(dask_objects(production.objects()))


def test_dask_waits_for_its_operator_and_namespaces(run_program: Any, project_root: Path) -> None:
    deps: dict[tuple[str, str], list[str]] = {}
    seen: dict[str, pulumi.ResourceOptions] = {}

    def program() -> None:
        def capture(a: pulumi.ResourceTransformationArgs) -> None:
            deps[(a.type_, a.name)] = [getattr(d, "_name", "") for d in (a.opts.depends_on or [])]
            seen[a.name] = a.opts

        pulumi.runtime.register_stack_transformation(capture)
        main()

    run_stack(run_program, "production", program)
    assert set(deps[("raydask:dask:DaskCluster", "analytics")]) == {"namespace-ml"}  # everything of the component
    assert "dask-operator" in deps[("kubernetes:kubernetes.dask.org/v1:DaskCluster", "analytics")]  # the DaskCluster itself
    assert deps[("raydask:dask:DaskOperator", "dask-operator")] == ["namespace-dask-operator"]
    assert seen["namespace-dask-operator"].protect is True
    assert "kuberay" not in deps[("kubernetes:kubernetes.dask.org/v1:DaskCluster", "analytics")]


@pytest.mark.parametrize(("patch", "message"), [
    (lambda c: c["raydask:daskClusters"][0].update(name="dev"),
     "raydask:daskClusters[0].name: duplicate cluster name 'dev' in namespace 'ray-dev' (also rayClusters[0])"),
    (lambda c: c["raydask:daskClusters"].append({"name": "dask"}),
     "raydask:daskClusters[1].name: duplicate cluster name 'dask' in namespace 'ray-dev' (also daskClusters[0])"),
    (lambda c: c["raydask:daskClusters"].append({"name": "dask-gpu", "workerGroups": [{"name": "x"}]}) or
     c["raydask:daskClusters"][0].update(workerGroups=[{"name": "gpu-x"}]),
     "raydask:daskClusters[1].workerGroups[0].name: makes the DaskWorkerGroup ray-dev/dask-gpu-x, which "
     "daskClusters[0].workerGroups[0] makes too: choose another name"),
    (lambda c: c["raydask:daskClusters"].append({"name": "dask-x"}) or
     c["raydask:daskClusters"][0].update(workerGroups=[{"name": "x-default"}]),
     "raydask:daskClusters[1].name: makes the DaskWorkerGroup ray-dev/dask-x-default, which daskClusters[0].workerGroups[0] "
     "makes too: choose another name"),
    (lambda c: c["raydask:daskClusters"][0].update(namespace="dask"),
     "raydask:daskClusters[0].namespace: must be the Dask operator's namespace 'ray-dev', got 'dask': daskOperator.clusterWide "
     "is false (it only watches its own namespace)"),
    (lambda c: c["raydask:daskClusters"][0]["worker"].update(maxReplicas=3),
     "raydask:daskClusters[0].worker.maxReplicas: unknown key (did you mean 'replicas'?)"),
])
def test_stack_rules(run_program: Any, project_root: Path, patch: Any, message: str) -> None:
    cfg = stack_config("dev")
    patch(cfg)
    with pytest.raises(pulumi.RunError) as exc:
        run_stack(run_program, "dev", config=cfg)
    assert str(exc.value) == f"invalid raydask configuration:\n{message}"


def test_stack_namespaces_include_dask() -> None:
    from raydask.spec import StackSpec

    spec = StackSpec.model_validate({
        "namespace": "ml", "daskOperator": {"namespace": "dask-operator"},
        "daskClusters": [{"name": "a"}, {"name": "b", "namespace": "research"}],
    })
    assert spec.namespaces() == ["ml", "dask-operator", "research"]


def test_pulumi_up_waits_once_until_the_operator_reports_running() -> None:
    """The wait is a patch of its own, as a RayCluster's: the DaskCluster's updates never wait (an informer's stale
    object, already Running, would end the wait at once and be recorded as the updated one)."""
    built = build_dask_cluster(DaskClusterSpec(name="etl"), "ml")
    assert built.cluster["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    assert built.readiness == {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": {
        "name": "etl", "namespace": "ml", "annotations": {
            "pulumi.com/waitFor": "jsonpath={$[?@.phase=='Running' || @.phase=='Pending']}", "pulumi.com/timeoutSeconds": "600"}}}
    quiet = build_dask_cluster(DaskClusterSpec.model_validate({"name": "etl", "wait": {"enabled": False}}), "ml")
    assert quiet.cluster["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"} and quiet.readiness is None


def test_the_readiness_patch_follows_the_cluster_and_ignores_its_annotations(run_program: Any) -> None:
    seen, capture = options_seen()
    result = run_program(lambda: DaskCluster("etl", {"name": "etl", "workerGroups": [{"name": "big"}]}, namespace="ml",
                                             opts=pulumi.ResourceOptions(transformations=[capture])))
    patch = seen["etl-daskclusterpatch-etl"]
    assert patch.ignore_changes == ["metadata.annotations"] and not seen["etl"].ignore_changes
    assert patch.depends_on
    types = [r.type for r in result.resources]
    assert "kubernetes:kubernetes.dask.org/v1:DaskClusterPatch" in types
