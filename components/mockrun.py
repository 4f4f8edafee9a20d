"""Run a Pulumi program in-process under the SDK's mock engine and record what it registers.

Used by ``raydask render`` and the tests: no Pulumi CLI, no provider plugin, no cluster.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks, settings

from components.manifest import normalize


@dataclass(frozen=True)
class Registered:
    """One resource the program registered."""

    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    provider: str = ""

    @property
    def is_kubernetes_object(self) -> bool:
        return self.custom and "apiVersion" in self.inputs and "kind" in self.inputs


@dataclass
class RunResult:
    """Everything a program run registered, in registration order, plus its stack outputs."""

    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def objects(self) -> list[dict[str, Any]]:
        """Kubernetes objects (normalised manifests) registered as custom resources."""
        return [r.inputs for r in self.resources if r.is_kubernetes_object]


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that echo inputs as state, fill provider-computed fields, and record every registration."""

    def __init__(self) -> None:
        self.registered: list[Registered] = []

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = normalize(dict(args.inputs))
        if args.custom and args.typ.startswith("kubernetes:"):
            meta = inputs.setdefault("metadata", {}) if "kind" in inputs else None
            if meta is not None and not meta.get("name"):
                suffix = hashlib.sha1(args.name.encode()).hexdigest()[:8]
                meta["name"] = f"{args.name}-{suffix}"
        if args.typ == "kubernetes:helm.sh/v3:Release":
            inputs.setdefault("name", args.name)
            inputs["status"] = {"name": inputs["name"], "namespace": inputs.get("namespace", "default"), "status": "deployed"}
        self.registered.append(Registered(args.typ, args.name, inputs, bool(args.custom), args.provider or ""))
        resource_id = f"{args.name}-id" if args.custom else None
        return resource_id, inputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """Stack-file config (structured YAML) as the engine passes it: objects JSON-encoded, scalars as strings."""
    out = {}
    for key, value in values.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = json.dumps(value)
    return out


def run(
    program: Callable[[], Any],
    *,
    config: dict[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
    project: str = "raydask",
    stack: str = "dev",
    preview: bool = False,
) -> RunResult:
    """Run ``program`` as a stack under mocks with ``config`` (``raydask:key`` -> value); returns what registered."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = RecordingMocks()
    result = RunResult()
    try:
        mocks.set_mocks(recorder, project=project, stack=stack, preview=preview)
        pulumi.runtime.set_all_config(pulumi_config(config or {}), list(secret_keys))
        settings.set_root_resource(None)  # set_mocks made a root stack; run_in_stack makes the program's own
        roots: list[Any] = []

        def wrapped() -> Any:
            roots.append(settings.get_root_resource())
            return program()

        loop.run_until_complete(pulumi.runtime.stack.run_in_stack(wrapped))
        outputs = dict(getattr(roots[0], "outputs", {}) or {}) if roots else {}
        if outputs:
            keys = list(outputs)
            values = loop.run_until_complete(pulumi.Output.all(*[outputs[k] for k in keys]).future())
            result.outputs = dict(zip(keys, normalize(values or []), strict=False))
        result.resources = list(recorder.registered)
    finally:
        pulumi.runtime.set_all_config({}, [])
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
    return result
