"""Objects declared with a workload: ConfigMaps (the code, settings files), Secrets whose values are Pulumi secrets,
ServiceAccounts with their RBAC, created, updated and deleted with the cluster or job they belong to, named
``<workload>-<name>`` and labelled like its other objects."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, model_validator

from raydask.errors import Path, check
from raydask.k8s import naming
from raydask.spec.config import ConfigModel

CONFIG_MAP_MAX_BYTES = 1024 * 1024
"""The API server refuses a ConfigMap whose data is larger (1 MiB)."""
def _data_key(value: str) -> str:
    if err := naming.config_key_error(value, "ConfigMap key"):
        raise ValueError(err)
    return value


class ConfigMapSpec(ConfigModel):
    """A ConfigMap declared with the workload, ``<workload>-<name>``; mount it with a volume whose ``source`` is
    ``{configMap: {name: <workload>-<name>}}``."""


    name: Annotated[str, AfterValidator(naming.check_dns1123_label)]
    """Name suffix (a DNS label); the ConfigMap is ``<workload>-<name>``; required."""
    data: dict[Annotated[str, AfterValidator(_data_key)], str] = {}
    """Entries (file name: text); at most 1 MiB in all; default none."""

    @model_validator(mode="after")
    def _size(self) -> ConfigMapSpec:
        size = sum(len(k.encode()) + len(v.encode()) for k, v in self.data.items())
        if size > CONFIG_MAP_MAX_BYTES:
            check([("data", f"is {size} bytes; a ConfigMap holds at most {CONFIG_MAP_MAX_BYTES} (1 MiB): mount bigger "
                            "files from a volume or the image")])
        return self


CONFIG_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*$")
"""A secret's config key name, after ``raydask:`` (``wandbApiKey``)."""

SecretType = Literal["Opaque", "kubernetes.io/basic-auth", "kubernetes.io/dockerconfigjson", "kubernetes.io/ssh-auth",
                     "kubernetes.io/tls"]
SECRET_TYPE_KEYS: dict[str, tuple[tuple[str, ...], bool]] = {
    "kubernetes.io/basic-auth": (("username", "password"), False),
    "kubernetes.io/dockerconfigjson": ((".dockerconfigjson",), True),
    "kubernetes.io/ssh-auth": (("ssh-privatekey",), True),
    "kubernetes.io/tls": (("tls.crt", "tls.key"), True),
}
"""The keys the API server requires of a Secret type: (keys, all of them) — else at least one."""


def _config_key(value: str) -> str:
    if not CONFIG_KEY.match(value):
        raise ValueError(f"'{value}' is not a config key name: a letter, then letters, digits, '_' or '-' (the part after "
                         "'raydask:', e.g. wandbApiKey)")
    return value


class SecretSpec(ConfigModel):
    """A Secret declared with the workload, ``<workload>-<name>``, whose values are Pulumi secrets: each key names a
    stack config key set with ``pulumi config set --secret raydask:<key> <value>`` (a Python program passes the values
    as ``secret_values``). The values never appear in the config, the render or, unencrypted, in the state."""


    name: Annotated[str, AfterValidator(naming.check_dns1123_label)]
    """Name suffix (a DNS label); the Secret is ``<workload>-<name>``; required."""
    from_config: dict[Annotated[str, AfterValidator(_data_key)], Annotated[str, AfterValidator(_config_key)]]
    """Secret key: the secret config key holding its value (``{WANDB_API_KEY: wandbApiKey}`` reads
    ``raydask:wandbApiKey``); required, at least one."""
    type: SecretType = "Opaque"
    """Secret type; ``kubernetes.io/dockerconfigjson`` (key ``.dockerconfigjson``) makes an image pull secret,
    ``kubernetes.io/tls`` needs ``tls.crt`` and ``tls.key``; default ``Opaque``."""

    @model_validator(mode="after")
    def _keys(self) -> SecretSpec:
        if not self.from_config:
            check([("fromConfig", "needs at least one key: {<secret key>: <config key of a Pulumi secret>}")])
        required, every = SECRET_TYPE_KEYS.get(self.type, ((), True))
        missing = [k for k in required if k not in self.from_config]
        if required and (missing if every else len(missing) == len(required)):
            wanted = " and ".join(required) if every else " or ".join(required)
            check([("fromConfig", f"a {self.type} Secret needs the key{'s' if every and len(required) > 1 else ''} {wanted}; "
                                  f"given {', '.join(sorted(self.from_config))}")])
        return self


def referenced_config_keys(values: Mapping[str, Any]) -> set[str]:
    """The config keys any workload's ``secrets[].fromConfig`` names in raw ``raydask:*`` config (keyed without the
    prefix, not yet validated: anything malformed is skipped, the spec models report it)."""
    import json

    out: set[str] = set()
    for value in values.values():
        if isinstance(value, str) and value.startswith("["):
            try:
                value = json.loads(value)
            except ValueError:
                continue
        for item in value if isinstance(value, list) else ():
            secrets = item.get("secrets") if isinstance(item, dict) else None
            for secret in secrets if isinstance(secrets, list) else ():
                refs = secret.get("fromConfig") if isinstance(secret, dict) else None
                out.update(v for v in (refs.values() if isinstance(refs, dict) else ()) if isinstance(v, str))
    return out


VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
"""The verbs a rule may grant (``*`` is refused: list what the pods need)."""


class PolicyRuleSpec(ConfigModel):
    """One RBAC rule of a workload's ServiceAccount (a Role rule in the workload's namespace)."""


    api_groups: list[str] = [""]
    """API groups (``""`` is the core group); default the core group."""
    resources: list[str]
    """Resources (``configmaps``, ``pods/log``…); required."""
    verbs: list[str]
    """Verbs, among get, list, watch, create, update, patch, delete, deletecollection; required."""
    resource_names: list[str] = []
    """Only these objects; default all of the resources."""

    @model_validator(mode="after")
    def _rules(self) -> PolicyRuleSpec:
        problems: list[tuple[Path, str]] = []
        for i, verb in enumerate(self.verbs):
            if verb not in VERBS:
                problems.append((("verbs", i), f"'{verb}' is not a verb raydask grants: one of {', '.join(VERBS)} (no '*': "
                                               "list what the pods need)"))
        for field, values in (("resources", self.resources), ("apiGroups", self.api_groups)):
            for i, value in enumerate(values):
                if value == "*":
                    problems.append(((field, i), "'*' grants everything: list what the pods need"))
        if not self.verbs:
            problems.append(("verbs", "needs at least one verb"))
        if not self.resources:
            problems.append(("resources", "needs at least one resource"))
        check(problems)
        return self


class ServiceAccountSpec(ConfigModel):
    """A ServiceAccount declared with the workload, ``<workload>-<name>``, with a Role of ``rules`` in the workload's
    namespace bound to it; pods use it with ``serviceAccount: <workload>-<name>`` (they then get its token)."""


    name: Annotated[str, AfterValidator(naming.check_dns1123_label)]
    """Name suffix (a DNS label); the ServiceAccount, Role and RoleBinding are ``<workload>-<name>``; required."""
    rules: list[PolicyRuleSpec] = []
    """What its pods may do in the namespace; default nothing (an identity only, e.g. for workload identity)."""
    annotations: dict[str, str] = {}
    """ServiceAccount annotations (``iam.gke.io/gcp-service-account``, ``eks.amazonaws.com/role-arn``…); default none."""


class Companions(ConfigModel):
    """Fields of every workload spec (RayCluster, RayJob, RayService, DaskCluster)."""


    config_maps: list[ConfigMapSpec] = []
    """ConfigMaps created with the workload, each ``<workload>-<name>`` (e.g. ``{name: code, data: {train.py: ...}}``
    becomes ``train-code``); default none."""
    secrets: list[SecretSpec] = []
    """Secrets created with the workload, each ``<workload>-<name>`` with values from Pulumi secrets; default none."""
    service_accounts: list[ServiceAccountSpec] = []
    """ServiceAccounts created with the workload, each ``<workload>-<name>`` with a Role of its ``rules`` bound to it;
    default none."""
    not_secret: list[str] = []
    """Names of values that look like secrets but are not (``TOKENIZER_NAME``…: an environment variable, a runtime
    environment variable, a ``rayStartParams`` key, a ConfigMap key or a Serve ``args`` / ``userConfig`` key), in
    every pod group of the workload; default none. raydask refuses every other secret-looking value given in plaintext
    (:mod:`raydask.k8s.secrets`: names with PASSWORD, SECRET, TOKEN, CREDENTIALS, API_KEY, ACCESS_KEY, PRIVATE_KEY…,
    values shaped like cloud keys, tokens, private keys or URLs with a password): put those in Pulumi secrets
    (``secrets``)."""

    def companion_problems(self, workload: str) -> list[tuple[Path, str]]:
        """Names that clash or are too long once prefixed with the workload's name."""
        out: list[tuple[Path, str]] = []
        for key, names in (("configMaps", [c.name for c in self.config_maps]), ("secrets", [s.name for s in self.secrets]),
                           ("serviceAccounts", [a.name for a in self.service_accounts])):
            seen: dict[str, int] = {}
            for i, name in enumerate(names):
                full = f"{workload}-{name}"
                if name in seen:
                    out.append(((key, i, "name"), f"'{name}' is already the name of {key}[{seen[name]}]"))
                elif len(full) > naming.SUBDOMAIN_MAX:
                    out.append(((key, i, "name"), f"'{full}' is {len(full)} characters; the limit is {naming.SUBDOMAIN_MAX}"))
                seen.setdefault(name, i)
        return out

    def secret_references(self) -> list[tuple[Path, str]]:
        """Each ``(path, config key)`` the workload's secrets read, e.g. ``(("secrets", 0, "fromConfig", "TOKEN"), "token")``."""
        return [(("secrets", i, "fromConfig", key), ref) for i, s in enumerate(self.secrets) for key, ref in s.from_config.items()]

    def missing_secrets(self, available: Collection[str]) -> list[tuple[Path, str]]:
        """A problem for each secret value the workload reads that is not in ``available``."""
        return [(path, f"reads the Pulumi secret raydask:{ref}, which is not set: run `pulumi config set --secret raydask:{ref} "
                       "<value>` (a Python program passes it in secret_values)")
                for path, ref in self.secret_references() if ref not in available]
