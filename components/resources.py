"""Registering plain Kubernetes dicts as Pulumi resources (the only place that maps kinds to SDK classes)."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pulumi

_GROUP_MODULES = {
    "": "core",
    "apps": "apps",
    "networking.k8s.io": "networking",
    "apiextensions.k8s.io": "apiextensions",
    "rbac.authorization.k8s.io": "rbac",
    "policy": "policy",
    "batch": "batch",
}


def resource_name(manifest: dict[str, Any]) -> str:
    """Stable Pulumi name of an object: ``<kind>-<namespace>-<name>`` lower-cased."""
    meta = manifest["metadata"]
    parts = [manifest["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p)


def _sdk_class(api_version: str, kind: str) -> Any:
    group, _, version = api_version.rpartition("/")
    module = _GROUP_MODULES.get(group)
    if module is None:
        return None
    return getattr(importlib.import_module(f"pulumi_kubernetes.{module}.{version}"), kind, None)


def register(manifest: dict[str, Any], opts: pulumi.ResourceOptions, name: str | None = None) -> pulumi.CustomResource:
    """Register ``manifest`` with the typed SDK class for built-ins, ``CustomResource`` for everything else."""
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    name = name or resource_name(manifest)
    cls = _sdk_class(manifest["apiVersion"], manifest["kind"])
    if cls is not None:
        snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in body.items()}  # stringData -> string_data
        return cls(name, opts=opts, api_version=manifest["apiVersion"], kind=manifest["kind"], **snake)
    from pulumi_kubernetes.apiextensions import CustomResource

    return CustomResource(name, api_version=manifest["apiVersion"], kind=manifest["kind"], opts=opts, **body)


def register_patch(manifest: dict[str, Any], opts: pulumi.ResourceOptions, name: str) -> pulumi.CustomResource:
    """Register a server-side apply patch (``<Kind>Patch``) of a built-in object something else creates."""
    cls = _sdk_class(manifest["apiVersion"], f"{manifest['kind']}Patch")
    if cls is None:
        raise ValueError(f"no patch resource for {manifest['apiVersion']} {manifest['kind']}")
    return cls(name, opts=opts, metadata=manifest["metadata"], spec=manifest["spec"])


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a component's children: parented, with protect/retain_on_delete carried over explicitly."""
    base = pulumi.ResourceOptions(parent=parent)
    if opts is not None:
        if opts.protect is not None:
            base.protect = opts.protect
        if opts.retain_on_delete is not None:
            base.retain_on_delete = opts.retain_on_delete
    return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(**extra)) if extra else base
