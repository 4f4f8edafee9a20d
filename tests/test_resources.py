"""The mock engine's fast paths and the CRD cache change nothing a program or its consumers see."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pulumi.runtime import rpc

from components import crds, mockrun

PLAIN = {
    "a": None, "b": 3, "c": 2.0, "d": 0.25, "e": True, "f": (1, "x", None), "g": {"h": None, "i": [], "j": {}},
    "k": [{"l": 2**60}, 7.0, False, ""], "m": "s",
}


def test_wire_copy_is_the_wire_round_trip() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(PLAIN, {}))
        wire = mockrun.restored(rpc.deserialize_properties(struct), PLAIN)
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert mockrun.wire_copy(PLAIN) == wire
    assert list(mockrun.wire_copy(PLAIN) or {}) == list(wire)
    assert mockrun.wire_copy({"a": {"b": object()}}) is None


def test_crd_documents_are_fresh(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
                                     "metadata: {name: xs.example.com}\nspec: {group: example.com}\n")
    first = crds.load_dir(tmp_path)
    first[0]["spec"]["group"] = "changed"
    assert crds.load_dir(tmp_path)[0]["spec"]["group"] == "example.com"
