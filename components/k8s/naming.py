"""Names: Kubernetes name rules and every derived object name in one place."""

from __future__ import annotations

import re

DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
RAY_CLUSTER_NAME_MAX = 53
RAY_JOB_NAME_MAX = 47
"""KubeRay names a RayJob's cluster ``<job>-<5 random characters>``, which must fit RAY_CLUSTER_NAME_MAX."""
RAY_SERVICE_NAME_MAX = 47
"""Same rule for a RayService's clusters."""
DASK_CLUSTER_NAME_MAX = 53
LABEL_MAX = 63


def check_dns1035(name: str, max_len: int = LABEL_MAX) -> str:
    """Validate a DNS-1035 label (lower-case alphanumerics and '-', starting with a letter)."""
    if not isinstance(name, str) or not name:
        raise ValueError("must be a non-empty string")
    if len(name) > max_len:
        raise ValueError(f"'{name}' is {len(name)} characters; the limit is {max_len}")
    if not DNS1035.match(name):
        raise ValueError(
            f"'{name}' is not a DNS-1035 label: lower-case letters, digits and '-', starting with a letter, "
            "ending with a letter or digit (no dots or underscores)"
        )
    return name


def check_dns1123_subdomain(name: str) -> str:
    """Validate a DNS-1123 subdomain (hosts, Secret names)."""
    if not isinstance(name, str) or len(name) > 253 or not DNS1123_SUBDOMAIN.match(name):
        raise ValueError(f"'{name}' is not a DNS-1123 subdomain (lower-case, digits, '-', '.')")
    return name


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
