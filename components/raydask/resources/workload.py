"""What every workload component (RayCluster, RayJob, RayService, DaskCluster) does the same way: parse its spec,
make one plan, register it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar, cast

import pulumi

from raydask.builders.plan import Context, Plan
from raydask.resources.registration import CustomObject, register_plan
from raydask.spec.base import MonitoringSpec, Spec, parse_spec
from raydask.spec.security import SecurityDefaults

S = TypeVar("S", bound=Spec)
E = TypeVar("E")


class WorkloadComponent(pulumi.ComponentResource, Generic[S, E]):
    """Base of the workload components: ``spec`` (a model or its config dict) is parsed, planned by :meth:`plan` and
    registered; the subclass publishes its outputs in :meth:`publish`.

    ``namespace`` is the default when the spec sets none; ``monitoring`` the stack's Prometheus settings; ``security``
    the stack's defaults (``networkPolicy``, ``rayAuth``, ``requireTls``, the operators' namespaces); ``secret_values``
    the values the spec's ``secrets`` read, by config key (Pulumi secrets: they only ever reach those Secrets); ``key``
    the config key errors name (default ``<Type>(<name>)``); ``main_depends_on`` what the main custom resource alone
    waits for (and is deleted before): the operators that reconcile it, the cluster a job runs on. ``opts.depends_on``
    gates every object; the Secrets, NetworkPolicies and Services wait for the operators only when put there.
    """

    TYPE: ClassVar[str]
    SPEC: ClassVar[type[Spec]]

    endpoints: E
    """Addresses as plain values, known before anything is created."""
    resource: CustomObject
    """The main custom resource (RayCluster, RayJob, RayService, DaskCluster), with its live ``status``."""
    namespace: pulumi.Output[str]
    """The namespace the workload is in."""
    status: pulumi.Output[dict[str, Any] | None]
    """The main custom resource's status as read after ``pulumi up`` waited for it (a RayCluster's from the patch that
    waits until KubeRay reports it ready), or as ``pulumi refresh`` last read it."""

    def __init__(
        self,
        name: str,
        spec: S | dict[str, Any],
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        security: SecurityDefaults | None = None,
        secret_values: Mapping[str, pulumi.Input[str]] | None = None,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
        main_depends_on: Sequence[pulumi.Resource] = (),
    ) -> None:
        super().__init__(self.TYPE, name, None, opts)
        secrets = {k: pulumi.Output.secret(v) for k, v in (secret_values or {}).items()}
        ctx = Context(key or f"{type(self).__name__}({name})", namespace, monitoring, security or SecurityDefaults(), secrets)
        parsed = cast(S, parse_spec(self.SPEC, spec, ctx.key))
        plan = self.plan(parsed, ctx)
        registered = register_plan(self, opts, name, plan, main_depends_on)
        assert isinstance(registered.main, CustomObject)
        self.resource = registered.main
        self.endpoints = plan.endpoints
        self.namespace = pulumi.Output.from_input(plan.main["metadata"]["namespace"])
        main = (plan.main["kind"], plan.main["metadata"]["name"])
        waited = [r for r, m in zip(registered.patches, plan.patches, strict=True)
                  if isinstance(r, CustomObject) and (m["kind"], m["metadata"]["name"]) == main]
        self.status = (waited[-1] if waited else self.resource).status  # not a registered output: unknown in a preview
        self.register_outputs({"namespace": self.namespace, **self.publish(parsed)})

    def plan(self, spec: S, ctx: Context) -> Plan[E]:
        """The one build call: every object this component declares."""
        raise NotImplementedError

    def publish(self, spec: S) -> dict[str, pulumi.Output[Any]]:
        """Set the component's Output attributes; returns them by output name."""
        raise NotImplementedError

    def once_registered(self, value: Any) -> pulumi.Output[Any]:
        """``value`` as an Output that resolves once the main resource is registered (depend on it to wait for that)."""
        return self.resource.urn.apply(lambda _: value)


class RedisPasswordComponent(WorkloadComponent[S, E]):
    """A workload whose Ray cluster may keep its state in an external Redis (``gcsFaultTolerance``): ``redis_password``
    is that Redis's password, a Pulumi secret that only ever reaches the Secret raydask creates for it."""

    def __init__(
        self,
        name: str,
        spec: S | dict[str, Any],
        *,
        namespace: str | None = None,
        monitoring: MonitoringSpec | None = None,
        security: SecurityDefaults | None = None,
        redis_password: pulumi.Input[str] | None = None,
        secret_values: Mapping[str, pulumi.Input[str]] | None = None,
        key: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
        main_depends_on: Sequence[pulumi.Resource] = (),
    ) -> None:
        self._redis_password = None if redis_password is None else pulumi.Output.secret(redis_password)
        super().__init__(name, spec, namespace=namespace, monitoring=monitoring, security=security,
                         secret_values=secret_values, key=key, opts=opts, main_depends_on=main_depends_on)
