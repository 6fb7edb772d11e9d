#!/usr/bin/env python3
"""A real S7comm exchange on loopback between snap7's server and client (the
C++ libsnap7 that python-snap7 bundles), for otposture's tests: the traffic is
captured with tcpdump and dissected.

    s7_peer.py PORT

The server (python-snap7 2.x) publishes DB 1 (64 bytes) on 127.0.0.1:PORT.
The client connects to rack 0 slot 1, reads the CPU identity (SZL 0x001C via
get_cpu_info, SZL 0x0011 via get_order_code and read_szl), reads and writes
DB 1, reads the CPU state (SZL 0x0424) around a stop, a hot start and a cold
start, sets the clock, lists the blocks, tries to upload DB 1 (the server
refuses) and disconnects. What was done, and what the server answered, is
printed on stdout as one JSON object:

    {"writes": [[db, start, size], ...], "reads": N, "stops": N,
     "hot_starts": N, "cold_starts": N, "clock_sets": N, "uploads": N,
     "cpu_info": {"module_type": ..., "serial": ..., "plc_name": ...,
                  "copyright": ..., "module_name": ...},
     "order_code": "...",
     "szl_0011": [{"index": N, "mlfb": "...", "ausbg": [b, b], "ausbe": [b, b]}],
     "cpu_states": ["S7CpuStatusRun", ...], "blocks": {...},
     "skipped": {"operation": "error", ...}}

An operation the server refuses is listed under "skipped" with its error, so
the test compares against what really went over the wire.
"""
import json
import sys
import time

import snap7
from snap7.type import SrvArea


def text(b):
    return b.decode("ascii", "replace").rstrip("\x00 ") if isinstance(b, (bytes, bytearray)) else str(b)


def main(port):
    server = snap7.server.Server(log=False)
    db1 = (snap7.type.WordLen.Byte.ctype * 64)()
    server.register_area(SrvArea.DB, 1, db1)
    server.start_to("127.0.0.1", tcp_port=port)
    done = {"writes": [], "reads": 0, "stops": 0, "hot_starts": 0, "cold_starts": 0, "clock_sets": 0}
    done.update({"cpu_states": [], "skipped": {}})
    client = snap7.client.Client()
    try:
        for _ in range(50):
            try:
                client.connect("127.0.0.1", 0, 1, tcp_port=port)
                break
            except Exception:  # the server thread may not listen yet
                time.sleep(0.05)
        info = client.get_cpu_info()
        done["cpu_info"] = {
            "module_type": text(info.ModuleTypeName),
            "serial": text(info.SerialNumber),
            "plc_name": text(info.ASName),
            "copyright": text(info.Copyright),
            "module_name": text(info.ModuleName),
        }
        order = client.get_order_code()
        done["order_code"] = text(order.OrderCode)
        # The module identification records as the client received them.
        szl = client.read_szl(0x0011, 0)
        size, count = szl.Header.LengthDR, szl.Header.NDR
        data = bytes(b & 0xFF for b in szl.Data[: size * count])
        done["szl_0011"] = [
            {
                "index": int.from_bytes(r[0:2], "big"),
                "mlfb": text(r[2:22]),
                "ausbg": list(r[24:26]),
                "ausbe": list(r[26:28]),
            }
            for r in (data[i : i + size] for i in range(0, size * count, size))
        ]

        client.db_read(1, 0, 16)
        done["reads"] += 1
        client.db_write(1, 2, bytearray(b"\x01\x02\x03\x04"))
        done["writes"].append([1, 2, 4])
        client.db_write(1, 40, bytearray(b"\xaa"))
        done["writes"].append([1, 40, 1])
        client.db_read(1, 0, 8)
        done["reads"] += 1

        done["cpu_states"].append(client.get_cpu_state())
        for name, call in (
            ("stops", client.plc_stop),
            ("hot_starts", client.plc_hot_start),
            ("cold_starts", client.plc_cold_start),
        ):
            try:
                call()
                done[name] += 1
            except Exception as e:  # noqa: BLE001 - recorded, the test checks the rest
                done["skipped"][name] = str(e)
            done["cpu_states"].append(client.get_cpu_state())
        client.set_plc_system_datetime()
        done["clock_sets"] = 1
        blocks = client.list_blocks()
        done["blocks"] = {"DB": blocks.DBCount, "OB": blocks.OBCount}
        # snap7's server refuses uploads ("not authorized for current
        # protection level"): the request still goes over the wire.
        try:
            client.upload(1)
            done["uploads"] = 1
        except Exception as e:  # noqa: BLE001
            done["uploads"] = 0
            done["skipped"]["upload"] = str(e)
    finally:
        client.disconnect()
        client.destroy()
        server.stop()
        server.destroy()
    print(json.dumps(done))


if __name__ == "__main__":
    main(int(sys.argv[1]))
