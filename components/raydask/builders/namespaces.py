"""The Namespaces a stack creates, each labelled with the Pod Security level it enforces."""

from __future__ import annotations

from raydask.builders.common import Manifest, obj
from raydask.k8s import labels as lbl
from raydask.spec.stack import StackSpec


def pod_security_labels(level: str) -> dict[str, str]:
    """A namespace's Pod Security labels: ``enforce`` at ``level``; below restricted, ``warn`` and ``audit`` stay
    restricted so every pod using the exception is still reported."""
    relaxed = {"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted"}
    return {"pod-security.kubernetes.io/enforce": level, **(relaxed if level != "restricted" else {})}


def namespaces(spec: StackSpec) -> list[Manifest]:
    """Every namespace the stack puts objects in, first use first (none with ``createNamespace: false``): enforcing Pod
    Security "restricted", or the level a workload's explicit ``podSecurity`` exception there asks for."""
    if not spec.create_namespace:
        return []
    return [obj("v1", "Namespace", ns, None, {**lbl.standard("raydask", ns, "namespace"),
                                              **pod_security_labels(spec.pod_security(ns))})
            for ns in spec.namespaces()]
