#!/usr/bin/env python3
"""Writes RESULTS.md from the JSON files the evaluation steps wrote (evaluation/run calls it).

Every figure comes from a file measured in this run; a step that failed or did not run says so
in its section instead of showing an older figure.

Usage: report.py --results DIR --out RESULTS.md --mode quick|full [--failed "step step"]
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ["splink", "recordlinkage", "clkhash", "anonlink", "opendp", "scikit-learn", "duckdb", "pandas"]


def load(results: Path, name: str):
    p = results / name
    if not p.is_file():
        return None
    return json.loads(p.read_text(encoding="utf-8"))


def cmd(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem} memory, {platform.system()} {platform.release()}"


def versions() -> str:
    parts = [f"mimamori {cmd('git', 'describe', '--always', '--dirty')}", cmd("rustc", "--version"),
             f"Python {platform.python_version()}"]
    for p in PEERS:
        try:
            parts.append(f"{p} {md.version(p)}")
        except md.PackageNotFoundError:
            parts.append(f"{p} (not installed)")
    return ", ".join(parts)


def ratio(a, b, digits=2) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.{digits}f}×"


def f4(v) -> str:
    return "–" if v is None else f"{v:.4f}"


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def missing(name: str, failed: set[str]) -> str:
    return f"_Not measured in this run ({'the step failed; see its log' if name in failed else 'the step did not run'})._\n"


def linkage(results: Path, failed: set[str], summary: list) -> str:
    rows = load(results, "link.json")
    out = ["## Linkage: mimamori (on pseudonyms) vs Splink (on plaintext)\n",
           "Pair precision, recall and F1 against the truth; wall time and peak RSS of the linking run "
           "alone (mimamori's pseudonymisation is timed below). Ratios are mimamori / Splink: "
           "below 1× is faster or smaller.\n"]
    if not rows:
        return "\n".join(out) + missing("linkage", failed)
    by = {}
    for r in rows:
        by.setdefault(r["dataset"], {})[r["peer"]] = r
    out.append("| data set | records | mimamori F1 | P | R | Splink F1 | P | R | mimamori s | Splink s | time ratio | mimamori MiB | Splink MiB | memory ratio |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ds, peers in by.items():
        m, s = peers.get("mimamori"), peers.get("splink")
        if not m or not s:
            continue
        out.append(
            f"| {ds} | {m['records']} | {f4(m['pair_f1'])} | {f4(m['pair_precision'])} | {f4(m['pair_recall'])} | "
            f"{f4(s['pair_f1'])} | {f4(s['pair_precision'])} | {f4(s['pair_recall'])} | {m['seconds']:.1f} | "
            f"{s['seconds']:.1f} | {ratio(m['seconds'], s['seconds'])} | {m['peak_rss_kib'] / 1024:.0f} | "
            f"{s['peak_rss_kib'] / 1024:.0f} | {ratio(m['peak_rss_kib'], s['peak_rss_kib'])} |")
        summary.append((f"person pair F1, {ds}", f4(m["pair_f1"]), f"Splink {f4(s['pair_f1'])}",
                        f"{m['pair_f1'] - s['pair_f1']:+.4f}", "higher"))
        summary.append((f"link time, {ds} ({m['records']} records)", f"{m['seconds']:.1f} s",
                        f"Splink {s['seconds']:.1f} s", ratio(m["seconds"], s["seconds"]), "lower"))
        summary.append((f"peak memory, {ds}", f"{m['peak_rss_kib'] / 1024:.0f} MiB",
                        f"Splink {s['peak_rss_kib'] / 1024:.0f} MiB", ratio(m["peak_rss_kib"], s["peak_rss_kib"]), "lower"))
    return "\n".join(out) + "\n"


def pseudonymise(results: Path, failed: set[str], summary: list) -> str:
    r = load(results, "pseudonymise.json")
    out = ["## Pseudonymisation: mimamori vs clkhash\n",
           "The same registry records; clkhash builds one 1024-bit CLK on one core, mimamori normalises "
           "every field, writes ~25 keyed tokens, three Bloom filters, Parquet and an encrypted vault.\n"]
    if not r:
        return "\n".join(out) + missing("pseudonymise", failed)
    out.append("| records | clkhash records/s | mimamori records/s (wall, all cores) | mimamori records/s per core | ratio wall | ratio per core | cores |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    out.append(f"| {r['records']} | {r['clkhash_records_per_s']} | {r['mimamori_records_per_s']} | "
               f"{r['mimamori_records_per_cpu_s']} | {r['ratio_wall']}× | {r['ratio_per_core']}× | {r['cores']} |")
    summary.append(("pseudonymisation records/s per core", str(r["mimamori_records_per_cpu_s"]),
                    f"clkhash {r['clkhash_records_per_s']}", f"{r['ratio_per_core']}×", "higher"))
    return "\n".join(out) + "\n"


def dice(results: Path, failed: set[str], summary: list) -> str:
    r = load(results, "dice.json")
    out = ["## Dice comparisons: mimamori vs anonlink\n", "1024-bit filters, all pairs, one core.\n"]
    if not r:
        return "\n".join(out) + missing("dice", failed)
    out.append("| filters | anonlink comparisons/s | mimamori comparisons/s | ratio |")
    out.append("|---:|---:|---:|---:|")
    out.append(f"| {r['filters']} | {r['anonlink_comparisons_per_second']:,} | {r['mimamori_comparisons_per_second']:,} | {r['ratio']}× |")
    summary.append(("Dice comparisons/s (one core)", f"{r['mimamori_comparisons_per_second']:,}",
                    f"anonlink {r['anonlink_comparisons_per_second']:,}", f"{r['ratio']}×", "higher"))
    return "\n".join(out) + "\n"


def dp(results: Path, failed: set[str], summary: list) -> str:
    samplers = load(results, "dp_samplers.json")
    mechanisms = load(results, "dp_mechanisms.json")
    out = ["## Differential privacy: dp-core vs OpenDP\n"]
    if not samplers and not mechanisms:
        return "\n".join(out) + missing("dp", failed)
    if samplers:
        out.append("Samplers: variance against the exact value, 95% error, time per draw.\n")
        out.append("| mechanism | scale | exact variance | dp-core variance | OpenDP variance | both within sampling error | dp-core q95 | OpenDP q95 | dp-core ns/draw | OpenDP ns/draw |")
        out.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
        for r in samplers:
            out.append(f"| {r['mechanism']} | {r['scale']} | {r['exact_variance']} | {r['mimamori_variance']} | "
                       f"{r['opendp_variance']} | {'yes' if r['within_sampling_error'] else 'NO'} | {r['mimamori_q95']} | "
                       f"{r['opendp_q95']} | {r['mimamori_ns_per_draw']} | {r['opendp_ns_per_draw']} |")
        ns_m = sum(r["mimamori_ns_per_draw"] for r in samplers)
        ns_o = sum(r["opendp_ns_per_draw"] for r in samplers)
        summary.append(("DP sampler time per draw (sum over mechanisms)", f"{ns_m} ns", f"OpenDP {ns_o} ns",
                        ratio(ns_m, ns_o), "lower"))
    if mechanisms:
        out.append("\nThe same counting queries and budgets: error of released counts (k = persons' contribution bound).\n")
        out.append("| k | true count | runs | dp-core RMSE | OpenDP RMSE | ratio | dp-core q95 | OpenDP q95 |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in mechanisms:
            out.append(f"| {r['k']} | {r['true_count']} | {r['runs']} | {r['mimamori_rmse']} | {r['opendp_rmse']} | "
                       f"{ratio(r['mimamori_rmse'], r['opendp_rmse'])} | {r['mimamori_q95']} | {r['opendp_q95']} |")
            summary.append((f"DP count RMSE, k = {r['k']}", str(r["mimamori_rmse"]), f"OpenDP {r['opendp_rmse']}",
                            ratio(r["mimamori_rmse"], r["opendp_rmse"]), "lower"))
    return "\n".join(out) + "\n"


def risk(results: Path, failed: set[str], summary: list) -> str:
    ev = load(results, "risk_mimamori.json")
    sk = load(results, "risk_sklearn.json")
    out = ["## Risk model: mimamori vs the rule-based scorecard and scikit-learn\n",
           "Same features and household folds; out-of-fold figures on synthetic outcomes the model did "
           "not define. Precision at caseworker capacity is per district list.\n"]
    if not ev or not sk:
        return "\n".join(out) + missing("risk", failed)
    out.append("| ranking | AUC | precision, top 18% | recall, top 18% | precision at capacity |")
    out.append("|---|---:|---:|---:|---:|")
    rows = [("mimamori model", ev["model"]), ("rule-based scorecard", ev["scorecard"]),
            ("scikit-learn LogisticRegression", sk)]
    for label, r in rows:
        p18 = r["at_pilot_share"]["precision"]
        r18 = r["at_pilot_share"]["recall"]
        cap = r["at_capacity"]["precision"]
        val = lambda v: v["value"] if isinstance(v, dict) else v  # noqa: E731
        out.append(f"| {label} | {f4(r['auc'])} | {pct(val(p18))} | {pct(val(r18))} | {pct(val(cap))} |")
    out.append(f"\n{ev['children_evaluated']} children evaluated; mimamori's expected calibration error "
               f"{ev['expected_calibration_error']:.3f}.")
    summary.append(("risk AUC (out of fold)", f4(ev["model"]["auc"]),
                    f"scikit-learn {f4(sk['auc'])}, scorecard {f4(ev['scorecard']['auc'])}",
                    f"{ev['model']['auc'] - sk['auc']:+.4f} vs scikit-learn", "higher"))
    m_cap = ev["model"]["at_capacity"]["precision"]["value"]
    s_cap = ev["scorecard"]["at_capacity"]["precision"]["value"]
    summary.append(("precision at caseworker capacity", pct(m_cap), f"scorecard {pct(s_cap)}", ratio(m_cap, s_cap),
                    "higher"))
    return "\n".join(out) + "\n"


def gateway(results: Path, failed: set[str], summary: list) -> str:
    r = load(results, "gateway.json")
    out = ["## Policy gateway overhead per query\n",
           "Planning, plan analysis, plan rules, Cedar, rewrites and the synced audit write, in-process on "
           "the demo workspace; and the whole `mimamori query` command.\n"]
    if not r:
        return "\n".join(out) + missing("gateway", failed)
    out.append("| query | denied | overhead p50 ms | overhead p95 ms | run p50 ms | total p50 ms |")
    out.append("|---|---|---:|---:|---:|---:|")
    for name, q in r["queries"].items():
        out.append(f"| {name} | {'yes' if q['denied'] else 'no'} | {q['overhead_ms_p50']:.2f} | {q['overhead_ms_p95']:.2f} | "
                   f"{q['run_ms_p50']:.2f} | {q['total_ms_p50']:.2f} |")
    out.append(f"\nAll queries: overhead p50 {r['overhead_ms_p50_all']:.2f} ms, p95 {r['overhead_ms_p95_all']:.2f} ms "
               f"({r['iterations']} iterations); opening the catalog {r['catalog_open_ms']:.1f} ms; the whole CLI "
               f"command {r['cli_query_ms_mean']:.0f} ms on average.")
    summary.append(("gateway overhead per query (p50)", f"{r['overhead_ms_p50_all']:.2f} ms", "–", "–", "lower"))
    return "\n".join(out) + "\n"


def hardening(results: Path, failed: set[str]) -> str:
    p = results / "hardening.md"
    out = ["## Bloom-filter hardening and linkage separation\n"]
    if not p.is_file():
        return "\n".join(out) + missing("hardening", failed)
    return "\n".join(out) + p.read_text(encoding="utf-8").strip() + "\n"


def attacks(results: Path, failed: set[str]) -> str:
    p = results / "attacks.md"
    if not p.is_file():
        return ""
    return "## Attacks on the encodings\n\n" + p.read_text(encoding="utf-8").strip() + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mode", choices=["quick", "full"], required=True)
    ap.add_argument("--failed", default="")
    a = ap.parse_args()
    failed = set(a.failed.split())
    summary: list = []
    sections = [linkage(a.results, failed, summary), pseudonymise(a.results, failed, summary),
                dice(a.results, failed, summary), dp(a.results, failed, summary), risk(a.results, failed, summary),
                gateway(a.results, failed, summary), hardening(a.results, failed), attacks(a.results, failed)]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = [
        "# mimamori evaluation results\n",
        f"Regenerated by `evaluation/run{' --quick' if a.mode == 'quick' else ''}` on {now}"
        f"{' (quick: a small subset; the full run is `evaluation/run`)' if a.mode == 'quick' else ''}.\n",
        f"- Machine: {machine()}",
        f"- Versions: {versions()}",
    ]
    if failed:
        head.append(f"- **Steps that failed in this run:** {', '.join(sorted(failed))}")
    head.append("\n## Summary\n")
    head.append("| measure | mimamori | peer | mimamori − peer or mimamori / peer | better when |")
    head.append("|---|---|---|---|---|")
    for row in summary:
        head.append("| " + " | ".join(row) + " |")
    text = "\n".join(head) + "\n\n" + "\n".join(s for s in sections if s)
    tmp = a.out.with_suffix(".md.tmp")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(a.out)


if __name__ == "__main__":
    main()
