"""Stack files read exactly as the Pulumi CLI reads them.

``pulumi up`` reads ``Pulumi.<stack>.yaml`` with Go's ``gopkg.in/yaml.v3`` (through the Pulumi SDK's config package),
not with PyYAML: its YAML is mostly 1.2 (``yes``/``no``/``on``/``off`` are strings, no sexagesimal numbers), but it
still reads ``010`` as the octal number 8, ``1_000`` and ``1e3`` as 1000 and unquoted dates as timestamps, and Pulumi then turns
each value into the string or JSON its programs receive. :func:`load` reproduces that, value for value (checked
against the real CLI's code: ``tests/test_stackfile.py``), so ``raydask render`` / ``validate`` and ``pulumi up`` see
the same configuration.

:func:`read` also reports what Pulumi accepts without a word but changes or drops (:attr:`StackFile.problems`): keys
outside ``config:``, the same key with and without the project prefix, numbers (octal ``010``) and dates whose value is
not what the text says, extra documents, unknown tags. Stack files Pulumi itself refuses (YAML errors, duplicate keys, malformed
config keys, ``.inf``) raise :class:`StackFileError`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from raydask.errors import key_path, quote_key

PROJECT_FILE = "Pulumi.yaml"
OURS = "raydask:"
"""The namespace of the config keys the raydask program reads."""
STACK_FILE_KEYS = frozenset({"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"})
"""Top-level keys of a stack file the Pulumi CLI reads; it ignores any other silently."""
TAG = "tag:yaml.org,2002:"
_PLAIN = "!raydask-plain"
"""Tag the composer gives untagged plain scalars, which yaml.v3 resolves (quoted and block scalars are strings)."""


class StackFileError(Exception):
    """The Pulumi CLI cannot read the stack file; the message says where and why."""


@dataclass
class StackFile:
    """A stack file as the Pulumi CLI reads it."""

    path: Path
    project: str
    values: dict[str, Any]
    """What :func:`load` returns."""
    lines: dict[str, int] = field(default_factory=dict)
    """Line (1-based) of each config key."""
    problems: list[str] = field(default_factory=list)
    """``<config key>: <message>`` for what Pulumi reads differently from what the file says, or ignores."""

    @property
    def secrets(self) -> list[str]:
        """Config keys holding encrypted (``secure:``) values."""
        return [k for k, v in self.values.items() if is_secret(v)]


def is_secret(value: Any) -> bool:
    """True for an encrypted config value, ``{"secure": "<ciphertext>"}``."""
    return isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str)


# --------------------------------------------------------------------------------------------------------------------
# composing: PyYAML's parser and composer, no resolution (yaml.v3 resolves below)
# --------------------------------------------------------------------------------------------------------------------


class _Composer(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
                yaml.resolver.BaseResolver):
    """Parse and compose only: an untagged plain scalar keeps the tag :data:`_PLAIN`, everything else its own tag."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.BaseResolver.__init__(self)

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else TAG + "str"
        return TAG + ("seq" if kind is SequenceNode else "map")


def _first_document(text: str) -> tuple[Node | None, str | None]:
    """The first YAML document (yaml.v3 reads no further) and, when the file goes on, what Pulumi ignores after it."""
    loader = _Composer(text)
    try:
        if not loader.check_node():
            return None, None
        node = loader.get_node()
        try:  # yaml.v3's scanner has read a little beyond the document: an error there fails it too
            loader.get_token()
            loader.peek_token()
        except yaml.scanner.ScannerError:
            raise
        except yaml.YAMLError:
            pass
    finally:
        loader.dispose()
    loader = _Composer(text)
    try:
        loader.check_node()
        loader.get_node()
        if loader.check_node():
            following = loader.get_node()
            line = following.start_mark.line + 1 if following is not None else "?"
            return node, f"a second YAML document starts at line {line}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "the end"
        return node, f"the YAML after the first document ({where}) cannot be read"
    finally:
        loader.dispose()
    return node, None


# --------------------------------------------------------------------------------------------------------------------
# yaml.v3's resolution (resolve.go) and Go's formatting of what it resolves to
# --------------------------------------------------------------------------------------------------------------------


class Timestamp(str):
    """A timestamp yaml.v3 resolved, as Go's ``time.Time.String()`` prints it (what Pulumi passes on)."""


_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_FLOAT = re.compile(r"^[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|inf|infinity|nan)$", re.IGNORECASE)
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_SPECIAL_FLOATS = {".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan, **{
    f"{sign}{inf}": (-math.inf if sign == "-" else math.inf) for sign in ("", "+", "-") for inf in (".inf", ".Inf", ".INF")}}
_TIMESTAMP = re.compile(
    r"^(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2}):(?P<S>[0-9]{1,2})(?:\.(?P<f>[0-9]+))?"
    r"(?P<z>Z|[+-][0-9]{2}:[0-9]{2})?)?$")
INT64 = (-(2**63), 2**63 - 1)


def _parse_go_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 0, 64)`` then ``ParseUint``: sign, 0x/0o/0b prefixes and legacy octal ``010``."""
    sign, body = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    if not body:
        return None
    low = body.lower()
    try:
        if low.startswith("0x"):
            value = int(body[2:], 16)
        elif low.startswith("0o"):
            value = int(body[2:], 8)
        elif low.startswith("0b"):
            value = int(body[2:], 2)
        elif low.startswith("0") and len(body) > 1:
            value = int(body[1:], 8)
        else:
            value = int(body, 10)
    except ValueError:
        return None
    if not re.fullmatch(r"[0-9a-zA-Z]+", body) or "_" in body:
        return None
    if sign == "-":
        value = -value
    if INT64[0] <= value <= INT64[1] or (sign == "" and 0 <= value < 2**64):
        return value
    return None


def _parse_go_float(text: str) -> float | None:
    """Go's ``strconv.ParseFloat(text, 64)``; None when it fails (out of range included)."""
    if not _GO_FLOAT.match(text):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value) and "inf" not in text.lower():
        return None  # out of range: Go returns an error
    return value


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


def _parse_timestamp(text: str) -> Timestamp | None:
    """yaml.v3's ``parseTimestamp`` (Go's ``time.Parse`` of four layouts), printed as ``time.Time.String()``."""
    m = _TIMESTAMP.match(text)
    if not m:
        return None
    if m.group("sep") == " " and m.group("z"):
        return None  # "2006-1-2 15:4:5.999999999" has no zone
    year, month, day = int(m.group("y")), int(m.group("m")), int(m.group("d"))
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(max(year, 1), month):
        return None
    if m.group("sep") is None:
        return Timestamp(f"{year:04d}-{month:02d}-{day:02d} 00:00:00 +0000 UTC")
    hour, minute, second = int(m.group("H")), int(m.group("M")), int(m.group("S"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    if m.group("sep") in "Tt" and not m.group("z"):
        return None  # RFC 3339 layouts need a zone
    fraction = (m.group("f") or "")[:9].rstrip("0")
    zone = m.group("z") or "Z"
    if zone == "Z" or zone in ("+00:00", "-00:00"):
        suffix = "+0000 UTC"  # the CLI's local zone is taken to be UTC
    else:
        if int(zone[1:3]) > 24 or int(zone[4:6]) > 60:
            return None
        offset = zone.replace(":", "")
        suffix = f"{offset} {offset}"
    return Timestamp(f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
                     f"{'.' + fraction if fraction else ''} {suffix}")


Resolved = Any
"""What yaml.v3 resolves a scalar to: None, bool, int, float, str or :class:`Timestamp`."""


def resolve(tag: str, text: str) -> tuple[str, Resolved]:
    """yaml.v3's ``resolve``: (short tag, value) of a plain scalar with ``tag`` (``""`` when untagged)."""
    hint = text[:1]
    if text == "":
        hint = "N"
    if hint and (hint in "+-0123456789yYnNtTfFoO~." or hint == "N"):
        if text in _BOOLS:
            return "!!bool", _BOOLS[text]
        if text in _NULLS:
            return "!!null", None
        if text in _SPECIAL_FLOATS:
            return "!!float", _SPECIAL_FLOATS[text]
        if hint == ".":
            value = _parse_go_float(text)
            if value is not None:
                return "!!float", value
        elif hint in "+-0123456789":
            if tag in ("", "!!timestamp"):
                stamp = _parse_timestamp(text)
                if stamp is not None:
                    return "!!timestamp", stamp
            plain = text.replace("_", "")
            number = _parse_go_int(plain)
            if number is not None:
                return "!!int", number
            if _FLOAT.match(plain):
                value = _parse_go_float(plain)
                if value is not None:
                    return "!!float", value
            for prefix, sign in (("0b", ""), ("-0b", "-"), ("0o", ""), ("-0o", "-")):
                if plain.startswith(prefix):
                    digits = plain[len(prefix):]
                    base = 2 if "b" in prefix else 8
                    if digits and all(c in "01234567"[:base] for c in digits):
                        value_int = int(sign + digits, base)
                        if INT64[0] <= value_int < 2**64:
                            return "!!int", value_int
                    break
    return "!!str", text


def _resolve_tagged(tag: str, text: str, line: int, where: str = "") -> Resolved:
    """A scalar with an explicit tag, as yaml.v3 decodes it (``!!str 010`` stays a string)."""
    short = "!!" + tag[len(TAG):] if tag.startswith(TAG) else tag
    if short == "!!str":
        return text
    if short == "!!binary":
        try:
            return base64.b64decode(text.replace("\n", "").replace(" ", ""), validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise StackFileError(f"{where or 'value'}: !!binary {text} is not base64 (line {line}), and the Pulumi CLI refuses "
                                 "the file") from None
    if short not in ("!!bool", "!!int", "!!float", "!!null", "!!timestamp"):
        return text  # a tag yaml.v3 does not resolve: the text
    rtag, value = resolve(short, text)
    if rtag == short:
        return value
    if short == "!!float" and rtag == "!!int":
        return float(value)
    raise StackFileError(f"{where or 'value'}: {short} {text} cannot be read as a {short[2:]} (line {line}), and the Pulumi "
                         "CLI refuses the file: remove the tag or fix the value")


def _shortest(value: float) -> tuple[str, int]:
    """Shortest round-trip decimal digits of ``|value|`` (as Go and Python both find them) and the exponent of the first."""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    assert isinstance(exponent, int)
    return digits.rstrip("0") or "0", len(digits) + exponent - 1


def _fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * (-point) + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_json_float(value: float) -> str:
    """Go's ``encoding/json`` text of a float64."""
    if math.isnan(value) or math.isinf(value):
        raise StackFileError(f"json: unsupported value: {_go_g(value)}")
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    digits, exp = _shortest(value)
    sign = "-" if value < 0 else ""
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp)}"
    return sign + _fixed(digits, exp + 1)


def _go_g(value: float) -> str:
    """Go's ``strconv.FormatFloat(value, 'g', -1, 64)``, also ``fmt``'s ``%v``: the exponent form when it is < -4 or ≥ 6."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    digits, exp = _shortest(value)
    sign = "-" if value < 0 else ""
    if exp < -4 or exp >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    return sign + _fixed(digits, exp + 1)


def _round_trip(value: Resolved) -> Resolved:
    """What Pulumi's second reading gives for a value it wrote back as YAML: a float printed without exponent or point
    comes back an int, ``-0`` an int 0."""
    if isinstance(value, float) and math.isfinite(value):
        text = _go_g(value)
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
    return value


def _go_v(value: Resolved) -> str:
    """``fmt.Sprintf("%v", value)`` of a map key Pulumi turns into a string."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_g(value)
    return str(value)


# --------------------------------------------------------------------------------------------------------------------
# decoding: yaml.v3 into interface{}, then Pulumi's config values
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Scalar:
    """A decoded scalar and what was written."""

    value: Resolved
    text: str
    plain: bool
    line: int


class _Decoder:
    BUDGET = 1_000_000
    """Nodes decoded at most (aliases expand): yaml.v3 refuses excessive aliasing too."""

    def __init__(self, finite: bool = True) -> None:
        self.finite = finite
        """Refuse .inf and .nan (Pulumi stores config values as JSON, which has neither)."""
        self.notes: list[tuple[int, str, _Scalar]] = []
        """(line, where, scalar) of plain scalars whose value is not what their text says."""
        self.active: set[int] = set()
        self.decoded = 0

    def scalar(self, node: ScalarNode, where: str) -> _Scalar:
        line = node.start_mark.line + 1
        if node.tag == _PLAIN:
            _, value = resolve("", node.value)
            out = _Scalar(value, node.value, True, line)
            if _surprising(out):
                self.notes.append((line, where, out))
            return out
        if node.tag in (TAG + "str", "!"):
            return _Scalar(node.value, node.value, False, line)
        return _Scalar(_resolve_tagged(node.tag, node.value, line, where), node.value, False, line)

    def key(self, node: Node, where: str) -> Any:
        if not isinstance(node, ScalarNode):
            raise StackFileError(f"{where or 'the file'}: a {'list' if isinstance(node, SequenceNode) else 'mapping'} as a key (line "
                                 f"{node.start_mark.line + 1}): keys are plain text, and the Pulumi CLI refuses the file")
        return self.scalar(node, where).value

    def decode(self, node: Node, where: str) -> Any:
        self.decoded += 1
        if self.decoded > self.BUDGET:
            raise StackFileError("yaml: document contains excessive aliasing")
        if id(node) in self.active:
            raise StackFileError(f"{where or 'the file'}: an alias that contains itself (line {node.start_mark.line + 1}), which "
                                 "the Pulumi CLI refuses")
        self.active.add(id(node))
        try:
            return self._decode(node, where)
        finally:
            self.active.discard(id(node))

    def _decode(self, node: Node, where: str) -> Any:
        if isinstance(node, ScalarNode):
            value = self.scalar(node, where).value
            if self.finite and isinstance(value, float) and not math.isfinite(value):
                raise StackFileError(f"{where}: {node.value} is not a number Pulumi can store (line {node.start_mark.line + 1}): "
                                     "its config is JSON, which has no infinity or NaN; the Pulumi CLI refuses the file")
            return value
        if isinstance(node, SequenceNode):
            return [self.decode(item, f"{where}[{i}]") for i, item in enumerate(node.value)]
        assert isinstance(node, MappingNode)
        self.check_unique(node, where)
        out: dict[Any, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "<<" and key_node.tag in (_PLAIN, TAG + "merge", "!"):
                merges.append(value_node)
                continue
            key = self.key(key_node, where)
            out[(type(key).__name__, key)] = self.decode(value_node, _join(where, key))
        for merge in merges:
            sources = merge.value if isinstance(merge, SequenceNode) else [merge]
            for source in sources:
                if not isinstance(source, MappingNode):
                    raise StackFileError(f"{where or 'the file'}: <<: merges a mapping or a list of mappings (line "
                                         f"{source.start_mark.line + 1}), and the Pulumi CLI refuses the file")
                for k, v in self.decode(source, where).items():
                    out.setdefault(k, v)
        return out

    @staticmethod
    def check_unique(node: MappingNode, where: str = "") -> None:
        """yaml.v3 refuses a mapping key written twice (compared as written: ``1`` and ``"1"`` are the same key)."""
        seen: dict[tuple[str, str], int] = {}
        errors = []
        for key_node, _ in node.value:
            kind = type(key_node).__name__
            text = key_node.value if isinstance(key_node, ScalarNode) else ""
            line = key_node.start_mark.line + 1
            if isinstance(key_node, ScalarNode) and (kind, text) in seen:
                lines = f"lines {seen[(kind, text)]} and {line}" if seen[(kind, text)] != line else f"both on line {line}"
                errors.append(f"{_join(where, text)}: written twice ({lines}); the Pulumi CLI refuses a file with a repeated "
                              "key: keep one")
            seen.setdefault((kind, text), line)
        if errors:
            raise StackFileError("\n".join(errors))


def _join(where: str, key: Any) -> str:
    """The key path of ``key`` under ``where`` (``raydask:rayClusters[0]`` + ``name``)."""
    text = key if isinstance(key, str) else _go_v(key)
    return key_path(where, [text]) if where else quote_key(text)


def _surprising(scalar: _Scalar) -> bool:
    """A plain scalar whose value is not what its text says to a reader: a date (a timestamp to Pulumi), a number with a
    leading zero (octal to Pulumi: 010 is 8). Other notations are the number they write (1e3, 1_000, 0x3E8 and 0b1111101000
    are 1000), passed on as that number, in decimal where a text is expected."""
    value, text = scalar.value, scalar.text
    if isinstance(value, Timestamp):
        return True
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int):
        return bool(re.match(r"0[0-9_]", text.lstrip("+-")))
    return False


def _to_object(value: Any) -> Any:
    """Pulumi's ``unmarshalObject`` of a decoded value (after its write-back and second reading), as the JSON its
    programs receive decodes in Python: keys strings, floats as Go prints them, maps sorted by key."""
    if isinstance(value, dict):  # keys are (type name, key): 1 and true are different keys
        items = {k if isinstance(k, str) else _go_v(_round_trip(k)): _to_object(v) for (_, k), v in value.items()}
        return dict(sorted(items.items()))
    if isinstance(value, list):
        return [_to_object(v) for v in value]
    value = _round_trip(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > INT64[1]:
        value = float(value)  # yaml.v3 reads it as a uint64, which the CLI stores as a float64
    if isinstance(value, float):
        return json.loads(go_json_float(value))
    if isinstance(value, Timestamp):
        return str(value)
    return value


def _top_level(value: Any) -> Any:
    """A top-level config value as Pulumi reports it: scalars as the string it stores, maps and lists as objects,
    ``secure:`` values as ``{"secure": ciphertext}``."""
    if isinstance(value, dict) and set(value) == {("str", "secure")} and isinstance(value[("str", "secure")], str):
        return {"secure": value[("str", "secure")]}
    if isinstance(value, (dict, list)):
        return _to_object(value)
    if value is None:
        return ""
    value = _round_trip(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_json_float(value)
    return str(value)


# --------------------------------------------------------------------------------------------------------------------
# the stack file
# --------------------------------------------------------------------------------------------------------------------


def project_name(path: Path) -> str:
    """``name`` of the ``Pulumi.yaml`` in ``path``'s directory or the nearest parent holding one; ``raydask`` without."""
    for directory in (path.parent, *path.parent.parents):
        project = directory / PROJECT_FILE
        if project.is_file():
            try:
                doc = yaml.safe_load(project.read_text(encoding="utf-8"))
            except yaml.YAMLError:
                break
            if isinstance(doc, dict) and isinstance(doc.get("name"), str):
                return doc["name"]
            break
    return "raydask"


def read(path: str | Path, project: str | None = None) -> StackFile:
    """Read a stack file as the Pulumi CLI does; :class:`StackFileError` when the CLI would refuse it."""
    path = Path(path)
    project = project or project_name(path)
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StackFileError(f"{path}: not UTF-8 text ({exc})") from None
    try:
        root, rest = _first_document(text)
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML: {_yaml_error(exc)}") from None
    out = StackFile(path, project, {})
    if rest is not None:
        out.problems.append(f"{path}: {rest}; Pulumi reads only the first document and ignores the rest")
    if root is None or (isinstance(root, ScalarNode) and root.tag == _PLAIN and root.value in _NULLS):
        return out
    if not isinstance(root, MappingNode):
        raise StackFileError(f"{path}: expected the stack file to be a mapping with a config: block")
    decoder = _Decoder()
    decoder.check_unique(root)
    config_node: Node | None = None
    for key_node, value_node in root.value:
        key = decoder.key(key_node, "")
        if not isinstance(key, str):
            raise StackFileError(f"{path}: line {key_node.start_mark.line + 1}: a top-level key must be text, got "
                                 f"'{_go_v(key)}'")
        if key == "config":
            config_node = value_node
        else:  # decoded all the same: yaml.v3 reads the whole document (duplicate keys anywhere are refused)
            _Decoder(finite=False).decode(value_node, key)
        if key not in STACK_FILE_KEYS | {"config"}:
            where = quote_key((_config_key(key, project) or key) if ":" in key else key)
            out.problems.append(f"{where}: outside the config: block (line {key_node.start_mark.line + 1}), so Pulumi "
                                "ignores it: indent it under config:")
    if config_node is None or (isinstance(config_node, ScalarNode) and config_node.tag == _PLAIN
                               and config_node.value in _NULLS):
        return out
    if not isinstance(config_node, MappingNode):
        raise StackFileError(f"{path}: line {config_node.start_mark.line + 1}: config: must be a mapping of keys to values")
    written: dict[str, str] = {}
    for key_node, _ in config_node.value:  # keys Pulumi cannot parse first: it refuses the file before anything else
        key = decoder.key(key_node, "")
        if not isinstance(key, str) or _config_key(key, project) is None:
            raise StackFileError(f"{quote_key(_go_v(key))}: not a config key Pulumi can read (line "
                                 f"{key_node.start_mark.line + 1}): write <namespace>:<name>, e.g. raydask:rayClusters")
    decoder.check_unique(config_node)
    for key_node, value_node in config_node.value:
        key = decoder.key(key_node, "")
        line = key_node.start_mark.line + 1
        full = _config_key(key, project)
        assert full is not None
        if full in written:
            out.problems.append(f"{quote_key(full)}: set twice, as {written[full]} and as {key} (line {line}); Pulumi keeps one of "
                                "them at random: remove one")
            continue
        written[full] = key
        out.lines[full] = line
        out.values[full] = _top_level(decoder.decode(value_node, full))
        if isinstance(value_node, ScalarNode) and value_node.tag == _PLAIN:
            _, resolved = resolve("", value_node.value)
            stored = out.values[full]
            if isinstance(resolved, float) and stored != value_node.value:  # kubernetesVersion: 1.30 -> "1.3"
                decoder.notes.append((line, full, _Scalar(resolved, value_node.value, True, line)))
    for line, where, scalar in decoder.notes:
        if where.startswith(OURS):  # other namespaces' values are their readers' business
            out.problems.append(f"{where}: {_surprise(scalar)} (line {line})")
    out.problems = list(dict.fromkeys(out.problems))
    return out


def _surprise(scalar: _Scalar) -> str:
    value, text = scalar.value, scalar.text
    if isinstance(value, Timestamp) or (isinstance(value, str) and _parse_timestamp(text) is not None):
        return (f"{text} is read as a timestamp and passed on as '{value}': quote it (\"{text}\") to keep the text")
    if isinstance(value, int) and re.match(r"0[0-9]", text.lstrip("+-")):
        decimal = text.replace("_", "").lstrip("+-").lstrip("0") or "0"
        return (f"{text} is read as the octal number {value} (a YAML 1.1 rule Pulumi's YAML parser keeps): write {value}, or "
                f"{decimal} if you meant decimal, or quote it (\"{text}\") to keep the text")
    if isinstance(value, int | float) and "_" in text:
        return f"{text} is read as the number {value} (underscores dropped): write {value}, or quote it"
    shown = json.loads(go_json_float(value)) if isinstance(value, float) else value
    return f"{text} is read as the number {shown}: quote it (\"{text}\") to keep the text"


def _yaml_error(exc: yaml.YAMLError) -> str:
    """PyYAML's message on one line, with the line and column; tabs named (YAML separates with spaces)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    if "'\\t'" in problem or "\t" in problem:
        return f"{where}a tab character: indent and separate with spaces"
    context = getattr(exc, "context", None)
    return f"{where}{problem}" + (f" ({context})" if context else "")


def _config_key(key: str, project: str) -> str | None:
    """A config key with its namespace, as Pulumi's ``ParseKey`` reads it: keys without one get the project's,
    ``<namespace>:config:<name>`` is ``<namespace>:<name>``; None for a key it cannot parse."""
    parts = key.split(":")
    if len(parts) == 1:
        return f"{project}:{key}"
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


def load(path: str | Path, project: str | None = None) -> dict[str, Any]:
    """The stack file's config exactly as ``pulumi config --json`` reports its values: for each key (namespaced, keys
    without a namespace under the project's), ``objectValue`` for maps and lists (JSON-decoded: keys sorted, numbers as
    Go prints them), ``value`` (a string) for scalars, and ``{"secure": ciphertext}`` for encrypted values.
    :class:`StackFileError` when the Pulumi CLI would refuse the file."""
    return read(path, project).values


def engine_config(values: dict[str, Any]) -> dict[str, str]:
    """Config as the Pulumi engine passes it to a program: strings as they are, maps and lists as JSON text."""
    return {k: v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), ensure_ascii=False) for k, v in values.items()}




def parse_value(text: str, top_level: bool = False) -> Any:
    """A YAML value written in a stack file, as the program receives it: at the ``top_level`` of ``config:`` (a scalar
    stays the string Pulumi stores), or nested in a map or list. :class:`StackFileError` when Pulumi would refuse it."""
    try:
        node, _ = _first_document(text)
    except yaml.YAMLError as exc:
        raise StackFileError(f"not valid YAML: {_yaml_error(exc)}") from None
    if node is None:
        return "" if top_level else None
    value = _Decoder().decode(node, "")
    return _top_level(value) if top_level else _to_object(value)


def normalize(value: Any, top_level: bool = False) -> Any:
    """A Python value as if written in a stack file and read by Pulumi: keys strings and sorted, whole floats ints, and at
    the ``top_level`` of ``config:`` a scalar as the string Pulumi stores (``True`` -> ``"true"``, None -> ``""``)."""
    if isinstance(value, dict):
        items = {(type(k).__name__, k): v for k, v in value.items()}
        return _top_level({k: _wrap(v) for k, v in items.items()}) if top_level else _to_object(
            {k: _wrap(v) for k, v in items.items()})
    if isinstance(value, list):
        wrapped = [_wrap(v) for v in value]
        return _top_level(wrapped) if top_level else _to_object(wrapped)
    return _top_level(value) if top_level else _to_object(value)


def _wrap(value: Any) -> Any:
    """Plain dicts in the decoder's form (keys as ``(type name, key)``)."""
    if isinstance(value, dict):
        return {(type(k).__name__, k): _wrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value
