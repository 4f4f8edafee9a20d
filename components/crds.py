"""Where operator CRDs come from: the pinned chart's ``crds/`` directory, loaded once per process."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from components.errors import ConfigError

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Loader = yaml.SafeLoader


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
def load_dir(path: Path) -> tuple[dict[str, Any], ...]:
    """Every CustomResourceDefinition document in ``path/*.yaml``, sorted by name."""
    docs = []
    for file in sorted(path.glob("*.yaml")):
        with file.open() as fh:
            for doc in yaml.load_all(fh, Loader=_Loader):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    docs.append(doc)
    return tuple(sorted(docs, key=lambda d: d["metadata"]["name"]))
