"""resource.Quantity as kube-apiserver reads and writes it: parse, then the canonical form it stores.

The real server decodes every quantity (``1024Mi``, ``0.5Gi``, ``1000M``) into a
``resource.Quantity`` and encodes it back in canonical form, so what a client
reads back is ``1Gi``, ``512Mi``, ``1G``. This follows apimachinery
``pkg/api/resource/quantity.go``: ``parseQuantityString`` and ``ParseQuantity``
(values round up to a nano, BinarySI below 1 becomes DecimalSI, BinarySI is
capped at 2^63-1) and ``CanonicalizeBytes`` (BinarySI between -1024 and 1024,
or not a whole number, is written as DecimalSI; decimal exponents are
multiples of 3; DecimalSI beyond ``E`` falls back to exponent notation).
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

SPLIT_RE = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
FORMAT_WRONG = f"quantities must match the regular expression '{SPLIT_RE}'"
SUFFIX_WRONG = "unable to parse quantity's suffix"

BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in DECIMAL.items()}
BINARY_SUFFIX = {exponent // 10: suffix for suffix, exponent in BINARY.items()} | {0: ""}
NANO = Fraction(1, 10**9)
MAX_ALLOWED = 2**63 - 1
INT32_MAX = 2**31 - 1

_NUMBER = re.compile(r"^([+-]?)0*([0-9]*)(?:\.([0-9]*))?(.*)$", re.S)
_SUFFIX = re.compile(r"^[eEinumkKMGTP]*[-+]?[0-9]*$")
_EXPONENT = re.compile(r"^[eE]([-+]?[0-9]+)$")


class QuantityError(ValueError):
    """What ParseQuantity answers for text it cannot read."""


def parse(text: str) -> tuple[Fraction, str]:
    """The value and format (BinarySI, DecimalSI or DecimalExponent) of a quantity string."""
    if not isinstance(text, str) or not text:
        raise QuantityError(FORMAT_WRONG)
    if text == "0":
        return Fraction(0), "DecimalSI"
    match = _NUMBER.match(text)
    sign, num, denom, suffix = match.group(1), match.group(2), match.group(3) or "", match.group(4)
    if not _SUFFIX.match(suffix):
        raise QuantityError(FORMAT_WRONG)
    base, exponent, form = _interpret(suffix)
    amount = Fraction(int(num + denom or "0"), 10 ** len(denom))
    amount *= Fraction(10) ** exponent if base == 10 else 2**exponent
    if amount:
        amount = Fraction(math.ceil(amount / NANO)) * NANO  # round up to the smallest unit, a nano
    if form == "BinarySI" and amount > MAX_ALLOWED:
        amount = Fraction(MAX_ALLOWED)
    if form == "BinarySI" and 0 < amount < 1:
        form = "DecimalSI"
    return (-amount if sign == "-" else amount), form


def _interpret(suffix: str) -> tuple[int, int, str]:
    if suffix in DECIMAL:
        return 10, DECIMAL[suffix], "DecimalSI"
    if suffix in BINARY:
        return 2, BINARY[suffix], "BinarySI"
    match = _EXPONENT.match(suffix)
    if match and abs(int(match.group(1))) <= INT32_MAX:
        return 10, int(match.group(1)), "DecimalExponent"
    raise QuantityError(SUFFIX_WRONG)


def canonical(text: str) -> str:
    """The string the real server stores for ``text``: ``1024Mi`` -> ``1Gi``."""
    value, form = parse(text)
    if value == 0:
        return "0"
    sign, magnitude = ("-" if value < 0 else ""), abs(value)
    if form == "BinarySI" and (magnitude < 1024 or magnitude.denominator != 1):
        form = "DecimalSI"
    if form == "BinarySI":
        number, power = magnitude.numerator, 0
        while number % 1024 == 0 and power < 6:
            number, power = number // 1024, power + 1
        return f"{sign}{number}{BINARY_SUFFIX[power]}"
    number, exponent = int(magnitude / NANO), -9  # parse rounded to nanos, so this is whole
    while number % 10 == 0:
        number, exponent = number // 10, exponent + 1
    while exponent % 3:
        number, exponent = number * 10, exponent - 1
    if form == "DecimalSI" and exponent in DECIMAL_SUFFIX:
        return f"{sign}{number}{DECIMAL_SUFFIX[exponent]}"
    return f"{sign}{number}" + (f"e{exponent}" if exponent else "")
