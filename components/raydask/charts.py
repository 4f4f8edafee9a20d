"""Where operator charts and their CRDs come from: a Helm repository through a local chart cache, or a chart directory.

One locator for the runtime (the CRDs an operator component applies), the offline render (``helm template``) and the
validators (CRD schemas):

- a **repository** (the public one by default, or a mirror): the chart is fetched once (``index.yaml``, then the
  archive, its sha256 checked) into the cache ``$RAYDASK_CHART_CACHE`` (default ``~/.cache/raydask/charts``) as
  ``<chart>/<version>/``; a cache filled in advance (:func:`add`, ``raydask charts add``) needs no network;
- a **chart directory** (``helm pull <chart> --version <v> --untar``), for air-gapped clusters: nothing is fetched.

Parsed CRD files are kept pickled (a few compact bytes objects instead of ~50,000 dicts and lists that every garbage
collection would walk); each use gets fresh documents it owns. Across processes, a parsed file is kept as JSON in the
chart cache's ``.parsed/`` folder, named by the sha256 of its text (reading 5 MB of CRDs as JSON takes ~0.05 s of CPU,
parsing them as YAML ~1.5 s).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

try:
    YAML_LOADER: Any = yaml.CSafeLoader
    """libyaml's safe loader (several times faster on megabyte-sized CRDs), else the pure-Python one."""
except AttributeError:  # pragma: no cover - libyaml missing
    YAML_LOADER = yaml.SafeLoader

CACHE_ENV = "RAYDASK_CHART_CACHE"
"""Environment variable naming the chart cache directory."""
FETCH_TIMEOUT = 60.0
"""Seconds each HTTP request of a fetch may take."""


class ChartError(Exception):
    """A chart cannot be found, fetched or read; the message says why and what to do."""


@dataclass(frozen=True)
class LocalChart:
    """A chart on disk: its name, version and directory."""

    name: str
    version: str
    path: Path

    def crds(self) -> tuple[dict[str, Any], ...]:
        """Every CustomResourceDefinition of the chart's ``crds/`` directory, sorted by name (fresh objects)."""
        return load_dir(self.path / "crds")


def cache_dir() -> Path:
    """``$RAYDASK_CHART_CACHE``, else ``$XDG_CACHE_HOME/raydask/charts``, else ``~/.cache/raydask/charts``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "raydask" / "charts"


def chart_metadata(path: Path) -> dict[str, Any]:
    """``Chart.yaml`` of the chart directory ``path``; ChartError when there is none."""
    try:
        meta = yaml.load((path / "Chart.yaml").read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ChartError(f"'{path}' is not a chart directory (no readable Chart.yaml: {exc})") from None
    if not isinstance(meta, dict):
        raise ChartError(f"'{path}/Chart.yaml' is not a mapping")
    return meta


def _checked(path: Path, name: str, version: str) -> LocalChart:
    meta = chart_metadata(path)
    if str(meta.get("name")) != name:
        raise ChartError(f"the chart at '{path}' is '{meta.get('name')}', not '{name}'")
    if str(meta.get("version")) != version:
        raise ChartError(f"the chart at '{path}' is version {meta.get('version')}, not {version}")
    return LocalChart(name, version, path)


def cached(name: str, version: str, cache: Path | None = None) -> LocalChart | None:
    """The cached chart ``name`` ``version``; None when the cache does not hold it."""
    path = (cache or cache_dir()) / name / version
    if not (path / "Chart.yaml").is_file():
        return None
    return _checked(path, name, version)


def locate(name: str, version: str, *, repo: str | None = None, path: str | Path | None = None,
           project_dir: Path | None = None, cache: Path | None = None) -> LocalChart:
    """Chart ``name`` ``version``: the directory ``path`` (relative to ``project_dir``) when given, else the cached copy,
    fetched from ``repo`` first when the cache lacks it. ChartError says what is missing and how to provide it."""
    if path is not None:
        where = Path(path) if Path(path).is_absolute() else (project_dir or Path.cwd()) / path
        return _checked(where, name, version)
    found = cached(name, version, cache)
    if found is not None:
        return found
    if not repo:
        raise ChartError(f"chart {name} {version} is not in the chart cache {cache or cache_dir()} and no repository is set")
    return _checked(fetch(repo, name, version, cache), name, version)


def _get(url: str) -> bytes:
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme not in ("https", "http", "file"):
        raise ChartError(f"cannot fetch '{url}': only https://, http:// and file:// repositories are supported (for oci:// "
                         "run `helm pull` and use the chart directory)")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:
            data: bytes = response.read()
            return data
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ChartError(f"cannot fetch {url}: {getattr(exc, 'reason', exc)}") from None


def fetch(repo: str, name: str, version: str, cache: Path | None = None) -> Path:
    """Download chart ``name`` ``version`` from the Helm repository ``repo`` into the cache; returns its directory."""
    base = repo.rstrip("/") + "/"
    try:
        index = yaml.load(_get(base + "index.yaml"), Loader=YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ChartError(f"{base}index.yaml is not valid YAML: {exc}") from None
    entries = ((index.get("entries") or {}).get(name) or []) if isinstance(index, dict) else []
    entry = next((e for e in entries if isinstance(e, dict) and str(e.get("version")) == version), None)
    if entry is None or not entry.get("urls"):
        known = ", ".join(str(e.get("version")) for e in entries[:10] if isinstance(e, dict)) or "none"
        raise ChartError(f"repository {repo} has no chart {name} version {version} (versions: {known})")
    archive = _get(urllib.parse.urljoin(base, str(entry["urls"][0])))
    digest = entry.get("digest")
    if digest and hashlib.sha256(archive).hexdigest() != digest:
        raise ChartError(f"chart {name} {version} from {repo}: sha256 {hashlib.sha256(archive).hexdigest()} does not match "
                         f"the index ({digest})")
    with tempfile.TemporaryDirectory(prefix="raydask-chart-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tgz:
                tgz.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ChartError(f"chart {name} {version} from {repo}: unreadable archive: {exc}") from None
        return _install(Path(tmp) / name, name, version, cache)


def _install(source: Path, name: str, version: str, cache: Path | None, chart_version: str | None = None) -> Path:
    """Copy the chart directory ``source`` into the cache as ``<name>/<version>`` (atomically); ``chart_version``
    rewrites its Chart.yaml ``version`` and ``appVersion`` (for charts shipped with placeholders)."""
    target = (cache or cache_dir()) / name / version
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
    try:
        shutil.copytree(source, staging, dirs_exist_ok=True)
        if chart_version is not None:
            meta = chart_metadata(staging)
            meta["version"] = meta["appVersion"] = chart_version
            (staging / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
        _checked(staging, name, version)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def add(source: Path, *, version: str | None = None, cache: Path | None = None) -> LocalChart:
    """Put the chart directory ``source`` into the cache (for air-gapped machines and tests); ``version`` sets its
    version where the directory carries a placeholder (the dask-kubernetes wheel's chart)."""
    meta = chart_metadata(source)
    name = str(meta.get("name"))
    wanted = version or str(meta.get("version"))
    return LocalChart(name, wanted, _install(source, name, wanted, cache, version))


def add_crds(source: Path, name: str, version: str, *, cache: Path | None = None) -> LocalChart:
    """Put a directory of CRD files into the cache as ``name`` ``version`` (a chart holding only ``crds/``), for CRDs the
    validators check against that no installed chart ships (the Prometheus operator's monitors)."""
    if not any(source.glob("*.yaml")):
        raise ChartError(f"'{source}' holds no CRD files (*.yaml)")
    with tempfile.TemporaryDirectory(prefix="raydask-crds-") as tmp:
        chart = Path(tmp) / name
        shutil.copytree(source, chart / "crds")
        meta = {"apiVersion": "v2", "name": name, "version": version, "description": "CRDs only (raydask charts add-crds)"}
        (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
        return LocalChart(name, version, _install(chart, name, version, cache))


@dataclass(frozen=True)
class CrdFiles:
    """A set of CRD files fetched from a URL (not a Helm chart): the Prometheus operator's monitors."""

    name: str
    version: str
    base_url: str
    """Where the files are, ending in ``/``."""
    files: tuple[str, ...]

    def locate(self, cache: Path | None = None) -> LocalChart:
        """The set in the cache (a chart holding only ``crds/``), fetched first when the cache lacks it."""
        found = cached(self.name, self.version, cache)
        if found is not None:
            return found
        with tempfile.TemporaryDirectory(prefix="raydask-crds-") as tmp:
            for file in self.files:
                (Path(tmp) / file).write_bytes(_get(self.base_url + file))
            return add_crds(Path(tmp), self.name, self.version, cache=cache)


def mirror(source: Path, cache: Path | None = None) -> list[LocalChart]:
    """Fill the cache from ``source``, a local copy of the chart repositories (no network): every chart directory
    (``Chart.yaml``) and packaged chart (``*.tgz``) under it, and every CRD-only set laid out as
    ``<name>-<version>/crds/*.yaml`` (``prometheus-operator-0.93.0/crds``). Returns what it cached."""
    if not source.is_dir():
        raise ChartError(f"'{source}' is not a directory")
    out: list[LocalChart] = []
    for root, dirs, files in os.walk(source):
        here = Path(root)
        if "Chart.yaml" in files:
            out.append(add(here, cache=cache))
            dirs[:] = []  # a chart's own subdirectories are part of it
            continue
        dirs.sort()
        for file in sorted(f for f in files if f.endswith(".tgz")):
            out.append(_add_archive(here / file, cache))
        m = re.fullmatch(r"(?P<name>[a-z0-9][a-z0-9-]*?)-(?P<version>\d+\.\d+\.\d+[0-9A-Za-z.+-]*)", here.parent.name)
        if here.name == "crds" and m and any(f.endswith(".yaml") for f in files):
            out.append(add_crds(here, m["name"], m["version"], cache=cache))
    return out


def _add_archive(archive: Path, cache: Path | None) -> LocalChart:
    with tempfile.TemporaryDirectory(prefix="raydask-chart-") as tmp:
        try:
            with tarfile.open(archive, mode="r:gz") as tgz:
                tgz.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise ChartError(f"'{archive}' is not a packaged chart: {exc}") from None
        charts = [p.parent for p in Path(tmp).glob("*/Chart.yaml")]
        if len(charts) != 1:
            raise ChartError(f"'{archive}' holds {len(charts)} charts, not one")
        return add(charts[0], cache=cache)


def unavailable(exc: ChartError, key: str, name: str, version: str, repo: str) -> ChartError:
    """The chart of ``key`` could not be fetched: a ChartError (not a configuration error) with the ways to provide it."""
    folder = cache_dir() / name
    held = sorted(d.name for d in folder.iterdir() if (d / "Chart.yaml").is_file()) if folder.is_dir() else []
    known = f" (the chart cache holds {', '.join(held)}; check the version)" if held and version not in held else ""
    return ChartError(
        f"{key}: {exc}{known}. Provide chart {name} {version} one of these ways: make {repo} reachable (it is fetched once into "
        f"{cache_dir()}); or set {key}.repo to a mirror; or run `helm pull {name} --repo {repo} --version {version} --untar` "
        f"and set {key}.path to the chart directory; or fill the chart cache on this machine: `raydask charts mirror <dir>` "
        "(a local copy of the chart repositories) or `raydask charts add <chart directory>`")


PARSED_DIR = ".parsed"
"""Folder of the chart cache holding parsed YAML files as JSON, named by the sha256 of the YAML text."""


@functools.cache
def _parsed(path: Path) -> bytes:
    text = path.read_bytes()
    cached = cache_dir() / PARSED_DIR / f"{hashlib.sha256(text).hexdigest()}.json"
    try:
        docs = json.loads(cached.read_bytes())
    except (OSError, ValueError):
        docs = list(yaml.load_all(text.decode("utf-8"), Loader=YAML_LOADER))
        _store_parsed(cached, docs)
    return pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL)


def _store_parsed(target: Path, docs: list[Any]) -> None:
    """Keep ``docs`` as JSON at ``target`` when JSON holds them exactly (plain YAML: no dates, no non-string keys);
    atomically, and silently not when the cache cannot be written (parsing again next time is the only cost)."""
    try:
        text = json.dumps(docs, separators=(",", ":"))
    except (TypeError, ValueError):
        return
    if json.loads(text) != docs:
        return
    with contextlib.suppress(OSError):
        write_atomically(target, text)


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file beside it and a rename: a reader sees the old file or the
    new one, never part of one (raises ``OSError``)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def file_documents(path: Path) -> list[Any]:
    """Every YAML document of ``path`` (fresh objects the caller owns; the file is parsed once per process)."""
    return pickle.loads(_parsed(path.resolve()))


def load_dir(path: Path) -> tuple[dict[str, Any], ...]:
    """Every CustomResourceDefinition document in ``path/*.yaml``, sorted by name (fresh objects the caller owns)."""
    docs = [doc for file in sorted(path.glob("*.yaml")) for doc in file_documents(file)
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"]
    return tuple(sorted(docs, key=lambda d: d["metadata"]["name"]))
