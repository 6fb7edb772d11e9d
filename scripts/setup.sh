#!/usr/bin/env bash
# Installs what building and testing otposture needs on Debian/Ubuntu:
# libpcap-dev (live capture), tshark (the reference dissector the cross-check
# tests compare against), tcpdump (loopback captures in tests), the OpenSSH
# server and client (the SSH peer test), TigerVNC's headless Xvnc server (the
# VNC peer test, and the display of the RDP client), Samba's server and client
# (the SMB peer test), xrdp and FreeRDP's client (the RDP peer test), dnsmasq and dig (the DNS peer test; dnsmasq also
# leases addresses in the DHCP peer test), curl (the HTTP peer
# test's client), the inetutils telnet client (the Telnet peer test),
# Net-SNMP's agent and tools (the SNMP peer test; numeric OIDs, no MIB files needed) and
# rsyslog with its GnuTLS driver (the alerts crate's syslog test receives UDP, TCP
# and TLS on loopback), nmap (the scan test's scanner), and g++ (libFuzzer, which the fuzz targets link, is C++).
set -euo pipefail
need=()
for p in g++ libpcap-dev tshark tcpdump openssh-server openssh-client tigervnc-standalone-server tigervnc-tools dnsmasq-base bind9-dnsutils curl inetutils-telnet snmpd snmp samba smbclient xrdp freerdp2-x11 rsyslog rsyslog-gnutls nmap; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Real protocol peers for the loopback tests (tests/peers/). python-snap7 2.x
# ships the C++ libsnap7 in its manylinux wheel (3.x is a pure-Python rewrite).
# cpppo (EtherNet/IP server) and pycomm3 (its client) are pure Python. c104
# (IEC 60870-5-104 server and client, lib60870 inside) ships manylinux wheels.
if ! python3 -c "import pymodbus" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "pymodbus==3.16.1"
fi
if ! python3 -c "import importlib.metadata as m; assert m.version('python-snap7') == '2.1.0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "python-snap7==2.1.0"
fi
if ! python3 -c "import importlib.metadata as m; assert m.version('cpppo') == '5.2.5' and m.version('pycomm3') == '1.2.16'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "cpppo==5.2.5" "pycomm3==1.2.16"
fi
# scapy encodes PROFINET DCP frames for the DCP test, CDP frames for the CDP
# test and the client's messages of the DHCP test (pure Python).
if ! python3 -c "import importlib.metadata as m; assert m.version('scapy') == '2.6.1'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "scapy==2.6.1"
fi
# bacpypes3: the BACnet/IP peers of the BACnet test (pure Python).
if ! python3 -c "import importlib.metadata as m; assert m.version('bacpypes3') == '0.0.110'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "bacpypes3==0.0.110"
fi
# vncdotool: the VNC client of the VNC test (pure Python).
if ! python3 -c "import importlib.metadata as m; assert m.version('vncdotool') == '1.2.0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "vncdotool==1.2.0"
fi
# pyftpdlib: the FTP server of the FTP test (pure Python; the client is CPython's ftplib).
if ! python3 -c "import importlib.metadata as m; assert m.version('pyftpdlib') == '2.0.1'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "pyftpdlib==2.0.1"
fi
# pyiec61850-ng: libIEC61850's MMS server and client (binary wheels) for the MMS test,
# and its GOOSE publisher (on lo) for the GOOSE test.
if ! python3 -c "import importlib.metadata as m; assert m.version('pyiec61850-ng') == '1.6.1.10'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "pyiec61850-ng==1.6.1.10"
fi
if ! python3 -c "import importlib.metadata as m; assert m.version('c104') == '2.2.1'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "c104==2.2.1"
fi
# pyads: Beckhoff's ADS library (AdsLib) built into the wheel as the client,
# and its pure-Python ADS test server, for the ADS peer test.
if ! python3 -c "import importlib.metadata as m; assert m.version('pyads') == '3.6.0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "pyads==3.6.0"
fi
# pypmu (PyPI `synchrophasor`): a C37.118.2 PMU and PDC in pure Python, for
# the C37.118 peer test (an sdist; nothing to compile).
if ! python3 -c "import importlib.metadata as m; assert m.version('synchrophasor') == '1.0.0a0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check "synchrophasor==1.0.0a0"
fi
# asyncua (OPC UA server and client) is pure Python, with a wheel.
if ! python3 -c "import importlib.metadata as m; assert m.version('asyncua') == '2.1.0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "asyncua==2.1.0"
fi
# dnspython: the UPDATE and AXFR client of the DNS peer test (pure Python, with a wheel).
if ! python3 -c "import importlib.metadata as m; assert m.version('dnspython') == '2.9.2'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "dnspython==2.9.2"
fi
# telnetlib3: the Telnet server of the Telnet test (pure Python, with a wheel;
# the client is Debian's inetutils telnet, the HTTP test's server CPython's http.server).
if ! python3 -c "import importlib.metadata as m; assert m.version('telnetlib3') == '2.0.8'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "telnetlib3==2.0.8"
fi
# ja4plus: an independent JA4 implementation (pure Python, with a wheel; it
# reads captures with the scapy above), the reference of the JA4 test.
if ! python3 -c "import importlib.metadata as m; assert m.version('ja4plus') == '1.4.0'" >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --only-binary=:all: "ja4plus==1.4.0"
fi
