"""What every raydask component does the same way: resolve its namespace, refuse bad input, register its children."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pulumi

from components import resources
from components.errors import ConfigError
from components.resources import KubernetesObject, child_options, register


def namespace_of(own: str | None, default: str | None, key: str) -> str:
    """The object's own namespace, else the stack's; ConfigError naming ``<key>.namespace`` when neither is set."""
    ns = own or default
    if not ns:
        raise ConfigError([f"{key}.namespace: required (no stack namespace given)"])
    return ns


def refuse(key: str, problems: Iterable[tuple[str, str]], extra: Iterable[str] = ()) -> None:
    """ConfigError with one ``<key>.<path>: <message>`` line per problem (then ``extra`` lines), if there are any."""
    bad = [f"{key}.{path}: {message}" for path, message in problems] + list(extra)
    if bad:
        raise ConfigError(bad)


def register_children(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str,
                      manifests: Iterable[dict[str, Any]], **extra: Any) -> list[pulumi.Resource]:
    """Register each manifest as a child of ``parent``, named ``<name>-<kind>-<object name>``; ``extra``: more options.

    A plain loop straight into :class:`~components.resources.KubernetesObject`: the SDK records every frame below a
    resource's constructor with each registration (README, "Performance")."""
    children: list[pulumi.Resource] = []
    for m in manifests:
        children.append(KubernetesObject(f"{name}-{m['kind'].lower()}-{m['metadata']['name']}", m,
                                         child_options(parent, opts, **extra)))
    return children


def register_crds(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str,
                  crds: Iterable[dict[str, Any]]) -> tuple[list[pulumi.Resource], list[str]]:
    """Register an operator's CRDs, kept when they leave the program (``retainOnDelete``); (resources, CRD names)."""
    registered: list[pulumi.Resource] = []
    names: list[str] = []
    for crd in crds:
        names.append(crd["metadata"]["name"])
        registered.append(register(crd, child_options(parent, opts, retain_on_delete=True), f"{name}-crd-{crd['metadata']['name']}"))
    return registered, names


def register_patch(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str, manifest: dict[str, Any],
                   **extra: Any) -> pulumi.Resource:
    """Register a server-side apply patch of a built-in object something else creates (``<Kind>Patch``, e.g. a chart's
    Deployment), named ``<name>-<kind>patch-<object name>``."""
    return resources.register_patch(manifest, child_options(parent, opts, **extra),
                                    f"{name}-{manifest['kind'].lower()}patch-{manifest['metadata']['name']}")
