#!/usr/bin/env bash
# Runs every test: unit, property, store, engine, end-to-end CLI, and the
# cross-checks against tshark on ../shared/pcaps (skipped with one line when
# ../shared is absent, unless CI=true); then checks that the fuzz targets build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --workspace --all-targets
# The fuzz targets (their own workspace, run by scripts/fuzz.sh outside CI)
# must still build against today's dissectors: checked, not run.
cargo check --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check --quiet
