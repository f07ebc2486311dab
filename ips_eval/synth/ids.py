"""Pseudonyms: opaque, unique, reproducible, and never mistakable for an identity code.

A pseudonym is a bijective scramble of a running number, so uniqueness needs no lookup
(vectorised for hundreds of thousands of persons). It always starts with a letter: an
identity code starts with six digits not glued to a letter or digit, so no match can
start inside a pseudonym (see ips_eval.identity.CANDIDATE).
"""

from __future__ import annotations

import numpy as np

_BITS = 45  # 9 base-32 characters
_MASK = np.uint64((1 << _BITS) - 1)
_ALPHABET = np.array(list("0123456789ABCDEFGHJKLMNPQRSTUVWX"))  # 32 symbols
_FIRST = np.array(list("ABCDEFGHJKLMNPRSTUVX"))  # leading letter


class Pseudonymiser:
    """Maps running numbers 0, 1, 2, ... to 10-character pseudonyms, seeded."""

    def __init__(self, seed: int, salt: int = 0) -> None:
        rng = np.random.default_rng([seed, 7919, salt])
        self._mult = np.uint64(int(rng.integers(1, 1 << 40)) * 2 + 1)  # odd: invertible mod 2^k
        self._add = np.uint64(int(rng.integers(0, 1 << _BITS)))
        self._mult2 = np.uint64(int(rng.integers(1, 1 << 40)) * 2 + 1)
        self._first = int(rng.integers(0, 1 << 16))

    def __call__(self, numbers: np.ndarray | list[int] | int) -> np.ndarray:
        n = np.atleast_1d(np.asarray(numbers, dtype=np.uint64))
        with np.errstate(over="ignore"):
            x = (n * self._mult + self._add) & _MASK
            x ^= x >> np.uint64(19)
            x = (x * self._mult2) & _MASK
            x ^= x >> np.uint64(23)
        chars = np.empty((n.size, 10), dtype="<U1")
        chars[:, 0] = _FIRST[(x.astype(np.int64) * 7 + n.astype(np.int64) // 3 + self._first) % len(_FIRST)]
        for i in range(9):
            chars[:, 9 - i] = _ALPHABET[((x >> np.uint64(5 * i)) & np.uint64(31)).astype(np.int64)]
        # one fixed-width string per row
        return chars.view("<U10").ravel()


def pseudonym(p: Pseudonymiser, number: int) -> str:
    return str(p(number)[0])
