"""A runtime environment's ``pip`` entries are lines of the requirements file Ray hands to ``pip install -r``: what
raydask accepts and refuses there, held to pip's own requirements-file parser (``pip._internal.req``, the parser and
the step that turns a line into an install requirement), run on the file Ray writes (Ray's own
``gen_requirements_txt``) from an empty working directory, as Ray runs it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_properties import assert_valid, build

from raydask.errors import ConfigError
from raydask.spec.pip import line_problem

ACCEPTED = [
    "emoji==2.14.1", "jax[tpu]==0.4.11", "pydantic<2", "numpy>=1.0,<2", "emoji ; python_version > '3.8'", "Emoji",
    "emoji  # a comment", "# a comment", "name @ https://example.com/name-1.0.zip", "https://example.com/pkg-1.0.tar.gz",
    "/opt/wheels/pkg-1.0-py3-none-any.whl", "git+https://github.com/org/repo@v1.0#egg=repo",
    "emoji==2.14.1 --hash=sha256:0123abcd", "emoji==2.14.1 --hash sha512:0123abcd", "pkg -C key=value",
    "-f https://storage.googleapis.com/jax-releases/libtpu_releases.html", "--find-links=https://example.com/wheels/",
    "-i https://pypi.example.com/simple", "-ihttps://pypi.example.com/simple", "--index-url https://pypi.example.com/simple",
    "--extra-index-url https://${TOKEN}@pypi.example.com/simple", "--no-index", "--pre", "--prefer-binary",
    "--require-hashes", "--trusted-host pypi.example.com", "--no-binary :all:", "--only-binary=numpy,scipy",
    "--use-feature fast-deps", "-e git+https://github.com/org/repo#egg=repo", "-e /opt/src/pkg",
    "-e /opt/src/pkg --config-settings key=value", "-f /opt/wheels", "--pre --no-index",
]
REFUSED = {
    "--upgrade": "--upgrade is not an option of a requirements file (pip refuses it)",
    "-U emoji": "-U is not an option of a requirements file (pip refuses it)",
    "emoji --no-deps": "--no-deps is not an option of a requirements file (pip refuses it)",
    "-f": "-f needs a value",
    "emoji=2": "'emoji=2' is not a pip requirement such as 'emoji==2.14.1', a URL, or an option of a requirements file",
    "not a requirement": "'not a requirement' is not a pip requirement such as 'emoji==2.14.1', a URL, or an option of a "
                         "requirements file",
    "emoji --hash=md5:0123": "--hash 'md5:0123' is not <algorithm>:<hex digest> with an algorithm pip allows (sha256, sha384, "
                             "sha512)",
}
"""Lines pip itself refuses."""
UNUSABLE = {
    "./local.whl": "'./local.whl' is a relative path: Ray runs pip in an empty directory of its own on each node: give a URL "
                   "or an absolute path in the image",
    "-r extra.txt": "--requirement 'extra.txt' is a relative path: Ray runs pip in an empty directory of its own on each node "
                    "(and -r / -c paths are relative to the requirements file Ray writes): give a URL or an absolute path in "
                    "the image",
    "-c constraints.txt": "--constraint 'constraints.txt' is a relative path: Ray runs pip in an empty directory of its own on "
                          "each node (and -r / -c paths are relative to the requirements file Ray writes): give a URL or an "
                          "absolute path in the image",
    "jax[tpu]==0.4.11 -f https://example.com/x.html": "-f is a global option: pip ignores it on a requirement's line; give it "
                                                      "an entry of its own",
    "--hash=sha256:0123": "--hash belongs on a requirement's own line (pip ignores it on an option's line): e.g. "
                          "'emoji==2.14.1 --hash=sha256:<digest>'",
}
"""Lines pip takes but cannot use on a Ray node (a relative path: Ray runs pip in an empty directory, with the file in a
temporary one) or ignores (a global option on a requirement's line)."""


def pip_reads(line: str, tmp_path: Path) -> tuple[bool, list[Any]]:
    """(whether pip accepts the requirements file Ray writes for ``[line]``, run from an empty directory, the requirements
    and options it takes from it)."""
    pytest.importorskip("pip._internal.req.req_file")
    from pip._internal.exceptions import InstallationError
    from pip._internal.network.session import PipSession
    from pip._internal.req.constructors import install_req_from_parsed_requirement
    from pip._internal.req.req_file import RequirementsFileParseError, parse_requirements
    from ray._private.runtime_env.dependency_utils import gen_requirements_txt

    requirements = tmp_path / "requirements.txt"
    gen_requirements_txt(str(requirements), [line])
    cwd = Path.cwd()
    empty = tmp_path / "exec_cwd"
    empty.mkdir(exist_ok=True)
    os.chdir(empty)
    try:
        parsed = list(parse_requirements(str(requirements), session=PipSession()))
        return True, [install_req_from_parsed_requirement(r) for r in parsed]
    except (RequirementsFileParseError, InstallationError, SystemExit):
        return False, []
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("line", ACCEPTED)
def test_accepted_lines_are_lines_pip_takes(line: str, tmp_path: Path) -> None:
    assert line_problem(line) is None
    if line.startswith(("-e /", "/", "-f /")):
        return  # a path in the image: pip would look for it here
    ok, _ = pip_reads(line, tmp_path)
    assert ok, line


@pytest.mark.parametrize(("line", "message"), REFUSED.items())
def test_refused_lines_are_lines_pip_refuses(line: str, message: str, tmp_path: Path) -> None:
    assert line_problem(line) == message
    ok, requirements = pip_reads(line, tmp_path)
    assert not ok and not requirements, line


@pytest.mark.parametrize(("line", "message"), UNUSABLE.items())
def test_unusable_lines_are_refused_with_the_reason(line: str, message: str, tmp_path: Path) -> None:
    assert line_problem(line) == message
    if line.startswith(("./", "-r ", "-c ")):
        (tmp_path / "exec_cwd").mkdir()
        ok, requirements = pip_reads(line, tmp_path)
        assert not ok or any(r.link is not None and not Path(r.link.file_path).exists() for r in requirements), line


def test_the_tpu_samples_runtime_env_renders_and_ray_reads_it() -> None:
    """KubeRay's TPU samples: ``jax[tpu]`` with ``-f`` to libtpu's find-links page (5 samples)."""
    pip = ["jax[tpu]==0.6.1", "-f https://storage.googleapis.com/jax-releases/libtpu_releases.html"]
    objs = build({"namespace": "ml", "rayJobs": [{"name": "tpu", "entrypoint": "python -c 'import jax'",
                                                  "runtimeEnv": {"pip": pip}, "cluster": {}}]})
    assert_valid(objs, "1.31")
    job = next(o for o in objs if o["kind"] == "RayJob")
    runtime_env = yaml.safe_load(job["spec"]["runtimeEnvYAML"])
    assert runtime_env == {"pip": pip}
    from ray._private.runtime_env.validation import parse_and_validate_pip

    assert parse_and_validate_pip(runtime_env["pip"])["packages"] == pip


def test_a_refused_line_names_the_entry() -> None:
    with pytest.raises(ConfigError) as exc:
        build({"namespace": "ml", "rayJobs": [{"name": "x", "entrypoint": "python -m x", "cluster": {},
                                               "runtimeEnv": {"pip": ["emoji==2.14.1", "--upgrade"]}}]})
    assert exc.value.problems == ["raydask:rayJobs[0].runtimeEnv.pip[1]: --upgrade is not an option of a requirements file "
                                  "(pip refuses it)"]
