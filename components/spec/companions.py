"""Objects declared with a workload: ConfigMaps (the code, settings files) created, updated and deleted with the
cluster or job they belong to, named ``<workload>-<name>`` and labelled like its other objects."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, model_validator

from raydask.errors import Path, check
from raydask.k8s import naming
from raydask.spec.config import SPEC_CONFIG

CONFIG_MAP_MAX_BYTES = 1024 * 1024
"""The API server refuses a ConfigMap whose data is larger (1 MiB)."""
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _data_key(value: str) -> str:
    if not _DATA_KEY.match(value) or len(value) > 253 or value in (".", ".."):
        raise ValueError(f"'{value}' is not a ConfigMap key: letters, digits, '-', '_' and '.' (a file name, no '/')")
    return value


class ConfigMapSpec(BaseModel):
    """A ConfigMap declared with the workload, ``<workload>-<name>``; mount it with a volume whose ``source`` is
    ``{configMap: {name: <workload>-<name>}}``."""

    model_config = SPEC_CONFIG

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


VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
"""The verbs a rule may grant (``*`` is refused: list what the pods need)."""


class PolicyRuleSpec(BaseModel):
    """One RBAC rule of a workload's ServiceAccount (a Role rule in the workload's namespace)."""

    model_config = SPEC_CONFIG

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


class ServiceAccountSpec(BaseModel):
    """A ServiceAccount declared with the workload, ``<workload>-<name>``, with a Role of ``rules`` in the workload's
    namespace bound to it; pods use it with ``serviceAccount: <workload>-<name>`` (they then get its token)."""

    model_config = SPEC_CONFIG

    name: Annotated[str, AfterValidator(naming.check_dns1123_label)]
    """Name suffix (a DNS label); the ServiceAccount, Role and RoleBinding are ``<workload>-<name>``; required."""
    rules: list[PolicyRuleSpec] = []
    """What its pods may do in the namespace; default nothing (an identity only, e.g. for workload identity)."""
    annotations: dict[str, str] = {}
    """ServiceAccount annotations (``iam.gke.io/gcp-service-account``, ``eks.amazonaws.com/role-arn``…); default none."""


class Companions(BaseModel):
    """Fields of every workload spec (RayCluster, RayJob, RayService, DaskCluster)."""

    model_config = SPEC_CONFIG

    config_maps: list[ConfigMapSpec] = []
    """ConfigMaps created with the workload, each ``<workload>-<name>`` (e.g. ``{name: code, data: {train.py: ...}}``
    becomes ``train-code``); default none."""
    service_accounts: list[ServiceAccountSpec] = []
    """ServiceAccounts created with the workload, each ``<workload>-<name>`` with a Role of its ``rules`` bound to it;
    default none."""

    def companion_problems(self, workload: str) -> list[tuple[Path, str]]:
        """Names that clash or are too long once prefixed with the workload's name."""
        out: list[tuple[Path, str]] = []
        for key, names in (("configMaps", [c.name for c in self.config_maps]),
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
