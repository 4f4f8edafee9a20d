"""What users set on the containers and pods raydask creates beyond its own keys: typed overrides (command, args,
lifecycle, probes, env from sources, extra ports, pull secrets, init and sidecar containers, scheduling and DNS
settings) and one escape hatch (``podPatch`` / ``containerPatch``), merged after everything else.

Each value is checked here against the schema of the object it lands in (the PodSpec the CRD of the stack's operator
version embeds, shipped with raydask: :mod:`raydask.facts`): a key the API server would refuse or silently drop is an
error naming it. What the merged pod
must still satisfy (Pod Security "restricted", unique container and port names) is checked on the built pod
(:mod:`raydask.builders.overrides`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from raydask.errors import Path
from raydask.k8s import images, naming, schema, validation
from raydask.k8s.security import reserved_annotation_error
from raydask.spec.config import ConfigModel

ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
"""The sources an ``env`` entry's ``valueFrom`` may name (exactly one)."""
POD_FIELDS = ("terminationGracePeriodSeconds", "topologySpreadConstraints", "runtimeClassName", "schedulerName",
              "dnsConfig", "hostAliases")
"""Pod-level typed overrides, by their Kubernetes name."""
CONTAINER_FIELDS = ("command", "args", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe")
"""Main-container typed overrides, by their Kubernetes name."""
FIXED_CONTAINER_KEYS = {"name": "set it with the group's containerName",
                        "image": "set it with the image key", "resources": "set it with cpu, memory, requests and limits"}
"""Keys of the main container a ``containerPatch`` may not set, with why."""


def _pull_secret(value: str) -> str:
    return naming.check_dns1123_subdomain(value)


class PodSecuritySpec(ConfigModel):
    """An explicit exception from Pod Security "restricted" for one pod group (e.g. a profiler's ``SYS_PTRACE``)."""


    level: Literal["baseline", "privileged"]
    """The level the group's pods are held to instead: ``baseline`` (e.g. root, privilege escalation, the capabilities
    baseline allows) or ``privileged`` (anything, e.g. ``SYS_PTRACE``, host namespaces); required. The pod must need
    it: an exception a pod does not need is refused."""
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    """Why the pods need it, for reviewers (on the pod template as ``raydask.io/pod-security-reason``); required."""


class PodOverrides(ConfigModel):
    """Fields mixed into every pod group's settings (see :class:`raydask.spec.base.PodSettings`)."""


    command: list[str] | None = None
    """Main container ``command``; default the image's. On Ray pods KubeRay runs it, then ``ray start``."""
    args: list[str] | None = None
    """Main container ``args``; default raydask's (Dask: the scheduler or worker command line)."""
    lifecycle: dict[str, Any] | None = None
    """Main container ``lifecycle`` hooks (``preStop``, ``postStart``); default none."""
    liveness_probe: dict[str, Any] | None = None
    """Main container ``livenessProbe``; default raydask's (Dask) or KubeRay's (Ray)."""
    readiness_probe: dict[str, Any] | None = None
    """Main container ``readinessProbe``; default raydask's (Dask) or KubeRay's (Ray)."""
    startup_probe: dict[str, Any] | None = None
    """Main container ``startupProbe``; default raydask's (Dask: ``/health``, up to 5 minutes) or none (Ray)."""
    env_from: list[dict[str, Any]] = []
    """Main container ``envFrom`` (ConfigMaps and Secrets as environment); default none."""
    env_value_from: dict[str, dict[str, Any]] = {}
    """Environment variables taken from a source: ``{POD_IP: {fieldRef: {fieldPath: status.podIP}}}``,
    ``{TOKEN: {secretKeyRef: {name: s, key: token}}}``; default none."""
    extra_ports: list[dict[str, Any]] = []
    """More main container ports (``{name: profiler, containerPort: 9999}``; named); default none."""
    image_pull_secrets: list[Annotated[str, AfterValidator(_pull_secret)]] = []
    """Secrets with registry credentials for the pod's images; default none."""
    init_containers: list[dict[str, Any]] = []
    """Init containers (name, pinned image, …); each gets the main container's securityContext under its own; default
    none."""
    sidecars: list[dict[str, Any]] = []
    """More containers in the pod (log shippers, proxies); each gets the main container's securityContext under its
    own; default none."""
    termination_grace_period_seconds: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    """Pod ``terminationGracePeriodSeconds``; default Kubernetes' (30)."""
    topology_spread_constraints: list[dict[str, Any]] = []
    """Pod ``topologySpreadConstraints``; default none."""
    runtime_class_name: str | None = None
    """Pod ``runtimeClassName``; default the cluster's."""
    scheduler_name: str | None = None
    """Pod ``schedulerName``; default the cluster's scheduler."""
    dns_config: dict[str, Any] | None = None
    """Pod ``dnsConfig``; default none."""
    host_aliases: list[dict[str, Any]] = []
    """Pod ``hostAliases`` (``/etc/hosts`` entries); default none."""
    pod_patch: dict[str, Any] = {}
    """The escape hatch: a patch of the pod template (``metadata``, ``spec``) merged after every other key, maps key by
    key and lists of named items (containers, volumes, env, ports) by name; checked against the operator CRD's schema
    and Pod Security "restricted"; default none."""
    container_patch: dict[str, Any] = {}
    """The escape hatch for the main container, merged like ``podPatch`` (not its ``name``, ``image`` or
    ``resources``); default none."""
    pod_security: PodSecuritySpec | None = None
    """An explicit exception from Pod Security "restricted" for these pods, ``{level: baseline | privileged, reason:
    ...}``; the namespace's ``pod-security.kubernetes.io/enforce`` label is lowered to match (warn and audit stay
    restricted). Default none: the merged pod must pass restricted."""

    ARGS_FIXED: ClassVar[str | None] = None
    """Why ``args`` cannot be set on these pods (None: it can)."""

    @property
    def overridden(self) -> bool:
        """Whether any override is set (the built pod is then checked as a whole)."""
        return any(getattr(self, name) for name in PodOverrides.model_fields)

    def override_problems(self, env: dict[str, str], reserved_env: Any, pod_spec: dict[str, Any] | None,
                          dropped: str = schema.DROPPED,
                          reserved_containers: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
        """Rules on the overrides alone; ``pod_spec`` is the embedded PodSpec schema (None: not checked),
        ``dropped`` what the API server does with a key it lacks, ``reserved_containers`` the names of containers the
        operator adds to these pods (with what they are)."""
        out: list[tuple[Path, str]] = []
        if self.args is not None and self.ARGS_FIXED:
            out.append(("args", self.ARGS_FIXED))
        for name, source in self.env_value_from.items():
            if err := naming.env_var_name_error(name):
                out.append((("envValueFrom", name), err))
            elif name in reserved_env:
                out.append((("envValueFrom", name), f"'{name}' {reserved_env[name]}"))
            elif name in env:
                out.append((("envValueFrom", name), f"'{name}' is also in env: keep one"))
            elif not isinstance(source, dict) or len([k for k in source if k in ENV_SOURCES]) != 1 or len(source) != 1:
                out.append((("envValueFrom", name), f"expected exactly one of {', '.join(ENV_SOURCES)}"))
        out += _container_list_problems(self.init_containers, "initContainers")
        out += _container_list_problems(self.sidecars, "sidecars")
        for key in self.container_patch:
            if key in FIXED_CONTAINER_KEYS:
                out.append((("containerPatch", key), FIXED_CONTAINER_KEYS[key]))
        for i, port in enumerate(self.extra_ports):
            if not isinstance(port, dict) or not port.get("name"):
                out.append((("extraPorts", i), "a port needs a name (the operators and Services refer to ports by name)"))
        for key in self.pod_patch:
            if key not in ("metadata", "spec"):
                close = difflib.get_close_matches(str(key), ("metadata", "spec"), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                out.append((("podPatch", key), f"unknown key{hint}: a pod template patch takes metadata and spec only (the "
                                               "API server would drop it)"))
        metadata = self.pod_patch.get("metadata") or {}
        if set(metadata) - {"labels", "annotations"}:
            extra = sorted(set(metadata) - {"labels", "annotations"})
            out.append((("podPatch", "metadata", extra[0]), "a pod template's metadata takes labels and annotations only"))
        if isinstance(metadata, dict) and isinstance(metadata.get("annotations"), dict):
            out += [(("podPatch", "metadata", "annotations", key), err) for key in metadata["annotations"]
                    if (err := reserved_annotation_error(str(key)))]
        found = schema_problems(self, pod_spec, dropped) if pod_spec is not None else []
        # what the schema refuses hides the API server's rules on the same keys
        out += found + [p for p in api_problems(self, reserved_containers)
                        if not any(tuple(p[0])[:len(f[0])] == tuple(f[0]) for f in found)]
        return out


def pod_security_levels(model: BaseModel) -> set[str]:
    """The ``podSecurity`` levels of every pod group in ``model`` (a workload spec), at any depth."""
    out: set[str] = set()
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, PodOverrides) and value.pod_security is not None:
            out.add(value.pod_security.level)
        if isinstance(value, BaseModel):
            stack.extend(getattr(value, name) for name in type(value).model_fields)
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return out


def _container_list_problems(items: list[dict[str, Any]], key: str) -> list[tuple[Path, str]]:
    out: list[tuple[Path, str]] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(items):
        name = c.get("name") if isinstance(c, dict) else None
        if not isinstance(name, str) or not _is_label(name):
            out.append(((key, i, "name"), "a container needs a name: a DNS label (lower case letters, digits, '-')"))
        elif name in seen:
            out.append(((key, i, "name"), f"'{name}' is already the name of {key}[{seen[name]}]"))
        else:
            seen[name] = i
        image = c.get("image") if isinstance(c, dict) else None
        try:
            images.check_pinned(str(image or ""))
        except ValueError as exc:
            out.append(((key, i, "image"), "a container needs an image" if not image else str(exc)))
    return out


def _is_label(name: str) -> bool:
    try:
        naming.check_dns1123_label(name)
    except ValueError:
        return False
    return True


def schema_problems(o: PodOverrides, pod_spec: dict[str, Any], dropped: str = schema.DROPPED) -> list[tuple[Path, str]]:
    """Every override checked against the embedded PodSpec schema ``pod_spec``: refused or silently dropped keys."""
    props = pod_spec.get("properties") or {}
    container = ((props.get("containers") or {}).get("items") or {})
    c_props = container.get("properties") or {}
    out: list[tuple[Path, str]] = []

    def against(value: Any, sub: dict[str, Any] | None, where: Path, partial: bool = False) -> None:
        if sub is None:
            out.append((where, f"the operator's CRD has no such field: {dropped}"))
            return
        prefix = where if isinstance(where, tuple) else (where,)
        out.extend(((*prefix, *path), message) for path, message in schema.issues(value, sub, (), dropped, partial))

    for field in POD_FIELDS:
        value = getattr(o, _snake(field))
        if value:
            against(value, props.get(field), field)
    for field in CONTAINER_FIELDS:
        value = getattr(o, _snake(field))
        if value is not None:
            against(value, c_props.get(field), field)
    if o.env_from:
        against(o.env_from, c_props.get("envFrom"), "envFrom")
    env_item = ((c_props.get("env") or {}).get("items") or {}).get("properties") or {}
    for name, source in o.env_value_from.items():
        if isinstance(source, dict) and len(source) == 1:  # else refused above
            against(source, env_item.get("valueFrom"), ("envValueFrom", name))
    if o.extra_ports:
        against(o.extra_ports, c_props.get("ports"), "extraPorts")
    for key, items in (("initContainers", o.init_containers), ("sidecars", o.sidecars)):
        for i, c in enumerate(items):
            against(c, container, (key, i))
    if o.container_patch:
        against(o.container_patch, container, "containerPatch", partial=True)
    spec = o.pod_patch.get("spec")
    if spec is not None:
        against(spec, pod_spec, ("podPatch", "spec"), partial=True)
    return out


def _snake(camel: str) -> str:
    return "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in camel)


def _tuple(path: Path) -> tuple[Any, ...]:
    return path if isinstance(path, tuple) else tuple(int(p) if p.isdigit() else p for p in str(path).split("."))


def _under(key: Path, found: list[tuple[tuple[Any, ...], str]]) -> list[tuple[Path, str]]:
    prefix = _tuple(key)
    return [((*prefix, *path), message) for path, message in found]


def api_problems(o: PodOverrides, reserved_containers: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """Every override checked with the API server's rules (:mod:`raydask.k8s.validation`) at its own key: what the API
    server would refuse when the operator creates the pods."""
    v = validation
    out: list[tuple[Path, str]] = []
    out += _under("topologySpreadConstraints", v.topology_spread_issues(o.topology_spread_constraints))
    out += _under("hostAliases", v.host_alias_issues(o.host_aliases))
    if o.dns_config is not None:
        out += _under("dnsConfig", v.dns_config_issues(o.dns_config))
    if o.runtime_class_name is not None and (err := v.subdomain_error(o.runtime_class_name, "RuntimeClass")):
        out.append(("runtimeClassName", err))
    if o.scheduler_name is not None and (err := v.subdomain_error(o.scheduler_name, "scheduler")):
        out.append(("schedulerName", f"{err}: a scheduler is named like any object (default-scheduler, volcano, "
                                     "yunikorn); the pods of any other name wait for a scheduler that never comes"))
    if o.lifecycle is not None:
        out += _under("lifecycle", v.lifecycle_issues(o.lifecycle, o.termination_grace_period_seconds))
    for field in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = getattr(o, _snake(field))
        if probe is not None:
            out += _under(field, v.probe_issues(probe, field))
    out += _under("envFrom", v.env_from_issues(o.env_from))
    for name, source in o.env_value_from.items():
        if isinstance(source, dict) and len(source) == 1:  # else refused by override_problems
            out += _under(("envValueFrom", name), v.value_from_issues(source))
    out += _under("extraPorts", v.container_ports_issues(o.extra_ports))
    taken = dict(reserved_containers or {})
    for key, items, init in (("initContainers", o.init_containers, True), ("sidecars", o.sidecars, False)):
        for i, c in enumerate(items):
            found = v.container_issues(c, init=init, grace_period=o.termination_grace_period_seconds)
            out += _under((key, i), [f for f in found if f[0][:1] not in (("name",), ("image",))])  # said by raydask
            cname = c.get("name") if isinstance(c, dict) else None
            if isinstance(cname, str) and cname in taken:
                out.append(((key, i, "name"), f"'{cname}' is the name of {taken[cname]}: the pod would have two containers of "
                                              "one name; choose another"))
    if o.container_patch:
        out += _under("containerPatch", v.container_issues(o.container_patch, partial=True,
                                                           grace_period=o.termination_grace_period_seconds))
    spec = o.pod_patch.get("spec")
    if spec is not None:
        found = v.pod_spec_issues(spec, partial=True)
        out += _under(("podPatch", "spec"), found)
        for field in ("initContainers", "containers"):
            for i, c in enumerate(spec.get(field) or [] if isinstance(spec, dict) else []):
                pname = c.get("name") if isinstance(c, dict) else None
                if isinstance(pname, str) and pname in taken:
                    out.append((("podPatch", "spec", field, i, "name"), f"'{pname}' is the name of {taken[pname]}: the pod would "
                                                                         "have two containers of one name; choose another"))
    return list(dict.fromkeys(out))
