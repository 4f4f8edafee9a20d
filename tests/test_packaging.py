"""``pip install .`` gives users the package ``raydask`` and nothing else: typed, importable beside their own
``components/`` package, with the runtime apart from the offline tools."""

from __future__ import annotations

import resource
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from stack_renders import ROOT

USER_PROGRAM = '''\
"""A user's Pulumi program with a components/ package of its own."""
import pulumi

from components.naming import prefixed
from raydask import DaskCluster, DaskClusterSpec, KubeRayOperator, RayCluster, RayClusterSpec, WorkerGroupSpec

spec = RayClusterSpec(name=prefixed("train"), worker_groups=[WorkerGroupSpec(name="cpu", max_replicas=4)])
cluster: RayCluster = RayCluster(spec.name, spec, namespace="ml")
dask: DaskCluster = DaskCluster("etl", DaskClusterSpec(name="etl"), namespace="ml")
operator: KubeRayOperator = KubeRayOperator("kuberay", {"version": "1.7.0"}, namespace="ml")
pulumi.export("client", cluster.client_address)
group_count: str = len(spec.worker_groups)  # a deliberate type error mypy must report: the types are real, not Any
'''


def test_the_source_folder_is_the_import_name() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"] == {"": "components"}
    assert config["packages"]["find"] == {"where": ["components"], "include": ["raydask*"]}
    assert sorted(p.name for p in (ROOT / "components").iterdir() if p.suffix != ".egg-info") == ["raydask"]
    assert (ROOT / "components" / "raydask" / "py.typed").is_file()


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtualenv with the built wheel installed (its dependencies taken from the project's environment)."""
    tmp = tmp_path_factory.mktemp("packaging")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"),
                    str(ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp / "dist").glob("raydask-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_wheel_declares_what_a_registry_shows(fresh_venv: Path) -> None:
    """License (SPDX expression and the file), project URLs, classifiers, extras (the test tools are not one)."""
    python = str(fresh_venv / "bin" / "python")
    meta = subprocess.run([python, "-c", "import importlib.metadata as m; print(m.metadata('raydask').as_string())"],
                          check=True, capture_output=True, text=True).stdout
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert sorted(line.split(": ", 1)[1] for line in meta.splitlines() if line.startswith("Provides-Extra:")) == [
        "cli", "dask", "validate"]
    assert meta.count("Project-URL:") >= 3 and meta.count("Classifier:") >= 8 and "Typing :: Typed" in meta
    files = subprocess.run([python, "-c", "import importlib.metadata as m; print('\\n'.join(str(f) for f in m.files('raydask')))"],
                           check=True, capture_output=True, text=True).stdout.split()
    assert "raydask-0.1.0.dist-info/licenses/LICENSE" in files
    assert (ROOT / "LICENSE").read_text().split()[:3] == ["Apache", "License", "Version"]


def test_installed_wheel_holds_raydask_only(fresh_venv: Path) -> None:
    python = str(fresh_venv / "bin" / "python")
    files = subprocess.run([python, "-c", "import importlib.metadata as m; print('\\n'.join(str(f) for f in m.files('raydask')))"],
                           cwd=fresh_venv, check=True, capture_output=True, text=True).stdout.split()
    top = {f.split("/")[0] for f in files if not f.startswith("..")}  # ../../../bin/raydask: the console script
    assert top == {"raydask", "raydask-0.1.0.dist-info"}, top
    assert "raydask/py.typed" in files and "raydask/offline/cli.py" in files


def test_a_user_program_with_its_own_components_package(fresh_venv: Path, tmp_path: Path) -> None:
    program = tmp_path / "program"
    (program / "components").mkdir(parents=True)
    (program / "components" / "__init__.py").write_text("")
    (program / "components" / "naming.py").write_text('def prefixed(name: str) -> str:\n    return "team-" + name\n')
    (program / "__main__.py").write_text(USER_PROGRAM)
    python = str(fresh_venv / "bin" / "python")
    imported = subprocess.run([python, "-c", "import raydask, components.naming; print(raydask.__file__); "
                               "import sys; print(sorted(m for m in sys.modules if m.startswith('raydask.offline')))"],
                              cwd=program, check=True, capture_output=True, text=True).stdout.splitlines()
    assert str(fresh_venv) in imported[0] and imported[1] == "[]"  # the runtime imports none of the offline tools
    mypy = subprocess.run([sys.executable, "-m", "mypy", "--python-executable", python, "--no-incremental", "--strict",
                           "--ignore-missing-imports", "__main__.py"], cwd=program, capture_output=True, text=True)
    errors = [line for line in mypy.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and "__main__.py:12: error: Incompatible types in assignment" in errors[0], mypy.stdout


def test_the_models_load_without_pulumi() -> None:
    """``import raydask.spec`` (and ``import raydask``) load no Pulumi: the top-level names are imported on first use."""
    code = ("import sys, raydask, raydask.spec, raydask.errors\n"
            "from raydask import StackSpec, ConfigError\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_kubernetes', 'grpc'))\n"
            "print(loaded)\n"
            "from raydask import RayCluster\n"
            "print('pulumi' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.splitlines()
    assert out == ["[]", "True"]


FLOOR_PROGRAM = '''\
import sys
from raydask.testing import mockrun
from raydask import AutoscalingSpec, DaskCluster, DaskClusterSpec, RayCluster, RayClusterSpec, WorkerGroupSpec
from raydask.errors import ConfigError

def program() -> None:
    spec = RayClusterSpec(name="train", worker_groups=[WorkerGroupSpec(name="cpu", min_replicas=1, max_replicas=4)],
                          autoscaling=AutoscalingSpec())
    RayCluster("train", spec, namespace="ml")
    DaskCluster("etl", DaskClusterSpec(name="etl"), namespace="ml")

print(sorted({o["kind"] for o in mockrun.run(program).objects()}))
try:
    WorkerGroupSpec(name="Bad")
except ConfigError as exc:
    print(exc)
'''


def floors() -> dict[str, str]:
    """The lowest version of every runtime and cli dependency and of the build requirement, as pyproject.toml declares
    them."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    out = {}
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["cli"],
                        *pyproject["build-system"]["requires"]]:
        name, _, rest = requirement.partition(">=")
        out[name.strip().lower()] = rest.split(",")[0].strip()
    return out


def test_the_floor_constraints_are_the_declared_floors() -> None:
    pinned = dict(line.split("==") for line in (ROOT / "constraints-floor.txt").read_text().splitlines()
                  if line and not line.startswith("#"))
    def release(version: str) -> str:
        return ".".join([*version.split("."), "0", "0"][:3])

    assert {k.lower(): release(v) for k, v in pinned.items()} == {k: release(v) for k, v in floors().items()}


@pytest.mark.floors
def test_the_declared_floors_work(tmp_path: Path) -> None:
    """A fresh virtualenv with the lowest versions pyproject.toml allows (from PyPI): without the cli extra the command
    says which extra to install; with everything at its floor a program runs under the mock engine and the CLI answers."""
    import os

    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
                           env={**os.environ, "PIP_CONSTRAINT": str(ROOT / "constraints-floor.txt")}, capture_output=True,
                           text=True)  # built in isolation with the lowest setuptools the build requires
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("raydask-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c",
           str(ROOT / "constraints-floor.txt")]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, text=True)
    bare = subprocess.run([str(venv / "bin" / "raydask"), "--help"], capture_output=True, text=True)
    assert bare.returncode == 1 and bare.stdout == ""
    assert bare.stderr.splitlines() == [
        "raydask: the command needs the cli extra (rich is not installed): pip install 'raydask[cli]'"]
    subprocess.run([*pip, f"{wheel}[cli]"], check=True, capture_output=True, text=True)
    runtime = {k: v for k, v in floors().items() if k != "setuptools"}
    versions = subprocess.run([str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print({d: m.version(d) "
                               f"for d in {sorted(runtime)!r}}})"], check=True, capture_output=True, text=True).stdout
    assert all(f"'{name}': '{version}" in versions for name, version in runtime.items()), versions
    run = subprocess.run([str(venv / "bin" / "python"), "-c", FLOOR_PROGRAM], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["['DaskCluster', 'RayCluster']",
                                       "WorkerGroupSpec.name: 'Bad' is not a DNS-1035 label: lower-case letters, digits and "
                                       "'-', starting with a letter, ending with a letter or digit (no dots or underscores)"]
    for args in (["--help"], ["--version"], ["render", "--help"], ["charts", "--help"]):
        cli = subprocess.run([str(venv / "bin" / "raydask"), *args], capture_output=True, text=True)
        assert cli.returncode == 0 and cli.stdout, (args, cli.stderr)


def test_the_command_without_its_extra_says_which_to_install() -> None:
    blocked = "import sys; sys.modules['typer'] = None; from raydask.offline.command import main; main()"
    run = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr == "raydask: the command needs the cli extra (typer is not installed): pip install 'raydask[cli]'\n"


def test_help_and_version_load_neither_pulumi_nor_the_models() -> None:
    """``raydask --help`` / ``--version`` import no Pulumi, gRPC, pydantic, model or validator (they take well under a
    second)."""
    for arg in ("--help", "--version"):
        run = subprocess.run([sys.executable, "-X", "importtime", "-m", "raydask.offline.command", arg], capture_output=True,
                             text=True, check=True)
        loaded = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
        heavy = sorted(m for m in loaded if m.split(".")[0] in ("pulumi", "grpc", "pydantic", "jsonschema")
                       or m.startswith(("raydask.spec.", "raydask.offline.render", "raydask.program")))
        assert heavy in ([], ["raydask.spec.versions"]), (arg, heavy)
        assert "raydask.offline.cli" in loaded and run.stdout


def test_help_and_version_are_quick() -> None:
    """CPU time, children included (not wall time: the live tier may share the cores with this test)."""
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    best = []
    for arg in ("--help", "--version"):
        times = []
        for _ in range(3):
            start = cpu()
            subprocess.run([str(Path(sys.executable).parent / "raydask"), arg], check=True, capture_output=True)
            times.append(cpu() - start)
        best.append(min(times))
    assert max(best) < 0.5, best  # bench/offline.py: 0.14 s median; importing pulumi alone takes 0.8 s


def test_the_example_installs_as_written(tmp_path: Path) -> None:
    """examples/python-api: its requirements.txt installs raydask from this checkout, and its program runs."""
    example = ROOT / "examples" / "python-api"
    assert "your-org" not in (example / "requirements.txt").read_text() + (example / "README.md").read_text()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True,
                          capture_output=True, text=True).stdout.strip()
    (Path(site) / "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=True, capture_output=True)  # the project's
    install = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-r", "requirements.txt"],
                             cwd=example, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    run = subprocess.run([python, "-c", "import runpy, raydask\nfrom raydask.testing import mockrun\n"
                          "result = mockrun.run(lambda: runpy.run_path('__main__.py'))\n"
                          "print(raydask.__file__)\nprint(sorted(result.outputs))"],
                         cwd=example, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"{site}/raydask/__init__.py", "['clientAddress', 'dashboard']"]
