#!/usr/bin/env bash
# Builds the throughput benchmark input: every real capture in ../shared/pcaps
# appended into one file, then copies of it with timestamps shifted by a day
# each, appended until the result is at least the requested size (default 1 GB).
# Needs editcap and mergecap (Debian package: wireshark-common / tshark).
#
#   scripts/make-bench-capture.sh [OUT] [MIN_BYTES]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
shared="$here/../shared/pcaps"
out=${1:-$here/bench-data/ics-1g.pcapng}
min=${2:-1000000000}
[ -d "$shared" ] || { echo "missing $shared" >&2; exit 1; }
command -v mergecap >/dev/null || { echo "mergecap not found: apt-get install tshark" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
# 1. All captures, in INDEX order, appended (mixed link types -> pcapng with several interfaces).
# Files cut short in the middle of a record (mergecap refuses them) are left out.
files=()
while IFS= read -r f; do
  if capinfos -c "$shared/$f" >/dev/null 2>&1; then files+=("$shared/$f"); else echo "leaving out $f (cut short)" >&2; fi
done < <(tail -n +2 "$shared/INDEX.tsv" | cut -f1)
mergecap -a -w "$tmp/base.pcapng" "${files[@]}"
base_size=$(stat -c %s "$tmp/base.pcapng")
copies=$(( (min + base_size - 1) / base_size ))
echo "base: $base_size bytes; $copies copies" >&2
# 2. Shifted copies, so each copy's conversations are new ones in time.
parts=()
for i in $(seq 0 $((copies - 1))); do
  editcap -t $((i * 86400)) "$tmp/base.pcapng" "$tmp/part$i.pcapng"
  parts+=("$tmp/part$i.pcapng")
done
mergecap -a -w "$out" "${parts[@]}"
ls -l "$out" >&2
capinfos -c -s "$out" 2>/dev/null | tail -n +2 >&2 || true
