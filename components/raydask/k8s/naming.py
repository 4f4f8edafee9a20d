"""Names: Kubernetes name rules and every derived object name in one place."""

from __future__ import annotations

import re

RAY_CLUSTER_NAME_MAX = 53
RAY_JOB_NAME_MAX = 47
"""KubeRay names a RayJob's cluster ``<job>-<5 random characters>``, which must fit RAY_CLUSTER_NAME_MAX."""
RAY_SERVICE_NAME_MAX = 47
"""Same rule for a RayService's clusters."""
DASK_CLUSTER_NAME_MAX = 53
LABEL_MAX = 63
KUBERAY_CONTAINERS: dict[str, str] = {
    "autoscaler": "the autoscaler sidecar KubeRay adds to the head of an autoscaled cluster",
    "wait-gcs-ready": "the init container KubeRay adds to every worker (it waits for the head)",
    "wait-for-tls-ip-san": "the init container KubeRay adds to every pod of a cluster with tls",
    "collector": "the history-server sidecar KubeRay adds with historyServer",
    "ray-job-submitter": "the submitter container KubeRay adds to the head in SidecarMode",
}
"""Containers KubeRay adds to the pods of a RayCluster, by name (a user's container of one of these names clashes)."""


class RayNames:
    """Object names KubeRay and raydask derive from a RayCluster name."""

    @staticmethod
    def head_service(cluster: str) -> str:
        return f"{cluster}-head-svc"

    @staticmethod
    def serve_service(service: str) -> str:
        return f"{service}-serve-svc"

    @staticmethod
    def metrics_service(cluster: str) -> str:
        return f"{cluster}-metrics"

    @staticmethod
    def service_monitor(cluster: str) -> str:
        return f"{cluster}-ray"

    @staticmethod
    def external_service(cluster: str) -> str:
        return f"{cluster}-external"

    @staticmethod
    def ingress(cluster: str, what: str) -> str:
        return f"{cluster}-{what}"

    @staticmethod
    def network_policy(cluster: str, what: str) -> str:
        return f"{cluster}-{what}"

    @staticmethod
    def redis_password_secret(cluster: str) -> str:
        return f"{cluster}-redis-password"


class DaskNames:
    """Object names the Dask operator and raydask derive from a DaskCluster name."""

    @staticmethod
    def scheduler_service(cluster: str) -> str:
        return f"{cluster}-scheduler"

    @staticmethod
    def worker_group(cluster: str, group: str) -> str:
        return f"{cluster}-{group}"

    @staticmethod
    def ingress(cluster: str) -> str:
        return f"{cluster}-dashboard"

    @staticmethod
    def autoscaler(cluster: str) -> str:
        return cluster

    @staticmethod
    def default_worker_group(cluster: str) -> str:
        return f"{cluster}-default"

    @staticmethod
    def network_policy(cluster: str) -> str:
        return f"{cluster}-netpol"


def network_policy_group(policy: str, group: str) -> str:
    """Name of the NetworkPolicy adding a pod group's own allowances to the cluster's ``policy``."""
    return f"{policy}-{group}"


def service_fqdn(service: str, namespace: str) -> str:
    """In-cluster DNS name of a Service."""
    return f"{service}.{namespace}.svc.cluster.local"


# ---------------------------------------------------------------------------------------------------------------
# The API server's name rules (k8s.io/apimachinery/pkg/util/validation), as messages for people
# ---------------------------------------------------------------------------------------------------------------

DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
IANA_SERVICE_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_ENV_VAR_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_WILDCARD_HOST = re.compile(r"\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
SUBDOMAIN_MAX = 253
"""Patterns are matched whole (``fullmatch``): a trailing newline is no name."""


def _raise_on(error: str | None, value: str) -> str:
    if error:
        raise ValueError(error)
    return value


def dns1123_label_error(name: str, max_len: int = LABEL_MAX) -> str | None:
    """Why ``name`` is not an RFC 1123 label (volume, container, namespace names), or None."""
    if not name:
        return "must not be empty"
    if len(name) > max_len:
        return f"'{name}' is {len(name)} characters; the limit is {max_len}"
    if not DNS1123_LABEL.fullmatch(name):
        return f"'{name}' is not a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit"
    return None


def check_dns1123_label(name: str, max_len: int = LABEL_MAX) -> str:
    """An RFC 1123 label, else ValueError (:func:`dns1123_label_error`)."""
    return _raise_on(dns1123_label_error(name, max_len), name)


def dns1035_error(name: str, max_len: int = LABEL_MAX) -> str | None:
    """Why ``name`` is not a DNS-1035 label (Service names, cluster names: lower-case alphanumerics and '-', starting with
    a letter), or None."""
    if not isinstance(name, str) or not name:
        return "is empty: give a name (lower-case letters, digits and '-'), or remove the key for the default"
    if len(name) > max_len:
        return f"'{name}' is {len(name)} characters; the limit is {max_len}"
    if not DNS1035_LABEL.fullmatch(name):
        return (f"'{name}' is not a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, ending with a "
                "letter or digit (no dots or underscores)")
    return None


def check_dns1035(name: str, max_len: int = LABEL_MAX) -> str:
    """A DNS-1035 label, else ValueError (:func:`dns1035_error`)."""
    return _raise_on(dns1035_error(name, max_len), name)


def dns1123_subdomain_error(name: str) -> str | None:
    """Why ``name`` is not a DNS-1123 subdomain (most object names, hosts, Secret names), or None."""
    if not isinstance(name, str) or len(name) > SUBDOMAIN_MAX or not DNS1123_SUBDOMAIN.fullmatch(name):
        return f"'{name}' is not a DNS-1123 subdomain (lower-case, digits, '-', '.')"
    return None


def check_dns1123_subdomain(name: str) -> str:
    """A DNS-1123 subdomain, else ValueError (:func:`dns1123_subdomain_error`)."""
    return _raise_on(dns1123_subdomain_error(name), name)


def port_name_error(name: str) -> str | None:
    """Why ``name`` is not an IANA service name (named container and target ports), or None."""
    if len(name) > 15:
        return f"port name '{name}' is longer than 15 characters"
    if not IANA_SERVICE_NAME.fullmatch(name) or "--" in name:
        return f"port name '{name}' must be lower-case letters, digits and '-' (no '--', no '-' at either end)"
    if not re.search(r"[a-z]", name):
        return f"port name '{name}' must contain at least one letter"
    return None


def check_port_name(name: str) -> str:
    """An IANA service name, else ValueError (:func:`port_name_error`)."""
    return _raise_on(port_name_error(name), name)


def config_key_error(key: str, what: str = "data key") -> str | None:
    """Why ``key`` cannot be a ConfigMap or Secret data key (letters, digits, '-', '_' and '.', at most 253, not '.' or
    '..'), or None; ``what`` names it in the message."""
    if not _CONFIG_KEY.fullmatch(key) or len(key) > SUBDOMAIN_MAX or key in (".", ".."):
        return f"'{key}' is not a {what}: letters, digits, '-', '_' and '.' (a file name, no '/')"
    return None


def qualified_name_error(key: str) -> str | None:
    """Why ``key`` is not a label or annotation key (``[prefix/]name``), or None."""
    if not key:
        return "an empty key"
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"'{key}': the prefix before '/' is empty"
    if prefix and (len(prefix) > SUBDOMAIN_MAX or not DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return f"'{key}': the prefix '{prefix}' must be a DNS subdomain (lower-case letters, digits, '-' and '.')"
    if len(name) > LABEL_MAX:
        return f"'{key}': the name after the prefix is {len(name)} characters; the limit is {LABEL_MAX}"
    if not _QUALIFIED_NAME.fullmatch(name):
        return (f"'{key}' is not a valid key: letters, digits, '-', '_' and '.', starting and ending with a letter or digit, "
                "optionally after a DNS prefix and '/' (example.com/my-key)")
    return None


def label_value_error(value: str) -> str | None:
    """Why ``value`` is not a label value (at most 63 letters, digits, '-', '_', '.', alphanumeric at both ends), or None."""
    if len(value) > LABEL_MAX:
        return f"'{value}' is {len(value)} characters; a label value holds at most {LABEL_MAX}"
    if not _LABEL_VALUE.fullmatch(value):
        return (f"'{value}' is not a valid label value: letters, digits, '-', '_' and '.', starting and ending with a letter or "
                "digit (or empty)")
    return None


def check_label_value(value: str) -> str:
    """A label value, else ValueError (:func:`label_value_error`)."""
    return _raise_on(label_value_error(value), value)


def env_var_name_error(name: str) -> str | None:
    """Why ``name`` is not an environment variable name the API server accepts (letters, digits, '_', '-', '.', not
    starting with a digit), or None."""
    if not name:
        return "an empty name"
    if not _ENV_VAR_NAME.fullmatch(name):
        return f"'{name}' is not an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit"
    return None


def extended_resource_error(name: str) -> str | None:
    """Why ``name`` cannot be an extended resource (``vendor.com/gpu``), or None."""
    if "/" not in name:
        return f"'{name}' is not an extended resource name: it needs a vendor domain, e.g. nvidia.com/gpu"
    if "kubernetes.io/" in name:
        return f"'{name}': the kubernetes.io/ domain is reserved for Kubernetes' own resources"
    if name.startswith("requests."):
        return f"'{name}' must not start with 'requests.'"
    err = qualified_name_error(f"requests.{name}")
    return f"'{name}' is not a valid extended resource name ({err})" if err else None


def check_host(host: str) -> str:
    """An Ingress host: a DNS name, optionally a wildcard ``*.example.com``; not an IP address."""
    import ipaddress

    if not isinstance(host, str) or not host:
        raise ValueError("must not be empty")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(f"'{host}' is an IP address; an Ingress host must be a DNS name")
    if len(host) > SUBDOMAIN_MAX:
        raise ValueError(f"'{host}' is {len(host)} characters; a host name holds at most {SUBDOMAIN_MAX}")
    if host.startswith("*"):
        if not _WILDCARD_HOST.fullmatch(host):
            raise ValueError(f"'{host}' is not a wildcard host: '*.' then a DNS name, e.g. *.example.com")
        return host
    if not DNS1123_SUBDOMAIN.fullmatch(host):
        lower = " (upper-case letters are not allowed)" if host.lower() != host and DNS1123_SUBDOMAIN.fullmatch(host.lower()) else ""
        raise ValueError(f"'{host}' is not a DNS host name: lower-case letters, digits, '-' and '.'{lower}")
    return host


def ingress_path_error(path: str, path_type: str) -> str | None:
    """Why the API server refuses ``path`` for ``path_type``, or None."""
    if not path.startswith("/"):
        return f"'{path}' must start with '/'"
    if path_type in ("Exact", "Prefix"):
        for bad in ("//", "/./", "/../", "%2f", "%2F"):
            if bad in path:
                return f"'{path}' must not contain '{bad}'"
        for bad in ("/..", "/."):
            if path.endswith(bad):
                return f"'{path}' must not end with '{bad}'"
    return None


def cidr_error(value: str, strict: bool = True) -> str | None:
    """Why ``value`` is not a network in CIDR notation (``10.0.0.0/8``), or None; ``strict``: no host bits set."""
    import ipaddress

    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f"'{value}' is not a CIDR such as 10.0.0.0/8"
    if "/" not in value:
        return f"'{value}' must include the prefix length, e.g. {network}"
    if strict and str(network) != value:
        return f"'{value}' has host bits set; use {network}"
    return None
