#!/usr/bin/env python3
"""A real EtherNet/IP + CIP exchange on loopback between cpppo's EtherNet/IP
server (a Logix-style simulator with an Identity object) and pycomm3's
LogixDriver, for otposture's tests: the traffic is captured with tcpdump and
dissected.

    cip_peer.py PORT

The server (cpppo, a subprocess) serves tags Speed (INT), Count (DINT),
Temps (REAL[4]) and Flags (SINT[8]) on 127.0.0.1:PORT (TCP only), with an
Identity object whose serial number is drawn at random for each run. The
client, on one TCP connection, does what LogixDriver does when it opens:
registers a session, lists the identity (ListIdentity over TCP), reads the
Identity object (Get_Attributes_All wrapped in Unconnected_Send), opens a
connection (Large_Forward_Open) and reads the controller name over it
(class 0x64); then lists the identity again; reads the vendor id
(Get_Attribute_Single, wrapped in Unconnected_Send) and the device type
(Get_Attribute_Single, connected); reads tags alone and in
Multiple_Service_Packets; writes tags of four types, alone and in
Multiple_Service_Packets; closes the connection (Forward_Close); asks the
Identity object to reset (cpppo does not implement Reset: it answers with an
encapsulation error and drops the session); and goes. What was done, and
what the server answered, is printed on stdout as one JSON object:

    {"list_identities": N, "list_identity": {"vendor": ..., "device_type": ...,
     "product_code": N, "revision": "M.m", "serial": "0x........",
     "product_name": ..., "socket_ip": ...},
     "identity": {the same, without socket_ip, with "vendor_id": N and
     "device_type_id": N read one attribute at a time},
     "connection_id": "0x........", "read_requests": N, "tag_reads": [...],
     "writes": [{"tag": ..., "value": ..., "batched": bool, "error": null or "..."}],
     "resets": N, "reset_type": N, "reset_error": null or "..."}

Identity values are as pycomm3 decoded them, in otposture's notation;
read_requests counts every request of class read (tag reads and the
controller name), list_identities every ListIdentity request.

pycomm3 learns tag types from the controller's tag list, which cpppo does not
serve; the definitions are given to it here instead. Tag reads and writes go
over the connection, so they appear on the wire as connected messages.
"""
import json
import os
import subprocess
import sys
import tempfile

from pycomm3 import Array, ClassCode, DataTypes, LogixDriver, Services

TAGS = {"Speed": ("INT", 0), "Count": ("DINT", 0), "Temps": ("REAL", 4), "Flags": ("SINT", 8)}


def tag_definitions():
    """What LogixDriver's tag-list upload would have learnt, for atomic tags."""
    tags = {}
    for name, (kind, n) in TAGS.items():
        element = DataTypes.get(kind)
        tags[name] = {
            "tag_name": name,
            "instance_id": 0,
            "tag_type": "atomic",
            "data_type": kind,
            "data_type_name": kind,
            "type_class": Array(length_=n, element_type_=element) if n else element,
            "dim": 1 if n else 0,
            "dimensions": [n, 0, 0],
            "alias": False,
            "external_access": "Read/Write",
        }
    return tags


def start_server(port, workdir, serial):
    """Starts cpppo's server and waits until it listens (-A: it prints its address),
    so no probe connection shows up in the capture."""
    config = os.path.join(workdir, "identity.cfg")
    with open(config, "w") as f:
        # cpppo reads these as decimal integers.
        f.write(
            "[Identity]\n"
            "Vendor Number = 1\n"
            "Device Type = 14\n"
            "Product Code Number = 55\n"
            f"Product Revision = {0x0314}\n"
            f"Serial Number = {serial}\n"
            "Product Name = otposture cpppo PLC\n"
        )
    log = open(os.path.join(workdir, "server.log"), "w+")
    tags = [f"{name}={kind}[{n}]" if n else f"{name}={kind}" for name, (kind, n) in TAGS.items()]
    # A config basename of its own, so no stray cpppo.cfg is loaded.
    args = ["-b", "otposture-peer", "-c", config, "-A", "-U", "--address", f"127.0.0.1:{port}", *tags]
    server = subprocess.Popen(
        [sys.executable, "-u", "-m", "cpppo.server.enip", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    for line in server.stdout:
        if line.startswith("Network TCP Server address"):
            return server, log
    server.wait()
    log.seek(0)
    raise RuntimeError(f"cpppo server did not start: {log.read()}")


def revision(rev):
    return f"{rev['major']}.{rev['minor']}"


def identity(i):
    """An identity as pycomm3 decoded it, in otposture's notation."""
    return {
        "vendor": i["vendor"],
        "device_type": i["product_type"],
        "product_code": i["product_code"],
        "revision": revision(i["revision"]),
        "serial": "0x" + i["serial"],
        "product_name": i["product_name"],
    }


def main(port):
    serial = int.from_bytes(os.urandom(4), "little") | 1
    done = {"list_identities": 0, "read_requests": 0, "tag_reads": [], "writes": [], "resets": 0}
    with tempfile.TemporaryDirectory() as workdir:
        server, log = start_server(port, workdir, serial)
        try:
            run(port, done)
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read())
            raise
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    print(json.dumps(done))


def run(port, done):
    plc = LogixDriver(f"127.0.0.1:{port}", init_tags=False)
    # Opening: RegisterSession, ListIdentity, Identity Get_Attributes_All
    # (in Unconnected_Send), and the controller name (class 0x64
    # Get_Attributes_All over a new Large_Forward_Open connection).
    plc.open()
    done["list_identities"] += 1
    done["read_requests"] += 1  # the controller name
    done["identity"] = identity(plc.info)
    # The connection's id, target to originator as the Forward_Open reply gave it.
    done["connection_id"] = f"{int.from_bytes(plc._target_cid, 'little'):#010x}"
    listed = plc._list_identity()
    done["list_identities"] += 1
    done["list_identity"] = identity(listed)
    done["list_identity"]["socket_ip"] = listed["ip_address"]

    def attribute(number, connected):
        reply = plc.generic_message(
            service=Services.get_attribute_single,
            class_code=ClassCode.identity_object,
            instance=1,
            attribute=number,
            data_type=DataTypes.uint,
            connected=connected,
            unconnected_send=not connected,
            name=f"identity attribute {number}",
        )
        if not reply:
            raise RuntimeError(f"Get_Attribute_Single {number}: {reply.error}")
        return reply.value

    done["identity"]["vendor_id"] = attribute(1, connected=False)
    done["identity"]["device_type_id"] = attribute(2, connected=True)

    plc._tags = tag_definitions()

    def read(*tags):
        for t in plc.read(*tags) if len(tags) > 1 else [plc.read(*tags)]:
            if t.error:
                raise RuntimeError(f"read {t.tag}: {t.error}")
        done["read_requests"] += len(tags)
        done["tag_reads"].extend(t.split("{")[0].split("[")[0] for t in tags)

    def write(*pairs):
        results = plc.write(*pairs) if len(pairs) > 1 else [plc.write(*pairs)]
        for (tag, value), t in zip(pairs, results):
            base = tag.split("{")[0].split("[")[0]
            done["writes"].append({"tag": base, "value": value, "batched": len(pairs) > 1, "error": t.error})

    read("Speed")
    read("Speed", "Count", "Temps{4}", "Flags{8}")
    # A single-tag write: pycomm3 1.2.16 sends its request twice over in the
    # one message and cpppo refuses it (the refusal is recorded).
    write(("Speed", 1500))
    write(("Count", 123456), ("Temps{2}", [1.5, -2.25]), ("Flags[3]", -7), ("Speed", 1200))
    write(("Temps[3]", 99.5), ("Count", -1))
    read("Count", "Temps{4}", "Flags{8}", "Speed")

    # Forward_Close, then a Reset request outside any connection.
    plc._forward_close()
    done["reset_type"] = 0  # emulate a power cycle
    reply = plc.generic_message(
        service=Services.reset,
        class_code=ClassCode.identity_object,
        instance=1,
        request_data=bytes([done["reset_type"]]),
        connected=False,
        unconnected_send=True,
        name="reset",
    )
    done["resets"] = 1
    done["reset_error"] = None if reply else str(reply.error)
    try:
        plc.close()  # UnregisterSession, unless the server dropped the session
    except Exception as e:  # noqa: BLE001 - after the Reset the session is gone
        done["close_error"] = str(e)


if __name__ == "__main__":
    main(int(sys.argv[1]))
