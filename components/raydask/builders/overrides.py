"""The overrides of a pod group (:mod:`raydask.spec.overrides`) applied to the pod template raydask built, and the rules
the merged pod must still satisfy: Pod Security "restricted" (or the level of the group's explicit ``podSecurity``
exception, which must be needed), one name per container and per port."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from raydask.builders.common import Manifest
from raydask.errors import Path, key_path
from raydask.k8s import pss, validation
from raydask.k8s.manifest import merge
from raydask.k8s.security import POD_SECURITY_ANNOTATION, POD_SECURITY_REASON_ANNOTATION
from raydask.spec.overrides import CONTAINER_FIELDS, POD_FIELDS, PodOverrides


def _secured(container: Manifest, security_context: Manifest | None) -> Manifest:
    """A user's container with the main container's securityContext under its own."""
    out = copy.deepcopy(container)
    if security_context:
        out["securityContext"] = merge(security_context, container.get("securityContext") or {})
    return out


def apply_overrides(template: Manifest, o: PodOverrides, container_name: str) -> Manifest:
    """``template`` with the overrides of ``o``: typed keys first, then ``containerPatch`` and ``podPatch``."""
    if not o.overridden:
        return template
    t = copy.deepcopy(template)
    spec = t["spec"]
    main = next(c for c in spec["containers"] if c["name"] == container_name)
    values = o.model_dump(by_alias=True)
    for field in CONTAINER_FIELDS:
        if values[field] is not None:
            main[field] = copy.deepcopy(values[field])
    if o.env_value_from:
        main["env"] = [*main.get("env", []), *({"name": k, "valueFrom": copy.deepcopy(v)} for k, v in o.env_value_from.items())]
    if o.env_from:
        main["envFrom"] = copy.deepcopy(o.env_from)
    if o.extra_ports:
        main["ports"] = [*main.get("ports", []), *copy.deepcopy(o.extra_ports)]
    for field in POD_FIELDS:
        if values[field] not in (None, [], {}):
            spec[field] = copy.deepcopy(values[field])
    if o.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": n} for n in o.image_pull_secrets]
    security = main.get("securityContext")
    if o.init_containers:
        spec["initContainers"] = [*spec.get("initContainers", []), *(_secured(c, security) for c in o.init_containers)]
    if o.sidecars:
        spec["containers"] = [*spec["containers"], *(_secured(c, security) for c in o.sidecars)]
    if o.container_patch:
        i = next(i for i, c in enumerate(spec["containers"]) if c["name"] == container_name)
        spec["containers"][i] = merge(spec["containers"][i], o.container_patch)
    if o.pod_security:
        t.setdefault("metadata", {}).setdefault("annotations", {}).update(
            {POD_SECURITY_ANNOTATION: o.pod_security.level, POD_SECURITY_REASON_ANNOTATION: o.pod_security.reason})
    return merge(t, o.pod_patch) if o.pod_patch else t


def built_problems(groups: Iterable[tuple[Path, PodOverrides, Manifest]]) -> list[tuple[str, str]]:
    """Rules on each overridden group's built pod template, as ``(key path, message)``: Pod Security "restricted"
    (raydask keeps it whatever the overrides say), unique container names, unique port names and numbers."""
    return [(key_path("", path), message) for path, message in _built_problems(groups)]


def _built_problems(groups: Iterable[tuple[Path, PodOverrides, Manifest]]) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    for where, o, template in groups:
        if not o.overridden:
            continue
        key = where if isinstance(where, tuple) else tuple(str(where).split("."))
        blame = _blame(o)
        level = o.pod_security.level if o.pod_security else "restricted"
        hint = (" (if the pods truly need it: podSecurity.level: privileged)" if level == "baseline" else
                " (if the pods truly need it, make an explicit exception: podSecurity: {level: baseline or privileged, "
                "reason: ...})")
        for v in pss.check_template(template, level=level):
            out.append(((*key, *blame), f"the pod would break Pod Security \"{level}\" ({v.control}): "
                                         f"{v.path.removeprefix('template.')}: {v.message}{hint}"))
        needed = pss.required_level(template) if o.pod_security else level
        if pss.LEVELS.index(needed) < pss.LEVELS.index(level):
            out.append(((*key, "podSecurity", "level"), f"'{level}' is more than the pods need: they meet \"{needed}\"; "
                                                        + ("remove podSecurity" if needed == "restricted" else
                                                           f"use level: {needed}")))
        spec = template.get("spec") or {}
        for path, message in validation.pod_spec_issues(spec):  # what only the merged pod shows (references between parts)
            if "is already the name of" not in message:  # two containers or ports of one name: said below, more plainly
                out.append(((*key, *blame), f"the API server would refuse the pod: {key_path('spec', path)}: {message}"))
        names: set[str] = set()
        for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
            name = c.get("name")
            if name in names:
                out.append(((*key, *blame), f"two containers are named '{name}': rename the one you add"))
            names.add(name)
            ports: dict[Any, str] = {}
            for p in c.get("ports") or []:
                for attr in ("name", "containerPort"):
                    value = p.get(attr)
                    if value is not None and (attr, value) in ports:
                        out.append(((*key, *blame), f"container '{name}' has two ports with {attr} {value}: raydask "
                                                    f"declares {ports[(attr, value)]}; pick another"))
                    ports.setdefault((attr, value), f"{p.get('name')}:{p.get('containerPort')}")
    return out


def _blame(o: PodOverrides) -> tuple[str, ...]:
    """The override key a problem of the merged pod most likely comes from."""
    for key, value in (("podPatch", o.pod_patch), ("containerPatch", o.container_patch), ("sidecars", o.sidecars),
                       ("initContainers", o.init_containers), ("extraPorts", o.extra_ports)):
        if value:
            return (key,)
    return ()


def ray_groups(cluster: Any, body: Manifest, prefix: tuple[Any, ...] = ()) -> list[tuple[Path, PodOverrides, Manifest]]:
    """(key, settings, built template) of the head and each worker group of a RayCluster spec ``body`` built from
    ``cluster`` (a RayCluster, or a RayJob / RayService cluster under ``prefix``)."""
    out: list[tuple[Path, PodOverrides, Manifest]] = [((*prefix, "head"), cluster.head, body["headGroupSpec"]["template"])]
    for i, (group, built) in enumerate(zip(cluster.worker_groups, body.get("workerGroupSpecs") or [], strict=False)):
        out.append(((*prefix, "workerGroups", i), group, built["template"]))
    return out


def ray_job_groups(spec: Any, job: Manifest, sidecar: Manifest | None = None) -> list[tuple[Path, PodOverrides, Manifest]]:
    """The groups of a RayJob's cluster and its submitter; ``sidecar``: the container KubeRay adds to the head pod
    (``SidecarMode``), held to the head's rules with it."""
    body = job["spec"]
    out = ray_groups(spec.cluster, body["rayClusterSpec"], ("cluster",)) if "rayClusterSpec" in body else []
    if out and sidecar is not None:
        where, head, template = out[0]
        template = copy.deepcopy(template)
        template["spec"]["containers"].append(sidecar)
        out[0] = (where, head, template)
    if "submitterPodTemplate" in body:
        out.append((("submitter",), spec.submitter, body["submitterPodTemplate"]))
    return out


def dask_groups(spec: Any, cluster: Manifest, worker_groups: list[Manifest]) -> list[tuple[Path, PodOverrides, Manifest]]:
    """The scheduler, the default worker group and each extra worker group of a DaskCluster."""
    body = cluster["spec"]
    out: list[tuple[Path, PodOverrides, Manifest]] = [(("scheduler",), spec.scheduler, body["scheduler"]),
                                                      (("worker",), spec.worker, body["worker"])]
    for i, (group, built) in enumerate(zip(spec.worker_groups, worker_groups, strict=False)):
        out.append((("workerGroups", i), group, built["spec"]["worker"]))
    return out


def dask_job_groups(spec: Any, job: Manifest) -> list[tuple[Path, PodOverrides, Manifest]]:
    """The runner, the scheduler and the workers of a DaskJob."""
    body = job["spec"]
    cluster = body["cluster"]["spec"]
    return [(("runner",), spec.runner, body["job"]), (("scheduler",), spec.scheduler, cluster["scheduler"]),
            (("worker",), spec.worker, cluster["worker"])]
