#!/usr/bin/env python3
"""Writes a capture with N distinct UDP flows, one packet each (a scan or flood),
to show that the flow table's memory follows --flow-memory, not the capture.

    scripts/make-flood-capture.py OUT [N]   (default 2,000,000 flows)
"""
import struct, sys

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
eth = bytes.fromhex("001b1b000014" "00d0c900001e" "0800")
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i in range(n):
        src = 0x0A000000 | (i >> 16)  # 10.x.y.0/8 sources
        sport = 1024 + (i & 0xFFFF) % 60000
        udp = struct.pack(">HHHH", sport, 20000, 8 + 4, 0) + b"flow"
        ip = struct.pack(">BBHHHBBHII", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, 0xC0A80A14) + udp
        frame = eth + ip
        ts = 1_700_000_000 + i // 100_000
        f.write(struct.pack("<IIII", ts, (i % 100_000) * 10, len(frame), len(frame)))
        f.write(frame)
