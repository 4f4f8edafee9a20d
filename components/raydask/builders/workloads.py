"""One build call per workload component: the stack's defaults applied, the rules checked, every object built.

Each ``plan_*`` function takes a parsed spec and its :class:`~raydask.builders.plan.Context` and returns the
:class:`~raydask.builders.plan.Plan` its component registers; bad input raises ConfigError naming the key.
"""

from __future__ import annotations

from typing import Any, TypeVar

from raydask.builders import dask_security, ray_security
from raydask.builders.common import Manifest
from raydask.builders.companions import plan_companions
from raydask.builders.dask import DaskEndpoints, DaskJobEndpoints, build_dask_cluster, build_dask_job
from raydask.builders.overrides import built_problems, dask_groups, dask_job_groups, ray_groups, ray_job_groups
from raydask.builders.plan import Context, Plan
from raydask.builders.ray import RayEndpoints, build_ray_cluster, readiness_patch, restart_fields, warm_start_patch
from raydask.builders.ray_cron_job import RayCronJobEndpoints, build_ray_cron_job
from raydask.builders.ray_job import RERUN_ON_CHANGES, RayJobEndpoints, build_ray_job, sidecar_submitter
from raydask.builders.ray_service import RayServiceEndpoints, build_ray_service
from raydask.k8s.security import NOT_SECRET_ANNOTATION
from raydask.spec.dask import DaskClusterSpec, DaskJobSpec
from raydask.spec.ray import RayClusterSpec
from raydask.spec.ray_cron_job import RayCronJobSpec
from raydask.spec.ray_workloads import RayJobSpec, RayServiceSpec
from raydask.spec.security import effective_network_policy, ingress_problems, redis_password_missing

E = TypeVar("E")

NOT_SECRET_KINDS = ("RayCluster", "RayJob", "RayCronJob", "RayService", "DaskCluster", "DaskJob", "DaskWorkerGroup", "ConfigMap")
"""The objects of a workload that carry its ``notSecret`` names for the policy pack."""


def _not_secret(plan: Plan[E], names: list[str]) -> Plan[E]:
    """``plan`` with the workload's ``notSecret`` names on the objects that hold its plaintext values."""
    if names:
        for o in plan.objects():
            if o.get("kind") in NOT_SECRET_KINDS:
                o.setdefault("metadata", {}).setdefault("annotations", {})[NOT_SECRET_ANNOTATION] = ",".join(names)
    return plan


def plan_ray_cluster(spec: RayClusterSpec, ctx: Context, redis_password: Any = None) -> Plan[RayEndpoints]:
    """A RayCluster with its Redis password Secret (``redis_password`` is passed through untouched: a Pulumi secret),
    NetworkPolicies, Services, Ingresses and monitors; replaced when its Ray version or autoscaling changes
    (:data:`~raydask.builders.ray.RESTART_FIELDS`)."""
    spec = ray_security.resolve(spec, ctx.security)
    ns = ctx.namespace_for(spec.namespace)
    needs_password = ray_security.needs_password(spec)
    ctx.refuse(ray_security.problems(spec, ctx.security),
               [redis_password_missing(ctx.key)] if needs_password and redis_password is None else [])
    built = build_ray_cluster(spec, ns, ctx.monitoring)
    assert built.endpoints is not None
    ctx.refuse(built_problems(ray_groups(spec, built.cluster["spec"])))
    secret = [ray_security.redis_password_secret(spec, ns, redis_password)] if needs_password else []
    policies = ray_security.ray_network_policies(spec, ns, ctx.monitoring, ctx.security.kuberay_namespace)
    ready = readiness_patch(spec, ns)
    warm = warm_start_patch(spec, ns)
    companions = plan_companions(spec, ctx, spec.name, ns, "ray", spec.labels)
    plan = Plan(built.cluster, built.endpoints, before=(*secret, *companions, *policies),
                after=(*built.services, *built.ingresses, *built.monitors), patches=(ready,) if ready else (),
                on_create=(warm,) if warm else (), replace_on_changes=restart_fields(spec))
    return _not_secret(plan, spec.not_secret)


def on_stack_cluster(job: RayJobSpec, cluster: RayClusterSpec | None) -> RayJobSpec:
    """A job on ``cluster`` (the RayCluster its ``clusterSelector`` names, declared in the same stack) submits with that
    cluster's head image unless the submitter sets one: the Ray version of ``ray job submit`` matches the cluster's."""
    if cluster is None or job.cluster_selector != cluster.name or job.submitter.image or job.submission_mode != "K8sJobMode":
        return job
    submitter = job.submitter.model_copy(update={"image": cluster.image_for(cluster.head)})
    return job.model_copy(update={"submitter": submitter})


S = TypeVar("S", bound=RayJobSpec)


def _resolved_job(spec: S, ctx: Context) -> S:
    if spec.cluster is not None:
        spec = spec.model_copy(update={"cluster": ray_security.resolve_workload(spec.cluster, ctx.security)})
    ctx.refuse(ray_security.workload_problems(spec.cluster))
    return spec


def _job_checks(spec: RayJobSpec, ctx: Context, ns: str, job_spec: Manifest) -> tuple[Manifest, ...]:
    """Refuse the pods of a RayJob (``job_spec``: its ``spec``) that break their overrides' rules; its NetworkPolicies
    and companions."""
    sidecar = None
    if spec.submission_mode == "SidecarMode" and spec.cluster is not None:
        sidecar = sidecar_submitter(spec.cluster.to_cluster(spec.name, ns).image_for(spec.cluster.head))
    ctx.refuse(built_problems(ray_job_groups(spec, {"spec": job_spec}, sidecar)))
    policies = ray_security.job_network_policies(spec, ns, ctx.monitoring, ctx.security)
    return (*plan_companions(spec, ctx, spec.name, ns, "ray", spec.labels), *policies)


def plan_ray_job(spec: RayJobSpec, ctx: Context) -> Plan[RayJobEndpoints]:
    """A RayJob with its NetworkPolicies and the monitors of the cluster it creates; any change but ``suspend``
    replaces it (a RayJob runs once)."""
    spec = _resolved_job(spec, ctx)
    ns = ctx.namespace_for(spec.namespace)
    built = build_ray_job(spec, ns, ctx.monitoring)
    before = _job_checks(spec, ctx, ns, built.job["spec"])
    plan = Plan(built.job, built.endpoints, before=before, after=(*built.services, *built.monitors),
                replace_on_changes=tuple(RERUN_ON_CHANGES), create_before_delete=spec.generate_name)
    return _not_secret(plan, spec.not_secret)


def plan_ray_cron_job(spec: RayCronJobSpec, ctx: Context) -> Plan[RayCronJobEndpoints]:
    """A RayCronJob with the NetworkPolicies and monitors of its runs (they select the runs' pods by the job's labels);
    a change is applied in place (the next runs use it)."""
    spec = _resolved_job(spec, ctx)
    ns = ctx.namespace_for(spec.namespace)
    built = build_ray_cron_job(spec, ns, ctx.monitoring)
    before = _job_checks(spec, ctx, ns, built.cron_job["spec"]["jobTemplate"])
    plan = Plan(built.cron_job, built.endpoints, before=before, after=(*built.services, *built.monitors))
    return _not_secret(plan, spec.not_secret)


def plan_ray_service(spec: RayServiceSpec, ctx: Context, redis_password: Any = None) -> Plan[RayServiceEndpoints]:
    """A RayService with its Redis password Secret (for its cluster's ``gcsFaultTolerance``), NetworkPolicies, Serve
    Ingress and monitors."""
    spec = spec.model_copy(update={"cluster": ray_security.resolve_workload(spec.cluster, ctx.security)})
    ns = ctx.namespace_for(spec.namespace)
    cluster = spec.cluster.to_cluster(spec.name, ns)
    needs_password = ray_security.needs_password(cluster)
    exposure = ingress_problems(spec.ingress, "ingress", require_tls=ctx.security.require_tls) if spec.ingress else []
    ctx.refuse([*ray_security.workload_problems(spec.cluster), *exposure],
               [redis_password_missing(ctx.key)] if needs_password and redis_password is None else [])
    built = build_ray_service(spec, ns, ctx.monitoring)
    assert built.endpoints is not None
    ctx.refuse(built_problems(ray_groups(spec.cluster, built.service["spec"]["rayClusterConfig"], ("cluster",))))
    policies = ray_security.service_network_policies(spec, ns, ctx.monitoring, ctx.security)
    companions = plan_companions(spec, ctx, spec.name, ns, "ray", spec.labels)
    secret = [ray_security.redis_password_secret(cluster, ns, redis_password)] if needs_password else []
    plan = Plan(built.service, built.endpoints, before=(*secret, *companions, *policies),
                after=(*built.services, *built.ingresses, *built.monitors))
    return _not_secret(plan, spec.not_secret)


def plan_dask_cluster(spec: DaskClusterSpec, ctx: Context) -> Plan[DaskEndpoints]:
    """A DaskCluster with its NetworkPolicies, worker groups, autoscaler and dashboard Ingress."""
    spec = dask_security.resolve(spec, ctx.security)
    ns = ctx.namespace_for(spec.namespace)
    ctx.refuse(dask_security.problems(spec, ctx.security))
    built = build_dask_cluster(spec, ns)
    assert built.endpoints is not None
    ctx.refuse(built_problems(dask_groups(spec, built.cluster, built.worker_groups)))
    policies = dask_security.dask_network_policies(spec, ns, ctx.monitoring, ctx.security.dask_operator_namespace)
    companions = plan_companions(spec, ctx, spec.name, ns, "dask", spec.labels)
    plan = Plan(built.cluster, built.endpoints, before=(*companions, *policies),
                after=(*built.worker_groups, *built.autoscalers, *built.ingresses),
                patches=(built.readiness,) if built.readiness else ())
    return _not_secret(plan, spec.not_secret)


def plan_dask_job(spec: DaskJobSpec, ctx: Context) -> Plan[DaskJobEndpoints]:
    """A DaskJob with the NetworkPolicies of its cluster and runner; any change but its labels and annotations replaces
    it (a DaskJob runs once)."""
    spec = spec.model_copy(update={"network_policy": effective_network_policy(ctx.security.network_policy, spec.network_policy)})
    ns = ctx.namespace_for(spec.namespace)
    cluster = spec.to_cluster(ns)
    built = build_dask_job(spec, ns)
    ctx.refuse(built_problems(dask_job_groups(spec, built.job)))
    policies = dask_security.dask_network_policies(cluster, ns, ctx.monitoring, ctx.security.dask_operator_namespace)
    companions = plan_companions(spec, ctx, spec.name, ns, "dask", spec.labels)
    plan = Plan(built.job, built.endpoints, before=(*companions, *policies), replace_on_changes=("spec",))
    return _not_secret(plan, spec.not_secret)
