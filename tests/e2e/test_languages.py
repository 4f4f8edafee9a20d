"""raydask from other Pulumi languages, for real: the component provider (``pulumi-resource-raydask``) serves its schema
to the CLI, which generates the TypeScript, Go, Python, C# and Java SDKs from it (``pulumi package gen-sdk``, without
warnings); a YAML program (through the YAML language
host), a TypeScript and a Go program (through their Automation APIs' inline programs, on the generated SDKs, compiled
with ``tsc --strict`` and ``go vet``/``go build``) each declare a RayCluster and a DaskCluster that the real operators
reconcile: up, a change, up again, destroy; a bad input fails with the Python API's own message.

npm packages and the Go build come from caches outside the checkout keyed by content (``~/.cache/raydask-lang``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from live import ROOT, ControlPlane, Pulumi, items, kube_get, wait_until
from pulumi import automation as auto
from upstream import DASK_OPERATOR_VERSION, dask_wheel_chart, kuberay_chart

from raydask import charts
from raydask.provider import schema
from raydask.testing import mockrun

LANGUAGES = Path(__file__).resolve().parent / "languages"
LAUNCHER = ROOT / "components" / "raydask" / "provider" / "pulumi-resource-raydask"
CACHE = Path(os.environ.get("RAYDASK_LANG_CACHE") or Path.home() / ".cache" / "raydask-lang")
NAMESPACES = {"yaml": "lang-yaml", "typescript": "lang-ts", "go": "lang-go"}
GEN_LANGUAGES = ("nodejs", "go", "python", "dotnet", "java")
BAD_MAX = 0
"""``maxReplicas`` below ``minReplicas``: the bad input every program tries."""


def python_problems() -> list[str]:
    """What the Python API says of the bad worker group (the programs must report exactly these lines)."""
    from raydask import RayCluster
    from raydask.errors import ConfigError

    spec = {"name": "train", "namespace": "x", "head": {"cpu": "1", "memory": "2Gi"},
            "workerGroups": [{"name": "cpu", "replicas": 1, "minReplicas": 1, "maxReplicas": BAD_MAX, "cpu": "1", "memory": "2Gi"}]}
    with pytest.raises(ConfigError) as exc:
        mockrun.run(lambda: RayCluster("train", spec))
    return exc.value.problems


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    proc = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout + proc.stderr


def content_hash(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        for f in sorted(p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()):
            digest.update(f.name.encode() + f.read_bytes())
    return digest.hexdigest()[:12]


def cached_dir(name: str, key: str, fill: Any) -> Path:
    """``CACHE/<name>-<key>``, filled once by ``fill(tmp)`` and moved into place."""
    dest = CACHE / f"{name}-{key}"
    if not dest.is_dir():
        tmp = CACHE / f".{name}-{key}.{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        fill(tmp)
        tmp.rename(dest)
    return dest


@dataclass
class Languages:
    cluster: ControlPlane
    pulumi: Pulumi
    workdir: Path
    tools: dict[str, str]
    cli: Path
    sdks: Path
    timings: dict[str, float]

    def crs(self, namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
        ray = kube_get(self.cluster, f"/apis/ray.io/v1/namespaces/{namespace}/rayclusters/train")
        dask = kube_get(self.cluster, f"/apis/kubernetes.dask.org/v1/namespaces/{namespace}/daskclusters/etl")
        return ray, dask

    def reconciled(self, namespace: str, workers: int) -> None:
        """The operators made clusters of what the program declared: the RayCluster ready with ``workers`` workers,
        the DaskCluster Running."""
        ray, _ = self.crs(namespace)
        assert ray["status"]["state"] == "ready"
        assert ray["spec"]["workerGroupSpecs"][0]["replicas"] == workers

        def pods() -> bool:
            found = items(self.cluster, f"/api/v1/namespaces/{namespace}/pods?labelSelector=ray.io/cluster=train")
            return len(found) == workers + 1 and all(p["status"].get("phase") == "Running" for p in found)

        wait_until(pods, 120, f"{workers} Ray workers and the head Running in {namespace}", 1)
        self.cluster.wait_dask_cluster_running(namespace, "etl")

    def gone(self, namespace: str) -> None:
        for path in (f"/apis/ray.io/v1/namespaces/{namespace}/rayclusters/train",
                     f"/apis/kubernetes.dask.org/v1/namespaces/{namespace}/daskclusters/etl"):
            wait_until(lambda p=path: self.cluster.api("GET", p)[0] == 404, 120, f"{path} deleted", 1)


@pytest.fixture(scope="module")
def languages(cluster: ControlPlane, pulumi: Pulumi, tools: dict[str, str], workdir: Path) -> Iterator[Languages]:
    """The operators' CRDs applied, the programs' namespaces created and watched by both operators, the raydask plugin
    installed from the package's console script, and the SDKs generated from the provider's schema."""
    started = time.monotonic()
    dask = charts.add(dask_wheel_chart(), version=DASK_OPERATOR_VERSION, cache=workdir / "lang-dask-chart")
    for crd, crds in (("rayclusters.ray.io", kuberay_chart("1.5.0") / "crds"),
                      ("daskclusters.kubernetes.dask.org", dask.path / "crds")):
        # the stacks' tests leave theirs (retained): apply only when missing, so theirs keep one field manager
        if cluster.api("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd}")[0] == 404:
            cluster.kubectl("apply", "--server-side", "-f", str(crds))
    for ns in NAMESPACES.values():
        cluster.kubectl("create", "namespace", ns)
    cluster.start_kuberay("1.5.0", list(NAMESPACES.values()))
    cluster.start_dask(list(NAMESPACES.values()))
    cli = Path(tools["RAYDASK_PULUMI_LANGUAGES"]) / "bin" / "pulumi"  # the CLI with its language plugins beside it
    console_script = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin" / "pulumi-resource-raydask"
    run([str(cli), "plugin", "install", "resource", "raydask", schema.version(), "--file", str(console_script)])
    run([str(cli), "plugin", "install", "language", "java", tools["RAYDASK_PULUMI_JAVA_VERSION"], "--file",
         tools["RAYDASK_PULUMI_LANGUAGE_JAVA"]])  # not a bundled plugin: from the plugin cache, as `pulumi plugin install` puts it
    sdks = workdir / "sdks"
    for language in GEN_LANGUAGES:
        out = run([str(cli), "package", "gen-sdk", str(LAUNCHER), "--language", language, "--out", str(sdks)], cwd=workdir)
        assert "warning" not in out.lower(), out
    state = Languages(cluster, pulumi, workdir, tools, cli, sdks, {"setup": time.monotonic() - started})
    yield state
    cluster.stop_kuberay()
    cluster.stop_dask()
    print("language programs, seconds:", json.dumps({k: round(v, 1) for k, v in state.timings.items()}))


def test_get_schema_is_the_committed_schema(languages: Languages) -> None:
    out = run([str(languages.cli), "package", "get-schema", str(LAUNCHER)], cwd=languages.workdir)
    assert json.loads(out[out.index("{"):]) == schema.package_schema()
    sizes = {lang: sum(f.stat().st_size for f in (languages.sdks / lang).rglob("*") if f.is_file()) for lang in GEN_LANGUAGES}
    print("generated SDK sizes, bytes:", sizes)
    assert (languages.sdks / "python" / "raydask_sdk" / "ray" / "ray_cluster.py").is_file()
    assert any(languages.sdks.joinpath("dotnet").rglob("RayCluster.cs"))
    assert any(languages.sdks.joinpath("java").rglob("RayCluster.java"))


def test_yaml_program(languages: Languages) -> None:
    started = time.monotonic()
    project = languages.workdir / "yaml-program"
    shutil.copytree(LANGUAGES / "yaml", project)
    with (project / "Pulumi.yaml").open("a") as f:  # what `pulumi package add` records (docs/languages/yaml.md)
        f.write(f"packages:\n  raydask: {LAUNCHER.parent}\n")
    ns = NAMESPACES["yaml"]
    cli = auto.PulumiCommand(root=str(languages.cli.parent.parent))
    stack = auto.create_or_select_stack("yaml", work_dir=str(project), opts=auto.LocalWorkspaceOptions(pulumi_command=cli))
    stack.set_config("namespace", auto.ConfigValue(ns))

    stack.set_config("maxReplicas", auto.ConfigValue(str(BAD_MAX)))
    with pytest.raises(auto.errors.CommandError) as bad:
        stack.preview(color="never")
    for line in ["invalid raydask configuration:", *python_problems()]:
        assert line in str(bad.value)
    stack.remove_config("maxReplicas")

    up = stack.up(color="never", on_output=print)
    assert up.outputs["clientAddress"].value == f"ray://train-head-svc.{ns}.svc.cluster.local:10001"
    assert up.outputs["schedulerAddress"].value == f"tcp://etl-scheduler.{ns}.svc.cluster.local:8786"
    assert up.outputs["rayState"].value == "ready"  # the RayCluster's live status, read through the package
    languages.reconciled(ns, 1)
    stack.set_config("rayWorkers", auto.ConfigValue("2"))
    again = stack.up(color="never", on_output=print)
    assert (again.summary.resource_changes or {}).get("update", 0) >= 1
    languages.reconciled(ns, 2)
    stack.destroy(color="never")
    languages.gone(ns)
    languages.timings["yaml"] = time.monotonic() - started


def node_modules() -> Path:
    """The TypeScript program's npm packages, installed once per package.json."""
    source = LANGUAGES / "typescript" / "package.json"

    def install(tmp: Path) -> None:
        shutil.copy(source, tmp / "package.json")
        run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], cwd=tmp)

    return cached_dir("npm", content_hash(source), install) / "node_modules"


def link_modules(into: Path, modules: Path, extra: dict[str, Path]) -> None:
    target = into / "node_modules"
    target.mkdir()
    for entry in modules.iterdir():
        (target / entry.name).symlink_to(entry)
    for name, path in extra.items():
        scope, _, pkg = name.partition("/")
        (target / scope).mkdir(exist_ok=True)
        (target / scope / pkg).symlink_to(path)


def typescript_program(languages: Languages) -> Path:
    """The generated TypeScript SDK and the program, compiled with ``tsc --strict``; returns the program's entry."""
    modules = node_modules()
    tsc = modules / ".bin" / "tsc"
    sdk = languages.workdir / "ts-sdk"
    shutil.copytree(languages.sdks / "nodejs", sdk)
    (sdk / "node_modules").symlink_to(modules)
    run([str(tsc), "--strict", "-p", str(sdk)])
    shutil.copy(sdk / "package.json", sdk / "bin" / "package.json")
    program = languages.workdir / "ts-program"
    shutil.copytree(LANGUAGES / "typescript", program)
    link_modules(program, modules, {"@raydask/sdk": sdk / "bin"})
    run([str(tsc), "--strict", "-p", str(program)])
    return program / "bin" / "index.js"


def go_program(languages: Languages) -> Path:
    """The program on the generated Go SDK (module ``raydask.local/sdk/go``, its ``go.mod`` generated), after
    ``go vet`` of the SDK's packages; built with the CLI's build flags, so Go's build cache shares its packages."""
    sdk = languages.workdir / "go-sdk"
    shutil.copytree(languages.sdks / "go", sdk)
    program = languages.workdir / "go-program"
    shutil.copytree(LANGUAGES / "go", program)
    env = {"GOFLAGS": "-mod=mod -trimpath", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    run(["go", "mod", "edit", "-require=raydask.local/sdk/go@v0.0.0", f"-replace=raydask.local/sdk/go={sdk}"], cwd=program, env=env)
    run(["go", "vet", "-tags", "osusergo,grpcnotrace", "raydask.local/sdk/go/...", "."], cwd=program, env=env)
    binary = program / "program"
    run(["go", "build", "-tags", "osusergo,grpcnotrace", "-o", str(binary), "."], cwd=program, env=env)
    return binary


def drive(argv: list[str], expect_error: bool = False) -> dict[str, Any]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"{argv}: no result\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert ("error" in result) == expect_error, result
    return result


@pytest.mark.parametrize("language", ["typescript", "go"])
def test_sdk_program(languages: Languages, language: str) -> None:
    started = time.monotonic()
    entry = typescript_program(languages) if language == "typescript" else go_program(languages)
    argv = ["node", str(entry)] if language == "typescript" else [str(entry)]
    languages.timings[f"{language} build"] = time.monotonic() - started
    ns = NAMESPACES[language]

    bad = drive([*argv, "preview", language, ns, "1", str(BAD_MAX)], expect_error=True)
    for line in ["invalid raydask configuration:", *python_problems()]:
        assert line in bad["error"]

    up = drive([*argv, "up", language, ns, "1"])
    assert up["outputs"]["clientAddress"] == f"ray://train-head-svc.{ns}.svc.cluster.local:10001"
    assert up["outputs"]["schedulerAddress"] == f"tcp://etl-scheduler.{ns}.svc.cluster.local:8786"
    assert up["outputs"]["rayState"] == "ready"
    languages.reconciled(ns, 1)
    again = drive([*argv, "up", language, ns, "2"])
    assert again["changes"].get("update", 0) >= 1
    languages.reconciled(ns, 2)
    drive([*argv, "destroy", language, ns, "2"])
    languages.gone(ns)
    languages.timings[language] = time.monotonic() - started
