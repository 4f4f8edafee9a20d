"""Kubernetes resource quantities: parsing, validation and arithmetic.

:func:`check` accepts what the API server accepts; :func:`check_cpu` and :func:`check_memory` also refuse what it
accepts but nobody means (``512m`` of memory is half a byte, ``500M`` CPUs are 500 million cores), naming the unit that
was probably meant.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext

_QUANTITY = re.compile(r"^(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_HINTS = {"GB": "G or Gi", "MB": "M or Mi", "KB": "k or Ki", "TB": "T or Ti", "gi": "Gi", "mi": "Mi", "g": "G or Gi",
          "Gb": "G or Gi", "Mb": "M or Mi", "K": "k or Ki", "ki": "Ki", "GiB": "Gi", "MiB": "Mi", "KiB": "Ki", "TiB": "Ti",
          "gb": "G or Gi", "mb": "M or Mi", "B": "no unit (bytes)", "b": "no unit (bytes)", "cores": "no unit (cores)",
          "core": "no unit (cores)", "cpu": "no unit (cores)", "mcpu": "m (millicores)", "millicores": "m"}
MAX = Decimal(2**63 - 1)
"""The largest quantity the API server stores (a 64-bit integer of base units)."""
MAX_DIGITS = 40
"""Longer numbers are refused before any arithmetic (no 10^1000000 in a Decimal)."""
MAX_CORES = 1024
"""More CPUs than any node has: a unit mistake (``500M`` for ``500m``)."""
MIN_MEMORY = 2**20
"""Less memory than any container runs in: a unit mistake (``2048`` bytes, ``512m`` millibytes)."""


def _suffix_of(text: str) -> str:
    return re.sub(r"^[\d.+-]+", "", text)


def parse(quantity: str) -> Decimal:
    """Value of a quantity in base units (cores or bytes); raises ValueError with a hint when malformed."""
    text = str(quantity)
    m = _QUANTITY.match(text)
    if not m and text != text.strip():
        raise ValueError(f"'{quantity}' has spaces: write the quantity alone, e.g. '{text.strip()}'")
    if not m:
        suffix = _suffix_of(text)
        hint = f" (use {_HINTS[suffix]})" if suffix in _HINTS else ""
        if not text:
            raise ValueError("is empty: give a quantity such as '2' or '8Gi'")
        raise ValueError(f"'{quantity}' is not a Kubernetes quantity{hint}")
    suffix = m.group("suffix") or ""
    digits = m.group("num").lstrip("+-")
    if len(digits) > MAX_DIGITS or (suffix[:1] in ("e", "E") and abs(int(suffix[1:])) > MAX_DIGITS):
        raise ValueError(f"'{quantity}' is out of range: Kubernetes counts at most {MAX} (2^63-1) bytes or cores")
    with localcontext() as ctx:
        ctx.prec = 100
        try:
            num = Decimal(m.group("num"))
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
            raise ValueError(f"'{quantity}' is not a Kubernetes quantity") from exc
        if suffix in _BINARY:
            value = num * _BINARY[suffix]
        elif suffix[:1] in ("e", "E"):
            value = num * Decimal(10) ** int(suffix[1:])
        else:
            value = num * _DECIMAL[suffix]
    if abs(value) > MAX:
        raise ValueError(f"'{quantity}' is out of range: Kubernetes counts at most {MAX} (2^63-1) bytes or cores")
    return value


def _text(quantity: object) -> str:
    if isinstance(quantity, bool) or not isinstance(quantity, (str, int, float)):
        raise ValueError(f"expected a Kubernetes quantity string such as '2' or '8Gi', got {_given(quantity)}")
    if isinstance(quantity, float):
        if quantity != quantity or quantity in (float("inf"), float("-inf")):
            raise ValueError(f"expected a Kubernetes quantity such as '2' or '8Gi', got {quantity}")
        return format(Decimal(str(quantity)).normalize(), "f")
    return str(quantity)


def _given(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if value is None:
        return "no value (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def check(quantity: object, *, positive: bool = True) -> str:
    """Return the quantity as a string when valid, else raise ValueError naming the rule."""
    text = _text(quantity)
    value = parse(text)
    if value < 0 or (positive and value == 0):
        raise ValueError(f"'{text}' must be {'greater than 0' if positive else 'non-negative'}")
    return text


def check_cpu(quantity: object) -> str:
    """A CPU amount greater than 0: cores (``2``, ``1.5``) or millicores (``500m``), at most :data:`MAX_CORES`."""
    text = check(quantity)
    suffix = _suffix_of(text)
    number = text[: len(text) - len(suffix)] if suffix else text
    if suffix in _BINARY:
        raise ValueError(f"'{text}' is a memory unit ({suffix}): CPU is in cores ('2', '0.5') or millicores ('500m')")
    if suffix in ("k", "M", "G", "T", "P", "E"):
        raise ValueError(f"'{text}' is {fmt_cores(parse(text))} cores ({suffix} is a multiplier): did you mean {number}m "
                         "(millicores)?")
    value = parse(text)
    if value > MAX_CORES:
        hint = f": did you mean {number}m (millicores)?" if suffix == "" and "." not in number else ""
        raise ValueError(f"'{text}' is {fmt_cores(value)} cores, more than any node has{hint}")
    if (value * 1000) != (value * 1000).to_integral_value():
        raise ValueError(f"'{text}' is finer than 1m: CPU is counted in millicores ('{fmt_cores(value)}' at the least)")
    return text


def check_memory(quantity: object) -> str:
    """A memory amount of at least 1Mi: bytes with a unit (``512Mi``, ``8Gi``, ``1G``); unit mistakes are named."""
    text = check(quantity)
    suffix = _suffix_of(text)
    number = text[: len(text) - len(suffix)] if suffix else text
    value = parse(text)
    if suffix in ("m", "u", "n"):
        prefix = {"m": "milli", "u": "micro", "n": "nano"}[suffix]
        raise ValueError(f"'{text}' is {value.normalize():f} bytes ({suffix} means {prefix}): did you mean {number}Mi?")
    if value != value.to_integral_value():
        raise ValueError(f"'{text}' is not a whole number of bytes: use a unit, e.g. {number}Gi or {number}Mi")
    if value < MIN_MEMORY:
        unit = "a thousand" if suffix == "k" else "1024"
        what = "no unit means bytes" if suffix == "" or suffix[:1] in "eE" else f"{suffix} is {unit} bytes"
        raise ValueError(f"'{text}' is {int(value)} bytes ({what}): did you mean {number}Mi or {number}Gi? A container needs "
                         "at least 1Mi")
    return text


def cores(quantity: str) -> Decimal:
    """CPU quantity in cores."""
    return parse(quantity)


def whole_cores(quantity: str) -> int:
    """``quantity`` of CPU rounded up to whole cores, as KubeRay and Ray count them (at least 1)."""
    return max(1, int(cores(quantity).to_integral_value(rounding=ROUND_CEILING)))


def bytes_of(quantity: str) -> int:
    """Memory quantity in bytes (rounded up)."""
    return int(parse(quantity).to_integral_value(rounding=ROUND_CEILING))


def mebibytes(n_bytes: int | Decimal) -> str:
    """Bytes as a whole number of Mi, rounded down, at least 1Mi."""
    return f"{max(1, int(Decimal(n_bytes) // 2**20))}Mi"


def fmt_cores(value: Decimal) -> str:
    """Cores as a compact quantity: 2, 1.5 -> 1500m."""
    if value == value.to_integral_value():
        return str(int(value))
    return f"{int((value * 1000).to_integral_value(rounding=ROUND_CEILING))}m"


def fmt_bytes(value: int | Decimal) -> str:
    """Bytes as the largest exact binary unit: 8589934592 -> 8Gi."""
    v = int(value)
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        if v and v % _BINARY[suffix] == 0:
            return f"{v // _BINARY[suffix]}{suffix}"
    return str(v)
