#!/usr/bin/env python3
"""Sends TLS ClientHellos that no library on the test machine writes to
127.0.0.1:PORT, one connection each, for the JA4 cross-check: GREASE values
among ciphers, extensions, groups and versions (as browsers send them), more
than 99 ciphers, an ALPN value whose first or last character is not
alphanumeric, one that is not ASCII, no SNI, no signature algorithms, and a
hello with no extensions at all. The server may answer or refuse: only the
ClientHello matters.

Usage: tls_hellos.py PORT
"""
import socket
import struct
import sys
import time


def u8(v):
    return struct.pack("!B", v)


def u16(v):
    return struct.pack("!H", v)


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(kind, body=b""):
    return u16(kind) + vec16(body)


def sni(name):
    entry = u8(0) + vec16(name.encode())
    return ext(0x0000, vec16(entry))


def alpn(*protocols):
    return ext(0x0010, vec16(b"".join(vec8(p) for p in protocols)))


def groups(*g):
    return ext(0x000A, vec16(b"".join(u16(x) for x in g)))


def sig_algs(*a):
    return ext(0x000D, vec16(b"".join(u16(x) for x in a)))


def versions(*v):
    return ext(0x002B, vec8(b"".join(u16(x) for x in v)))


def key_share(group, key):
    return ext(0x0033, vec16(u16(group) + vec16(key)))


def hello(ciphers, extensions, legacy_version=0x0303):
    body = u16(legacy_version) + bytes(range(32)) + vec8(bytes(32))
    body += vec16(b"".join(u16(c) for c in ciphers)) + vec8(b"\x00")
    if extensions is not None:
        body += vec16(b"".join(extensions))
    handshake = u8(1) + struct.pack("!I", len(body))[1:] + body
    return u8(0x16) + u16(0x0301) + vec16(handshake)


SIGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)

HELLOS = [
    # A browser's shape: GREASE first among ciphers, extensions, groups and
    # versions, and one GREASE extension with a byte at the end.
    hello(
        [0x3A3A, 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C],
        [
            ext(0xDADA),
            sni("historian.plant"),
            ext(0x0017),
            ext(0xFF01, b"\x00"),
            groups(0x8A8A, 0x001D, 0x0017, 0x0018),
            ext(0x000B, vec8(b"\x00")),
            ext(0x0023),
            alpn(b"h2", b"http/1.1"),
            ext(0x0005, b"\x01\x00\x00\x00\x00"),
            sig_algs(*SIGS),
            ext(0x0012),
            key_share(0x001D, bytes(32)),
            ext(0x002D, vec8(b"\x01")),
            versions(0x5A5A, 0x0304, 0x0303),
            ext(0x001B, vec8(b"\x00\x02")),
            ext(0x4A4A, b"\x00"),
        ],
    ),
    # 120 ciphers (JA4 counts at most 99), no SNI, an ALPN value that starts
    # and ends with punctuation, TLS 1.2 by the legacy field alone.
    hello(
        list(range(0x0001, 0x0079)),
        [alpn(b"_x!"), groups(0x0017), sig_algs(0x0401, 0x0201)],
    ),
    # An ALPN value that is not ASCII, no signature algorithms, TLS 1.1 offered.
    hello([0x002F, 0x0035, 0x000A], [sni("rtu-7.plant"), alpn(b"\xab\xcd\x01"), versions(0x0302, 0x0301)], 0x0302),
    # A one-character ALPN value.
    hello([0xC02F, 0x1301], [sni("plc.plant"), alpn(b"a"), sig_algs(0x0804), versions(0x0304)]),
    # No extensions at all (the extensions block is absent), TLS 1.0.
    hello([0x002F, 0x0035], None, 0x0301),
]


def main():
    port = int(sys.argv[1])
    for h in HELLOS:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(h)
            s.settimeout(0.5)
            try:
                s.recv(65536)
            except OSError:
                pass
        time.sleep(0.1)


if __name__ == "__main__":
    main()
