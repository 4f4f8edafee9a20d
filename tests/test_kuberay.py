"""KubeRayOperator: Helm values, pinned release, and the CRD lifecycle Helm gets wrong."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from captured import options_seen
from upstream import kuberay_chart

from raydask import charts
from raydask.builders.kuberay import helm_values
from raydask.errors import ConfigError
from raydask.k8s.manifest import CRD_TYPE as CRD
from raydask.k8s.manifest import RELEASE_TYPE as RELEASE
from raydask.resources.operators import KubeRayOperator
from raydask.spec import KubeRayOperatorSpec, MonitoringSpec

ROOT = Path(__file__).resolve().parent.parent


def run_operator(run_program: Any, spec: dict[str, Any], **kwargs: Any) -> Any:
    return run_program(lambda: KubeRayOperator("kuberay", spec, namespace="ml", project_dir=ROOT, **kwargs))


def test_release_is_pinned_and_skips_crds(run_program: Any) -> None:
    result = run_operator(run_program, {})
    (release,) = result.of_type(RELEASE)
    inputs = release.inputs
    assert inputs["chart"] == "kuberay-operator" and inputs["version"] == "1.7.0"
    assert inputs["repositoryOpts"] == {"repo": "https://ray-project.github.io/kuberay-helm/"}
    assert inputs["namespace"] == "ml" and inputs["skipCrds"] is True and inputs["name"] == "kuberay-operator"
    assert inputs["values"]["image"] == {"repository": "quay.io/kuberay/operator", "tag": "v1.7.0", "pullPolicy": "Always"}
    names = sorted(r.inputs["metadata"]["name"] for r in result.of_type(CRD))
    assert names == ["rayclusters.ray.io", "raycronjobs.ray.io", "rayjobs.ray.io", "rayservices.ray.io"]


def test_values_watch_namespaces_monitoring_and_escape_hatch() -> None:
    spec = KubeRayOperatorSpec.model_validate({
        "watchNamespaces": ["ml", "research"], "replicas": 2, "featureGates": {"RayCronJob": True},
        "values": {"nodeSelector": {"pool": "system"}, "metrics": {"serviceMonitor": {"interval": "15s"}}},
    })
    values = helm_values(spec, "kuberay-system", MonitoringSpec(prometheus_release="kps"))
    assert values["watchNamespace"] == ["ml", "research"]
    assert values["replicas"] == 2 and values["leaderElectionEnabled"] is True
    sm = values["metrics"]["serviceMonitor"]
    assert sm["enabled"] is True and sm["additionalLabels"] == {"release": "kps"} and sm["interval"] == "15s"
    assert "selector" not in sm
    assert values["nodeSelector"] == {"pool": "system"}
    gates = {g["name"]: g["enabled"] for g in values["featureGates"]}
    assert gates["RayCronJob"] is True and gates["RayClusterStatusConditions"] is True and len(gates) == 8
    single = helm_values(KubeRayOperatorSpec(single_namespace_install=True, namespace="ml"), "ml", None)
    assert single["singleNamespaceInstall"] is True and single["watchNamespace"] == ["ml"]
    assert single["metrics"]["serviceMonitor"]["enabled"] is False


@pytest.mark.parametrize(("spec", "message"), [
    ({"featureGates": {"RayTurbo": True}}, "raydask:kuberay.featureGates: unknown feature gate(s) ['RayTurbo'] for KubeRay 1.7.0; known: "),
    ({"replicas": 2, "leaderElection": False}, "raydask:kuberay.leaderElection: must be true when replicas > 1"),
    ({"version": "1.7"}, "raydask:kuberay.version: '1.7' is not a pinned chart version such as '1.7.0'"),
    ({"version": "1.5.0", "chart": {"path": "no/such/chart"}}, f"raydask:kuberay.chart: '{ROOT}/no/such/chart' is not a chart directory"),
    ({"version": "1.6.0", "chart": {"path": str(kuberay_chart("1.7.0"))}}, "raydask:kuberay.chart: the chart at "),
    ({"crds": {"dir": "vendor/crds"}}, "raydask:kuberay.crds.dir: unknown key"),
    ({"image": "quay.io/kuberay/operator:latest"}, "raydask:kuberay.image: 'quay.io/kuberay/operator:latest' uses the ':latest' tag"),
    ({"watchNamespace": ["ml"]}, "raydask:kuberay.watchNamespace: unknown key (did you mean 'watchNamespaces'?)"),
])
def test_operator_rules(run_program: Any, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        run_operator(run_program, spec)
    assert any(p.startswith(message) for p in exc.value.problems), exc.value.problems


def test_crds_are_retained_when_the_operator_is_removed(run_program: Any) -> None:
    seen, capture = options_seen()
    run_operator(run_program, {}, opts=pulumi.ResourceOptions(transformations=[capture]))
    crds = [n for n in seen if "-crd-" in n]
    assert len(crds) == 4
    assert all(seen[n].retain_on_delete is True for n in crds)
    assert seen["kuberay"].retain_on_delete is not True
    assert {d._type for d in seen["kuberay"].depends_on} == {CRD}


def test_version_bump_updates_crds_in_place(run_program: Any, tmp_path: Path) -> None:
    """The next version's chart (here a local chart directory) brings its CRDs: same resources, new schema and label."""
    new = tmp_path / "kuberay-operator"
    shutil.copytree(kuberay_chart("1.7.0"), new)
    meta = yaml.safe_load((new / "Chart.yaml").read_text())
    (new / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "1.8.0", "appVersion": "v1.8.0"}))
    doc = yaml.safe_load((new / "crds" / "ray.io_rayclusters.yaml").read_text())
    doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["newField"] = {"type": "string"}
    (new / "crds" / "ray.io_rayclusters.yaml").write_text(yaml.safe_dump(doc))
    old = run_operator(run_program, {})
    bumped = run_operator(run_program, {"version": "1.8.0", "chart": {"path": str(new)}})
    old_crds = {r.name: r.inputs for r in old.of_type(CRD)}
    new_crds = {r.name: r.inputs for r in bumped.of_type(CRD)}
    assert old_crds.keys() == new_crds.keys()
    key = "kuberay-crd-rayclusters.ray.io"
    assert new_crds[key]["metadata"]["labels"]["app.kubernetes.io/version"] == "1.8.0"
    props = new_crds[key]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "newField" in props
    assert new_crds[key]["metadata"]["annotations"]["pulumi.com/patchForce"] == "true"
    (release,) = bumped.of_type(RELEASE)
    assert release.inputs["chart"] == str(new) and "version" not in release.inputs and "repositoryOpts" not in release.inputs
    assert release.inputs["values"]["image"]["tag"] == "v1.8.0"


def test_unmanaged_crds_leave_them_to_helm(run_program: Any) -> None:
    result = run_operator(run_program, {"crds": {"manage": False}})
    assert result.of_type(CRD) == []
    assert result.of_type(RELEASE)[0].inputs["skipCrds"] is False


def test_raycluster_crd_tracks_each_worker_group_apart(run_program: Any) -> None:
    """workerGroupSpecs becomes a list map keyed by groupName, so the autoscaler's replicas stay its own when raydask
    applies the rest of a group; the chart's files and the other CRDs are untouched."""
    crds = {r.inputs["metadata"]["name"]: r.inputs for r in run_operator(run_program, {}).of_type(CRD)}
    for version in crds["rayclusters.ray.io"]["spec"]["versions"]:
        groups = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["workerGroupSpecs"]
        assert (groups["x-kubernetes-list-type"], groups["x-kubernetes-list-map-keys"]) == ("map", ["groupName"])
        assert "groupName" in groups["items"]["required"]
    upstream = yaml.safe_load((kuberay_chart("1.7.0") / "crds" / "ray.io_rayclusters.yaml").read_text())
    schema = upstream["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "x-kubernetes-list-type" not in schema["workerGroupSpecs"]
    job = crds["rayjobs.ray.io"]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "x-kubernetes-list-type" not in job["rayClusterSpec"]["properties"]["workerGroupSpecs"]


def test_raycluster_crd_refuses_removing_a_worker_group_that_was_not_retired(run_program: Any) -> None:
    """A transition rule on spec (KubeRay never deletes the pods of a group gone from the spec): a group leaves only
    with maxReplicas 0, and the bounds the API server's cost estimate needs; the other CRDs are untouched."""
    from raydask.builders.kuberay import MAX_WORKER_GROUPS, REMOVAL_RULE

    crds = {r.inputs["metadata"]["name"]: r.inputs for r in run_operator(run_program, {}).of_type(CRD)}
    for version in crds["rayclusters.ray.io"]["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        assert spec["x-kubernetes-validations"] == [REMOVAL_RULE]
        assert "oldSelf.workerGroupSpecs.all(o, (has(o.maxReplicas) && o.maxReplicas == 0)" in REMOVAL_RULE["rule"]
        groups = spec["properties"]["workerGroupSpecs"]
        assert groups["maxItems"] == MAX_WORKER_GROUPS and groups["items"]["properties"]["groupName"]["maxLength"] == 63
    for name in ("rayjobs.ray.io", "rayservices.ray.io"):
        assert "oldSelf.workerGroupSpecs" not in json.dumps(crds[name])


def test_a_chart_that_cannot_be_fetched_is_a_chart_problem(run_program: Any) -> None:
    with pytest.raises(charts.ChartError) as exc:
        run_operator(run_program, {"version": "1.6.0", "chart": {"repo": "http://127.0.0.1:9/charts"}})
    assert str(exc.value).startswith("raydask:kuberay.chart: cannot fetch http://127.0.0.1:9/charts/index.yaml: ")
    assert "`raydask charts mirror <dir>`" in str(exc.value)
