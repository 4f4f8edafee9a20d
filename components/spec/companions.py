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


class Companions(BaseModel):
    """Fields of every workload spec (RayCluster, RayJob, RayService, DaskCluster)."""

    model_config = SPEC_CONFIG

    config_maps: list[ConfigMapSpec] = []
    """ConfigMaps created with the workload, each ``<workload>-<name>`` (e.g. ``{name: code, data: {train.py: ...}}``
    becomes ``train-code``); default none."""

    def companion_problems(self, workload: str) -> list[tuple[Path, str]]:
        """Names that clash or are too long once prefixed with the workload's name."""
        out: list[tuple[Path, str]] = []
        seen: dict[str, int] = {}
        for i, cm in enumerate(self.config_maps):
            full = f"{workload}-{cm.name}"
            if cm.name in seen:
                out.append((("configMaps", i, "name"), f"'{cm.name}' is already the name of configMaps[{seen[cm.name]}]"))
            elif len(full) > naming.SUBDOMAIN_MAX:
                out.append((("configMaps", i, "name"), f"'{full}' is {len(full)} characters; the limit is {naming.SUBDOMAIN_MAX}"))
            seen.setdefault(cm.name, i)
        return out
