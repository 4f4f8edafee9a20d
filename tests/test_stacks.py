"""The full program (`pulumi up`'s __main__) with the dev and production stack configs."""

from __future__ import annotations

import runpy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pulumi
import pytest
from stack_renders import ROOT, stack_config

from raydask.k8s import quantities
from raydask.k8s.manifest import RELEASE_TYPE
from raydask.program import main
from raydask.spec.security import OFFLINE_SECRET_CONFIG


def requests_of(pod_spec: dict[str, Any]) -> tuple[Decimal, int]:
    cpu, mem = Decimal(0), 0
    for c in pod_spec.get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        cpu += quantities.cores(req.get("cpu", "0"))
        mem += quantities.bytes_of(req.get("memory", "0"))
    return cpu, mem


def max_requests(objects: list[dict[str, Any]]) -> tuple[Decimal, int]:
    """Requests of every Ray pod at max replicas, autoscaler sidecar included."""
    cpu, mem = Decimal(0), 0
    for o in objects:
        if o["kind"] != "RayCluster":
            continue
        spec = o["spec"]
        c, m = requests_of(spec["headGroupSpec"]["template"]["spec"])
        cpu, mem = cpu + c, mem + m
        if spec.get("enableInTreeAutoscaling"):
            req = spec["autoscalerOptions"]["resources"]["requests"]
            cpu, mem = cpu + quantities.cores(req["cpu"]), mem + quantities.bytes_of(req["memory"])
        for g in spec["workerGroupSpecs"]:
            c, m = requests_of(g["template"]["spec"])
            cpu, mem = cpu + c * g["maxReplicas"], mem + m * g["maxReplicas"]
    return cpu, mem


@pytest.fixture
def dev(run_program: Any, project_root: Path) -> Any:
    return run_program(main, config=stack_config("dev"), stack="dev")


@pytest.fixture
def production(run_program: Any, project_root: Path) -> Any:
    return run_program(main, config={**stack_config("production"), **OFFLINE_SECRET_CONFIG}, secret_keys=list(OFFLINE_SECRET_CONFIG),
                       stack="production")


def kinds(result: Any) -> list[str]:
    return sorted(o["kind"] for o in result.objects() if o["kind"] != "CustomResourceDefinition")


def test_dev_fits_a_laptop(dev: Any) -> None:
    cpu, mem = max_requests(dev.objects())
    assert cpu <= 4 and mem <= 8 * 2**30, (cpu, mem)
    for o in dev.objects():
        for c in o.get("spec", {}).get("headGroupSpec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert "nvidia.com/gpu" not in c["resources"]["limits"]
    assert not [o for o in dev.objects() if o["kind"] == "Ingress" and o["spec"].get("tls")]
    assert dev.outputs["rayClusters"]["dev"]["clientAddress"] == "ray://dev-head-svc.ray-dev.svc.cluster.local:10001"


def test_production_has_everything_pinned_and_monitored(production: Any) -> None:
    objs = production.objects()
    assert {"RayCluster", "Ingress", "ServiceMonitor", "Namespace", "Service"} <= set(kinds(production))
    (release,) = [r for r in production.of_type(RELEASE_TYPE) if r.inputs["chart"] == "kuberay-operator"]
    assert release.inputs["version"] == "1.7.0" and release.inputs["values"]["metrics"]["serviceMonitor"]["enabled"] is True
    assert release.inputs["values"]["metrics"]["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}
    rc = next(o for o in objs if o["kind"] == "RayCluster" and o["metadata"]["name"] == "train")
    groups = {g["groupName"]: g for g in rc["spec"]["workerGroupSpecs"]}
    assert set(groups) >= {"cpu", "gpu"} and rc["spec"]["enableInTreeAutoscaling"] is True
    assert groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    ingress = next(o for o in objs if o["kind"] == "Ingress" and o["metadata"]["name"] == "train-dashboard")
    assert ingress["spec"]["tls"][0]["secretName"] == "ray-tls"
    for o in objs:
        for c in _containers(o):
            assert ":" in c["image"] and not c["image"].endswith(":latest"), c["image"]
        if o["kind"] == "ServiceMonitor":
            assert o["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def _containers(o: dict[str, Any]) -> list[dict[str, Any]]:
    spec = o.get("spec", {})
    templates = [spec.get("headGroupSpec", {}).get("template"), *(g.get("template") for g in spec.get("workerGroupSpecs", []))]
    return [c for t in templates if t for c in t["spec"]["containers"]]


def test_production_protects_every_resource(run_program: Any, project_root: Path) -> None:
    """``raydask:protect`` reaches every resource the stack creates, components and their children alike: a ``pulumi
    destroy`` stops before deleting anything (the live tier runs it)."""
    seen: dict[str, pulumi.ResourceOptions] = {}

    def program() -> None:
        pulumi.runtime.register_stack_transformation(lambda a: seen.__setitem__(f"{a.type_}::{a.name}", a.opts) or None)
        main()

    run_program(program, config={**stack_config("production"), **OFFLINE_SECRET_CONFIG}, secret_keys=list(OFFLINE_SECRET_CONFIG),
                stack="production")
    kinds = {k.split("::")[0] for k in seen}
    assert {"raydask:ray:RayCluster", "kubernetes:ray.io/v1:RayCluster", "kubernetes:helm.sh/v3:Release",
            "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:core/v1:Namespace",
            "kubernetes:apps/v1:DeploymentPatch", "kubernetes:ray.io/v1:RayClusterPatch"} <= kinds
    assert [k for k, opts in seen.items() if opts.protect is not True] == []
    dev_seen: dict[str, pulumi.ResourceOptions] = {}

    def dev_program() -> None:
        pulumi.runtime.register_stack_transformation(lambda a: dev_seen.__setitem__(a.name, a.opts) or None)
        main()

    run_program(dev_program, config=stack_config("dev"), stack="dev")
    assert dev_seen["namespace-ray-dev"].protect is not True


def test_ray_cluster_waits_for_the_operator(run_program: Any, project_root: Path) -> None:
    deps: dict[tuple[str, str], list[str]] = {}

    def program() -> None:
        def capture(a: pulumi.ResourceTransformationArgs) -> None:
            deps[(a.type_, a.name)] = [getattr(d, "_name", "") for d in (a.opts.depends_on or [])]

        pulumi.runtime.register_stack_transformation(capture)
        main()

    run_program(program, config=stack_config("dev"), stack="dev")
    assert "namespace-ray-dev" in deps[("raydask:ray:RayCluster", "dev")]  # everything of the component
    assert "kuberay" in deps[("kubernetes:ray.io/v1:RayCluster", "dev")]  # the RayCluster itself (see test_dependency_graph)


def test_bad_stack_config_is_one_clean_error(run_program: Any, project_root: Path) -> None:
    cfg = stack_config("dev")
    cfg["raydask:rayClusters"][0]["workerGroups"][0]["maxReplicas"] = "two"
    with pytest.raises(pulumi.RunError) as exc:
        run_program(main, config=cfg, stack="dev")
    assert str(exc.value) == (
        "invalid raydask configuration:\n"
        "raydask:rayClusters[0].workerGroups[0].maxReplicas: expected a whole number, got 'two'"
    )


def test_example_program_uses_the_python_api(run_program: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    example = ROOT / "examples" / "python-api"
    monkeypatch.chdir(example)
    result = run_program(lambda: runpy.run_path(str(example / "__main__.py")), stack="example", project="raydask-example")
    types = [r.type for r in result.resources]
    assert types.count("raydask:ray:RayCluster") == 1 and types.count("raydask:kuberay:KubeRayOperator") == 1
    assert result.outputs == {"clientAddress": "ray://research-head-svc.research.svc.cluster.local:10001",
                              "dashboard": "https://ray.research.example.com/"}
    rc = next(o for o in result.objects() if o["kind"] == "RayCluster")
    assert rc["metadata"]["namespace"] == "research" and rc["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"


def test_production_without_dask_clusters_validates() -> None:
    """The Dask operator chart's monitors select the pods and Services of DaskClusters created later: with none yet they
    match nothing, which is not a finding."""
    from raydask.offline import render
    from raydask.offline.cli import validate_rendering

    config = {k: v for k, v in stack_config("production").items() if k != "raydask:daskClusters"}
    rendering = render.render_stack("production", ROOT, config=config)
    assert any(o.kind == "ServiceMonitor" and o.release for o in rendering.objects)
    assert [str(f) for f in validate_rendering(rendering)] == []
