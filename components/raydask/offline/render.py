"""Offline render: run the Pulumi program under mocks, expand Helm releases with ``helm template``, write manifests.

``render_stack`` runs :func:`raydask.program.main` (the program ``pulumi up`` runs) with the ``config:`` block of
``stacks/Pulumi.<stack>.yaml`` and turns what it registers into manifests: every Kubernetes object as declared,
every ``kubernetes:helm.sh/v3:Release`` expanded with the real ``helm template`` of the pinned local chart, and the
CRDs listed (by name and version) rather than written, unless asked.  ``Rendering.files`` lays them out one object
per file (``<namespace>/<kind>-<name>.yaml``, ``_cluster/`` for cluster-scoped objects, ``_crds/`` for CRDs) plus an
``index.yaml``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raydask import charts
from raydask.charts import YAML_LOADER
from raydask.k8s.manifest import CRD_TYPE, RELEASE_TYPE, merge, normalize, object_ref
from raydask.offline import stackfile
from raydask.spec.security import REDIS_PASSWORD_PLACEHOLDER

INDEX = "index.yaml"
PLACEHOLDER = REDIS_PASSWORD_PLACEHOLDER
"""What an offline render puts where a Pulumi secret goes (it never decrypts them)."""
CONFIG_ERROR = "invalid raydask configuration:\n"
OPERATOR_KEYS = {"raydask:kuberay:KubeRayOperator": "raydask:kuberay", "raydask:dask:DaskOperator": "raydask:daskOperator"}
"""The config key of each operator component (its ``values`` go to its Helm release)."""
CRD_DIR = "_crds"
CLUSTER_DIR = "_cluster"
DEFAULT_KUBERNETES_VERSION = "1.31"
CLUSTER_SCOPED = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "PriorityClass", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment", "IngressClass", "RuntimeClass",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "FlowSchema", "PriorityLevelConfiguration", "CertificateSigningRequest",
})
"""Built-in cluster-scoped kinds (custom kinds: the ``scope`` of the stack's CRDs)."""


class RenderError(Exception):
    """The stack cannot be rendered; the message names the stack, the resource and the key."""


class StackConfigError(RenderError):
    """The stack's configuration is invalid (exit code 2)."""


class ChartMissingError(RenderError):
    """An operator chart the stack installs can be neither found nor fetched (the message says how to provide it)."""


@dataclass
class RenderedObject:
    """One Kubernetes object of a rendering and where it came from."""

    manifest: dict[str, Any]
    resource: str
    """The Pulumi resource that declared it: ``<type>::<name>`` (for Helm output, the Release)."""
    component: str | None = None
    """The component it belongs to, ``<Type> <name>`` (e.g. ``RayCluster dev``); None for top-level resources."""
    release: str | None = None
    """The Helm release whose ``helm template`` produced it; None for objects the program declares directly."""
    template: str | None = None
    """The chart template it came from (``kuberay-operator/templates/deployment.yaml``)."""
    patched_by: list[str] = field(default_factory=list)
    """The Pulumi patch resources (``<type>::<name>``) applied to it, in order."""
    path: str = ""
    """File path inside a render directory."""

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.manifest.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        return (self.manifest.get("metadata") or {}).get("namespace")

    @property
    def ref(self) -> str:
        """``Kind namespace/name``."""
        return object_ref(self.manifest)

    @property
    def origin(self) -> str:
        """Who declared it, for messages: ``RayCluster dev`` or ``Release kuberay-operator (KubeRayOperator kuberay)``."""
        if self.release:
            return f"helm release {self.release}" + (f" ({self.component})" if self.component else "")
        return self.component or self.resource


@dataclass
class ReleaseInfo:
    """A Helm release of the stack and the objects ``helm template`` produced for it."""

    name: str
    namespace: str
    chart: str
    version: str
    repo: str
    skip_crds: bool
    resource: str
    component: str | None
    chart_dir: str
    objects: list[RenderedObject] = field(default_factory=list)


@dataclass
class Rendering:
    """Everything one stack renders to."""

    stack: str
    kubernetes_version: str
    objects: list[RenderedObject]
    """Every object but CRDs: the program's in declaration order, each release's expansion in place of the release."""
    crds: list[RenderedObject]
    releases: list[ReleaseInfo]
    outputs: dict[str, Any]
    components: list[tuple[str, str | None]]
    """``(component, parent component)`` for every component, in declaration order."""

    def manifests(self, include_crds: bool = True) -> list[dict[str, Any]]:
        """Every manifest (CRDs first when included)."""
        return [o.manifest for o in [*(self.crds if include_crds else []), *self.objects]]

    def placeholders(self) -> list[RenderedObject]:
        """Objects holding a placeholder where ``pulumi up`` puts a Pulumi secret (an offline render never decrypts
        them)."""
        return [o for o in self.objects if PLACEHOLDER in json.dumps(o.manifest)]

    def placeholder_keys(self) -> dict[str, list[str]]:
        """For each object holding placeholders, the ``raydask:`` config keys of the Pulumi secrets they stand for."""
        import re

        out: dict[str, list[str]] = {}
        for o in self.placeholders():
            text = json.dumps(o.manifest)
            keys = {f"raydask:{m.group(1)}" if m.group(1) else "raydask:redisPassword"
                    for m in re.finditer(re.escape(PLACEHOLDER) + r"(?:-([A-Za-z][A-Za-z0-9_-]*))?", text)}
            out[o.ref] = sorted(keys)
        return out

    def find(self, ref: str) -> RenderedObject | None:
        """The object whose ``Kind namespace/name`` is ``ref``."""
        return next((o for o in [*self.objects, *self.crds] if o.ref == ref), None)

    def index(self, include_crds: bool = False) -> dict[str, Any]:
        """Contents of ``index.yaml``: objects and their origin, releases, CRDs (name and version), stack outputs."""
        return {
            "stack": self.stack,
            "kubernetesVersion": self.kubernetes_version,
            "objects": [_index_entry(o) for o in self.objects],
            "releases": [
                {"name": r.name, "namespace": r.namespace, "chart": r.chart, "version": r.version, "repo": r.repo,
                 "skipCrds": r.skip_crds, "from": r.component or r.resource, "objects": len(r.objects)}
                for r in self.releases
            ],
            "crds": [
                {"name": c.name, "version": crd_version(c.manifest), "from": c.component or c.resource,
                 **({"file": c.path} if include_crds else {})}
                for c in self.crds
            ],
            "outputs": self.outputs,
        }

    def files(self, include_crds: bool = False) -> dict[str, str]:
        """``{relative path: YAML text}`` of a render directory, ``index.yaml`` included."""
        out = {o.path: dump_yaml(o.manifest) for o in [*(self.crds if include_crds else []), *self.objects]}
        out[INDEX] = dump_yaml(self.index(include_crds))
        return out


def _index_entry(o: RenderedObject) -> dict[str, Any]:
    entry: dict[str, Any] = {"file": o.path, "kind": o.kind, "name": o.name}
    if o.namespace:
        entry["namespace"] = o.namespace
    entry["from"] = o.origin
    if o.template:
        entry["template"] = o.template
    if o.patched_by:
        entry["patchedBy"] = list(o.patched_by)
    return entry


def unwrap_secrets(value: Any) -> Any:
    """``value`` without the engine's secret markers: what the API server receives (offline, secrets are placeholders)."""
    from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key

    if isinstance(value, dict):
        if value.get(_special_sig_key) == _special_secret_sig:
            return unwrap_secrets(value.get("value"))
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def crd_version(crd: dict[str, Any]) -> str:
    """The operator version a CRD object carries (``app.kubernetes.io/version``), or ``?``."""
    return str(((crd.get("metadata") or {}).get("labels") or {}).get("app.kubernetes.io/version", "?"))


# ---------------------------------------------------------------------------------------------------------------
# YAML
# ---------------------------------------------------------------------------------------------------------------


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Block style, keys in the builders' order, multi-line strings as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

def dump_yaml(data: Any) -> str:
    """One YAML document: stable key order (as built), no line folding."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=2**20)
    return text


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=YAML_LOADER)


# ---------------------------------------------------------------------------------------------------------------
# project, stack files, program run
# ---------------------------------------------------------------------------------------------------------------


class NoProjectError(RenderError):
    """No ``Pulumi.yaml`` where the command looked (exit code 2)."""


def project_root(explicit: str | Path | None = None) -> Path:
    """The directory holding ``Pulumi.yaml``: ``explicit``, ``$RAYDASK_PROJECT_DIR``, else the working directory or the
    nearest of its parents holding one; :class:`NoProjectError` when none does."""
    if explicit:
        return Path(explicit).resolve()
    env = os.environ.get("RAYDASK_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise NoProjectError(f"no Pulumi.yaml in {cwd} or any directory above it: run raydask inside a Pulumi project, or name one "
                         "with -C DIR (or $RAYDASK_PROJECT_DIR)")


def stack_config_dir(root: Path) -> Path:
    """``stackConfigDir`` of ``Pulumi.yaml`` (the project directory when unset)."""
    try:
        project = load_yaml((root / "Pulumi.yaml").read_text()) or {}
    except FileNotFoundError:
        project = {}
    return root / str(project.get("stackConfigDir") or ".")


def stack_names(root: Path) -> list[str]:
    """Stacks that have a ``Pulumi.<stack>.yaml``."""
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in stack_config_dir(root).glob("Pulumi.*.yaml"))


def stack_file(stack: str, root: Path) -> stackfile.StackFile:
    """``Pulumi.<stack>.yaml`` read as the Pulumi CLI reads it; StackConfigError when it is missing or Pulumi would refuse
    it."""
    path = stack_config_dir(root) / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(stack_names(root)) or "none"
        raise StackConfigError(f"stack '{stack}': no stack file {path} (stacks: {known})")
    try:
        return stackfile.read(path, stackfile.project_name(root / "Pulumi.yaml"))
    except stackfile.StackFileError as exc:
        raise StackConfigError(f"stack '{stack}': invalid raydask configuration:\n{exc}") from None


def stack_config(stack: str, root: Path) -> dict[str, Any]:
    """The ``config:`` values of ``Pulumi.<stack>.yaml`` as ``pulumi config --json`` reports them
    (:func:`raydask.offline.stackfile.load`); StackConfigError when the file is missing or Pulumi would refuse it."""
    return stack_file(stack, root).values


def _plain_config(config: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Config for an offline run and its secret keys: encrypted (``secure:``) values, and the program's secrets and those
    the workloads' ``secrets`` read when they are not set, are replaced by placeholders (``OFFLINE_SECRET_CONFIG``,
    ``<placeholder>-<key>``); real secrets never reach a render."""
    from raydask.spec.companions import referenced_config_keys
    from raydask.spec.security import OFFLINE_SECRET_CONFIG

    out: dict[str, Any] = {}
    secrets = []
    for key, value in config.items():
        if stackfile.is_secret(value):
            value = OFFLINE_SECRET_CONFIG.get(key, f"{PLACEHOLDER}-{key.partition(':')[2]}")
            secrets.append(key)
        out[key] = value
    referenced = referenced_config_keys({k.partition(":")[2]: v for k, v in config.items() if k.startswith("raydask:")})
    unset = {**OFFLINE_SECRET_CONFIG, **{f"raydask:{k}": f"{PLACEHOLDER}-{k}" for k in sorted(referenced)}}
    for key, placeholder in unset.items():
        if key not in out:
            out[key] = placeholder
            secrets.append(key)
    return out, secrets


@contextlib.contextmanager
def in_project(root: Path) -> Iterator[None]:
    """Run with ``root`` as working directory and ``$RAYDASK_PROJECT_DIR`` (as ``pulumi up`` runs the program)."""
    old_cwd, old_env = Path.cwd(), os.environ.get("RAYDASK_PROJECT_DIR")
    os.environ["RAYDASK_PROJECT_DIR"] = str(root)
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(old_cwd)
        if old_env is None:
            os.environ.pop("RAYDASK_PROJECT_DIR", None)
        else:
            os.environ["RAYDASK_PROJECT_DIR"] = old_env


def run_program(stack: str, root: Path, config: dict[str, Any] | None = None, problems: list[str] | None = None) -> Any:
    """Run ``raydask.program.main`` under the mock engine with the stack's config; returns the RunResult. ``problems``:
    what reading the stack file found, reported with the program's own (StackConfigError)."""
    import pulumi

    from raydask.charts import ChartError
    from raydask.errors import ConfigError
    from raydask.program import CHART_ERROR, main
    from raydask.testing import mockrun

    found = list(problems or [])
    if config is None:
        file = stack_file(stack, root)
        config, found = file.values, [*found, *file.problems]
    values, secrets = _plain_config(config)

    def refuse(lines: list[str]) -> StackConfigError:
        from raydask.errors import one_line

        return StackConfigError(f"stack '{stack}': invalid raydask configuration:\n" + "\n".join(
            sorted(dict.fromkeys(one_line(line) for line in lines))))

    with in_project(root):
        try:
            result = mockrun.run(main, config=values, secret_keys=secrets, stack=stack, bulk_types=[CRD_TYPE])
        except ConfigError as exc:
            raise refuse([*found, *exc.problems]) from None
        except ChartError as exc:
            raise ChartMissingError(f"stack '{stack}': {exc}") from None
        except pulumi.RunError as exc:
            text = str(exc)
            if text.startswith(CHART_ERROR):
                raise ChartMissingError(f"stack '{stack}': {text.removeprefix(CHART_ERROR)}") from None
            if isinstance(exc.__context__, ChartError):
                raise ChartMissingError(f"stack '{stack}': {exc.__context__}") from None
            if text.startswith(CONFIG_ERROR):
                raise refuse([*found, *text.removeprefix(CONFIG_ERROR).split("\n")]) from None
            if isinstance(exc.__context__, ConfigError):
                raise refuse([*found, *exc.__context__.problems]) from None
            raise RenderError(f"stack '{stack}': {exc}") from None
    if found:
        raise refuse(found)
    return result


# ---------------------------------------------------------------------------------------------------------------
# Helm
# ---------------------------------------------------------------------------------------------------------------


def find_helm() -> Path:
    """``helm`` next to the running Python (``.venv/bin/helm``), else on ``PATH``."""
    beside = Path(sys.executable).parent / "helm"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("helm")
    if found:
        return Path(found)
    raise RenderError(f"helm not found: expected {beside} (run `bash scripts/setup.sh`) or `helm` on PATH")


def chart_dir(chart: str, version: str, repo: str, root: Path, where: str) -> Path:
    """The chart a Release installs, on disk: its local chart directory (relative to the project), else the chart from its
    repository through the chart cache (:func:`raydask.charts.locate`)."""
    try:
        if not repo:
            path = Path(chart) if Path(chart).is_absolute() else root / chart
            charts.chart_metadata(path)
            return path
        return charts.locate(chart, version, repo=repo).path
    except charts.ChartError as exc:
        raise RenderError(f"{where}: {exc}") from None


_SOURCE = re.compile(r"^# Source: (.+)$", re.MULTILINE)
_DOC_SPLIT = re.compile(r"^---[ \t]*$", re.MULTILINE)


@functools.cache
def _helm_template(helm: str, args: tuple[str, ...], values_json: str) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="raydask-values-") as fh:
        fh.write(values_json)
        fh.flush()
        proc = subprocess.run([helm, "template", *args, "--values", fh.name], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RenderError(proc.stderr.strip() or proc.stdout.strip() or f"helm exited {proc.returncode}")
    return proc.stdout


Templated = list[tuple[dict[str, Any], str | None]]
"""``(object, chart template path)`` pairs of ``helm template`` output."""


def helm_template(inputs: dict[str, Any], kubernetes_version: str, api_versions: list[str], root: Path,
                  where: str) -> tuple[Path, Templated]:
    """Expand a Release's inputs with ``helm template``: the chart directory and ``(object, template path)`` pairs."""
    chart = str(inputs.get("chart") or "")
    version = str(inputs.get("version") or "")
    repo = str((inputs.get("repositoryOpts") or {}).get("repo") or "")
    if not chart:
        raise RenderError(f"{where}.chart: required for offline rendering")
    if repo and not version:
        raise RenderError(f"{where}.version: pin the chart version")
    path = chart_dir(chart, version, repo, root, f"{where}.chart")
    values = dict(inputs.get("values") or {})
    name = str(inputs.get("name") or "release")
    namespace = str(inputs.get("namespace") or "default")
    args = [name, str(path), "--namespace", namespace, "--kube-version", kubernetes_version]
    args.append("--skip-crds" if inputs.get("skipCrds") else "--include-crds")
    for api in api_versions:
        args += ["--api-versions", api]
    try:
        text = _helm_template(str(find_helm()), tuple(args), json.dumps(values, sort_keys=True))
    except RenderError as exc:
        raise RenderError(f"{where}: helm template {chart} {version} failed: {exc}") from None
    out = []
    for chunk in _DOC_SPLIT.split(text):
        doc = load_yaml(chunk)
        if isinstance(doc, dict) and doc.get("kind"):
            source = _SOURCE.search(chunk)
            out.append((normalize(doc), source.group(1).strip() if source else None))
    return path, out


# ---------------------------------------------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------------------------------------------


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", part)


def object_path(manifest: dict[str, Any]) -> str:
    """``<namespace>/<kind>-<name>.yaml`` (``_cluster/`` when cluster-scoped, ``_crds/<name>.yaml`` for CRDs)."""
    meta = manifest.get("metadata") or {}
    kind = str(manifest.get("kind", "object"))
    name = _safe(str(meta.get("name", "unnamed")))
    if kind == "CustomResourceDefinition":
        return f"{CRD_DIR}/{name}.yaml"
    return f"{_safe(meta['namespace']) if meta.get('namespace') else CLUSTER_DIR}/{kind.lower()}-{name}.yaml"


def _label(ref: tuple[str, str] | None) -> str | None:
    return f"{ref[0].rsplit(':', 1)[-1]} {ref[1]}" if ref else None


def render_stack(stack: str, root: str | Path | None = None, config: dict[str, Any] | None = None,
                 problems: list[str] | None = None) -> Rendering:
    """Run the program for ``stack`` and expand it into manifests (see the module docstring). ``config``: the stack's
    config values (default: read from its stack file), ``problems``: what reading them found (reported with the
    program's own)."""
    project = project_root(root)
    problems = list(problems or [])
    if config is None:
        file = stack_file(stack, project)
        config, problems = file.values, file.problems
    result = run_program(stack, project, config, problems)
    kubernetes_version = str(config.get("raydask:kubernetesVersion") or DEFAULT_KUBERNETES_VERSION)

    components = [(_label((r.type, r.name)) or "", _label(r.parent)) for r in result.resources if not r.custom]
    patches = [r for r in result.resources if r.is_patch]
    declared = {id(r): RenderedObject(r.inputs if r.type == CRD_TYPE else unwrap_secrets(r.inputs), f"{r.type}::{r.name}", _label(r.parent))
                for r in result.resources if r.is_kubernetes_object}
    crds = [o for o in declared.values() if o.kind == "CustomResourceDefinition"]
    api_versions = sorted({str(o.manifest.get("apiVersion")) for o in declared.values()}
                          | {f"{c.manifest['spec']['group']}/{v['name']}" for c in crds for v in c.manifest["spec"].get("versions", [])})
    cluster_kinds = set(CLUSTER_SCOPED) | {c.manifest["spec"]["names"]["kind"] for c in crds
                                           if c.manifest["spec"].get("scope") == "Cluster"}

    expanded: list[RenderedObject] = []
    releases: list[ReleaseInfo] = []
    for r in result.resources:
        if id(r) in declared:
            if declared[id(r)].kind != "CustomResourceDefinition":
                expanded.append(declared[id(r)])
            continue
        if r.type != RELEASE_TYPE:
            continue
        inputs = unwrap_secrets(r.inputs)
        where = f"stack '{stack}': {r.type}::{r.name}" + (f" ({_label(r.parent)})" if r.parent else "")
        try:
            path, docs = helm_template(inputs, kubernetes_version, api_versions, project, where)
        except RenderError as exc:
            key = OPERATOR_KEYS.get(r.parent[0]) if r.parent else None
            own = config.get(key) if key else None
            if key and isinstance(own, dict) and own.get("values"):  # the chart refuses what the escape hatch passed it
                reason = " ".join(str(exc).split(": ", 2)[-1].split())
                raise StackConfigError(f"stack '{stack}': invalid raydask configuration:\n{key}.values: the "
                                       f"{inputs.get('chart')} chart cannot render these values: {reason}") from None
            raise

        release = ReleaseInfo(
            name=str(inputs.get("name") or r.name), namespace=str(inputs.get("namespace") or "default"),
            chart=str(inputs.get("chart")), version=str(inputs.get("version") or charts.chart_metadata(path).get("version")),
            repo=str((inputs.get("repositoryOpts") or {}).get("repo") or ""), skip_crds=bool(inputs.get("skipCrds")),
            resource=f"{r.type}::{r.name}", component=_label(r.parent), chart_dir=str(path),
        )
        for doc, template in docs:
            meta = doc.setdefault("metadata", {})
            if doc.get("kind") not in cluster_kinds and not meta.get("namespace"):  # where Helm installs it
                doc["metadata"] = {"name": meta.pop("name", None), "namespace": release.namespace, **meta}
            obj = RenderedObject(doc, release.resource, release.component, release.name, template)
            release.objects.append(obj)
            (crds if doc.get("kind") == "CustomResourceDefinition" else expanded).append(obj)
        releases.append(release)

    for r in patches:  # server-side apply patches (e.g. of a chart's Deployment) merged into what they patch
        patch = unwrap_secrets(r.inputs)
        ref = object_ref(patch)
        target = next((o for o in expanded if o.ref == ref), None)
        if target is None:
            raise RenderError(f"stack '{stack}': {r.type}::{r.name} patches {ref}, which nothing in the stack declares")
        target.manifest = merge(target.manifest, {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")})
        target.patched_by.append(f"{r.type}::{r.name}")

    seen: dict[str, RenderedObject] = {}
    for o in [*crds, *expanded]:
        o.path = object_path(o.manifest)
        if o.path in seen:
            raise RenderError(f"stack '{stack}': {o.ref} is declared twice: by {seen[o.path].origin} and by {o.origin}")
        seen[o.path] = o
    return Rendering(stack, kubernetes_version, expanded, crds, releases, normalize(result.outputs), components)


def write(rendering: Rendering, out: Path, include_crds: bool = False) -> list[Path]:
    """Write the render directory; files a previous render wrote that are gone now are removed. Returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    previous = out / INDEX
    stale: set[str] = set()
    if previous.is_file():
        try:
            old = load_yaml(previous.read_text()) or {}
        except yaml.YAMLError:
            old = {}
        stale = {str(e.get("file")) for e in [*old.get("objects", []), *old.get("crds", [])] if isinstance(e, dict) and e.get("file")}
    files = rendering.files(include_crds)
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    for rel in sorted(stale - set(files)):
        path = out / rel
        if path.is_file() and out.resolve() in path.resolve().parents:
            path.unlink()
            with contextlib.suppress(OSError):
                path.parent.rmdir()
    return written
