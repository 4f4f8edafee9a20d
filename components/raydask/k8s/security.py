"""Security contexts: Pod Security Standards "restricted" for every pod and container raydask emits."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

RAY_UID: Final = 10001
"""Ray containers run as 10001, not the images' ``ray`` user (1000): the root filesystem is read-only, so nothing in the
image is written and any UID reads it; Ray writes only to the emptyDirs at :data:`RAY_WRITABLE` and to ``HOME``
(:data:`RAY_HOME`). Checked with Ray 2.60 as UID 10001 without a passwd entry, ``/`` read-only: ``ray start``,
tasks, the dashboard and ``ray job submit``."""
RAY_GID: Final = 100
"""The ``users`` group of the rayproject/ray images (their files are readable by it)."""
RAY_HOME: Final = "/tmp"
"""``HOME`` of Ray containers (an emptyDir): pip / Hugging Face / torch caches, ``~/ray_results``."""
RAY_SHM_VOLUME: Final = "dshm"
"""emptyDir (in memory) at ``/dev/shm``: Ray's object store."""
RAY_HOME_VOLUME: Final = "tmp"
"""emptyDir at ``/tmp``, which is also ``HOME`` (:data:`RAY_HOME`)."""
RAY_LOGS: Final = ("ray-logs", "/tmp/ray")
"""(volume, mount path) KubeRay gives Ray's session and log directory when the pod declares none."""
RAY_WRITABLE: Final = ((RAY_SHM_VOLUME, "/dev/shm"), (RAY_HOME_VOLUME, RAY_HOME), RAY_LOGS)
"""(emptyDir volume, mount path) of every path Ray writes: the object store, temp files and ``HOME``, sessions and logs
(``ray-logs`` is KubeRay's own volume name, so KubeRay mounts the same volume into the autoscaler sidecar)."""
DASK_UID: Final = 10001
"""Non-root user for the Dask images (they run as root unless told otherwise; any UID works, so one above 10000 that
cannot collide with a host user)."""
DASK_GID: Final = 10001
KUBERAY_OPERATOR_UID: Final = 65532
"""The ``nonroot`` user of the distroless KubeRay operator image."""
API_TOKEN_VOLUME: Final = "kube-api-access"
API_TOKEN_PATH: Final = "/var/run/secrets/kubernetes.io/serviceaccount"
"""Where Kubernetes clients read the service-account token, CA certificate and namespace."""

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
BACKEND_AUTH_ANNOTATION: Final = "raydask.io/backend-authentication"
"""Set to ``ray-token`` on an Ingress / Service in front of a Ray head with token authentication (for policies)."""
DASHBOARD_OPT_OUT_ANNOTATION: Final = "raydask.io/allow-unauthenticated-dashboard"
"""``"true"``: exposing this dashboard without authentication is accepted (``dashboard.allowUnauthenticated``)."""

NO_LIMITS_ANNOTATION: Final = "raydask.io/no-limits"
"""On a pod template: the ``<container>/<resource>`` limits the configuration removes on purpose (``limits: {cpu:
null}``), comma-separated; the policy pack accepts those."""


POD_SECURITY_ANNOTATION: Final = "raydask.io/pod-security"
"""On a pod template: ``baseline`` or ``privileged``, the Pod Security level the configuration lowered this pod to on
purpose (``podSecurity``); raydask's checks and the policy pack hold the pod to that level instead of restricted."""
POD_SECURITY_REASON_ANNOTATION: Final = "raydask.io/pod-security-reason"
"""On a pod template with :data:`POD_SECURITY_ANNOTATION`: why (``podSecurity.reason``), for reviewers."""


NOT_SECRET_ANNOTATION: Final = "raydask.io/not-secret"
"""On a workload's custom resource, its worker groups and ConfigMaps: the names its ``notSecret`` declares are not
secrets though they look like ones (comma-separated); the policy pack accepts their plaintext values."""


def reserved_annotation_error(key: str) -> str | None:
    """Why an annotation key may not be set directly (raydask sets it from another key), else None."""
    owners = {NO_LIMITS_ANNOTATION: "limits: {<resource>: null}", POD_SECURITY_ANNOTATION: "podSecurity",
              POD_SECURITY_REASON_ANNOTATION: "podSecurity", NOT_SECRET_ANNOTATION: "notSecret"}
    return f"is set by raydask from {owners[key]}: use that key" if key in owners else None


def no_limits_annotation(removed: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """The :data:`NO_LIMITS_ANNOTATION` for ``{container: [resource, ...]}`` (empty when nothing is removed)."""
    pairs = [f"{container}/{resource}" for container, resources in removed.items() for resource in sorted(resources)]
    return {NO_LIMITS_ANNOTATION: ",".join(pairs)} if pairs else {}


def no_limits(annotations: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(container, resource) pairs a pod template's annotations say are unlimited on purpose."""
    text = str(annotations.get(NO_LIMITS_ANNOTATION) or "")
    return {(c, r) for c, _, r in (p.strip().partition("/") for p in text.split(",")) if c and r}


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


def api_token_volume() -> dict[str, Any]:
    """The projected volume Kubernetes mounts when ``automountServiceAccountToken`` is on, to mount into one container only."""
    return {
        "name": API_TOKEN_VOLUME,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        },
    }


def api_token_mount() -> dict[str, Any]:
    """The read-only mount of :func:`api_token_volume` at the standard path."""
    return {"name": API_TOKEN_VOLUME, "mountPath": API_TOKEN_PATH, "readOnly": True}


def not_secret(annotations: Mapping[str, Any]) -> set[str]:
    """The names an object's :data:`NOT_SECRET_ANNOTATION` declares not secret."""
    return {n.strip() for n in str(annotations.get(NOT_SECRET_ANNOTATION) or "").split(",") if n.strip()}
