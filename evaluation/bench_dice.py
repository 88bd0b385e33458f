#!/usr/bin/env python3
"""Dice comparisons per second on one core: anonlink's accelerated C++ Dice vs mimamori's loop.

Both compare every pair of two sets of N random 1024-bit filters about half full (as balanced
hardening makes them). anonlink: ``similarities.dice_coefficient_accelerated`` at threshold 0.8;
mimamori: the ``dice_throughput`` example of the engine crate (all pairs of N filters, same
threshold). Writes results/dice.json.

    evaluation/.venv/bin/python evaluation/bench_dice.py [--n 4096]
"""
import argparse
import json
import os
import random
import subprocess
import time
from pathlib import Path

from bitarray import bitarray
from anonlink import similarities

HERE = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("RESULTS_DIR") or Path(__file__).resolve().parent / "results")  # evaluation/run --quick writes elsewhere


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=4096)
    args = ap.parse_args()
    rng = random.Random(20261125)
    filters = []
    for _ in range(args.n):
        bits = rng.getrandbits(1024).to_bytes(128, "little")
        b = bitarray()
        b.frombytes(bits)
        filters.append(b)
    start = time.perf_counter()
    similarities.dice_coefficient_accelerated((filters, filters), threshold=0.8)
    secs = time.perf_counter() - start
    anon = args.n * args.n / secs
    # the workspace build (the one profile CI and the tests use) builds the example too;
    # `cargo run --example` alone would resolve features differently and rebuild DataFusion
    subprocess.run(["cargo", "build", "--release", "--workspace", "--all-targets", "--quiet"], cwd=HERE.parent, check=True)
    out = subprocess.run(
        [str(HERE.parent / "target" / "release" / "examples" / "dice_throughput"), str(args.n)],
        capture_output=True, text=True, check=True,
    ).stdout
    ours = json.loads(out)
    result = {
        "filters": args.n,
        "anonlink_comparisons_per_second": round(anon),
        "mimamori_comparisons_per_second": ours["comparisons_per_second"],
        "ratio": round(ours["comparisons_per_second"] / anon, 2),
    }
    (RESULTS / "dice.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
