"""PROFINET DCP frames from scapy's independent implementation (scapy.contrib.pnio_dcp),
written to the pcap named by the first argument: an engineering tool identifies the
network, a PLC answers, the tool renames it (permanently) and readdresses it
(temporarily, refused), a device announces itself with Hello.

PN-DCP runs on layer 2 only: there is no loopback socket to carry it, so the frames
are encoded by scapy and written straight to the capture file.
"""
import struct
import sys

from scapy.all import Ether, Raw, wrpcap
from scapy.contrib.pnio import ProfinetIO
from scapy.contrib.pnio_dcp import (
    DCPControlBlock,
    DCPDeviceIDBlock,
    DCPDeviceRoleBlock,
    DCPIPBlock,
    DCPManufacturerSpecificBlock,
    DCPNameOfStationBlock,
    ProfinetDCP,
)

TOOL = "02:00:00:00:00:01"
PLC = "02:00:00:00:00:02"
IO_DEVICE = "02:00:00:00:00:03"
MULTICAST = "01:0e:cf:00:00:00"


def frame(src, dst, frame_id, payload):
    return Ether(src=src, dst=dst, type=0x8892) / ProfinetIO(frameID=frame_id) / payload


def request(service_id, xid, value_len, **fields):
    """A request with one block, as scapy encodes it; scapy leaves the block
    length and DCPDataLength to the caller (a Set block counts its qualifier)."""
    block_len = value_len + (2 if service_id == 4 else 0)
    data_len = 4 + block_len + block_len % 2
    return ProfinetDCP(service_id=service_id, service_type=0, xid=xid, dcp_block_length=block_len,
                       dcp_data_length=data_len, **fields)


def with_blocks(service_id, service_type, xid, blocks):
    """Responses (and a Hello) carry a list of blocks: scapy encodes each block;
    the header is packed here, since scapy's DCP header only encodes blocks for
    responses."""
    data = b"".join(bytes(b) for b in blocks)
    return Raw(struct.pack(">BBIHH", service_id, service_type, xid, 0, len(data)) + data)


def sized(block_class, value_len, **fields):
    """A block with its length (BlockInfo and value) and its padding byte only
    when that length is odd: scapy's blocks take both from the caller."""
    length = 2 + value_len
    return block_class(dcp_block_length=length, padding=b"\x00" * (length % 2), **fields)


def identity_blocks(name, kind, device_id, role, ip):
    return [
        sized(DCPManufacturerSpecificBlock, len(kind), device_vendor_value=kind),
        sized(DCPNameOfStationBlock, len(name), name_of_station=name),
        sized(DCPDeviceIDBlock, 4, vendor_id=0x002A, device_id=device_id),
        sized(DCPDeviceRoleBlock, 2, device_role_details=role),
        sized(DCPIPBlock, 12, ip=ip, netmask="255.255.255.0", gateway="10.0.0.1"),
    ]


frames = [
    # Identify, all devices (multicast).
    frame(TOOL, MULTICAST, 0xFEFE, request(5, 0x1001, 0, option=0xFF, sub_option=0xFF)),
    # The PLC answers: an IO controller.
    frame(PLC, TOOL, 0xFEFF,
          with_blocks(5, 1, 0x1001, identity_blocks(b"plc-line-3", b"S7-1500", 0x0E0F, 0x02, "10.0.0.7"))),
    # Rename it, permanently.
    frame(TOOL, PLC, 0xFEFD,
          request(4, 0x1002, 10, option=2, sub_option=2, block_qualifier=1, name_of_station=b"plc-line-4")),
    # Accepted.
    frame(PLC, TOOL, 0xFEFD,
          with_blocks(4, 1, 0x1002, [DCPControlBlock(response=2, response_sub_option=2, block_error=0)])),
    # Readdress it, temporarily.
    frame(TOOL, PLC, 0xFEFD, request(4, 0x1003, 12, option=1, sub_option=2, block_qualifier=0,
                                     ip="10.0.0.8", netmask="255.255.255.0", gateway="10.0.0.1")),
    # Refused: the PLC is in operation.
    frame(PLC, TOOL, 0xFEFD,
          with_blocks(4, 1, 0x1003, [DCPControlBlock(response=1, response_sub_option=2, block_error=6)])),
    # An IO device announces itself after power on.
    frame(IO_DEVICE, MULTICAST, 0xFEFC,
          with_blocks(6, 0, 0x2001, identity_blocks(b"io-rack-7", b"ET 200SP", 0x0313, 0x01, "10.0.0.21"))),
]
wrpcap(sys.argv[1], frames)
print(f"wrote {len(frames)} frames")
