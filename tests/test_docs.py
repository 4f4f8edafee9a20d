"""Every spec field documents its default, and the configuration reference (docs/configuration.md) is generated from them."""

from __future__ import annotations

from stack_renders import ROOT

from raydask.offline.docs import BEGIN, END, _models, reference
from raydask.spec.config import field_description
from raydask.spec.stack import StackSpec


def test_every_field_documents_its_default() -> None:
    missing = [
        f"{model.__name__}.{name}"
        for model in _models(StackSpec)
        for name in model.model_fields
        if not (text := (field_description(model, name) or "").lower()) or not ("default" in text or "required" in text)
    ]
    assert missing == []


def test_every_spec_model_is_frozen_and_forbids_unknown_keys() -> None:
    for model in _models(StackSpec):
        assert model.model_config.get("frozen") is True, model.__name__
        assert model.model_config.get("extra") == "forbid", model.__name__


def test_configuration_reference_is_current() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    current = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert current == reference().strip(), "run: .venv/bin/python -m raydask.offline.docs --write"


def test_the_spec_json_schema_describes_every_field() -> None:
    schema = StackSpec.model_json_schema()
    undescribed = [f"{name}.{key}" for name, model in [("StackSpec", schema), *schema["$defs"].items()]
                   for key, prop in model.get("properties", {}).items() if not prop.get("description")]
    assert undescribed == []
    assert schema["properties"]["namespace"]["description"] == field_description(StackSpec, "namespace")
