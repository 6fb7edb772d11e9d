"""LLDP frames from scapy's independent implementation (scapy.contrib.lldp),
written to the pcap named by the first argument: an industrial switch
announcing itself (MAC chassis ID, interface-name port ID, its system name
and description, bridge capability enabled, an IPv4 management address), a
PLC announcing itself as a station only, and an LLDPDU without its mandatory
TTL TLV.

LLDP runs on layer 2 only (EtherType 0x88CC to a bridge-filtered multicast):
no loopback socket carries it, so the frames are encoded by scapy and written
straight to the capture file.
"""
import sys

from scapy.all import Ether, wrpcap
from scapy.contrib.lldp import (
    LLDPDUChassisID,
    LLDPDUEndOfLLDPDU,
    LLDPDUManagementAddress,
    LLDPDUPortID,
    LLDPDUSystemCapabilities,
    LLDPDUSystemDescription,
    LLDPDUSystemName,
    LLDPDUTimeToLive,
)

LLDP_MULTICAST = "01:80:c2:00:00:0e"
SWITCH = "02:00:00:00:cc:01"
PLC = "02:00:00:00:cc:02"
BROKEN = "02:00:00:00:cc:03"


def lldp(src, tlvs):
    return Ether(dst=LLDP_MULTICAST, src=src, type=0x88CC) / tlvs


frames = [
    lldp(
        SWITCH,
        LLDPDUChassisID(subtype=0x04, id=SWITCH)
        / LLDPDUPortID(subtype=0x05, id=b"Port 3")
        / LLDPDUTimeToLive(ttl=120)
        / LLDPDUSystemName(system_name=b"sw-cell3")
        / LLDPDUSystemDescription(
            description=b"SIEMENS, SIMATIC NET, SCALANCE X208, 6GK5 208-0BA10-2AA3, HW: 4, FW: V4.1.0"
        )
        / LLDPDUSystemCapabilities(mac_bridge_available=1, mac_bridge_enabled=1)
        / LLDPDUManagementAddress(
            management_address_subtype=0x01, management_address=b"\x0a\x0a\x00\x02", interface_numbering_subtype=2,
            interface_number=3,
        )
        / LLDPDUEndOfLLDPDU(),
    ),
    lldp(
        PLC,
        LLDPDUChassisID(subtype=0x04, id=PLC)
        / LLDPDUPortID(subtype=0x05, id=b"port-001.plc-s7-1500")
        / LLDPDUTimeToLive(ttl=20)
        / LLDPDUSystemName(system_name=b"plc-s7-1500")
        / LLDPDUSystemDescription(description=b"Siemens, SIMATIC S7, CPU 1516-3 PN/DP, 6ES7 516-3AN01-0AB0, FW: V2.8.3")
        / LLDPDUSystemCapabilities(station_only_available=1, station_only_enabled=1)
        / LLDPDUEndOfLLDPDU(),
    ),
    # No TTL TLV: not a valid LLDPDU (IEEE 802.1AB: chassis ID, port ID, TTL first).
    lldp(
        BROKEN,
        LLDPDUChassisID(subtype=0x04, id=BROKEN)
        / LLDPDUPortID(subtype=0x05, id=b"eth0")
        / LLDPDUSystemName(system_name=b"no-ttl")
        / LLDPDUEndOfLLDPDU(),
    ),
]
wrpcap(sys.argv[1], frames)
print(f"wrote {len(frames)} frames")
