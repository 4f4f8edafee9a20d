"""RayCluster specs: head, worker groups, autoscaling, exposure."""

from __future__ import annotations

from decimal import ROUND_CEILING
from typing import Annotated, Literal

from pydantic import Field, model_validator

from raydask.errors import rule
from raydask.k8s import images, quantities
from raydask.spec.base import ClusterName, Count, GroupName, IngressSpec, Label, PinnedImage, PodSettings, Quantity, Spec, WaitSpec
from raydask.spec.security import AuthSpec, GcsFaultToleranceSpec, NetworkPolicySpec, auth_problems, gcs_problems

RayVersion = Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
"""A Ray release such as ``2.60.0``."""
DEFAULT_RAY_VERSION = "2.60.0"
AUTOSCALER_V2_SINCE = (2, 47, 0)


def version_tuple(version: str) -> tuple[int, ...]:
    """``2.60.0`` -> (2, 60, 0)."""
    return tuple(int(p) for p in version.split("."))


class RayGroup(PodSettings):
    """Settings common to the head and worker groups."""

    ray_start_params: dict[str, str] = {}
    """Extra ``ray start`` parameters (values are strings); default none."""
    shm_fraction: Annotated[float, Field(gt=0, le=1)] = 0.3
    """Size of the memory-backed ``/dev/shm`` as a fraction of ``memory``; default 0.3 (Ray's object store share)."""

    @model_validator(mode="after")
    def _start_params_match_resources(self) -> RayGroup:
        # The autoscaler and the raylet trust num-cpus / num-gpus over the container: a mismatch over- or under-packs pods.
        cpus = int(quantities.cores(self.cpu_limit or self.cpu).to_integral_value(rounding=ROUND_CEILING))
        for key, have, what in (("num-cpus", cpus, "the CPU limit rounded up"), ("num-gpus", self.gpus, "gpus")):
            value = self.ray_start_params.get(key)
            if value is None:
                continue
            if not value.isdigit():
                raise rule(f"rayStartParams.{key}", f"must be a whole number, got '{value}'")
            if int(value) not in (0, have):
                raise rule(f"rayStartParams.{key}", f"'{value}' disagrees with {what} ({have}); leave it out (raydask derives it) "
                                                    "or set \"0\" to keep tasks off these pods")
        return self


class HeadSpec(RayGroup):
    """The Ray head pod."""

    schedulable: bool = True
    """Run tasks on the head; default true. Set false on large clusters (emits ``num-cpus: "0"``)."""
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    """Type of the head Service KubeRay creates; default ``ClusterIP``."""


class WorkerGroupSpec(RayGroup):
    """A named group of Ray worker pods."""

    name: GroupName
    """Group name (DNS-1035 label of at most 56 characters, unique in the cluster); required."""
    replicas: Count = 1
    """Replica count; default 1. In an autoscaled cluster the autoscaler owns it (the group starts at ``minReplicas``
    and raydask never applies it): leave it out or equal to ``minReplicas``."""
    min_replicas: Count | None = None
    """Autoscaler lower bound; default ``replicas``."""
    max_replicas: Count | None = None
    """Autoscaler upper bound; default ``replicas``."""
    idle_timeout_seconds: Count | None = None
    """Per-group idle timeout overriding the cluster's; default the cluster's."""

    @property
    def min(self) -> int:
        return self.replicas if self.min_replicas is None else self.min_replicas

    @property
    def max(self) -> int:
        return self.replicas if self.max_replicas is None else self.max_replicas

    @model_validator(mode="after")
    def _bounds(self) -> WorkerGroupSpec:
        if self.min > self.max:
            raise rule("maxReplicas", f"must be ≥ minReplicas ({self.max} < {self.min})")
        if self.replicas < self.min:
            raise rule("replicas", f"must be ≥ minReplicas ({self.replicas} < {self.min})")
        if self.replicas > self.max:
            raise rule("replicas", f"must be ≤ maxReplicas ({self.replicas} > {self.max})")
        return self


class AutoscalingSpec(Spec):
    """KubeRay in-tree autoscaling (``enableInTreeAutoscaling`` + ``autoscalerOptions``)."""

    enabled: bool = True
    """Run the Ray autoscaler sidecar; default true when the key is present."""
    idle_timeout_seconds: Count = 60
    """Seconds an idle worker lives before scale-down; default 60."""
    upscaling_mode: Literal["Default", "Aggressive", "Conservative"] = "Default"
    """Upscaling speed; default ``Default``."""
    version: Literal["v1", "v2"] | None = None
    """Autoscaler version; default ``v2`` for Ray ≥ 2.47, else ``v1``."""
    cpu: Quantity = "500m"
    """Autoscaler container CPU request and limit; default ``500m``."""
    memory: Quantity = "512Mi"
    """Autoscaler container memory request and limit; default ``512Mi``."""


class DashboardSpec(Spec):
    """Access to the Ray dashboard and job API (port 8265)."""

    ingress: IngressSpec | None = None
    """Ingress for the dashboard; default none (use ``kubectl port-forward``)."""
    allow_unauthenticated: bool = False
    """Allow exposing the dashboard, job API and Ray client (Ingress without TLS or authentication, external Service,
    head ``serviceType``) with no authentication; default false."""


class ServeSpec(Spec):
    """Ray Serve HTTP proxy (port 8000)."""

    ingress: IngressSpec | None = None
    """Ingress for Serve; default none."""


class ExternalServiceSpec(Spec):
    """An extra Service in front of the head, for access from outside the cluster."""

    type: Literal["LoadBalancer", "NodePort", "ClusterIP"] = "LoadBalancer"
    """Service type; default ``LoadBalancer``."""
    ports: list[Literal["client", "dashboard", "serve"]] = ["client", "dashboard"]
    """Head ports to expose; default client (10001) and dashboard (8265)."""
    annotations: dict[str, str] = {}
    """Service annotations (cloud load-balancer settings); default none."""
    load_balancer_source_ranges: list[str] = []
    """CIDRs allowed to reach a LoadBalancer; default unrestricted."""


class RayClusterConfig(Spec):
    """What every Ray cluster is made of: a RayCluster's settings, and the cluster a RayJob or RayService creates."""

    ray_version: RayVersion = DEFAULT_RAY_VERSION
    """Ray version; default ``2.60.0``. Images default to ``rayproject/ray:<rayVersion>``."""
    image: PinnedImage | None = None
    """Image for all groups that do not set their own; default ``rayproject/ray:<rayVersion>`` (``-gpu`` for GPU groups)."""
    allow_image_version_mismatch: bool = False
    """Accept image tags that do not carry ``rayVersion``; default false."""
    head: HeadSpec = HeadSpec()
    """The head pod; default 1 CPU, 2Gi."""
    worker_groups: list[WorkerGroupSpec] = []
    """Worker groups; default none (head only)."""
    autoscaling: AutoscalingSpec | None = None
    """In-tree autoscaling; default off."""
    service_account: Label | None = None
    """Service account for all pods unless a group sets one; default the namespace default."""
    labels: dict[str, str] = {}
    """Labels on the cluster's pods (and on a RayCluster itself); default none."""
    monitoring: bool = True
    """Create the metrics Service and ServiceMonitor when the stack has monitoring; default true."""
    network_policy: NetworkPolicySpec | None = None
    """NetworkPolicies isolating the cluster's pods (a RayJob's submitter too); default the stack's
    ``raydask:networkPolicy`` (keys set here win), none without it."""
    auth: AuthSpec | None = None
    """Ray token authentication (``authOptions``); default the stack's ``raydask:rayAuth``, off without it."""

    @model_validator(mode="after")
    def _config_rules(self) -> RayClusterConfig:
        problems = [(f"auth.{p}".rstrip("."), m) for p, m in auth_problems(self.auth, self.ray_version, None)]
        if problems:
            raise rule(*problems[0])
        names = [g.name for g in self.worker_groups]
        for i, n in enumerate(names):
            if names.index(n) != i:
                raise rule(f"workerGroups.{i}.name", f"duplicate worker group name '{n}'")
        if self.autoscaling and self.autoscaling.enabled:
            for i, g in enumerate(self.worker_groups):
                if "replicas" in g.model_fields_set and g.replicas != g.min:
                    raise rule(f"workerGroups.{i}.replicas", f"the Ray autoscaler owns the replica count of an autoscaled group "
                                                             f"(it starts at minReplicas, {g.min}); remove replicas, or set "
                                                             f"minReplicas: {g.replicas} to start with {g.replicas}")
        if not self.allow_image_version_mismatch:
            for where, img in self._images():
                try:
                    images.check_version_tag(img, self.ray_version, "rayVersion")
                except ValueError as exc:
                    raise rule(where, f"{exc} (allowImageVersionMismatch: true)") from None
        return self

    def _images(self) -> list[tuple[str, str]]:
        found = [("image", self.image)] if self.image else []
        found += [("head.image", self.head.image)] if self.head.image else []
        found += [(f"workerGroups.{i}.image", g.image) for i, g in enumerate(self.worker_groups) if g.image]
        return [(w, i) for w, i in found if i]

    def image_for(self, group: RayGroup) -> str:
        """The image a group runs."""
        if group.image:
            return group.image
        if self.image:
            return self.image
        return f"rayproject/ray:{self.ray_version}{'-gpu' if group.gpus else ''}"

    @property
    def autoscaler_version(self) -> str:
        if self.autoscaling and self.autoscaling.version:
            return self.autoscaling.version
        return "v2" if version_tuple(self.ray_version) >= AUTOSCALER_V2_SINCE else "v1"


class RayClusterSpec(RayClusterConfig):
    """A Ray cluster (``ray.io/v1`` RayCluster) with its Services, Ingresses and monitors."""

    name: ClusterName
    """Cluster name (DNS-1035, ≤ 53 characters); required."""
    namespace: Label | None = None
    """Namespace; default the stack's ``raydask:namespace``."""
    dashboard: DashboardSpec = DashboardSpec()
    """Dashboard exposure; default in-cluster only."""
    serve: ServeSpec = ServeSpec()
    """Serve exposure; default in-cluster only."""
    external_service: ExternalServiceSpec | None = None
    """Extra Service for access from outside; default none (KubeRay's head Service is reused)."""
    annotations: dict[str, str] = {}
    """Annotations on the RayCluster; default none."""
    gcs_fault_tolerance: GcsFaultToleranceSpec | None = None
    """GCS fault tolerance with an external Redis (``gcsFaultToleranceOptions``); default off."""
    wait: WaitSpec = WaitSpec()
    """Wait in ``pulumi up`` until KubeRay reports the cluster ready (``status.state: ready``); default on, 600 s."""

    @model_validator(mode="after")
    def _rules(self) -> RayClusterSpec:
        problems = gcs_problems(self)
        if problems:
            raise rule(*problems[0])
        return self


__all__ = [
    "AutoscalingSpec",
    "DashboardSpec",
    "ExternalServiceSpec",
    "HeadSpec",
    "RayClusterConfig",
    "RayClusterSpec",
    "RayGroup",
    "ServeSpec",
    "WorkerGroupSpec",
]
