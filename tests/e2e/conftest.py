"""The live tier's fixtures and marker, defined in :mod:`live`."""

from live import chart_mirror, cluster, ingress_controller, pulumi, pytest_collection_modifyitems, tools, workdir

__all__ = ["chart_mirror", "cluster", "ingress_controller", "pulumi", "pytest_collection_modifyitems", "tools", "workdir"]
