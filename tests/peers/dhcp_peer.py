"""DHCP from an independent server on loopback: Debian's dnsmasq leases
127.0.0.100-150 on lo with its server port moved to PORT (and its client port
to PORT + 1, `--dhcp-alternate-port`), so nothing touches 67 and the probe,
not the port, must find DHCP. A client cannot broadcast on lo, so it speaks as
a relay agent does (giaddr 127.0.0.2, bound to 127.0.0.2:PORT, where dnsmasq
answers relays); its messages are encoded by scapy's BOOTP/DHCP layers:
DISCOVER (host name, vendor class, parameter request list, client id),
REQUEST of the offered address, and RELEASE. Prints the offered and acked
addresses.

    python3 dhcp_peer.py PORT
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from scapy.all import BOOTP, DHCP, raw

MAC = bytes.fromhex("020000aabbcc")
OPTIONS = [
    ("hostname", "plc-eng-01"),
    ("vendor_class_id", "MSFT 5.0"),
    ("client_id", b"\x01" + MAC),
    ("param_req_list", [1, 3, 6, 15]),
]


def option(reply, name):
    return next((v for o in reply[DHCP].options if isinstance(o, tuple) for k, v in [o[:2]] if k == name), None)


def main():
    port = int(sys.argv[1])
    tmp = tempfile.mkdtemp()
    server = subprocess.Popen(
        [
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--interface=lo", "--bind-interfaces",
            "--no-ping", "--dhcp-authoritative", f"--dhcp-alternate-port={port},{port + 1}",
            "--dhcp-range=127.0.0.100,127.0.0.150,255.0.0.0,1h",
            f"--dhcp-leasefile={tmp}/leases", f"--pid-file={tmp}/pid",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        relay.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        relay.bind(("127.0.0.2", port))
        relay.settimeout(0.5)

        def ask(kind, xid, extra, ciaddr="0.0.0.0", answer=True):
            msg = BOOTP(op=1, chaddr=MAC, xid=xid, giaddr="127.0.0.2", hops=1, ciaddr=ciaddr) / DHCP(
                options=[("message-type", kind)] + extra + OPTIONS + ["end"]
            )
            relay.sendto(raw(msg), ("127.0.0.1", port))
            if not answer:
                return None
            data, _ = relay.recvfrom(2048)
            return BOOTP(data)

        # dnsmasq prints nothing when ready: ask until it answers (each
        # unanswered DISCOVER is in the capture too, and counted as such).
        offer = None
        for attempt in range(40):
            try:
                offer = ask("discover", 0x1000 + attempt, [])
                break
            except socket.timeout:
                continue
        if offer is None:
            sys.exit("dnsmasq never answered: " + server.stderr.read1().decode(errors="replace"))
        print("offer:", offer.yiaddr, flush=True)
        server_id = option(offer, "server_id")
        ack = ask("request", 0x2000, [("requested_addr", offer.yiaddr), ("server_id", server_id)])
        print("ack:", option(ack, "message-type"), ack.yiaddr, flush=True)
        ask("release", 0x3000, [("server_id", server_id)], ciaddr=ack.yiaddr, answer=False)
        time.sleep(0.2)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


main()
