#!/usr/bin/env python3
"""A real IEC 60870-5-104 exchange on loopback between c104's server (a
controlled station) and its client (a controlling station), for otposture's
tests: the traffic is captured with tcpdump and dissected.

    iec104_peer.py PORT

The server is station (common address) 47 with a single point (IOA 1001,
M_SP_NA_1), a measured value (IOA 1002, M_ME_NC_1), a single command point
(IOA 2001, C_SC_NA_1, select before operate) and a set point (IOA 2002,
C_SE_NC_1, direct). The client starts data transfer (STARTDT), runs a station
interrogation, a clock synchronization, the single command ON with a short
pulse (select, then execute), the set point 42.5, and a read of the measured
value, then stops. It prints one JSON line with what each step returned, how
many selects it sent and which command points the station executed, for the
test to compare with what otposture saw.
"""
import json
import sys
import time

import c104

CA = 47


def wait(predicate, seconds=10.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def main(port):
    server = c104.Server(ip="127.0.0.1", port=port, tick_rate_ms=50)
    station = server.add_station(common_address=CA)
    sp = station.add_point(io_address=1001, type=c104.Type.M_SP_NA_1)
    sp.value = True
    mv = station.add_point(io_address=1002, type=c104.Type.M_ME_NC_1)
    mv.value = 230.25
    received = []

    # c104 checks the callback's signature, annotations included.
    def accept(point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage) -> c104.ResponseState:
        received.append(point.io_address)
        return c104.ResponseState.SUCCESS

    sc = station.add_point(io_address=2001, type=c104.Type.C_SC_NA_1, command_mode=c104.CommandMode.SELECT_AND_EXECUTE)
    sc.on_receive(callable=accept)
    se = station.add_point(io_address=2002, type=c104.Type.C_SE_NC_1)
    se.on_receive(callable=accept)
    server.start()
    assert wait(lambda: server.is_running), "server did not start"

    client = c104.Client(tick_rate_ms=50, command_timeout_ms=1000)
    # Init.MUTED: connect without STARTDT; every step below is explicit.
    connection = client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.MUTED)
    remote = connection.add_station(common_address=CA)
    r_mv = remote.add_point(io_address=1002, type=c104.Type.M_ME_NC_1)
    r_sc = remote.add_point(io_address=2001, type=c104.Type.C_SC_NA_1)
    r_sc.command_mode = c104.CommandMode.SELECT_AND_EXECUTE
    r_se = remote.add_point(io_address=2002, type=c104.Type.C_SE_NC_1)
    client.start()
    assert wait(lambda: connection.is_connected), "client did not connect"
    done = {"startdt": connection.unmute()}
    assert wait(lambda: server.active_connection_count > 0), "STARTDT was not confirmed"

    done["interrogation"] = connection.interrogation(common_address=CA, cause=c104.Cot.ACTIVATION, qualifier=c104.Qoi.STATION)
    done["clock_sync"] = connection.clock_sync(common_address=CA)
    r_sc.info = c104.SingleCmd(on=True, qualifier=c104.Qoc.SHORT_PULSE)
    # c104 2.2.1's client only looks at a confirmation that arrives after it
    # starts waiting; on loopback one can come first, and the client then
    # reports failure after its timeout (the confirmation is on the wire all
    # the same). A select lost that way is not followed by its execute, so
    # the select is tried again until the station has executed the command.
    selects = 0
    while selects < 5 and 2001 not in received:
        selects += 1
        done["single_command"] = r_sc.transmit(cause=c104.Cot.ACTIVATION)
        wait(lambda: 2001 in received, 0.5)
    done["selects"] = selects
    r_se.info = c104.ShortCmd(target=42.5)
    done["set_point"] = r_se.transmit(cause=c104.Cot.ACTIVATION)
    done["read"] = r_mv.read()
    # Let the last answers and acknowledgements go out before closing.
    time.sleep(0.5)
    done["executed"] = received
    client.stop()
    server.stop()
    print(json.dumps(done))


if __name__ == "__main__":
    main(int(sys.argv[1]))
