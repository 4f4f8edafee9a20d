"""Security contexts: Pod Security Standards "restricted" for every pod and container raydask emits."""

from __future__ import annotations

from typing import Any, Final

RAY_UID: Final = 1000
"""The ``ray`` user of the rayproject/ray images."""
RAY_GID: Final = 100
"""The ``users`` group of the rayproject/ray images."""
DASK_UID: Final = 1000
"""Non-root user for the Dask images (they run as root unless told otherwise)."""
DASK_GID: Final = 1000

ALLOWED_VOLUME_TYPES: Final = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)
"""Volume sources the "restricted" profile admits."""

INGRESS_AUTH_ANNOTATIONS: Final = {
    "nginx.ingress.kubernetes.io/auth-url": frozenset(),
    "nginx.ingress.kubernetes.io/auth-type": frozenset(),
    "nginx.ingress.kubernetes.io/auth-tls-verify-client": frozenset({"off", "optional", "optional_no_ca"}),
    "alb.ingress.kubernetes.io/auth-type": frozenset({"none"}),
}
"""Ingress annotations that put authentication in front of a backend, each with the values that do not enforce it
(ingress-nginx external auth such as oauth2-proxy, basic/digest auth, client certificates; AWS ALB OIDC/Cognito)."""


def pod_security_context(uid: int, gid: int) -> dict[str, Any]:
    """Pod-level securityContext satisfying "restricted"."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "fsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int, gid: int, read_only_root: bool = False) -> dict[str, Any]:
    """Container-level securityContext satisfying "restricted" on its own (sidecars included)."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": gid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
