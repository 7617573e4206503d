"""Kubernetes quantities (``1Gi``, ``500m``) by value: the API server stores them in canonical form
(1024Mi is read back as 1Gi), so drift and in-place updates compare values, never the text."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

_QUANTITY = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_SUFFIXES = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
             "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
             "P": Fraction(10**15), "E": Fraction(10**18)} | {s: Fraction(2 ** (10 * n)) for n, s in
                                                              enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), 1)}


def quantity_value(text: Any) -> Fraction | None:
    """The value of a Kubernetes quantity (``1Gi``, ``500m``, ``1e3``), as apimachinery's ParseQuantity reads it
    (rounded up to a nano); None when it is not one."""
    found = _QUANTITY.match(text) if isinstance(text, str) else None
    if not found or not (found.group(2) or found.group(3)):
        return None
    sign, whole, fraction, suffix = found.group(1), found.group(2), found.group(3) or "", found.group(4) or ""
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        if abs(int(suffix[1:])) > 30:
            return None  # far beyond any size a quantity field holds
        scale = Fraction(10) ** int(suffix[1:])
    else:
        scale = _SUFFIXES[suffix]
    value = Fraction(int(whole + fraction or "0"), 10 ** len(fraction)) * scale
    value = Fraction(math.ceil(value * 10**9), 10**9)
    return -value if sign == "-" else value


def same_quantity(want: Any, have: Any) -> bool:
    """Whether two quantities are equal by value: ``1024Mi`` and ``1Gi`` are."""
    first, second = quantity_value(want), quantity_value(have)
    return first is not None and first == second
