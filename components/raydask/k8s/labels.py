"""Labels and selectors: the one place that decides which labels objects and pods carry."""

from __future__ import annotations

PART_OF = "raydask"
MANAGED_BY = "pulumi"
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
NAME = "app.kubernetes.io/name"
RAY_CLUSTER = "ray.io/cluster"
RAY_NODE_TYPE = "ray.io/node-type"
"""Set by KubeRay on Ray pods: ``head`` or ``worker``."""
DASK_CLUSTER = "dask.org/cluster-name"
"""Set by the Dask operator on every object of a DaskCluster."""
DASK_COMPONENT = "dask.org/component"
"""``scheduler`` / ``worker`` on the pods and the scheduler Service the Dask operator creates."""
DASK_WORKER_GROUP = "dask.org/workergroup-name"
"""The DaskWorkerGroup name, on worker pods."""
PROMETHEUS_RELEASE = "release"
NAMESPACE_NAME = "kubernetes.io/metadata.name"
"""Label the API server puts on every Namespace (its name): NetworkPolicies select namespaces by it."""


def standard(app: str, instance: str, component: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Recommended labels for an object of ``app`` (ray, dask, kuberay-operator) belonging to ``instance``."""
    labels = {
        NAME: app,
        INSTANCE: instance,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    if component:
        labels[COMPONENT] = component
    return {**(extra or {}), **labels}


def selector(app: str, instance: str, component: str | None = None) -> dict[str, str]:
    """Selector matching pods labelled by :func:`pod`."""
    sel = {NAME: app, INSTANCE: instance}
    if component:
        sel[COMPONENT] = component
    return sel


def pod(app: str, instance: str, component: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Labels for a pod template; user labels first so ours win."""
    return {**(extra or {}), **selector(app, instance, component), "app.kubernetes.io/part-of": PART_OF}


def dask_scheduler(cluster: str) -> dict[str, str]:
    """Selector of a DaskCluster's scheduler pod (the labels the Dask operator sets)."""
    return {DASK_CLUSTER: cluster, DASK_COMPONENT: "scheduler"}


def prometheus(release: str | None) -> dict[str, str]:
    """The label a kube-prometheus-stack Prometheus selects monitors by."""
    return {PROMETHEUS_RELEASE: release} if release else {}


def namespace_selector(namespace: str) -> dict[str, dict[str, str]]:
    """A NetworkPolicy ``namespaceSelector`` matching exactly ``namespace``."""
    return {"matchLabels": {NAMESPACE_NAME: namespace}}
