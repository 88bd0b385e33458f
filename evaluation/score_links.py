#!/usr/bin/env python3
"""Score a predicted record clustering against the true one.

Measures the pairwise and whole-cluster agreement of two partitions of the same records,
so that mimamori's and the peers' linkage output can be compared on identical terms.

Both inputs are CSVs with the header ``department,record_id,person_id,household_id``
(``household_id`` is optional in the prediction). A record is keyed by
``(department, record_id)``; only records present in both files are scored. Every record
belongs to exactly one cluster (its ``person_id``, or ``household_id`` for households).

From the contingency table of (predicted cluster, true cluster) with cell sizes n:

- correct_pairs   = Σ_cells C(n_cell, 2)
- predicted_pairs = Σ_pred C(n_pred, 2)
- true_pairs      = Σ_true C(n_true, 2)
- pair_precision = correct / predicted, pair_recall = correct / true, pair_f1 harmonic mean
- a cluster is *exact* when a single cell holds all of its predicted and all of its true
  records; cluster_precision = exact / #predicted clusters, cluster_recall = exact /
  #true clusters, cluster_f1 their harmonic mean.

Usage: ``score_links.py PRED.csv TRUTH.csv`` prints JSON ``{"persons": {...},
"households": {...}}`` (households only when both files carry household ids). As a module:
``score_files(pred_path, truth_path)`` or ``score_frames(pred_df, truth_df)``.
"""

from __future__ import annotations

import json
import sys

import pandas as pd

KEY = ["department", "record_id"]


def _pairs(sizes: pd.Series) -> int:
    n = sizes.astype("int64")
    return int((n * (n - 1) // 2).sum())


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def score_partition(pred: pd.Series, true: pd.Series) -> dict:
    """Score two aligned label series (same index = same records, no missing labels)."""
    pred_codes = pd.factorize(pred)[0]
    true_codes = pd.factorize(true)[0]
    frame = pd.DataFrame({"p": pred_codes, "t": true_codes})
    cells = frame.groupby(["p", "t"], sort=False).size()
    pred_sizes = frame.groupby("p", sort=False).size()
    true_sizes = frame.groupby("t", sort=False).size()

    correct = _pairs(cells)
    predicted = _pairs(pred_sizes)
    truth = _pairs(true_sizes)
    precision = correct / predicted if predicted else 1.0
    recall = correct / truth if truth else 1.0

    cell_frame = cells.rename("n").reset_index()
    exact = int(
        (
            (cell_frame["n"].to_numpy() == pred_sizes.reindex(cell_frame["p"]).to_numpy())
            & (cell_frame["n"].to_numpy() == true_sizes.reindex(cell_frame["t"]).to_numpy())
        ).sum()
    )
    n_pred, n_true = len(pred_sizes), len(true_sizes)
    c_precision = exact / n_pred if n_pred else 1.0
    c_recall = exact / n_true if n_true else 1.0
    return {
        "records_covered": int(len(frame)),
        "predicted_pairs": predicted,
        "true_pairs": truth,
        "correct_pairs": correct,
        "pair_precision": round(precision, 6),
        "pair_recall": round(recall, 6),
        "pair_f1": round(_f1(precision, recall), 6),
        "predicted_clusters": n_pred,
        "true_clusters": n_true,
        "exact_clusters": exact,
        "cluster_precision": round(c_precision, 6),
        "cluster_recall": round(c_recall, 6),
        "cluster_f1": round(_f1(c_precision, c_recall), 6),
    }


def _present(series: pd.Series) -> pd.Series:
    return series.notna() & (series.astype(str).str.strip() != "")


def score_frames(pred: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Score prediction and truth frames (string columns as in the CSV format)."""
    cols = ["person_id", "household_id"]
    pred = pred[KEY + [c for c in cols if c in pred.columns]].drop_duplicates(KEY)
    truth = truth[KEY + [c for c in cols if c in truth.columns]].drop_duplicates(KEY)
    joined = pred.merge(truth, on=KEY, how="inner", suffixes=("_pred", "_true"))
    result = {
        "records_pred": int(len(pred)),
        "records_truth": int(len(truth)),
    }
    ok = _present(joined["person_id_pred"]) & _present(joined["person_id_true"])
    result["persons"] = score_partition(
        joined.loc[ok, "person_id_pred"], joined.loc[ok, "person_id_true"]
    )
    if "household_id_pred" in joined and "household_id_true" in joined:
        ok = _present(joined["household_id_pred"]) & _present(joined["household_id_true"])
        if ok.any():
            result["households"] = score_partition(
                joined.loc[ok, "household_id_pred"], joined.loc[ok, "household_id_true"]
            )
    return result


def read_links(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def score_files(pred_path: str, truth_path: str) -> dict:
    return score_frames(read_links(pred_path), read_links(truth_path))


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        print("usage: score_links.py PRED.csv TRUTH.csv", file=sys.stderr)
        return 2
    print(json.dumps(score_files(argv[1], argv[2]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
