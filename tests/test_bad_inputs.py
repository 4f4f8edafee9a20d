"""The bad-input table of docs/bad-input.md, row by row, through the real program (``raydask.program.main`` under the mock engine
with the stack's config patched): each input must stop the program with exactly the message the table shows.

The table is the test data, so docs and behaviour cannot drift. After an intended message change, regenerate the
message column and review the diff::

    .venv/bin/python -m tests.test_bad_inputs --write
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from raydask.errors import ConfigError
from raydask.offline import render, stackfile
from raydask.program import main
from raydask.spec.security import OFFLINE_SECRET_CONFIG
from raydask.testing import mockrun

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "bad-input.md"
BEGIN, END = "<!-- bad-inputs:begin -->", "<!-- bad-inputs:end -->"
PREFIX = "invalid raydask configuration:\n"
DELETE = "<delete>"
ACCEPTED = "(accepted: no error)"
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


CLASSES = {
    "api": "the API server refuses an object raydask would declare, or a pod or Service an operator creates from it "
           "(with strict field validation, as kubectl applies)",
    "operator": "KubeRay or the Dask operator refuses it, or breaks on it; the API server accepts the objects",
    "raydask": "raydask's own rule (security, pinned images, units nobody means, what a stack must hold together); the "
               "API server accepts the objects",
    "config": "the configuration itself cannot be read as meant (unknown keys, wrong types, Pulumi's YAML reading): there "
              "are no objects to judge",
    "accepted": "accepted: the objects go to the API server as they are",
}
"""The class of each row's refusal (the table's class column): which rows the real API server must refuse as well
(``api``), which it must accept (``operator``, ``raydask``, ``accepted``), and which it cannot judge (``config``);
``tests/e2e/test_api_server_judges_the_table.py`` holds the table to it."""


@dataclass(frozen=True)
class Row:
    """One table row: which stack, the config changes, the class of the refusal, the messages the program must stop
    with."""

    number: int
    stack: str
    patch: str
    """``key.path[0].leaf = <YAML value>`` changes separated by `` ; ``; ``<delete>`` removes the key."""
    klass: str
    """A key of :data:`CLASSES`."""
    messages: tuple[str, ...]


def code_span(text: str) -> str:
    """``text`` as a Markdown code span inside a table cell (pipes escaped, backticks fenced)."""
    text = text.replace("|", "\\|")
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def uncode(cell: str) -> str:
    """The text of a code span written by :func:`code_span`."""
    cell = cell.strip()
    m = re.fullmatch(r"``\s(.*)\s``", cell) or re.fullmatch(r"`(.*)`", cell)
    if not m:
        raise ValueError(f"not a code span: {cell!r}")
    return m.group(1).replace("\\|", "|")


def table_lines(text: str) -> tuple[str, list[str], str]:
    """(before, table lines, after) of the bad-input block of docs/bad-input.md."""
    head, _, rest = text.partition(BEGIN)
    body, _, tail = rest.partition(END)
    if not body:
        raise ValueError(f"docs/bad-input.md has no {BEGIN} … {END} block")
    return head + BEGIN, body.strip("\n").split("\n"), END + tail


def parse_line(line: str) -> Row | None:
    """The row of a table line; None for the header and separator."""
    cells = [c.strip() for c in _CELL_SPLIT.split(line.strip())[1:-1]]
    if len(cells) != 5 or not cells[0].isdigit():
        return None
    return Row(int(cells[0]), cells[1], uncode(cells[2]), cells[3], tuple(uncode(m) for m in cells[4].split("<br>")))


def parse_rows(text: str | None = None) -> list[Row]:
    """Every row of the bad-input table."""
    _, lines, _ = table_lines(text if text is not None else DOC.read_text())
    return [row for line in lines if (row := parse_line(line)) is not None]


def format_row(row: Row) -> str:
    messages = "<br>".join(code_span(m) for m in row.messages)
    return f"| {row.number} | {row.stack} | {code_span(row.patch)} | {row.klass} | {messages} |"


def stack_config(stack: str) -> dict[str, Any]:
    """The stack's config as the Pulumi CLI reads it (:func:`raydask.offline.stackfile.load`)."""
    return copy.deepcopy(stackfile.load(ROOT / "stacks" / f"Pulumi.{stack}.yaml"))


def value(raw: str, top_level: bool) -> Any:
    """A value as written in a stack file, read as the Pulumi CLI reads it."""
    return stackfile.parse_value(raw, top_level)


def apply(config: dict[str, Any], change: str) -> str:
    """Apply one ``path = value`` change; returns the top-level ``raydask:`` key it touched."""
    path, sep, raw = change.partition(" = ")
    if not sep:
        raise ValueError(f"bad change {change!r}: expected 'key.path = value'")
    parts: list[str | int] = [m.group(1) if m.group(1) is not None else int(m.group(2)) for m in _TOKEN.finditer(path.strip())]
    parts[0] = f"raydask:{parts[0]}"
    node: Any = config
    for part, following in itertools.pairwise(parts):
        if isinstance(node, dict) and part not in node:
            node[part] = [] if isinstance(following, int) else {}
        node = node[part]
    top = len(parts) == 1
    if raw.strip() == DELETE:
        node.pop(parts[-1], None)
    elif isinstance(node, list) and parts[-1] == len(node):
        node.append(value(raw, top))
    else:
        node[parts[-1]] = value(raw, top)
    return str(parts[0])


def in_project() -> contextlib.AbstractContextManager[None]:
    """The program's working directory and ``$RAYDASK_PROJECT_DIR``, as ``pulumi up`` runs it."""
    return render.in_project(ROOT)


TEXT = "text: "
ARROW = " → "


def edit(text: str, change: str) -> str:
    """Apply a ``text: OLD → NEW`` change (the first OLD replaced; ``\\n`` is a line break) or ``text: + LINE`` (LINE
    appended) to a stack file's text."""
    body = change.removeprefix(TEXT).replace("\\n", "\n").replace("\\t", "\t")
    if body.startswith("+ "):
        return text + body[2:] + "\n"
    old, sep, new = body.partition(ARROW)
    if not sep or old not in text:
        raise ValueError(f"bad change {change!r}: expected 'text: OLD → NEW' with OLD in the stack file")
    return text.replace(old, new, 1)


def read_edited(stack: str, changes: list[str]) -> tuple[dict[str, Any], list[str]] | tuple[str, ...]:
    """The stack file edited by ``changes``, read as the Pulumi CLI reads it: (config, what reading it found), or the
    lines the Pulumi CLI refuses it with."""
    text = (ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()
    for change in changes:
        text = edit(text, change)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stacks" / f"Pulumi.{stack}.yaml"
        path.parent.mkdir()
        path.write_text(text)
        try:
            file = stackfile.read(path, "raydask")
        except stackfile.StackFileError as exc:
            return tuple(str(exc).replace(str(path), f"stacks/Pulumi.{stack}.yaml").split("\n"))
    return file.values, [p.replace(str(path), f"stacks/Pulumi.{stack}.yaml") for p in file.problems]


def run(stack: str, patch: str) -> tuple[str, ...]:
    """The messages the program stops with for ``stack`` changed by ``patch`` (``(accepted: no error)`` if it runs):
    ``text:`` changes edit the stack file, which is read as the Pulumi CLI reads it, the others change its values."""
    changes = patch.split(" ; ")
    texts = [c for c in changes if c.startswith(TEXT)]
    problems: list[str] = []
    if texts:
        read = read_edited(stack, texts)
        if isinstance(read, tuple) and all(isinstance(line, str) for line in read):
            return read  # type: ignore[return-value]
        config, problems = read  # type: ignore[misc]
    else:
        config = stack_config(stack)
    touched = {apply(config, change) for change in changes if not change.startswith(TEXT)}
    secrets = [k for k in OFFLINE_SECRET_CONFIG if k not in touched and k not in config]  # a patched secret stays as patched
    config.update({k: OFFLINE_SECRET_CONFIG[k] for k in secrets})
    secrets += [k for k, v in config.items() if stackfile.is_secret(v)]
    config.update({k: OFFLINE_SECRET_CONFIG.get(k, "placeholder") for k, v in config.items() if stackfile.is_secret(v)})
    found: list[str] = []
    with in_project():
        try:
            mockrun.run(main, config=config, secret_keys=secrets, stack=stack)
        except pulumi.RunError as exc:
            text = str(exc)
            if not text.startswith(PREFIX):
                raise
            found = text.removeprefix(PREFIX).split("\n")
        except ConfigError as exc:
            found = exc.problems
        finally:
            pulumi.runtime.settings.reset_options()
    lines = sorted(dict.fromkeys([*problems, *found]))
    return tuple(lines) if lines else (ACCEPTED,)


ROWS = parse_rows()


def test_table_is_large_and_numbered() -> None:
    assert len(ROWS) >= 30
    assert [r.number for r in ROWS] == list(range(1, len(ROWS) + 1))
    assert len({(r.stack, r.patch) for r in ROWS}) == len(ROWS)


def test_every_row_has_a_class_that_agrees_with_its_outcome() -> None:
    assert [r.number for r in ROWS if r.klass not in CLASSES] == []
    assert [r.number for r in ROWS if (r.klass == "accepted") != (r.messages == (ACCEPTED,))] == []


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.number}" for r in ROWS])
def test_bad_input(row: Row) -> None:
    got = run(row.stack, row.patch)
    assert got == row.messages
    assert all(re.match(r'^(raydask:|"|stacks/|[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+: |\(accepted)', line) for line in got), got


def write() -> int:
    """Rewrite the message column of every row with what the program says now; prints the rows that changed."""
    before, lines, after = table_lines(DOC.read_text())
    changed = 0
    out = []
    for line in lines:
        row = parse_line(line)
        if row is None:
            out.append(line)
            continue
        new = Row(row.number, row.stack, row.patch, row.klass, run(row.stack, row.patch))
        if new != row:
            changed += 1
            print(f"row {row.number}: {' / '.join(new.messages)}")
        out.append(format_row(new))
    DOC.write_text(before + "\n" + "\n".join(out) + "\n" + after)
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.test_bad_inputs --write")
    print(f"{write()} row(s) updated")
