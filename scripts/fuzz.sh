#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600) on seed corpora built
# from ../shared/pcaps (small asset registers for cmdb_register, CSAF advisories
# from ../shared/intel for csaf_document). Needs:
# cargo install cargo-fuzz (stable toolchain with RUSTC_BOOTSTRAP=1, as below). Crashes land in fuzz/artifacts/<target>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# FUZZ_SEED_PCAPS="a.pcap b.pcap" adds peer-test captures to the seeds (the shared
# captures hold no SNMP: give the Net-SNMP peer test's loopback capture).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(capture_file packet_decode modbus dnp3 s7comm mms enip ads iec104 c37118 iec61850 opcua profinet bacnet lldp cdp arp dhcp snmp ssh rfb tls ftp rdp smb dns netbios http telnet cmdb_register version_range csaf_document site_file run_records)
python3 scripts/fuzz-seeds.py ${FUZZ_SEED_PCAPS:-}
# -detect_leaks=0 and ASAN_OPTIONS=detect_leaks=0: crates/dissect/src/intern.rs
# leaks the names of unknown service codes on purpose (bounded, one per code, for
# the life of the process). The first stops libFuzzer's check after each input;
# the second LeakSanitizer's at exit, which otherwise reports them once the
# thread's name table is dropped and writes the empty input as a "crash".
for t in "${targets[@]}"; do
  echo "== $t for ${secs}s" >&2
  ASAN_OPTIONS=detect_leaks=0 RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 -detect_leaks=0 2>&1 | grep -vE "^#[0-9]+.*(NEW|REDUCE|pulse)" | tail -n 60
done
