#!/usr/bin/env python3
"""Pseudonymisation speed: mimamori vs clkhash on the same registry records, in one run.

Both encode the same rows of the synthetic registry (family and given name, their readings,
birth date, sex, address). clkhash builds its 1024-bit CLK with bigrams and 20 bits per token
(comparable to mimamori's k = 20 per q-gram); mimamori additionally normalises every field,
writes about 25 keyed tokens and three Bloom filters per record, a Parquet file and an
encrypted vault. clkhash runs on one core (max_workers=1); mimamori encodes on every core, so both its wall-clock
rate and its rate per CPU-second (per core) are reported.

Usage: evaluation/.venv/bin/python evaluation/bench_pseudonymise.py [--households N]
"""
import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("RESULTS_DIR") or Path(__file__).resolve().parent / "results")  # evaluation/run --quick writes elsewhere
MIMAMORI = ROOT / "target" / "release" / "mimamori"
FIELDS = ["氏", "名", "氏カナ", "名カナ", "生年月日", "性別", "住所"]


def clk_schema():
    from clkhash import schema as clk_schema_mod

    features = []
    for i, name in enumerate(FIELDS):
        features.append({
            "identifier": f"f{i}",
            "format": {"type": "string", "encoding": "utf-8"},
            "hashing": {
                "comparison": {"type": "ngram", "n": 2},
                "strategy": {"bitsPerToken": 20},
                "hash": {"type": "doubleHash"},
            },
        })
    spec = {
        "version": 3,
        "clkConfig": {
            "l": 1024,
            "kdf": {"type": "HKDF", "hash": "SHA256", "salt": "c2FsdA==", "info": "aW5mbw==", "keySize": 64},
        },
        "features": features,
    }
    return clk_schema_mod.from_json_dict(spec)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=30000)
    args = ap.parse_args()
    # the profile and features of `cargo test --release --workspace`: nothing rebuilds
    run(["cargo", "build", "--release", "--quiet", "--workspace", "--all-targets"], cwd=ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run([str(MIMAMORI), "synth", "--households", str(args.households), "--out", str(tmp / "city")])
        with open(tmp / "city/registry/registry.csv", encoding="utf-8") as f:
            rows = [[r[c] for c in FIELDS] for r in csv.DictReader(f)]
        n = len(rows)

        from clkhash.clk import generate_clks

        schema = clk_schema()
        t0 = time.perf_counter()
        generate_clks(rows, schema, "secret-linkage-key", validate=False, max_workers=1)
        clk_s = time.perf_counter() - t0

        os.mkdir(tmp / "keys")
        run([str(MIMAMORI), "keygen", "--out", str(tmp / "keys/link.key")])
        run([str(MIMAMORI), "keygen", "--vault", "--out", str(tmp / "keys/v.key")])
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        run([str(MIMAMORI), "pseudonymise", "--mapping", str(tmp / "city/registry/registry.toml"),
             "--key", str(tmp / "keys/link.key"), "--vault-key", str(tmp / "keys/v.key"),
             "--out", str(tmp / "ws/extracts/registry"), "--vault", str(tmp / "keys/registry.vault")])
        mim_s = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    result = {
        "records": n,
        "clkhash_records_per_s": round(n / clk_s),
        "mimamori_records_per_s": round(n / mim_s),
        "mimamori_cpu_s": round(cpu_s, 2),
        "mimamori_records_per_cpu_s": round(n / cpu_s),
        "ratio_wall": round(clk_s / mim_s, 2),
        "ratio_per_core": round(clk_s / cpu_s, 2),
        "cores": os.cpu_count(),
    }
    print(f"{n} registry records")
    print(f"  clkhash 0.18.3, one core (CLK only, no normalisation): {result['clkhash_records_per_s']:>9,} records/s")
    print(f"  mimamori pseudonymise (normalise, tokens, 3 Bloom filters, Parquet, vault):")
    print(f"    wall clock on {result['cores']} cores: {result['mimamori_records_per_s']:>9,} records/s ({result['ratio_wall']}× clkhash)")
    print(f"    per core (CPU time):    {result['mimamori_records_per_cpu_s']:>9,} records/s ({result['ratio_per_core']}× clkhash)")
    out = RESULTS
    out.mkdir(exist_ok=True)
    (out / "pseudonymise.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
