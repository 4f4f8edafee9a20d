"""The versions raydask installs and runs by default (the defaults of the version keys; ``raydask --version`` reports
them without loading the models)."""

KUBERAY_VERSION = "1.7.0"
"""KubeRay operator chart and image (``raydask:kuberay.version``)."""
DASK_OPERATOR_VERSION = "2026.3.0"
"""The dask-kubernetes release whose chart, operator image and CRDs are installed (``raydask:daskOperator.version``)."""
DEFAULT_RAY_VERSION = "2.60.0"
"""Ray (``rayVersion``; images ``rayproject/ray:<rayVersion>``)."""
DASK_VERSION = "2026.8.0"
"""Dask the scheduler and workers run (``daskVersion``; ``ghcr.io/dask/dask:<version>``)."""
