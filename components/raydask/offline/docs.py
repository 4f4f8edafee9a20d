"""Generate the configuration reference (docs/configuration.md) from the spec models
(``python -m raydask.offline.docs --write``)."""

from __future__ import annotations

import os
import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
DOC = Path("docs") / "configuration.md"
"""Where the reference lives, relative to the project."""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " \\| ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "map"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            stack = [field.annotation]
            while stack:
                t = stack.pop()
                if isinstance(t, type) and issubclass(t, BaseModel):
                    walk(t)
                else:
                    stack.extend(typing.get_args(t))

    walk(root)
    return seen


def reference(root: type[BaseModel] | None = None) -> str:
    """Markdown tables, one per model reachable from the stack spec."""
    from raydask.spec.config import field_description
    from raydask.spec.needs import requirement_text

    if root is None:
        from raydask.spec.stack import StackSpec

        root = StackSpec
    out = []
    for model in _models(root):
        doc = (model.__doc__ or "").strip().splitlines()[0]
        out += [f"#### {model.__name__}", "", doc, "", "| key | type | description |", "|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            desc = " ".join((field_description(model, name) or "").split())
            if needs := requirement_text(field):
                desc += f" {needs}"
            desc = desc.replace("|", "\\|")
            required = field.is_required() and field.default is PydanticUndefined
            out.append(f"| `{key}`{' (required)' if required else ''} | {_type_name(field.annotation)} | {desc} |")
        out.append("")
    return "\n".join(out)


def update_reference(path: Path) -> bool:
    """Rewrite the reference between the markers; True when the file changed."""
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    new = text[:start] + "\n" + reference() + "\n" + text[end:]
    if new != text:
        path.write_text(new)
    return new != text


def project_dir() -> Path:
    """``$RAYDASK_PROJECT_DIR``, else the checkout this module runs from (components/raydask/offline/docs.py), else the
    working directory."""
    if os.environ.get("RAYDASK_PROJECT_DIR"):
        return Path(os.environ["RAYDASK_PROJECT_DIR"])
    root = Path(__file__).resolve().parents[3]
    return root if (root / DOC).is_file() else Path.cwd()


if __name__ == "__main__":
    if "--write" in sys.argv:
        print("updated" if update_reference(project_dir() / DOC) else "up to date")
    else:
        print(reference())
