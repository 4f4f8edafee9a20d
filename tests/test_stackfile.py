"""``raydask.offline.stackfile`` reads stack files as the Pulumi CLI does.

``tests/data/stackfile-pulumi.json`` holds, for a corpus of stack files (hand-written cases, every scalar spelling
yaml.v3 resolves differently from PyYAML, random documents and mutations of the shipped stacks), what the Pulumi CLI's
own code (``workspace.LoadProjectStackBytes`` of the SDK the CLI is built from, ``tests/data/stackfile-oracle``) reads
from each: every value, or that it refuses the file. :func:`raydask.offline.stackfile.load` must agree on every one.
After a change to the corpus, rebuild the oracle and rewrite the expectations::

    (cd tests/data/stackfile-oracle && GOFLAGS=-mod=mod go build -o /tmp/stackfile-oracle .)
    .venv/bin/python -m tests.test_stackfile --write /tmp/stackfile-oracle
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from raydask.offline import stackfile

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "stackfile-pulumi.json"
KNOWN_DEVIATIONS = {
    "tab": "PyYAML refuses tabs yaml.v3 accepts inside a line: raydask refuses the file (indent with spaces)",
}
"""Files where raydask is stricter than the Pulumi CLI on purpose (the corpus marks them)."""

SCALARS = [
    "010", "0o17", "0x1F", "0X1f", "0b101", "-0b11", "1_000", "0_10", "08", "09", "+1", "-0", "0.", ".5", "-.5", "+.5", "1e3",
    "1E3", "1e-7", "1e21", "1e6", "1234567", "1.30", "1.0", "100000.0", "1e400", "-1e400", "yes", "no", "on", "off", "y", "n",
    "Yes", "NO", "true", "True", "TRUE", "tRue", "false", "null", "Null", "~", "", "2024-01-02", "2024-1-2", "2024-02-30",
    "2024-01-02T10:00:00Z", "2024-01-02t10:00:00Z", "2024-01-02 10:00:00", "2024-01-02 10:00:00.500",
    "2024-01-02T10:00:00+01:00", "2024-01-02T10:00:00", "2001-12-14t21:59:43.10-05:00", "12:30", "1:20:30",
    "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
    "-9223372036854775809", "123456789012345678901234", "0.1", "3.14159265358979", "1e-300", "5e-324", "abc", "2Gi", "500m",
    "1.5Gi", "-", "+", ".", "..", "0x", "0o", "0b", "0b2", "0o9", "1__0", "_1", "1_", "1.2.3", "2.60.0", "1.31", "v1.0", "'q'",
    '"d"', "!!str 010", "!!int 12", "!!float 3", "!!bool true", "!!null ~", "!!int '7'", "!foo bar", "!!binary aGk=",
    "0.000001", "0.0000001", "1e20", "1e22", "-1e21", "4.0e+2", "1_0.5", "0_0", ".inf", "-.Inf", ".nan", "!!int abc",
]
KEYS = ["a", "b", "1", "010", "true", "null", "1.5", "2024-01-02", "x y", "'q'", "1e6"]
HAND = {
    "empty": "",
    "comment only": "# nothing\n",
    "no config block": "raydask:namespace: ml\n",
    "config null": "config:\n",
    "config a list": "config: [1]\n",
    "config a string": "config: x\n",
    "root a list": "[1, 2]\n",
    "unknown top-level key": "foo: bar\nconfig:\n  raydask:a: 1\n",
    "duplicate key": "config:\n  raydask:a: 1\n  raydask:a: 2\n",
    "duplicate nested key": "config:\n  raydask:a: {x: 1, x: 2}\n",
    "duplicate 1 and '1'": "config:\n  raydask:a: {1: x, \"1\": y}\n",
    "duplicate outside config": "other:\n  a: 1\n  a: 2\nconfig:\n  raydask:a: 1\n",
    "unprefixed key": "config:\n  namespace: ml\n",
    "other namespaces": "config:\n  kubernetes:context: kind\n  Raydask:a: 1\n  raydask:A: 2\n",
    "non-string config key": "config:\n  1: x\n",
    "three-part key": "config:\n  a:b:c: 1\n",
    "config-module key": "config:\n  raydask:config:namespace: ml\n",
    "secret": "config:\n  raydask:redisPassword:\n    secure: AAABAxyz\n",
    "nested secret": "config:\n  raydask:a: {b: {secure: AAAB}}\n",
    "anchors and merges": "config:\n  raydask:a: &A {x: 1}\n  raydask:b: *A\n  raydask:c: {<<: *A, y: 2}\n"
                          "  raydask:d: {a: 1, <<: {a: 2, b: 3}}\n  raydask:e: {<<: [{a: 2}, {a: 3, c: 4}], b: 1}\n",
    "block scalars": "config:\n  raydask:a: |\n    hello\n  raydask:b: >\n    x\n    y\n",
    "explicit tags": "config:\n  raydask:a: !!str 010\n  raydask:b: !!binary aGVsbG8=\n  raydask:c: {x: !!str 1.30, y: !!float 1}\n",
    "bad explicit tag": "config:\n  raydask:a: !!int abc\n",
    "second document": "config:\n  raydask:a: x\n---\nconfig:\n  raydask:b: y\n",
    "garbage after the document": "  other: 1\nconfig:\n  raydask:a: x\n",
    "byte order mark": "\ufeffconfig:\n  raydask:a: 1\n",
    "infinity": "config:\n  raydask:a: .inf\n",
    "nested nan": "config:\n  raydask:a: {x: .nan}\n",
    "mixed keys": "config:\n  raydask:a: {1: x, true: y, 1.5: z, null: w}\n",
    "float keys": "config:\n  raydask:a: {1e6: x, 1.30: y, 2024-01-02: z, 010: w, 1e21: v}\n",
    "numbers in a list": "config:\n  raydask:a: [1e6, 1e-7, 123456789012345678901234, 0.1, -0.0, 1e400]\n",
    "dates": "config:\n  raydask:a: 2024-02-30\n  raydask:b: 2024-13-01\n  raydask:c: 2024-01-02T25:00:00Z\n"
             "  raydask:d: 2024-01-02T10:00:00+01:00\n  raydask:e: 2024-01-02T10:00:00.123456789123Z\n",
    "big integers": "config:\n  raydask:a: 9223372036854775808\n  raydask:b: 18446744073709551616\n  raydask:c: -9223372036854775809\n",
    "tab inside a line": "config:\n  raydask:a: 2\t.5\n",
    "empty values": "config:\n  raydask:a:\n  raydask:b: {c: }\n  raydask:c: []\n  raydask:d: {}\n",
}


def _value(r: random.Random, depth: int) -> str:
    k = r.random()
    if depth > 2 or k < 0.5:
        return r.choice(SCALARS)
    if k < 0.75:
        return "[" + ", ".join(_value(r, depth + 1) for _ in range(r.randint(0, 3))) + "]"
    return "{" + ", ".join(f"{key}: {_value(r, depth + 1)}" for key in r.sample(KEYS, r.randint(0, 3))) + "}"


def _mutated(r: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(r.randint(1, 3)):
        i = r.randrange(len(lines))
        m = re.match(r"^(\s*(?:- )?[^:#]+:\s)(.*)$", lines[i].rstrip("\n"))
        if m and r.random() < 0.6:
            lines[i] = m.group(1) + r.choice([s for s in SCALARS if "\t" not in s]) + "\n"
        else:
            lines.insert(i, lines[r.randrange(len(lines))])
    return "".join(lines)


def corpus() -> dict[str, str]:
    """Every stack file of the corpus by name (deterministic)."""
    out = dict(HAND)
    for s in SCALARS:
        out[f"top-level {s!r}"] = f"config:\n  raydask:a: {s}\n"
        out[f"nested {s!r}"] = f"config:\n  raydask:a: {{k: {s}, l: [{s}]}}\n"
    r = random.Random(17)
    for i in range(150):
        out[f"random {i}"] = "config:\n" + "".join(f"  raydask:k{j}: {_value(r, 0)}\n" for j in range(r.randint(1, 4)))
    stacks = [(ROOT / "stacks" / f"Pulumi.{s}.yaml").read_text() for s in ("dev", "production")]
    for i in range(60):
        out[f"mutated {i}"] = _mutated(r, stacks[i % 2])
    return out


def expectations() -> dict[str, Any]:
    return json.loads(DATA.read_text()) if DATA.is_file() else {}


def _pulumi_values(entry: dict[str, Any]) -> Any:
    """What ``pulumi config --json`` reports, in :func:`stackfile.load`'s form."""
    if "error" in entry:
        return {"error": entry["error"]}
    return {k: json.loads(e["value"]) if e["object"] else {"secure": e["value"]} if e["secret"] else e["value"]
            for k, e in entry.items()}


def as_the_cli(value: Any, top_level: bool = True) -> Any:
    """What the oracle recorded, as the Pulumi CLI then hands it on: a nested integer yaml.v3 read as a uint64 (above
    int64) becomes a float64 (found by the live tier's ``pulumi config --json``, tests/e2e/test_stackfile_cli.py)."""
    if isinstance(value, dict):
        return {k: as_the_cli(v, False) for k, v in value.items()}
    if isinstance(value, list):
        return [as_the_cli(v, False) for v in value]
    if not top_level and isinstance(value, int) and not isinstance(value, bool) and value > 2**63 - 1:
        return json.loads(stackfile.go_json_float(float(value)))
    return value


def read(text: str) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Pulumi.test.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return stackfile.load(path, "raydask")
        except stackfile.StackFileError as exc:
            return {"error": str(exc)}


EXPECTED = expectations()
CASES = corpus()


def test_the_corpus_is_recorded() -> None:
    assert set(EXPECTED) == set(CASES), "corpus changed: rerun the oracle (see the module docstring)"
    assert sum("error" in e["pulumi"] for e in EXPECTED.values()) > 20
    assert sum("error" not in e["pulumi"] for e in EXPECTED.values()) > 200


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_reads_what_pulumi_reads(name: str) -> None:
    expected = EXPECTED[name]
    assert expected["yaml"] == CASES[name]
    got = read(CASES[name])
    want = expected["pulumi"] if "error" in expected["pulumi"] else as_the_cli(expected["pulumi"])
    if "deviation" in expected:
        assert "error" in got, f"{name}: raydask should refuse ({KNOWN_DEVIATIONS[expected['deviation']]})"
        return
    if "error" in want:
        assert "error" in got, f"{name}: Pulumi refuses this file ({want['error']}), raydask read {got}"
    else:
        assert got == want


def test_the_shipped_stacks_have_no_surprises() -> None:
    for stack in ("dev", "production"):
        assert stackfile.read(ROOT / "stacks" / f"Pulumi.{stack}.yaml").problems == []


def test_problems_name_the_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.x.yaml"
    path.write_text("raydask:namespace: ml\nconfig:\n  raydask:rayClusters:\n    - name: a\n      workerGroups:\n"
                    "        - {name: b, replicas: 010}\n  raydask:kubernetesVersion: 1.30\n  raydask:x: 2024-01-02\n"
                    "  namespace: a\n  raydask:namespace: b\n")
    problems = stackfile.read(path).problems
    assert problems == [
        "raydask:namespace: outside the config: block (line 1), so Pulumi ignores it: indent it under config:",
        "raydask:namespace: set twice, as namespace and as raydask:namespace (line 10); Pulumi keeps one of them at random: "
        "remove one",
        "raydask:rayClusters[0].workerGroups[0].replicas: 010 is read as the octal number 8 (a YAML 1.1 rule Pulumi's YAML "
        "parser keeps): write 8, or 10 if you meant decimal, or quote it (\"010\") to keep the text (line 6)",
        "raydask:kubernetesVersion: 1.30 is read as the number 1.3: quote it (\"1.30\") to keep the text (line 7)",
        "raydask:x: 2024-01-02 is read as a timestamp and passed on as '2024-01-02 00:00:00 +0000 UTC': quote it "
        "(\"2024-01-02\") to keep the text (line 8)",
    ]


def write(oracle: str) -> None:
    """Run the oracle on the corpus and record what it read."""
    cases = corpus()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, text in enumerate(cases.values()):
            path = Path(tmp) / f"Pulumi.case{i}.yaml"
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        lines = subprocess.run([oracle, *paths], capture_output=True, text=True, check=True).stdout.splitlines()
    out: dict[str, Any] = {}
    for (name, text), line in zip(cases.items(), lines, strict=True):
        entry: dict[str, Any] = {"yaml": text, "pulumi": _pulumi_values(json.loads(line))}
        got = read(text)
        if "error" not in entry["pulumi"] and "error" in got and "tab character" in got["error"]:
            entry["deviation"] = "tab"
        out[name] = entry
    DATA.write_text(json.dumps(out, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"{len(out)} cases, {sum('error' in e['pulumi'] for e in out.values())} refused by Pulumi, "
          f"{sum('deviation' in e for e in out.values())} known deviations")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--write":
        sys.exit("usage: python -m tests.test_stackfile --write <oracle binary>")
    write(sys.argv[2])
