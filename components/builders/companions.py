"""The objects a workload declares with itself (:mod:`raydask.spec.companions`)."""

from __future__ import annotations

from raydask.builders.common import Manifest, obj
from raydask.k8s import labels as lbl
from raydask.spec.companions import Companions

RBAC_API = "rbac.authorization.k8s.io/v1"


def companion_objects(spec: Companions, workload: str, namespace: str, app: str, labels: dict[str, str]) -> list[Manifest]:
    """The ConfigMaps, ServiceAccounts, Roles and RoleBindings of ``spec`` (a workload named ``workload`` of ``app``,
    ``ray`` or ``dask``), labelled like the workload's other objects."""
    out = [obj("v1", "ConfigMap", f"{workload}-{cm.name}", namespace, lbl.standard(app, workload, "config", labels),
               data=dict(cm.data))
           for cm in spec.config_maps]
    for sa in spec.service_accounts:
        name, meta_labels = f"{workload}-{sa.name}", lbl.standard(app, workload, "service-account", labels)
        out.append(obj("v1", "ServiceAccount", name, namespace, meta_labels, sa.annotations or None))
        if sa.rules:
            rules = [{"apiGroups": list(r.api_groups), "resources": list(r.resources), "verbs": list(r.verbs),
                      **({"resourceNames": list(r.resource_names)} if r.resource_names else {})} for r in sa.rules]
            out.append(obj(RBAC_API, "Role", name, namespace, meta_labels, rules=rules))
            out.append(obj(RBAC_API, "RoleBinding", name, namespace, meta_labels,
                           roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                           subjects=[{"kind": "ServiceAccount", "name": name, "namespace": namespace}]))
    return out
