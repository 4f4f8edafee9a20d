"""Registering plain Kubernetes dicts as Pulumi resources: the only place that maps objects to resource classes.

Built-in kinds register through pulumi-kubernetes's typed classes (``core.v1.Service``, ``apps.v1.DeploymentPatch``…),
so they carry those classes' aliases, secret handling and outputs. Custom kinds (RayCluster, DaskCluster,
ServiceMonitor…) register as :class:`CustomObject`: the token and inputs of ``apiextensions.CustomResource``, plus the
live ``status`` as an output.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Any, Generic, TypeVar

import pulumi

from raydask.builders.plan import Plan
from raydask.k8s.manifest import owned

E = TypeVar("E")
_SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(key: str) -> str:
    return _SNAKE.sub("_", key).lower()


@functools.cache
def provider_version() -> str:
    """The kubernetes plugin version the installed pulumi-kubernetes SDK asks for (its ``pulumi-plugin.json``)."""
    plugin = json.loads(package_files.files("pulumi_kubernetes").joinpath("pulumi-plugin.json").read_text())
    return str(plugin["version"])


class CustomObject(pulumi.CustomResource):
    """An instance of a CustomResourceDefinition, registered as pulumi-kubernetes's ``apiextensions.CustomResource``
    registers it (``kubernetes:<group>/<version>:<Kind>``), with the object's live ``status`` as an output."""

    kind: pulumi.Output[str]
    metadata: pulumi.Output[dict[str, Any]]
    spec: pulumi.Output[dict[str, Any]]
    status: pulumi.Output[dict[str, Any] | None]
    """The object's status as the operator last wrote it (read at create, update and refresh)."""

    def __init__(self, resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None,
                 *, patch: bool = False) -> None:
        """Register ``manifest``; ``patch``: as a server-side apply patch of the object (``<Kind>Patch``, as
        ``apiextensions.CustomResourcePatch``)."""
        props = {**manifest, "status": None}  # keys as the provider reads them; outputs keep their names
        props.setdefault("spec", None)
        options = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(version=provider_version()), opts)
        token = f"kubernetes:{manifest['apiVersion']}:{manifest['kind']}{'Patch' if patch else ''}"
        super().__init__(token, resource_name, props, options)

    @classmethod
    def get(cls, resource_name: str, api_version: str, kind: str, id: pulumi.Input[str],
            opts: pulumi.ResourceOptions | None = None) -> CustomObject:
        """The live object ``<namespace>/<name>`` (``id``) of ``api_version`` ``kind``, read from the cluster."""
        manifest = {"apiVersion": api_version, "kind": kind, "metadata": None}
        return cls(resource_name, manifest, pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(id=id)))


BUILTIN_GROUPS = {"": "core", "apps": "apps", "batch": "batch", "policy": "policy", "autoscaling": "autoscaling"}
"""Built-in API groups without a ``.k8s.io`` suffix, by pulumi-kubernetes module."""


def builtin_class(api_version: str, kind: str) -> type[pulumi.CustomResource] | None:
    """pulumi-kubernetes's typed class for a built-in kind (``networking.k8s.io/v1`` Ingress →
    ``pulumi_kubernetes.networking.v1.Ingress``); None for custom kinds."""
    group, _, version = api_version.rpartition("/")
    module = BUILTIN_GROUPS.get(group) or (group.split(".")[0] if group.endswith(".k8s.io") else None)
    if module is None:
        return None
    cls: type[pulumi.CustomResource] = getattr(importlib.import_module(f"pulumi_kubernetes.{module}.{version}"), kind)
    return cls


def kubernetes_resource(resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None,
                        *, patch: bool = False) -> pulumi.CustomResource:
    """Register ``manifest`` with its typed class (``patch``: as a server-side apply patch, ``<Kind>Patch``), or as a
    :class:`CustomObject` for a custom kind. Every object raydask applies passes here and is applied as
    :func:`~raydask.k8s.manifest.owned` (forced), whatever its kind."""
    manifest = owned(dict(manifest))
    cls = builtin_class(manifest["apiVersion"], manifest["kind"] + ("Patch" if patch else ""))
    if cls is None:
        return CustomObject(resource_name, manifest, opts, patch=patch)
    body = {_snake(k): v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    return cls(resource_name, opts=opts, **body)


def child_options(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, **extra: Any) -> pulumi.ResourceOptions:
    """Options for a component's children: parented, with ``protect``/``retain_on_delete`` carried over explicitly (the
    provider is inherited from the parent)."""
    base = pulumi.ResourceOptions(parent=parent)
    if opts is not None:
        if opts.protect is not None:
            base.protect = opts.protect
        if opts.retain_on_delete is not None:
            base.retain_on_delete = opts.retain_on_delete
    return pulumi.ResourceOptions.merge(base, pulumi.ResourceOptions(**extra)) if extra else base


def child_name(name: str, manifest: Mapping[str, Any], patch: bool = False, suffix: str = "") -> str:
    """``<component>-<kind>-<object name>`` (``<kind>patch`` for a patch), then ``suffix``."""
    return f"{name}-{manifest['kind'].lower()}{'patch' if patch else ''}-{manifest['metadata']['name']}{suffix}"


PATCH_IGNORED = ("metadata.annotations",)
"""What an update of a patch of ``main`` (:attr:`Plan.patches`) or of an operator's rollout wait
(:attr:`OperatorPlan.waits`) ignores: its annotations ask ``pulumi up`` to wait once,
when it is created. The provider records the object its wait last observed, read from a shared informer's cache that
can predate the patch's own apply; comparing with that record, a later ``up`` would apply the annotations again for
nothing (measured: 1 to 5 of 10 readiness patches at a no-change ``up`` of 10 RayClusters)."""

ON_CREATE_SUFFIX = "-on-create"
"""Names the patches applied once, when created (:attr:`Plan.on_create`)."""
ROLLOUT_SUFFIX = "-rollout"
"""Names the patches that wait for an operator's Deployment to roll out (:attr:`OperatorPlan.waits`)."""


def register_children(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str,
                      manifests: Iterable[Mapping[str, Any]], *, patch: bool = False, suffix: str = "",
                      **extra: Any) -> list[pulumi.CustomResource]:
    """Register each manifest as a child of ``parent`` named by :func:`child_name`; ``extra``: more options."""
    return [kubernetes_resource(child_name(name, m, patch, suffix), m, child_options(parent, opts, **extra), patch=patch)
            for m in manifests]


@dataclass(frozen=True)
class Registered(Generic[E]):
    """The resources of a registered :class:`~raydask.builders.plan.Plan`."""

    main: pulumi.CustomResource
    before: Sequence[pulumi.CustomResource]
    after: Sequence[pulumi.CustomResource]
    patches: Sequence[pulumi.CustomResource] = ()
    """The patches of ``main``, in the plan's order."""


def register_plan(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str, plan: Plan[E],
                  main_depends_on: Sequence[pulumi.Resource] = ()) -> Registered[E]:
    """Register a plan under ``parent``: ``before``, then ``main`` (named ``name``) after them and ``main_depends_on``,
    then ``after``, the patches of ``main`` and its patches applied once (``on_create``)."""
    before = register_children(parent, opts, name, plan.before)
    extra: dict[str, Any] = {"depends_on": [*before, *main_depends_on]} if before or main_depends_on else {}
    if plan.replace_on_changes:
        extra.update(replace_on_changes=list(plan.replace_on_changes), delete_before_replace=not plan.create_before_delete)
    main = kubernetes_resource(name, plan.main, child_options(parent, opts, **extra))
    after = register_children(parent, opts, name, plan.after, depends_on=[main])
    patches = register_patches(parent, opts, name, main, plan.patches, ignore_changes=list(PATCH_IGNORED))
    # applied when created, then never again: a later change of their spec is ignored, and deleting them leaves the
    # fields they set to whoever owns them now (the autoscaler)
    register_patches(parent, opts, name, main, plan.on_create, suffix=ON_CREATE_SUFFIX, ignore_changes=["spec"],
                     retain_on_delete=True)
    return Registered(main, before, after, patches)


def register_patches(parent: pulumi.Resource, opts: pulumi.ResourceOptions | None, name: str, main: pulumi.CustomResource,
                     manifests: Iterable[Mapping[str, Any]], *, suffix: str = "", **extra: Any) -> list[pulumi.CustomResource]:
    """Register each manifest as a patch of ``main`` (:func:`patch_of`), after it; ``extra``: more options."""
    return [kubernetes_resource(child_name(name, p, True, suffix), patch_of(main, p),
                                child_options(parent, opts, depends_on=[main], **extra), patch=True) for p in manifests]


def patch_of(main: pulumi.CustomResource, patch: Mapping[str, Any]) -> dict[str, Any]:
    """``patch`` naming its object through ``main``'s output: when ``main`` is replaced delete-first, the engine replaces
    the patch with it (deletes it first, creates it again after), instead of relinquishing the patch's fields of an
    object already gone, which server-side apply would create again as an empty one."""
    name = main.metadata.apply(lambda m: m["name"])  # type: ignore[attr-defined]
    return {**patch, "metadata": {**patch["metadata"], "name": name}}
