"""What one component declares, as plain data: the :class:`Plan` every workload builder returns and the
:class:`Context` it is built in. Components register a plan as it is (:mod:`raydask.resources.registration`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from raydask.builders.common import Manifest
from raydask.errors import ConfigError, Path, key_path
from raydask.spec.base import MonitoringSpec
from raydask.spec.security import SecurityDefaults

E = TypeVar("E")


@dataclass(frozen=True)
class Context:
    """Where a spec is built: its config key (for messages), the stack's namespace and stack-wide settings."""

    key: str
    """Config key the spec came from, e.g. ``raydask:rayClusters[0]``."""
    namespace: str | None = None
    """The stack's namespace, used when the spec sets none."""
    monitoring: MonitoringSpec | None = None
    security: SecurityDefaults = field(default_factory=SecurityDefaults)
    secrets: Mapping[str, Any] = field(default_factory=dict)
    """Values of the Pulumi secrets the spec's Secrets read, by config key (``wandbApiKey``), passed through untouched."""

    def namespace_for(self, own: str | None) -> str:
        """The object's own namespace, else the stack's; ConfigError naming ``<key>.namespace`` when neither is set."""
        ns = own or self.namespace
        if not ns:
            raise ConfigError([f"{self.key}.namespace: required (no stack namespace given)"])
        return ns

    def refuse(self, problems: Iterable[tuple[Path, str]], extra: Iterable[str] = ()) -> None:
        """ConfigError with one ``<key>.<path>: <message>`` line per problem (then ``extra`` lines), if there are any; a
        path is written as messages write keys (``workerGroups[0].name``), or a tuple of parts."""
        bad = [f"{f'{self.key}.{path}' if isinstance(path, str) else key_path(self.key, path)}: {message}"
               for path, message in problems] + list(extra)
        if bad:
            raise ConfigError(bad)


@dataclass(frozen=True)
class Plan(Generic[E]):
    """Everything one workload component declares, in registration order: ``before`` (NetworkPolicies, Secrets), then
    ``main`` (the custom resource, after them), then ``after`` (Services, Ingresses, monitors, worker groups) and
    ``patches`` of ``main``, both after ``main``."""

    main: Manifest
    endpoints: E
    """Addresses as plain values, known before anything is created."""
    before: tuple[Manifest, ...] = ()
    after: tuple[Manifest, ...] = ()
    patches: tuple[Manifest, ...] = ()
    """Server-side apply patches of ``main`` (after it) carrying the annotations that make ``pulumi up`` wait: applied
    when created (again when ``main`` is replaced); a later change of their annotations alone is not applied."""
    on_create: tuple[Manifest, ...] = ()
    """Server-side apply patches of ``main`` applied once, when each is created (after ``main``), and never again: their
    ``spec`` is ignored on updates and left in place on delete (an autoscaled group's starting ``replicas``)."""
    replace_on_changes: tuple[str, ...] = ()
    """Property paths of ``main`` whose change replaces it (a RayJob runs once)."""
    create_before_delete: bool = False
    """Replace ``main`` by creating the new object first (it has a name of its own); default delete first."""

    def objects(self) -> list[Manifest]:
        """Every object, in registration order."""
        return [*self.before, self.main, *self.after]
