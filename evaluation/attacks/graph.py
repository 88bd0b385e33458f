"""The graph-matching attack (Vidanage, Christen, Ranbaduge and Schnell, CIKM 2019).

It uses only similarities, so it works against any encoding whose similarities follow the
plaintext's. The attacker builds a similarity graph over the distinct encodings (Dice of the
filters) and one over the distinct plaintext values (Dice of their q-gram sets), with edge
thresholds chosen so that both graphs have the same number of edges (the attacker's similarity
adjustment), describes each node by structural features (frequency, degree, strongest and mean
edge, similarity histogram, neighbours' degrees, two-hop reach), standardises them together, and
matches nodes one-to-one where each is the other's nearest neighbour in feature space.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.spatial.distance import cdist


def dice_matrix(m: np.ndarray) -> np.ndarray:
    m = m.astype(np.float32)
    inter = m @ m.T
    w = m.sum(axis=1)
    d = 2 * inter / np.maximum(w[:, None] + w[None, :], 1)
    np.fill_diagonal(d, 0)
    return d


def features(sim: np.ndarray, thr: float, freq: np.ndarray) -> np.ndarray:
    adj = sim >= thr
    deg = adj.sum(axis=1).astype(np.float32)
    s = np.where(adj, sim, 0)
    mx = s.max(axis=1)
    mean = np.divide(s.sum(axis=1), np.maximum(deg, 1))
    # histogram of edge similarities above the threshold, 4 bins of its rank scale
    edges = np.quantile(sim[adj], [0.25, 0.5, 0.75]) if adj.any() else np.array([1, 1, 1])
    hist = [(adj & (sim < edges[0])).sum(axis=1)]
    hist += [(adj & (sim >= edges[i]) & (sim < edges[i + 1])).sum(axis=1) for i in range(2)]
    hist += [(adj & (sim >= edges[2])).sum(axis=1)]
    nbr_deg = np.divide(adj.astype(np.float32) @ deg, np.maximum(deg, 1))
    two_hop = ((adj.astype(np.float32) @ adj.astype(np.float32)) > 0).sum(axis=1)
    return np.column_stack([np.log1p(freq), deg, mx, mean, *hist, nbr_deg, two_hop]).astype(np.float64)


def attack(encodings: np.ndarray, plain: list[str], qgrams: dict[str, frozenset],
           max_nodes: int = 3000, edges_per_node: float = 3.0, seed: int = 0) -> dict[bytes, str]:
    """Returns encoding → value for the nodes matched one-to-one."""
    rng = np.random.default_rng(seed)
    enc_counts = Counter(row.tobytes() for row in encodings)
    enc_keys = list(enc_counts)
    val_counts = Counter(plain)
    vals = list(val_counts)
    if len(enc_keys) > max_nodes:
        enc_keys = [enc_keys[i] for i in rng.choice(len(enc_keys), max_nodes, replace=False)]
    if len(vals) > max_nodes:
        vals = [vals[i] for i in rng.choice(len(vals), max_nodes, replace=False)]
    e_bits = np.unpackbits(np.array([np.frombuffer(x, np.uint8) for x in enc_keys]), axis=1)
    grams = sorted({g for v in vals for g in qgrams[v]})
    gi = {g: i for i, g in enumerate(grams)}
    p_bits = np.zeros((len(vals), len(grams)), dtype=np.uint8)
    for r, v in enumerate(vals):
        for g in qgrams[v]:
            p_bits[r, gi[g]] = 1
    se, sp = dice_matrix(e_bits), dice_matrix(p_bits)
    # the same number of edges in both graphs
    n_edges = int(edges_per_node * min(len(vals), len(enc_keys)))
    te = np.partition(se.ravel(), -2 * n_edges)[-2 * n_edges] if se.size > 2 * n_edges else 1.0
    tp = np.partition(sp.ravel(), -2 * n_edges)[-2 * n_edges] if sp.size > 2 * n_edges else 1.0
    fe = features(se, te, np.array([enc_counts[x] for x in enc_keys], dtype=np.float64))
    fp = features(sp, tp, np.array([val_counts[v] for v in vals], dtype=np.float64))
    both = np.vstack([fe, fp])
    mu, sd = both.mean(axis=0), both.std(axis=0) + 1e-9
    fe, fp = (fe - mu) / sd, (fp - mu) / sd
    cost = cdist(fe, fp)
    best_p = cost.argmin(axis=1)
    best_e = cost.argmin(axis=0)
    out = {}
    for r, c in enumerate(best_p):
        if best_e[c] == r:
            out[enc_keys[r]] = vals[c]
    return out
