"""The real API server judges the bad-input table (docs/bad-input.md) and every accepted example.

Every row of the table is built as raydask would build it had it not refused it (:mod:`lenient`: raydask's own rules
switched off), and each object that differs from its stack's own objects is server-side dry-run on the test API
server (the kwok control plane, the KubeRay 1.7.0 and Dask CRDs applied; strict field validation, as kubectl applies),
as the object itself and as the pods the operators make from it (:func:`raydask.offline.scan.templates_of`: KubeRay's
autoscaler sidecar and init containers added; a RayJob's submitter also as the Job KubeRay creates). Rows of class
``api`` must be refused there; rows of class ``operator``, ``raydask`` and ``accepted`` must be accepted; ``config``
rows have no objects to judge. The shipped stacks and the e2e stack (every object of their renders, the operators'
charts included) must be accepted. Disagreements fail the test, each with the server's own words.

Namespaces are renamed ``dr-<name>`` (created for the test, without Pod Security labels: restricted is raydask's
policy, judged by its own rows) and deleted at the end, with the ServiceAccounts, PriorityClasses and RuntimeClasses
the pods name; nothing else is stored. Rows of a KubeRay version other than 1.7.0 are judged after the CRDs of their
version are applied (then 1.7.0's again).
"""

from __future__ import annotations

import copy
import hashlib
import http.client
import json
import ssl
import time
import urllib.parse
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lenient
import test_bad_inputs as table
from live import E2E_STACKS, ROOT, ControlPlane

from raydask.k8s import naming
from raydask.offline import render, scan, stackfile
from raydask.offline.validation import upstream

Manifest = dict[str, Any]
MANAGER = "raydask-api-server-judge"
BUILT_IN = {"Namespace", "Service", "Ingress", "NetworkPolicy", "Secret", "ConfigMap", "ServiceAccount", "Role",
            "RoleBinding", "Pod", "Job", "Deployment", "ClusterRole", "ClusterRoleBinding", "PriorityClass"}


class Api:
    """The API server over one kept-alive TLS connection (admin certificate), with discovery of kinds."""

    def __init__(self, cluster: ControlPlane) -> None:
        url = urllib.parse.urlparse(cluster.server)
        context = ssl.create_default_context(cafile=str(cluster.pki / "ca.crt"))
        context.load_cert_chain(str(cluster.pki / "admin.crt"), str(cluster.pki / "admin.key"))
        self.host, self.port, self.context = url.hostname or "127.0.0.1", url.port or 443, context
        self.connection: http.client.HTTPSConnection | None = None
        self.requests = 0
        self.kinds: dict[tuple[str, str], tuple[str, bool]] = {}

    def call(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=30)
            try:
                self.connection.request(method, path, body=data, headers={"Content-Type": content_type,
                                                                           "Accept": "application/json"})
                response = self.connection.getresponse()
                raw = response.read()
                self.requests += 1
                break
            except (http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def discover(self) -> None:
        """Plural and scope of every kind the server serves."""
        groups = ["/api/v1"]
        status, body = self.call("GET", "/apis")
        assert status == 200, body
        groups += [f"/apis/{v['groupVersion']}" for g in body["groups"] for v in g["versions"]]
        for group in groups:
            status, body = self.call("GET", group)
            if status != 200:
                continue
            for r in body.get("resources", []):
                if "/" not in r["name"]:
                    self.kinds[(body["groupVersion"], r["kind"])] = (r["name"], r["namespaced"])

    def path(self, obj: Manifest) -> str:
        api_version, kind = obj["apiVersion"], obj["kind"]
        if (api_version, kind) not in self.kinds:
            self.discover()
        plural, namespaced = self.kinds[(api_version, kind)]
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        meta = obj["metadata"]
        where = f"/namespaces/{meta['namespace']}" if namespaced else ""
        return f"{base}{where}/{plural}/{urllib.parse.quote(str(meta['name']), safe='')}"

    def dry_run(self, obj: Manifest) -> str | None:
        """None when the server accepts ``obj`` (server-side apply, dry run, strict field validation), else its
        message."""
        query = f"?dryRun=All&fieldManager={MANAGER}&force=true&fieldValidation=Strict"
        status, body = self.call("PATCH", self.path(obj) + query, obj, "application/apply-patch+yaml")
        if status in (200, 201):
            return None
        return body.get("message", str(body)) if isinstance(body, dict) else str(body)

    def create(self, obj: Manifest) -> None:
        """Create ``obj`` for real (already there is fine)."""
        path = self.path(obj)
        status, body = self.call("POST", path.rsplit("/", 1)[0], obj)
        assert status in (200, 201, 409), f"{obj['kind']} {obj['metadata']['name']}: {status} {body}"


def renamed(namespace: str) -> str:
    return f"dr-{namespace}"[: naming.LABEL_MAX].rstrip("-")


def prepared(obj: Manifest) -> Manifest:
    """``obj`` in the test's namespaces, without what only Pulumi reads."""
    out = copy.deepcopy(obj)
    meta = out.setdefault("metadata", {})
    if out.get("kind") == "Namespace":
        meta["name"] = renamed(str(meta["name"]))
    elif meta.get("namespace"):
        meta["namespace"] = renamed(str(meta["namespace"]))
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("pulumi.com/")}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return out


def pods(obj: Manifest, objects: list[Manifest]) -> list[Manifest]:
    """The pods (and a RayJob submitter's Job) the operators make from ``obj``, as objects to dry-run."""
    out = []
    for t in scan.templates_of(obj, objects):
        template = copy.deepcopy(t.template)
        meta = dict(template.get("metadata") or {})
        digest = hashlib.sha1(json.dumps(template, sort_keys=True).encode()).hexdigest()[:12]
        name = f"dr-{digest}"
        pod_meta = {"name": name, "namespace": t.namespace, **{k: meta[k] for k in ("labels", "annotations") if meta.get(k)}}
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": template.get("spec") or {}})
        if t.run_to_completion and obj.get("kind") == "RayJob":
            job = scan.workload(t)
            job["metadata"] = {"name": name, "namespace": t.namespace}
            out.append(job)
    return out


def key(obj: Manifest) -> str:
    return json.dumps(obj, sort_keys=True)


@dataclass
class Judge:
    api: Api
    cluster: ControlPlane
    namespaces: set[str] = field(default_factory=set)
    cluster_scoped: list[Manifest] = field(default_factory=list)
    verdicts: dict[str, str | None] = field(default_factory=dict)

    def _needs(self, obj: Manifest) -> None:
        """Create what a pod names and the API server looks up: its namespace, ServiceAccount, PriorityClass and
        RuntimeClass."""
        ns = obj["metadata"].get("namespace")
        if ns and ns not in self.namespaces:
            self.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
            self.namespaces.add(ns)
        spec = (obj.get("spec") or {}) if obj.get("kind") == "Pod" else \
            ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        if isinstance(account, str) and account and not naming.dns1123_subdomain_error(account):
            self.api.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": ns}})
        for kind, api_version, name, extra in (
                ("PriorityClass", "scheduling.k8s.io/v1", spec.get("priorityClassName"), {"value": 1000}),
                ("RuntimeClass", "node.k8s.io/v1", spec.get("runtimeClassName"), {"handler": "runc"})):
            if isinstance(name, str) and name and not name.startswith("system-") and \
                    not naming.dns1123_subdomain_error(name):
                made = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **extra}
                if made not in self.cluster_scoped:
                    self.api.create(made)
                    self.cluster_scoped.append(made)

    def verdict(self, obj: Manifest) -> str | None:
        """None when the server accepts ``obj``, else why not (cached by content)."""
        k = key(obj)
        if k not in self.verdicts:
            if obj.get("metadata", {}).get("namespace"):
                self._needs(obj)
            self.verdicts[k] = self.api.dry_run(obj)
        return self.verdicts[k]

    def judge(self, objects: list[Manifest], skip: Collection[str] = ()) -> list[tuple[str, str]]:
        """``(object, message)`` of every refusal among ``objects`` and their pods (those whose key is in ``skip``,
        already judged, left out)."""
        ready = [prepared(o) for o in objects if isinstance(o, dict) and o.get("kind") != "CustomResourceDefinition"]
        out = []
        for obj in ready:
            for part in [obj, *pods(obj, ready)]:
                if key(part) in skip:
                    continue
                message = self.verdict(part)
                if message is not None:
                    out.append((f"{part['kind']} {part['metadata'].get('namespace', '')}/{part['metadata']['name']}",
                                message))
        return out

    def known(self, objects: list[Manifest]) -> set[str]:
        ready = [prepared(o) for o in objects if isinstance(o, dict) and o.get("kind") != "CustomResourceDefinition"]
        return {key(part) for obj in ready for part in [obj, *pods(obj, ready)]}

    def cleanup(self) -> None:
        for ns in sorted(self.namespaces):
            self.api.call("DELETE", f"/api/v1/namespaces/{ns}")
        for obj in self.cluster_scoped:
            self.api.call("DELETE", self.api.path(obj))


def apply_crds(cluster: ControlPlane, kuberay: str) -> None:
    for directory in (upstream.kuberay_crd_dir(kuberay), upstream.dask_crd_dir()):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", f"--field-manager={MANAGER}", "-f", str(directory))
    cluster.wait_crds_established(["rayclusters.ray.io", "rayjobs.ray.io", "rayservices.ray.io",
                                   "daskclusters.kubernetes.dask.org", "daskjobs.kubernetes.dask.org"])


def row_values(row: table.Row) -> dict[str, Any] | None:
    """The ``raydask:`` values of a row's stack after its changes (None when the stack file cannot be read)."""
    changes = row.patch.split(" ; ")
    texts = [c for c in changes if c.startswith(table.TEXT)]
    if texts:
        read = table.read_edited(row.stack, texts)
        if isinstance(read, tuple) and all(isinstance(line, str) for line in read):
            return None
        config = read[0]  # type: ignore[index]
    else:
        config = table.stack_config(row.stack)
    for change in changes:
        if not change.startswith(table.TEXT):
            table.apply(config, change)
    return {k.removeprefix("raydask:"): (v if not stackfile.is_secret(v) else "placeholder") for k, v in config.items()
            if k.startswith("raydask:")}


def kuberay_version(values: dict[str, Any] | None) -> str:
    version = ((values or {}).get("kuberay") or {}).get("version") if isinstance((values or {}).get("kuberay"), dict) else None
    return version if isinstance(version, str) and version in ("1.5.0", "1.7.0") else "1.7.0"


def substituted(row: table.Row, baseline: list[Manifest]) -> list[Manifest] | None:
    """For a row raydask cannot even build because a pod group's ``cpu`` or ``memory`` is not a quantity (raydask
    computes with it): the stack's own object with the value where raydask puts it, the container's requests and
    limits."""
    path, _, raw = row.patch.partition(" = ")
    parts = path.split(".")
    if " ; " in row.patch or parts[-1] not in ("cpu", "memory") or len(parts) < 3:
        return None
    value = stackfile.parse_value(raw)
    index = int(parts[0].split("[")[1].rstrip("]"))
    kind = {"rayClusters": "RayCluster", "daskClusters": "DaskCluster"}.get(parts[0].split("[")[0])
    own = [o for o in baseline if o.get("kind") == kind]
    if kind is None or index >= len(own):
        return None
    obj = copy.deepcopy(own[index])
    group = ".".join(parts[1:-1])
    spec = obj["spec"]
    if kind == "RayCluster":
        template = spec["headGroupSpec"]["template"] if group == "head" else \
            spec["workerGroupSpecs"][int(group.split("[")[1].rstrip("]"))]["template"]
        container = template["spec"]["containers"][0]
    else:
        container = spec[group]["spec"]["containers"][0]
    for field_name in ("requests", "limits"):
        if parts[-1] in container["resources"].get(field_name, {}):
            container["resources"][field_name][parts[-1]] = value
    return [obj]


def test_the_api_server_judges_the_bad_input_table(cluster: ControlPlane, workdir: Path) -> None:
    started = time.monotonic()
    api = Api(cluster)
    apply_crds(cluster, "1.7.0")
    api.discover()
    judge = Judge(api, cluster)
    disagreements: list[str] = []
    details: list[str] = []
    counts = {"rows": 0, "judged": 0, "refused": 0, "not built": 0, "substituted": 0, "objects": 0}
    try:
        # the accepted examples: every object of the shipped stacks' and the e2e stack's renders
        project = workdir / "judge-project"
        (project / "stacks").mkdir(parents=True, exist_ok=True)
        (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
        (project / "stacks" / "Pulumi.e2e.yaml").write_text((E2E_STACKS / "Pulumi.e2e.yaml").read_text())
        baselines: dict[str, list[Manifest]] = {}
        for stack, root in (("dev", ROOT), ("production", ROOT), ("e2e", project)):
            rendered = render.render_stack(stack, root).manifests(include_crds=False)
            counts["objects"] += len(rendered)
            disagreements += [f"stack {stack} (accepted): {ref}: {message}" for ref, message in judge.judge(rendered)]
        for stack in ("dev", "production"):
            config = table.stack_config(stack)
            values = {k.removeprefix("raydask:"): ("placeholder" if stackfile.is_secret(v) else v)
                      for k, v in config.items() if k.startswith("raydask:")}
            built, how = lenient.objects(values)
            assert built is not None, f"stack {stack}: {how}"
            baselines[stack] = built
        known = {stack: judge.known(objs) for stack, objs in baselines.items()}

        by_version: dict[str, list[table.Row]] = {}
        for row in table.ROWS:
            by_version.setdefault(kuberay_version(row_values(row)), []).append(row)
        for version in ("1.7.0", "1.5.0"):
            if version != "1.7.0" and by_version.get(version):
                apply_crds(cluster, version)
            for row in by_version.get(version, []):
                counts["rows"] += 1
                if row.klass == "config":
                    continue
                values = row_values(row)
                built, how = lenient.objects(values) if values is not None else (None, "the stack file cannot be read")
                if built is None and row.klass == "api":
                    built = substituted(row, baselines[row.stack])
                    counts["substituted"] += built is not None
                    how = "substituted" if built is not None else how
                if built is None:
                    counts["not built"] += 1
                    if row.klass == "api":
                        disagreements.append(f"row {row.number} (api): raydask's objects cannot be built ({how}), so the "
                                             "API server cannot judge them")
                    continue
                refused = judge.judge(built, skip=known[row.stack])
                counts["judged"] += 1
                counts["refused"] += bool(refused)
                details += [f"row {row.number} ({row.klass}, {how}): {ref}: {message}" for ref, message in refused[:1]]
                if row.klass == "api" and not refused:
                    disagreements.append(f"row {row.number} (api): the API server accepts every object: {row.patch}")
                elif row.klass != "api" and refused:
                    disagreements.append(f"row {row.number} ({row.klass}): the API server refuses "
                                         + "; ".join(f"{ref}: {message}" for ref, message in refused[:3]))
        if by_version.get("1.5.0"):
            apply_crds(cluster, "1.7.0")
    finally:
        judge.cleanup()
    elapsed = time.monotonic() - started
    summary = (f"{counts['rows']} rows ({counts['judged']} judged, {counts['refused']} refused by the API server, "
               f"{counts['substituted']} by substitution, {counts['not built']} not built), {counts['objects']} objects of "
               f"the accepted stacks, {api.requests} requests, {elapsed:.0f}s")
    (workdir / "api-server-judgement.txt").write_text("\n".join([summary, *disagreements, "", *details]) + "\n")
    print(summary)
    assert disagreements == [], "\n".join(disagreements)
