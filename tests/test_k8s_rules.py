"""The API server's rules (raydask.k8s.validation) and what a secret looks like (raydask.k8s.secrets), on their own:
the bad-input table runs them through the program, the live tier holds them to the real API server."""

from __future__ import annotations

from typing import Any

import pytest

from raydask.k8s import secrets, validation


@pytest.mark.parametrize(("name", "value", "reason"), [
    ("REDIS_PASSWORD", "hunter2", "the name says password"),
    ("redis-password", "hunter2", "the name says password"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI", "the name says secret"),
    ("wandbApiKey", "abc123", "the name says api key"),
    ("HF_TOKEN", "abc", "the name says token"),
    ("DB_PWD", "abc", "the name says pwd"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "{...}", "the name says credentials"),
    ("S3_KEY", "AKIAIOSFODNN7EXAMPLE", "the value looks like an AWS access key id"),
    ("DATABASE_URL", "postgres://app:hunter2@db:5432/app", "the value looks like a URL with a password"),
    ("CERT", "-----BEGIN PRIVATE KEY-----\nMII", "the value looks like a private key"),
    ("GH", "ghp_" + "a" * 36, "the value looks like a GitHub token"),
    # not secrets: other words, where a secret is, references, flags and numbers
    ("TOKENIZERS_PARALLELISM", "false", None),
    ("PWD", "/app", None),
    ("TOKEN_PATH", "/var/run/secrets/token", None),
    ("SECRET_NAME", "my-secret", None),
    ("AWS_ACCESS_KEY_ID", "from-vault", None),
    ("REDIS_PASSWORD", "$(REDIS_PASSWORD_FROM_SECRET)", None),
    ("redis-password", "$REDIS_PASSWORD", None),
    ("AUTH_TOKEN_ENABLED", "true", None),
    ("OAUTH_TOKEN", "https://auth.example.com/token", None),
    ("CACHE_KEY", "v1", None),
    ("GREETING", "Hello from Ray :rocket:", None),
])
def test_what_a_secret_looks_like(name: str, value: Any, reason: str | None) -> None:
    assert secrets.plaintext_secret(name, value) == reason


def test_words_split_every_naming_style() -> None:
    assert secrets.words("AWS_SECRET_ACCESS_KEY") == secrets.words("awsSecretAccessKey") == \
        secrets.words("aws-secret.access-key") == ["aws", "secret", "access", "key"]


POD: dict[str, Any] = {
    "containers": [{"name": "main", "image": "busybox:1.36", "ports": [{"name": "web", "containerPort": 8080}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
}


def with_(path: str, value: Any) -> dict[str, Any]:
    import copy

    pod = copy.deepcopy(POD)
    node: Any = pod
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return pod


@pytest.mark.parametrize(("path", "value", "issue"), [
    ("containers.0.ports.0.containerPort", 70000, (("containers", 0, "ports", 0, "containerPort"),
                                                   "70000 is not a container port: port numbers are 1 to 65535")),
    ("containers.0.ports.0.protocol", "tcp", (("containers", 0, "ports", 0, "protocol"),
                                              "'tcp' is not a port protocol: one of TCP, UDP, SCTP (did you mean 'TCP'?)")),
    ("volumes.0.emptyDir.sizeLimit", "1GB", (("volumes", 0, "emptyDir", "sizeLimit"),
                                             "'1GB' is not a Kubernetes quantity (use G or Gi)")),
    ("containers.0.volumeMounts.0.name", "logs", (("containers", 0, "volumeMounts", 0, "name"),
                                                  "'logs' is not a volume of the pod: add it to volumes, or mount one of data")),
    ("hostAliases", [{"ip": "db-host"}], (("hostAliases", 0, "ip"), "'db-host' is not an IP address: a host alias takes an "
                                                                     "IPv4 or IPv6 address such as 10.0.0.5, not a host name")),
    ("topologySpreadConstraints", [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedul"}],
     (("topologySpreadConstraints", 0, "whenUnsatisfiable"),
      "'DoNotSchedul' is not a whenUnsatisfiable action: one of DoNotSchedule, ScheduleAnyway (did you mean "
      "'DoNotSchedule'?)")),
    ("containers.0.livenessProbe", {"exec": {"command": ["true"]}, "successThreshold": 2},
     (("containers", 0, "livenessProbe", "successThreshold"),
      "must be 1 for a livenessProbe, got 2 (only a readinessProbe may need several successes)")),
    ("initContainers", [{"name": "main", "image": "busybox:1.36"}],
     (("containers", 0, "name"), "'main' is already the name of a container in initContainers: container names are unique "
                                 "in a pod")),
    ("priorityClassName", "system-node-critical",
     (("priorityClassName",), validation.priority_class_error("system-node-critical"))),
])
def test_pod_rules(path: str, value: Any, issue: tuple[tuple[Any, ...], str]) -> None:
    assert validation.pod_spec_issues(POD) == []
    assert issue in validation.pod_spec_issues(with_(path, value))


def test_a_patch_may_leave_required_keys_out() -> None:
    assert validation.pod_spec_issues({"containers": [{"name": "main", "env": [{"name": "A", "value": "1"}]}]},
                                      partial=True) == []
    assert validation.pod_spec_issues({"containers": [{"name": "main"}]}) == [
        (("containers", 0, "image"), "required: the container's image")]


def test_service_rules() -> None:
    spec = {"type": "ClusterIP", "ports": [{"name": "comm", "port": 8786}, {"name": "extra", "port": 8786},
                                          {"name": "x", "port": 1, "targetPort": "not_a_name"}]}
    assert validation.service_spec_issues(spec) == [
        (("ports", 1, "port"), "8786/TCP is already the port of ports[0]: a Service listens once on each port and protocol"),
        (("ports", 2, "targetPort"), "port name 'not_a_name' must be lower-case letters, digits and '-' (no '--', no '-' at "
                                     "either end)"),
    ]


@pytest.mark.parametrize("shape", [None, 1, "x", [], [None], {"containers": "x"}, {"containers": [None, 1, []]},
                                   {"volumes": [{"name": {}, "emptyDir": []}]}, {"topologySpreadConstraints": [{"whenUnsatisfiable": {}}]},
                                   {"containers": [{"ports": [{"protocol": []}], "env": [{"valueFrom": {"fieldRef": 1}}]}]}])
def test_any_shape_gets_messages_not_tracebacks(shape: Any) -> None:
    for partial in (False, True):
        assert all(isinstance(m, str) for _, m in validation.pod_spec_issues(shape, partial=partial))
        assert all(isinstance(m, str) for _, m in validation.service_spec_issues(shape, partial=partial))
