"""The pattern-mining attack (Christen, Vidanage, Ranbaduge, Schnell and Yu, PAKDD 2018).

Whatever the hash functions, the k positions of a q-gram are set together in every filter of a
value that holds it, so the filters holding a frequent q-gram share a frequent bit pattern. The
attack has two phases:

1. **Mining q-gram patterns.** In a partition of the filters (all of them at first), the
   attacker mines, greedily, k positions set together in a share of the filters (start with the
   pair of positions set together most often, less inflated by collisions than one position; add
   the position set in most of the filters that hold all chosen so far), and names the pattern
   after the q-gram whose frequency in the same partition of the plaintext list is closest to
   that share, when no other q-gram is as close.
   The partition is then split by the pattern (filters holding it or not) and the plaintext by
   the q-gram, and the attack recurses on both halves; a q-gram identified earlier splits a
   partition without mining. Conditioning on the q-grams on the path is what separates q-grams
   of similar overall frequency.
2. **Re-identification.** Each filter holds the patterns of some identified q-grams and lacks the
   others; a plaintext value is consistent with it when it holds exactly those of the identified
   q-grams. A filter with one consistent value is re-identified one-to-one.
"""
from __future__ import annotations

from collections import Counter

import numpy as np


def attack(encodings: np.ndarray, plain: list[str], qgrams: dict[str, frozenset], k: int,
           min_rows: int = 8, max_nodes: int = 4000) -> dict[int, str]:
    """`encodings`: (n, bytes) uint8 filters; `plain`: the attacker's values (with repeats).
    Returns encoded row index → value for the rows re-identified."""
    bits = np.unpackbits(encodings, axis=1, bitorder="little").astype(bool)
    counts = Counter(plain)
    patterns: dict[str, list[int]] = {}
    stack = [(np.arange(bits.shape[0]), list(counts.items()))]
    nodes = 0
    while stack and nodes < max_nodes:
        rows, vals = stack.pop()
        nodes += 1
        if len(rows) < min_rows or len(vals) < 2:
            continue
        total = sum(c for _, c in vals)
        freq: Counter = Counter()
        for v, c in vals:
            for g in qgrams[v]:
                freq[g] += c
        share = {g: c / total for g, c in freq.items() if c < total}
        if not share:
            continue
        sub = bits[rows]
        # a q-gram identified before splits without mining: the one nearest half
        known = [g for g in share if g in patterns]
        if known:
            g = min(known, key=lambda x: abs(share[x] - 0.5))
            holds = sub[:, patterns[g]].all(axis=1)
        else:
            found = None
            excluded: set[int] = set()
            for _ in range(4):
                mined = mine(sub, k, min(share.values()), excluded)
                if mined is None:
                    break
                pattern, support = mined
                excluded.update(pattern)
                # sampling error of a share over this many rows (the attacker's list is a sample)
                tol = max(0.01, 3 * np.sqrt(max(support * (1 - support), 1e-4) / len(rows)))
                ranked = sorted(share, key=lambda x: abs(share[x] - support))
                d1 = abs(share[ranked[0]] - support)
                d2 = abs(share[ranked[1]] - support) if len(ranked) > 1 else 1.0
                # the nearest q-gram, when it is clearly nearer than the next
                if d1 <= tol and d2 >= 3 * d1 + 0.002:
                    found = (ranked[0], pattern)
                    break
            if found is None:
                continue
            g, pattern = found
            patterns[g] = pattern
            holds = sub[:, pattern].all(axis=1)
        stack.append((rows[holds], [(v, c) for v, c in vals if g in qgrams[v]]))
        stack.append((rows[~holds], [(v, c) for v, c in vals if g not in qgrams[v]]))
    return reidentify(bits, patterns, counts, qgrams)


def mine(sub: np.ndarray, k: int, floor: float, excluded: set[int]):
    """Greedy frequent pattern of k positions set together; returns it and its support.

    The seed is the pair of positions set together most often (outside `excluded`): a single
    position's frequency is inflated by every q-gram hashed onto it, a pair's mostly by a q-gram
    that holds both. The pattern then grows by the position set in most of the rows that hold
    all chosen so far."""
    col = sub.mean(axis=0)
    eligible = np.where((col >= floor * 0.5) & (col < 0.995))[0]
    starts = np.array([p for p in eligible if int(p) not in excluded], dtype=np.int64)
    if len(eligible) < k or len(starts) < 2:
        return None
    x = sub[:, starts].astype(np.float32)
    joint = x.T @ x
    np.fill_diagonal(joint, -1)
    i, j = np.unravel_index(int(np.argmax(joint)), joint.shape)
    pattern = [int(starts[i]), int(starts[j])]
    holding = sub[:, pattern[0]] & sub[:, pattern[1]]
    rest = np.setdiff1d(eligible, pattern)
    while len(pattern) < k and len(rest):
        support = sub[holding][:, rest].sum(axis=0)
        jj = int(np.argmax(support))
        best = int(rest[jj])
        pattern.append(best)
        rest = np.delete(rest, jj)
        holding &= sub[:, best]
        if not holding.any():
            return None
    return (pattern, float(holding.mean())) if len(pattern) == k else None


def reidentify(bits: np.ndarray, patterns: dict[str, list[int]], counts: Counter,
               qgrams: dict[str, frozenset]) -> dict[int, str]:
    if not patterns:
        return {}
    names = list(patterns)
    present = np.column_stack([bits[:, patterns[g]].all(axis=1) for g in names])
    # plaintext values by their signature over the identified q-grams
    by_sig: dict[bytes, list[str]] = {}
    for v in counts:
        sig = np.array([g in qgrams[v] for g in names]).tobytes()
        by_sig.setdefault(sig, []).append(v)
    out = {}
    for r in range(bits.shape[0]):
        cands = by_sig.get(present[r].tobytes(), [])
        if len(cands) == 1:
            out[r] = cands[0]
    return out
