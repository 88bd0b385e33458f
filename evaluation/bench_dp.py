#!/usr/bin/env python3
"""dp-core samplers vs OpenDP's on the same distributions, in one run.

For each mechanism and scale: the variance and the 95 % quantile of |noise| from both libraries
(they should agree within sampling error, and with the exact variance), and the cost per draw
(mimamori: the `sample` example, one process; OpenDP: one vectorised measurement call).

Usage: evaluation/.venv/bin/python evaluation/bench_dp.py [--n 200000]
"""
import argparse
import json
import os
import math
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("RESULTS_DIR") or Path(__file__).resolve().parent / "results")  # evaluation/run --quick writes elsewhere
SAMPLE = ROOT / "target" / "release" / "examples" / "sample"


def exact_variance(mech, scale):
    if mech == "discrete-laplace":
        e = math.exp(-1.0 / scale)
        return 2 * e / (1 - e) ** 2
    r = int(40 * scale) + 10
    w = [math.exp(-(x * x) / (2 * scale * scale)) for x in range(-r, r + 1)]
    z = sum(w)
    return sum(((x - r) ** 2) * wi for x, wi in enumerate(w)) / z


def summary(xs):
    n = len(xs)
    mean = sum(xs) / n
    var = sum((x - mean) ** 2 for x in xs) / n
    q95 = sorted(abs(x) for x in xs)[int(0.95 * n)]
    return var, q95


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--workspace", "--all-targets"], cwd=ROOT, check=True)
    import opendp.prelude as dp

    dp.enable_features("contrib")
    rows = []
    for mech, scales in [("discrete-laplace", [0.5, 2, 10]), ("discrete-gaussian", [0.5, 3, 10])]:
        for scale in scales:
            t0 = time.perf_counter()
            out = subprocess.run([str(SAMPLE), mech, str(scale), str(args.n)], check=True, capture_output=True, text=True).stdout
            ours_s = time.perf_counter() - t0
            ours = [int(x) for x in out.split()]
            make = dp.m.make_laplace if mech == "discrete-laplace" else dp.m.make_gaussian
            m = make(dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int) if mech == "discrete-laplace" else dp.l2_distance(T=int), scale=float(scale))
            t0 = time.perf_counter()
            theirs = m([0] * args.n)
            theirs_s = time.perf_counter() - t0
            (ov, oq), (tv, tq) = summary(ours), summary(theirs)
            ev = exact_variance(mech, scale)
            # standard error of a sample variance ≈ var·√(2/n) (heavier tails for Laplace: ×2)
            se = ev * math.sqrt(2 / args.n) * 2
            rows.append({
                "mechanism": mech, "scale": scale, "exact_variance": round(ev, 4),
                "mimamori_variance": round(ov, 4), "opendp_variance": round(tv, 4),
                "within_sampling_error": abs(ov - ev) < 4 * se and abs(tv - ev) < 4 * se,
                "mimamori_q95": oq, "opendp_q95": tq,
                "mimamori_ns_per_draw": round(ours_s / args.n * 1e9), "opendp_ns_per_draw": round(theirs_s / args.n * 1e9),
            })
    print("| mechanism | scale | exact var | mimamori var | OpenDP var | agree | |noise| q95 mimamori / OpenDP | ns/draw mimamori / OpenDP |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['mechanism']} | {r['scale']} | {r['exact_variance']} | {r['mimamori_variance']} | {r['opendp_variance']} | "
              f"{'yes' if r['within_sampling_error'] else 'NO'} | {r['mimamori_q95']} / {r['opendp_q95']} | "
              f"{r['mimamori_ns_per_draw']} / {r['opendp_ns_per_draw']} |")
    out = RESULTS
    out.mkdir(exist_ok=True)
    (out / "dp_samplers.json").write_text(json.dumps(rows, indent=2) + "\n")
    mechanism_comparison(dp, out)


def mechanism_comparison(dp, out, runs=4000):
    """The same query in both libraries: a count where each person contributes at most k
    records (the first k), released with ε = 1 by discrete Laplace noise of scale k/ε."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "--workspace", "--all-targets"], cwd=ROOT, check=True)
    # 3,000 persons with 1–4 records each (deterministic)
    persons = [f"p{i}" for i in range(3000) for _ in range(1 + (i * 7) % 4)]
    rows = []
    for k in [1, 2]:
        kept, seen = [], {}
        for p in persons:
            seen[p] = seen.get(p, 0) + 1
            if seen[p] <= k:
                kept.append(p)
        truth = len(kept)
        ours = subprocess.run([str(ROOT / "target/release/examples/bounded_count"), "1", str(k), str(runs)],
                              input="\n".join(persons), capture_output=True, text=True, check=True).stdout.split()
        ours = [int(x) - truth for x in ours]
        meas = dp.t.make_count(dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance()) >> \
            dp.m.then_laplace(scale=float(k))
        assert meas.map(k) <= 1.0 + 1e-9, "OpenDP's own accounting agrees: ε = 1 at k contributions"
        theirs = [meas(kept) - truth for _ in range(runs)]
        rmse = lambda e: math.sqrt(sum(x * x for x in e) / len(e))
        q95 = lambda e: sorted(abs(x) for x in e)[int(0.95 * len(e))]
        rows.append({"k": k, "true_count": truth, "mimamori_rmse": round(rmse(ours), 3), "opendp_rmse": round(rmse(theirs), 3),
                     "mimamori_q95": q95(ours), "opendp_q95": q95(theirs), "runs": runs})
    print()
    print("| bounded count, ε = 1 | true count | RMSE mimamori / OpenDP | |error| q95 mimamori / OpenDP |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print(f"| k = {r['k']} | {r['true_count']} | {r['mimamori_rmse']} / {r['opendp_rmse']} | {r['mimamori_q95']} / {r['opendp_q95']} |")
    (out / "dp_mechanisms.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
