"""The provider: ``construct`` builds the Python API's own component from the inputs a program in any language sent.

Inputs arrive as the schema names them (camelCase, as the stack config): the spec goes to the component as a dict, so
it is validated and named in errors exactly as in Python (``RayCluster(train).workerGroups[0].maxReplicas: ...``,
``raydask:rayClusters[0]...`` for a Stack); a bad input is reported as ``invalid raydask configuration:`` and those
lines, as ``pulumi up`` of the raydask program reports it. The spec and the other settings are plain data: raydask
plans every object from them before anything is created, as in Python (an Output is refused, naming the input). The
Redis password and the Secret values stay Outputs: they only ever reach Secrets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError
from pulumi.provider import ConstructResult, Provider
from pydantic.alias_generators import to_snake

from raydask import program
from raydask.errors import ConfigError
from raydask.provider.args import SecuritySettings
from raydask.provider.components import BY_TOKEN, Kind, Stack
from raydask.provider.schema import package_schema, version
from raydask.spec.base import MonitoringSpec, parse_spec
from raydask.spec.security import NetworkPolicySpec, SecurityDefaults

CONFIG_ERROR = "invalid raydask configuration:"
"""How a bad input starts, as the raydask program's own ``pulumi up`` reports one."""


def refused(message: str) -> InputPropertiesError:
    """The error the engine reports as ``<type> resource '<name>' has a problem: <message>``. (With no property errors
    at all, pulumi 3.272's provider server fails to build the gRPC status; an empty list is the same to the engine.)"""
    return InputPropertiesError(message, [])


def _outputs_in(value: Any, path: str) -> list[str]:
    """Paths inside ``value`` that hold an Output (a value from another resource) rather than plain data."""
    if isinstance(value, pulumi.Output):
        return [path]
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _outputs_in(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _outputs_in(v, f"{path}[{i}]")]
    return []


def plain_inputs(kind: Kind, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs by Python keyword (``secretValues`` -> ``secret_values``), unknown ones refused; every input but the
    secrets must be plain data."""
    fields = {f.alias or n: n for n, f in kind.args.model_fields.items()}
    unknown = sorted(set(inputs) - set(fields))
    if unknown:
        raise refused(f"{kind.token} takes no input {', '.join(unknown)}: it takes {', '.join(sorted(fields))}")
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        name = fields[key]
        if name not in kind.args.SECRET and (found := _outputs_in(value, key)):
            raise refused(
                f"{kind.token}: {', '.join(found)} must be plain values, not outputs of other resources: raydask plans "
                "every object from them before anything is created (as in Python); write the value, and order the "
                "resources with dependsOn")
        if value is not None:
            out[name] = value
    return out


def _parsed(model: Any, value: Any, key: str) -> Any:
    return None if value is None else parse_spec(model, value, key)


def build(kind: Kind, name: str, inputs: Mapping[str, Any], opts: pulumi.ResourceOptions | None) -> pulumi.ComponentResource:
    """The component ``kind`` named ``name`` from the provider's ``inputs``: the Python constructor, called with them."""
    given = plain_inputs(kind, inputs)
    where = f"{kind.component.__name__}({name}):"
    kwargs: dict[str, Any] = {"opts": opts}
    if "monitoring" in given:
        kwargs["monitoring"] = _parsed(MonitoringSpec, given.pop("monitoring"), f"{where}monitoring")
    if "network_policy" in given:
        kwargs["network_policy"] = _parsed(NetworkPolicySpec, given.pop("network_policy"), f"{where}networkPolicy")
    if "security" in given:
        settings = parse_spec(SecuritySettings, given.pop("security"), f"{where}security")
        kwargs["security"] = SecurityDefaults(**dict(settings))
    if kind.component is Stack:
        config = given.pop("config", None)
        if config is None:  # the calling stack's raydask:* config, as the raydask program reads it
            raw = program._raw_config()
            spec = parse_spec(program.StackSpec, program.config_values(raw), f"{program.NAMESPACE}:")
            problems = program.secret_config_problems(spec, raw)
            if problems:
                raise ConfigError(problems)
        else:
            spec = program.load_stack_spec(config)
            given.setdefault("secret_values", {})
            given.setdefault("redis_password", None)
        return Stack(name, spec, **given, **kwargs)
    spec = given.pop("spec", None)
    return kind.component(name, spec, **given, **kwargs)


def state(kind: Kind, component: pulumi.ComponentResource) -> dict[str, Any]:
    """The component's outputs by schema name (its Output attributes)."""
    return {key: getattr(component, to_snake(key)) for key in package_schema()["resources"][kind.token]["properties"]}


class RaydaskProvider(Provider):
    """The raydask component provider: its schema and ``construct``."""

    def __init__(self) -> None:
        super().__init__(version(), json.dumps(package_schema()))

    def construct(self, name: str, resource_type: str, inputs: pulumi.Inputs,
                  options: pulumi.ResourceOptions | None = None) -> ConstructResult:
        kind = BY_TOKEN.get(resource_type)
        if kind is None:
            raise refused(f"raydask has no component {resource_type}: it has {', '.join(sorted(BY_TOKEN))}")
        try:
            component = build(kind, name, inputs, options)
        except ConfigError as exc:
            raise refused(f"{CONFIG_ERROR}\n{exc}") from None
        return ConstructResult(component.urn, state(kind, component))


def main(argv: list[str] | None = None) -> None:
    """Serve the provider to the Pulumi engine (its address is the first argument)."""
    import sys

    from pulumi.provider import main as serve

    serve(RaydaskProvider(), sys.argv[1:] if argv is None else argv)
