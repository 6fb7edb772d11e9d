#!/usr/bin/env bash
# Sets up (packages, release build) and runs the main job on the bundled sample
# capture: analyse it into a fresh database, then list hosts, flows, identities and assets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet
db=$(mktemp -d)/demo.db
./target/release/otposture --db "$db" analyze samples/plant-cell.pcap
echo
./target/release/otposture --db "$db" hosts
echo
./target/release/otposture --db "$db" flows
echo
./target/release/otposture --db "$db" events --kind identity
echo
./target/release/otposture --db "$db" assets
echo
./target/release/otposture --db "$db" assess --site samples/plant-cell.site.toml
echo
./target/release/otposture --db "$db" findings
echo
echo "database: $db (try: ./target/release/otposture --db $db flows --format json)"
