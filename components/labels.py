"""Labels and selectors: the one place that decides which labels objects and pods carry."""

from __future__ import annotations

PART_OF = "raydask"
MANAGED_BY = "pulumi"
COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"
NAME = "app.kubernetes.io/name"
RAY_CLUSTER = "ray.io/cluster"
PROMETHEUS_RELEASE = "release"


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


def prometheus(release: str | None) -> dict[str, str]:
    """The label a kube-prometheus-stack Prometheus selects monitors by."""
    return {PROMETHEUS_RELEASE: release} if release else {}
