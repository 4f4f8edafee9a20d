"""The scheduler Service's settings beyond its type (``scheduler.servicePatch``): merged after raydask's, checked against
the ServiceSpec the DaskCluster CRD embeds, validated with the Dask operator's expansion, refused where it would
override raydask or expose the scheduler past ``serviceType``'s rules."""

from __future__ import annotations

from typing import Any

import pytest
from test_properties import assert_valid, build

from raydask.errors import ConfigError

PATCH = {"loadBalancerSourceRanges": ["10.0.0.0/8"], "externalTrafficPolicy": "Local",
         "ports": [{"name": "metrics", "port": 9000, "targetPort": "http-dashboard"}]}


def values(scheduler: dict[str, Any]) -> dict[str, Any]:
    return {"namespace": "ml", "daskClusters": [{"name": "etl", "scheduler": scheduler,
                                                  "dashboard": {"allowUnauthenticated": True}}]}


def test_merged_after_raydask_and_valid() -> None:
    objs = build(values({"serviceType": "LoadBalancer", "servicePatch": PATCH}))
    assert_valid(objs, "1.31")
    service = next(o for o in objs if o["kind"] == "DaskCluster")["spec"]["scheduler"]["service"]
    assert service["type"] == "LoadBalancer" and service["externalTrafficPolicy"] == "Local"
    assert service["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert [p["name"] for p in service["ports"]] == ["tcp-comm", "http-dashboard", "metrics"]
    assert service["selector"] == {"dask.org/cluster-name": "etl", "dask.org/component": "scheduler"}


@pytest.mark.parametrize(("patch", "message"), [
    ({"type": "NodePort"}, "servicePatch.type: set it with serviceType (its exposure rules apply)"),
    ({"selector": {"app": "x"}}, "servicePatch.selector: raydask selects the scheduler pod"),
    ({"externalIPs": ["192.0.2.10"]}, "servicePatch.externalIPs: it exposes the scheduler outside the cluster past "
                                      "serviceType's exposure rules: use serviceType"),
    ({"ports": [{"name": "tcp-comm", "port": 1}]}, "servicePatch.ports[0].name: 'tcp-comm' is raydask's port: add ports of "
                                                   "other names"),
    ({"ports": [{"port": 9000}]}, "servicePatch.ports[0]: a port needs a name (ports merge by name)"),
    ({"trafficDistribution": "PreferClose"}, "servicePatch.trafficDistribution: unknown key: not in the Kubernetes 1.21 "
                                             "ServiceSpec the Dask CRDs embed: the API server would silently drop it"),
])
def test_refused(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build(values({"servicePatch": patch}))
    assert exc.value.problems == [f"raydask:daskClusters[0].scheduler.{message}"]
