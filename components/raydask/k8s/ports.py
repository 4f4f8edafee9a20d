"""Every port number and port name raydask uses, as constants (the one place that owns them)."""

from __future__ import annotations

from typing import Final


class RayPorts:
    """Ray head and worker ports; names follow KubeRay's defaults so its head Service reuses them."""

    GCS: Final = 6379
    GCS_NAME: Final = "gcs-server"
    DASHBOARD: Final = 8265
    DASHBOARD_NAME: Final = "dashboard"
    CLIENT: Final = 10001
    CLIENT_NAME: Final = "client"
    SERVE: Final = 8000
    SERVE_NAME: Final = "serve"
    METRICS: Final = 8080
    METRICS_NAME: Final = "metrics"
    AUTOSCALER_METRICS: Final = 44217
    AUTOSCALER_METRICS_NAME: Final = "as-metrics"
    DASHBOARD_METRICS: Final = 44227
    DASHBOARD_METRICS_NAME: Final = "dash-metrics"

    @classmethod
    def head(cls, gcs_name: str = GCS_NAME, serve: int = SERVE) -> list[tuple[str, int]]:
        """(name, port) pairs declared on the head container: the GCS port under ``gcs_name`` (KubeRay's own name,
        ``gcs-server``, by default), Serve on ``serve`` (KubeRay reads the port named ``serve``)."""
        return [
            (gcs_name, cls.GCS),
            (cls.DASHBOARD_NAME, cls.DASHBOARD),
            (cls.CLIENT_NAME, cls.CLIENT),
            (cls.SERVE_NAME, serve),
            (cls.METRICS_NAME, cls.METRICS),
            (cls.AUTOSCALER_METRICS_NAME, cls.AUTOSCALER_METRICS),
            (cls.DASHBOARD_METRICS_NAME, cls.DASHBOARD_METRICS),
        ]

    @classmethod
    def worker(cls, serve: int = SERVE) -> list[tuple[str, int]]:
        """(name, port) pairs declared on worker containers: metrics, and Serve when it is not on 8000 (KubeRay's
        readiness probe of a RayService's workers checks the Serve proxy on the container's ``serve`` port, 8000
        without one)."""
        return [(cls.METRICS_NAME, cls.METRICS), *([(cls.SERVE_NAME, serve)] if serve != cls.SERVE else [])]

    @classmethod
    def scraped(cls) -> list[tuple[str, int]]:
        """Ports Prometheus scrapes: metrics on every pod, the other two on the head only."""
        return [
            (cls.METRICS_NAME, cls.METRICS),
            (cls.AUTOSCALER_METRICS_NAME, cls.AUTOSCALER_METRICS),
            (cls.DASHBOARD_METRICS_NAME, cls.DASHBOARD_METRICS),
        ]


class DaskPorts:
    """Dask scheduler and worker ports; names as the DaskCluster CRD requires (named strings) and as the Dask operator
    names them (``dask_kubernetes.operator``'s ``make_scheduler_spec`` / ``make_worker_spec``)."""

    COMM: Final = 8786
    COMM_NAME: Final = "tcp-comm"
    DASHBOARD: Final = 8787
    DASHBOARD_NAME: Final = "http-dashboard"
    WORKER_DASHBOARD: Final = 8788
    """A worker's dashboard and ``/metrics``: the Dask operator's and every Dask example's ``--dashboard-address 8788``,
    under the scheduler's port name (the operator chart's PodMonitor scrapes ``http-dashboard``)."""
    WORKER_COMM: Final = 8789
    WORKER_COMM_NAME: Final = "tcp-worker"
    WORKER_NANNY: Final = 8790
    WORKER_NANNY_NAME: Final = "tcp-nanny"

    @classmethod
    def scheduler(cls) -> list[tuple[str, int]]:
        """(name, port) pairs of the scheduler container and its Service (the operator's API uses both names)."""
        return [(cls.COMM_NAME, cls.COMM), (cls.DASHBOARD_NAME, cls.DASHBOARD)]

    @classmethod
    def worker(cls) -> list[tuple[str, int]]:
        """(name, port) pairs of a worker container: the dashboard (``/metrics``) as the operator declares it, then the
        worker and nanny ports raydask fixes (Dask picks random ones), which NetworkPolicies can name."""
        return [(cls.DASHBOARD_NAME, cls.WORKER_DASHBOARD), (cls.WORKER_COMM_NAME, cls.WORKER_COMM),
                (cls.WORKER_NANNY_NAME, cls.WORKER_NANNY)]

    @classmethod
    def scraped(cls) -> list[int]:
        """Ports Prometheus scrapes: the scheduler's and the workers' dashboards."""
        return [cls.DASHBOARD, cls.WORKER_DASHBOARD]


class KubernetesPorts:
    """Cluster services every pod may need: DNS and the API server (NetworkPolicy egress)."""

    DNS: Final = 53
    API_SERVER: Final = 443
    """The ``kubernetes`` Service port (what in-cluster clients dial)."""
    API_SERVER_ENDPOINT: Final = 6443
    """The API server's own port behind that Service (what NetworkPolicies see after the Service's DNAT)."""
