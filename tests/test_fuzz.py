"""No traceback, ever: the shipped stacks and the configuration reference's examples, mutated as users get them wrong.

Each example starts from ``stacks/Pulumi.dev.yaml`` or ``stacks/Pulumi.production.yaml`` and applies a few mutations:
values replaced by ones of the wrong type, unit or form (quantities, names, hosts, CIDRs, label keys, paths, booleans,
numbers beyond 32 bits...), the examples ``docs/configuration.md`` gives for a key put at that key, keys deleted,
misspelt or added at any level, list items duplicated, names and namespaces made to collide, config keys given the wrong
prefix; some edit the stack file's text instead (read as the Pulumi CLI reads it). Every example must end in one of two
ways:

* refused cleanly: every line ``raydask:<key path>: <message>`` (or a stack file the Pulumi CLI itself cannot read);
* accepted, and then everything it renders passes ``validate_objects`` and Pod Security "restricted": the API server
  and the operators would take it as it is.

``test_mutated_stacks`` runs ``RAYDASK_FUZZ_EXAMPLES`` (default 5000) through the components' own steps without the
mock engine (:func:`test_properties.build`); ``test_mutated_stacks_through_the_program`` runs
``RAYDASK_FUZZ_ENGINE_EXAMPLES`` (default 150) through ``raydask render`` itself -- the program under the mock engine,
the operators' charts expanded by ``helm template`` -- and validates the whole rendering. Both are derandomized.
"""

from __future__ import annotations

import copy
import functools
import os
import random
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_properties import LINE, assert_valid, build

from raydask.errors import ConfigError
from raydask.offline import render, stackfile
from raydask.program import config_values, foreign_keys
from raydask.spec.base import known_keys
from raydask.spec.security import OFFLINE_SECRET_CONFIG
from raydask.spec.stack import StackSpec

ROOT = Path(__file__).resolve().parent.parent
FAST_EXAMPLES = int(os.environ.get("RAYDASK_FUZZ_EXAMPLES", 5000))
ENGINE_EXAMPLES = int(os.environ.get("RAYDASK_FUZZ_ENGINE_EXAMPLES", 150))
STACKS = ("dev", "production")

Config = dict[str, Any]

NAMES = ["dev", "hello", "dask", "train", "fruit", "analytics", "kuberay-operator", "dask-kubernetes-operator", "default",
         "gpu", "cpu", "x", "a" * 54, "Bad_Name", "ray.dev", "-x", "ml", "ray-dev", "kube-system", "dask-operator",
         "kuberay-system", "e2e-quiet", "fruit-serve", "train-head", "dask-gpu"]
QUANTITIES = ["1", "2", "0.5", "500m", "250m", "100m", "1Gi", "2Gi", "512Mi", "8Gi", "1G", "1500Mi", "2048", "512m", "500M", "2k",
              "1GB", "2gi", "0", "-1", "1e3", "1e-3", "0.0001", "100u", "16Ei", "9" * 30 + "Gi", "1" + "0" * 50, "1.5Gi",
              "3Mi", "0.5Ki", "2Ti", "abc", "", " 1", "1 Gi", "64e9", "1e400", 2, 0.5, 1.5, 4096, 2**40]
STRINGS = ["", " ", "x", "yes", "no", "on", "1.30", "2024-01-02", "2024-01-02 00:00:00 +0000 UTC", "010", "é", "a\nb", "a: b",
           "*.example.com", "ray.example.com", "Ray.Example.com", "ray_example.com", "10.0.0.1", "10.0.0.0/8", "10.0.0.1/8",
           "::/0", "0.0.0.0/0", "nvidia.com/gpu", "example.com/gpu", "kubernetes.io/gpu", "requests.x/y", "gpu",
           "app.kubernetes.io/name", "ray.io/cluster", "dask.org/cluster-name", "a/b/c", "/a", "x" * 64, "x" * 300,
           "/tmp", "/dev/shm", "/tmp/ray", "/data", "data", "/a/../b", "/a:b", "HOME", "RAY_IP", "DASK_WORKER_NAME", "1X", "A-B",
           "rayproject/ray:2.60.0", "rayproject/ray:2.60.0-gpu", "rayproject/ray:latest", "rayproject/ray", "Rayproject/Ray:1",
           "ghcr.io/dask/dask:2026.8.0", "quay.io/kuberay/operator:v1.7.0", "Exists", "Equal", "NoSchedule", "NoExecute",
           "In", "NotIn", "Gt", "K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode", "v1", "v2", "LoadBalancer",
           "NodePort", "ClusterIP", "Prefix", "Exact", "ImplementationSpecific", "/", "/dask", "//x", "/x/.", "nginx", "Bad_Class",
           "30s", "1m", "1h30m", "2.60.0", "2.46.0", "2.52.0", "2.9", "1.7.0", "1.5.0", "1.4.0", "2026.3.0", "2026.8.0",
           "redis:6379", "redis", "rediss://redis.ml:6380", "true", "false", "True", "emoji==2.14.1", "emoji=2",
           "https://example.com/code.zip", "./src", "local:///app", "pkg.mod:app", "not a path", "python -m job",
           "tls", "ray-tls", "Bad_Secret", "kube-prometheus-stack", "bad release!"]
NUMBERS = [0, 1, 2, 3, 4, 5, 8, 10, 60, 600, 86400, 86401, -1, -5, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 1.5, 0.5, 1.0, 1e21,
           -0.0, 65535, 65536, 100, 101]
OTHERS: list[Any] = [True, False, None, [], {}, ["x"], [1], [{}], {"a": "b"}, {"a": 1}, {"a": None}, [None], {"": "x"}]
SNIPPETS: dict[str, list[Any]] = {
    "tolerations": [[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}], [{"operator": "Exists"}],
                    [{"key": "k", "operator": "Equal", "value": "v"}], [{"key": "k", "operator": "Exists", "value": "v"}],
                    [{"operator": "Equal", "value": "v"}], [{"key": "bad key!", "operator": "Exists"}],
                    [{"key": "k", "tolerationSeconds": 30}], [{"key": "k", "effect": "NoExecute", "tolerationSeconds": 30}],
                    [{"key": "k", "value": "bad value!"}], [{"key": "nvidia.com/gpu", "operator": "Exists"}]],
    "affinity": [{"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["gpu"]}]}]}}},
                 {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
                 {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerm": []}}},
                 {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "pool", "operator": "in", "values": ["gpu"]}]}]}}},
                 {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "pool", "operator": "Exists", "values": ["gpu"]}]}]}}},
                 {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["many"]}]}]}}},
                 {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                     {"weight": 0, "preference": {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["x"]}]}}]}},
                 {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100, "podAffinityTerm": {
                     "topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "ray"}}}}]}},
                 {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {}}]}},
                 {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "zone",
                                                                                      "labelSelector": {"matchLabels": {"a": 1}}}]}},
                 {"nodeAfinity": {}}, {"podAffinity": []}, {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": "x"}}],
    "volumes": [[{"name": "data", "mountPath": "/data", "source": {"persistentVolumeClaim": {"claimName": "data"}}}],
                [{"name": "tmp", "mountPath": "/scratch", "source": {"emptyDir": {}}}],
                [{"name": "data", "mountPath": "/tmp", "source": {"emptyDir": {}}}],
                [{"name": "data", "mountPath": "/data", "source": {"emptyDir": {"sizeLimit": "1Gi"}}},
                 {"name": "data", "mountPath": "/data2", "source": {"emptyDir": {}}}],
                [{"name": "cfg", "mountPath": "/etc/cfg", "source": {"configMap": {"name": "cfg", "items": [{"key": "a"}]}}}],
                [{"name": "cfg", "mountPath": "/etc/cfg", "source": {"configMap": {"nmae": "cfg"}}}],
                [{"name": "cfg", "mountPath": "/etc/cfg", "source": {"secret": {"secretName": "s", "defaultMode": "0644"}}}],
                [{"name": "Data", "mountPath": "data", "source": {"emptyDir": {}}}],
                [{"name": "d", "mountPath": "/d", "source": {"emptyDir": None}}],
                [{"name": "d", "mountPath": "/d", "source": {"hostPath": {"path": "/"}}}]],
    "env": [{"A": "1"}, {"HOME": "/home"}, {"1X": "y"}, {"A": 1}, {"A": 1.5}, {"A": True}, {"A": None}, {"RAY_IP": "x"},
            {"my-var.x": "y"}, {"": "x"}, {"A": {"valueFrom": "x"}}],
    "nodeSelector": [{"cloud.google.com/gke-accelerator": "nvidia-l4"}, {"pool": "gpu pool"}, {"bad key!": "x"}, {"pool": 1},
                     {"pool": True}, {"kubernetes.io/os": "linux"}, {"pool": "x" * 64}],
    "labels": [{"team": "ml"}, {"app.kubernetes.io/name": "x"}, {"ray.io/cluster": "x"}, {"bad key!": "x"}, {"team": "a b"},
               {"team": 1}, {"team": 1.5}, {"dask.org/x": "y"}, {"example.com/team": "ml"}],
    "annotations": [{"team": "ml"}, {"bad key!": "x"}, {"example.com/x": "y" * 300000}, {"a": 1}],
    "rayStartParams": [{"num-cpus": "0"}, {"num-cpus": "4"}, {"num-cpus": 4}, {"num-gpus": "x"}, {"block": "true"},
                       {"labels": "a=b"}, {"resources": '"{\\"TPU\\": 4}"'}, {"resources": '{"TPU": 4}'}, {"resources": "nope"},
                       {"resources": '{"CPU": 1}'},
                       {"memory": "1Gi"}, {"metrics-export-port": "9090"}, {"object-store-memory": "1000000000"}],
    "extraEgress": [[{"cidr": "10.0.0.0/8", "ports": [443]}], [{"cidr": "10.0.0.1/8", "ports": [443]}],
                    [{"cidr": "x", "ports": [443]}], [{"cidr": "10.0.0.0/8", "ports": []}], [{"cidr": "10.0.0.0/8", "ports": [0]}]],
    "extraIngress": [[{"namespaces": ["jupyter"], "ports": [8265]}], [{"namespaces": [], "ports": [1]}]],
    "loadBalancerSourceRanges": [["10.0.0.0/8"], ["10.0.0.1/8"], ["x"], ["10.0.0.1"]],
    "values": [{"nodeSelector": {"pool": "system"}}, {"image": {"tag": "v1.6.0"}}, {"replicas": "two"}, {"replicas": 3},
               {"unknownValue": 1}, {"resources": 5}, {"metrics": {"serviceMonitor": {"interval": "15s"}}},
               {"metrics": {"serviceMonitor": {"enabled": True}}}, {"tolerations": {"a": "b"}}, {"nodeSelector": "x"},
               {"watchNamespace": ["ml"]}, {"podSecurityContext": {}}, {"kopfArgs": ["--standalone"]}, {"labels": {"a": "b"}},
               {"env": [{"name": "A", "value": "1"}]}, {"livenessProbe": {"initialDelaySeconds": "x"}}],
    "featureGates": [{"RayCronJob": True}, {"RayTurbo": True}, {"RayCronJob": "yes"}, {"RayCronJob": 1}],
    "watchNamespaces": [["ml"], ["ray-dev"], [], ["ml", "ml"], ["Bad_NS"], ["ray-dev", "ml", "kuberay-system"]],
    "workerResources": [{"MEMORY": 6e9}, {"GPU count": 1}, {"GPU": 0}, {"X": -1}, {"X": "1"}],
    "extraArgs": [["--lifetime", "1h"], ["--nthreads", "2"], ["--port=1"], [1], ["--nworkers=2"]],
    "pip": [["emoji==2.14.1"], ["emoji=2"], [""], [1]],
    "envVars": [{"A": "1"}, {"1X": "y"}, {"A": 1}],
    "annotationsIngress": [{"nginx.ingress.kubernetes.io/auth-url": "https://auth.example.com/oauth2/auth"}],
    "image": ["localhost:5000/ray:2.60.0", "rayproject/ray:2.60.0@sha256:" + "a" * 64, "rayproject/ray@sha256:" + "b" * 64,
              "ghcr.io/dask/dask:2026.8.0-py3.12", "registry.example.com:443/team/ray:2.60.0-gpu", "RAY:2.60.0",
              "rayproject/ray:2.60.0 ", "rayproject//ray:2.60.0"],
    "priorityClassName": ["high", "system-cluster-critical", "High_Priority", "x" * 254],
    "serviceAccount": ["ray", "ray-workers", "Ray", "ray.workers", "x" * 64],
    "pathType": ["Exact", "ImplementationSpecific", "Regex"],
    "path": ["/", "/dashboard", "/(.*)", "/a/../b", "/a/", "dashboard"],
    "redisAddress": ["[::1]:6379", "redis:0", "redis:65536", "rediss://redis:6380", "redis.ml.svc.cluster.local:6379"],
    "externalStorageNamespace": ["ray", "", "a b", "x" * 300],
    "entrypoint": ["python -m job", "python -c 'print(1)'\necho done", " ", "$(rm -rf /)"],
    "workingDir": ["local:///app", "local://app", "https://example.com/code.zip", "s3://bucket/code.tgz", "/app"],
    "pyModules": [["https://example.com/m.whl"], ["local:///m"], ["m.whl"]],
    "userConfig": [{"price": 3}, {"a": {"b": [1, 2]}}, {"": None}],
    "args": [{"model": "x"}, {"n": 1.5}],
    "jobId": ["job-1", "job 1", "x" * 64, "-job"],
    "interval": ["30s", "1m", "0", "1h30m", "30", "-1s"],
    "prometheusRelease": ["kube-prometheus-stack", "prom", "Prom_1", "x" * 64],
    "clientNamespaces": [["jupyter"], ["Jupyter"], []],
    "ingressControllerNamespace": ["ingress-nginx", "Ingress"],
    "apiServerCidr": ["10.0.0.0/8", "10.0.0.1/8", "::/0", "10.0.0.0"],
    "routePrefix": ["/", "/api", "api", "/api/", "/{x}"],
    "importPath": ["pkg.mod:app", "pkg:app.b", "not a path"],
    "submissionMode": ["K8sJobMode", "HTTPMode", "InteractiveMode", "SidecarMode"],
    "upgradeStrategy": ["NewCluster", "None", "NewClusterWithIncrementalUpgrade"],
    "serviceType": ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"],
    "ports": [["client"], ["serve"], ["client", "client"], [443], []],
}
KEYS = known_keys(StackSpec)
"""Config keys at every nesting level (list indices omitted)."""


@functools.cache
def reference_examples() -> dict[str, list[Any]]:
    """Examples docs/configuration.md gives for each key: the code spans in its description, read as stack-file YAML."""
    out: dict[str, list[Any]] = {}
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        m = re.match(r"^\| `(\w+)`(?: \(required\))? \| [^|]* \| (.*) \|$", line)
        if not m:
            continue
        for span in re.findall(r"``([^`]+)``", m.group(2)):
            if "<" in span or span.startswith(("$", "--", "ray start", "dask ", "@")):
                continue
            try:
                value = stackfile.parse_value(span)
            except stackfile.StackFileError:
                continue
            out.setdefault(m.group(1), []).append(value)
    return out


def stack_text(stack: str) -> str:
    return (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()


@functools.cache
def stack_values(stack: str) -> Config:
    return stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml")


# --------------------------------------------------------------------------------------------------------------------
# mutations
# --------------------------------------------------------------------------------------------------------------------


def _slots(node: Any, path: tuple[Any, ...], kinds: tuple[str, ...]) -> list[tuple[Any, Any, tuple[str, ...]]]:
    """(container, key or index, key names from the root) of every value under ``node``."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key, (*kinds, str(key))))
            out += _slots(value, (*path, key), (*kinds, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((node, i, kinds))
            out += _slots(value, (*path, i), kinds)
    return out


def _value_for(r: random.Random, key: str) -> Any:
    """A value to put at ``key``: an example of it or of a snippet, or anything."""
    choices: list[list[Any]] = []
    if key in SNIPPETS:
        choices.append(SNIPPETS[key])
    if key in reference_examples():
        choices.append(reference_examples()[key])
    if key.lower().endswith(("cpu", "memory", "cpulimit", "memorylimit")):
        choices.append(QUANTITIES)
    if key in ("name", "namespace", "clusterSelector", "serviceAccount", "operatorNamespace", "dnsNamespace"):
        choices.append(NAMES)
    choices += [STRINGS, NUMBERS, OTHERS] if r.random() < 0.5 or not choices else []
    return copy.deepcopy(r.choice(r.choice(choices)))


def _misspelt(r: random.Random, key: str) -> str:
    ops = [lambda k: k[:-1], lambda k: k + "s", lambda k: k.lower(), lambda k: k[:1].upper() + k[1:],
           lambda k: k.replace("s", "", 1), lambda k: k[::-1][:3] + k[3:], lambda k: re.sub(r"([A-Z])", r"_\1", k).lower()]
    return r.choice(ops)(key) or "x"


def mutate(r: random.Random, config: Config) -> Config:
    """``config`` with 1-3 mutations (see the module docstring)."""
    config = copy.deepcopy(config)
    for _ in range(r.choice((1, 1, 2, 2, 3))):
        slots = _slots(config, (), ())
        container, key, names = r.choice(slots)
        leaf = names[-1] if names else ""
        top = container is config
        op = r.random()
        if op < 0.45:  # replace a value
            value = _value_for(r, leaf.partition(":")[2] if top else leaf)
            container[key] = stackfile.normalize(value, top_level=top)
        elif op < 0.55:  # delete
            if isinstance(container, dict):
                del container[key]
            elif container:
                container.pop(key)
        elif op < 0.72:  # add a known key (the right level or another), or a misspelt one
            target = container[key] if isinstance(container[key], dict) else container
            if not isinstance(target, dict):
                continue
            level = tuple(n for n in (names if target is not container else names[:-1]))
            level = tuple(k.partition(":")[2] if k.startswith("raydask:") else k for k in level)
            options = KEYS.get(level) or r.choice(list(KEYS.values()))
            new = r.choice(options)
            if r.random() < 0.25:
                new = _misspelt(r, new)
            if target is config:
                new = r.choice(["raydask:", "raydask:", "Raydask:", "raydsk:", "kubernetes:"]) + new
            target[new] = stackfile.normalize(_value_for(r, new.partition(":")[2] or new), top_level=target is config)
        elif op < 0.8:  # duplicate a list item
            if isinstance(container, list) and container:
                container.append(copy.deepcopy(container[key]))
            elif isinstance(container.get(key) if isinstance(container, dict) else None, list) and container[key]:
                container[key].append(copy.deepcopy(r.choice(container[key])))
        elif op < 0.9:  # collide: a name or namespace from elsewhere in the stack, or an operator's
            named = [(c, k) for c, k, n in slots if n and n[-1] in ("name", "namespace") and isinstance(c, dict)]
            if named:
                c, k = r.choice(named)
                c[k] = r.choice(NAMES)
        else:  # a top-level key loses or changes its prefix
            if top and isinstance(key, str) and key.startswith("raydask:"):
                value = config.pop(key)
                config[r.choice(["Raydask:", "raydsk:", "ray-dask:", "RAYDASK:"]) + key.partition(":")[2]] = value
    return config


TEXT_EDITS = ["  raydask:namespace: x\n", "namespace: x\n", "  namespace: y\n", "---\n", "\t", "  ", "- ", ": ", "{", "}", "[",
              "]", "'", '"', "#", "!!str ", "!!int ", "~", "config:\n", "  Raydask:x: 1\n", "  raydask:a:b: 1\n", "010",
              "2024-01-02", "1.30", "yes", "1_000", "0b11", ".inf", "&a ", "*a", "<<: ", "  raydask:redisPassword:\n    secure: AAAB\n",
              "  raydask:redisPassword: hunter2\n"]


def mutate_text(r: random.Random, text: str) -> str:
    """``text`` with 1-3 edits of the stack file itself."""
    lines = text.splitlines(keepends=True)
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(lines))
        k = r.random()
        if k < 0.3:
            m = re.match(r"^(\s*(?:- )?[^:#]+:\s)(.*)$", lines[i].rstrip("\n"))
            if m:
                lines[i] = m.group(1) + r.choice(TEXT_EDITS).strip() + "\n"
        elif k < 0.5:
            lines.insert(i, r.choice(TEXT_EDITS) if r.random() < 0.6 else lines[r.randrange(len(lines))])
        elif k < 0.6:
            del lines[i]
        else:
            j = r.randrange(len(lines[i]) + 1)
            lines[i] = lines[i][:j] + r.choice(TEXT_EDITS) + lines[i][j:]
    return "".join(lines)


# --------------------------------------------------------------------------------------------------------------------
# outcomes
# --------------------------------------------------------------------------------------------------------------------


def engine_values(values: Config) -> dict[str, Any]:
    """The config as the engine passes it to the program (strings, JSON for objects), offline secrets as placeholders."""
    plain = {k: (OFFLINE_SECRET_CONFIG.get(k, "placeholder") if stackfile.is_secret(v) else v) for k, v in values.items()}
    return stackfile.engine_config({**OFFLINE_SECRET_CONFIG, **plain})


def outcome(values: Config, problems: list[str]) -> tuple[str, Any]:
    """``("refused", lines)`` or ``("accepted", objects)`` along the components' own steps, as the program would end."""
    raw = engine_values(values)
    lines = [*problems, *foreign_keys(raw)]
    redis = values.get("raydask:redisPassword")
    if redis is not None and not stackfile.is_secret(redis):
        lines.append("raydask:redisPassword: must be a secret: run `pulumi config set --secret raydask:redisPassword <password>` "
                     "(it is stored in plaintext in the stack config now)")
    try:
        objects = build(config_values(raw))
    except ConfigError as exc:
        return "refused", sorted(dict.fromkeys([*lines, *exc.problems]))
    if lines:
        return "refused", sorted(dict.fromkeys(lines))
    return "accepted", objects


def check_refusal(lines: list[str]) -> None:
    assert lines, "refused without a message"
    for line in lines:
        plain = re.match(r'^("(?:[^"\\]|\\.)*"|[^\s:"]+(:[^\s:]+)?): \S', line)
        assert LINE.match(line) or plain, f"not a '<key>: <message>' line: {line!r}"
        assert "Traceback" not in line and "Input should" not in line and "pydantic" not in line, line
        assert not re.search(r"instance of [A-Z]\w+|String should match|\bSpec\b", line), f"Python wording: {line!r}"


PROFILE = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])


def example(seed: int) -> tuple[str, Config | None, list[str] | str]:
    """(stack, config, stack-file problems) of the example ``seed``; config None and the error when the mutated file is
    one Pulumi cannot read."""
    r = random.Random(seed)
    stack = r.choice(STACKS)
    if r.random() < 0.15:
        text = mutate_text(r, stack_text(stack))
        with tempfile.TemporaryDirectory(prefix="raydask-fuzz-") as tmp:
            path = Path(tmp) / f"Pulumi.{stack}.yaml"
            path.write_text(text)
            try:
                file = stackfile.read(path, "raydask")
            except stackfile.StackFileError as exc:
                return stack, None, str(exc)
        return stack, file.values, file.problems
    return stack, mutate(r, stack_values(stack)), []


@settings(PROFILE, max_examples=FAST_EXAMPLES)
@given(st.integers(0, 2**32 - 1))
def test_mutated_stacks(seed: int) -> None:
    stack, values, problems = example(seed)
    if values is None:
        event("stack file refused as the Pulumi CLI refuses it")
        assert isinstance(problems, str) and problems and "Traceback" not in problems
        return
    assert isinstance(problems, list)
    kind, result = outcome(values, problems)
    event(f"{stack}: {kind}")
    if kind == "refused":
        check_refusal(result)
        return
    assert_valid(result, str(config_values(engine_values(values)).get("kubernetesVersion", "1.31")))


@settings(PROFILE, max_examples=ENGINE_EXAMPLES)
@given(st.integers(0, 2**32 - 1))
def test_mutated_stacks_through_the_program(seed: int) -> None:
    """``raydask render`` of the mutated stack: the same outcome as the fast path; an accepted stack's whole rendering
    (Helm output and CRDs included) passes ``raydask validate``."""
    from raydask.offline.cli import validate_rendering

    stack, values, problems = example(seed)
    if values is None:
        return
    assert isinstance(problems, list)
    kind, expected = outcome(values, problems)
    try:
        rendering = render.render_stack(stack, ROOT, config=values, problems=problems)
    except render.StackConfigError as exc:
        event("refused")
        lines = str(exc).split("\n")[1:]
        check_refusal(lines)
        if kind == "refused":
            assert lines == expected
        else:  # only the Helm charts can refuse what the components accept: operator values, or a chart directory
            assert all(re.match(r"^raydask:(kuberay|daskOperator)\.(values|chart)", line) for line in lines), lines
        return
    except render.ChartMissingError as exc:  # a chart version no repository has: a chart problem, in one line
        event("chart missing")
        assert kind == "accepted", expected
        assert re.match(rf"^stack '{stack}': raydask:(kuberay|daskOperator)\.chart: cannot fetch ", str(exc)), str(exc)
        assert "\n" not in str(exc)
        return
    event("rendered")
    assert kind == "accepted", f"the program accepted what the components refused: {expected}"
    assert [str(f) for f in validate_rendering(rendering)] == []


@pytest.mark.parametrize("stack", STACKS)
def test_the_shipped_stacks_are_accepted(stack: str) -> None:
    kind, _ = outcome(stack_values(stack), [])
    assert kind == "accepted"
