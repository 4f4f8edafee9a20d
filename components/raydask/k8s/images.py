"""Container image references: parsing and the pinning rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

DASK_IMAGE = "ghcr.io/dask/dask"
"""Repository of the official Dask images (``<DASK_IMAGE>:<dask version>``)."""
DASK_OPERATOR_IMAGE = "ghcr.io/dask/dask-kubernetes-operator"
"""Repository of the Dask operator image (``<DASK_OPERATOR_IMAGE>:<chart version>``)."""

_REF = re.compile(
    r"^(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+|:[0-9]+/)*[a-z0-9]*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


@dataclass(frozen=True)
class ImageRef:
    """A parsed image reference."""

    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        return self.repository + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse(image: str) -> ImageRef:
    """Parse ``repo[:tag][@sha256:…]``; ValueError when malformed."""
    m = _REF.match(image or "")
    if not m:
        raise ValueError(f"'{image}' is not a valid image reference")
    return ImageRef(m.group("repo"), m.group("tag"), m.group("digest"))


def check_pinned(image: str) -> str:
    """Reject untagged and ``:latest`` images; a digest alone counts as pinned."""
    ref = parse(image)
    if ref.tag == "latest":
        raise ValueError(f"'{image}' uses the ':latest' tag; pin a version tag or a digest")
    if ref.tag is None and ref.digest is None:
        raise ValueError(f"'{image}' has no tag; pin a version tag or a digest")
    return image


def pull_policy(image: str, configured: str | None = None) -> str:
    """``configured``, else ``IfNotPresent`` for a digest (immutable) and ``Always`` for a tag (the registry may move it)."""
    if configured:
        return configured
    try:
        return "IfNotPresent" if parse(image).digest else "Always"
    except ValueError:
        return "Always"


def check_version_tag(image: str, version: str, what: str) -> None:
    """Require the image tag to carry ``version`` (``2.60.0`` or ``2.60.0-py311-gpu``)."""
    ref = parse(image)
    if ref.tag is None:
        raise ValueError(f"image '{image}' has no tag to check against {what} {version}; add one or allow the mismatch")
    if not (ref.tag == version or ref.tag.startswith(version + "-")):
        raise ValueError(f"image tag '{ref.tag}' does not match {what} {version}; set the matching image or allow the mismatch")
