"""The objects a workload declares with itself (:mod:`raydask.spec.companions`)."""

from __future__ import annotations

from typing import Any

from raydask.builders.common import obj
from raydask.k8s import labels as lbl
from raydask.spec.companions import Companions

Manifest = dict[str, Any]


def companion_objects(spec: Companions, workload: str, namespace: str, app: str, labels: dict[str, str]) -> list[Manifest]:
    """The ConfigMaps of ``spec`` (a workload named ``workload`` of ``app``, ``ray`` or ``dask``), labelled like the
    workload's other objects."""
    return [obj("v1", "ConfigMap", f"{workload}-{cm.name}", namespace, lbl.standard(app, workload, "config", labels),
                data=dict(cm.data))
            for cm in spec.config_maps]
