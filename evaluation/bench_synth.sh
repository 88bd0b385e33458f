#!/usr/bin/env bash
# Time and peak RSS of `mimamori synth` at about one million records.
set -euo pipefail
cd "$(dirname "$0")/.."
households="${1:-171000}"
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install time" >&2; exit 1; }
cargo build --release --quiet --workspace --all-targets
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
/usr/bin/time -v ./target/release/mimamori synth --households "$households" --out "$out/city" --format json \
  >"$out/summary.json" 2>"$out/time.txt"
records=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['records'])" "$out/summary.json")
wall=$(grep 'Elapsed (wall clock)' "$out/time.txt" | awk '{print $NF}')
rss=$(grep 'Maximum resident set size' "$out/time.txt" | awk '{print $NF}')
echo "synth: $households households, $records records, wall $wall, peak RSS $((rss / 1024)) MiB"
