"""``raydask.offline.stackfile`` against the real Pulumi CLI: every stack file of the fast tier's corpus
(tests/test_stackfile.py) and the shipped stacks, read by ``pulumi config --json``, gives what ``stackfile.load`` gives
(or both refuse the file). The fast tier checks the same corpus against a recording of the CLI's code; this checks the
CLI itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from live import E2E_STACKS, ROOT
from test_stackfile import CASES, EXPECTED, read

SHIPPED = {f"shipped {s}": (ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text() for s in ("dev", "production")}
SHIPPED["shipped e2e"] = (E2E_STACKS / "Pulumi.e2e.yaml").read_text()


def cli_values(entries: dict[str, Any]) -> dict[str, Any]:
    """``pulumi config --json`` in ``stackfile.load``'s form."""
    return {k: json.loads(e["value"]) if "objectValue" in e else {"secure": "?"} if e["secret"] else e["value"]
            for k, e in entries.items()}


@pytest.fixture(scope="module")
def project(tools: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("stackfile-cli")
    (root / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", root / "Pulumi.yaml")
    env = {**os.environ, "PULUMI_HOME": str(root / "home"), "PULUMI_BACKEND_URL": (root / "backend").as_uri(),
           "PULUMI_CONFIG_PASSPHRASE": "raydask-e2e", "PULUMI_SKIP_UPDATE_CHECK": "true"}
    (root / "backend").mkdir()
    subprocess.run([tools["RAYDASK_PULUMI"], "stack", "init", "case", "--non-interactive"], cwd=root, env=env,
                   check=True, capture_output=True, timeout=60)
    return root, env


def test_pulumi_config_reads_what_stackfile_reads(tools: dict[str, str], project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    cases = {**CASES, **SHIPPED}
    disagreements: list[str] = []
    for name, text in sorted(cases.items()):
        if "secure" in text or EXPECTED.get(name, {}).get("deviation"):
            continue  # ciphertexts the CLI would try to decrypt; the corpus's documented deviations
        (root / "stacks" / "Pulumi.case.yaml").write_text(text, encoding="utf-8")
        run = subprocess.run([tools["RAYDASK_PULUMI"], "config", "--json", "-s", "case"], cwd=root, env=env,
                             capture_output=True, text=True, timeout=60)
        ours = read(text)
        if run.returncode != 0:
            if "error" not in ours:
                disagreements.append(f"{name}: the CLI refuses the file ({run.stderr.strip()}), raydask read {ours}")
        elif cli_values(json.loads(run.stdout or "{}")) != ours:
            disagreements.append(f"{name}: the CLI read {run.stdout.strip()}, raydask {ours}")
    assert len(cases) > 400
    assert disagreements == [], "\n".join(disagreements)
