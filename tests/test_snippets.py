"""Every code block of README.md and docs/ a user would run is run here: Python under the mock engine, YAML as stack
config through the real program, shell commands in a copy of the project (the chart cache a copy of the session's).

A block says how it is run in an HTML comment on the line before it:

- ``<!-- snippet: run -->``: every command; ``<!-- snippet: run; except PREFIX, PREFIX (reason) -->`` leaves out the
  commands starting with those prefixes;
- ``<!-- snippet: stack STACK -->`` (``raydask:`` keys or bare keys, replacing the stack's) or ``<!-- snippet: stack
  STACK at rayClusters[0] -->`` (keys of one workload, replacing its own): the program must accept the result;
- ``<!-- snippet: skip (reason) -->``: not run, with the reason (a cluster, the Pulumi CLI, the test run itself).

Python blocks need no comment; ``<!-- ci:test-command -->`` marks the command ``.ci/run`` runs. A block without a
comment fails here.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_renders import ROOT
from upstream import dask_wheel_chart, prometheus_crds

from raydask import charts
from raydask.offline import render

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"^<!-- (snippet: (?P<how>.*?)|ci:test-command) -->$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str
    how: str

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def blocks() -> list[Block]:
    out = []
    for path in DOCS:
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^```(\w*)$", lines[i])
            if not m:
                i += 1
                continue
            end = lines.index("```", i + 1)
            marker = MARKER.match(lines[i - 1]) if i else None
            how = "ci" if marker and marker.group("how") is None else (marker.group("how") if marker else "")
            out.append(Block(path, i + 1, m.group(1), "\n".join(lines[i + 1:end]), how))
            i = end + 1
    return out


BLOCKS = blocks()


def test_every_block_says_how_it_is_run() -> None:
    unmarked = [b.id for b in BLOCKS if b.lang != "python" and not b.how]
    assert not unmarked, f"code blocks without a <!-- snippet: ... --> comment: {unmarked}"
    assert {b.lang for b in BLOCKS} <= {"bash", "yaml", "python"}
    skipped = [b for b in BLOCKS if b.how.startswith("skip")]
    assert all(re.fullmatch(r"skip \(.+\)", b.how) for b in skipped), "a skipped block says why"
    assert len([b for b in BLOCKS if not b.how.startswith("skip")]) >= 15


# ------------------------------------------------------------------------------------------------------------------
# Python
# ------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "python"], ids=lambda b: b.id)
def test_python_blocks_run_under_the_mock_engine(block: Block, run_program: Any) -> None:
    result = run_program(lambda: exec(compile(block.text, block.id, "exec"), {"__name__": "__main__"}))
    assert result.objects(), "the program declares objects"
    assert result.outputs, "and exports its outputs"


# ------------------------------------------------------------------------------------------------------------------
# YAML: stack config through the program
# ------------------------------------------------------------------------------------------------------------------


def stack_config(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


def with_fragment(block: Block) -> tuple[str, dict[str, Any]]:
    m = re.fullmatch(r"stack (?P<stack>\w+)(?: at (?P<field>\w+)\[(?P<index>\d+)\])?", block.how)
    assert m, f"{block.id}: not a stack snippet comment: {block.how}"
    config = copy.deepcopy(stack_config(m["stack"]))
    fragment = yaml.safe_load(block.text)
    if m["field"]:
        target = config[f"raydask:{m['field']}"][int(m["index"])]
        target.update(fragment)
    else:
        config.update({k if k.startswith("raydask:") else f"raydask:{k}": v for k, v in fragment.items()})
    return m["stack"], config


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "yaml"], ids=lambda b: b.id)
def test_yaml_blocks_are_accepted_by_the_program(block: Block) -> None:
    stack, config = with_fragment(block)
    result = render.run_program(stack, ROOT, config)
    kinds = {o["kind"] for o in (r.inputs for r in result.resources) if isinstance(o, dict) and "kind" in o}
    assert kinds, "the program declares objects"


# ------------------------------------------------------------------------------------------------------------------
# shell
# ------------------------------------------------------------------------------------------------------------------


def commands(block: Block) -> list[str]:
    """The block's commands (``&&`` chains split), comments dropped, those its comment leaves out left out."""
    m = re.fullmatch(r"run(?:; except (?P<prefixes>[^(]+?) \((?P<why>.+)\))?", block.how)
    assert m, f"{block.id}: not a run snippet comment: {block.how}"
    excepted = [p.strip() for p in (m["prefixes"] or "").split(",") if p.strip()]
    out = []
    for line in block.text.splitlines():
        line = re.sub(r"\s+#.*$", "", line).strip()
        for command in filter(None, (c.strip() for c in line.split("&&"))):
            if not any(command.startswith(p) for p in excepted):
                out.append(command)
    assert all(p in block.text for p in excepted), f"{block.id}: every command left out is in the block"
    return out


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A copy of the project (its own out/, docs/ and chart cache) and what the placeholders of the commands stand for."""
    root = tmp_path_factory.mktemp("snippets")
    project = root / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "stacks", "docs", "components", "pyproject.toml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    (project / ".venv").symlink_to(Path(sys.executable).parent.parent)
    cache = root / "cache"
    shutil.copytree(charts.cache_dir(), cache)
    local = root / "local-copy"  # a local copy of the chart repositories, as `raydask charts mirror` reads one
    shutil.copytree(charts.cached("kuberay-operator", "1.7.0").path, local / "kuberay-operator")  # type: ignore[union-attr]
    shutil.copytree(prometheus_crds(), local / "prometheus-operator-0.93.0" / "crds")
    shutil.copytree(charts.cached("kuberay-operator", "1.7.0").path, project / "vendor" / "kuberay-operator")  # type: ignore[union-attr]
    return {
        "project": project,
        "env": {**os.environ, charts.CACHE_ENV: str(cache), "RAYDASK_PROJECT_DIR": str(project),
                "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"},  # no request leaves the machine
        "placeholders": {"<dir>": str(local), "<dask-kubernetes wheel chart dir>": str(dask_wheel_chart()),
                         "<dir of CRD files>": str(prometheus_crds())},
    }


RUN_BLOCKS = [b for b in BLOCKS if b.lang == "bash" and b.how.startswith("run")]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.id)
def test_shell_blocks_run(block: Block, sandbox: dict[str, Any]) -> None:
    found = commands(block)
    assert found, f"{block.id}: nothing left to run"
    for command in found:
        for placeholder, value in sandbox["placeholders"].items():
            command = command.replace(placeholder, shlex.quote(value))
        assert "<" not in command, f"{block.id}: a placeholder the test does not know: {command}"
        run = subprocess.run(command, shell=True, cwd=sandbox["project"], env=sandbox["env"], capture_output=True,
                             text=True, timeout=900)
        assert run.returncode == 0, f"{block.id}: `{command}` exited {run.returncode}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"


def test_the_ci_command_is_the_one_block_ci_runs() -> None:
    [block] = [b for b in BLOCKS if b.how == "ci"]
    assert block.path.name == "README.md" and block.text.endswith(".venv/bin/python -m pytest -q -n 2 --durations=30")
