"""Secrets declared with a workload (``secrets``): values from Pulumi secrets only, kept secret in the engine, shown
as placeholders by an offline render, validated against the real schemas, refused with the key named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from test_properties import assert_valid

from raydask.errors import ConfigError
from raydask.offline.render import PLACEHOLDER, render_stack, stack_config, unwrap_secrets
from raydask.program import load_stack_spec, main
from raydask.resources.dask_cluster import DaskCluster
from raydask.resources.ray_cluster import RayCluster
from raydask.testing import mockrun

ROOT = Path(__file__).resolve().parents[1]
WANDB = {"name": "wandb", "fromConfig": {"WANDB_API_KEY": "wandbApiKey"}}
PULL = {"name": "pull", "type": "kubernetes.io/dockerconfigjson", "fromConfig": {".dockerconfigjson": "registryAuth"}}
TOKEN = {"name": "wandb", "secretKeyRef": {"name": "train-wandb", "key": "WANDB_API_KEY"}}
VALUES = {"raydask:wandbApiKey": "wandb-value-1234", "raydask:registryAuth": '{"auths": {"r.example.com": {}}}'}
WORKLOADS: dict[str, Any] = {
    "raydask:namespace": "ml",
    "raydask:rayClusters": [{"name": "train", "secrets": [WANDB, PULL],
                             "head": {"envValueFrom": {"WANDB_API_KEY": {"secretKeyRef": TOKEN["secretKeyRef"]}},
                                      "imagePullSecrets": ["train-pull"]}}],
    "raydask:rayJobs": [{"name": "nightly", "entrypoint": "python -m train", "cluster": {}, "secrets": [WANDB]}],
    "raydask:daskClusters": [{"name": "etl", "secrets": [WANDB]}],
}


def engine_config(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def run(values: dict[str, Any], secret_keys: list[str]) -> mockrun.RunResult:
    return mockrun.run(main, config=engine_config(values), secret_keys=secret_keys, stack="dev")


def secrets_of(result: mockrun.RunResult) -> dict[str, dict[str, Any]]:
    return {r.name: r.inputs for r in result.of_type("kubernetes:core/v1:Secret")}


def test_values_come_from_pulumi_secrets_and_stay_secret() -> None:
    result = run({**WORKLOADS, **VALUES}, list(VALUES))
    made = secrets_of(result)
    assert set(made) == {"train-secret-train-wandb", "train-secret-train-pull", "nightly-secret-nightly-wandb",
                         "etl-secret-etl-wandb"}
    wandb = made["train-secret-train-wandb"]
    assert unwrap_secrets(wandb["stringData"]) == {"WANDB_API_KEY": "wandb-value-1234"}
    assert wandb["stringData"] != unwrap_secrets(wandb["stringData"]), "the value reached the engine unmarked"
    assert unwrap_secrets(made["train-secret-train-pull"])["type"] == "kubernetes.io/dockerconfigjson"
    objects = [unwrap_secrets(o) for o in result.objects()]
    assert_valid(objects, "1.31")
    secret = next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "train-wandb")
    assert secret["metadata"]["labels"]["app.kubernetes.io/instance"] == "train"
    assert secret["metadata"]["labels"]["app.kubernetes.io/component"] == "secret"
    types = [r.type for r in result.resources]
    first = types.index("kubernetes:core/v1:Secret")
    assert first < types.index("kubernetes:ray.io/v1:RayCluster")
    head = next(o for o in objects if o["kind"] == "RayCluster")["spec"]["headGroupSpec"]["template"]["spec"]
    assert head["imagePullSecrets"] == [{"name": "train-pull"}]
    assert {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": TOKEN["secretKeyRef"]}} in head["containers"][0]["env"]


def test_an_offline_render_shows_placeholders_never_values() -> None:
    config = {**stack_config("dev", ROOT), **copy.deepcopy(WORKLOADS)}
    config.pop("raydask:kuberay", None)
    config.pop("raydask:daskOperator", None)
    config["raydask:wandbApiKey"] = {"secure": "v1:AAAA"}  # set, encrypted; registryAuth not set at all
    rendering = render_stack("dev", ROOT, config=config)
    secret = rendering.find("Secret ml/train-wandb")
    assert secret is not None and secret.manifest["stringData"] == {"WANDB_API_KEY": f"{PLACEHOLDER}-wandbApiKey"}
    pull = rendering.find("Secret ml/train-pull")
    assert pull is not None and pull.manifest["stringData"] == {".dockerconfigjson": f"{PLACEHOLDER}-registryAuth"}
    assert "v1:AAAA" not in json.dumps(rendering.manifests(include_crds=False))


def test_the_python_api_takes_secret_values(run_program: Any) -> None:
    spec = {"name": "train", "secrets": [WANDB]}
    result = run_program(lambda: RayCluster("train", spec, namespace="ml", secret_values={"wandbApiKey": "v"}))
    made = secrets_of(result)["train-secret-train-wandb"]
    assert unwrap_secrets(made["stringData"]) == {"WANDB_API_KEY": "v"} and made["stringData"] != {"WANDB_API_KEY": "v"}
    with pytest.raises(Exception, match=r"DaskCluster\(etl\)\.secrets\[0\]\.fromConfig\.WANDB_API_KEY: reads the Pulumi secret "
                                        r"raydask:wandbApiKey, which is not set"):
        run_program(lambda: DaskCluster("etl", {"name": "etl", "secrets": [WANDB]}, namespace="ml"))


@pytest.mark.parametrize(("config", "secret_keys", "message"), [
    ({}, [], "raydask:rayClusters[0].secrets[0].fromConfig.WANDB_API_KEY: reads the Pulumi secret raydask:wandbApiKey, "
             "which is not set: run `pulumi config set --secret raydask:wandbApiKey <value>` (a Python program passes it in "
             "secret_values)"),
    ({"raydask:wandbApiKey": "plain"}, [], "raydask:wandbApiKey: must be a secret: run `pulumi config set --secret "
                                           "raydask:wandbApiKey <value>` (it is stored in plaintext in the stack config now)"),
    ({"raydask:wandbApiKey": "x", "raydask:wandbApikey": "y"}, ["raydask:wandbApiKey", "raydask:wandbApikey"],
     "raydask:wandbApikey: a secret nothing reads: name it in a workload's secrets[].fromConfig, or remove it (`pulumi "
     "config rm raydask:wandbApikey`)"),
])
def test_secret_config_refused(config: dict[str, Any], secret_keys: list[str], message: str) -> None:
    values = {"raydask:namespace": "ml", "raydask:rayClusters": [{"name": "train", "secrets": [WANDB]}], **config}
    with pytest.raises(Exception) as exc:
        run(values, secret_keys)
    assert message in str(exc.value).splitlines()


@pytest.mark.parametrize(("secret", "message"), [
    ({"name": "pull", "type": "kubernetes.io/dockerconfigjson", "fromConfig": {"config.json": "auth"}},
     "raydask:rayClusters[0].secrets[0].fromConfig: a kubernetes.io/dockerconfigjson Secret needs the key .dockerconfigjson; "
     "given config.json"),
    ({"name": "tls", "type": "kubernetes.io/tls", "fromConfig": {"tls.crt": "crt"}},
     "raydask:rayClusters[0].secrets[0].fromConfig: a kubernetes.io/tls Secret needs the keys tls.crt and tls.key; given tls.crt"),
    ({"name": "basic", "type": "kubernetes.io/basic-auth", "fromConfig": {"user": "u"}},
     "raydask:rayClusters[0].secrets[0].fromConfig: a kubernetes.io/basic-auth Secret needs the key username or password; "
     "given user"),
    ({"name": "empty", "fromConfig": {}},
     "raydask:rayClusters[0].secrets[0].fromConfig: needs at least one key: {<secret key>: <config key of a Pulumi secret>}"),
    ({"name": "bad", "fromConfig": {"TOKEN": "raydask:token"}},
     "raydask:rayClusters[0].secrets[0].fromConfig.TOKEN: 'raydask:token' is not a config key name: a letter, then letters, "
     "digits, '_' or '-' (the part after 'raydask:', e.g. wandbApiKey)"),
    ({"name": "ns", "fromConfig": {"TOKEN": "namespace"}},
     "raydask:rayClusters[0].secrets[0].fromConfig.TOKEN: reads raydask:namespace, which is a raydask setting, not a secret: "
     "choose another key (e.g. namespaceSecret)"),
    ({"name": "token", "type": "kubernetes.io/service-account-token", "fromConfig": {"token": "t"}},
     "raydask:rayClusters[0].secrets[0].type"),
])
def test_secret_spec_refused(secret: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [{"name": "train", "secrets": [secret]}]})
    assert any(p.startswith(message) for p in exc.value.problems), exc.value.problems


def test_names_clash_like_other_objects() -> None:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [{"name": "train", "secrets": [
            {"name": "redis-password", "fromConfig": {"p": "p"}}], "gcsFaultTolerance": {"redisAddress": "r:6379"}}]})
    assert any("secrets[0].name" in p and "train-redis-password" in p for p in exc.value.problems), exc.value.problems
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", "rayClusters": [{"name": "train", "secrets": [WANDB, WANDB]}]})
    assert "raydask:rayClusters[0].secrets[1].name: 'wandb' is already the name of secrets[0]" in exc.value.problems
