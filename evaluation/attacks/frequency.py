"""The frequency attack (Kuzu, Kantarcioglu, Durham and Malin 2011; Christen et al. 2017, in its
simplest one-to-one form): identical encodings of one value are counted, the attacker's
plaintext values are counted, and the i-th most frequent encoding is taken to be the i-th most
frequent value for as long as both frequencies at rank i are unique on their side (the first
tie on either side ends the attack: below it the alignment is a guess)."""
from __future__ import annotations

from collections import Counter

import numpy as np


def attack(encodings: np.ndarray, plain: list[str]) -> dict[bytes, str]:
    """`encodings`: (n, bytes) uint8, one row per encoded record (all zeros: the record has
    no such encoding, which tells the attacker nothing). Returns encoding → value."""
    enc = Counter(row.tobytes() for row in encodings if row.any())
    e = enc.most_common()
    p = Counter(plain).most_common()

    def unique(ranked, i):
        c = ranked[i][1]
        return (i == 0 or ranked[i - 1][1] != c) and (i + 1 >= len(ranked) or ranked[i + 1][1] != c)

    out = {}
    for i in range(min(len(e), len(p))):
        if e[i][1] < 2 or p[i][1] < 2 or not unique(e, i) or not unique(p, i):
            break
        out[e[i][0]] = p[i][0]
    return out
