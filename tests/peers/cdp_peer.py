"""CDP frames from scapy's independent implementation (scapy.contrib.cdp),
written to the pcap named by the first argument: an industrial router
announcing itself (multi-line software version, IPv4 and IPv6 addresses,
router, switch and IGMP capabilities, VTP domain, native VLAN, duplex, a
management address), an IP phone (host and VoIP phone), a switch whose
checksum is wrong, and a spanning tree BPDU (802.2 LLC without SNAP).

CDP runs on layer 2 only (IEEE 802.3 with an 802.2 SNAP header): no loopback
socket carries it, so the frames are encoded by scapy and written straight to
the capture file. scapy computes the checksum (with Cisco's odd-length rule).
"""
import sys

from scapy.all import LLC, SNAP, STP, Dot3, wrpcap
from scapy.contrib.cdp import (
    CDPAddrRecordIPv4,
    CDPAddrRecordIPv6,
    CDPMsgAddr,
    CDPMsgCapabilities,
    CDPMsgDeviceID,
    CDPMsgDuplex,
    CDPMsgMgmtAddr,
    CDPMsgNativeVLAN,
    CDPMsgPlatform,
    CDPMsgPortID,
    CDPMsgSoftwareVersion,
    CDPMsgVTPMgmtDomain,
    CDPv2_HDR,
)

CDP_MULTICAST = "01:00:0c:cc:cc:cc"
ROUTER = "02:00:00:00:0c:01"
PHONE = "02:00:00:00:0c:02"
SWITCH = "02:00:00:00:0c:03"

SOFTWARE = (
    b"Cisco IOS XE Software, Version 17.06.04\n"
    b"Cisco IOS Software [Bengaluru], IR1101 Software (ARMV8EB_LINUX_IOSD-UNIVERSALK9_IOT-M), "
    b"Version 17.6.4, RELEASE SOFTWARE (fc1)\n"
    b"Technical Support: http://www.cisco.com/techsupport\n"
    b"Copyright (c) 1986-2022 by Cisco Systems, Inc."
)


def cdp(src, messages, **header):
    return Dot3(dst=CDP_MULTICAST, src=src) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0x00000C, code=0x2000) / \
        CDPv2_HDR(vers=2, ttl=180, msg=messages, **header)


frames = [
    cdp(ROUTER, [
        CDPMsgDeviceID(val=b"rtr-substation-1.example.net"),
        CDPMsgSoftwareVersion(val=SOFTWARE),
        CDPMsgPlatform(val=b"cisco IR1101-K9"),
        CDPMsgAddr(addr=[CDPAddrRecordIPv4(addr="10.20.0.1"), CDPAddrRecordIPv6(addr="fd00:20::1")]),
        CDPMsgPortID(iface=b"GigabitEthernet0/0/0"),
        CDPMsgCapabilities(cap=0x29),  # router, switch, IGMP
        CDPMsgVTPMgmtDomain(val=b"OT-SUBSTATION"),
        CDPMsgNativeVLAN(vlan=20),
        CDPMsgDuplex(duplex=1),
        CDPMsgMgmtAddr(addr=[CDPAddrRecordIPv4(addr="10.20.0.254")]),
    ]),
    cdp(PHONE, [
        CDPMsgDeviceID(val=b"SEP001122334455"),
        CDPMsgSoftwareVersion(val=b"sip88xx.14-1-1-0001-136"),
        CDPMsgPlatform(val=b"Cisco IP Phone 8841"),
        CDPMsgPortID(iface=b"Port 1"),
        CDPMsgCapabilities(cap=0x90),  # host, VoIP phone
    ]),
    cdp(SWITCH, [
        CDPMsgDeviceID(val=b"sw-bad-checksum"),
        CDPMsgPlatform(val=b"cisco IE-4000-8GT4G-E"),
        CDPMsgCapabilities(cap=0x28),
    ], cksum=0x1234),
    Dot3(dst="01:80:c2:00:00:00", src=SWITCH) / LLC(dsap=0x42, ssap=0x42, ctrl=3) / STP(),
]
wrpcap(sys.argv[1], frames)
print(f"wrote {len(frames)} frames")
