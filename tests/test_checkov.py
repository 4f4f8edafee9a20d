"""checkov on both stacks: every object the offline render produces (the program's and the operators' Helm output), with
each Ray / Dask pod expanded into a Deployment (a Job for run-to-completion pods) as the operators create it.

No failed check is accepted outside the allowlist below, each entry scoped to the objects it is justified for; the
checkov allowlist in docs/offline-tools.md carries the same ids with the reasons. checkov runs from its own virtualenv
(``.venv-checkov``, made by ``scripts/setup.sh --checkov``); without it the test is skipped locally and fails in CI (``CI`` set).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stack_renders import ROOT, STACKS, manifests

from raydask.offline import scan
from raydask.offline.render import dump_yaml

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
SOURCE = "raydask.io/source"


@dataclass(frozen=True)
class Failure:
    """One failed checkov check on one scanned object."""

    check: str
    resource: str
    stack: str
    manifest: dict[str, Any]

    @property
    def source(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("annotations", {}).get(SOURCE, ""))

    def __str__(self) -> str:
        return f"{self.stack}: {self.check} on {self.resource}" + (f" (from {self.source})" if self.source else "")


def only_autoscaler_lacks(probe: str) -> Callable[[Failure], bool]:
    """Every container without ``probe`` is KubeRay's autoscaler sidecar (autoscalerOptions has no probe fields)."""

    def match(f: Failure) -> bool:
        spec = f.manifest.get("spec", {}).get("template", {}).get("spec", {})
        lacking = [c["name"] for c in spec.get("containers", []) if not c.get(probe)]
        return bool(lacking) and set(lacking) == {scan.AUTOSCALER}

    return match


ALLOWED: dict[str, Callable[[Failure], bool]] = {
    "CKV_K8S_43": lambda f: True,
    "CKV_K8S_8": only_autoscaler_lacks("livenessProbe"),
    "CKV_K8S_9": only_autoscaler_lacks("readinessProbe"),
}
"""check id -> the failures it is accepted for (the checkov allowlist in docs/offline-tools.md gives the reasons)."""


def readme_allowlist() -> list[str]:
    """Check ids in the checkov allowlist table of docs/offline-tools.md."""
    text = (ROOT / "docs" / "offline-tools.md").read_text()
    block = text.split("<!-- checkov-allowlist:begin -->")[1].split("<!-- checkov-allowlist:end -->")[0]
    return re.findall(r"^\| `(CKV2?_K8S_\d+)`", block, re.MULTILINE)


def write_manifests(out: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """One file per scanned object under ``out/<stack>/``; returns ``{file path as checkov reports it: (stack, object)}``."""
    files = {}
    for stack in STACKS:
        (out / stack).mkdir(parents=True)
        for i, obj in enumerate(scan.scanner_manifests(manifests(stack))):
            name = f"{i:03d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"
            (out / stack / name).write_text(dump_yaml(obj))
            files[f"/{stack}/{name}"] = (stack, obj)
    return files


def run_checkov(directory: Path) -> dict[str, Any]:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false", "LOG_LEVEL": "ERROR"}
    proc = subprocess.run([str(CHECKOV), "-d", str(directory), "--framework", "kubernetes", "-o", "json", "--quiet",
                           "--skip-download", "--compact"], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    (result,) = report if isinstance(report, list) else [report]
    return dict(result)


@pytest.fixture(scope="module")
def failures(tmp_path_factory: pytest.TempPathFactory) -> list[Failure]:
    if not CHECKOV.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHECKOV} is missing: run `bash scripts/setup.sh --checkov` (it creates .venv-checkov)")
        pytest.skip(f"{CHECKOV} is missing: run `bash scripts/setup.sh --checkov`")
    directory = tmp_path_factory.mktemp("checkov")
    files = write_manifests(directory)
    result = run_checkov(directory)
    assert result["summary"]["parsing_errors"] == 0 and result["summary"]["passed"] > 0
    out = []
    for item in result["results"]["failed_checks"]:
        stack, obj = files[item["file_path"]]
        out.append(Failure(item["check_id"], item["resource"], stack, obj))
    return out


def test_no_failed_check_outside_the_allowlist(failures: list[Failure]) -> None:
    unexpected = [str(f) for f in failures if not ALLOWED.get(f.check, lambda _: False)(f)]
    assert unexpected == []


def test_allowlist_is_current(failures: list[Failure]) -> None:
    """An allowlisted check that no longer fails is removed from the allowlist (and docs/offline-tools.md)."""
    assert sorted(ALLOWED) == sorted({f.check for f in failures})


def test_readme_lists_the_allowlist() -> None:
    assert sorted(readme_allowlist()) == sorted(ALLOWED)
