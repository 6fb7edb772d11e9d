#!/usr/bin/env python3
"""Builds seed corpora for the fuzz targets from the real captures in ../shared/pcaps
and the project's sample capture.

capture_file: whole small capture files (and a gzip of one).
packet_decode: one seed per capture: a link-type selector byte, then up to 64
frames joined by the 0xA5 separator the target splits on.
enip: one seed per capture with EtherNet/IP over TCP (port 44818): up to 64
payloads in the target's chunk format (a control byte, bit 7 = to client, low
6 bits = length, then up to 63 bytes).
iec104: the same for IEC 60870-5-104 (port 2404), one seed per 64 payloads.
ads: the same for ADS over AMS/TCP (port 48898), up to 8 seeds per capture, and
one more of the TwinCAT router service's datagrams (UDP 48899).
c37118: the same for IEEE C37.118 over TCP (port 4712).
modbus, s7comm, mms: the same for Modbus/TCP (port 502), S7comm and MMS (port 102), one
seed per 64 payloads, up to 8 seeds per capture.
dnp3: the same for DNP3 over TCP (port 20000) in the target's wide chunks
(length bits times 8, so each direction's bytes are carried over to its next
chunk to keep whole multiples of 8; frames go as captured, bit 5 clear), up
to 8 seeds per capture.
iec61850: GOOSE and Sampled Values payloads (after the EtherType), up to 8
distinct per capture.
profinet: PROFINET real-time payloads (after the EtherType), up to 16
distinct per capture.
bacnet: the BACnet/IP datagrams of a capture, joined by a zero byte.
lldp: LLDPDUs (after the EtherType), up to 16 distinct per capture.
cdp: what follows the 802.3 length field of CDP frames (LLC, SNAP, CDP), up
to 16 distinct per capture.
snmp: the SNMP datagrams of a capture (UDP payloads that open with a BER
SEQUENCE and version 0, 1 or 3, on any port), joined by the 0xA5 0x5A marker
the target cuts at; the shared captures hold none, so captures given as
arguments (the Net-SNMP peer test's loopback capture) are read for them too.
ssh, rfb, tls, ftp: the first 64 segments of the flows on ports 22, 5900, 443 and 21 of a capture,
in the stream targets' chunk scheme (as enip).
opcua: one seed per OPC UA conversation (found by content: a TCP payload
starting with a Hello, `HELF`, names the server port), in the enip chunk
format; captures given as arguments (the asyncua peer test's loopback capture,
for instance) are read for OPC UA (and SNMP) seeds too:
    scripts/fuzz-seeds.py [EXTRA.pcap ...]
dns: the DNS (53), mDNS (5353) and LLMNR (5355) datagrams of a capture, each
with a 2-byte length, after a mode byte naming the flavour; and the DNS
datagrams again as a DNS-over-TCP stream (mode 1: length-prefixed messages in
the enip chunk format, queries to the server, answers back).
netbios: the name service (137, mode 0) and datagram service (138, mode 1)
datagrams of a capture, each with a 2-byte length.
http, telnet: one seed per conversation found by content — its SYN names the
server port, and its first payload is an HTTP/1.x request or status line, or
a Telnet option negotiation (IAC WILL/WONT/DO/DONT) — in the enip chunk
format; the captures given as arguments (the curl / http.server and
telnetlib3 / inetutils peer tests' loopback captures) are read for them too.
rdp, smb: one seed per conversation found by content (an X.224 connection
request with a cookie or RDP_NEG_REQ; a NetBIOS session request or a session
message holding an SMB header), from the shared captures and the captures
given as arguments (the peer tests' loopback captures: the shared ones hold
little SMB over TCP).
csaf_document: the 16 smallest and 4 largest CISA CSAF advisories from
../shared/intel/csaf, and the crate's own fixtures (crates/intel/tests/fixtures).
cmdb_register: small asset registers (documented columns, a NetBox and a
ServiceNow export, JSON, and one with every kind of bad row).
site_file: the example site files (examples/, samples/) and the posture
test's (crates/otposture/tests/data).
version_range: every distinct product_version / product_version_range name of
the CISA CSAF corpus (../shared/intel/csaf/csaf_files), a zero byte, and an
observed version taken from the text (the target's input format).
run_records: runs of kept operations in both blob formats (the model's
byte-exact test blobs, and a run of firmware-transfer blocks).
"""
import gzip, os, struct, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
shared = os.path.join(root, "..", "shared", "pcaps")
out = os.path.join(root, "fuzz", "corpus")
LINKS = [1, 0, 101, 108, 113, 228, 229, 276]


def as_classic_pcap(path):
    """The file's bytes; a pcapng file with one link type as classic pcap
    (editcap, when it is installed), so its frames seed the targets too."""
    data = open(path, "rb").read()
    if not data.startswith(b"\x0a\x0d\x0d\x0a"):
        return data
    import shutil
    import subprocess
    import tempfile
    if not shutil.which("editcap"):
        return data
    with tempfile.NamedTemporaryFile(suffix=".pcap") as t:
        done = subprocess.run(["editcap", "-F", "pcap", path, t.name], capture_output=True)
        return open(t.name, "rb").read() if done.returncode == 0 else data


def frames_of_pcap(data):
    """Frames of a classic pcap (either byte order); pcapng files are skipped."""
    if len(data) < 24:
        return None, []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None, []
    link = struct.unpack(e + "I", data[20:24])[0]
    off, frames = 24, []
    while off + 16 <= len(data) and len(frames) < 64:
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return link, frames


def ether_payload(f):
    """(EtherType, payload) of an Ethernet frame, past any 802.1Q tags."""
    off = 12
    ethertype = struct.unpack(">H", f[off:off + 2])[0] if len(f) >= 14 else 0
    while ethertype == 0x8100 and len(f) >= off + 6:
        off += 4
        ethertype = struct.unpack(">H", f[off:off + 2])[0]
    return ethertype, f[off + 2:]


def tcp_payloads(link, frames, port):
    """(to_client, payload) of Ethernet/IPv4/TCP frames to or from `port`."""
    out = []
    for f in frames if link == 1 else []:
        ethertype, ip = ether_payload(f)
        if ethertype != 0x0800 or len(ip) < 20 or ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 0x0F) * 4:struct.unpack(">H", ip[2:4])[0]]
        if len(tcp) < 20:
            continue
        sport, dport = struct.unpack(">HH", tcp[0:4])
        payload = tcp[(tcp[12] >> 4) * 4:]
        if payload and port in (sport, dport):
            out.append((sport == port, payload))
    return out


def udp_payloads(link, frames, port):
    """Payloads of Ethernet/IPv4/UDP frames to or from `port` (any port for None)."""
    out = []
    for f in frames if link == 1 else []:
        ethertype, ip = ether_payload(f)
        if ethertype != 0x0800 or len(ip) < 20 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:struct.unpack(">H", ip[2:4])[0]]
        if len(udp) >= 8 and (port is None or port in struct.unpack(">HH", udp[0:4])) and udp[8:]:
            out.append(udp[8:])
    return out


def enip_seed(payloads):
    seed = bytearray()
    for to_client, p in payloads[:64]:
        for i in range(0, len(p), 63):
            chunk = p[i:i + 63]
            seed.append((0x80 if to_client else 0) | len(chunk))
            seed += chunk
    return bytes(seed)


def wide_seed(payloads):
    """`payloads` in the dnp3 target's wide chunks: 8-byte units, up to 248 bytes."""
    seed, carry = bytearray(), {False: b"", True: b""}
    for to_client, p in payloads[:64]:
        data = carry[to_client] + p
        whole = len(data) - len(data) % 8
        carry[to_client] = data[whole:]
        for i in range(0, whole, 248):
            chunk = data[i:min(i + 248, whole)]
            seed.append((0x80 if to_client else 0) | (len(chunk) // 8))
            seed += chunk
    return bytes(seed)


def frames_of_pcap_all(data, limit=2000):
    """Like frames_of_pcap, but further into the capture (EtherNet/IP sessions
    start well after its first frames)."""
    if len(data) < 24:
        return []
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">" if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") else None
    if e is None:
        return []
    off, frames = 24, []
    while off + 16 <= len(data) and len(frames) < limit:
        caplen = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return frames


CMDB_SEEDS = {
    "canonical.csv": (
        "name,mac,ip,serial,vendor,model,firmware,role,site,location,owner,asset_tag,criticality,notes,rack\n"
        "PLC-01,00:1b:1b:0a:00:14,192.168.10.20;192.168.20.20,S C-X4U01,SIEMENS AG,CPU 315-2 PN/DP,V3.2,PLC,North,Cab 3,Ops,A-1,high,\"main, line\nA\",R1\n"
        "HMI-01,00-D0-C9-0A-00-1E,192.168.10.30,,Advantech,,4.1,HMI,North,,,,,,\n"
        "\n"
        "EWS-01,3c52.820a.0032,,N/A,HP,,,EWS,,,,,,,\n"
    ),
    "netbox.csv": (
        "ID,Name,Status,Tenant,Site,Location,Rack,Role,Manufacturer,Type,Platform,Serial number,Asset tag,IPv4 Address,IPv6 Address,Comments\n"
        "1,plc-7,Active,Water,North,Pump house,R2,PLC,Rockwell Automation,1756-L71,,FF00AA11,A-7,10.20.0.7/24,2001:db8::7/64,spare\n"
        "2,sw-1,Active,\u2014,North,,,Switch,Cisco,IE-4000,IOS,,,10.20.0.1/24,\u2014,\n"
    ),
    "servicenow.json": (
        '{"result": [{"name": "PLC-01", "mac_address": "00:1B:1B:0A:00:14", "ip_address": "192.168.10.20", '
        '"manufacturer": {"display_value": "SIEMENS AG", "value": "abc"}, "serial_number": 12345, "sys_class_name": "cmdb_ci_ot_plc"}, '
        '{"name": "HIST-01", "ip_address": ["192.168.10.40", "fe80::1"], "owned_by": null}]}'
    ),
    "bad.csv": (
        "name;MAC;ip;role;serial\n"
        "A;00:1b:1b:00:00:0g;10.0.0.300;toaster;S1\n"
        "B;00:1b:1b:00:00:01\n"
        ";;;;\n"
        "C;00:1b:1b:00:00:01;10.0.0.5/33;plc;s1\n"
        "D;00:1b:1b:00:00:01;10.0.0.6;plc;S1\n"
    ),
}


def cmdb_seeds():
    d = os.path.join(out, "cmdb_register")
    os.makedirs(d, exist_ok=True)
    for name, text in CMDB_SEEDS.items():
        open(os.path.join(d, name), "wb").write(text.encode("utf-8"))
    # Latin-1 bytes: not UTF-8.
    open(os.path.join(d, "latin1.csv"), "wb").write(b"name,notes\nM\xfcller,caf\xe9\n")
    return len(CMDB_SEEDS) + 1


def csaf_seeds():
    d = os.path.join(out, "csaf_document")
    os.makedirs(d, exist_ok=True)
    found = []
    for base, _, names in os.walk(os.path.join(root, "..", "shared", "intel", "csaf")):
        found += [os.path.join(base, n) for n in names if n.startswith("icsa") and n.endswith(".json")]
    found.sort(key=os.path.getsize)
    picked = found[:16] + found[-4:]
    fixtures = os.path.join(root, "crates", "intel", "tests", "fixtures")
    picked += [os.path.join(fixtures, n) for n in sorted(os.listdir(fixtures)) if n.startswith("csaf")]
    for p in picked:
        open(os.path.join(d, os.path.basename(p)), "wb").write(open(p, "rb").read())
    return len(picked)


def l2_payloads(link, frames, ethertypes):
    """Payloads after the EtherType (and any VLAN tags) of Ethernet frames of `ethertypes`."""
    out = []
    for f in frames if link == 1 else []:
        ethertype, payload = ether_payload(f)
        if ethertype in ethertypes:
            out.append(payload)
    return out


def tcp_server_ports(link, frames, pick):
    """Destination ports of the IPv4 TCP segments (header and payload) `pick` accepts."""
    ports = set()
    for f in frames if link == 1 else []:
        ethertype, ip = ether_payload(f)
        if ethertype != 0x0800 or len(ip) < 20 or ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 0x0F) * 4:struct.unpack(">H", ip[2:4])[0]]
        if len(tcp) >= 20 and pick(tcp):
            ports.add(struct.unpack(">H", tcp[2:4])[0])
    return ports


def opcua_ports(link, frames):
    """Server ports of TCP conversations whose client sends a Hello."""
    return tcp_server_ports(link, frames, lambda tcp: tcp[(tcp[12] >> 4) * 4:].startswith(b"HELF"))


def syn_ports(link, frames):
    """Server ports of the TCP conversations whose SYN the capture holds."""
    return tcp_server_ports(link, frames, lambda tcp: tcp[13] & 0x12 == 0x02)


def rdp_start(p):
    # TPKT version 3, X.224 CR (0xE0), then a cookie or an RDP_NEG_REQ.
    return len(p) > 11 and p[0] == 3 and p[5] & 0xF0 == 0xE0 and (p[11:19] == b"Cookie: " or p[11] == 1)


def smb_start(p):
    magic = p[4:8]
    return (p[:1] == b"\x81" and p[4:5] == b"\x20") or (p[:1] == b"\x00" and magic[1:] == b"SMB" and magic[:1] in (b"\xff", b"\xfe"))


def is_http(p):
    line = p.split(b"\n", 1)[0].rstrip(b"\r")
    return line.startswith(b"HTTP/1.") or line[-9:-1] == b" HTTP/1." or p.startswith(b"PRI * HTTP/2.0")


def is_telnet(p):
    return len(p) >= 2 and p[0] == 0xFF and 0xFB <= p[1] <= 0xFE


def content_seeds(files, target, well_known, pred):
    """One seed per conversation of `target`, on its well-known port or found by content."""
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    n = 0
    for f in files:
        data = open(f, "rb").read()
        link, _ = frames_of_pcap(data)
        frames = frames_of_pcap_all(data)
        for port in sorted(syn_ports(link, frames) | set(well_known)):
            payloads = tcp_payloads(link, frames, port)
            if payloads and pred(payloads[0][1]):
                open(os.path.join(d, f"{os.path.basename(f)}.{port}.seed"), "wb").write(enip_seed(payloads))
                n += 1
    return n


def cdp_payloads(link, frames):
    """What follows the 802.3 length of Ethernet frames whose SNAP header names CDP."""
    out = []
    for f in frames if link == 1 else []:
        length, rest = ether_payload(f)
        if length <= 1500 and rest[:8] == bytes.fromhex("aaaa0300000c2000"):
            out.append(rest[:length])
    return out


def is_snmp(p):
    """A BER SEQUENCE, then INTEGER 0, 1 or 3 (short or one-byte long form length)."""
    if len(p) < 5 or p[0] != 0x30:
        return False
    off = 2 if p[1] < 0x80 else 2 + (p[1] & 0x7F)
    return p[off:off + 2] == b"\x02\x01" and p[off + 2:off + 3] in (b"\x00", b"\x01", b"\x03")


def snmp_seeds(files):
    d = os.path.join(out, "snmp")
    os.makedirs(d, exist_ok=True)
    n = 0
    for f in files:
        data = open(f, "rb").read()
        link, frames = frames_of_pcap(data)
        grams = [g for g in udp_payloads(link, frames, None) if is_snmp(g)]
        for i in range(0, len(grams), 16):
            open(os.path.join(d, f"{os.path.basename(f)}.{i // 16}.seed"), "wb").write(b"\xa5\x5a".join(grams[i:i + 16]))
            n += 1
    return n


def opcua_seeds(files):
    d = os.path.join(out, "opcua")
    os.makedirs(d, exist_ok=True)
    n = 0
    for f in files:
        data = open(f, "rb").read()
        link, _ = frames_of_pcap(data)
        frames = frames_of_pcap_all(data)
        for port in sorted(opcua_ports(link, frames)):
            payloads = tcp_payloads(link, frames, port)
            if payloads:
                name = f"{os.path.basename(f)}.{port}.seed"
                open(os.path.join(d, name), "wb").write(enip_seed(payloads))
                n += 1
    return n


def l2_seeds(name, link, frames, target, ethertypes, limit):
    """Writes up to `limit` distinct payloads of `ethertypes` as seeds of `target`; returns how many."""
    seen = []
    for p in l2_payloads(link, frames, ethertypes):
        if p not in seen and len(seen) < limit:
            seen.append(p)
            open(os.path.join(out, target, f"{name}.{len(seen)}.seed"), "wb").write(p)
    return len(seen)


def length_prefixed(grams):
    return b"".join(struct.pack(">H", len(g)) + g for g in grams)


def udp_payloads_dir(link, frames, port):
    """(to_port, payload) of Ethernet/IPv4/UDP frames to or from `port`."""
    out = []
    for f in frames if link == 1 else []:
        ethertype, ip = ether_payload(f)
        if ethertype != 0x0800 or len(ip) < 20 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4:struct.unpack(">H", ip[2:4])[0]]
        if len(udp) >= 8 and port in struct.unpack(">HH", udp[0:4]) and udp[8:]:
            out.append((struct.unpack(">H", udp[2:4])[0] == port, udp[8:]))
    return out


def name_seeds(name, link, frames):
    """Seeds of the dns and netbios targets from one capture; returns (dns, netbios) counts."""
    n_dns = n_nb = 0
    for mode, port in ((0, 53), (2, 5353), (4, 5355)):
        grams = udp_payloads_dir(link, frames, port)
        if grams:
            open(os.path.join(out, "dns", f"{name}.{port}.seed"), "wb").write(bytes([mode]) + length_prefixed([g for _, g in grams]))
            n_dns += 1
        if port == 53 and grams:
            stream = [(not to_server, struct.pack(">H", len(g)) + g) for to_server, g in grams]
            open(os.path.join(out, "dns", f"{name}.tcp.seed"), "wb").write(b"\x01" + enip_seed(stream))
            n_dns += 1
    for mode, port in ((0, 137), (1, 138)):
        grams = udp_payloads(link, frames, port)
        if grams:
            open(os.path.join(out, "netbios", f"{name}.{port}.seed"), "wb").write(bytes([mode]) + length_prefixed(grams))
            n_nb += 1
    return n_dns, n_nb


def version_range_seeds():
    """One seed per distinct CSAF version or range name: name, 0, a version."""
    import json, re
    csaf = os.path.join(root, "..", "shared", "intel", "csaf", "csaf_files")
    d = os.path.join(out, "version_range")
    os.makedirs(d, exist_ok=True)
    names = set()

    def walk(branches):
        for b in branches or []:
            if b.get("category") in ("product_version", "product_version_range"):
                names.add(b.get("name", ""))
            walk(b.get("branches"))

    for dirpath, _, files in os.walk(csaf):
        for f in files:
            if f.endswith(".json"):
                with open(os.path.join(dirpath, f), encoding="utf-8") as fh:
                    walk(json.load(fh).get("product_tree", {}).get("branches"))
    for i, name in enumerate(sorted(names)):
        m = re.search(r"[A-Za-z]{0,2}\d+(?:[._]\d+)*", name)
        observed = m.group(0) if m else "V1.0"
        with open(os.path.join(d, f"csaf-{i:05}.seed"), "wb") as fh:
            fh.write(name.encode("utf-8") + b"\0" + observed.encode("utf-8"))
    return len(names)


def site_seeds():
    d = os.path.join(out, "site_file")
    os.makedirs(d, exist_ok=True)
    picked = [os.path.join(root, "examples", "site.toml"), os.path.join(root, "samples", "plant-cell.site.toml"),
              os.path.join(root, "crates", "otposture", "tests", "data", "shared-captures.site.toml")]
    for p in picked:
        open(os.path.join(d, os.path.basename(p)), "wb").write(open(p, "rb").read())
    return len(picked)


def run_records_seeds():
    d = os.path.join(out, "run_records")
    os.makedirs(d, exist_ok=True)
    unit, address = b"\x07unit_id", b"\x07address"
    v1 = b"\x01\xd0\x0f\x0a\x02\x00" + unit + b"\x011\x00" + address + b"\x0240\xc7\x01\x04\x01\x02\x0241"
    v2 = b"\x02\xd0\x0f\x0a\x02\x00" + unit + b"\x011\x00" + address + b"\x0240\xc7\x01\x04\x01\x04\x0241\x64\x02\x02\x03\x05"
    # A firmware image's blocks: the first names its four values, the rest repeat them.
    keys = [(b"message", b"request"), (b"service", b"0x4d"), (b"class", b"0xa1"), (b"instance", b"1")]
    nvs = b"\x02\x80\x94\xeb\xdc\x03\x02\x04" + b"".join(b"\x00" + bytes([len(k)]) + k + bytes([len(v)]) + v for k, v in keys)
    nvs += b"\xa0\x1f\x04\x04\x03\x05\x07\x09" * 40
    for name, blob in (("format1", v1), ("format2", v2), ("nvs", nvs)):
        open(os.path.join(d, f"{name}.seed"), "wb").write(blob)
    return 3


def controller_seeds(files):
    """Modbus/TCP, S7comm, MMS and DNP3 stream seeds: {target: count}. S7comm
    and MMS share port 102, so each target starts from both protocols."""
    counts = {}
    for target, port, seed_of in (("modbus", 502, enip_seed), ("s7comm", 102, enip_seed), ("mms", 102, enip_seed), ("dnp3", 20000, wide_seed)):
        os.makedirs(os.path.join(out, target), exist_ok=True)
        counts[target] = 0
        for f in files:
            data = open(f, "rb").read()
            link, _ = frames_of_pcap(data)
            payloads = tcp_payloads(link, frames_of_pcap_all(data), port)
            for i in range(0, min(len(payloads), 8 * 64), 64):
                name = f"{os.path.basename(f)}.{i // 64}.seed"
                open(os.path.join(out, target, name), "wb").write(seed_of(payloads[i:]))
                counts[target] += 1
    return counts


def main():
    site_seeds()
    n_cmdb = cmdb_seeds()
    n_csaf = csaf_seeds()
    files = []
    for d, _, names in os.walk(shared):
        files += [os.path.join(d, n) for n in names if n.endswith((".pcap", ".pcapng"))]
    files.append(os.path.join(root, "samples", "plant-cell.pcap"))
    os.makedirs(os.path.join(out, "capture_file"), exist_ok=True)
    os.makedirs(os.path.join(out, "packet_decode"), exist_ok=True)
    os.makedirs(os.path.join(out, "enip"), exist_ok=True)
    os.makedirs(os.path.join(out, "iec61850"), exist_ok=True)
    os.makedirs(os.path.join(out, "profinet"), exist_ok=True)
    os.makedirs(os.path.join(out, "bacnet"), exist_ok=True)
    os.makedirs(os.path.join(out, "lldp"), exist_ok=True)
    os.makedirs(os.path.join(out, "cdp"), exist_ok=True)
    for t in ("ssh", "rfb", "tls", "ftp"):
        os.makedirs(os.path.join(out, t), exist_ok=True)
    os.makedirs(os.path.join(out, "iec104"), exist_ok=True)
    os.makedirs(os.path.join(out, "ads"), exist_ok=True)
    os.makedirs(os.path.join(out, "c37118"), exist_ok=True)
    os.makedirs(os.path.join(out, "dns"), exist_ok=True)
    os.makedirs(os.path.join(out, "netbios"), exist_ok=True)
    os.makedirs(os.path.join(out, "dhcp"), exist_ok=True)
    os.makedirs(os.path.join(out, "arp"), exist_ok=True)
    n_dns = n_nb = n_dhcp = n_arp = 0
    n_ads = n_c37118 = 0
    n_cap = n_pkt = n_enip = n_61850 = n_104 = n_pn = n_bacnet = n_lldp = n_cdp = n_remote = 0
    for f in sorted(files):
        data = as_classic_pcap(f)
        name = os.path.basename(f)
        if len(data) <= 256 * 1024:
            open(os.path.join(out, "capture_file", name), "wb").write(data)
            n_cap += 1
        link, frames = frames_of_pcap(data)
        if link in LINKS and frames:
            seed = bytes([LINKS.index(link) | 8]) + b"\xa5".join(frames)
            open(os.path.join(out, "packet_decode", name + ".seed"), "wb").write(seed)
            n_pkt += 1
        # Layer-2 targets: the first distinct payloads of each capture.
        n_61850 += l2_seeds(name, link, frames, "iec61850", (0x88B8, 0x88BA), 8)
        n_pn += l2_seeds(name, link, frames, "profinet", (0x8892,), 16)
        n_lldp += l2_seeds(name, link, frames, "lldp", (0x88CC,), 16)
        n_arp += l2_seeds(name, link, frames, "arp", (0x0806,), 16)
        seen = []
        for p in cdp_payloads(link, frames):
            if p not in seen and len(seen) < 16:
                seen.append(p)
                open(os.path.join(out, "cdp", f"{name}.{len(seen)}.seed"), "wb").write(p)
        n_cdp += len(seen)
        # SSH, VNC, TLS and FTP: both directions of the first flows on their ports, in the
        # stream targets' chunk scheme.
        for target, port in (("ssh", 22), ("rfb", 5900), ("tls", 443), ("ftp", 21)):
            payloads = tcp_payloads(link, frames_of_pcap_all(data), port)
            if payloads:
                open(os.path.join(out, target, name + ".seed"), "wb").write(enip_seed(payloads))
                n_remote += 1
        # Name services: DNS, mDNS, LLMNR and NetBIOS datagrams, length-prefixed.
        d, nb = name_seeds(name, link, frames_of_pcap_all(data))
        n_dns += d
        n_nb += nb
        # DHCP: each distinct datagram to or from 67 or 68 (one message per seed).
        seen, all_frames = [], frames_of_pcap_all(data)
        for port in (67, 68):
            for g in udp_payloads(link, all_frames, port):
                if g not in seen and len(seen) < 32:
                    seen.append(g)
                    open(os.path.join(out, "dhcp", f"{name}.{len(seen)}.seed"), "wb").write(g)
        n_dhcp += len(seen)
        # BACnet/IP: the capture's datagrams to or from 47808, joined (the
        # target cuts at each 0x81 after a zero byte).
        grams = udp_payloads(link, frames, 47808)
        if grams:
            open(os.path.join(out, "bacnet", name + ".seed"), "wb").write(b"\x00".join(grams))
            n_bacnet += 1
        payloads = tcp_payloads(link, frames_of_pcap_all(data), 44818)
        if payloads:
            open(os.path.join(out, "enip", name + ".seed"), "wb").write(enip_seed(payloads))
            n_enip += 1
        # Few captures carry IEC 104: one seed per 64 payloads, not per capture.
        payloads = tcp_payloads(link, frames_of_pcap_all(data), 2404)
        for i in range(0, len(payloads), 64):
            open(os.path.join(out, "iec104", f"{name}.{i // 64}.seed"), "wb").write(enip_seed(payloads[i:]))
            n_104 += 1
        # ADS: the AMS/TCP payloads (port 48898), one seed per 64, and the
        # router service's datagrams (48899) as one more.
        payloads = tcp_payloads(link, frames_of_pcap_all(data), 48898)
        for i in range(0, min(len(payloads), 8 * 64), 64):
            open(os.path.join(out, "ads", f"{name}.{i // 64}.seed"), "wb").write(enip_seed(payloads[i:]))
            n_ads += 1
        # IEEE C37.118 (port 4712): one seed per 64 payloads, up to 8 per capture.
        payloads = tcp_payloads(link, frames_of_pcap_all(data), 4712)
        for i in range(0, min(len(payloads), 8 * 64), 64):
            open(os.path.join(out, "c37118", f"{name}.{i // 64}.seed"), "wb").write(enip_seed(payloads[i:]))
            n_c37118 += 1
        grams = udp_payloads(link, frames_of_pcap_all(data), 48899)
        if grams:
            open(os.path.join(out, "ads", f"{name}.udp.seed"), "wb").write(enip_seed([(False, g) for g in grams]))
            n_ads += 1
    n_ctl = controller_seeds(sorted(files))
    n_opcua = opcua_seeds(sorted(files) + sys.argv[1:])
    for extra in sys.argv[1:]:
        data = open(extra, "rb").read()
        link, _ = frames_of_pcap(data)
        d, nb = name_seeds(os.path.basename(extra), link, frames_of_pcap_all(data))
        n_dns += d
        n_nb += nb
    n_http = content_seeds(sorted(files) + sys.argv[1:], "http", (80, 8080), is_http)
    n_telnet = content_seeds(sorted(files) + sys.argv[1:], "telnet", (23,), is_telnet)
    n_snmp = snmp_seeds(sorted(files) + sys.argv[1:])
    n_rdp = content_seeds(sorted(files) + sys.argv[1:], "rdp", (3389,), rdp_start)
    n_smb = content_seeds(sorted(files) + sys.argv[1:], "smb", (139, 445), smb_start)
    n_vr = version_range_seeds()
    n_runs = run_records_seeds()
    sample = open(os.path.join(root, "samples", "plant-cell.pcap"), "rb").read()
    open(os.path.join(out, "capture_file", "plant-cell.pcap.gz"), "wb").write(gzip.compress(sample))
    print(
        f"capture_file: {n_cap + 1} seeds; packet_decode: {n_pkt} seeds; enip: {n_enip} seeds; iec104: {n_104} seeds; ads: {n_ads} seeds; c37118: {n_c37118} seeds; modbus: {n_ctl['modbus']} seeds; s7comm: {n_ctl['s7comm']} seeds; mms: {n_ctl['mms']} seeds; dnp3: {n_ctl['dnp3']} seeds; iec61850: {n_61850} seeds; opcua: {n_opcua} seeds; profinet: {n_pn} seeds; bacnet: {n_bacnet} seeds; lldp: {n_lldp} seeds; cdp: {n_cdp} seeds; snmp: {n_snmp} seeds; ssh/rfb/tls/ftp: {n_remote} seeds; dns: {n_dns} seeds; netbios: {n_nb} seeds; dhcp: {n_dhcp} seeds; arp: {n_arp} seeds; http: {n_http} seeds; telnet: {n_telnet} seeds; rdp: {n_rdp} seeds; smb: {n_smb} seeds; cmdb_register: {n_cmdb} seeds; version_range: {n_vr} seeds; csaf_document: {n_csaf} seeds; run_records: {n_runs} seeds",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
