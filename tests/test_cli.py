"""The `raydask` CLI: render, validate, diff and plan, their output and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_renders import ROOT
from typer.testing import CliRunner, Result

from raydask.offline import cli, plan, render
from raydask.offline.diff import compare, format_markdown
from raydask.offline.validation import Finding

SMALL = {
    "raydask:namespace": "team",
    "raydask:createNamespace": False,
    "raydask:rayClusters": [{
        "name": "small",
        "head": {"cpu": "1", "memory": "2Gi"},
        "workerGroups": [
            {"name": "gpu", "minReplicas": 0, "maxReplicas": 3, "cpu": "2", "memory": "4Gi", "gpus": 1,
             "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
            {"name": "cpu", "minReplicas": 1, "maxReplicas": 4, "cpu": "500m", "memory": "1Gi"},
        ],
        "autoscaling": {},
    }],
}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def project(tmp_path: Path, stack: str, config: dict[str, Any]) -> Path:
    """A project directory with Pulumi.yaml and stacks/Pulumi.<stack>.yaml holding ``config``."""
    root = tmp_path / "project"
    (root / "stacks").mkdir(parents=True, exist_ok=True)
    (root / "Pulumi.yaml").write_text("name: raydask\nruntime: python\nstackConfigDir: stacks\n")
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return root


@pytest.fixture(scope="module")
def dev_render(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("render") / "dev"
    result = invoke("render", "dev", "--out", str(out), "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    return out


def test_render_writes_one_file_per_object_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    result = invoke("render", "dev", "--out", str(out), "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    summary = result.stdout
    assert f"stack dev → {out}" in summary
    for line in ("KubeRayOperator kuberay", "helm release kuberay-operator: chart kuberay-operator 1.7.0", "RayCluster dev",
                 "RayCluster ray-dev/dev", "CRD rayclusters.ray.io 1.7.0", "Namespace ray-dev"):
        assert line in summary

    cluster = yaml.safe_load((out / "ray-dev" / "raycluster-dev.yaml").read_text())
    assert list(cluster)[:4] == ["apiVersion", "kind", "metadata", "spec"]  # the builders' order, not alphabetical
    assert list(cluster["metadata"])[:2] == ["name", "namespace"]
    assert (out / "_cluster" / "namespace-ray-dev.yaml").is_file()
    operator = yaml.safe_load((out / "ray-dev" / "deployment-kuberay-operator.yaml").read_text())  # helm template
    assert operator["metadata"]["namespace"] == "ray-dev"
    assert operator["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/kuberay/operator:v1.7.0"
    assert not (out / "_crds").exists()

    index = yaml.safe_load((out / render.INDEX).read_text())
    assert {"name": "rayclusters.ray.io", "version": "1.7.0", "from": "KubeRayOperator kuberay"} in index["crds"]
    (release,) = [r for r in index["releases"] if r["chart"] == "kuberay-operator"]
    assert release["version"] == "1.7.0" and release["skipCrds"] is True and release["objects"] > 5
    files = {e["file"] for e in index["objects"]}
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.yaml")} - {render.INDEX}
    assert files == written
    entry = next(e for e in index["objects"] if e["file"] == "ray-dev/deployment-kuberay-operator.yaml")
    assert entry["template"] == "kuberay-operator/templates/deployment.yaml"


def test_render_is_deterministic(dev_render: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert invoke("render", "dev", "--out", str(again), "--project", str(ROOT)).exit_code == 0
    from raydask.offline.diff import read_tree

    assert read_tree(again) == read_tree(dev_render)


def test_include_crds_writes_them_and_a_plain_render_removes_them(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    result = invoke("render", "dev", "--out", str(out), "--include-crds", "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    crd = yaml.safe_load((out / "_crds" / "rayclusters.ray.io.yaml").read_text())
    assert crd["kind"] == "CustomResourceDefinition" and crd["metadata"]["labels"]["app.kubernetes.io/version"] == "1.7.0"
    index = yaml.safe_load((out / render.INDEX).read_text())
    assert {"name": "rayclusters.ray.io", "version": "1.7.0", "from": "KubeRayOperator kuberay",
            "file": "_crds/rayclusters.ray.io.yaml"} in index["crds"]
    assert "not written" not in result.stdout

    assert invoke("render", "dev", "--out", str(out), "--project", str(ROOT)).exit_code == 0
    assert not list(out.glob("_crds/*.yaml"))  # stale files of the previous render are removed


def test_bad_config_exits_2_naming_stack_and_key(tmp_path: Path) -> None:
    config = {**SMALL, "raydask:rayClusters": [{**SMALL["raydask:rayClusters"][0], "workerGroups": [
        {"name": "cpu", "replicas": 1, "minReplicas": 2, "maxReplicas": 1}]}]}
    root = project(tmp_path, "broken", config)
    result = invoke("render", "broken", "--project", str(root))
    assert result.exit_code == 2, result.output
    assert "stack 'broken': invalid raydask configuration" in result.stderr
    assert "raydask:rayClusters[0].workerGroups[0]" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_stack_exits_2(tmp_path: Path) -> None:
    result = invoke("validate", "nope", "--project", str(project(tmp_path, "dev", SMALL)))
    assert result.exit_code == 2
    assert "stack 'nope': no stack file" in result.stderr and "(stacks: dev)" in result.stderr


def test_a_chart_that_cannot_be_fetched_is_a_chart_problem(tmp_path: Path) -> None:
    config = {**SMALL, "raydask:kuberay": {"version": "1.6.0", "chart": {"repo": "http://127.0.0.1:9/"}}}
    root = project(tmp_path, "old", config)
    result = invoke("render", "old", "--project", str(root))
    assert result.exit_code == 1, result.output
    assert "invalid raydask configuration" not in result.stderr
    assert "error: stack 'old': raydask:kuberay.chart: cannot fetch http://127.0.0.1:9/index.yaml" in result.stderr
    assert "`raydask charts mirror <dir>`" in result.stderr
    result = invoke("validate", "old", "--project", str(root))
    assert result.exit_code == 1 and "summary" not in result.stdout
    assert "raydask:kuberay.chart: cannot fetch" in result.stderr


def test_validate_reports_a_broken_object_precisely(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import raydask.builders.workloads as workloads

    def broken(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        built.cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] = "lots"
        return built

    build = workloads.build_ray_cluster
    monkeypatch.setattr(workloads, "build_ray_cluster", broken)
    result = invoke("validate", "small", "--project", str(project(tmp_path, "small", SMALL)))
    assert result.exit_code == 1, result.output
    assert "RayCluster team/small" in result.stdout and "team/raycluster-small.yaml" in result.stdout
    problems = [line for line in result.stderr.splitlines() if line.startswith("stack small: RayCluster team/small: ")]
    assert any("spec.workerGroupSpecs[0].maxReplicas" in line and "[crd]" in line for line in problems), result.stderr


def test_validate_table_plumbing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = [Finding("RayCluster team/small", "spec.headGroupSpec", "made-up rule", "ray-autoscaler")]
    monkeypatch.setattr(cli, "validate_rendering", lambda rendering: fake)
    result = invoke("validate", "small", "--project", str(project(tmp_path, "small", SMALL)))
    assert result.exit_code == 1
    assert "1 finding(s)" in result.stdout and "made-up rule" in result.stdout and "RayCluster small" in result.stdout
    assert "stack small: RayCluster team/small: spec.headGroupSpec: made-up rule [ray-autoscaler]" in result.stderr


def test_diff_groups_added_changed_removed(dev_render: Path, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(dev_render, old)
    (old / "ray-dev" / "rayjob-hello.yaml").unlink()  # now present: added
    cluster = old / "ray-dev" / "raycluster-dev.yaml"
    cluster.write_text(cluster.read_text().replace("maxReplicas: 2", "maxReplicas: 5"))  # changed
    (old / "ray-dev" / "service-gone.yaml").write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: gone\n")  # removed
    index = old / render.INDEX
    index.write_text(index.read_text().replace("version: 1.7.0\n  from: KubeRayOperator", "version: 1.6.0\n  from: KubeRayOperator", 1))

    result = invoke("diff", "dev", "--against", str(old), "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "1 added, 2 changed, 1 removed" in text
    assert text.index("== Added") < text.index("== Changed") < text.index("== Removed")
    assert "--- added: RayJob ray-dev/hello (ray-dev/rayjob-hello.yaml)" in text
    assert "-    maxReplicas: 5" in text and "+    maxReplicas: 2" in text
    assert "--- changed: CRDs (index.yaml#crds)" in text and "-  version: 1.6.0" in text
    assert "--- removed: Service gone (ray-dev/service-gone.yaml)" in text

    md = invoke("diff", "dev", "--against", str(old), "--format", "markdown", "--exit-code", "--project", str(ROOT))
    assert md.exit_code == 1
    assert md.stdout.startswith("### raydask diff — stack `dev`")
    assert "#### Added" in md.stdout and "#### Changed" in md.stdout and "#### Removed" in md.stdout
    assert "<details><summary><code>RayCluster ray-dev/dev</code> — <code>ray-dev/raycluster-dev.yaml</code></summary>" in md.stdout
    assert "```diff" in md.stdout

    same = invoke("diff", "dev", "--against", str(dev_render), "--exit-code", "--project", str(ROOT))
    assert same.exit_code == 0 and "no changes" in same.stdout


def test_markdown_diff_fits_a_comment() -> None:
    old = {f"ns/configmap-{i}.yaml": "a: 1\n" * 500 for i in range(40)}
    new = {k: v.replace("a: 1", "a: 2") for k, v in old.items()}
    text = format_markdown(compare(old, new), "big", budget=20_000)
    assert len(text) < 25_000 and "diff omitted: comment size limit" in text and "run `raydask diff` locally" in text


def test_diff_against_missing_dir_exits_2(tmp_path: Path) -> None:
    result = invoke("diff", "dev", "--against", str(tmp_path / "nothing"), "--project", str(ROOT))
    assert result.exit_code == 2


def test_plan_totals_of_a_known_config(tmp_path: Path) -> None:
    result = invoke("plan", "small", "--format", "json", "--project", str(project(tmp_path, "small", SMALL)))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = {row["group"]: row for row in data["groups"]}
    assert set(rows) == {"head", "worker gpu", "worker cpu"}
    head = rows["head"]  # ray-head 1 CPU / 2Gi plus KubeRay's autoscaler sidecar 500m / 512Mi
    assert (head["minPods"], head["maxPods"], head["max"]["cpu"], head["max"]["memory"]) == (1, 1, "1.5", "2.5Gi")
    gpu = rows["worker gpu"]
    assert (gpu["minPods"], gpu["maxPods"], gpu["min"]["cpu"], gpu["max"]["cpu"], gpu["max"]["memory"], gpu["max"]["gpu"]) == (
        0, 3, "0", "6", "12Gi", "3")
    total = data["total"]
    assert (total["minPods"], total["maxPods"]) == (2, 8)
    assert total["min"] == {"cpu": "2", "memory": "3.5Gi", "memoryBytes": int(3.5 * 2**30), "gpu": "0"}
    assert total["max"] == {"cpu": "9.5", "memory": "18.5Gi", "memoryBytes": int(18.5 * 2**30), "gpu": "3"}

    table = invoke("plan", "small", "--project", str(project(tmp_path, "small", SMALL)))
    assert table.exit_code == 0 and "RayCluster team/small" in table.stdout and "18.5Gi" in table.stdout


def pod(cpu: str, memory: str, **extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "main", "resources": {"requests": {"cpu": cpu, "memory": memory}, **extra}}]}


def test_plan_of_dask_and_ray_workloads() -> None:
    objects = [
        {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskCluster", "metadata": {"name": "d", "namespace": "n"},
         "spec": {"scheduler": {"spec": pod("1", "1Gi")}, "worker": {"replicas": 2, "spec": pod("2", "4Gi")}}},
        {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskAutoscaler", "metadata": {"name": "d", "namespace": "n"},
         "spec": {"cluster": "d", "minimum": 1, "maximum": 10}},
        {"apiVersion": "kubernetes.dask.org/v1", "kind": "DaskWorkerGroup", "metadata": {"name": "d-gpu", "namespace": "n"},
         "spec": {"cluster": "d", "worker": {"replicas": 1, "spec": pod("4", "8Gi", limits={"nvidia.com/gpu": "1"})}}},
        {"apiVersion": "ray.io/v1", "kind": "RayJob", "metadata": {"name": "j", "namespace": "n"},
         "spec": {"rayClusterSpec": {"headGroupSpec": {"template": {"spec": pod("1", "1Gi")}}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "op", "namespace": "n"},
         "spec": {"replicas": 2, "template": {"spec": {**pod("100m", "128Mi"), "initContainers": [
             {"name": "init", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}, "spec": {}},
    ]
    p = plan.plan_objects(objects)
    rows = {(g.owner, g.group): g for g in p.groups}
    worker = rows[("DaskCluster n/d", "worker default")]
    assert (worker.min_pods, worker.max_pods, worker.at_max.cpu) == (1, 10, Decimal(20))
    assert rows[("DaskWorkerGroup n/d-gpu", "worker group of d")].per_pod.gpu == 1
    submitter = rows[("RayJob n/j", "submitter")]  # KubeRay's default submitter: 500m / 200Mi
    assert (submitter.per_pod.cpu, submitter.per_pod.memory) == (Decimal("0.5"), 200 * 2**20)
    op = rows[("Deployment n/op", "pods")]  # the init container's 1 CPU is the peak; memory is the main container's
    assert (op.max_pods, op.per_pod.cpu, op.per_pod.memory) == (2, Decimal(1), 128 * 2**20)
    assert p.max_pods == 1 + 10 + 1 + 1 + 1 + 2


def test_console_entry_point_exit_codes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    root = project(tmp_path, "small", SMALL)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ok = subprocess.run([sys.executable, "-m", "raydask.offline.cli", "plan", "small", "--format", "json", "-C", str(root)],
                        capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["total"]["maxPods"] == 8
    missing = subprocess.run([sys.executable, "-m", "raydask.offline.cli", "plan", "nope", "-C", str(root)],
                             capture_output=True, text=True, env=env, check=False)
    assert missing.returncode == 2 and "stack 'nope'" in missing.stderr


def test_help_version_and_usage() -> None:
    short = invoke("render", "-h")
    assert short.exit_code == 0 and "Usage: raydask render" in short.stdout and "<bool>" not in short.stdout
    assert invoke("render", "--help").stdout == short.stdout
    version = invoke("--version")
    assert version.exit_code == 0 and version.stdout.startswith("raydask ") and "KubeRay 1.7.0" in version.stdout
    assert invoke("render", "dev", "--include-crds", "true").exit_code == 2  # a flag, as the help shows it


def test_outside_a_project_is_an_explicit_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RAYDASK_PROJECT_DIR", raising=False)
    for args in (("render", "dev"), ("validate",), ("plan", "dev"), ("diff", "dev", "--against", str(tmp_path))):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "no Pulumi.yaml in" in result.stderr and "-C DIR" in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written anywhere


def test_validate_every_stack_with_a_summary_and_one_finding_per_line(tmp_path: Path) -> None:
    root = project(tmp_path, "small", SMALL)
    broken = {**SMALL, "raydask:rayClusters": [{**SMALL["raydask:rayClusters"][0], "head": {"memory": "2048"}}]}
    (root / "stacks" / "Pulumi.broken.yaml").write_text(yaml.safe_dump({"config": broken}))
    result = invoke("validate", "--project", str(root))
    assert result.exit_code == 2, result.output  # the worst: a stack with bad configuration
    assert "summary: broken ✗ invalid configuration, small ✓ valid" in result.stdout
    assert "raydask:rayClusters[0].head.memory: '2048' is 2048 bytes" in result.stderr
    assert "raydask: rendering stack small" in result.stderr and "raydask: validating stack small" in result.stderr


def test_validate_findings_are_single_lines(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = [Finding("RayCluster team/small", "spec.headGroupSpec", "a rule\nspanning lines " + "x" * 300, "ray-autoscaler")]
    monkeypatch.setattr(cli, "validate_rendering", lambda rendering: fake)
    result = invoke("validate", "small", "--project", str(project(tmp_path, "small", SMALL)))
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "a rule" in line]
    assert len(lines) == 1 and lines[0].endswith("(team/raycluster-small.yaml, from RayCluster small)")
    assert next(line for line in result.stderr.splitlines() if "a rule" in line).startswith("stack small: RayCluster team/small: ")


def test_diff_refuses_what_is_not_a_render_of_the_stack(dev_render: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("diff", "dev", "--against", str(empty), "--project", str(ROOT))
    assert result.exit_code == 2 and "is not a raydask render directory (it has no index.yaml)" in result.stderr
    result = invoke("diff", "production", "--against", str(dev_render), "--project", str(ROOT))
    assert result.exit_code == 2 and "holds a render of stack 'dev', not of 'production'" in result.stderr


def test_plan_fits_80_columns(tmp_path: Path) -> None:
    result = invoke("plan", "production", "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines() if not line.startswith(("Deployment", "Ray", "Dask"))) <= 80
    assert "  worker cpu                  1–10        4–40       16Gi–160Gi    0" in result.stdout


def test_render_notes_placeholder_secrets(tmp_path: Path) -> None:
    result = invoke("render", "production", "--out", str(tmp_path / "out"), "--project", str(ROOT))
    assert result.exit_code == 0, result.output
    assert "note: stack production: Secret ml/train-redis-password holds the placeholder" in result.stderr
    assert "where pulumi up puts the Pulumi secret raydask:redisPassword" in result.stderr
    assert "pulumi up needs the real value (`pulumi config set --secret raydask:redisPassword <value>`)" in result.stderr


def test_placeholder_note_names_each_workload_secret(tmp_path: Path) -> None:
    config = stackfile_config("dev")
    config["raydask:rayClusters"][0]["secrets"] = [{"name": "wandb", "fromConfig": {"WANDB_API_KEY": "wandbApiKey"}}]
    rendering = render.render_stack("dev", ROOT, config=config)
    assert rendering.placeholder_keys() == {"Secret ray-dev/dev-wandb": ["raydask:wandbApiKey"]}


def stackfile_config(stack: str) -> dict[str, Any]:
    from raydask.offline import stackfile

    return stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")


def test_usage_and_short_help_read_as_written() -> None:
    """Arguments as STACK / [STACKS]... (not {STACK}, STACK <str>), no option typed <str>, no short help cut short."""
    raydask = str(Path(sys.executable).parent / "raydask")

    def help_of(*args: str) -> str:
        return subprocess.run([raydask, *args, "--help"], check=True, capture_output=True, text=True).stdout

    assert help_of("render").splitlines()[0] == "Usage: raydask render [OPTIONS] STACK"
    assert help_of("validate").splitlines()[0] == "Usage: raydask validate [OPTIONS] [STACKS]..."
    for args in (("render",), ("validate",), ("diff",), ("plan",), ("charts", "add"), ("charts", "pull"), ("charts", "mirror")):
        text = help_of(*args)
        assert "{" not in text.split("\n\n")[0] and not re.search(r" <(str|int|dir|path)>", text), (args, text)
    for text in (help_of(), help_of("charts")):
        assert "..." not in text.split("Commands:")[1], text  # every command's one-line help is whole


def test_validate_gives_the_same_verdict_with_an_empty_chart_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A podPatch the embedded PodSpec lacks is refused whatever the chart cache holds (and no network): the schema
    ships with raydask. The first `pulumi preview` on a new machine refuses what the second does."""
    cluster = {**SMALL["raydask:rayClusters"][0], "head": {"podPatch": {"spec": {"shareProcessNamespaces": True}}}}
    root = project(tmp_path, "bad", {**SMALL, "raydask:kuberay": {}, "raydask:rayClusters": [cluster]})
    full = invoke("validate", "bad", "--project", str(root))
    monkeypatch.setenv("RAYDASK_CHART_CACHE", str(tmp_path / "empty"))
    empty = invoke("validate", "bad", "--project", str(root))
    assert full.exit_code == empty.exit_code == 2, (full.output, empty.output)
    assert full.stderr == empty.stderr
    assert "raydask:rayClusters[0].head.podPatch.spec.shareProcessNamespaces: unknown key (did you mean " in empty.stderr
    assert not (tmp_path / "empty").exists() or not any((tmp_path / "empty").iterdir())


def test_validate_without_the_validators_says_which_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import raydask.offline.validation as validation

    monkeypatch.setattr(validation, "missing_validators", lambda: ["ray[serve]", "dask-kubernetes"])
    result = invoke("validate", "dev", "--project", str(ROOT))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: raydask validate runs the validators, which are not installed (ray[serve], dask-kubernetes): pip install "
        "'raydask[validate]' (in a checkout: bash scripts/setup.sh --validate)"]


def test_help_loads_no_pulumi_grpc_pydantic_or_yaml() -> None:
    """``raydask --help`` imports the CLI only: Pulumi, gRPC, pydantic, PyYAML and the program load when a command runs
    (≤ 0.3 s of CPU, see docs/performance.md). A command's ``--help`` adds pydantic only (Typer's own adapters)."""
    script = (
        "import os, sys\n"
        "from raydask.offline.cli import main\n"
        "heavy = ('pulumi', 'pulumi_kubernetes', 'grpc', 'pydantic', 'yaml', 'jsonschema', 'raydask.program', 'raydask.spec')\n"
        "os._exit = lambda code: print(sorted({h for m in sys.modules for h in heavy if m == h or m.startswith(h + '.')}))\n"
        "main(sys.argv[1:])\n"
    )
    for args, loaded in ((["--help"], "[]"), (["render", "--help"], "['pydantic']"), (["validate", "--help"], "['pydantic']")):
        proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, check=True)
        assert "Usage" in proc.stdout and proc.stdout.rstrip().endswith(loaded), (args, proc.stdout[-400:], proc.stderr)
