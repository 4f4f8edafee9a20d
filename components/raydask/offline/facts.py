"""Extract what raydask ships of each supported operator version (:mod:`raydask.facts`) from the pinned charts in the
chart cache: ``python -m raydask.offline.facts --write`` rewrites the package's data files, without ``--write`` it
reports whether they are current (exit 1 when not)."""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from raydask import charts, facts
from raydask.spec.dask import DASK_CHART, DASK_CHART_REPO
from raydask.spec.kuberay import KUBERAY_CHART, KUBERAY_CHART_REPO

REPOS = {KUBERAY_CHART: KUBERAY_CHART_REPO, DASK_CHART: DASK_CHART_REPO}
DATA_DIR = Path(facts.__file__).parent


def _crd_spec(chart: charts.LocalChart, name: str) -> dict[str, Any]:
    doc = next(d for d in chart.crds() if d["metadata"]["name"] == name)
    spec: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    return spec


def _schemas(chart: charts.LocalChart) -> dict[str, Any]:
    if chart.name == KUBERAY_CHART:
        cluster = _crd_spec(chart, "rayclusters.ray.io")
        head = cluster["headGroupSpec"]["properties"]["template"]["properties"]["spec"]
        worker = cluster["workerGroupSpecs"]["items"]["properties"]["template"]["properties"]["spec"]
        if head != worker:
            raise ValueError(f"{chart.name} {chart.version}: the head and worker PodSpecs differ; ship both")
        service = _crd_spec(chart, "rayservices.ray.io")["serveService"]["properties"]["spec"]
        return {"podSpec": head, "serveServiceSpec": service}
    cluster = _crd_spec(chart, "daskclusters.kubernetes.dask.org")
    job = _crd_spec(chart, "daskjobs.kubernetes.dask.org")
    return {"podSpec": cluster["worker"]["properties"]["spec"], "serviceSpec": cluster["scheduler"]["properties"]["service"],
            "jobPodSpec": job["job"]["properties"]["spec"]}


def extract(chart: charts.LocalChart) -> dict[str, Any]:
    """What :mod:`raydask.facts` ships of ``chart``: its embedded schemas and default values."""
    text = (chart.path / "values.yaml").read_text(encoding="utf-8")
    values = yaml.safe_load(text) or {}
    if chart.name == DASK_CHART and isinstance(values.get("image"), dict):
        values["image"]["tag"] = chart.version  # the dask-kubernetes wheel's copy says "set-by-chartpress"
    documented = sorted(set(re.findall(r"^#\s*([A-Za-z][A-Za-z0-9_]*):", text, re.MULTILINE)) - set(values))
    return {"chart": chart.name, "version": chart.version, "schemas": _schemas(chart), "values": values,
            "documentedValues": documented}


def encode(data: dict[str, Any]) -> bytes:
    """The data file: compact, sorted JSON, gzipped without a timestamp (the same bytes every time)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def located(chart: str, version: str) -> charts.LocalChart:
    """The pinned chart, from the chart cache (fetched from its repository when missing)."""
    return charts.locate(chart, version, repo=REPOS[chart])


def stale() -> list[str]:
    """The data files that differ from what the pinned charts give now (missing ones included)."""
    out = []
    for chart, versions in facts.SUPPORTED.items():
        for version in versions:
            path = DATA_DIR / facts.file_name(chart, version)
            if not path.is_file() or path.read_bytes() != encode(extract(located(chart, version))):
                out.append(path.name)
    return out


def write() -> list[str]:
    """Rewrite every data file; returns the names of those that changed."""
    changed = []
    for chart, versions in facts.SUPPORTED.items():
        for version in versions:
            path = DATA_DIR / facts.file_name(chart, version)
            data = encode(extract(located(chart, version)))
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
                changed.append(path.name)
    return changed


if __name__ == "__main__":
    try:
        if "--write" in sys.argv:
            changed = write()
            print("updated: " + ", ".join(changed) if changed else "up to date")
        else:
            found = stale()
            print("stale: " + ", ".join(found) + " (run python -m raydask.offline.facts --write)" if found else "up to date")
            sys.exit(1 if found else 0)
    except charts.ChartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
