"""The API server's validation rules (k8s.io/kubernetes ``pkg/apis/core/validation``) for the parts of pods and
Services raydask lets users shape: containers, ports, environment, probes, lifecycle hooks, volumes, tolerations,
topology spread constraints, host aliases, DNS settings, scheduling names and Service ports -- the rules beyond an
OpenAPI schema (names, enums, ranges, references to other fields) that make the API server refuse a pod an operator
creates long after ``pulumi up`` succeeded.

One place for them: the spec models check each override at its own config key (:mod:`raydask.spec.overrides`), and the
offline validators (:mod:`raydask.offline.validation.builtin`) check every rendered pod template and Service with the
same functions. Every function takes plain values of any shape (what a user typed: never trusted) and returns
``(path, message)`` pairs, the path a tuple of keys and list indices relative to the value; messages say what was
given, the rule it breaks and how to fix it. ``partial=True`` checks a patch: required keys may be left out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from raydask.k8s import naming, quantities

Path = tuple[Any, ...]
Issue = tuple[Path, str]

PORT_MAX = 65535
INT32_MAX = 2**31 - 1
PROTOCOLS = ("TCP", "UDP", "SCTP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES = ("Honor", "Ignore")
HTTP_SCHEMES = ("HTTP", "HTTPS")
SECCOMP_TYPES = ("RuntimeDefault", "Unconfined", "Localhost")
PROC_MOUNT_TYPES = ("Default", "Unmasked")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
SESSION_AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILIES = ("IPv4", "IPv6")
IP_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName",
                   "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
"""``fieldRef.fieldPath`` values an environment variable may take (besides ``metadata.labels['<key>']`` and
``metadata.annotations['<key>']``)."""
RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.memory", "limits.ephemeral-storage", "requests.cpu", "requests.memory",
                        "requests.ephemeral-storage")
"""``resourceFieldRef.resource`` values (besides ``limits.hugepages-<size>`` and ``requests.hugepages-<size>``)."""
ENV_SOURCES = ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "secret", "nfs", "iscsi",
                  "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI",
                  "fc", "azureFile", "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
                  "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral", "image")
"""Every volume source type of a PodSpec (a volume has exactly one)."""
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCHES = 32
MAX_DNS_SEARCH_CHARS = 2048
SYSTEM_PRIORITY_CLASSES = ("system-node-critical", "system-cluster-critical")
"""The priority classes Kubernetes reserves for its own components (``system-`` is a reserved prefix)."""
_HTTP_HEADER = re.compile(r"[-A-Za-z0-9!#$%&'*+.^_`|~]+")
_SYSCTL = re.compile(r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "no value"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)


def _enum(value: Any, allowed: Iterable[str], what: str) -> str | None:
    """Why ``value`` is not one of ``allowed`` (``what`` names the field), with the near miss when there is one."""
    options = tuple(allowed)
    if value in options:
        return None
    close = [o for o in options if isinstance(value, str) and o.lower() == value.lower()]
    if not close and isinstance(value, str):
        import difflib

        close = difflib.get_close_matches(value, options, n=1, cutoff=0.75)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{_shown(value)} is not a {what}: one of {', '.join(options)}{hint}"


# ---------------------------------------------------------------------------------------------------------------
# names and numbers (k8s.io/apimachinery/pkg/util/validation), as messages for people
# ---------------------------------------------------------------------------------------------------------------


def port_number_error(value: Any, what: str = "port", allow_zero: bool = False) -> str | None:
    """Why ``value`` is not a port number (1 to 65535; 0 too when ``allow_zero``), or None."""
    low = 0 if allow_zero else 1
    if not _int(value):
        return f"{_shown(value)} is not a {what}: a whole number from {low} to {PORT_MAX}"
    if not low <= value <= PORT_MAX:
        return f"{value} is not a {what}: port numbers are {low} to {PORT_MAX}"
    return None


def port_name_error(value: Any) -> str | None:
    """Why ``value`` is not a port name (an IANA service name: at most 15 lower-case letters, digits and '-'), or None."""
    if not isinstance(value, str):
        return f"{_shown(value)} is not a port name: a string of at most 15 lower-case letters, digits and '-'"
    return naming.port_name_error(value)


def port_ref_error(value: Any) -> str | None:
    """Why ``value`` names no port: a number from 1 to 65535, or a port name."""
    if isinstance(value, str):
        return port_name_error(value)
    return port_number_error(value)


def subdomain_error(value: Any, what: str) -> str | None:
    """Why ``value`` cannot name ``what`` (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'), or None."""
    if not isinstance(value, str) or not value:
        return f"{_shown(value)} is not a {what} name: lower-case letters, digits, '-' and '.' (a DNS-1123 subdomain)"
    if len(value) > naming.SUBDOMAIN_MAX or not naming.DNS1123_SUBDOMAIN.fullmatch(value):
        lower = (f" (did you mean '{value.lower()}'?)" if value.lower() != value and
                 naming.DNS1123_SUBDOMAIN.fullmatch(value.lower()) else "")
        return (f"'{value}' is not a {what} name: lower-case letters, digits, '-' and '.', starting and ending with a letter "
                f"or digit (a DNS-1123 subdomain){lower}")
    return None


def label_name_error(value: Any, what: str) -> str | None:
    """Why ``value`` cannot name ``what`` (a DNS-1123 label: lower-case letters, digits and '-'), or None."""
    if not isinstance(value, str) or not value:
        return f"{_shown(value)} is not a {what} name: lower-case letters, digits and '-' (a DNS-1123 label)"
    err = naming.dns1123_label_error(value)
    return f"{err} ({what} name)" if err else None


def ip_error(value: Any, what: str) -> str | None:
    """Why ``value`` is not an IP address (``what`` says where), or None."""
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            return None
    return f"{_shown(value)} is not an IP address: {what} takes an IPv4 or IPv6 address such as 10.0.0.5, not a host name"


def quantity_error(value: Any) -> str | None:
    """Why ``value`` is not a Kubernetes quantity, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return f"expected a Kubernetes quantity such as '1Gi', got {_shown(value)}"
    if isinstance(value, str):
        try:
            quantities.parse(value)
        except ValueError as exc:
            return str(exc)
    return None


def _non_negative(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not _int(value):
        return f"{_shown(value)} is not a number of {what}: a whole number, 0 or more"
    if value < 0:
        return f"{value} is negative: {what} are counted from 0 up"
    if value > INT32_MAX:
        return f"{value} is too large: at most {INT32_MAX} (a 32-bit integer)"
    return None


def _positive(value: Any, what: str) -> str | None:
    if not _int(value):
        return f"{_shown(value)} is not a number of {what}: a whole number, 1 or more"
    if value < 1:
        return f"{value} is not a number of {what}: 1 or more"
    if value > INT32_MAX:
        return f"{value} is too large: at most {INT32_MAX} (a 32-bit integer)"
    return None


# ---------------------------------------------------------------------------------------------------------------
# containers
# ---------------------------------------------------------------------------------------------------------------


def container_ports_issues(ports: Any, partial: bool = False) -> list[Issue]:
    """A container's ``ports``: unique port names, numbers from 1 to 65535, TCP/UDP/SCTP."""
    out: list[Issue] = []
    names: dict[str, int] = {}
    for i, port in enumerate(_list(ports)):
        if not isinstance(port, Mapping):
            out.append(((i,), f"expected a port mapping such as {{name: web, containerPort: 8080}}, got {_shown(port)}"))
            continue
        name = port.get("name")
        if name not in (None, ""):
            if err := port_name_error(name):
                out.append(((i, "name"), err))
            elif name in names:
                out.append(((i, "name"), f"'{name}' is already the name of ports[{names[name]}]: port names are unique in a "
                                         "container"))
            else:
                names[name] = i
        if ("containerPort" in port or not partial) and \
                (err := port_number_error(port.get("containerPort"), "container port")) is not None:
            out.append(((i, "containerPort"), err if "containerPort" in port else "required: the port the container listens "
                                                                                 "on (1 to 65535)"))
        if port.get("hostPort") not in (None, 0) and (err := port_number_error(port.get("hostPort"), "host port")):
            out.append(((i, "hostPort"), err))
        if "protocol" in port and (err := _enum(port.get("protocol"), PROTOCOLS, "port protocol")):
            out.append(((i, "protocol"), err))
    return out


def env_name_error(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"{_shown(name)} is not an environment variable name"
    return naming.env_var_name_error(name)


def env_issues(env: Any, partial: bool = False) -> list[Issue]:
    """A container's ``env`` list: names, and ``value`` or exactly one ``valueFrom`` source."""
    out: list[Issue] = []
    for i, item in enumerate(_list(env)):
        if not isinstance(item, Mapping):
            out.append(((i,), f"expected {{name: NAME, value: text}}, got {_shown(item)}"))
            continue
        name_err = env_name_error(item.get("name")) if item.get("name") else "required: the variable's name"
        if ("name" in item or not partial) and name_err:
            out.append(((i, "name"), name_err))
        value_from = item.get("valueFrom")
        if value_from is not None:
            if item.get("value") not in (None, ""):
                out.append(((i, "valueFrom"), "cannot be combined with value: keep one"))
            out += [((i, "valueFrom", *p), m) for p, m in value_from_issues(value_from)]
    return out


def value_from_issues(source: Any) -> list[Issue]:
    """An environment variable's ``valueFrom``: exactly one source, each pointing at something that can exist."""
    if not isinstance(source, Mapping):
        return [((), f"expected one of {', '.join(ENV_SOURCES)}, got {_shown(source)}")]
    given = [k for k in ENV_SOURCES if source.get(k) is not None]
    if len(given) != 1:
        return [((), f"needs exactly one of {', '.join(ENV_SOURCES)}" + (f", got {' and '.join(given)}" if given else ""))]
    kind = given[0]
    ref = source[kind]
    if not isinstance(ref, Mapping):
        return [((kind,), f"expected a mapping, got {_shown(ref)}")]
    out: list[Issue] = []
    if kind == "fieldRef":
        out += [((kind, *p), m) for p, m in field_ref_issues(ref)]
    elif kind == "resourceFieldRef":
        resource = ref.get("resource")
        if not isinstance(resource, str) or not (resource in RESOURCE_FIELD_PATHS or
                                                 resource.startswith(("limits.hugepages-", "requests.hugepages-"))):
            out.append(((kind, "resource"), f"{_shown(resource)} is not a resource a container can read: one of "
                                            f"{', '.join(RESOURCE_FIELD_PATHS)} (or limits./requests.hugepages-<size>)"))
        if "divisor" in ref and (err := quantity_error(ref["divisor"])):
            out.append(((kind, "divisor"), err))
    else:
        what = "ConfigMap" if kind == "configMapKeyRef" else "Secret"
        if err := subdomain_error(ref.get("name"), what):
            out.append(((kind, "name"), err))
        key = ref.get("key")
        if not isinstance(key, str) or not key:
            out.append(((kind, "key"), f"required: the key of the {what} to read"))
        elif err := naming.config_key_error(key, f"{what} key"):
            out.append(((kind, "key"), err))
    return out


def field_ref_issues(ref: Mapping[str, Any]) -> list[Issue]:
    """A ``fieldRef``: a field of the pod the downward API exposes."""
    path = ref.get("fieldPath")
    if "apiVersion" in ref and ref.get("apiVersion") != "v1":
        return [(("apiVersion",), f"{_shown(ref.get('apiVersion'))} is not a version of the Pod API: v1 (or leave it out)")]
    if not isinstance(path, str) or not path:
        return [(("fieldPath",), "required: the pod field to read, e.g. status.podIP")]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        err = naming.qualified_name_error(m.group(2).lower() if m.group(1) == "annotations" else m.group(2))
        return [(("fieldPath",), f"{err} (in {path})")] if err else []
    if path in ENV_FIELD_PATHS:
        return []
    import difflib

    close = difflib.get_close_matches(path, ENV_FIELD_PATHS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return [(("fieldPath",), f"'{path}' is not a pod field the downward API exposes: one of {', '.join(ENV_FIELD_PATHS)}, "
                             f"or metadata.labels['<key>'] / metadata.annotations['<key>']{hint}")]


def env_from_issues(items: Any) -> list[Issue]:
    """A container's ``envFrom``: each exactly one of configMapRef / secretRef, with a valid name and prefix."""
    out: list[Issue] = []
    for i, item in enumerate(_list(items)):
        if not isinstance(item, Mapping):
            out.append(((i,), f"expected {{secretRef: {{name: ...}}}} or {{configMapRef: {{name: ...}}}}, got {_shown(item)}"))
            continue
        given = [k for k in ("configMapRef", "secretRef") if item.get(k) is not None]
        if len(given) != 1:
            out.append(((i,), "needs exactly one of configMapRef and secretRef" + (", got both" if len(given) == 2 else "")))
        for kind in given:
            ref = item[kind]
            what = "ConfigMap" if kind == "configMapRef" else "Secret"
            if err := subdomain_error(_map(ref).get("name"), what):
                out.append(((i, kind, "name"), err))
        prefix = item.get("prefix")
        if prefix not in (None, "") and (err := env_name_error(prefix)):
            out.append(((i, "prefix"), err.replace("environment variable name", "prefix of environment variable names")))
    return out


def handler_issues(handler: Any, kinds: tuple[str, ...], grace_period: int | None = 30) -> list[Issue]:
    """A probe or lifecycle hook: exactly one of ``kinds`` (exec, httpGet, tcpSocket, grpc, sleep), each well formed."""
    if not isinstance(handler, Mapping):
        return [((), f"expected a mapping with one of {', '.join(kinds)}, got {_shown(handler)}")]
    given = [k for k in kinds if handler.get(k) is not None]
    if len(given) != 1:
        return [((), f"needs exactly one of {', '.join(kinds)}" + (f", got {' and '.join(given)}" if given else ""))]
    kind = given[0]
    action = handler[kind]
    if not isinstance(action, Mapping):
        return [((kind,), f"expected a mapping, got {_shown(action)}")]
    out: list[Issue] = []
    if kind == "exec":
        if not _list(action.get("command")):
            out.append(((kind, "command"), "required: the command to run, a list such as [cat, /tmp/healthy]"))
    elif kind in ("httpGet", "tcpSocket"):
        if err := port_ref_error(action.get("port")):
            out.append(((kind, "port"), err if "port" in action else "required: the port to call (a number or a port name)"))
        if kind == "httpGet":
            if "scheme" in action and (err := _enum(action.get("scheme"), HTTP_SCHEMES, "scheme")):
                out.append(((kind, "scheme"), err))
            for j, header in enumerate(_list(action.get("httpHeaders"))):
                name = _map(header).get("name")
                if not isinstance(name, str) or not _HTTP_HEADER.fullmatch(name):
                    out.append(((kind, "httpHeaders", j, "name"), f"{_shown(name)} is not an HTTP header name"))
    elif kind == "grpc":
        if err := port_number_error(action.get("port")):
            out.append(((kind, "port"), err))
    elif kind == "sleep":
        seconds: Any = action.get("seconds")
        limit = grace_period if grace_period is not None else 30
        if not _int(seconds) or not 0 < seconds <= limit:
            out.append(((kind, "seconds"), f"{_shown(seconds)} is not a sleep: 1 to terminationGracePeriodSeconds ({limit}) "
                                           "seconds"))
    return out


PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def probe_issues(probe: Any, kind: str) -> list[Issue]:
    """A ``livenessProbe`` / ``readinessProbe`` / ``startupProbe`` (``kind``): one handler, no negative timings; the
    liveness and startup probes succeed after one success."""
    if not isinstance(probe, Mapping):
        return [((), f"expected a probe mapping, got {_shown(probe)}")]
    handler = {k: probe[k] for k in PROBE_HANDLERS if k in probe}
    out: list[Issue] = list(handler_issues(handler, PROBE_HANDLERS))
    for key, what in (("initialDelaySeconds", "seconds"), ("timeoutSeconds", "seconds"), ("periodSeconds", "seconds"),
                      ("successThreshold", "successes"), ("failureThreshold", "failures")):
        if err := _non_negative(probe.get(key), what):
            out.append(((key,), err))
    success = probe.get("successThreshold")
    if kind != "readinessProbe" and _int(success) and success not in (0, 1):
        out.append((("successThreshold",), f"must be 1 for a {kind}, got {success} (only a readinessProbe may need several "
                                           "successes)"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None:
        if kind == "readinessProbe":
            out.append((("terminationGracePeriodSeconds",), "a readinessProbe never kills the container: remove it"))
        elif not _int(grace) or grace <= 0:
            out.append((("terminationGracePeriodSeconds",), f"{_shown(grace)} is not a grace period: 1 second or more"))
    return out


def lifecycle_issues(lifecycle: Any, grace_period: int | None = 30) -> list[Issue]:
    """A container's ``lifecycle``: ``postStart`` / ``preStop`` hooks with one handler each."""
    if not isinstance(lifecycle, Mapping):
        return [((), f"expected {{postStart: ..., preStop: ...}}, got {_shown(lifecycle)}")]
    out: list[Issue] = []
    for hook in ("postStart", "preStop"):
        if lifecycle.get(hook) is not None:
            out += [((hook, *p), m) for p, m in handler_issues(lifecycle[hook], LIFECYCLE_HANDLERS, grace_period)]
    return out


def resources_issues(resources: Any) -> list[Issue]:
    """A container's ``resources``: quantities, none negative, requests at most the limits."""
    res = _map(resources)
    out: list[Issue] = []
    amounts: dict[str, dict[str, Any]] = {}
    for field in ("limits", "requests"):
        for name, value in _map(res.get(field)).items():
            if err := quantity_error(value):
                out.append(((field, name), err))
                continue
            amount = quantities.parse(str(value))
            if amount < 0:
                out.append(((field, name), f"{_shown(value)} is negative: resources are 0 or more"))
            amounts.setdefault(field, {})[name] = amount
    for name, request in amounts.get("requests", {}).items():
        limit = amounts.get("limits", {}).get(name)
        if limit is not None and request > limit:
            out.append((("requests", name), f"{_shown(_map(res['requests'])[name])} is above the limit "
                                            f"{_shown(_map(res['limits'])[name])}: a request is at most the limit"))
    return out


def security_context_issues(context: Any) -> list[Issue]:
    """A container's or pod's ``securityContext``: the enums and references the API server checks (Pod Security is
    :mod:`raydask.k8s.pss`)."""
    sc = _map(context)
    out: list[Issue] = []
    seccomp = _map(sc.get("seccompProfile"))
    if "type" in seccomp and (err := _enum(seccomp.get("type"), SECCOMP_TYPES, "seccomp profile type")):
        out.append((("seccompProfile", "type"), err))
    elif seccomp.get("type") == "Localhost" and not seccomp.get("localhostProfile"):
        out.append((("seccompProfile", "localhostProfile"), "required with type Localhost: the profile's file on the node"))
    if "procMount" in sc and (err := _enum(sc.get("procMount"), PROC_MOUNT_TYPES, "proc mount type")):
        out.append((("procMount",), err))
    for j, sysctl in enumerate(_list(sc.get("sysctls"))):
        name = _map(sysctl).get("name")
        if not isinstance(name, str) or len(name) > 253 or not _SYSCTL.fullmatch(name):
            out.append((("sysctls", j, "name"), f"{_shown(name)} is not a sysctl name such as net.ipv4.tcp_syncookies"))
    return out


def container_issues(container: Any, *, init: bool = False, partial: bool = False,
                     grace_period: int | None = 30) -> list[Issue]:
    """One container (``init``: an init container) as the API server checks it inside a pod template."""
    if not isinstance(container, Mapping):
        return [((), f"expected a container mapping (name, image, ...), got {_shown(container)}")]
    c = container
    out: list[Issue] = []
    if ("name" in c or not partial) and (err := label_name_error(c.get("name"), "container")):
        out.append((("name",), err))
    if "image" in c or not partial:
        image = c.get("image")
        if not isinstance(image, str) or not image.strip():
            out.append((("image",), "required: the container's image"))
        elif image != image.strip():
            out.append((("image",), f"'{image}' has spaces around it: write the image reference alone"))
    for key, allowed, what in (("imagePullPolicy", PULL_POLICIES, "pull policy"),
                               ("terminationMessagePolicy", TERMINATION_MESSAGE_POLICIES, "termination message policy")):
        if key in c and (err := _enum(c.get(key), allowed, what)):
            out.append(((key,), err))
    out += [(("ports", *p), m) for p, m in container_ports_issues(c.get("ports"))]
    out += [(("env", *p), m) for p, m in env_issues(c.get("env"))]
    out += [(("envFrom", *p), m) for p, m in env_from_issues(c.get("envFrom"))]
    mounts: dict[Any, int] = {}
    for j, mount in enumerate(_list(c.get("volumeMounts"))):
        m = _map(mount)
        if not m.get("name"):
            out.append((("volumeMounts", j, "name"), "required: the name of one of the pod's volumes"))
        path = m.get("mountPath")
        if not isinstance(path, str) or not path:
            out.append((("volumeMounts", j, "mountPath"), "required: where the volume appears in the container"))
        elif path in mounts:
            out.append((("volumeMounts", j, "mountPath"), f"'{path}' is already the mount path of volumeMounts[{mounts[path]}]"))
        else:
            mounts[path] = j
        for key in ("subPath", "subPathExpr"):
            sub = m.get(key)
            if isinstance(sub, str) and (sub.startswith("/") or ".." in sub.split("/")):
                out.append((("volumeMounts", j, key), f"'{sub}' must be a relative path inside the volume, without '..'"))
    out += [(("resources", *p), m) for p, m in resources_issues(c.get("resources"))]
    out += [(("securityContext", *p), m) for p, m in security_context_issues(c.get("securityContext"))]
    restart = c.get("restartPolicy")
    if restart is not None:
        if not init:
            out.append((("restartPolicy",), "only an init container takes restartPolicy (Always: a sidecar that keeps running); "
                                            "remove it"))
        elif restart != "Always":
            out.append((("restartPolicy",), f"{_shown(restart)} is not a restart policy of an init container: Always (or "
                                            "leave it out)"))
    restartable = init and restart == "Always"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if c.get(probe) is not None:
            if init and not restartable:
                out.append(((probe,), "an init container runs once to completion: probes only apply to one with "
                                      "restartPolicy: Always"))
            else:
                out += [((probe, *p), m) for p, m in probe_issues(c[probe], probe)]
    if c.get("lifecycle") is not None:
        if init and not restartable:
            out.append((("lifecycle",), "an init container runs once to completion: lifecycle hooks only apply to one with "
                                        "restartPolicy: Always"))
        else:
            out += [(("lifecycle", *p), m) for p, m in lifecycle_issues(c["lifecycle"], grace_period)]
    return out


# ---------------------------------------------------------------------------------------------------------------
# pod-level fields
# ---------------------------------------------------------------------------------------------------------------


def toleration_issues(tolerations: Any) -> list[Issue]:
    out: list[Issue] = []
    for i, t in enumerate(_list(tolerations)):
        t = _map(t)
        key, op, value = t.get("key"), t.get("operator") or "Equal", t.get("value")
        if key and (err := naming.qualified_name_error(str(key))):
            out.append(((i, "key"), err))
        if err := _enum(op, TOLERATION_OPERATORS, "toleration operator"):
            out.append(((i, "operator"), err))
        elif not key and op != "Exists":
            out.append(((i, "operator"), "must be Exists when key is empty (an empty key with Exists tolerates every taint); "
                                         "set the taint's key"))
        elif op == "Exists" and value:
            out.append(((i, "value"), "must be empty when operator is Exists"))
        elif op == "Equal" and isinstance(value, str) and (err := naming.label_value_error(value)):
            out.append(((i, "value"), err))
        if t.get("effect") and (err := _enum(t.get("effect"), TAINT_EFFECTS, "taint effect")):
            out.append(((i, "effect"), err))
        if t.get("tolerationSeconds") is not None and t.get("effect") != "NoExecute":
            out.append(((i, "tolerationSeconds"), "only applies with effect: NoExecute (it is how long a pod stays on a node "
                                                  "tainted NoExecute)"))
    return out


def label_selector_issues(selector: Any) -> list[Issue]:
    """A LabelSelector: label keys and values, expression operators and values."""
    sel = _map(selector)
    out: list[Issue] = []
    for key, value in _map(sel.get("matchLabels")).items():
        if err := naming.qualified_name_error(str(key)) or (naming.label_value_error(value) if isinstance(value, str)
                                                            else f"{_shown(value)} is not a label value: quote it"):
            out.append((("matchLabels", key), err))
    for j, req in enumerate(_list(sel.get("matchExpressions"))):
        req = _map(req)
        op, values = req.get("operator"), _list(req.get("values"))
        if err := naming.qualified_name_error(str(req.get("key") or "")):
            out.append((("matchExpressions", j, "key"), err))
        if err := _enum(op, ("In", "NotIn", "Exists", "DoesNotExist"), "label selector operator"):
            out.append((("matchExpressions", j, "operator"), err))
        elif op in ("In", "NotIn") and not values:
            out.append((("matchExpressions", j, "values"), f"must list at least one value for operator {op}"))
        elif op in ("Exists", "DoesNotExist") and values:
            out.append((("matchExpressions", j, "values"), f"must be empty for operator {op}"))
    return out


def topology_spread_issues(constraints: Any, partial: bool = False) -> list[Issue]:
    """``topologySpreadConstraints``: maxSkew ≥ 1, a topology key, DoNotSchedule or ScheduleAnyway, each (key, action)
    once, minDomains only with DoNotSchedule."""
    out: list[Issue] = []
    seen: dict[tuple[str, str], int] = {}
    for i, c in enumerate(_list(constraints)):
        if not isinstance(c, Mapping):
            out.append(((i,), f"expected {{maxSkew: 1, topologyKey: ..., whenUnsatisfiable: ...}}, got {_shown(c)}"))
            continue
        if ("maxSkew" in c or not partial) and (err := _positive(c.get("maxSkew"), "pods of imbalance")):
            out.append(((i, "maxSkew"), err if "maxSkew" in c else "required: how uneven the spread may be (1 or more)"))
        key = c.get("topologyKey")
        if not key and not partial:
            out.append(((i, "topologyKey"), "required: the node label that defines a domain, e.g. topology.kubernetes.io/zone"))
        elif key and (err := naming.qualified_name_error(str(key))):
            out.append(((i, "topologyKey"), err))
        action = c.get("whenUnsatisfiable")
        if (action is not None or not partial) and (err := _enum(action, WHEN_UNSATISFIABLE, "whenUnsatisfiable action")):
            out.append(((i, "whenUnsatisfiable"), err))
        pair = (repr(key), repr(action))
        if pair in seen:
            out.append(((i,), f"repeats the topologyKey and whenUnsatisfiable of topologySpreadConstraints[{seen[pair]}]: "
                              "merge them"))
        seen.setdefault(pair, i)
        if c.get("minDomains") is not None:
            if err := _positive(c.get("minDomains"), "domains"):
                out.append(((i, "minDomains"), err))
            elif action != "DoNotSchedule":
                out.append(((i, "minDomains"), "only applies with whenUnsatisfiable: DoNotSchedule"))
        for policy in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            if policy in c and (err := _enum(c.get(policy), NODE_INCLUSION_POLICIES, policy)):
                out.append(((i, policy), err))
        if c.get("labelSelector") is not None:
            out += [((i, "labelSelector", *p), m) for p, m in label_selector_issues(c["labelSelector"])]
        elif _list(c.get("matchLabelKeys")):
            out.append(((i, "matchLabelKeys"), "needs labelSelector (the keys narrow it)"))
    return out


def host_alias_issues(aliases: Any) -> list[Issue]:
    """``hostAliases``: an IP address and host names for ``/etc/hosts``."""
    out: list[Issue] = []
    for i, alias in enumerate(_list(aliases)):
        if not isinstance(alias, Mapping):
            out.append(((i,), f"expected {{ip: 10.0.0.5, hostnames: [db.local]}}, got {_shown(alias)}"))
            continue
        if err := ip_error(alias.get("ip"), "a host alias"):
            out.append(((i, "ip"), err))
        for j, name in enumerate(_list(alias.get("hostnames"))):
            if err := subdomain_error(name, "host"):
                out.append(((i, "hostnames", j), err))
    return out


def dns_config_issues(config: Any, dns_policy: Any = None) -> list[Issue]:
    """``dnsConfig``: at most 3 name servers (IP addresses), 32 search domains, named options; name servers required
    with ``dnsPolicy: None``."""
    if config is None:
        return [((), "required with dnsPolicy: None (the pod then has no DNS but this)")] if dns_policy == "None" else []
    if not isinstance(config, Mapping):
        return [((), f"expected {{nameservers: [...], searches: [...], options: [...]}}, got {_shown(config)}")]
    out: list[Issue] = []
    servers = _list(config.get("nameservers"))
    if dns_policy == "None" and not servers:
        out.append((("nameservers",), "needs at least one name server with dnsPolicy: None"))
    if len(servers) > MAX_DNS_NAMESERVERS:
        out.append((("nameservers",), f"lists {len(servers)} name servers; a pod takes at most {MAX_DNS_NAMESERVERS}"))
    out += [(("nameservers", j), err) for j, ns in enumerate(servers) if (err := ip_error(ns, "a name server"))]
    searches = _list(config.get("searches"))
    if len(searches) > MAX_DNS_SEARCHES:
        out.append((("searches",), f"lists {len(searches)} search domains; a pod takes at most {MAX_DNS_SEARCHES}"))
    if len(" ".join(str(s) for s in searches)) > MAX_DNS_SEARCH_CHARS:
        out.append((("searches",), f"the search list is longer than {MAX_DNS_SEARCH_CHARS} characters"))
    for j, search in enumerate(searches):
        if err := subdomain_error(search.removesuffix(".") if isinstance(search, str) else search, "search domain"):
            out.append((("searches", j), err))
    for j, option in enumerate(_list(config.get("options"))):
        if not _map(option).get("name"):
            out.append((("options", j, "name"), "required: the resolver option's name, e.g. ndots"))
    return out


def volume_issues(volumes: Any, partial: bool = False) -> list[Issue]:
    """A pod's ``volumes``: unique DNS-label names, exactly one source each, and the source's own rules."""
    out: list[Issue] = []
    names: dict[str, int] = {}
    for i, vol in enumerate(_list(volumes)):
        if not isinstance(vol, Mapping):
            out.append(((i,), f"expected {{name: data, <source>: {{...}}}}, got {_shown(vol)}"))
            continue
        name = vol.get("name")
        if "name" in vol or not partial:
            if err := label_name_error(name, "volume"):
                out.append(((i, "name"), err))
            elif name in names:
                out.append(((i, "name"), f"'{name}' is already the name of volumes[{names[name]}]: volume names are unique in "
                                         "a pod"))
            else:
                names[str(name)] = i
        kinds = [k for k in vol if k != "name" and k in VOLUME_SOURCES and vol[k] is not None]
        if len(kinds) > 1:
            out.append(((i,), f"has {len(kinds)} volume types ({', '.join(kinds)}): a volume has exactly one"))
        elif not kinds and not partial:
            out.append(((i,), "needs a volume type, e.g. emptyDir: {} or persistentVolumeClaim: {claimName: data}"))
        for kind in kinds:
            out += [((i, kind, *p), m) for p, m in volume_source_issues(kind, vol[kind])]
    return out


def volume_source_issues(kind: str, source: Any) -> list[Issue]:
    """The rules of one volume source (emptyDir, configMap, secret, persistentVolumeClaim, projected, downwardAPI, csi)."""
    src = _map(source)
    out: list[Issue] = []
    if kind == "emptyDir":
        if src.get("sizeLimit") is not None:
            if err := quantity_error(src["sizeLimit"]):
                out.append((("sizeLimit",), err))
            elif quantities.parse(str(src["sizeLimit"])) < 0:
                out.append((("sizeLimit",), f"{_shown(src['sizeLimit'])} is negative: a size is 0 or more"))
        if "medium" in src and src["medium"] not in ("", "Memory") and not str(src["medium"]).startswith("HugePages"):
            out.append((("medium",), f"{_shown(src['medium'])} is not a storage medium: Memory, HugePages, "
                                     "HugePages-<size>, or leave it out (the node's disk)"))
    elif kind in ("configMap", "secret"):
        key, what = ("name", "ConfigMap") if kind == "configMap" else ("secretName", "Secret")
        if err := subdomain_error(src.get(key), what):
            out.append(((key,), err if src.get(key) else f"required: the {what} to mount"))
        out += _mode_issues(src, "defaultMode")
        out += _items_issues(src.get("items"))
    elif kind == "persistentVolumeClaim":
        if err := subdomain_error(src.get("claimName"), "PersistentVolumeClaim"):
            out.append((("claimName",), err if src.get("claimName") else "required: the PersistentVolumeClaim to mount"))
    elif kind == "projected":
        out += _mode_issues(src, "defaultMode")
        for j, part in enumerate(_list(src.get("sources"))):
            for sub in ("configMap", "secret"):
                if sub in _map(part):
                    ref = _map(_map(part)[sub])
                    if ref.get("name") is not None and (err := subdomain_error(ref.get("name"), sub)):
                        out.append((("sources", j, sub, "name"), err))
                    out += [(("sources", j, sub, *p), m) for p, m in _items_issues(ref.get("items"))]
    elif kind == "downwardAPI":
        out += _mode_issues(src, "defaultMode")
        for j, item in enumerate(_list(src.get("items"))):
            item = _map(item)
            if item.get("fieldRef") is not None:
                out += [(("items", j, "fieldRef", *p), m) for p, m in _downward_volume_field(item["fieldRef"])]
            out += [(("items", j, *p), m) for p, m in _relative_path(item.get("path"), "path")]
    elif kind == "csi" and not src.get("driver"):
        out.append((("driver",), "required: the CSI driver's name"))
    return out


def _downward_volume_field(ref: Any) -> list[Issue]:
    path = _map(ref).get("fieldPath")
    allowed = ("metadata.name", "metadata.namespace", "metadata.labels", "metadata.annotations", "metadata.uid")
    if isinstance(path, str) and (path in allowed or re.fullmatch(r"metadata\.(labels|annotations)\['.+'\]", path)):
        return []
    return [(("fieldPath",), f"{_shown(path)} is not a pod field a downwardAPI volume exposes: one of {', '.join(allowed)}")]


def _mode_issues(source: Mapping[str, Any], key: str) -> list[Issue]:
    mode = source.get(key)
    if mode is None:
        return []
    if not _int(mode) or not 0 <= mode <= 0o777:
        hint = " (YAML reads 0644 as the octal number 420, which is right; a quoted '0644' is not a number)" \
            if isinstance(mode, str) else ""
        return [((key,), f"{_shown(mode)} is not a file mode: 0 to 0777 (511){hint}")]
    return []


def _relative_path(path: Any, key: str) -> list[Issue]:
    if not isinstance(path, str) or not path:
        return [((key,), "required: a relative file path inside the volume")]
    if path.startswith("/") or ".." in path.split("/"):
        return [((key,), f"'{path}' must be a relative path inside the volume, without '..'")]
    return []


def _items_issues(items: Any) -> list[Issue]:
    out: list[Issue] = []
    for j, item in enumerate(_list(items)):
        item = _map(item)
        key = item.get("key")
        if not isinstance(key, str) or not key:
            out.append((("items", j, "key"), "required: the data key to project"))
        out += [(("items", j, *p), m) for p, m in _relative_path(item.get("path"), "path")]
        out += [(("items", j, *p), m) for p, m in _mode_issues(item, "mode")]
    return out


def pod_spec_issues(spec: Any, *, partial: bool = False) -> list[Issue]:
    """A pod template's ``spec`` as the API server checks it when the operator creates the pod: containers, volumes
    and the references between them, scheduling and DNS fields, names and enums. ``partial``: a patch (required keys may
    be left out, references checked only within it)."""
    if not isinstance(spec, Mapping):
        return [((), f"expected a pod spec mapping, got {_shown(spec)}")]
    s = spec
    out: list[Issue] = []
    grace: Any = s.get("terminationGracePeriodSeconds")
    grace_period = grace if _int(grace) and grace >= 0 else 30
    if "terminationGracePeriodSeconds" in s and (err := _non_negative(grace, "seconds")):
        out.append((("terminationGracePeriodSeconds",), err))
    containers = _list(s.get("containers"))
    if not partial and not containers:
        out.append((("containers",), "a pod needs at least one container"))
    names: dict[str, str] = {}
    for field, init in (("initContainers", True), ("containers", False)):
        for i, c in enumerate(_list(s.get(field))):
            out += [((field, i, *p), m) for p, m in container_issues(c, init=init, partial=partial, grace_period=grace_period)]
            name = _map(c).get("name")
            if isinstance(name, str) and name:
                if name in names:
                    out.append(((field, i, "name"), f"'{name}' is already the name of a container in {names[name]}: container "
                                                    "names are unique in a pod"))
                names.setdefault(name, field)
    if _list(s.get("ephemeralContainers")):
        out.append((("ephemeralContainers",), "cannot be set in a pod template (kubectl debug adds them to running pods)"))
    out += [(("volumes", *p), m) for p, m in volume_issues(s.get("volumes"), partial)]
    if not partial or "volumes" in s:
        declared = {str(_map(v).get("name")) for v in _list(s.get("volumes")) if _map(v).get("name")}
        for field in ("initContainers", "containers"):
            for i, c in enumerate(_list(s.get(field))):
                for j, mount in enumerate(_list(_map(c).get("volumeMounts"))):
                    name = _map(mount).get("name")
                    if name and str(name) not in declared:
                        have = ", ".join(sorted(str(d) for d in declared if d))
                        out.append(((field, i, "volumeMounts", j, "name"), f"'{name}' is not a volume of the pod: add it to "
                                                                           "volumes" + (f", or mount one of {have}" if have
                                                                                        else " (the pod has none)")))
    for key, allowed, what in (("restartPolicy", RESTART_POLICIES, "restart policy"),
                               ("dnsPolicy", DNS_POLICIES, "DNS policy"),
                               ("preemptionPolicy", PREEMPTION_POLICIES, "preemption policy")):
        if key in s and (err := _enum(s.get(key), allowed, what)):
            out.append(((key,), err))
    for key, value in _map(s.get("nodeSelector")).items():
        if err := naming.qualified_name_error(str(key)) or (naming.label_value_error(value) if isinstance(value, str) else
                                                            f"{_shown(value)} is not a label value: quote it"):
            out.append((("nodeSelector", key), err))
    out += [(("tolerations", *p), m) for p, m in toleration_issues(s.get("tolerations"))]
    out += [(("topologySpreadConstraints", *p), m)
            for p, m in topology_spread_issues(s.get("topologySpreadConstraints"), partial)]
    out += [(("hostAliases", *p), m) for p, m in host_alias_issues(s.get("hostAliases"))]
    if "dnsConfig" in s or s.get("dnsPolicy") == "None":
        out += [(("dnsConfig", *p), m) for p, m in dns_config_issues(s.get("dnsConfig"), s.get("dnsPolicy"))]
    for key, what in (("priorityClassName", "PriorityClass"), ("runtimeClassName", "RuntimeClass"),
                      ("serviceAccountName", "ServiceAccount"), ("serviceAccount", "ServiceAccount"), ("nodeName", "node")):
        if s.get(key) not in (None, "") and (err := subdomain_error(s.get(key), what)):
            out.append(((key,), err))
    if err := priority_class_error(s.get("priorityClassName")):
        out.append((("priorityClassName",), err))
    for key in ("hostname", "subdomain"):
        if s.get(key) not in (None, "") and (err := label_name_error(s.get(key), key)):
            out.append(((key,), err))
    if s.get("activeDeadlineSeconds") is not None and (err := _positive(s.get("activeDeadlineSeconds"), "seconds")):
        out.append((("activeDeadlineSeconds",), err))
    for i, secret in enumerate(_list(s.get("imagePullSecrets"))):
        if not isinstance(secret, Mapping) or set(secret) - {"name"}:
            out.append((("imagePullSecrets", i), "takes only {name: <Secret>}"))
        elif err := subdomain_error(secret.get("name"), "Secret"):
            out.append((("imagePullSecrets", i, "name"), err))
    for key in ("readinessGates", "schedulingGates"):
        attr = "conditionType" if key == "readinessGates" else "name"
        for i, gate in enumerate(_list(s.get(key))):
            if err := naming.qualified_name_error(str(_map(gate).get(attr) or "")):
                out.append(((key, i, attr), err))
    out += [(("securityContext", *p), m) for p, m in security_context_issues(s.get("securityContext"))]
    if s.get("affinity") is not None:
        from raydask.k8s.schema import affinity_issues

        out += [(("affinity", *p), m) for p, m in affinity_issues(s["affinity"])]
    return out


def priority_class_error(name: Any) -> str | None:
    """Why a workload's pods may not use the priority class ``name``: Kubernetes reserves ``system-*`` classes for its
    own components in kube-system."""
    if isinstance(name, str) and name.startswith("system-"):
        return (f"'{name}' is a priority class Kubernetes reserves for its own components ({', '.join(SYSTEM_PRIORITY_CLASSES)}: "
                "the system- prefix), which keep nodes and the cluster running: a workload of that class preempts "
                "anything on a full node, and clusters commonly allow it only in kube-system; create a PriorityClass of "
                "your own (e.g. ml-high) and name it")
    return None


# ---------------------------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------------------------


def service_ports_issues(ports: Any, partial: bool = False) -> list[Issue]:
    """A Service's ``ports``: DNS-label names (required with several ports, unique), numbers from 1 to 65535,
    TCP/UDP/SCTP, a target port number or name, each (port, protocol) once."""
    items = _list(ports)
    out: list[Issue] = []
    names: dict[str, int] = {}
    numbers: dict[tuple[str, str], int] = {}
    for i, port in enumerate(items):
        if not isinstance(port, Mapping):
            out.append(((i,), f"expected {{name: web, port: 80}}, got {_shown(port)}"))
            continue
        name = port.get("name")
        if name in (None, ""):
            if len(items) > 1 and not partial:
                out.append(((i, "name"), "required: a Service with several ports names each"))
        elif err := label_name_error(name, "port"):
            out.append(((i, "name"), err))
        elif name in names:
            out.append(((i, "name"), f"'{name}' is already the name of ports[{names[name]}]"))
        else:
            names[str(name)] = i
        if ("port" in port or not partial) and (err := port_number_error(port.get("port"), "Service port")):
            out.append(((i, "port"), err if "port" in port else "required: the port the Service listens on"))
        protocol = port.get("protocol", "TCP")
        if "protocol" in port and (err := _enum(protocol, PROTOCOLS, "port protocol")):
            out.append(((i, "protocol"), err))
        if port.get("targetPort") not in (None, 0) and (err := port_ref_error(port.get("targetPort"))):
            out.append(((i, "targetPort"), err))
        if port.get("nodePort") not in (None, 0) and (err := port_number_error(port.get("nodePort"), "node port")):
            out.append(((i, "nodePort"), err))
        key = (repr(port.get("port")), repr(protocol))
        if _int(port.get("port")) and key in numbers:
            out.append(((i, "port"), f"{port.get('port')}/{protocol} is already the port of ports[{numbers[key]}]: a Service "
                                     "listens once on each port and protocol"))
        numbers.setdefault(key, i)
    return out


def service_spec_issues(spec: Any, partial: bool = False) -> list[Issue]:
    """A ServiceSpec (or a patch of one): the enums, ports and address lists the API server checks."""
    if not isinstance(spec, Mapping):
        return [((), f"expected a Service spec mapping, got {_shown(spec)}")]
    s = spec
    out: list[Issue] = []
    for key, allowed, what in (("type", SERVICE_TYPES, "Service type"),
                               ("sessionAffinity", SESSION_AFFINITIES, "session affinity"),
                               ("externalTrafficPolicy", TRAFFIC_POLICIES, "traffic policy"),
                               ("internalTrafficPolicy", TRAFFIC_POLICIES, "traffic policy"),
                               ("ipFamilyPolicy", IP_FAMILY_POLICIES, "IP family policy")):
        if key in s and s.get(key) is not None and (err := _enum(s.get(key), allowed, what)):
            out.append(((key,), err))
    for i, family in enumerate(_list(s.get("ipFamilies"))):
        if err := _enum(family, IP_FAMILIES, "IP family"):
            out.append((("ipFamilies", i), err))
    kind = s.get("type", "ClusterIP")
    if s.get("externalTrafficPolicy") is not None and kind not in ("NodePort", "LoadBalancer"):
        out.append((("externalTrafficPolicy",), f"only applies to NodePort and LoadBalancer Services (this one is {kind})"))
    for i, cidr in enumerate(_list(s.get("loadBalancerSourceRanges"))):
        if err := naming.cidr_error(str(cidr), strict=False):
            out.append((("loadBalancerSourceRanges", i), err))
    if not partial and not _list(s.get("ports")) and kind != "ExternalName" and s.get("clusterIP") != "None":
        out.append((("ports",), "a Service needs at least one port (unless headless or ExternalName)"))
    if not partial and kind == "ExternalName" and not s.get("externalName"):
        out.append((("externalName",), "required for type ExternalName"))
    if "ports" in s:
        out += [(("ports", *p), m) for p, m in service_ports_issues(s.get("ports"), partial)]
    return out
