"""The component provider: its schema is the spec models' (and drifts from nothing), and ``construct`` builds the Python
API's own components from camelCase inputs, with the same errors."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pulumi
import pytest
from pulumi.errors import InputPropertiesError

from raydask import DaskCluster, RayCluster
from raydask.errors import ConfigError
from raydask.provider import args as a
from raydask.provider import host, schema
from raydask.provider.components import BY_TOKEN, KINDS, Stack
from raydask.resources.workload import WorkloadComponent
from raydask.spec import DaskClusterSpec, RayClusterSpec, StackSpec
from raydask.testing import mockrun

RAY = {"name": "train", "namespace": "ml", "head": {"cpu": "1", "memory": "2Gi"},
       "workerGroups": [{"name": "cpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 3, "cpu": "1", "memory": "2Gi"}]}
DASK = {"name": "etl", "namespace": "ml", "worker": {"replicas": 2}}


def test_committed_schema_is_the_generated_one() -> None:
    assert schema.SCHEMA_FILE.read_text() == schema.text(), "run: .venv/bin/python -m raydask.provider.schema --write"
    assert schema.main(["--check"]) == 0


def test_inputs_are_the_python_constructors_keywords() -> None:
    for kind in KINDS:
        params = {n for n, p in inspect.signature(kind.component.__init__).parameters.items()
                  if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"self", "name", "opts", "key", "main_depends_on"}
        params -= {"plan_options"}  # what the program derives from the whole stack (its Serve ports), not an input
        fields = set(kind.args.model_fields) - {"security"} | ({"security"} if "security" in params else set())
        if kind.component is Stack:
            params = params - {"spec"} | {"config"}
        assert fields == params, kind.token
    assert set(a.SecuritySettings.model_fields) == {"network_policy", "ray_auth", "require_tls", "kuberay_namespace",
                                                      "dask_operator_namespace"}


def walk_models(model: type[Any], seen: set[type[Any]]) -> None:
    if model in seen:
        return
    seen.add(model)
    for f in model.model_fields.values():
        stack = [f.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and hasattr(t, "model_fields"):
                walk_models(t, seen)
            else:
                stack.extend(getattr(t, "__args__", ()))


def test_every_model_field_is_a_typed_described_property() -> None:
    types = schema.package_schema()["types"]
    models: set[type[Any]] = set()
    for kind in KINDS:
        walk_models(kind.args, models)
    for model in models - {kind.args for kind in KINDS}:
        spec = types[f"raydask:index:{model.__name__}"]
        assert set(spec["properties"]) == {f.alias or n for n, f in model.model_fields.items()}, model
        assert set(spec.get("required", [])) == {f.alias or n for n, f in model.model_fields.items() if f.is_required()}
        for name, prop in spec["properties"].items():
            assert prop.get("description"), (model, name)
            assert "default" not in prop  # SDKs would send it as set (see raydask.provider.schema)
            assert {"type", "$ref", "oneOf"} & set(prop), (model, name)
    assert types["raydask:index:ImagePullPolicy"]["enum"] == [
        {"name": "IfNotPresent", "value": "IfNotPresent"}, {"name": "Always", "value": "Always"}, {"name": "Never", "value": "Never"}]


def test_components_inputs_outputs_and_secrets() -> None:
    resources = schema.package_schema()["resources"]
    assert set(resources) == {"raydask:kuberay:KubeRayOperator", "raydask:dask:DaskOperator", "raydask:ray:RayCluster",
                              "raydask:ray:RayJob", "raydask:ray:RayCronJob", "raydask:ray:RayService", "raydask:dask:DaskCluster",
                              "raydask:dask:DaskJob", "raydask:index:Stack"}
    ray = resources["raydask:ray:RayCluster"]
    assert ray["requiredInputs"] == ["spec"] and ray["inputProperties"]["spec"]["$ref"] == "#/types/raydask:index:RayClusterSpec"
    assert ray["inputProperties"]["redisPassword"]["secret"] and ray["inputProperties"]["secretValues"]["secret"]
    assert set(ray["properties"]) == {"namespace", "clusterName", "headServiceName", "clientAddress", "dashboardUrl",
                                      "dashboardIngressUrl", "serveIngressUrl", "status"}
    assert "dashboardIngressUrl" not in ray["required"] and "clientAddress" in ray["required"]
    stack = resources["raydask:index:Stack"]
    assert stack["inputProperties"]["config"]["$ref"] == "#/types/raydask:index:StackSpec"
    assert stack["inputProperties"]["redisPassword"]["secret"]
    assert set(stack["properties"]) == {"namespace", "kuberayVersion", "daskOperatorVersion", "rayClusters", "rayJobs",
                                        "rayCronJobs", "rayServices", "daskClusters", "daskJobs"}
    secret_inputs = {(t, k) for t, r in resources.items() for k, p in r["inputProperties"].items() if p.get("secret")}
    assert {k for _, k in secret_inputs} == {"redisPassword", "secretValues"}
    assert all("status" in r["properties"] for t, r in resources.items() if issubclass(BY_TOKEN[t].component, WorkloadComponent))


def constructed(token: str, name: str, inputs: dict[str, Any] | Any, config: dict[str, Any] | None = None) -> mockrun.RunResult:
    """A program that constructs ``token`` as the provider does (``inputs``, or a function making them in the run's
    event loop), run under the mock engine."""
    def program() -> None:
        component = host.build(BY_TOKEN[token], name, inputs() if callable(inputs) else inputs, None)
        for key, value in host.state(BY_TOKEN[token], component).items():
            pulumi.export(key, value)

    return mockrun.run(program, config=config)


def registered(result: mockrun.RunResult) -> list[tuple[str, str, str]]:
    return [(r.type, r.name, json.dumps(r.inputs, sort_keys=True, default=str)) for r in result.resources]


def test_construct_builds_the_python_components() -> None:
    by_provider = constructed("raydask:ray:RayCluster", "train", {"spec": RAY, "namespace": "other"})
    by_python = mockrun.run(lambda: RayCluster("train", RayClusterSpec.model_validate(RAY), namespace="other"))
    assert registered(by_provider) == registered(by_python)
    assert by_provider.outputs["clientAddress"] == "ray://train-head-svc.ml.svc.cluster.local:10001"
    assert set(by_provider.outputs) >= {"namespace", "clusterName", "headServiceName", "dashboardUrl"}

    by_provider = constructed("raydask:dask:DaskCluster", "etl", {"spec": DASK, "monitoring": {"interval": "15s"}})
    by_python = mockrun.run(lambda: DaskCluster("etl", DaskClusterSpec.model_validate(DASK),
                                                monitoring=pulumi_monitoring()))
    assert registered(by_provider) == registered(by_python)
    assert by_provider.outputs["schedulerAddress"] == "tcp://etl-scheduler.ml.svc.cluster.local:8786"


def pulumi_monitoring() -> Any:
    from raydask.spec import MonitoringSpec

    return MonitoringSpec(interval="15s")


def test_stack_from_config_input_and_from_the_stacks_own_config() -> None:
    config = {"namespace": "ml", "rayClusters": [RAY], "daskClusters": [DASK]}
    given = constructed("raydask:index:Stack", "platform", {"config": config})
    assert given.outputs["rayClusters"]["train"]["headService"] == "train-head-svc"
    assert given.outputs["daskClusters"]["etl"]["namespace"] == "ml"
    types = {r.type for r in given.resources}
    assert {"raydask:index:Stack", "raydask:ray:RayCluster", "raydask:dask:DaskCluster"} <= types
    from_config = constructed("raydask:index:Stack", "platform", {},
                              config={"raydask:namespace": "ml", "raydask:rayClusters": [RAY], "raydask:daskClusters": [DASK],
                                      "myproject:other": "ignored"})
    assert registered(from_config) == registered(given)


def config_error(fn: Any) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        mockrun.run(fn)
    return exc.value.problems


def provider_error(token: str, name: str, inputs: dict[str, Any]) -> str:
    provider = host.RaydaskProvider()
    with pytest.raises(InputPropertiesError) as exc:
        mockrun.run(lambda: provider.construct(name, token, inputs, None))
    return exc.value.message


def test_a_bad_input_gets_the_python_message() -> None:
    bad = {**RAY, "workerGroups": [{**RAY["workerGroups"][0], "maxReplicas": 0}], "head": {"cpu": "lots"}}
    python = config_error(lambda: RayCluster("train", bad))
    assert python == ["RayCluster(train).head.cpu: 'lots' is not a Kubernetes quantity",
                      "RayCluster(train).workerGroups[0].minReplicas: must be ≤ maxReplicas (1 > 0)"]
    assert provider_error("raydask:ray:RayCluster", "train", {"spec": bad}) == "\n".join([host.CONFIG_ERROR, *python])

    stack = {"rayClusters": [{**RAY, "workerGroupz": []}]}
    python = config_error(lambda: __import__("raydask").load_stack_spec(stack))
    assert python == ["raydask:rayClusters[0].workerGroupz: unknown key (did you mean 'workerGroups'?)"]
    assert provider_error("raydask:index:Stack", "s", {"config": stack}) == "\n".join([host.CONFIG_ERROR, *python])


def test_outputs_and_unknown_inputs_are_refused() -> None:
    provider = host.RaydaskProvider()

    def program() -> None:
        provider.construct("train", "raydask:ray:RayCluster", {"spec": {**RAY, "namespace": pulumi.Output.from_input("ml")}})

    with pytest.raises(InputPropertiesError, match=r"spec\.namespace must be plain values"):
        mockrun.run(program)
    assert "takes no input specs" in provider_error("raydask:ray:RayCluster", "train", {"specs": RAY})
    assert "no component raydask:ray:Nope" in provider_error("raydask:ray:Nope", "x", {})


def test_stack_spec_is_the_stack_config() -> None:
    stack = schema.package_schema()["types"]["raydask:index:StackSpec"]
    assert set(stack["properties"]) == {f.alias or n for n, f in StackSpec.model_fields.items()}


def test_the_launcher_serves_the_schema_over_grpc() -> None:
    """The plugin launcher beside PulumiPlugin.yaml starts the provider as the engine does (address argument, port on
    stdout) and answers GetPluginInfo and GetSchema."""
    import subprocess

    import grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

    launcher = schema.SCHEMA_FILE.with_name("pulumi-resource-raydask")
    proc = subprocess.Popen([str(launcher), "127.0.0.1:1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = provider_pb2_grpc.ResourceProviderStub(channel)
            assert stub.GetPluginInfo(empty_pb2.Empty(), timeout=30).version == schema.version()
            served = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30).schema
        assert json.loads(served) == schema.package_schema()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_redis_password_input_reaches_only_its_secret() -> None:
    """``redisPassword`` may be an Output (a secret from the program's config): it goes into the Secret raydask creates
    for it, as the Python API's ``redis_password`` does."""
    spec = {**RAY, "gcsFaultTolerance": {"redisAddress": "redis.ml.svc.cluster.local:6379"}}
    result = constructed("raydask:ray:RayCluster", "train",
                         lambda: {"spec": spec, "redisPassword": pulumi.Output.secret("s3cret")})
    secrets = [r for r in result.resources if r.type == "kubernetes:core/v1:Secret"]
    assert len(secrets) == 1
    secret_value = secrets[0].inputs["stringData"]  # the wire's secret marker around {"password": ...}
    assert secret_value["value"] == {"password": "s3cret"} and len(secret_value) == 2
    assert "s3cret" not in json.dumps([r.inputs for r in result.resources if r.type != "kubernetes:core/v1:Secret"], default=str)
