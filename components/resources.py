"""Registering plain Kubernetes dicts as Pulumi resources (the only place that maps objects to provider types)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import pulumi

from components.builders.secrets import SECRET_FIELDS


class KubernetesObject(pulumi.CustomResource):
    """Any Kubernetes object, registered with the kubernetes provider under the type token pulumi-kubernetes's typed
    class for it would use (``kubernetes:<group>/<version>:<Kind>``) and the same plugin version.

    The inputs are the manifest itself (camelCase keys, as the provider reads them); unlike the typed classes, no typed
    argument and output objects are built per resource, which costs the program time and memory (see README,
    "Performance"). Outputs are the object's top-level keys (``metadata``, ``spec``, ...) as plain dicts.
    """

    def __init__(self, resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None,
                 *, patch: bool = False) -> None:
        """Register ``manifest``; ``patch`` registers it as a server-side apply patch (``<Kind>Patch``) instead."""
        props = dict(manifest)
        extra = provider_options()
        if props["kind"] == "Secret" and props["apiVersion"] == "v1":
            for key in SECRET_FIELDS:
                if props.get(key) is not None:
                    props[key] = pulumi.Output.secret(props[key])
            extra = pulumi.ResourceOptions.merge(extra, pulumi.ResourceOptions(additional_secret_outputs=list(SECRET_FIELDS)))
        token = type_token(props["apiVersion"], props["kind"]) + ("Patch" if patch else "")
        super().__init__(token, resource_name, props,
                         pulumi.ResourceOptions.merge(extra, opts))


def type_token(api_version: str, kind: str) -> str:
    """pulumi-kubernetes's type token: ``v1`` Service → ``kubernetes:core/v1:Service``, else ``kubernetes:<apiVersion>:<Kind>``."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"


@functools.cache
def _provider_version() -> tuple[str, str | None]:
    from pulumi_kubernetes import _utilities

    return _utilities.get_version(), _utilities.get_plugin_download_url()


def provider_options() -> pulumi.ResourceOptions:
    """The options pulumi-kubernetes's classes default to: the kubernetes plugin version of the installed SDK."""
    version, url = _provider_version()
    return pulumi.ResourceOptions(version=version, plugin_download_url=url)


def resource_name(manifest: dict[str, Any]) -> str:
    """Stable Pulumi name of an object: ``<kind>-<namespace>-<name>`` lower-cased."""
    meta = manifest["metadata"]
    parts = [manifest["kind"].lower(), meta.get("namespace"), meta["name"]]
    return "-".join(p for p in parts if p)


def register(manifest: dict[str, Any], opts: pulumi.ResourceOptions, name: str | None = None) -> KubernetesObject:
    """Register ``manifest`` as a :class:`KubernetesObject` named ``name`` (default :func:`resource_name`)."""
    return KubernetesObject(name or resource_name(manifest), manifest, opts)


def register_patch(manifest: dict[str, Any], opts: pulumi.ResourceOptions, name: str) -> KubernetesObject:
    """Register a server-side apply patch (``kubernetes:<group>/<version>:<Kind>Patch``) of a built-in object something
    else creates."""
    return KubernetesObject(name, manifest, opts, patch=True)


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a component's children: parented, with protect/retain_on_delete carried over explicitly."""
    base = pulumi.ResourceOptions(parent=parent)
    if opts is not None:
        if opts.protect is not None:
            base.protect = opts.protect
        if opts.retain_on_delete is not None:
            base.retain_on_delete = opts.retain_on_delete
    return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(**extra)) if extra else base
