"""NetworkPolicy builders shared by Ray and Dask: isolate a cluster's pods, then allow exactly what the cluster needs.

:func:`network_policies` is the one entry point. It emits

* ``<name>``: selects every pod of the cluster, denies all ingress and egress except to and from the cluster's own pods
  (all ports: Ray and Dask pick ports at random), DNS, and the allowances that apply to every pod;
* ``<name>-<group>``: one more per pod group (e.g. ``head``) that has allowances of its own (NetworkPolicies add up).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from raydask.builders.common import Manifest, obj
from raydask.k8s import labels as lbl
from raydask.k8s.naming import network_policy_group
from raydask.k8s.ports import KubernetesPorts
from raydask.spec.security import NetworkPolicySpec

NETWORKING_API = "networking.k8s.io/v1"


@dataclass(frozen=True)
class Allow:
    """Ingress to ``ports`` of the cluster's pods (only the ``group``'s when set) from every pod of ``namespaces`` and
    from the networks ``cidrs``; with ``pods``, only from the pods it selects (in ``namespaces``, else the policy's own)."""

    ports: tuple[int, ...]
    namespaces: tuple[str, ...] = ()
    group: str | None = None
    protocol: str = "TCP"
    cidrs: tuple[str, ...] = ()
    pods: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Egress:
    """Egress from the cluster's pods (only the ``group``'s when set) to ``ports`` of ``cidr``, of ``namespaces``, or,
    with neither, of any destination. ``pods`` narrows it to the pods it selects: in ``namespaces``, in every namespace
    with ``all_namespaces``, else in the policy's own."""

    ports: tuple[int, ...]
    protocols: tuple[str, ...] = ("TCP",)
    cidr: str | None = None
    namespaces: tuple[str, ...] = ()
    group: str | None = None
    pods: tuple[tuple[str, str], ...] = ()
    all_namespaces: bool = False


def _ports(ports: Sequence[int], protocols: Sequence[str]) -> list[dict[str, Any]]:
    return [{"protocol": proto, "port": port} for port in dict.fromkeys(ports) for proto in protocols]


def _peers(namespaces: Sequence[str], pods: Sequence[tuple[str, str]], all_namespaces: bool = False) -> list[dict[str, Any]]:
    """Peers in ``namespaces`` (every pod, or only ``pods``); ``pods`` alone: in the policy's namespace (or all)."""
    pod_selector = {"podSelector": {"matchLabels": dict(pods)}} if pods else {}
    if namespaces:
        return [{"namespaceSelector": lbl.namespace_selector(ns), **pod_selector} for ns in dict.fromkeys(namespaces)]
    if all_namespaces:
        return [{"namespaceSelector": {}, **pod_selector}]
    return [pod_selector] if pods else []


def _ingress_rule(allow: Allow) -> dict[str, Any]:
    peers = _peers(allow.namespaces, allow.pods)
    peers += [{"ipBlock": {"cidr": cidr}} for cidr in dict.fromkeys(allow.cidrs)]
    return {"from": peers, "ports": _ports(allow.ports, (allow.protocol,))}


def _egress_rule(egress: Egress) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if egress.cidr:
        rule["to"] = [{"ipBlock": {"cidr": egress.cidr}}]
    elif egress.namespaces or egress.pods or egress.all_namespaces:
        rule["to"] = _peers(egress.namespaces, egress.pods, egress.all_namespaces)
    rule["ports"] = _ports(egress.ports, egress.protocols)
    return rule


def render(name: str, namespace: str, labels: dict[str, str], cluster_selector: dict[str, str],
           groups: Mapping[str, dict[str, str]], allows: Sequence[Allow], egresses: Sequence[Egress]) -> list[Manifest]:
    """The NetworkPolicies for explicit allowances (:func:`network_policies` derives them from a spec)."""
    used: list[str | None] = [a.group for a in allows] + [e.group for e in egresses]
    unknown = sorted({g for g in used if g is not None and g not in groups})
    if unknown:
        raise ValueError(f"allowances for unknown pod groups {unknown}; known: {sorted(groups)}")
    own = {"podSelector": {"matchLabels": dict(cluster_selector)}}
    base = obj(NETWORKING_API, "NetworkPolicy", name, namespace, labels, spec={
        "podSelector": {"matchLabels": dict(cluster_selector)},
        "policyTypes": ["Ingress", "Egress"],
        "ingress": [{"from": [own]}, *(_ingress_rule(a) for a in allows if a.group is None)],
        "egress": [{"to": [own]}, *(_egress_rule(e) for e in egresses if e.group is None)],
    })
    out = [base]
    for group, selector in groups.items():
        ingress = [_ingress_rule(a) for a in allows if a.group == group]
        egress = [_egress_rule(e) for e in egresses if e.group == group]
        if not ingress and not egress:
            continue
        spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(selector)},
                                "policyTypes": [t for t, rules in (("Ingress", ingress), ("Egress", egress)) if rules]}
        if ingress:
            spec["ingress"] = ingress
        if egress:
            spec["egress"] = egress
        out.append(obj(NETWORKING_API, "NetworkPolicy", network_policy_group(name, group), namespace, labels, spec=spec))
    return out


def network_policies(
    name: str,
    namespace: str,
    labels: dict[str, str],
    cluster_selector: dict[str, str],
    policy: NetworkPolicySpec,
    *,
    groups: Mapping[str, dict[str, str]] | None = None,
    client_ports: Sequence[int] = (),
    client_group: str | None = None,
    exposed: Sequence[tuple[int, str | None]] = (),
    metrics: tuple[str, Sequence[int]] | None = None,
    operator: tuple[str, Sequence[int], str | None] | None = None,
    api_server: Sequence[str | None] = (),
    ingress: Sequence[Allow] = (),
    egress: Sequence[Egress] = (),
) -> list[Manifest]:
    """NetworkPolicies isolating one cluster, from its ``policy`` spec and what the engine needs.

    ``cluster_selector`` selects every pod of the cluster, ``groups`` names pod subsets (``{"head": {...}}``) that the
    allowances below may target (None: every pod). Admitted in: ``client_ports`` (on ``client_group``) from
    ``policy.clientNamespaces``; each ``(port, group)`` of ``exposed`` (what an Ingress routes to) from
    ``policy.ingressControllerNamespace``; ``metrics = (prometheus namespace, ports)``; ``operator = (namespace, ports,
    group)``; ``ingress`` (e.g. a LoadBalancer's source ranges); ``policy.extraIngress``. Allowed out: DNS unless
    ``policy.allowDns`` is false; the API server (``policy.apiServerCidr``, TCP 443 and 6443) from each group in
    ``api_server``; ``egress`` (e.g. Redis); ``policy.extraEgress``.
    """
    groups = dict(groups or {})
    allows: list[Allow] = []
    if client_ports and policy.client_namespaces:
        allows.append(Allow(tuple(client_ports), tuple(policy.client_namespaces), client_group))
    for group in dict.fromkeys(g for _, g in exposed):
        allows.append(Allow(tuple(p for p, g in exposed if g == group), (policy.ingress_controller_namespace,), group))
    if metrics is not None and metrics[1]:
        allows.append(Allow(tuple(metrics[1]), (metrics[0],)))
    if operator is not None and operator[1]:
        allows.append(Allow(tuple(operator[1]), (operator[0],), operator[2]))
    allows += list(ingress)
    allows += [Allow(tuple(r.ports), tuple(r.namespaces), None, r.protocol) for r in policy.extra_ingress]
    egresses: list[Egress] = []
    if policy.allow_dns:
        egresses.append(Egress((KubernetesPorts.DNS,), ("UDP", "TCP"), namespaces=(policy.dns_namespace,)))
    for group in dict.fromkeys(api_server):
        egresses.append(Egress((KubernetesPorts.API_SERVER, KubernetesPorts.API_SERVER_ENDPOINT), cidr=policy.api_server_cidr,
                               group=group))
    egresses += list(egress)
    egresses += [Egress(tuple(r.ports), (r.protocol,), cidr=r.cidr) for r in policy.extra_egress]
    return render(name, namespace, labels, cluster_selector, groups, allows, egresses)
