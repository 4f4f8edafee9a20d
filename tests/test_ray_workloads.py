"""RayJob and RayService: spec rules with their exact messages, the built manifests checked against Ray's own
parsers (runtime env, Serve config), the components under mocks, the stack wiring and the dev/production stacks."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from captured import options_seen
from pydantic import ValidationError
from stack_renders import stack_config

from raydask.builders.ray import build_ray_cluster, ray_cluster_spec
from raydask.builders.ray_job import RERUN_ON_CHANGES, build_ray_job, derived_job_id, ray_job_spec
from raydask.builders.ray_service import build_ray_service, serve_config
from raydask.errors import ConfigError
from raydask.k8s import quantities
from raydask.k8s.manifest import owned
from raydask.k8s.ports import RayPorts
from raydask.offline.validation import upstream
from raydask.program import build_stack, load_stack_spec, main
from raydask.resources.ray_cluster import RayCluster
from raydask.resources.ray_job import RayJob
from raydask.resources.ray_service import RayService
from raydask.spec import MonitoringSpec, RayClusterSpec
from raydask.spec.ray_workloads import (
    EMBEDDED_CLUSTER_EXCLUDES,
    PY_MODULE_ARCHIVES,
    WORKING_DIR_ARCHIVES,
    RayJobSpec,
    RayServiceSpec,
    WorkloadClusterSpec,
    check_package_uri,
)

# Ray Serve 2.60's own models trigger pydantic deprecation warnings on import: not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Using extra keyword arguments on `Field` is deprecated")

JOB: dict[str, Any] = {
    "name": "etl",
    "entrypoint": "python -m etl --date 2026-01-01",
    "runtimeEnv": {
        "pip": ["emoji==2.14.1", "requests>=2.32,<3"],
        "envVars": {"B": "2", "A": "1"},
        "workingDir": "https://github.com/acme/etl/archive/4f1c2d3.zip",
        "pyModules": ["s3://acme-code/libs/helpers-1.0-py3-none-any.whl"],
    },
    "cluster": {
        "head": {"cpu": "1", "memory": "2Gi"},
        "workerGroups": [{"name": "cpu", "minReplicas": 0, "maxReplicas": 3, "cpu": "2", "memory": "4Gi"}],
        "autoscaling": {"idleTimeoutSeconds": 30},
    },
    "ttlSecondsAfterFinished": 300,
    "activeDeadlineSeconds": 3600,
    "backoffLimit": 1,
}

APP: dict[str, Any] = {
    "name": "fruit",
    "importPath": "fruit.deployment_graph",
    "routePrefix": "/fruit",
    "runtimeEnv": {"workingDir": "https://github.com/ray-project/test_dag/archive/78b4a5da38796123d9f9ffff59bab2792a043e95.zip"},
    "deployments": [
        {"name": "MangoStand", "numReplicas": 2, "userConfig": {"price": 3}, "rayActorOptions": {"numCpus": 0.1}},
        {"name": "FruitMarket", "maxOngoingRequests": 8,
         "autoscalingConfig": {"minReplicas": 1, "maxReplicas": 4, "initialReplicas": 2, "targetOngoingRequests": 2,
                               "upscaleDelaySeconds": 10, "downscaleDelaySeconds": 300},
         "rayActorOptions": {"numCpus": 1, "memory": "512Mi"}},
    ],
}
SERVICE: dict[str, Any] = {
    "name": "fruit",
    "applications": [APP, {"name": "calc", "importPath": "conditional_dag:serve_dag", "routePrefix": "/calc"}],
    "cluster": {
        "head": {"cpu": "2", "memory": "4Gi"},
        "workerGroups": [{"name": "cpu", "replicas": 1, "minReplicas": 1, "maxReplicas": 4, "cpu": "2", "memory": "4Gi"}],
        "autoscaling": {},
    },
    "ingress": {"host": "fruit.example.com", "tlsSecret": "fruit-tls", "className": "nginx"},
}


def with_(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``base`` with ``value`` at a dotted path (``cluster.workerGroups.0.name``); ``...`` deletes the key, index len appends."""
    cfg = copy.deepcopy(base)
    node: Any = cfg
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is ...:
        del node[last]
    elif last.isdigit() and int(last) == len(node):
        node.append(value)
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return cfg


def problems(key: str, item: dict[str, Any], **stack: Any) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        load_stack_spec({"namespace": "ml", key: [item], **stack})
    return exc.value.problems


JOB_RULES = [
    ("cluster", ..., ["raydask:rayJobs[0].cluster: set exactly one of cluster (a new cluster for this job) and clusterSelector "
                      "(an existing RayCluster)",
                      "raydask:rayJobs[0].ttlSecondsAfterFinished: only applies with shutdownAfterJobFinishes: true"]),
    ("clusterSelector", "train", "raydask:rayJobs[0].clusterSelector: set exactly one of cluster (a new cluster for this job) "
                                 "and clusterSelector (an existing RayCluster)"),
    ("shutdownAfterJobFinishes", False, "raydask:rayJobs[0].ttlSecondsAfterFinished: only applies with shutdownAfterJobFinishes: true"),
    ("submissionMode", "SidecarMode", "raydask:rayJobs[0].submissionMode: SidecarMode: KubeRay adds its submitter container to "
                                      "the head pod without a securityContext, which Pod Security \"restricted\" refuses: give "
                                      "the head an exception, cluster.head.podSecurity: {level: baseline, reason: ...} (its "
                                      "namespace then enforces baseline), or use K8sJobMode"),
    ("submissionMode", "InteractiveMode", "raydask:rayJobs[0].backoffLimit: must be 0 with InteractiveMode (KubeRay cannot retry "
                                          "interactive jobs)"),
    ("submissionMode", "Batch", "raydask:rayJobs[0].submissionMode: must be one of 'K8sJobMode', 'HTTPMode', 'InteractiveMode' or "
                                "'SidecarMode', got 'Batch'"),
    ("jobId", "etl run", "raydask:rayJobs[0].jobId: 'etl run' must be 1-63 letters, digits, '-', '_' or '.', starting with a "
                         "letter or digit"),
    ("name", "j" * 48, f"raydask:rayJobs[0].name: '{'j' * 48}' is 48 characters; the limit is 47"),
    ("name", "etl_daily", "raydask:rayJobs[0].name: 'etl_daily' is not a DNS-1035 label: lower-case letters, digits and '-', "
                          "starting with a letter, ending with a letter or digit (no dots or underscores)"),
    ("entrypoint", "  ", "raydask:rayJobs[0].entrypoint: must be a command, got an empty string"),
    ("entrypoint", ..., "raydask:rayJobs[0].entrypoint: is required with K8sJobMode (only InteractiveMode, where you submit "
                        "the job yourself, and K8sJobMode with a submitter.command of your own, which KubeRay runs as it "
                        "is, have none): give the command the job runs"),
    ("activeDeadlineSeconds", 0, "raydask:rayJobs[0].activeDeadlineSeconds: must be > 0, got 0"),
    ("ttlSecondsAfterFinished", -1, "raydask:rayJobs[0].ttlSecondsAfterFinished: must be ≥ 0, got -1"),
    ("backoffLimit", 1.5, "raydask:rayJobs[0].backoffLimit: must be a whole number, got 1.5"),
    ("runtimeEnv.pip.1", "emoji=2", "raydask:rayJobs[0].runtimeEnv.pip[1]: 'emoji=2' is not a pip requirement such as "
                                    "'emoji==2.14.1', a URL, or an option of a requirements file"),
    ("runtimeEnv.envVars", {"1X": "y"}, "raydask:rayJobs[0].runtimeEnv.envVars[\"1X\"]: '1X' is not an environment variable name "
                                        "(letters, digits, '_', not starting with a digit)"),
    ("runtimeEnv.workingDir", "./src", "raydask:rayJobs[0].runtimeEnv.workingDir: './src' is not a package URI Ray can fetch on "
                                       "every node: use a https/http/s3/gs/azure/abfss/file URI of a .zip, .tar.gz, .tgz, "
                                       ".tar.xz archive, or local:///path for a directory in the image"),
    ("runtimeEnv.workingDir", "https://github.com/acme/etl", "raydask:rayJobs[0].runtimeEnv.workingDir: "
                                                             "'https://github.com/acme/etl' must point to a .zip, .tar.gz, "
                                                             ".tgz, .tar.xz archive"),
    ("runtimeEnv.workingDir", "local:///app.zip", "raydask:rayJobs[0].runtimeEnv.workingDir: 'local:///app.zip' must be a "
                                                  "directory: a local:// archive is never unpacked"),
    ("runtimeEnv.workingDir", "local://app", "raydask:rayJobs[0].runtimeEnv.workingDir: 'local://app' must be an absolute path "
                                             "in the image: local:///path/to/dir"),
    ("runtimeEnv.pyModules.0", "gs://code/helpers.txt", "raydask:rayJobs[0].runtimeEnv.pyModules[0]: 'gs://code/helpers.txt' must "
                                                        "point to a .zip, .tar.gz, .tgz, .tar.xz, .whl archive"),
    ("runtimeEnv.envVar", {}, "raydask:rayJobs[0].runtimeEnv.envVar: unknown key (did you mean 'envVars'?)"),
    ("cluster.image", "rayproject/ray:2.59.0", "raydask:rayJobs[0].cluster.image: image tag '2.59.0' does not match rayVersion "
                                               "2.60.0; set the matching image or allow the mismatch (allowImageVersionMismatch: true)"),
    ("cluster.workerGroups.1", {"name": "cpu"}, "raydask:rayJobs[0].cluster.workerGroups[1].name: duplicate worker group name 'cpu'"),
    ("cluster.workerGroups.0.minReplicas", 4, "raydask:rayJobs[0].cluster.workerGroups[0].minReplicas: must be ≤ maxReplicas (4 > 3)"),
    ("cluster.name", "etl", "raydask:rayJobs[0].cluster.name: unknown key"),
    ("cluster.dashboard", {}, "raydask:rayJobs[0].cluster.dashboard: unknown key"),
    ("submitter", {"cpu": "2", "cpuLimit": "1"}, "raydask:rayJobs[0].submitter.cpuLimit: must be at least cpu (1 < 2)"),
    ("submitter", {"image": "rayproject/ray:latest"}, "raydask:rayJobs[0].submitter.image: 'rayproject/ray:latest' uses the "
                                                      "':latest' tag; pin a version tag or a digest"),
]


@pytest.mark.parametrize(("path", "value", "message"), JOB_RULES, ids=lambda v: str(v)[:40])
def test_job_rule_messages(path: str, value: Any, message: str | list[str]) -> None:
    assert problems("rayJobs", with_(JOB, path, value)) == (message if isinstance(message, list) else [message])


SELECTOR_JOB = {"name": "report", "entrypoint": "python report.py", "clusterSelector": "train"}
MODE_RULES = [
    ({**SELECTOR_JOB, "shutdownAfterJobFinishes": True},
     "raydask:rayJobs[0].shutdownAfterJobFinishes: only applies to a cluster the job creates; a selected cluster is never deleted"),
    ({**SELECTOR_JOB, "ttlSecondsAfterFinished": 60},
     "raydask:rayJobs[0].ttlSecondsAfterFinished: only applies with shutdownAfterJobFinishes: true"),
    ({**SELECTOR_JOB, "suspend": True}, "raydask:rayJobs[0].suspend: a job on an existing cluster (clusterSelector) cannot be suspended"),
    ({**JOB, "shutdownAfterJobFinishes": False, "ttlSecondsAfterFinished": None, "suspend": True},
     "raydask:rayJobs[0].suspend: requires shutdownAfterJobFinishes: true"),
    ({**SELECTOR_JOB, "submissionMode": "HTTPMode", "submitter": {"cpu": "1"}},
     "raydask:rayJobs[0].submitter: only applies to K8sJobMode (HTTPMode runs no submitter pod)"),
    ({**SELECTOR_JOB, "clusterSelector": "Train"},
     "raydask:rayJobs[0].clusterSelector: 'Train' is not a DNS-1035 label: lower-case letters, digits and '-', starting with a "
     "letter, ending with a letter or digit (no dots or underscores)"),
]


@pytest.mark.parametrize(("job", "message"), MODE_RULES, ids=lambda v: str(v)[:40])
def test_job_mode_rule_messages(job: dict[str, Any], message: str) -> None:
    assert problems("rayJobs", {k: v for k, v in job.items() if v is not None}) == [message]


def app_with(path: str, value: Any) -> dict[str, Any]:
    return with_(SERVICE, path, value)


SERVICE_RULES = [
    ("applications", [], "raydask:rayServices[0].applications: needs at least one Serve application"),
    ("applications", ..., "raydask:rayServices[0].applications: required key is missing"),
    ("applications.1.name", "fruit", "raydask:rayServices[0].applications[1].name: duplicate application name 'fruit'"),
    ("applications.1.routePrefix", "/fruit", "raydask:rayServices[0].applications[1].routePrefix: route prefix '/fruit' is already "
                                             "served by applications[0]"),
    ("applications.0.routePrefix", "fruit", "raydask:rayServices[0].applications[0].routePrefix: 'fruit' must start with '/'"),
    ("applications.0.routePrefix", "/fruit/", "raydask:rayServices[0].applications[0].routePrefix: '/fruit/' must not end with '/'"),
    ("applications.0.routePrefix", "/{id}", "raydask:rayServices[0].applications[0].routePrefix: '/{id}' must not contain wildcards "
                                            "('{' or '}')"),
    ("applications.0.importPath", "fruit", "raydask:rayServices[0].applications[0].importPath: 'fruit' is not an import path Ray "
                                           "can import, such as 'module:app', 'package.module.app' or 'my-dir.module:app' "
                                           "(module parts are file or directory names; one attribute after ':' or the last "
                                           "'.')"),
    ("applications.0.importPath", "a:b:c", "raydask:rayServices[0].applications[0].importPath: 'a:b:c' is not an import path Ray "
                                           "can import, such as 'module:app', 'package.module.app' or 'my-dir.module:app' "
                                           "(module parts are file or directory names; one attribute after ':' or the last "
                                           "'.')"),
    ("applications.0.name", "fruit app", "raydask:rayServices[0].applications[0].name: 'fruit app' is not an application name: "
                                         "letters, digits, '-', '_' or '.'"),
    ("applications.0.deployments.1.name", "MangoStand", "raydask:rayServices[0].applications[0].deployments[1].name: duplicate "
                                                        "deployment name 'MangoStand'"),
    ("applications.0.deployments.1.numReplicas", 2, "raydask:rayServices[0].applications[0].deployments[1].numReplicas: cannot be "
                                                    "combined with autoscalingConfig (Serve sizes the deployment between its "
                                                    "minReplicas and maxReplicas)"),
    ("applications.0.deployments.0.numReplicas", 0, "raydask:rayServices[0].applications[0].deployments[0].numReplicas: must "
                                                    "be > 0, got 0"),
    ("applications.0.deployments.1.autoscalingConfig.minReplicas", 5,
     "raydask:rayServices[0].applications[0].deployments[1].autoscalingConfig.minReplicas: must be ≤ maxReplicas (5 > 4)"),
    ("applications.0.deployments.1.autoscalingConfig.initialReplicas", 6,
     "raydask:rayServices[0].applications[0].deployments[1].autoscalingConfig.initialReplicas: must be between minReplicas and "
     "maxReplicas (6 not in 1..4)"),
    ("applications.0.deployments.0.rayActorOptions.memory", "1GB",
     "raydask:rayServices[0].applications[0].deployments[0].rayActorOptions.memory: '1GB' is not a Kubernetes quantity (use G or Gi)"),
    ("applications.0.deployments.0.rayActorOptions.numGpus", -1,
     "raydask:rayServices[0].applications[0].deployments[0].rayActorOptions.numGpus: must be ≥ 0, got -1"),
    ("applications.0.runtimeEnv.workingDir", "https://github.com/ray-project/test_dag",
     "raydask:rayServices[0].applications[0].runtimeEnv.workingDir: 'https://github.com/ray-project/test_dag' must point to a "
     ".zip, .tar.gz, .tgz, .tar.xz archive"),
    ("upgradeStrategy", "NewClusterWithIncrementalUpgrade", "raydask:rayServices[0].clusterUpgradeOptions: required with "
                                                            "upgradeStrategy NewClusterWithIncrementalUpgrade: set gatewayClassName, "
                                                            "intervalSeconds and stepSizePercent"),
    ("upgradeStrategy", "BlueGreen", "raydask:rayServices[0].upgradeStrategy: must be one of 'NewCluster', 'None' or "
                                     "'NewClusterWithIncrementalUpgrade', got 'BlueGreen'"),
    ("name", "s" * 48, f"raydask:rayServices[0].name: '{'s' * 48}' is 48 characters; the limit is 47"),
    ("ingress.host", "Fruit_Shop", "raydask:rayServices[0].ingress.host: 'Fruit_Shop' is not a DNS host name: lower-case letters, "
                                   "digits, '-' and '.'"),
    ("cluster.head.cpu", "two", "raydask:rayServices[0].cluster.head.cpu: 'two' is not a Kubernetes quantity"),
    ("cluster.serve", {}, "raydask:rayServices[0].cluster.serve: unknown key"),
]


@pytest.mark.parametrize(("path", "value", "message"), SERVICE_RULES, ids=lambda v: str(v)[:40])
def test_service_rule_messages(path: str, value: Any, message: str) -> None:
    assert problems("rayServices", app_with(path, value)) == [message]


def test_names_are_unique_across_clusters_jobs_and_services_per_namespace() -> None:
    cluster = {"name": "etl"}
    assert problems("rayJobs", JOB, rayClusters=[cluster]) == [
        "raydask:rayJobs[0].name: duplicate cluster name 'etl' in namespace 'ml' (also rayClusters[0])"]
    assert problems("rayServices", {**SERVICE, "name": "etl"}, rayJobs=[JOB]) == [
        "raydask:rayServices[0].name: duplicate cluster name 'etl' in namespace 'ml' (also rayJobs[0])"]
    assert problems("rayJobs", JOB, rayJobs=[JOB, JOB])[0].startswith("raydask:rayJobs[1].name: duplicate cluster name 'etl'")
    spec = load_stack_spec({"namespace": "ml", "rayClusters": [cluster], "rayJobs": [{**JOB, "namespace": "batch"}],
                            "rayServices": [{**SERVICE, "namespace": "serve"}]})
    assert spec.namespaces() == ["ml", "batch", "serve"]


def test_workload_cluster_is_a_cluster_spec_without_name_namespace_or_exposure() -> None:
    """Fails when RayClusterSpec gains a field: decide whether a RayJob/RayService cluster gets it too."""
    assert set(RayClusterSpec.model_fields) - set(WorkloadClusterSpec.model_fields) == EMBEDDED_CLUSTER_EXCLUDES
    assert set(WorkloadClusterSpec.model_fields) <= set(RayClusterSpec.model_fields)
    for name, f in WorkloadClusterSpec.model_fields.items():
        assert f.annotation == RayClusterSpec.model_fields[name].annotation, name
    wc = WorkloadClusterSpec.model_validate(JOB["cluster"])
    assert wc.to_cluster("etl", "ml") == RayClusterSpec.model_validate({**JOB["cluster"], "name": "etl", "namespace": "ml"})


# ---- runtime environment and Serve config, checked with Ray's own parsers ----------------------------------------


def test_runtime_env_yaml_is_exact_and_parsed_by_ray() -> None:
    from ray.runtime_env import RuntimeEnv

    job = RayJobSpec.model_validate(JOB)
    text = ray_job_spec(job, "ml")["runtimeEnvYAML"]
    assert text == (
        "pip:\n- emoji==2.14.1\n- requests>=2.32,<3\n"
        "env_vars:\n  A: '1'\n  B: '2'\n"
        "working_dir: https://github.com/acme/etl/archive/4f1c2d3.zip\n"
        "py_modules:\n- s3://acme-code/libs/helpers-1.0-py3-none-any.whl\n"
    )
    env = RuntimeEnv(**yaml.safe_load(text))
    assert env.pip_config()["packages"] == ["emoji==2.14.1", "requests>=2.32,<3"]
    assert env.env_vars() == {"A": "1", "B": "2"}
    assert env.working_dir_uri() == "https://github.com/acme/etl/archive/4f1c2d3.zip"
    assert env.py_modules_uris() == ["s3://acme-code/libs/helpers-1.0-py3-none-any.whl"]
    assert "runtimeEnvYAML" not in ray_job_spec(RayJobSpec.model_validate({**JOB, "runtimeEnv": {}}), "ml")


URIS = [
    "https://github.com/org/repo/archive/abc.zip", "s3://bucket/code.tar.gz", "gs://b/x.tgz", "local:///home/ray/app",
    "file:///mnt/code.zip", "azure://c/x.zip", "abfss://c@acct.dfs.core.windows.net/x.tar.xz", "https://x/y.zip?token=1",
    "s3://package.zip", "s3://b/m.whl", "./src", "/abs/path", "https://example.com/code", "local:///app.zip", "ftp://x/y.zip",
    "local://app", "gcs://b/x.zip", "https://x/y.tar.bz2",
]


@pytest.mark.parametrize("uri", URIS)
def test_package_uri_rules_agree_with_ray(uri: str) -> None:
    from ray._private.runtime_env.validation import validate_uri

    for field, archives in (("working_dir", WORKING_DIR_ARCHIVES), ("py_modules", PY_MODULE_ARCHIVES)):
        try:
            validate_uri(uri, field)
            ray_accepts = True
        except ValueError:
            ray_accepts = False
        try:
            check_package_uri(uri, archives)
            we_accept = True
        except ValueError:
            we_accept = False
        assert we_accept == ray_accepts, (field, uri)


def test_serve_config_validates_with_ray_serve_schema() -> None:
    from ray.serve.config import AutoscalingConfig
    from ray.serve.schema import ServeDeploySchema

    svc = RayServiceSpec.model_validate(SERVICE)
    text = build_ray_service(svc, "ml").service["spec"]["serveConfigV2"]
    assert yaml.safe_load(text) == serve_config(svc)
    schema = ServeDeploySchema.model_validate(yaml.safe_load(text))
    assert schema.http_options.port == RayPorts.SERVE and schema.http_options.host == "0.0.0.0"
    fruit, calc = schema.applications
    assert (fruit.name, fruit.import_path, fruit.route_prefix) == ("fruit", "fruit.deployment_graph", "/fruit")
    assert fruit.runtime_env == {"working_dir": APP["runtimeEnv"]["workingDir"]}
    assert (calc.import_path, calc.route_prefix, calc.deployments) == ("conditional_dag:serve_dag", "/calc", [])
    mango, market = fruit.deployments
    assert mango.num_replicas == 2 and mango.user_config == {"price": 3} and mango.ray_actor_options.num_cpus == 0.1
    assert market.max_ongoing_requests == 8
    assert market.ray_actor_options.num_cpus == 1 and market.ray_actor_options.memory == 512 * 2**20
    auto = AutoscalingConfig(**market.autoscaling_config)
    assert (auto.min_replicas, auto.max_replicas, auto.initial_replicas, auto.target_ongoing_requests) == (1, 4, 2, 2)
    assert (auto.upscale_delay_s, auto.downscale_delay_s) == (10, 300)
    assert "num_cpus: 1\n" in text and "num_cpus: 1.0" not in text


@pytest.mark.parametrize(("path", "value"), [
    ("applications.0.deployments.1.numReplicas", 2),
    ("applications.1.name", "fruit"),
    ("applications.1.routePrefix", "/fruit"),
    ("applications.0.importPath", "a:b:c"),
    ("applications.0.routePrefix", "/fruit/"),
])
def test_what_we_refuse_ray_serve_refuses_too(path: str, value: Any) -> None:
    """Our rules mirror Serve's: the raw config (bypassing our models) is rejected by Ray as well."""
    from ray.serve._private.utils import validate_route_prefix
    from ray.serve.schema import ServeDeploySchema

    good = serve_config(RayServiceSpec.model_validate(SERVICE))
    raw = copy.deepcopy(good)
    ray_key = {"numReplicas": "num_replicas", "importPath": "import_path", "routePrefix": "route_prefix"}
    parts = path.split(".")
    node: Any = raw
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[ray_key.get(parts[-1], parts[-1])] = value
    with pytest.raises(ValueError):
        schema = ServeDeploySchema.model_validate(raw)
        for app in schema.applications:
            validate_route_prefix(app.route_prefix)


IMPORTABLE = ["fruit.deployment_graph", "text_ml:app", "ray-operator.config.samples.ray-serve.single_deployment_dag:DagNode",
              "my-dir.serve_app.app", "pkg.sub:build_app"]
UNIMPORTABLE = ["fruit", "a:b:c", "mod:app.attr", "mod..app", ".mod:app", "mod:", "mod:1app", "my dir.mod:app"]


@pytest.mark.parametrize("path", IMPORTABLE)
def test_import_paths_ray_imports_are_accepted(path: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """KubeRay's samples import from directories with '-' in their names (``ray-operator.config.samples…``): Ray imports
    the module with ``importlib`` (``import_module_and_attr``) from the working directory, so file and directory names
    are fine; Serve's schema takes them too."""
    from ray._common.utils import import_module_and_attr
    from ray.serve.schema import ServeApplicationSchema

    module, _, attr = path.rpartition(":") if ":" in path else path.rpartition(".")
    parts = module.split(".")
    directory = tmp_path.joinpath(*parts[:-1])
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{parts[-1]}.py").write_text(f"{attr} = 'found'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_module_and_attr(path)[1] == "found"
    ServeApplicationSchema.model_validate({"import_path": path})
    app = RayServiceSpec.model_validate({**SERVICE, "applications": [{"name": "a", "importPath": path}]}).applications[0]
    assert app.import_path == path


@pytest.mark.parametrize("path", UNIMPORTABLE)
def test_import_paths_ray_cannot_import_are_refused(path: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused, and Ray fails on them too (its schema, or its import with every file in place)."""
    from ray._common.utils import import_module_and_attr
    from ray.serve.schema import ServeApplicationSchema

    with pytest.raises(ValidationError):
        RayServiceSpec.model_validate({**SERVICE, "applications": [{"name": "a", "importPath": path}]})
    (tmp_path / "mod.py").write_text("app = 'found'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises((ValueError, ImportError, AttributeError, TypeError)):
        ServeApplicationSchema.model_validate({"import_path": path})
        import_module_and_attr(path)


# ---- RayJob manifests -------------------------------------------------------------------------------------------


def job_built(cfg: dict[str, Any] | None = None, monitoring: MonitoringSpec | None = None) -> Any:
    return build_ray_job(RayJobSpec.model_validate(cfg or JOB), "ml", monitoring)


def test_job_reuses_the_cluster_builders_and_owns_its_cluster() -> None:
    job = RayJobSpec.model_validate(JOB)
    rj = job_built().job
    assert (rj["apiVersion"], rj["kind"], rj["metadata"]["name"], rj["metadata"]["namespace"]) == ("ray.io/v1", "RayJob", "etl", "ml")
    spec = rj["spec"]
    assert job.cluster is not None
    assert spec["rayClusterSpec"] == ray_cluster_spec(job.cluster.to_cluster("etl", "ml"))
    assert spec["entrypoint"] == JOB["entrypoint"] and spec["submissionMode"] == "K8sJobMode"
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] == 300
    assert spec["activeDeadlineSeconds"] == 3600 and spec["backoffLimit"] == 1 and spec["suspend"] is False
    assert "clusterSelector" not in spec
    head = spec["rayClusterSpec"]["headGroupSpec"]["template"]
    assert head["metadata"]["labels"]["app.kubernetes.io/instance"] == "etl"
    assert spec["rayClusterSpec"]["workerGroupSpecs"][0]["maxReplicas"] == 3
    assert spec["rayClusterSpec"]["enableInTreeAutoscaling"] is True


def test_submitter_pod_is_restricted_with_requests_and_limits() -> None:
    tmpl = job_built().job["spec"]["submitterPodTemplate"]
    pod = tmpl["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 100, "fsGroup": 100,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    (c,) = pod["containers"]
    assert c["name"] == "ray-job-submitter" and "command" not in c  # KubeRay fills in `ray job submit …`
    assert c["image"] == "rayproject/ray:2.60.0"
    assert c["resources"] == {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"cpu": "250m", "memory": "512Mi"}}
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"} and sc["readOnlyRootFilesystem"] is True
    assert c["env"] == [{"name": "HOME", "value": "/tmp"}, {"name": "USER", "value": "ray"}] and c["workingDir"] == "/tmp"
    assert c["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]
    assert tmpl["metadata"]["labels"]["app.kubernetes.io/component"] == "submitter"
    custom = job_built(with_(JOB, "submitter", {"cpu": "100m", "cpuLimit": "1", "memory": "256Mi", "serviceAccount": "jobs",
                                                "nodeSelector": {"pool": "system"}, "env": {"RAY_LOG": "debug"}}))
    pod = custom.job["spec"]["submitterPodTemplate"]["spec"]
    assert pod["containers"][0]["resources"]["limits"] == {"cpu": "1", "memory": "256Mi"}
    assert pod["serviceAccountName"] == "jobs" and pod["nodeSelector"] == {"pool": "system"}
    assert pod["containers"][0]["env"] == [{"name": "HOME", "value": "/tmp"}, {"name": "RAY_LOG", "value": "debug"},
                                           {"name": "USER", "value": "ray"}]  # sorted
    gpu_job = with_(with_(JOB, "cluster.head.gpus", 1), "cluster.head.tolerations", [{"key": "nvidia.com/gpu", "operator": "Exists"}])
    gpu_head = job_built(gpu_job).job["spec"]["submitterPodTemplate"]["spec"]
    assert gpu_head["containers"][0]["image"] == "rayproject/ray:2.60.0-gpu"  # the head's image, as KubeRay's default does


def test_submission_modes() -> None:
    http = job_built({**JOB, "submissionMode": "HTTPMode"}).job["spec"]
    assert http["submissionMode"] == "HTTPMode" and "submitterPodTemplate" not in http and http["jobId"].startswith("etl-")
    interactive = job_built({**JOB, "submissionMode": "InteractiveMode", "backoffLimit": 0}).job["spec"]
    assert "jobId" not in interactive and "submitterPodTemplate" not in interactive
    named = job_built({**JOB, "submissionMode": "InteractiveMode", "backoffLimit": 0, "jobId": "etl-manual"})
    assert named.job["spec"]["jobId"] == "etl-manual" and named.job_id == "etl-manual"


def test_job_id_is_stable_per_definition() -> None:
    first, again = job_built(), job_built()
    assert first.job_id == again.job_id == first.job["spec"]["jobId"]
    assert first.job_id == derived_job_id("etl", {k: v for k, v in first.job["spec"].items() if k != "jobId"})
    assert len(first.job_id) == len("etl-") + 8
    assert job_built({**JOB, "entrypoint": "python -m etl --date 2026-01-02"}).job_id != first.job_id
    assert job_built(with_(JOB, "cluster.head.memory", "4Gi")).job_id != first.job_id
    assert job_built({**JOB, "suspend": True}).job_id == first.job_id  # suspending is not a new job
    assert job_built({**JOB, "jobId": "nightly-42"}).job["spec"]["jobId"] == "nightly-42"


def test_job_on_existing_cluster() -> None:
    b = job_built(SELECTOR_JOB, MonitoringSpec())
    spec = b.job["spec"]
    assert spec["clusterSelector"] == {"ray.io/cluster": "train"} and "rayClusterSpec" not in spec
    assert spec["shutdownAfterJobFinishes"] is False and "ttlSecondsAfterFinished" not in spec
    assert spec["submitterPodTemplate"]["spec"]["containers"][0]["image"] == "rayproject/ray:2.60.0"
    assert b.dashboard_url == "http://train-head-svc.ml.svc.cluster.local:8265"
    assert b.services == [] and b.monitors == []  # the selected cluster monitors itself


def test_job_dashboard_url_and_monitoring_of_its_cluster() -> None:
    b = job_built(monitoring=MonitoringSpec(prometheus_release="prom"))
    assert b.dashboard_url == "http://etl-head-svc.ml.svc.cluster.local:8265"  # KubeRay's per-RayJob head Service
    assert [(o["kind"], o["metadata"]["name"]) for o in b.objects()] == [
        ("RayJob", "etl"), ("Service", "etl-metrics"), ("ServiceMonitor", "etl-ray")]
    reference = build_ray_cluster(RayClusterSpec.model_validate({**JOB["cluster"], "name": "etl"}), "ml",
                                  MonitoringSpec(prometheus_release="prom"))
    assert b.services == [s for s in reference.services if s["metadata"]["name"] == "etl-metrics"]
    assert b.monitors == reference.monitors
    assert job_built(with_(JOB, "cluster.monitoring", False), MonitoringSpec()).objects() == [job_built().job]


def scraped_targets(pod_templates: dict[str, dict[str, Any]], service: dict[str, Any], monitor: dict[str, Any]) -> list[tuple[str, str]]:
    """(pod, port) pairs the ServiceMonitor scrapes through the metrics Service."""
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    ports = {e["port"] for e in monitor["spec"]["endpoints"]}
    out = []
    for name, tmpl in pod_templates.items():
        if not service["spec"]["selector"].items() <= tmpl["metadata"]["labels"].items():
            continue
        declared = {p["name"] for c in tmpl["spec"]["containers"] for p in c.get("ports", [])}
        out += [(name, p["name"]) for p in service["spec"]["ports"] if p["name"] in ports and p["targetPort"] in declared]
    return out


def test_each_job_pod_scraped_exactly_once() -> None:
    b = job_built(monitoring=MonitoringSpec())
    rc = b.job["spec"]["rayClusterSpec"]
    templates = {"head": rc["headGroupSpec"]["template"], "submitter": b.job["spec"]["submitterPodTemplate"],
                 **{g["groupName"]: g["template"] for g in rc["workerGroupSpecs"]}}
    targets = scraped_targets(templates, b.services[0], b.monitors[0])
    assert sorted(targets) == sorted([("head", "metrics"), ("head", "as-metrics"), ("head", "dash-metrics"), ("cpu", "metrics")])


# ---- RayService manifests ---------------------------------------------------------------------------------------


def test_service_manifest_ingress_and_monitoring() -> None:
    svc = RayServiceSpec.model_validate(SERVICE)
    b = build_ray_service(svc, "ml", MonitoringSpec(prometheus_release="prom"))
    assert [(o["kind"], o["metadata"]["name"]) for o in b.objects()] == [
        ("RayService", "fruit"), ("Service", "fruit-metrics"), ("Ingress", "fruit-serve"), ("ServiceMonitor", "fruit-ray")]
    rs = b.service["spec"]
    assert rs["rayClusterConfig"] == ray_cluster_spec(svc.cluster.to_cluster("fruit", "ml"))
    assert rs["upgradeStrategy"] == {"type": "NewCluster"}
    head = rs["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    assert {"name": "serve", "containerPort": 8000, "protocol": "TCP"} in head["ports"]  # what KubeRay's serve Service targets
    ing = next(o for o in b.ingresses if o["metadata"]["name"] == "fruit-serve")["spec"]
    assert ing["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "fruit-serve-svc", "port": {"name": "serve"}}
    assert ing["tls"] == [{"hosts": ["fruit.example.com"], "secretName": "fruit-tls"}] and ing["ingressClassName"] == "nginx"
    assert b.endpoints is not None
    assert b.endpoints.serve_url == "http://fruit-serve-svc.ml.svc.cluster.local:8000"
    assert b.endpoints.dashboard_url == "http://fruit-head-svc.ml.svc.cluster.local:8265"
    assert b.endpoints.serve_ingress_url == "https://fruit.example.com/"
    rc = rs["rayClusterConfig"]
    templates = {"head": rc["headGroupSpec"]["template"], **{g["groupName"]: g["template"] for g in rc["workerGroupSpecs"]}}
    assert sorted(scraped_targets(templates, b.services[0], b.monitors[0])) == sorted(
        [("head", "metrics"), ("head", "as-metrics"), ("head", "dash-metrics"), ("cpu", "metrics")])
    for t in templates.values():
        pod = t["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert all(c["securityContext"]["allowPrivilegeEscalation"] is False for c in pod["containers"])
    assert build_ray_service(RayServiceSpec.model_validate({**SERVICE, "ingress": None}), "ml").ingresses == []
    minimal = build_ray_service(RayServiceSpec.model_validate({"name": "tiny", "applications": [{"name": "a", "importPath": "m:app"}]}),
                                "ml")
    assert minimal.service["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"][
        "requests"] == {"cpu": "1", "memory": "2Gi"}


# ---- validators shared with the rest of the project ---------------------------------------------------------------


def test_built_workloads_validate_against_the_crds_and_ray_autoscaler() -> None:
    from raydask.offline.validation import validate_objects
    from raydask.offline.validation.consumers import check_ray_autoscaler

    variants = [
        job_built(monitoring=MonitoringSpec()).objects(),
        job_built({**JOB, "submissionMode": "HTTPMode"}).objects(),
        job_built({**JOB, "submissionMode": "InteractiveMode", "backoffLimit": 0}).objects(),
        job_built({**SELECTOR_JOB, "submitter": {"cpu": "100m", "memory": "256Mi", "serviceAccount": "jobs"}}).objects(),
        build_ray_service(RayServiceSpec.model_validate(SERVICE), "ml", MonitoringSpec()).objects(),
    ]
    for objects in variants:
        assert [str(f) for f in validate_objects(objects)] == [], objects[0]["metadata"]["name"]
        if "clusterSelector" not in objects[0]["spec"]:
            assert list(check_ray_autoscaler(objects[0])) == [], objects[0]["metadata"]["name"]


# ---- components under the mock engine ---------------------------------------------------------------------------


def test_job_component_registers_job_and_outputs(run_program: Any) -> None:
    plain: list[Any] = []

    def program() -> None:
        job = RayJob("etl", JOB, namespace="ml", monitoring=MonitoringSpec())
        plain.append(job.endpoints)
        pulumi.export("jobId", job.job_id)
        pulumi.export("dashboard", job.dashboard_url)
        pulumi.export("name", job.job_name)

    result = run_program(program)
    types = [r.type for r in result.resources]
    assert types[:2] == ["raydask:ray:RayJob", "kubernetes:ray.io/v1:RayJob"]
    assert sorted(types[2:]) == ["kubernetes:core/v1:Service", "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"]
    rj = result.objects()[0]
    assert rj == owned(job_built(monitoring=MonitoringSpec()).job)
    assert isinstance(rj["spec"]["ttlSecondsAfterFinished"], int)
    assert result.outputs == {"jobId": rj["spec"]["jobId"], "dashboard": "http://etl-head-svc.ml.svc.cluster.local:8265", "name": "etl"}
    assert (plain[0].job_id, plain[0].dashboard_url) == (result.outputs["jobId"], result.outputs["dashboard"])


def test_service_component_registers_service_ingress_and_outputs(run_program: Any) -> None:
    plain: list[Any] = []

    def program() -> None:
        svc = RayService("fruit", RayServiceSpec.model_validate(SERVICE), namespace="ml")
        plain.append(svc.endpoints)
        pulumi.export("serve", svc.serve_url)
        pulumi.export("ingress", svc.serve_ingress_url)
        pulumi.export("dashboard", svc.dashboard_url)
        pulumi.export("serveService", svc.serve_service_name)

    result = run_program(program)
    assert [r.type for r in result.resources] == [
        "raydask:ray:RayService", "kubernetes:ray.io/v1:RayService", "kubernetes:networking.k8s.io/v1:Ingress"]
    assert result.outputs == {"serve": "http://fruit-serve-svc.ml.svc.cluster.local:8000", "ingress": "https://fruit.example.com/",
                              "dashboard": "http://fruit-head-svc.ml.svc.cluster.local:8265", "serveService": "fruit-serve-svc"}
    ep = plain[0]
    assert (ep.serve_url, ep.serve_ingress_url, ep.dashboard_url, ep.serve_service) == (
        result.outputs["serve"], result.outputs["ingress"], result.outputs["dashboard"], result.outputs["serveService"])
    assert result.objects()[0]["spec"]["serveConfigV2"] == build_ray_service(RayServiceSpec.model_validate(SERVICE), "ml").service[
        "spec"]["serveConfigV2"]


def test_components_report_bad_input_and_missing_namespace(run_program: Any) -> None:
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayJob("etl", {**JOB, "entrypoint": ""}, namespace="ml"))
    assert exc.value.problems == ["RayJob(etl).entrypoint: must be a command, got an empty string"]
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayJob("etl", JOB))
    assert exc.value.problems == ["RayJob(etl).namespace: required (no stack namespace given)"]
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayService("fruit", {**SERVICE, "applications": []}, namespace="ml"))
    assert exc.value.problems == ["RayService(fruit).applications: needs at least one Serve application"]
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayService("fruit", SERVICE))
    assert exc.value.problems == ["RayService(fruit).namespace: required (no stack namespace given)"]


def test_child_options_parent_protect_and_job_replacement(run_program: Any) -> None:
    seen, capture = options_seen()
    def program() -> None:
        opts = pulumi.ResourceOptions(protect=True, retain_on_delete=True, transformations=[capture])
        RayJob("etl", JOB, namespace="ml", monitoring=MonitoringSpec(), opts=opts)
        RayService("fruit", SERVICE, namespace="ml", monitoring=MonitoringSpec(), opts=opts)

    run_program(program)
    children = {n: o for n, o in seen.items() if o.parent is not None}
    assert set(children) == {"etl", "etl-service-etl-metrics", "etl-servicemonitor-etl-ray", "fruit", "fruit-service-fruit-metrics",
                             "fruit-ingress-fruit-serve", "fruit-servicemonitor-fruit-ray"}
    for name, opts in children.items():
        assert opts.protect is True and opts.retain_on_delete is True, name
    job = children["etl"]
    assert job.replace_on_changes == RERUN_ON_CHANGES and job.delete_before_replace is True
    assert "spec.suspend" not in RERUN_ON_CHANGES and "spec.entrypoint" in RERUN_ON_CHANGES
    # every key of the RayJob spec but suspend
    crd = yaml.safe_load((upstream.kuberay_crd_dir("1.7.0") / "ray.io_rayjobs.yaml").read_text())
    keys = set(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"])
    assert {p.removeprefix("spec.") for p in RERUN_ON_CHANGES} == keys - {"suspend"}
    assert set(job_built().job["spec"]) - {"suspend"} <= {p.removeprefix("spec.") for p in RERUN_ON_CHANGES}
    assert not children["fruit"].replace_on_changes  # a RayService upgrades in place, without downtime


def test_program_wires_jobs_and_services_after_operator_namespaces_and_clusters(run_program: Any, project_root: Path) -> None:
    deps: dict[tuple[str, str], list[Any]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        deps[(args.type_, args.name)] = list(args.opts.depends_on or [])

    cfg = {"namespace": "ml", "kuberay": {"version": "1.7.0"}, "rayClusters": [{"name": "train"}],
           "rayJobs": [SELECTOR_JOB, {**JOB, "namespace": "batch"}], "rayServices": [SERVICE]}

    def program() -> None:
        pulumi.runtime.register_stack_transformation(capture)
        for key, value in build_stack(load_stack_spec(cfg), project_root).items():
            pulumi.export(key, value)

    result = run_program(program)
    names = {(o["kind"], o["metadata"]["name"]) for o in result.objects()}
    assert {("Namespace", "ml"), ("Namespace", "batch"), ("RayJob", "report"), ("RayJob", "etl"), ("RayService", "fruit")} <= names
    report = deps[("kubernetes:ray.io/v1:RayJob", "report")]
    assert any(isinstance(d, RayCluster) for d in report)  # a job on a stack cluster waits for it
    for kind, name in [("RayJob", "report"), ("RayJob", "etl"), ("RayService", "fruit")]:
        assert {d._type.rsplit(":", 1)[-1] for d in deps[(f"raydask:ray:{kind}", name)]} == {"Namespace"}, name
        assert "KubeRayOperator" in {d._type.rsplit(":", 1)[-1] for d in deps[(f"kubernetes:ray.io/v1:{kind}", name)]}, name
    assert not any(isinstance(d, RayCluster) for d in deps[("kubernetes:ray.io/v1:RayJob", "etl")])
    assert result.outputs["rayJobs"]["report"] == {"namespace": "ml", "jobId": job_built(SELECTOR_JOB).job_id,
                                                   "dashboardUrl": "http://train-head-svc.ml.svc.cluster.local:8265",
                                                   "jobName": "report"}
    assert result.outputs["rayJobs"]["etl"]["dashboardUrl"] == "http://etl-head-svc.batch.svc.cluster.local:8265"
    assert result.outputs["rayServices"]["fruit"] == {
        "namespace": "ml", "serveService": "fruit-serve-svc", "serveUrl": "http://fruit-serve-svc.ml.svc.cluster.local:8000",
        "serveIngressUrl": "https://fruit.example.com/", "dashboardUrl": "http://fruit-head-svc.ml.svc.cluster.local:8265"}


# ---- the dev and production stacks --------------------------------------------------------------------------------


def pod_requests(pod: dict[str, Any]) -> tuple[Decimal, int]:
    cpu, mem = Decimal(0), 0
    for c in pod.get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        cpu += quantities.cores(req.get("cpu", "0"))
        mem += quantities.bytes_of(req.get("memory", "0"))
    return cpu, mem


def ray_requests(objects: list[dict[str, Any]]) -> tuple[Decimal, int]:
    """Requests of every Ray pod at maximum scale: clusters, job clusters, submitters, service clusters, autoscalers."""
    cpu, mem = Decimal(0), 0

    def add(pod: dict[str, Any], times: int = 1) -> None:
        nonlocal cpu, mem
        c, m = pod_requests(pod)
        cpu, mem = cpu + c * times, mem + m * times

    for o in objects:
        clusters = {"RayCluster": o["spec"], "RayJob": o["spec"].get("rayClusterSpec"),
                    "RayService": o["spec"].get("rayClusterConfig")}.get(o["kind"]) if "spec" in o else None
        if o["kind"] == "RayJob" and "submitterPodTemplate" in o["spec"]:
            add(o["spec"]["submitterPodTemplate"]["spec"])
        if not clusters:
            continue
        add(clusters["headGroupSpec"]["template"]["spec"])
        if clusters.get("enableInTreeAutoscaling"):
            add({"containers": [clusters["autoscalerOptions"]]})
        for g in clusters["workerGroupSpecs"]:
            add(g["template"]["spec"], g["maxReplicas"])
    return cpu, mem


@pytest.fixture
def dev(run_program: Any, project_root: Path) -> Any:
    return run_program(main, config=stack_config("dev"), stack="dev")


@pytest.fixture
def production(run_program: Any, project_root: Path) -> Any:
    from raydask.spec.security import OFFLINE_SECRET_CONFIG

    return run_program(main, config={**stack_config("production"), **OFFLINE_SECRET_CONFIG}, secret_keys=list(OFFLINE_SECRET_CONFIG),
                       stack="production")


def workload_objects(result: Any, kind: str, name: str) -> list[dict[str, Any]]:
    """The workload and every object labelled as its instance (metrics Service, monitor, Ingress)."""
    children = ("Service", "ServiceMonitor", "Ingress")
    return [o for o in result.objects()
            if (o["kind"] == kind and o["metadata"]["name"] == name)
            or (o["kind"] in children and o["metadata"]["labels"].get("app.kubernetes.io/instance") == name)]


def test_dev_stack_has_a_small_job_that_fits_the_laptop_budget(dev: Any) -> None:
    from raydask.offline.validation import validate_objects
    from raydask.offline.validation.consumers import check_ray_autoscaler

    (job,) = [o for o in dev.objects() if o["kind"] == "RayJob"]
    spec = job["spec"]
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] == 300
    assert spec["rayClusterSpec"]["workerGroupSpecs"] == []
    assert spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {
        "cpu": "500m", "memory": "1Gi"}
    assert yaml.safe_load(spec["runtimeEnvYAML"])["pip"] == ["emoji==2.14.1"]
    cpu, mem = ray_requests(dev.objects())
    assert cpu <= 4 and mem <= 8 * 2**30, (cpu, mem)
    assert dev.outputs["rayJobs"]["hello"]["jobId"] == spec["jobId"]
    assert dev.outputs["rayJobs"]["hello"]["dashboardUrl"] == "http://hello-head-svc.ray-dev.svc.cluster.local:8265"
    assert [str(f) for f in validate_objects(workload_objects(dev, "RayJob", "hello"))] == []
    assert list(check_ray_autoscaler(job)) == []


def test_production_stack_serves_fruit_with_tls_autoscaling_and_monitoring(production: Any) -> None:
    from ray.serve.schema import ServeDeploySchema

    from raydask.offline.validation import validate_objects
    from raydask.offline.validation.consumers import check_ray_autoscaler

    (svc,) = [o for o in production.objects() if o["kind"] == "RayService"]
    spec = svc["spec"]
    config = ServeDeploySchema.model_validate(yaml.safe_load(spec["serveConfigV2"]))
    (app,) = config.applications
    assert app.import_path == "fruit.deployment_graph" and app.runtime_env["working_dir"].endswith(".zip")
    assert any(d.autoscaling_config for d in app.deployments)
    assert all(not d.ray_actor_options.num_gpus for d in app.deployments)
    cluster = spec["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True
    assert all("nvidia.com/gpu" not in c["resources"]["limits"]
               for t in [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]] for c in t["template"]["spec"]["containers"])
    objs = workload_objects(production, "RayService", "fruit")
    assert {(o["kind"], o["metadata"]["name"]) for o in objs} == {
        ("RayService", "fruit"), ("Service", "fruit-metrics"), ("ServiceMonitor", "fruit-ray"), ("Ingress", "fruit-serve")}
    ing = next(o for o in objs if o["kind"] == "Ingress")["spec"]
    assert ing["tls"] == [{"hosts": ["fruit.example.com"], "secretName": "fruit-tls"}]
    assert production.outputs["rayServices"]["fruit"]["serveIngressUrl"] == "https://fruit.example.com/"
    assert [str(f) for f in validate_objects(objs)] == []
    assert list(check_ray_autoscaler(svc)) == []


def test_readme_example_is_valid_config() -> None:
    from stack_renders import ROOT

    text = (ROOT / "docs" / "workloads.md").read_text()
    section = text[text.index("## Ray jobs and Ray Serve"):]
    block = section[section.index("```yaml") + len("```yaml"):section.index("```\n", section.index("```yaml") + 7)]
    config = {k.removeprefix("raydask:"): v for k, v in yaml.safe_load(block).items()}
    spec = load_stack_spec({"namespace": "ml", **config})
    assert [j.name for j in spec.ray_jobs] == ["nightly-etl"] and [s.name for s in spec.ray_services] == ["fruit"]
    assert spec.ray_jobs[0].shutdown is True


def test_entrypoint_reservations_and_interactive_mode_without_an_entrypoint() -> None:
    from test_properties import assert_valid, build

    job = {"name": "tpu", "entrypoint": "python -m train", "cluster": {}, "entrypointNumCpus": 0.5, "entrypointNumGpus": 1,
           "entrypointResources": {"TPU": 4}}
    interactive = {"name": "notebook", "submissionMode": "InteractiveMode", "cluster": {}}
    objs = build({"namespace": "ml", "rayJobs": [job, interactive]})
    assert_valid(objs, "1.31")  # the RayJob CRD's schema
    specs = {o["metadata"]["name"]: o["spec"] for o in objs if o["kind"] == "RayJob"}
    assert (specs["tpu"]["entrypointNumCpus"], specs["tpu"]["entrypointNumGpus"]) == (0.5, 1)
    assert specs["tpu"]["entrypointResources"] == '{"TPU": 4}'
    assert "entrypoint" not in specs["notebook"] and "jobId" not in specs["notebook"]
    assert problems("rayJobs", {**job, "entrypointResources": {"GPU": 1}}) == [
        "raydask:rayJobs[0].entrypointResources.GPU: 'GPU' is set with entrypointNumGpus"]


def test_a_job_on_a_stack_cluster_submits_with_that_clusters_image() -> None:
    from test_properties import engine

    objs = engine({"namespace": "ml", "rayClusters": [{"name": "train", "image": "example.com/ray:2.60.0-custom"}],
                   "rayJobs": [{"name": "nightly", "entrypoint": "python -m x", "clusterSelector": "train"},
                               {"name": "pinned", "entrypoint": "python -m x", "clusterSelector": "train",
                                "submitter": {"image": "rayproject/ray:2.60.0"}}]})
    assert not isinstance(objs, ConfigError), objs
    images = {o["metadata"]["name"]: o["spec"]["submitterPodTemplate"]["spec"]["containers"][0]["image"]
              for o in objs if o["kind"] == "RayJob"}
    assert images == {"nightly": "example.com/ray:2.60.0-custom", "pinned": "rayproject/ray:2.60.0"}


def test_serve_deployment_options_validate_with_ray_serve_schema() -> None:
    from ray.serve.schema import ServeDeploySchema
    from test_properties import build

    deployments = [
        {"name": "Spread", "maxReplicasPerNode": 1, "maxQueuedRequests": 100, "gracefulShutdownTimeoutSeconds": 60,
         "gracefulShutdownWaitLoopSeconds": 1, "healthCheckPeriodSeconds": 5, "healthCheckTimeoutSeconds": 10,
         "loggingConfig": {"log_level": "DEBUG", "encoding": "JSON"}},
        {"name": "Packed", "placementGroupBundles": [{"CPU": 1}, {"CPU": 2, "GPU": 0}], "placementGroupStrategy": "STRICT_PACK"},
    ]
    app = {"name": "a", "importPath": "m:app", "deployments": deployments}
    (svc,) = [o for o in build({"namespace": "ml", "rayServices": [{"name": "s", "applications": [app]}]}) if o["kind"] == "RayService"]
    config = ServeDeploySchema.model_validate(yaml.safe_load(svc["spec"]["serveConfigV2"]))
    spread, packed = config.applications[0].deployments
    assert (spread.max_replicas_per_node, spread.max_queued_requests, spread.graceful_shutdown_timeout_s) == (1, 100, 60)
    assert (spread.health_check_period_s, spread.health_check_timeout_s, spread.logging_config.log_level) == (5, 10, "DEBUG")
    assert packed.placement_group_bundles == [{"CPU": 1}, {"CPU": 2, "GPU": 0}] and packed.placement_group_strategy == "STRICT_PACK"
    bad = {**app, "deployments": [{"name": "x", "maxReplicasPerNode": 1, "placementGroupBundles": [{"CPU": 1}]},
                                  {"name": "y", "placementGroupStrategy": "PACK"}]}
    assert problems("rayServices", {"name": "s", "applications": [bad]}) == [
        "raydask:rayServices[0].applications[0].deployments[0].maxReplicasPerNode: cannot be combined with "
        "placementGroupBundles (Serve refuses both)",
        "raydask:rayServices[0].applications[0].deployments[1].placementGroupStrategy: needs placementGroupBundles (the "
        "bundles it places)"]


def test_a_rayservice_cluster_with_gcs_fault_tolerance(run_program: Any) -> None:
    from test_properties import assert_valid, build

    from raydask.resources.ray_service import RayService

    ft = {"redisAddress": "redis.ml.svc.cluster.local:6379", "redisCidr": "10.0.0.0/24"}
    service = {**SERVICE, "cluster": {**SERVICE["cluster"], "gcsFaultTolerance": ft}}
    objs = build({"namespace": "ml", "networkPolicy": {}, "rayServices": [service]})
    assert_valid(objs, "1.31")
    svc = next(o for o in objs if o["kind"] == "RayService")
    assert svc["spec"]["rayClusterConfig"]["gcsFaultToleranceOptions"]["redisAddress"] == "redis.ml.svc.cluster.local:6379"
    secret = next(o for o in objs if o["kind"] == "Secret")
    assert secret["metadata"]["name"] == "fruit-redis-password"
    egress = [r for o in objs if o["kind"] == "NetworkPolicy" for r in o["spec"].get("egress", [])]
    assert any(p.get("port") == 6379 for r in egress for p in r.get("ports", []))
    # the component needs the password, and only ever puts it in the Secret
    with pytest.raises(ConfigError) as exc:
        run_program(lambda: RayService("fruit", service, namespace="ml"))
    assert "redisPassword" in str(exc.value)
    result = run_program(lambda: RayService("fruit", service, namespace="ml", redis_password="s3cret"))
    types = [r.type for r in result.resources]
    assert types.index("kubernetes:core/v1:Secret") < types.index("kubernetes:ray.io/v1:RayService")
    assert problems("rayJobs", {**JOB, "cluster": {**JOB["cluster"], "gcsFaultTolerance": ft}}) == [
        "raydask:rayJobs[0].cluster.gcsFaultTolerance: a RayJob's cluster lives for one job: fault tolerance is for "
        "long-lived clusters (a RayCluster, a RayService)"]


def test_a_submitter_command_of_ones_own_says_what_to_run() -> None:
    """K8sJobMode with ``submitter.command``: KubeRay runs that command in place of its ``ray job submit … --
    <entrypoint>``, so the job needs no entrypoint (KubeRay's ``ray-job.light-weight-submitter.yaml``); without a command
    of its own (``args`` alone are replaced by KubeRay's), or in HTTPMode, it still does."""
    own = {k: v for k, v in JOB.items() if k != "entrypoint"} | {"submitter": {
        "image": "quay.io/kuberay/submitter:v1.5.1", "command": ["/submitter"], "args": ["--", "python", "/app/run.py"]}}
    body = job_built(own).job["spec"]
    assert "entrypoint" not in body
    submitter = body["submitterPodTemplate"]["spec"]["containers"][0]
    assert submitter["command"] == ["/submitter"] and submitter["args"] == ["--", "python", "/app/run.py"]
    message = ("raydask:rayJobs[0].entrypoint: is required with {} (only InteractiveMode, where you submit the job yourself, "
               "and K8sJobMode with a submitter.command of your own, which KubeRay runs as it is, have none): give the "
               "command the job runs")
    args_only = own | {"submitter": {"args": ["python", "/app/run.py"]}}
    assert problems("rayJobs", args_only) == [message.format("K8sJobMode"),
        "raydask:rayJobs[0].submitter.args: KubeRay replaces the submitter's args with its own `ray job submit` unless the "
        "container has a command of its own: set submitter.command too, or remove args"]
    http = {k: v for k, v in own.items() if k != "submitter"} | {"submissionMode": "HTTPMode"}
    assert message.format("HTTPMode") in problems("rayJobs", http)
