"""Checksums that tell a real card number or IBAN from a lookalike digit string."""

from __future__ import annotations

import re

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def luhn_valid(number: str) -> bool:
    """True when the digits of `number` (separators ignored) pass the Luhn check, 13 to 19 digits."""
    digits = [int(c) for c in number if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(iban: str) -> bool:
    """True when `iban` (spaces ignored) has the IBAN shape and its mod-97 remainder is 1."""
    compact = _NON_ALNUM.sub("", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    as_digits = "".join(str(int(c, 36)) for c in rearranged)
    return int(as_digits) % 97 == 1
