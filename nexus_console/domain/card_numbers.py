"""Card numbers in free text, for the PCI-DSS check (no card data may be stored): digit runs of 13 to 19
digits, written whole or in groups split by single spaces or dashes, that pass the Luhn check. A finding
keeps only the masked number (the first six and last four digits, as PCI-DSS allows to display) and where
it was; the full number never leaves `find_card_numbers`.

Written by hand: the Luhn check is five lines, and the libraries that do it (python-stdnum and others)
validate one given string; finding candidates inside free text is the regular expression below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# 13-19 digits, whole or grouped by single spaces or dashes, not touching other digits
CANDIDATE = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
# what PostgreSQL's regex engine can pre-filter on the replica: a run of 13 digits, spaces or dashes
SQL_PREFILTER = "[0-9][0-9 -]{11,}[0-9]"
_SEPARATORS = str.maketrans("", "", " -")
BRANDS = (  # (prefixes, name): the first match wins
    (("4",), "Visa"),
    ((*(str(n) for n in range(51, 56)), *(str(n) for n in range(2221, 2721))), "Mastercard"),
    (("34", "37"), "American Express"),
    (("6011", "65", *(str(n) for n in range(644, 650))), "Discover"),
    (("35",), "JCB"),
    (("36", "38", "300", "301", "302", "303", "304", "305"), "Diners Club"),
)


@dataclass(frozen=True, slots=True)
class CardNumber:
    masked: str  # e.g. 411111******1111
    brand: str
    start: int  # where in the text
    end: int


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits (every second digit from the right doubled)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def mask(digits: str) -> str:
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


def brand_of(digits: str) -> str:
    for prefixes, name in BRANDS:
        if digits.startswith(prefixes):
            return name
    return "unknown brand"


def find_card_numbers(text: str) -> list[CardNumber]:
    """Every card number in `text` (Luhn-valid, not all one digit), masked."""
    found = []
    for match in CANDIDATE.finditer(text):
        digits = match.group().translate(_SEPARATORS)
        if len(set(digits)) > 1 and luhn_valid(digits):
            found.append(CardNumber(mask(digits), brand_of(digits), match.start(), match.end()))
    return found
