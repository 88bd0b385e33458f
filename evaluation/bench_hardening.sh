#!/usr/bin/env bash
# Linkage-quality cost of each Bloom hardening on the synthetic municipality → results/hardening.md
set -euo pipefail
cd "$(dirname "$0")/.."
# the profile and features of `cargo test --release --workspace`: nothing rebuilds
cargo build --release --quiet --workspace --all-targets
RESULTS=${RESULTS_DIR:-evaluation/results}
mkdir -p "$RESULTS"
target/release/examples/bloom_hardening "${1:-3000}" | tee "$RESULTS/hardening.md"
