#!/usr/bin/env bash
# Linkage-quality cost of each Bloom hardening on the synthetic municipality → results/hardening.md
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --quiet -p engine --example bloom_hardening -- "${1:-3000}" | tee evaluation/results/hardening.md
