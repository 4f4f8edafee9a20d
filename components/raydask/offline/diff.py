"""Per-object diffs between two render directories (or in-memory renders), as text or PR-comment markdown."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from raydask.offline.render import CRD_DIR, INDEX, dump_yaml, load_yaml

INDEX_SECTIONS = {"crds": "CRDs", "releases": "Helm releases", "outputs": "stack outputs"}
"""``index.yaml`` sections compared as entries of their own (object lists are compared file by file)."""
MARKDOWN_BUDGET = 60_000
"""GitHub comments hold 65,536 characters: diffs beyond this budget are cut."""


@dataclass(frozen=True)
class Change:
    """One added, changed or removed object (``path`` is its file in the render directory)."""

    path: str
    status: str
    old: str | None
    new: str | None
    title: str = ""
    """``Kind namespace/name`` (or the index section) for headings."""

    def unified(self, context: int = 3) -> str:
        """Unified diff, ``a/<path>`` against ``b/<path>``."""
        lines = difflib.unified_diff(
            (self.old or "").splitlines(keepends=True), (self.new or "").splitlines(keepends=True),
            fromfile="/dev/null" if self.old is None else f"a/{self.path}",
            tofile="/dev/null" if self.new is None else f"b/{self.path}", n=context,
        )
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


@dataclass
class DiffResult:
    """Changes grouped as added / changed / removed, each sorted by path."""

    added: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def counts(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


def read_tree(root: Path) -> dict[str, str]:
    """``{relative path: text}`` of every YAML file under ``root``."""
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*.yaml")) if p.is_file()}


def _title(text: str | None, fallback: str) -> str:
    try:
        doc = load_yaml(text or "")
    except yaml.YAMLError:
        return fallback
    if isinstance(doc, dict) and doc.get("kind"):
        from raydask.k8s.manifest import object_ref

        return object_ref(doc)
    return fallback


def _index_sections(text: str | None) -> dict[str, str]:
    if text is None:
        return {}
    try:
        doc: Any = load_yaml(text) or {}
    except yaml.YAMLError:
        return {INDEX: text}
    return {f"{INDEX}#{key}": dump_yaml(doc.get(key)) for key in INDEX_SECTIONS if isinstance(doc, dict) and key in doc}


def compare(old: dict[str, str], new: dict[str, str], *, raw: bool = False) -> DiffResult:
    """Compare two renders file by file. Unless ``raw``, ``_crds/`` files are ignored (the index carries CRD names and
    versions) and ``index.yaml`` is compared by section (CRDs, Helm releases, stack outputs)."""
    if not raw:
        old = {k: v for k, v in old.items() if not k.startswith(f"{CRD_DIR}/")}
        new = {k: v for k, v in new.items() if not k.startswith(f"{CRD_DIR}/")}
        old = {**{k: v for k, v in old.items() if k != INDEX}, **_index_sections(old.get(INDEX))}
        new = {**{k: v for k, v in new.items() if k != INDEX}, **_index_sections(new.get(INDEX))}
    result = DiffResult()
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        section = path.partition("#")[2]
        title = INDEX_SECTIONS.get(section, "") or _title(b if b is not None else a, path)
        if a is None:
            result.added.append(Change(path, "added", None, b, title))
        elif b is None:
            result.removed.append(Change(path, "removed", a, None, title))
        elif a != b:
            result.changed.append(Change(path, "changed", a, b, title))
    return result


def format_text(result: DiffResult, heading: str) -> str:
    """Plain unified diffs under ``Added`` / ``Changed`` / ``Removed`` headings."""
    out = [f"{heading}: {result.counts()}" if not result.empty else f"{heading}: no changes"]
    for name, changes in (("Added", result.added), ("Changed", result.changed), ("Removed", result.removed)):
        if changes:
            out.append(f"\n== {name} ({len(changes)}) ==")
            for c in changes:
                out.append(f"\n--- {c.status}: {c.title} ({c.path})")
                out.append(c.unified().rstrip("\n"))
    return "\n".join(out) + "\n"


def format_markdown(result: DiffResult, heading: str, budget: int = MARKDOWN_BUDGET) -> str:
    """Markdown for a pull-request comment: a summary line, then one collapsible unified diff per object."""
    if result.empty:
        return f"### {heading}\n\nNo changes.\n"
    out = [f"### {heading}", "", f"**{result.counts()}**", ""]
    used = sum(len(x) for x in out)
    cut = 0
    for name, changes in (("Added", result.added), ("Changed", result.changed), ("Removed", result.removed)):
        if not changes:
            continue
        out += [f"#### {name}", ""]
        for c in changes:
            body = c.unified()
            fence = "````" if "```" in body else "```"
            block = [f"<details><summary><code>{c.title}</code> — <code>{c.path}</code></summary>", "",
                     f"{fence}diff", body.rstrip("\n"), fence, "", "</details>", ""]
            size = sum(len(x) + 1 for x in block)
            if used + size > budget:
                out.append(f"- `{c.title}` — `{c.path}` (diff omitted: comment size limit)")
                cut += 1
                continue
            used += size
            out += block
        out.append("")
    if cut:
        out.append(f"_{cut} diff(s) omitted to fit the comment; run `raydask diff` locally for all of them._")
    return "\n".join(out).rstrip("\n") + "\n"
