"""The objects a workload declares with itself (:mod:`raydask.spec.companions`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from raydask.builders.common import Manifest, obj
from raydask.builders.plan import Context
from raydask.errors import key_path
from raydask.k8s import labels as lbl
from raydask.spec.companions import Companions

RBAC_API = "rbac.authorization.k8s.io/v1"


def companion_objects(spec: Companions, workload: str, namespace: str, app: str, labels: dict[str, str],
                      secrets: Mapping[str, Any] | None = None) -> list[Manifest]:
    """The ConfigMaps, Secrets, ServiceAccounts, Roles and RoleBindings of ``spec`` (a workload named ``workload`` of
    ``app``, ``ray`` or ``dask``), labelled like the workload's other objects. ``secrets``: the values of the Pulumi
    secrets the Secrets read, by config key, passed through untouched (a value missing from it is left out)."""
    values = secrets or {}
    out = [obj("v1", "ConfigMap", f"{workload}-{cm.name}", namespace, lbl.standard(app, workload, "config", labels),
               data=dict(cm.data))
           for cm in spec.config_maps]
    out += [obj("v1", "Secret", f"{workload}-{s.name}", namespace, lbl.standard(app, workload, "secret", labels), type=s.type,
                stringData={key: values[ref] for key, ref in s.from_config.items() if ref in values})
            for s in spec.secrets]
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


def plan_companions(spec: Companions, ctx: Context, workload: str, namespace: str, app: str,
                    labels: dict[str, str]) -> list[Manifest]:
    """:func:`companion_objects` with the secret values of ``ctx``; ConfigError naming each secret it lacks."""
    ctx.refuse((), [f"{key_path(ctx.key, path)}: {message}" for path, message in spec.missing_secrets(ctx.secrets)])
    return companion_objects(spec, workload, namespace, app, labels, ctx.secrets)
