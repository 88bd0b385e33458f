"""The pattern-mining attack (Christen, Vidanage, Ranbaduge, Schnell and Yu, PAKDD 2018).

Whatever the hash functions, the k positions of a q-gram are set together in every filter of a
value that holds it, so the filters holding a frequent q-gram share a frequent bit pattern. The
attacker ranks q-grams by their frequency in the plaintext list, and within a partition of the
filters mines, greedily, the positions set together in the share of filters that matches the
most frequent q-gram not yet used (start with the most frequent position; add the position set
in most of the filters that hold all chosen so far; k positions). A pattern found splits the
filters (holding it or not) and the plaintext values (holding the q-gram or not), and the attack
recurses on each side. A partition whose plaintext side keeps one value re-identifies its
filters, one-to-one: the value is the only one consistent with every q-gram found present and
absent on the path.
"""
from __future__ import annotations

from collections import Counter

import numpy as np


def attack(encodings: np.ndarray, plain: list[str], qgrams: dict[str, frozenset], k: int,
           tol: float = 0.05, min_rows: int = 2, max_nodes: int = 20000) -> dict[int, str]:
    """`encodings`: (n, bytes) uint8 filters; `plain`: the attacker's values (with repeats).
    Returns encoded row index → value for the rows re-identified."""
    bits = np.unpackbits(encodings, axis=1, bitorder="little").astype(bool)
    counts = Counter(plain)
    out: dict[int, str] = {}
    stack = [(np.arange(bits.shape[0]), list(counts.items()), frozenset())]
    nodes = 0
    while stack and nodes < max_nodes:
        rows, vals, used = stack.pop()
        nodes += 1
        if len(rows) == 0 or not vals:
            continue
        if len(vals) == 1:
            for r in rows:
                out[int(r)] = vals[0][0]
            continue
        if len(rows) < min_rows:
            continue
        total = sum(c for _, c in vals)
        freq = Counter()
        for v, c in vals:
            for g in qgrams[v]:
                if g not in used:
                    freq[g] += c
        # q-grams that split this partition, most frequent first
        candidates = [(g, c / total) for g, c in freq.most_common() if c < total]
        sub = bits[rows]
        col = sub.mean(axis=0)
        split = None
        for g, share in candidates[:3]:
            pattern = mine(sub, col, share, k, tol)
            if pattern is None:
                continue
            holds = sub[:, pattern].all(axis=1)
            found = holds.mean()
            if abs(found - share) <= tol:
                split = (g, holds)
                break
        if split is None:
            continue
        g, holds = split
        with_g = [(v, c) for v, c in vals if g in qgrams[v]]
        without = [(v, c) for v, c in vals if g not in qgrams[v]]
        stack.append((rows[holds], with_g, used | {g}))
        stack.append((rows[~holds], without, used | {g}))
    return out


def mine(sub: np.ndarray, col: np.ndarray, share: float, k: int, tol: float):
    """Greedy frequent pattern of k positions set together in about `share` of the rows."""
    # positions set in (almost) every row say nothing here; a q-gram's positions are set in at
    # least its share of the rows
    eligible = np.where((col >= share - tol) & (col < 0.999))[0]
    if len(eligible) < k:
        return None
    first = eligible[np.argmax(col[eligible])]
    pattern = [int(first)]
    holding = sub[:, first]
    rest = set(int(p) for p in eligible) - {int(first)}
    while len(pattern) < k and rest:
        idx = np.fromiter(rest, dtype=np.int64)
        support = sub[holding][:, idx].sum(axis=0)
        best = int(idx[np.argmax(support)])
        pattern.append(best)
        rest.discard(best)
        holding = holding & sub[:, best]
        if holding.mean() < share - tol:
            return None
    return pattern if len(pattern) == k else None
