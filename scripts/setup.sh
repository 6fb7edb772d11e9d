#!/usr/bin/env bash
# Installs what building and testing otposture needs on Debian/Ubuntu:
# libpcap-dev (live capture), tshark (the reference dissector the cross-check
# tests compare against), tcpdump (loopback captures in tests).
set -euo pipefail
need=()
for p in libpcap-dev tshark tcpdump; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
