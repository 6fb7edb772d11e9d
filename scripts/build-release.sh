#!/usr/bin/env bash
# The fastest otposture binary: a release build optimised with the profile of
# a real analysis (profile-guided optimisation, rustc's -Cprofile-generate and
# -Cprofile-use). The compiler then lays out the packet path's branches and
# inlines by what the dissectors actually do with real traffic. On the
# benchmark capture the packet path took 0.87-0.93 s instead of 1.07-1.18 s
# (docs/performance.md). SQLite, which is C, is built as usual.
#
#   scripts/build-release.sh [CAPTURE...]
#
# Trains on the given captures (best: your own network's), by default on every
# capture in ../shared/pcaps. The training must exercise the dissectors your
# traffic uses: code it never runs is compiled as cold (EtherNet/IP left out of
# the training took 12% more instructions than in the plain build), and trained
# on samples/ alone (one small capture) the build was no faster than the plain
# one, so that is refused. Needs rustup's llvm-tools (for
# llvm-profdata of rustc's own LLVM version), which it installs.
# Writes target/pgo/otposture; `cargo build --release` stays the plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/target/pgo

captures=()
if [ $# -gt 0 ]; then
  captures=("$@")
elif [ -d ../shared/pcaps ]; then
  mapfile -t captures < <(find ../shared/pcaps -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) | sort)
fi
if [ ${#captures[@]} -eq 0 ]; then
  echo "build-release: no training captures: give captures of your network's traffic" >&2
  echo "  (../shared/pcaps is the default; samples/ alone is too small to help)" >&2
  exit 2
fi

command -v rustup >/dev/null || { echo "build-release: needs rustup (for llvm-tools, the llvm-profdata of rustc's LLVM)" >&2; exit 1; }
rustup component add llvm-tools >/dev/null
profdata="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
[ -x "$profdata" ] || { echo "build-release: $profdata not found after installing llvm-tools" >&2; exit 1; }

rm -rf "$work/raw" "$work/train.db" "$work/train.db-wal" "$work/train.db-shm"
mkdir -p "$work/raw"
echo "== instrumented build (target/pgo/gen)"
RUSTFLAGS="-Cprofile-generate=$work/raw" cargo build --release --target-dir "$work/gen" -p otposture

echo "== training on ${#captures[@]} captures"
refused=0
for f in "${captures[@]}"; do
  # A capture that ends in an error (the corpus has truncated and fuzzed files)
  # still trains the paths it took; the count is reported, not hidden.
  LLVM_PROFILE_FILE="$work/raw/%m.profraw" "$work/gen/release/otposture" --db "$work/train.db" analyze --quiet "$f" \
    >/dev/null 2>&1 || refused=$((refused + 1))
done
echo "   $refused of ${#captures[@]} ended with an error (their packets up to it still count)"
"$profdata" merge -o "$work/otposture.profdata" "$work/raw"

echo "== optimised build (target/pgo/use)"
RUSTFLAGS="-Cprofile-use=$work/otposture.profdata" cargo build --release --target-dir "$work/use" -p otposture
cp "$work/use/release/otposture" "$work/otposture"
echo "built $work/otposture"
