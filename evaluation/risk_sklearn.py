#!/usr/bin/env python3
"""mimamori's risk model vs scikit-learn's LogisticRegression, on the same features and folds.

Reads what `mimamori score` wrote into a workspace WS (risk/features.parquet, scores.parquet,
labels.parquet, evaluation.json and WS/mimamori.toml) and replays mimamori's evaluation protocol
with scikit-learn in place of mimamori's own Newton solver:

- Features: every boolean column of features.parquet except known_case. Folds: the `fold` column
  of scores.parquet (whole households). Labels: labels.parquet, per record, mapped to persons
  through linked/persons.parquet (any record needing support labels the child, as in mimamori).
- Cross-fitting: for each C in C_GRID and each fold f, LogisticRegression (L2, lbfgs, tol 1e-10,
  unpenalised intercept) is fitted on ALL labelled children of the other folds (known cases
  included, as mimamori does) and predicts the raw log-odds of every child of fold f. C_GRID is
  exactly 1/λ of mimamori's λ grid (its penalty is λ/2·|β|² on the summed log loss, sklearn's
  is |β|²/(2C)), so both solve the same problems. The C with the lowest mean out-of-fold log
  loss over labelled children wins.
- Calibration: Platt scaling, an unpenalised 1-D LogisticRegression (C=inf) of the labels on
  the winning out-of-fold log-odds of all labelled children; p = sigmoid(a·z + b).
- Evaluated children: labelled and outside known-case households. AUC by roc_auc_score (ties
  count half, as in mimamori). Precision and recall at the top k = round(0.18·n) (half away
  from zero, as Rust's f64::round) ranked by out-of-fold probability.
- Households at capacity: p = 1 − Π(1 − p_child) over the household's children; households with
  no labelled child are skipped; positive if any child is labelled need=true; known-case
  households take no place. Per district of mimamori.toml, the top `caseworker_capacity`
  households; precision = positives among all selected.
- Unlabelled children (none in the demo) get the calibrated score of their fold's model, which
  never saw their household; mimamori falls back to its final model there.
- Ties are broken by person_id / household_id ascending; mimamori uses a keyed hash, so rows
  with exactly equal scores (frequent: the features are a handful of flags) may be cut
  differently. The script prints the range precision@18% could take under any tie order.

The mimamori rows of the table are read from evaluation.json, not recomputed.

Usage: evaluation/.venv/bin/python evaluation/risk_sklearn.py WS [--json OUT]
"""
import argparse
import json
import math
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

MIMAMORI_LAMBDAS = [100.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03, 0.01]  # risk-model/src/model.rs LAMBDAS
C_GRID = [1.0 / lam for lam in MIMAMORI_LAMBDAS]  # 0.01 … 100
PILOT_SHARE = 0.18


def fail(msg):
    sys.exit(f"risk_sklearn.py: {msg}")


def load(ws):
    need = [ws / "mimamori.toml"] + [ws / "risk" / n for n in
            ("features.parquet", "scores.parquet", "labels.parquet", "evaluation.json")]
    for p in need:
        if not p.is_file():
            fail(f"{p} not found. Run `mimamori score --workspace {ws}` first, or "
                 "`mimamori demo --out DIR` and pass DIR/workspace.")
    feats = pd.read_parquet(need[1])
    scores = pd.read_parquet(need[2], columns=["person_id", "fold"])
    # labels are kept per record (department, record_ref, need); a child's label is any of its
    # linked records' (a child whose records disagree counts as needing support), as mimamori does
    records = pd.read_parquet(ws / "linked" / "persons.parquet", columns=["department", "record_ref", "person_id"])
    labels = (pd.read_parquet(need[3]).dropna()
              .merge(records, on=["department", "record_ref"], how="inner")
              .groupby("person_id", as_index=False)["need"].any())
    df = feats.merge(scores, on="person_id", how="left", validate="one_to_one")
    if df["fold"].isna().any():
        fail(f"{df['fold'].isna().sum()} children of features.parquet have no fold in scores.parquet")
    df = df.merge(labels, on="person_id", how="left")
    names = [c for c in feats.columns if feats[c].dtype == bool and c != "known_case"]
    caps = {d["name"]: int(d["caseworker_capacity"])
            for d in tomllib.loads(need[0].read_text(encoding="utf-8")).get("district", [])}
    return df, names, caps, json.loads(need[4].read_text(encoding="utf-8"))


def share(k, n):
    return {"k": int(k), "n": int(n), "value": k / n if n else None}


def cross_fit(x, y, labelled, fold):
    """Raw out-of-fold log-odds per C; returns the winner's, calibrated, and the grid."""
    grid, best = [], None
    for c in C_GRID:
        z = np.zeros(len(y))
        for f in np.unique(fold):
            train, test = labelled & (fold != f), fold == f
            m = LogisticRegression(C=c, solver="lbfgs", tol=1e-10, max_iter=10_000)
            m.fit(x[train], y[train])
            z[test] = m.decision_function(x[test])
        loss = log_loss(y[labelled], 1 / (1 + np.exp(-z[labelled])), labels=[False, True])
        grid.append({"C": c, "log_loss": loss})
        if best is None or loss < best[0]:
            best = (loss, c, z)
    _, c, z = best
    platt = LogisticRegression(C=np.inf, solver="lbfgs", tol=1e-12, max_iter=10_000)
    platt.fit(z[labelled].reshape(-1, 1), y[labelled])
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    return 1 / (1 + np.exp(-(a * z + b))), c, grid, (a, b)


def at_pilot_share(p, y, pid):
    n, pos = len(y), int(y.sum())
    k = math.floor(PILOT_SHARE * n + 0.5)
    order = np.lexsort((pid, -p))  # probability descending, person_id ascending
    hits = int(y[order[:k]].sum())
    # what another tie order could give: rows tied with the k-th at its probability
    cut = p[order[k - 1]]
    above, tied = p > cut, p == cut
    need_from_tie = k - int(above.sum())
    hits_above, tied_pos, tied_n = int(y[above].sum()), int(y[tied].sum()), int(tied.sum())
    lo = hits_above + max(0, need_from_tie - (tied_n - tied_pos))
    hi = hits_above + min(need_from_tie, tied_pos)
    return share(hits, k), share(hits, pos), {"tied_at_cut": tied_n, "precision_range": [lo / k, hi / k]}


def at_capacity(df, p, caps):
    d = df.assign(p=p, none=1 - p, labelled=df["need"].notna(), pos=df["need"].eq(True))
    hh = d.groupby("household_id").agg(none=("none", "prod"), labelled=("labelled", "any"),
                                       pos=("pos", "any"), known=("known_case", "any"),
                                       district=("district", "first"))
    hh = hh[hh["labelled"] & ~hh["known"]].assign(p=lambda h: 1 - h["none"]).reset_index()
    picked = [g.sort_values(["p", "household_id"], ascending=[False, True]).head(caps[name])
              for name, g in hh.groupby("district") if name in caps]
    sel = pd.concat(picked) if picked else hh.iloc[:0]
    return share(int(sel["pos"].sum()), len(sel))


def pct(s):
    return "—" if s is None or s["value"] is None else f"{100 * s['value']:.1f}% ({s['k']}/{s['n']})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workspace", type=Path, help="the workspace (mimamori demo writes DIR/workspace)")
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the scikit-learn figures here")
    args = ap.parse_args()
    if not args.workspace.is_dir():
        fail(f"{args.workspace} is not a directory; run `mimamori demo --out DIR` and pass DIR/workspace")
    df, names, caps, ev = load(args.workspace)
    x = df[names].to_numpy(dtype=float)
    labelled = df["need"].notna().to_numpy()
    y = df["need"].eq(True).to_numpy()
    fold = df["fold"].to_numpy()
    known_hh = set(df.loc[df["known_case"], "household_id"])
    known = df["household_id"].isin(known_hh).to_numpy()
    df["known_case"] = known  # a household is a known case when any of its children is

    t0 = time.perf_counter()
    p, c, grid, (a, b) = cross_fit(x, y, labelled, fold)
    fit_s = time.perf_counter() - t0

    ev_rows = labelled & ~known
    prec, rec, ties = at_pilot_share(p[ev_rows], y[ev_rows], df["person_id"].to_numpy()[ev_rows])
    out = {
        "sklearn_version": sklearn.__version__,
        "features": names,
        "children_evaluated": int(ev_rows.sum()),
        "auc": float(roc_auc_score(y[ev_rows], p[ev_rows])),
        "at_pilot_share": {"precision": prec, "recall": rec, "ties": ties},
        "at_capacity": {"precision": at_capacity(df, p, caps)},
        "C": c, "C_log_loss": grid, "platt_a": a, "platt_b": b,
        "fit_seconds": fit_s,
    }

    rows = [("mimamori model", ev["model"], None), ("mimamori scorecard", ev["scorecard"], None),
            (f"scikit-learn LogisticRegression (C={c:.3g})", out, fit_s)]
    print("| ranking | AUC | precision@18% | recall@18% | precision@capacity | fit time |")
    print("|---|---|---|---|---|---|")
    for label, r, t in rows:
        print(f"| {label} | {r['auc']:.4f} | {pct(r['at_pilot_share']['precision'])} | "
              f"{pct(r['at_pilot_share']['recall'])} | {pct(r['at_capacity']['precision'])} | "
              f"{'—' if t is None else f'{t:.2f} s'} |")
    lo, hi = ties["precision_range"]
    print(f"\nchildren evaluated: mimamori {ev.get('children_evaluated')}, scikit-learn "
          f"{out['children_evaluated']}; {ties['tied_at_cut']} share the probability at the 18% cut "
          f"(any tie order: precision {100 * lo:.1f}–{100 * hi:.1f}%)")
    print(f"fit time: {len(C_GRID)} C × {len(np.unique(fold))} folds + Platt (a={a:.3f}, b={b:.3f}), "
          f"scikit-learn {sklearn.__version__}")
    if ev.get("labels", {}).get("recorded_outcomes"):
        print("warning: mimamori also used recorded outreach outcomes, which labels.parquet lacks")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
