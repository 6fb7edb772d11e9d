#!/usr/bin/env bash
# Runs every test: unit, property, store, engine, end-to-end CLI, and the
# cross-checks against tshark on ../shared/pcaps (skipped with one line when
# ../shared is absent, unless CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --all-targets
