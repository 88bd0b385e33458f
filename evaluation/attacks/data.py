"""Targets for the attacks: a synthetic municipality's registry split in two, one half encoded
by `mimamori pseudonymise` under each hardening (and by clkhash), the attacker's plaintext list
drawn from both halves so that a chosen share of it overlaps the encoded half.

The evaluator (not the attacker) knows which encoded row is which person: pseudonymise writes
rows in input order and rejects none here, which `encode_mimamori` checks.
"""
from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
MIMAMORI = os.environ.get("MIMAMORI", str(ROOT / "target" / "release" / "mimamori"))

# hardenings `mimamori pseudonymise --hardening` ships (the first is the default)
HARDENINGS = ["balance", "none", "xor-fold"]
# token salts `mimamori pseudonymise --token-salt` ships (the first is the default)
TOKEN_SALTS = ["none", "birth-year"]
# token fields the default token salt must keep from the frequency attack (at most 1% at full
# overlap): the whole names; name parts, towns and birth years leak (see docs/pseudonymise.md)
GUARDED_TOKENS = ("name", "kana")


def nfkc(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip()


SMALL = str.maketrans("ァィゥェォッャュョヮヵヶヲヰヱ", "アイウエオツヤユヨワカケオイエ")


def kana_loose(s: str) -> str:
    """mimamori's loose reading key (linkage::normalise::kana::loose), as an attacker who read
    the open-source normaliser would rebuild it: katakana, small kana large, voiced marks
    dropped, long-vowel marks and separators removed."""
    s = nfkc(s)
    s = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in s)
    s = s.replace("ヅ", "ズ").replace("ヂ", "ジ")
    out = []
    for c in s:
        base = "".join(d for d in unicodedata.normalize("NFD", c) if d not in "\u3099\u309a")
        base = unicodedata.normalize("NFC", base)
        if base in "ー- ・\u3000":
            continue
        out.append(base.translate(SMALL))
    return "".join(out)


def bigrams(parts: list[str], unigrams: bool) -> frozenset[str]:
    """The q-grams mimamori encodes: padded bigrams of each part (`_高`, `高橋`, `橋_`), plus
    each character when `unigrams`."""
    grams = set()
    for p in parts:
        if not p:
            continue
        prev = "_"
        for c in p + "_":
            grams.add(prev + c)
            if unigrams and c != "_":
                grams.add(c)
            prev = c
    return frozenset(grams)


@dataclass
class Field:
    """One encoded field: the attacker's view (encodings) and the evaluator's truth."""
    name: str
    values: list[str]               # true value of each encoded record
    qgrams: dict[str, frozenset]    # q-grams of every value (encoded half and attacker's list)
    k: int = 16                     # bits per q-gram (public: Kerckhoffs)
    # clkhash hashes each feature (family, given) under its own key: the same bigram in the two
    # parts is two tokens
    qgrams_by_part: dict[str, frozenset] = field(default_factory=dict)


@dataclass
class Target:
    rows_a: list[dict]              # the encoded half (plaintext, evaluator only)
    rows_b: list[dict]              # persons outside the encoded extract
    fields: dict[str, Field] = field(default_factory=dict)


ERAS = {"明治": 1867, "大正": 1911, "昭和": 1925, "平成": 1988, "令和": 2018}


def birth_year(s: str) -> str:
    """The Gregorian year of a registry birth date (和暦 or ISO), as tok_birth_year encodes it."""
    s = nfkc(s)
    m = re.match(r"(明治|大正|昭和|平成|令和)(元|\d+)年", s)
    if m:
        return str(ERAS[m.group(1)] + (1 if m.group(2) == "元" else int(m.group(2))))
    m = re.match(r"(\d{4})", s)
    return m.group(1) if m else ""


def town(address: str) -> str:
    """The town part of an address (before its first number), as tok_town encodes it."""
    return re.split(r"\d", nfkc(address), maxsplit=1)[0]


def birth_ym(s: str) -> str:
    """The Gregorian year and month of a registry birth date, as tok_birth_ym encodes it."""
    s = nfkc(s)
    m = re.match(r"(明治|大正|昭和|平成|令和)(元|\d+)年(\d+)月", s)
    if m:
        return f"{ERAS[m.group(1)] + (1 if m.group(2) == '元' else int(m.group(2)))}-{int(m.group(3)):02}"
    m = re.match(r"(\d{4})\D?(\d{1,2})", s)
    return f"{m.group(1)}-{int(m.group(2)):02}" if m else ""


# token fields the frequency attack is run on: what each deterministic token column encodes
TOKEN_FIELDS = ("name", "kana", "family", "given", "family_kana", "town", "birth_year", "birth_ym")
# under `--token-salt birth-year` the name-part tokens stand for (part, birth year): the
# attacker, whose population list has both, attacks those pairs, and learns the part when right
SALTED_FIELDS = {"family": "family_year", "given": "given_year", "family_kana": "family_kana_year"}


def field_values(row: dict) -> dict[str, tuple[str, frozenset]]:
    fam, giv = nfkc(row["氏"]), nfkc(row["名"])
    lf, lg = kana_loose(row["氏カナ"]), kana_loose(row["名カナ"])
    year = birth_year(row["生年月日"])
    return {
        "name": (f"{fam} {giv}", bigrams([fam, giv], True)),
        "kana": (f"{lf} {lg}", bigrams([lf, lg], False)),
        # family names alone: what the deterministic family-name tokens encode
        "family": (fam, bigrams([fam], True)),
        "family_kana": (lf, bigrams([lf], False)),
        # quasi-identifiers that deterministic tokens carry too
        "town": (town(row["住所"]), frozenset()),
        "birth_year": (year, frozenset()),
        "birth_ym": (birth_ym(row["生年月日"]), frozenset()),
        "given": (giv, frozenset()),
        "family_year": (f"{fam}|{year}", frozenset()),
        "given_year": (f"{giv}|{year}", frozenset()),
        "family_kana_year": (f"{lf}|{year}", frozenset()),
    }


def make_target(work: Path, households: int, seed: int) -> Target:
    city = work / "city"
    if not city.exists():
        subprocess.run([MIMAMORI, "synth", "--households", str(households), "--seed", str(seed), "--out", str(city)],
                       check=True, capture_output=True)
    with open(city / "registry" / "registry.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    half = len(rows) // 2
    a = [rows[i] for i in order[:half]]
    b = [rows[i] for i in order[half:]]
    t = Target(rows_a=a, rows_b=b)
    for name in TOKEN_FIELDS + tuple(SALTED_FIELDS.values()):
        values, qgrams = [], {}
        by_part = {}
        for r in a + b:
            v, q = field_values(r)[name]
            qgrams[v] = q
            parts = v.split(" ")
            by_part[v] = frozenset(f"{i}{g}" for i, p in enumerate(parts) for g in bigrams([p], False))
        for r in a:
            values.append(field_values(r)[name][0])
        t.fields[name] = Field(name=name, values=values, qgrams=qgrams, qgrams_by_part=by_part)
    # the encoded half as its own extract, with the registry's mapping
    ext = work / "extract"
    ext.mkdir(parents=True, exist_ok=True)
    with open(ext / "registry.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(a)
    shutil.copy(city / "registry" / "registry.toml", ext / "registry.toml")
    return t


def attacker_list(t: Target, field_name: str, overlap: float, seed: int) -> list[str]:
    """The attacker's plaintext values: `overlap` of the encoded persons and the rest from
    outside, as many as the extract holds."""
    rng = np.random.default_rng(seed + int(overlap * 1000))
    n = len(t.rows_a)
    inside = rng.choice(n, size=round(overlap * n), replace=False)
    outside = rng.choice(len(t.rows_b), size=min(n - len(inside), len(t.rows_b)), replace=False)
    vals = [field_values(t.rows_a[i])[field_name][0] for i in inside]
    vals += [field_values(t.rows_b[i])[field_name][0] for i in outside]
    return vals


def write_linkage_key(path: Path, seed: int) -> None:
    """The evaluator's linkage key, derived from the seed so that a run is reproducible (the
    attacker never sees it; in production keys come from the OS CSPRNG, `mimamori keygen`).
    Every configuration uses the same key: only the hardening differs."""
    import hashlib

    key = hashlib.sha256(f"mimamori attack lab {seed}".encode()).hexdigest()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"mimamori-linkage-key-v1 {key}\n")


def encode_mimamori(t: Target, work: Path, hardening: str, seed: int, token_salt: str = "none") -> dict[str, np.ndarray]:
    """`mimamori pseudonymise --hardening H --token-salt S` on the encoded half: each Bloom
    column as an (n, bytes) uint8 array in row order, and the deterministic tokens (a record
    without a token: a row of zeros)."""
    keys = work / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    link, vault_key = keys / "link.key", keys / f"{hardening}.vault.key"
    if not link.exists():
        write_linkage_key(link, seed)
    if not vault_key.exists():
        subprocess.run([MIMAMORI, "keygen", "--vault", "--out", str(vault_key)], check=True, capture_output=True)
    out = work / f"ws_{hardening}_{token_salt}" / "extracts" / "registry"
    subprocess.run([MIMAMORI, "pseudonymise", "--mapping", str(work / "extract" / "registry.toml"),
                    "--key", str(link), "--vault-key", str(vault_key), "--out", str(out),
                    "--vault", str(keys / f"{hardening}_{token_salt}.vault"), "--hardening", hardening,
                    "--token-salt", token_salt, "--force"],
                   check=True, capture_output=True)
    table = pq.read_table(out / "records.parquet")
    if table.num_rows != len(t.rows_a):
        raise RuntimeError(f"pseudonymise kept {table.num_rows} of {len(t.rows_a)} rows: row order no longer aligns")
    enc = {}
    for col, fname in (("bf_name", "name"), ("bf_kana", "kana"), ("tok_name", "name_token"),
                       ("tok_kana_loose", "kana_token"), ("tok_family", "family_token"),
                       ("tok_given", "given_token"), ("tok_family_kana_loose", "family_kana_token"), ("tok_town", "town_token"),
                       ("tok_birth_year", "birth_year_token"), ("tok_birth_ym", "birth_ym_token")):
        arr = table.column(col).to_pylist()
        width = max((len(x) for x in arr if x is not None), default=16)
        enc[fname] = np.array([np.frombuffer(x, dtype=np.uint8) if x else np.zeros(width, np.uint8) for x in arr])
    return enc


def encode_clkhash(t: Target, field_name: str) -> np.ndarray:
    """clkhash 0.18.3 with its v3 schema defaults for a text feature (bigrams, double hashing,
    1024 bits), 20 bits per token as in its examples: one filter per record of the field."""
    from clkhash import schema as clk_schema
    from clkhash.clk import generate_clks

    parts = [v.split(" ") for v in t.fields[field_name].values]
    features = [{
        "identifier": f"p{i}",
        "format": {"type": "string", "encoding": "utf-8"},
        "hashing": {"comparison": {"type": "ngram", "n": 2}, "strategy": {"bitsPerToken": 20}},
    } for i in range(2)]
    spec = {"version": 3, "clkConfig": {"l": 1024, "kdf": {"type": "HKDF", "hash": "SHA256", "salt": "c2FsdA==",
                                                        "info": "aW5mbw==", "keySize": 64}},
            "features": features}
    sch = clk_schema.from_json_dict(spec)
    rows = [[p[0], p[1] if len(p) > 1 else ""] for p in parts]
    clks = generate_clks(rows, sch, "attack-lab-secret", validate=False, max_workers=1)

    return np.array([np.frombuffer(c.tobytes(), dtype=np.uint8) for c in clks])
