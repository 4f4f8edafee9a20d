"""Your own Pulumi program using raydask's components with typed Python specs (no stack YAML needed)."""

import pulumi

from raydask import KubeRayOperator, MonitoringSpec, RayCluster
from raydask.spec import AutoscalingSpec, HeadSpec, IngressSpec, RayClusterSpec, Toleration, WorkerGroupSpec

monitoring = MonitoringSpec(prometheus_release="prometheus")

operator = KubeRayOperator(
    "kuberay",
    # The chart (and the CRDs raydask applies from it) comes from the public repository through the chart cache;
    # air-gapped: `helm pull kuberay-operator --repo https://ray-project.github.io/kuberay-helm/ --version 1.7.0 --untar
    # --untardir vendor` and add "chart": {"path": "vendor/kuberay-operator"}.
    {"version": "1.7.0", "watchNamespaces": ["research"]},
    namespace="research",
    monitoring=monitoring,
)

spec = RayClusterSpec(
    name="research",
    ray_version="2.60.0",
    head=HeadSpec(cpu="2", memory="8Gi", schedulable=False),
    worker_groups=[
        WorkerGroupSpec(name="cpu", replicas=1, min_replicas=1, max_replicas=8, cpu="4", memory="16Gi"),
        WorkerGroupSpec(
            name="gpu", replicas=0, min_replicas=0, max_replicas=2, cpu="8", memory="32Gi", gpus=1,
            tolerations=[Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")],
        ),
    ],
    autoscaling=AutoscalingSpec(idle_timeout_seconds=120),
    dashboard={"ingress": IngressSpec(host="ray.research.example.com", tls_secret="ray-tls", class_name="nginx",
                                      annotations={"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"})},
)

cluster = RayCluster("research", spec, namespace="research", monitoring=monitoring,
                     opts=pulumi.ResourceOptions(depends_on=[operator]))

pulumi.export("clientAddress", cluster.client_address)
pulumi.export("dashboard", cluster.dashboard_ingress_url)
