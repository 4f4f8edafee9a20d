"""Run a Pulumi program in-process under the SDK's mock engine and record what it registers.

Used by ``raydask render`` and the tests: no Pulumi CLI, no provider plugin, no cluster.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
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
    parent: tuple[str, str] | None = None
    """``(type, name)`` of the parent resource; None for children of the stack."""
    seq: int = 0
    """Position in the program's construction order (registration itself is asynchronous)."""

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

    def __init__(self, bulk_types: Iterable[str] = ()) -> None:
        self.registered: list[Registered] = []
        self.bulk_types = frozenset(bulk_types)
        self._constructed: dict[tuple[str, str], list[tuple[tuple[str, str] | None, Any, int]]] = {}
        self._seq = 0

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        """Stack transformation: note parent, construction order and the props as the program built them.

        A plain-data ``spec`` of a ``bulk_types`` resource skips the wire format (recorded as built, elided in its state).
        """
        parent = args.opts.parent if args.opts else None
        ref = (parent._type, parent._name) if parent is not None and parent._type != "pulumi:pulumi:Stack" else None
        self._constructed.setdefault((args.type_, args.name), []).append((ref, args.props, self._seq))
        self._seq += 1
        if args.type_ in self.bulk_types and isinstance(args.props, Mapping) and _plain(args.props.get("spec")):
            return pulumi.ResourceTransformationResult({**args.props, "spec": {_ELIDED: True}}, args.opts)
        return None

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        pending = self._constructed.get((args.typ, args.name)) or [(None, None, len(self.registered))]
        parent, props, seq = pending.pop(0) if len(pending) > 1 else pending[0]
        template = {_camel(k): v for k, v in props.items()} if isinstance(props, Mapping) else None
        inputs = normalize(ordered_like(dict(args.inputs), template))
        elided = template is not None and inputs.get("spec") == {_ELIDED: True}
        if template is not None and elided:
            inputs["spec"] = normalize(template["spec"])
        if args.custom and args.typ.startswith("kubernetes:"):
            meta = inputs.setdefault("metadata", {}) if "kind" in inputs else None
            if meta is not None and not meta.get("name"):
                suffix = hashlib.sha1(args.name.encode()).hexdigest()[:8]
                meta["name"] = f"{args.name}-{suffix}"
        if args.typ == "kubernetes:helm.sh/v3:Release":
            inputs.setdefault("name", args.name)
            inputs["status"] = {"name": inputs["name"], "namespace": inputs.get("namespace", "default"), "status": "deployed"}
        self.registered.append(Registered(args.typ, args.name, inputs, bool(args.custom), args.provider or "", parent, seq))
        resource_id = f"{args.name}-id" if args.custom else None
        return resource_id, ({**inputs, "spec": {_ELIDED: True}} if elided else inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


_ELIDED = "raydask.elided"


def _plain(value: Any) -> bool:
    """JSON-like data only (no Outputs or resources inside)."""
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def ordered_like(value: Any, template: Any) -> Any:
    """``value`` with its mapping keys in ``template``'s order (the engine's wire format loses key order)."""
    if isinstance(value, dict) and isinstance(template, Mapping):
        keys = [k for k in template if k in value] + [k for k in value if k not in template]
        return {k: ordered_like(value[k], template.get(k)) for k in keys}
    if isinstance(value, list) and isinstance(template, (list, tuple)) and len(value) == len(template):
        return [ordered_like(v, t) for v, t in zip(value, template, strict=True)]
    return value


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
    bulk_types: Iterable[str] = (),
) -> RunResult:
    """Run ``program`` as a stack under mocks with ``config`` (``raydask:key`` -> value); returns what registered.

    ``bulk_types`` (e.g. the megabyte-sized CustomResourceDefinitions) skip the wire round trip for their ``spec``:
    recorded exactly as built, but the program sees an elided ``spec`` output.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = RecordingMocks(bulk_types)
    result = RunResult()
    try:
        mocks.set_mocks(recorder, project=project, stack=stack, preview=preview)
        pulumi.runtime.set_all_config(pulumi_config(config or {}), list(secret_keys))
        settings.set_root_resource(None)  # set_mocks made a root stack; run_in_stack makes the program's own
        roots: list[Any] = []

        def wrapped() -> Any:
            roots.append(settings.get_root_resource())
            pulumi.runtime.register_stack_transformation(recorder.transformation)
            return program()

        loop.run_until_complete(pulumi.runtime.stack.run_in_stack(wrapped))
        outputs = dict(getattr(roots[0], "outputs", {}) or {}) if roots else {}
        if outputs:
            keys = list(outputs)
            values = loop.run_until_complete(pulumi.Output.all(*[outputs[k] for k in keys]).future())
            result.outputs = dict(zip(keys, normalize(values or []), strict=False))
        result.resources = sorted(recorder.registered, key=lambda r: r.seq)
    finally:
        pulumi.runtime.set_all_config({}, [])
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
    return result
