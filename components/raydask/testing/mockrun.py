"""Run a Pulumi program in-process under the SDK's mock engine and record what it registers.

Used by ``raydask render`` and the tests: no Pulumi CLI, no provider plugin, no cluster.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
import json
import pickle
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pulumi
from pulumi.runtime import mocks, settings

from raydask.k8s.manifest import RELEASE_TYPE, normalize


@dataclass(frozen=True)
class Registered:
    """One resource the program registered."""

    type: str
    name: str
    state: bytes
    """Its inputs, pickled as the program built them or as the engine received them: compact, and nothing for the
    garbage collector to walk while a large program registers (:attr:`inputs` decodes them in the wire's form)."""
    custom: bool
    provider: str = ""
    parent: tuple[str, str] | None = None
    """``(type, name)`` of the parent resource; None for children of the stack."""
    seq: int = 0
    """Position in the program's construction order (registration itself is asynchronous)."""

    @functools.cached_property
    def inputs(self) -> dict[str, Any]:
        """The inputs as the wire carries them (decoded once; shared by every reader, do not mutate)."""
        return decoded(self.state)

    @property
    def is_kubernetes_object(self) -> bool:
        """A whole Kubernetes object (not a server-side apply patch of one, ``kubernetes:apps/v1:DeploymentPatch``)."""
        return self.custom and "apiVersion" in self.inputs and "kind" in self.inputs and not self.is_patch

    @property
    def is_patch(self) -> bool:
        return self.custom and self.type.startswith("kubernetes:") and self.type.endswith("Patch")


@dataclass
class RunResult:
    """Everything a program run registered, in registration order, plus its stack outputs."""

    resources: list[Registered] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: dict[tuple[str, str], tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """``(type, name)`` → the ``(type, name)`` of each resource its registration named as a dependency (explicit
    ``depends_on``, a depended-on component expanded to its children), as the engine receives them."""

    def gates(self, key: tuple[str, str]) -> set[tuple[str, str]]:
        """Every resource the creation of ``key`` waits for: its dependencies and its ancestors' (a child registers
        once its parent has, and a parent once its dependencies are created), transitively."""
        parents = {(r.type, r.name): r.parent for r in self.resources}
        out: set[tuple[str, str]] = set()
        todo = [key]
        while todo:
            current = todo.pop()
            parent = parents.get(current)
            found = [*self.dependencies.get(current, ()), *([parent] if parent else [])]
            for dep in found:
                if dep not in out:
                    out.add(dep)
                    todo.append(dep)
        return out

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def objects(self) -> list[dict[str, Any]]:
        """Kubernetes objects (normalised manifests) registered as custom resources."""
        return [r.inputs for r in self.resources if r.is_kubernetes_object]


class _Pending(NamedTuple):
    """A constructed resource awaiting its registration."""

    parent: tuple[str, str] | None
    props: Any
    seq: int
    built: bytes | None
    """The props as built, pickled at construction (plain data only; read in the wire's form, see
    :attr:`Registered.inputs`); None to decode the request."""
    elided: bool
    named: bool
    """Whether ``built`` has a ``metadata.name`` (else the provider fills one in)."""


class RecordingMocks(pulumi.runtime.Mocks):
    """Mocks that echo inputs as state, fill provider-computed fields, and record every registration."""

    def __init__(self, bulk_types: Iterable[str] = (), preview: bool = False) -> None:
        self.registered: list[Registered] = []
        self.bulk_types = frozenset(bulk_types)
        self.preview = preview
        self._constructed: dict[tuple[str, str], list[_Pending]] = {}
        self._seq = 0
        self.dependencies: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}

    def transformation(self, args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        """Stack transformation: note parent, construction order and the props as the program built them.

        The plain-data props of a pulumi-kubernetes object are recorded as built (the monitor skips decoding them
        again). A plain-data ``spec`` of a ``bulk_types`` resource skips the wire format (recorded as built, elided in
        its state).
        """
        parent = args.opts.parent if args.opts else None
        ref = (parent._type, parent._name) if parent is not None and parent._type != "pulumi:pulumi:Stack" else None
        props = args.props
        built = None
        if isinstance(props, Mapping) and "kind" in props and args.type_.startswith("kubernetes:"):
            camel = {_camel(k): v for k, v in props.items()}
            built = pickled_if_plain(camel)
        elided = args.type_ in self.bulk_types and isinstance(props, Mapping) and (
            "spec" in camel if built is not None else _plain(props.get("spec")))
        if built is None:
            entry = _Pending(ref, props, self._seq, None, elided, False)
        else:
            meta = camel.get("metadata")
            named = isinstance(meta, Mapping) and bool(meta.get("name"))
            entry = _Pending(ref, None, self._seq, built, elided, named)
        self._constructed.setdefault((args.type_, args.name), []).append(entry)
        self._seq += 1
        if elided:
            return pulumi.ResourceTransformationResult({**props, "spec": {_ELIDED: True}}, args.opts)
        return None

    def recorded_as_built(self, typ: str, name: str) -> bool:
        """Whether the next registration of ``typ``/``name`` is recorded from its props as built."""
        pending = self._constructed.get((typ, name))
        return pending[0].built is not None if pending else False

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        """Record the resource; its state is its inputs plus what a provider fills in (``metadata.name``, a Release's
        ``name`` and ``status``).

        Outside preview only those filled-in keys travel back: the SDK resolves every other output from the inputs it
        sent, so the program sees the same values without a second wire round trip of the whole object.
        """
        key = (args.typ, args.name)
        pending = self._constructed.get(key)
        entry = pending.pop(0) if pending else _Pending(None, None, len(self.registered), None, False, False)
        if pending is not None and not pending:
            del self._constructed[key]
        state = entry.built
        if state is not None and entry.named and not self.preview:
            self._record(args, state, entry)
            return f"{args.name}-id" if args.custom else None, {}
        if state is not None:
            inputs = decoded(state)
        else:
            props = entry.props
            template = {_camel(k): v for k, v in props.items()} if isinstance(props, Mapping) else None
            inputs = restored(args.inputs, template)
            if template is not None and entry.elided:
                inputs["spec"] = normalize(template["spec"])
        filled: dict[str, Any] = {}
        if args.custom and args.typ.startswith("kubernetes:"):
            meta = inputs.setdefault("metadata", {}) if "kind" in inputs else None
            if meta is not None and not meta.get("name"):
                suffix = hashlib.sha1(args.name.encode()).hexdigest()[:8]
                meta["name"] = f"{args.name}-{suffix}"
                filled["metadata"] = meta
        if args.typ == RELEASE_TYPE:
            filled["name"] = inputs.setdefault("name", args.name)
            filled["status"] = inputs["status"] = {"name": inputs["name"], "namespace": inputs.get("namespace", "default"),
                                                   "status": "deployed"}
        self._record(args, pickle.dumps(inputs, pickle.HIGHEST_PROTOCOL), entry)
        resource_id = f"{args.name}-id" if args.custom else None
        if not self.preview:
            return resource_id, filled
        return resource_id, ({**inputs, "spec": {_ELIDED: True}} if entry.elided else inputs)

    def _record(self, args: mocks.MockResourceArgs, state: bytes, entry: _Pending) -> None:
        self.registered.append(Registered(args.typ, args.name, state, bool(args.custom), args.provider or "",
                                          entry.parent, entry.seq))

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


class _NotPlain(Exception):
    pass


_EXACT = 2**53


def _wire_value(value: Any) -> Any:
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise _NotPlain
            if v is not None:
                out[k] = _wire_value(v)
        return out
    if isinstance(value, (list, tuple)):
        return [_wire_value(v) for v in value]
    if isinstance(value, int):
        return value if -_EXACT <= value <= _EXACT else int(float(value))
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    raise _NotPlain


def decoded(state: bytes) -> dict[str, Any]:
    """A recorded state (:func:`pickled_if_plain` or pickled wire data) in the wire's form (:func:`wire_copy`)."""
    value = wire_copy(pickle.loads(state))
    assert value is not None, "the SDK registers plain data only"
    return value


class _PlainPickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # called for everything but exact None, bool, int, float, str, bytes, dict, set, frozenset, list and tuple
        if isinstance(obj, (str, int, float, dict, list, tuple)):
            return NotImplemented
        raise _NotPlain


def pickled_if_plain(props: Mapping[str, Any]) -> bytes | None:
    """``props`` pickled as they are, or None when they hold anything but strings, numbers, booleans, None, mappings
    and sequences — Outputs, resources (the pickler checks as it goes; sets, bytes and non-string keys pass, but the
    SDK refuses those before anything is registered). :func:`decoded` reads them as the wire carries them."""
    buffer = io.BytesIO()
    try:
        _PlainPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(props)
    except _NotPlain:
        return None
    return buffer.getvalue()


def wire_copy(props: Mapping[str, Any]) -> dict[str, Any] | None:
    """``props`` as the mock engine's wire round trip returns them (nulls in mappings dropped, tuples as lists, numbers
    as after a trip through a double, then :func:`~raydask.k8s.manifest.normalize`); None unless plain JSON-like data."""
    try:
        return _wire_value(dict(props))
    except _NotPlain:
        return None


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, minus decoding the properties of registrations the recorder keeps as built."""

    def __init__(self, recorder: RecordingMocks) -> None:
        super().__init__(recorder)
        self.recorder = recorder

    def RegisterResource(self, request: Any) -> Any:
        self.recorder.dependencies[(request.type, request.name)] = tuple(_type_and_name(u) for u in request.dependencies)
        if self.recorder.recorded_as_built(request.type, request.name):
            request.ClearField("object")  # the SDK builds a request per registration and drops it after this call
        return super().RegisterResource(request)


def _type_and_name(urn: str) -> tuple[str, str]:
    """``(type, name)`` of a URN (``urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>``)."""
    _, _, qualified, name = urn.split("::", 3)
    return qualified.rsplit("$", 1)[-1], name


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def restored(value: Any, template: Any) -> Any:
    """A fresh copy of wire data ``value`` with mapping keys in ``template``'s order (the wire loses key order) and
    integral floats back to ints (see :func:`raydask.k8s.manifest.normalize`), in one walk."""
    if isinstance(value, dict):
        if isinstance(template, Mapping):
            keys = [k for k in template if k in value]
            if len(keys) < len(value):
                keys += [k for k in value if k not in template]
            return {k: restored(value[k], template.get(k)) for k in keys}
        return {k: restored(v, None) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if isinstance(template, (list, tuple)) and len(value) == len(template):
            return [restored(v, t) for v, t in zip(value, template, strict=True)]
        return [restored(v, None) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
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
    worker_loops: list[asyncio.AbstractEventLoop] = []
    executor = ThreadPoolExecutor(thread_name_prefix="raydask-mock-engine", initializer=_own_loop, initargs=(worker_loops,))
    loop.set_default_executor(executor)
    recorder = RecordingMocks(bulk_types, preview)
    result = RunResult()
    try:
        mocks.set_mocks(recorder, project=project, stack=stack, preview=preview, monitor=RecordingMonitor(recorder))
        pulumi.runtime.set_all_config(pulumi_config(config or {}), list(secret_keys))
        settings.set_root_resource(None)  # type: ignore[arg-type]  # set_mocks made a root stack; run_in_stack makes its own
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
        result.dependencies = recorder.dependencies
    finally:
        pulumi.runtime.set_all_config({}, [])
        settings.reset_options()
        asyncio.set_event_loop(None)
        loop.close()
        executor.shutdown(wait=True)
        for worker_loop in worker_loops:
            worker_loop.close()
    return result


def _own_loop(loops: list[asyncio.AbstractEventLoop]) -> None:
    """Give an engine thread its own event loop, closed after the run (the SDK would make one per thread and leave it
    open for the garbage collector, whose finalizer then fails)."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loops.append(loop)
