"""NetBIOS name service and browser packets from scapy's independent
implementation (scapy.layers.netbios, scapy.layers.smb), written to the pcap
named by the first argument: an HMI registers its names (EWS-3<00>, EWS-3<20>,
the workgroup PLANT<00> as a group), a WINS server answers a query for a
domain controller's name, a host answers a node status request with its name
table and MAC, and the HMI broadcasts a browser host announcement, with a
local master announcement from the domain's master browser and
a host announcement from the domain controller.

NBNS and the browser run on broadcasts to UDP 137/138, which Samba's nmbd
only serves on broadcast-capable interfaces, not loopback: the packets are
encoded by scapy and written straight to the capture file.
"""
import sys

from scapy.all import IP, UDP, Ether, wrpcap
from scapy.layers.netbios import (
    NBNS_ADD_ENTRY,
    NBNSHeader,
    NBNSNodeStatusRequest,
    NBNSNodeStatusResponse,
    NBNSNodeStatusResponseService,
    NBNSQueryRequest,
    NBNSQueryResponse,
    NBNSRegistrationRequest,
    NBTDatagram,
)
from scapy.layers.smb import SMB_Header, SMBMailslot_Write, BRWS_HostAnnouncement, BRWS_LocalMasterAnnouncement

HMI, HMI_MAC = "10.30.0.21", "02:00:00:00:30:21"
WINS, WINS_MAC = "10.30.0.2", "02:00:00:00:30:02"
DC, DC_MAC = "10.30.0.5", "02:00:00:00:30:05"
MASTER, MASTER_MAC = "10.30.0.9", "02:00:00:00:30:09"
BCAST = "10.30.0.255"


def udp(src, mac, dst, sport, dport, payload):
    return Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport) / payload


def registration(tid, name, suffix, group):
    return NBNSHeader(NAME_TRN_ID=tid, OPCODE=5, NM_FLAGS=0x11, QDCOUNT=1, ARCOUNT=1) / NBNSRegistrationRequest(
        QUESTION_NAME=name, SUFFIX=suffix, RR_NAME=0xC00C, G=group, NB_ADDRESS=HMI)


def announcement(cls, src, server, dst_name, dst_suffix, server_type, comment):
    browser = cls(ServerName=server, OSVersionMajor=10, OSVersionMinor=0, ServerType=server_type, Comment=comment)
    smb = SMB_Header(Command=0x25) / SMBMailslot_Write(Name=b"\\MAILSLOT\\BROWSE", Buffer=[("Data", browser)])
    dgm = NBTDatagram(Type=0x11, Flags=0x02, ID=0x4242, SourceIP=src, SourcePort=138, SourceName=server,
                      SUFFIX1=0x4141, DestinationName=dst_name, SUFFIX2=dst_suffix)
    return dgm / smb


def main():
    out = sys.argv[1]
    node_status = NBNSNodeStatusResponse(
        RR_NAME="*", SUFFIX=0x4141, NUM_NAMES=3, MAC_ADDRESS=HMI_MAC, RDLENGTH=1 + 3 * 18 + 46,
        STATISTICS=b"\0" * 40,  # the 46 bytes of statistics (RFC 1002 4.2.18) start with the MAC
        NODE_NAME=[
            NBNSNodeStatusResponseService(NETBIOS_NAME="EWS-3", SUFFIX=0x00, NAME_FLAGS=0x04),
            NBNSNodeStatusResponseService(NETBIOS_NAME="PLANT", SUFFIX=0x00, NAME_FLAGS=0x84),
            NBNSNodeStatusResponseService(NETBIOS_NAME="EWS-3", SUFFIX=0x20, NAME_FLAGS=0x04),
        ])
    packets = [
        # The HMI registers its workstation and file server names, and joins PLANT.
        udp(HMI, HMI_MAC, BCAST, 137, 137, registration(0x0101, "EWS-3", 0x4141, 0)),  # <00>
        udp(HMI, HMI_MAC, BCAST, 137, 137, registration(0x0102, "EWS-3", 0x4341, 0)),  # <20>
        udp(HMI, HMI_MAC, BCAST, 137, 137, registration(0x0103, "PLANT", 0x4141, 1)),  # <00> group
        # The HMI asks the WINS server for PLANT's domain controllers (<1C>); WINS answers.
        udp(HMI, HMI_MAC, WINS, 137, 137,
            NBNSHeader(NAME_TRN_ID=0x0201, NM_FLAGS=0x10, QDCOUNT=1) / NBNSQueryRequest(QUESTION_NAME="PLANT", SUFFIX=0x424D)),
        udp(WINS, WINS_MAC, HMI, 137, 137,
            NBNSHeader(NAME_TRN_ID=0x0201, RESPONSE=1, NM_FLAGS=0x50, ANCOUNT=1)
            / NBNSQueryResponse(RR_NAME="PLANT", SUFFIX=0x424D, ADDR_ENTRY=[NBNS_ADD_ENTRY(G=1, NB_ADDRESS=DC)])),
        # The WINS server asks the HMI for its node status; the HMI answers.
        udp(WINS, WINS_MAC, HMI, 137, 137,
            NBNSHeader(NAME_TRN_ID=0x0301, QDCOUNT=1) / NBNSNodeStatusRequest(QUESTION_NAME="*", SUFFIX=0x4141)),
        udp(HMI, HMI_MAC, WINS, 137, 137,
            NBNSHeader(NAME_TRN_ID=0x0301, RESPONSE=1, NM_FLAGS=0x40, ANCOUNT=1) / node_status),
        # Browser announcements: the HMI to PLANT<1D>, the master browser to PLANT<1E>.
        udp(HMI, HMI_MAC, BCAST, 138, 138,
            announcement(BRWS_HostAnnouncement, HMI, "EWS-3", "PLANT", 0x424E, 0x00011003, "line 3 HMI")),
        udp(MASTER, MASTER_MAC, BCAST, 138, 138,
            announcement(BRWS_LocalMasterAnnouncement, MASTER, "FS-1", "PLANT", 0x424F, 0x00059203, "")),
        # The domain controller announces itself too (workstation, server,
        # domain controller, time source, NT workstation, NT server).
        udp(DC, DC_MAC, BCAST, 138, 138,
            announcement(BRWS_HostAnnouncement, DC, "DC-1", "PLANT", 0x424E, 0x0000902B, "")),
    ]
    wrpcap(out, packets)


if __name__ == "__main__":
    main()
