"""Where operator CRDs come from: the pinned chart's ``crds/`` directory, each file parsed once per process.

Parsed files are kept pickled (a few compact bytes objects instead of ~50,000 dicts and lists that every garbage
collection would walk); each use gets fresh documents it owns.
"""

from __future__ import annotations

import functools
import pickle
from pathlib import Path
from typing import Any

import yaml

from components.errors import ConfigError

try:
    YAML_LOADER: Any = yaml.CSafeLoader
    """libyaml's safe loader (several times faster on megabyte-sized CRDs), else the pure-Python one."""
except AttributeError:  # pragma: no cover - libyaml missing
    YAML_LOADER = yaml.SafeLoader


def default_kuberay_dir(version: str, project_dir: Path) -> Path:
    """The chart beside the project (``../shared/upstream/kuberay-<version>/charts/kuberay-operator/crds``)."""
    return project_dir.parent / "shared" / "upstream" / f"kuberay-{version}" / "charts" / "kuberay-operator" / "crds"


def default_dask_dir() -> Path | None:
    """The Dask operator chart's ``crds/`` inside the installed ``dask-kubernetes`` wheel; None when not installed."""
    import importlib.util

    spec = importlib.util.find_spec("dask_kubernetes")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "operator" / "deployment" / "helm" / "dask-kubernetes-operator" / "crds"


def resolve_dir(configured: str | None, default: Path, project_dir: Path, key: str, hint: str) -> Path:
    """Resolve a configured CRD directory (relative to the project) or the default; ConfigError when absent."""
    path = (project_dir / configured) if configured and not Path(configured).is_absolute() else Path(configured or default)
    if not path.is_dir() or not any(path.glob("*.yaml")):
        raise ConfigError([f"{key}: no CRD files at '{path}'; {hint}"])
    return path


@functools.cache
def _parsed(path: Path) -> bytes:
    with path.open(encoding="utf-8") as fh:
        return pickle.dumps(list(yaml.load_all(fh, Loader=YAML_LOADER)), protocol=pickle.HIGHEST_PROTOCOL)


def file_documents(path: Path) -> list[Any]:
    """Every YAML document of ``path`` (fresh objects the caller owns; the file is parsed once per process)."""
    return pickle.loads(_parsed(path.resolve()))


def load_dir(path: Path) -> tuple[dict[str, Any], ...]:
    """Every CustomResourceDefinition document in ``path/*.yaml``, sorted by name (fresh objects the caller owns)."""
    docs = [doc for file in sorted(path.glob("*.yaml")) for doc in file_documents(file)
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"]
    return tuple(sorted(docs, key=lambda d: d["metadata"]["name"]))
