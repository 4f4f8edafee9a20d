"""``pip install .`` gives users the package ``raydask`` and nothing else: typed, importable beside their own
``components/`` package, with the runtime apart from the offline tools."""

from __future__ import annotations

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
