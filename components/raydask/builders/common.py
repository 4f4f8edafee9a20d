"""Builders shared by Ray and Dask: object skeletons, Ingress, ServiceMonitor, volumes, merging."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from raydask.k8s import labels as lbl
from raydask.k8s import naming, quantities
from raydask.k8s.manifest import PulumiAnnotations
from raydask.spec.base import IngressSpec, MonitoringSpec, PodSettings, VolumeSpec, WaitSpec

Manifest = dict[str, Any]


def obj(api_version: str, kind: str, name: str, namespace: str | None, labels: dict[str, str],
        annotations: dict[str, str] | None = None, **body: Any) -> Manifest:
    """A Kubernetes object with apiVersion, kind and metadata first, then ``body``."""
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, **body}


def env_list(env: dict[str, str]) -> list[dict[str, str]]:
    """``{K: V}`` as a container ``env`` list, sorted for stable output."""
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def extra_volumes(volumes: list[VolumeSpec]) -> tuple[list[Manifest], list[Manifest]]:
    """(pod volumes, container volumeMounts) for user volumes."""
    vols = [{"name": v.name, **copy.deepcopy(v.source)} for v in volumes]
    mounts = [{"name": v.name, "mountPath": v.mount_path, **({"readOnly": True} if v.read_only else {})} for v in volumes]
    return vols, mounts


def shm_size(settings: PodSettings, fraction: float) -> str:
    """Size limit of the memory-backed /dev/shm: ``fraction`` of the container's memory limit (else request), in Mi."""
    memory = settings.limit("memory") or settings.request("memory")
    return quantities.mebibytes(Decimal(quantities.bytes_of(memory)) * Decimal(str(fraction)))


def scheduling(settings: PodSettings) -> dict[str, Any]:
    """nodeSelector, tolerations, affinity, priorityClassName of a pod spec (only those set)."""
    out: dict[str, Any] = {}
    if settings.node_selector:
        out["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        out["tolerations"] = [t.build() for t in settings.tolerations]
    if settings.affinity:
        out["affinity"] = copy.deepcopy(settings.affinity)
    if settings.priority_class_name:
        out["priorityClassName"] = settings.priority_class_name
    return out


def _tolerates_taint(toleration: Manifest, key: str) -> bool:
    """True when ``toleration`` admits pods onto nodes tainted ``key`` with any value and effect ``NoSchedule``."""
    return (toleration.get("operator") == "Exists" and toleration.get("key") in (None, "", key)
            and toleration.get("effect") in (None, "", "NoSchedule"))


def tolerate_extended_resources(template: Manifest) -> Manifest:
    """``template`` with, for each extended resource its containers or init containers request (``nvidia.com/gpu``),
    the toleration ``{key: <resource>, operator: Exists, effect: NoSchedule}`` unless its tolerations already admit
    that taint: what Kubernetes' ExtendedResourceToleration admission plugin (and GKE) add, so pods asking for a GPU
    land on GPU nodes tainted with the resource's name."""
    spec = template["spec"]
    names = sorted({name for c in [*(spec.get("initContainers") or []), *spec["containers"]]
                    for part in ("requests", "limits") for name in ((c.get("resources") or {}).get(part) or {})
                    if naming.extended_resource_error(name) is None})
    tolerations = spec.get("tolerations") or []
    missing = [name for name in names if not any(_tolerates_taint(t, name) for t in tolerations)]
    if missing:
        spec["tolerations"] = [*tolerations, *({"key": n, "operator": "Exists", "effect": "NoSchedule"} for n in missing)]
    return template


def ingress(name: str, namespace: str, labels: dict[str, str], spec: IngressSpec, service: str, port: str | int) -> Manifest:
    """An Ingress routing ``spec.host``/``spec.path`` to ``service``:``port``."""
    backend_port = {"name": port} if isinstance(port, str) else {"number": port}
    body: dict[str, Any] = {}
    if spec.class_name:
        body["ingressClassName"] = spec.class_name
    body["rules"] = [{
        **({"host": spec.host} if spec.host else {}),
        "http": {"paths": [{
            "path": spec.path,
            "pathType": spec.path_type,
            "backend": {"service": {"name": service, "port": backend_port}},
        }]},
    }]
    if spec.tls_secret:
        body["tls"] = [{**({"hosts": [spec.host]} if spec.host else {}), "secretName": spec.tls_secret}]
    return obj("networking.k8s.io/v1", "Ingress", name, namespace, labels, spec.annotations or None, spec=body)


def ingress_url(spec: IngressSpec) -> str | None:
    """Public URL of an Ingress; None without a host (the controller's address is not known here)."""
    return f"{'https' if spec.tls_secret else 'http'}://{spec.host}{spec.path}" if spec.host else None


def service_monitor(name: str, namespace: str, labels: dict[str, str], monitoring: MonitoringSpec,
                    selector: dict[str, str], ports: list[str], relabelings: list[dict[str, Any]]) -> Manifest:
    """A ServiceMonitor scraping ``/metrics`` on each named port of the Services matching ``selector``."""
    endpoints = [
        {"port": p, "path": "/metrics", "interval": monitoring.interval, "relabelings": copy.deepcopy(relabelings)}
        for p in ports
    ]
    return obj(
        "monitoring.coreos.com/v1", "ServiceMonitor", name, namespace,
        {**labels, **lbl.prometheus(monitoring.prometheus_release)},
        spec={
            "selector": {"matchLabels": dict(selector)},
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": endpoints,
        },
    )


def pod_label_relabel(label: str) -> dict[str, Any]:
    """Copy pod label ``ray.io/cluster`` into the target label ``ray_io_cluster``."""
    sanitized = "".join(c if c.isalnum() else "_" for c in label)
    return {
        "action": "replace",
        "sourceLabels": [f"__meta_kubernetes_pod_label_{sanitized}"],
        "targetLabel": sanitized,
    }


def crd_objects(documents: list[Manifest], operator: str, version: str) -> list[Manifest]:
    """CRDs labelled with the operator version (applied forced, as every object: they take over from an earlier Helm
    install).

    The documents are not modified; the CRDs share their (megabyte-sized) schemas with them.
    """
    out = []
    for doc in documents:
        crd = dict(doc)
        meta = crd["metadata"] = dict(crd.get("metadata") or {})
        meta["labels"] = {**(meta.get("labels") or {}), **lbl.standard(operator, operator, "crd"), "app.kubernetes.io/version": version}
        crd.pop("status", None)
        out.append(crd)
    return out


def wait_patch(api_version: str, kind: str, name: str, namespace: str, wait: WaitSpec, jsonpath: str) -> Manifest | None:
    """A patch of the object's annotations making ``pulumi up`` wait, up to ``wait.timeout_seconds``, until ``jsonpath``
    holds (None when ``wait`` is off): registered as a patch of its own (:attr:`raydask.builders.plan.Plan.patches`),
    it waits when it is created, never after an update of the object."""
    if not wait.enabled:
        return None
    annotations = {PulumiAnnotations.WAIT_FOR: f"jsonpath={jsonpath}", PulumiAnnotations.TIMEOUT_SECONDS: str(wait.timeout_seconds)}
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": namespace, "annotations": annotations}}
