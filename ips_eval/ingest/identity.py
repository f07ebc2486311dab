"""Finnish personal identity codes (henkilötunnus): find them anywhere, never print them.

A code is DDMMYY, a century sign, a three-digit individual number and a check character.
The century signs are '+' (1800s), '-' and, since 2023, 'Y', 'X', 'W', 'V', 'U' (1900s),
and 'A' and, since 2023, 'B', 'C', 'D', 'E', 'F' (2000s). The check character is
"0123456789ABCDEFHJKLMNPRSTUVWXY"[int(DDMMYY + NNN) % 31]. Only strings with a real date
and a valid check character count, so that pseudonyms and dates are not taken for codes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Iterator

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS: dict[str, int] = {
    "+": 1800,
    "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
    "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000,
}

#: A candidate: not glued to other letters or digits on either side. Case-insensitive,
#: since a code typed in lower case is still a code.
CANDIDATE = re.compile(
    r"(?<![0-9A-Za-z])(\d{6})([-+A-FU-Ya-fu-y])(\d{3})([0-9A-Ya-y])(?![0-9A-Za-z])"
)

#: The same pattern for DuckDB's regexp functions (RE2 has no look-behind; the
#: neighbours are checked again in Python by `is_identity_code`).
CANDIDATE_SQL = r"(\d{6}[-+A-FU-Ya-fu-y]\d{3}[0-9A-Ya-y])"


def is_identity_code(text: str) -> bool:
    """True when `text` is exactly one valid identity code."""
    m = CANDIDATE.fullmatch(text.strip())
    return bool(m) and _valid(*m.groups())


def find_identity_codes(text: str) -> Iterator[re.Match[str]]:
    """Every valid identity code inside `text` (matches; callers report the position, not the code)."""
    for m in CANDIDATE.finditer(text):
        if _valid(*m.groups()):
            yield m


def contains_identity_code(text: str | None) -> bool:
    return bool(text) and next(find_identity_codes(text), None) is not None


def _valid(date6: str, sign: str, individual: str, check: str) -> bool:
    century = CENTURY_SIGNS.get(sign.upper())
    if century is None:
        return False
    day, month, year = int(date6[:2]), int(date6[2:4]), century + int(date6[4:])
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    if int(individual) < 2:  # individual numbers run 002-999
        return False
    return CHECK_CHARACTERS[int(date6 + individual) % 31] == check.upper()


def make_identity_code(birth: dt.date, individual: int, sign: str | None = None) -> str:
    """A syntactically valid code, for tests that must prove the guard works."""
    if sign is None:
        sign = {18: "+", 19: "-", 20: "A"}[birth.year // 100]
    date6 = birth.strftime("%d%m") + f"{birth.year % 100:02d}"
    number = f"{individual:03d}"
    return f"{date6}{sign}{number}{CHECK_CHARACTERS[int(date6 + number) % 31]}"


@dataclass(frozen=True)
class IdentityCodeFound(Exception):
    """A delivery holds an identity code. The message names where, never the code itself."""

    file: str
    line: int | None
    column: str | None

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "its header"
        column = f", column '{self.column}'" if self.column else ""
        return (
            f"{self.file}: a Finnish personal identity code at {where}{column}. "
            "The delivery is refused and nothing was written; remove the code at the source and deliver again."
        )
