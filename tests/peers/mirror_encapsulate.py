#!/usr/bin/env python3
"""Writes a capture as a remote sensor would receive it: every frame of the
input wrapped, by scapy, in the mirror encapsulation named, from a switch
(10.99.0.1) to the sensor (10.99.0.2).

  erspan1       GRE 0x88BE, no sequence number, no ERSPAN header
  erspan2       GRE 0x88BE with sequence numbers and ERSPAN II headers; a
                tagged frame's tag is taken off and its VLAN named in the
                header instead (an access port's session)
  erspan3       GRE 0x22EB, ERSPAN III headers with the platform-specific
                subheader, every outer packet cut into 48-byte IP fragments
  gre_ethernet  GRE 0x6558 (transparent Ethernet bridging), with a key
  vxlan         UDP to 4789, VNI 100
  gre_ip        not a mirror: the IP packets alone (ARP left out), routed
                through a GRE tunnel between the two
  mpls_ip       not a mirror either: the IP packets alone (ARP left out),
                each behind a two-label MPLS stack (a layer-3 VPN on a
                provider link), from one router to the next
  mpls_pw       every frame behind two labels and a control word (an
                Ethernet pseudowire, RFC 4448), router to router
  mpls_pw_nocw  the same without the control word (label 299777)
  mpls_gre      the IP packets alone behind one label, in GRE (MPLS over
                GRE, RFC 4023) between the two
  hsr           every frame as an HSR ring (IEC 62439-3) carries it: an HSR
                tag after the MAC addresses (and after the VLAN tag, if any)
                with the sender's sequence number, written twice, once per
                direction round the ring (path 0, then path 1)
  prp_a, prp_b  every frame as a PRP node (IEC 62439-3) sends it on LAN A or
                on LAN B: with a redundancy control trailer (the sender's
                sequence number, the LAN, the size) after it, the frame padded
                to 60 bytes first

Usage: mirror_encapsulate.py IN.pcap OUT.pcap ENCAPSULATION
"""
import sys

from scapy.all import IP, UDP, Dot1Q, Ether, IPv6, PcapReader, PcapWriter, fragment
from scapy.contrib.erspan import ERSPAN_I, ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.mpls import MPLS, EoMCW
from scapy.layers.l2 import GRE
from scapy.layers.vxlan import VXLAN

SWITCH = Ether(src="00:1e:f6:00:00:01", dst="00:1e:f6:00:00:02") / IP(src="10.99.0.1", dst="10.99.0.2")
ROUTER = Ether(src="00:1e:f6:00:00:01", dst="00:1e:f6:00:00:02", type=0x8847)


def untag(frame):
    """The frame without its 802.1Q tag, as an ERSPAN II session of an access port sends it."""
    if Dot1Q in frame:
        inner = frame[Dot1Q].payload
        return Ether(src=frame.src, dst=frame.dst, type=frame[Dot1Q].type) / inner
    return frame


HSR_SEQUENCE = {}


def hsr(frame):
    """The frame's two HSR copies (scapy has no HSR layer: the tag is six bytes)."""
    raw = bytes(frame)
    at = 16 if raw[12:14] == b"\x81\x00" else 12
    src = raw[6:12]
    seq = HSR_SEQUENCE.get(src, 0)
    HSR_SEQUENCE[src] = (seq + 1) % 65536
    lsdu = len(raw) - at - 2 + 6
    copies = []
    for path in (0, 1):
        tag = (0x892F).to_bytes(2, "big") + ((path << 12) | lsdu).to_bytes(2, "big") + seq.to_bytes(2, "big")
        copies.append(Ether(raw[:at] + tag + raw[at:]))
    return copies


PRP_SEQUENCE = {}


def prp(frame, lan):
    """The frame with its PRP trailer; the sequence numbers are each sender's
    count of its frames, so LAN A's and LAN B's copies of a frame agree."""
    raw = bytes(frame)
    src = raw[6:12]
    seq = PRP_SEQUENCE.get(src, 0)
    PRP_SEQUENCE[src] = (seq + 1) % 65536
    raw = raw + b"\x00" * max(0, 60 - len(raw))
    header = 18 if raw[12:14] == b"\x81\x00" else 14
    size = len(raw) - header + 6
    trailer = seq.to_bytes(2, "big") + ((lan << 12) | size).to_bytes(2, "big") + b"\x88\xfb"
    return [Ether(raw + trailer)]


def wrap(kind, frame, n):
    if kind == "erspan1":
        return [SWITCH / GRE(proto=0x88BE) / ERSPAN_I() / frame]
    if kind == "erspan2":
        vlan = frame[Dot1Q].vlan if Dot1Q in frame else 0
        return [
            SWITCH
            / GRE(proto=0x88BE, seqnum_present=1, seqence_number=n)
            / ERSPAN_II(vlan=vlan, session_id=7, index=n)
            / untag(frame)
        ]
    if kind == "erspan3":
        outer = (
            SWITCH
            / GRE(proto=0x22EB, seqnum_present=1, seqence_number=n)
            / ERSPAN_III(session_id=7, timestamp=n, o=1)
            / ERSPAN_PlatformSpecific(platf_id=3, info1=1, info2=2)
            / frame
        )
        return fragment(outer, fragsize=48)
    if kind == "gre_ethernet":
        return [SWITCH / GRE(proto=0x6558, key_present=1, key=42) / frame]
    if kind == "gre_ip":
        if IP in frame:
            return [SWITCH / GRE(proto=0x0800) / frame[IP]]
        if IPv6 in frame:
            return [SWITCH / GRE(proto=0x86DD) / frame[IPv6]]
        return []
    if kind == "mpls_ip":
        if IP in frame or IPv6 in frame:
            inner = frame[IP] if IP in frame else frame[IPv6]
            return [ROUTER / MPLS(label=16001, s=0, ttl=64) / MPLS(label=24, s=1, ttl=63) / inner]
        return []
    if kind == "mpls_pw":
        return [ROUTER / MPLS(label=16001, s=0, ttl=64) / MPLS(label=299776, s=1, ttl=255) / EoMCW(seq=n % 65536) / frame]
    if kind == "mpls_gre":
        if IP in frame or IPv6 in frame:
            inner = frame[IP] if IP in frame else frame[IPv6]
            return [SWITCH / GRE(proto=0x8847) / MPLS(label=24, s=1, ttl=63) / inner]
        return []
    if kind == "mpls_pw_nocw":
        return [ROUTER / MPLS(label=16001, s=0, ttl=64) / MPLS(label=299777, s=1, ttl=255) / frame]
    if kind == "hsr":
        return hsr(frame)
    if kind in ("prp_a", "prp_b"):
        return prp(frame, 0xA if kind == "prp_a" else 0xB)
    if kind == "vxlan":
        return [SWITCH / UDP(sport=49152 + n % 1000, dport=4789) / VXLAN(vni=100, flags=0x08) / frame]
    raise SystemExit(f"unknown encapsulation {kind}")


def main():
    src, dst, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    out = PcapWriter(dst, linktype=1, sync=True)
    for n, frame in enumerate(PcapReader(src)):
        for p in wrap(kind, Ether(bytes(frame)), n):
            p.time = frame.time
            out.write(p)
    out.close()


if __name__ == "__main__":
    main()
