"""Pod Security Standards "restricted" and "baseline", as pure functions over a pod spec or pod template.

:func:`check_pod_spec` returns one :class:`Violation` per broken rule with the field's path, the PSS control and a
message saying what is allowed.  It implements the controls of the Kubernetes 1.31 policy
(https://kubernetes.io/docs/concepts/security/pod-security-standards/):

* baseline: HostProcess, Host Namespaces, Privileged Containers, Capabilities, HostPath Volumes, Host Ports,
  AppArmor, SELinux, ``/proc`` Mount Type, Seccomp, Sysctls;
* restricted: Volume Types, Privilege Escalation, Running as Non-root, Running as Non-root user, Seccomp,
  Capabilities (the last four do not apply to pods with ``spec.os.name: windows``, as in the API server).

Each violation carries the level it breaks (``baseline`` ones break both). A template holds itself to the level its
``raydask.io/pod-security`` annotation declares (an explicit exception made in the configuration), else restricted.

Beyond the standard, ``runAsUser`` / ``runAsGroup`` must be numeric IDs when set (a string is rejected by the API
server anyway and hides a root UID from review).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from raydask.k8s.security import ALLOWED_VOLUME_TYPES, POD_SECURITY_ANNOTATION

CONTAINER_KINDS: Final = ("initContainers", "containers", "ephemeralContainers")
"""Container lists of a pod spec, in the order the kubelet starts them."""
ALLOWED_CAPABILITY: Final = "NET_BIND_SERVICE"
"""The only capability "restricted" lets a container add."""
BASELINE_CAPABILITIES: Final = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                          "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
"""The capabilities "baseline" lets a container add."""
LEVELS: Final = ("restricted", "baseline", "privileged")
"""Pod Security levels, strictest first."""
SECCOMP_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})
APPARMOR_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})
SELINUX_TYPES: Final = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
SAFE_SYSCTLS: Final = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
})
APPARMOR_ANNOTATION: Final = "container.apparmor.security.beta.kubernetes.io/"
BASELINE_CONTROLS: Final = frozenset({"HostProcess", "Host Namespaces", "Privileged Containers", "HostPath Volumes",
                                      "Host Ports", "AppArmor", "SELinux", "/proc Mount Type", "Sysctls"})
"""Controls of "baseline" (Capabilities and Seccomp are in both levels, with different rules)."""


@dataclass(frozen=True)
class Violation:
    """One broken rule: where, which PSS control, and what is allowed instead."""

    path: str
    control: str
    message: str
    level: str = "restricted"
    """The strictest level the pod then still meets is the one below it: a "baseline" violation breaks baseline and
    restricted, a "restricted" one only restricted."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message} ({self.level}: {self.control})"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def containers(spec: Mapping[str, Any], path: str = "spec") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(path, container)`` of every init, regular and ephemeral container."""
    for kind in CONTAINER_KINDS:
        for i, c in enumerate(_list(spec.get(kind))):
            if isinstance(c, Mapping):
                yield f"{path}.{kind}[{i}]", c


def _is_windows(spec: Mapping[str, Any]) -> bool:
    return _map(spec.get("os")).get("name") == "windows"


def _uid(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _host(spec: Mapping[str, Any], path: str) -> list[Violation]:
    out = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(Violation(f"{path}.{field}", "Host Namespaces", "must be false or unset: host namespaces are not allowed"))
    for i, vol in enumerate(_list(spec.get("volumes"))):
        vol = _map(vol)
        vpath = f"{path}.volumes[{i}]"
        kinds = [k for k in vol if k != "name"]
        if "hostPath" in kinds:
            out.append(Violation(f"{vpath}.hostPath", "HostPath Volumes", f"volume '{vol.get('name')}': hostPath volumes are not allowed"))
        bad = [k for k in kinds if k != "hostPath" and k not in ALLOWED_VOLUME_TYPES]
        if bad:
            out.append(Violation(vpath, "Volume Types", f"volume '{vol.get('name')}' is of type {', '.join(bad)}; only "
                                                        f"{', '.join(sorted(ALLOWED_VOLUME_TYPES))} are allowed"))
    return out


def _pod_context(spec: Mapping[str, Any], meta: Mapping[str, Any], path: str, meta_path: str) -> list[Violation]:
    out = []
    sc = _map(spec.get("securityContext"))
    sc_path = f"{path}.securityContext"
    if _map(sc.get("windowsOptions")).get("hostProcess"):
        out.append(Violation(f"{sc_path}.windowsOptions.hostProcess", "HostProcess", "must be false or unset"))
    out += _selinux(sc, sc_path)
    out += _apparmor_field(sc, sc_path)
    for field in ("runAsUser", "runAsGroup"):
        out += _id_field(sc, field, sc_path)
    for i, sysctl in enumerate(_list(sc.get("sysctls"))):
        name = _map(sysctl).get("name")
        if name not in SAFE_SYSCTLS:
            out.append(Violation(f"{sc_path}.sysctls[{i}].name", "Sysctls",
                                 f"sysctl '{name}' is not allowed; only {', '.join(sorted(SAFE_SYSCTLS))}"))
    for key, value in _map(meta.get("annotations")).items():
        if str(key).startswith(APPARMOR_ANNOTATION) and value != "runtime/default" and not str(value).startswith("localhost/"):
            out.append(Violation(f"{meta_path}.annotations['{key}']", "AppArmor",
                                 f"AppArmor profile '{value}' is not allowed; use runtime/default or localhost/<profile>"))
    return out


def _selinux(sc: Mapping[str, Any], path: str) -> list[Violation]:
    opts = _map(sc.get("seLinuxOptions"))
    out = []
    if opts.get("type", "") not in SELINUX_TYPES:
        out.append(Violation(f"{path}.seLinuxOptions.type", "SELinux", f"SELinux type '{opts.get('type')}' is not allowed; "
                                                                       f"use one of {', '.join(sorted(t for t in SELINUX_TYPES if t))}"))
    for field in ("user", "role"):
        if opts.get(field):
            out.append(Violation(f"{path}.seLinuxOptions.{field}", "SELinux", "custom SELinux users and roles are not allowed"))
    return out


def _apparmor_field(sc: Mapping[str, Any], path: str) -> list[Violation]:
    profile = _map(sc.get("appArmorProfile"))
    if profile and profile.get("type") not in APPARMOR_TYPES:
        return [Violation(f"{path}.appArmorProfile.type", "AppArmor",
                          f"AppArmor profile type '{profile.get('type')}' is not allowed; use RuntimeDefault or Localhost")]
    return []


def _id_field(sc: Mapping[str, Any], field: str, path: str) -> list[Violation]:
    if field not in sc or sc[field] is None:
        return []
    value = sc[field]
    if not _uid(value):
        return [Violation(f"{path}.{field}", "Running as Non-root user", f"must be a numeric ID, got {value!r}")]
    if field == "runAsUser" and value == 0:
        return [Violation(f"{path}.{field}", "Running as Non-root user", "must not be 0 (root)")]
    return []


def _container(c: Mapping[str, Any], cpath: str, windows: bool) -> list[Violation]:
    out = []
    name = c.get("name", "?")
    sc = _map(c.get("securityContext"))
    sc_path = f"{cpath}.securityContext"
    if _map(sc.get("windowsOptions")).get("hostProcess"):
        out.append(Violation(f"{sc_path}.windowsOptions.hostProcess", "HostProcess", f"container '{name}': must be false or unset"))
    if sc.get("privileged"):
        out.append(Violation(f"{sc_path}.privileged", "Privileged Containers", f"container '{name}': must be false or unset"))
    if sc.get("procMount") not in (None, "Default"):
        out.append(Violation(f"{sc_path}.procMount", "/proc Mount Type", f"container '{name}': must be Default or unset, got "
                                                                         f"'{sc.get('procMount')}'"))
    for i, port in enumerate(_list(c.get("ports"))):
        host_port = _map(port).get("hostPort")
        if host_port not in (None, 0):
            out.append(Violation(f"{cpath}.ports[{i}].hostPort", "Host Ports", f"container '{name}': host ports are not allowed, "
                                                                               f"got {host_port}"))
    out += _selinux(sc, sc_path)
    out += _apparmor_field(sc, sc_path)
    for field in ("runAsUser", "runAsGroup"):
        out += _id_field(sc, field, sc_path)
    if windows:
        return out
    if sc.get("allowPrivilegeEscalation") is not False:
        out.append(Violation(f"{sc_path}.allowPrivilegeEscalation", "Privilege Escalation", f"container '{name}': must be false"))
    caps = _map(sc.get("capabilities"))
    if "ALL" not in [str(d) for d in _list(caps.get("drop"))]:
        out.append(Violation(f"{sc_path}.capabilities.drop", "Capabilities", f"container '{name}': must drop ALL capabilities"))
    added = [str(a) for a in _list(caps.get("add")) if a != ALLOWED_CAPABILITY]
    if added:
        beyond = [a for a in added if a not in BASELINE_CAPABILITIES]
        also = f" ({', '.join(beyond)} only privileged allows)" if beyond else ""
        out.append(Violation(f"{sc_path}.capabilities.add", "Capabilities", f"container '{name}': only {ALLOWED_CAPABILITY} may be "
                                                                            f"added, got {', '.join(added)}{also}",
                             "baseline" if beyond else "restricted"))
    return out


def _non_root(spec: Mapping[str, Any], path: str, pod_sc: Mapping[str, Any]) -> list[Violation]:
    out = []
    pod_ok = pod_sc.get("runAsNonRoot") is True
    for cpath, c in containers(spec, path):
        value = _map(c.get("securityContext")).get("runAsNonRoot")
        if value is False:
            out.append(Violation(f"{cpath}.securityContext.runAsNonRoot", "Running as Non-root",
                                 f"container '{c.get('name', '?')}': must not be false"))
        elif value is not True and not pod_ok:
            out.append(Violation(f"{cpath}.securityContext.runAsNonRoot", "Running as Non-root",
                                 f"container '{c.get('name', '?')}': must be true (here or in the pod's securityContext)"))
    return out


def _seccomp(spec: Mapping[str, Any], path: str, pod_sc: Mapping[str, Any]) -> list[Violation]:
    out = []
    pod_type = _map(pod_sc.get("seccompProfile")).get("type")
    if pod_type is not None and pod_type not in SECCOMP_TYPES:
        out.append(Violation(f"{path}.securityContext.seccompProfile.type", "Seccomp",
                             f"must be RuntimeDefault or Localhost, got '{pod_type}'", "baseline"))
    for cpath, c in containers(spec, path):
        ctype = _map(_map(c.get("securityContext")).get("seccompProfile")).get("type")
        where = f"{cpath}.securityContext.seccompProfile.type"
        if ctype is not None and ctype not in SECCOMP_TYPES:
            out.append(Violation(where, "Seccomp", f"container '{c.get('name', '?')}': must be RuntimeDefault or Localhost, got "
                                                   f"'{ctype}'", "baseline"))
        elif ctype is None and pod_type is None:
            out.append(Violation(where, "Seccomp", f"container '{c.get('name', '?')}': set RuntimeDefault or Localhost (here or "
                                                   "in the pod's securityContext)"))
    return out


def check_pod_spec(spec: Any, path: str = "spec", metadata: Any = None, level: str = "restricted") -> list[Violation]:
    """Every violation of ``level`` (``restricted``, ``baseline``; ``privileged`` has none) by a pod spec (``metadata``
    for the AppArmor annotations); empty when compliant."""
    if level == "privileged":
        return []
    if not isinstance(spec, Mapping):
        return [Violation(path, "Pod spec", f"expected a pod spec (mapping), got {type(spec).__name__}")]
    windows = _is_windows(spec)
    pod_sc = _map(spec.get("securityContext"))
    meta_path = path[: -len("spec")] + "metadata" if path.endswith("spec") else "metadata"
    out = _host(spec, path) + _pod_context(spec, _map(metadata), path, meta_path)
    for cpath, c in containers(spec, path):
        out += _container(c, cpath, windows)
    if not windows:
        out += _non_root(spec, path, pod_sc) + _seccomp(spec, path, pod_sc)
    out = [replace(v, level="baseline") if v.control in BASELINE_CONTROLS else v for v in out]
    return sorted((v for v in out if level == "restricted" or v.level == "baseline"), key=lambda v: (v.path, v.control))


def declared_level(metadata: Any) -> str:
    """The level a pod template's :data:`POD_SECURITY_ANNOTATION` declares (an explicit, reasoned exception), else
    ``restricted``."""
    value = _map(_map(metadata).get("annotations")).get(POD_SECURITY_ANNOTATION)
    return value if value in LEVELS else "restricted"


def required_level(template: Any) -> str:
    """The strictest level a pod template (``{metadata, spec}``) meets."""
    spec = _map(template).get("spec")
    for level in LEVELS[:2]:
        if not check_pod_spec(spec, "spec", _map(template).get("metadata"), level):
            return level
    return "privileged"


def check_template(template: Any, path: str = "template", level: str | None = None) -> list[Violation]:
    """Violations of a pod template (``{metadata, spec}``) against ``level``; default the level it declares
    (:func:`declared_level`: restricted unless the configuration made an explicit exception)."""
    template = _map(template)
    level = level or declared_level(template.get("metadata"))
    return check_pod_spec(template.get("spec"), f"{path}.spec", template.get("metadata"), level)
