"""Kubernetes resource quantities: parsing, validation and arithmetic."""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

_QUANTITY = re.compile(r"^(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal(10**3),
            "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}
_HINTS = {"GB": "G or Gi", "MB": "M or Mi", "KB": "k or Ki", "TB": "T or Ti", "gi": "Gi", "mi": "Mi", "g": "G or Gi",
          "Gb": "G or Gi", "Mb": "M or Mi", "K": "k or Ki"}


def parse(quantity: str) -> Decimal:
    """Value of a quantity in base units (cores or bytes); raises ValueError with a hint when malformed."""
    text = str(quantity).strip()
    m = _QUANTITY.match(text)
    if not m:
        suffix = re.sub(r"^[\d.+-]+", "", text)
        hint = f" (use {_HINTS[suffix]})" if suffix in _HINTS else ""
        raise ValueError(f"'{quantity}' is not a Kubernetes quantity{hint}")
    suffix = m.group("suffix") or ""
    try:
        num = Decimal(m.group("num"))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"'{quantity}' is not a Kubernetes quantity") from exc
    if suffix in _BINARY:
        return num * _BINARY[suffix]
    if suffix[:1] in ("e", "E"):
        return num * Decimal(10) ** int(suffix[1:])
    return num * _DECIMAL[suffix]


def check(quantity: object, *, positive: bool = True) -> str:
    """Return the quantity as a string when valid, else raise ValueError naming the rule."""
    if isinstance(quantity, bool) or not isinstance(quantity, (str, int, float)):
        raise ValueError(f"expected a Kubernetes quantity string such as '2' or '8Gi', got {quantity!r}")
    text = str(quantity) if not isinstance(quantity, float) else format(Decimal(str(quantity)).normalize(), "f")
    value = parse(text)
    if value < 0 or (positive and value == 0):
        raise ValueError(f"'{text}' must be {'greater than 0' if positive else 'non-negative'}")
    return text


def cores(quantity: str) -> Decimal:
    """CPU quantity in cores."""
    return parse(quantity)


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
