#!/usr/bin/env bash
# Gateway overhead per query on the demo workspace: planning, policy (analysis, plan rules,
# Cedar, rewrites) and the audit write, measured in-process over ITERATIONS runs of each query
# (engine/examples/gateway_overhead.rs), plus the whole `mimamori query` command (process start
# and catalog included) for comparison.
#
#   evaluation/bench_gateway.sh [ITERATIONS]      default 50
#
# Writes evaluation/results/gateway.json and prints it.
set -euo pipefail
cd "$(dirname "$0")"
EVAL=$PWD
ROOT=$(cd .. && pwd)
N=${1:-50}
(cd "$ROOT" && cargo build --release --quiet --workspace --all-targets)
M=$ROOT/target/release/mimamori
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$M" demo --out "$WORK/demo" > /dev/null
"$ROOT/target/release/examples/gateway_overhead" "$WORK/demo/workspace" "$N" > "$WORK/inproc.json"
# the whole command, 20 times
start=$(date +%s.%N)
for _ in $(seq 20); do
  "$M" query --workspace "$WORK/demo/workspace" --user officer --purpose child_outreach \
    "SELECT district, count(DISTINCT person_id) AS n FROM extracts.registry GROUP BY district" > /dev/null 2>&1
done
end=$(date +%s.%N)
RESULTS=${RESULTS_DIR:-$EVAL/results}
mkdir -p "$RESULTS"
python3 - "$WORK/inproc.json" "$start" "$end" > "$RESULTS/gateway.json" <<'PY'
import json, sys, os
doc = json.load(open(sys.argv[1]))
doc["cli_query_ms_mean"] = (float(sys.argv[3]) - float(sys.argv[2])) / 20 * 1e3
doc["machine"] = {"cores": os.cpu_count()}
print(json.dumps(doc, indent=2))
PY
cat "$RESULTS/gateway.json"
