"""The lines of a Ray runtime environment's ``pip`` list, as pip reads them.

Ray writes the list to a requirements file, one entry a line, and runs ``pip install -r`` on it in a fresh virtualenv
whose working directory is an empty directory (``ray._private.runtime_env.pip``). So an entry may be anything pip takes
on a line of a requirements file: a requirement (PEP 508, a URL, an absolute path) with its per-requirement options
(``--hash``, ``--config-settings``), or a global option (``-f <find-links>``, ``--index-url``, ``--extra-index-url``,
``--pre``…). :func:`line_problem` refuses what pip refuses there, and what it would take but cannot use on a node:
relative paths (relative to that empty directory or to Ray's generated file) and global options on a requirement
line (pip ignores them there). ``tests/test_pip_lines.py`` holds it to pip's own parser.
"""

from __future__ import annotations

import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement

VALUED = {"-i": "--index-url", "--index-url": "--index-url", "--extra-index-url": "--extra-index-url",
          "-c": "--constraint", "--constraint": "--constraint", "-r": "--requirement", "--requirement": "--requirement",
          "-e": "--editable", "--editable": "--editable", "-f": "--find-links", "--find-links": "--find-links",
          "--no-binary": "--no-binary", "--only-binary": "--only-binary", "--trusted-host": "--trusted-host",
          "--use-feature": "--use-feature"}
"""Global options of a requirements file that take a value (pip's ``SUPPORTED_OPTIONS``), by spelling."""
FLAGS = ("--no-index", "--prefer-binary", "--require-hashes", "--pre")
"""Global options of a requirements file without a value."""
PER_REQUIREMENT = {"--hash": "--hash", "--config-settings": "--config-settings", "-C": "--config-settings"}
"""Options pip reads on a requirement's own line."""
HASHES = ("sha256", "sha384", "sha512")
"""The hash algorithms pip allows in ``--hash``."""
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{[A-Z0-9_]+\}")
_URL = re.compile(r"^(?:(?:git|hg|svn|bzr)\+)?(?:https?|file|ssh|git)://", re.I)
_SHORT = re.compile(r"^(-[icrefC])(.+)$")


def _location_problem(option: str, value: str) -> str | None:
    """A file, directory or index a line points at: a URL, or an absolute path in the image."""
    if _URL.match(value) or value.startswith("/"):
        return None
    if option in ("--no-binary", "--only-binary", "--trusted-host", "--use-feature"):
        return None
    return (f"{option} '{value}' is a relative path: Ray runs pip in an empty directory of its own on each node (and "
            "-r / -c paths are relative to the requirements file Ray writes): give a URL or an absolute path in the image")


def _value_problem(option: str, value: str) -> str | None:
    if not value:
        return f"{option} needs a value"
    if option in ("--no-binary", "--only-binary"):
        names = value.split(",")
        if not all(n in (":all:", ":none:") or re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", n) for n in names):
            return f"{option} '{value}' is not :all:, :none: or package names separated by commas"
        return None
    if option == "--hash":
        algo, _, digest = value.partition(":")
        if algo not in HASHES or not re.fullmatch(r"[0-9a-fA-F]+", digest):
            return f"--hash '{value}' is not <algorithm>:<hex digest> with an algorithm pip allows ({', '.join(HASHES)})"
        return None
    if option == "--config-settings":
        return None if "=" in value else f"--config-settings '{value}' is not KEY=VALUE"
    return _location_problem(option, value)


def _options(tokens: list[str], allowed: dict[str, str], flags: tuple[str, ...]) -> tuple[list[str], str | None]:
    """(canonical options, problem) of ``tokens`` against the allowed spellings."""
    found: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        name, eq, value = token.partition("=") if token.startswith("--") else (token, "", "")
        short = _SHORT.match(token) if not token.startswith("--") else None
        if short and short.group(1) in allowed:
            name, value, eq = short.group(1), short.group(2), "="
        if name in flags and not eq:
            found.append(name)
            i += 1
            continue
        if name not in allowed:
            if name in VALUED or name in FLAGS:
                return found, f"{name} is a global option: pip ignores it on a requirement's line; give it an entry of its own"
            return found, f"{name} is not an option of a requirements file (pip refuses it)"
        if not eq:
            if i + 1 >= len(tokens):
                return found, f"{name} needs a value"
            value = tokens[i + 1]
            i += 1
        if problem := _value_problem(allowed[name], value):
            return found, problem
        found.append(allowed[name])
        i += 1
    return found, None


def _requirement_problem(text: str) -> str | None:
    """A requirement as pip reads it: PEP 508 (``emoji==2.14.1``, ``name @ URL``), a URL, or an absolute path."""
    if _URL.match(text) or text.startswith("/"):
        return None
    if text.startswith((".", "~")) or ("/" in text.split(";")[0].split("@")[0] and not re.search(r"\s@\s", text)):
        return (f"'{text}' is a relative path: Ray runs pip in an empty directory of its own on each node: give a URL or "
                "an absolute path in the image")
    try:
        Requirement(text)
    except InvalidRequirement:
        return f"'{text}' is not a pip requirement such as 'emoji==2.14.1', a URL, or an option of a requirements file"
    return None


def line_problem(line: str) -> str | None:
    """Why pip cannot use ``line`` as a line of a requirements file written by Ray, or None."""
    text = _ENV_VAR.sub("x", _COMMENT.sub("", line)).strip()
    if not text:
        return None
    tokens = text.split(" ")
    split = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    requirement = " ".join(tokens[:split]).strip()
    try:
        options = shlex.split(" ".join(tokens[split:]))
    except ValueError as exc:
        return f"'{line}': {exc}"
    if requirement:
        _, problem = _options(options, PER_REQUIREMENT, ())
        return problem or _requirement_problem(requirement)
    found, problem = _options(options, {**VALUED, **PER_REQUIREMENT}, FLAGS)
    if problem:
        return problem
    per_requirement = [o for o in found if o in PER_REQUIREMENT.values()]
    if per_requirement and not ("--editable" in found and per_requirement == ["--config-settings"]):
        return f"{per_requirement[0]} belongs on a requirement's own line (pip ignores it on an option's line): e.g. " \
               "'emoji==2.14.1 --hash=sha256:<digest>'"
    if found.count("--editable") > 1 or ("--editable" in found and len(found) > 1 + len(per_requirement)):
        return "-e takes one requirement on a line of its own"
    return None
