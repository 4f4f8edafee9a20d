"""One error type for bad input, and the translation of pydantic errors into key-path messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

RULE_MARK = "@"


class ConfigError(ValueError):
    """Bad configuration: every line names a config key path and the rule it breaks."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def rule(field: str, message: str) -> ValueError:
    """A ValueError raised inside a model validator that pins ``message`` on the sub-key ``field``."""
    return ValueError(f"{RULE_MARK}{field}{RULE_MARK} {message}")


def key_path(prefix: str, loc: Iterable[Any]) -> str:
    """``raydask:rayClusters`` + (0, 'workerGroups', 1) -> ``raydask:rayClusters[0].workerGroups[1]``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out += f".{part}" if out and not out.endswith(":") else str(part)
    return out


def _message(err: dict[str, Any]) -> tuple[list[Any], str]:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and (p.startswith("function-") or "[" in p))]
    msg = str(err["msg"])
    typ = err["type"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if msg.startswith(RULE_MARK):
        field, _, msg = msg[1:].partition(RULE_MARK)
        loc.extend(p if not p.isdigit() else int(p) for p in field.split(".") if p)
        msg = msg.strip()
    elif typ == "extra_forbidden":
        msg = "unknown key"
        ctx = err.get("ctx") or {}
        if ctx.get("suggestion"):
            msg += f" (did you mean '{ctx['suggestion']}'?)"
    elif typ == "missing":
        msg = "required key is missing"
    elif typ == "literal_error":
        msg = f"must be one of {err.get('ctx', {}).get('expected', '')}, got {err.get('input')!r}"
    return loc, msg


def from_validation_error(exc: ValidationError, prefix: str, known: dict[tuple[Any, ...], list[str]] | None = None) -> ConfigError:
    """Turn a pydantic ValidationError into a ConfigError whose lines start with the full key path."""
    problems = []
    for err in exc.errors(include_url=False):
        loc, msg = _message(dict(err))
        if err["type"] == "extra_forbidden" and known is not None:
            import difflib

            parent = tuple(loc[:-1])
            options = known.get(tuple(p for p in parent if not isinstance(p, int)), [])
            close = difflib.get_close_matches(str(loc[-1]), options, n=1)
            if close:
                msg = f"unknown key (did you mean '{close[0]}'?)"
        problems.append(f"{key_path(prefix, loc)}: {msg}")
    return ConfigError(sorted(dict.fromkeys(problems)))
