"""The live tier's fixtures and marker, defined in :mod:`live` (and, for the real node's workloads, :mod:`pods`)."""

from live import chart_mirror, cluster, ingress_controller, pulumi, pytest_collection_modifyitems, tools, workdir
from pods import e2e_stack, node_host, pods_node

__all__ = ["chart_mirror", "cluster", "e2e_stack", "ingress_controller", "node_host", "pods_node", "pulumi",
           "pytest_collection_modifyitems", "tools", "workdir"]
