"""IEC 61850 GOOSE from libIEC61850's publisher (pyiec61850-ng), sent on lo:
a protection trip control block (APPID 0x3001, a Boolean and an integer)
published three times, then a state change (stNum 2, sqNum again 0) published
twice; and a second control block (APPID 0x3002) published in simulation with
needs-commissioning set. tcpdump captures EtherType 0x88B8 on lo.

    python3 goose_peer.py PORT    (the port is not used: GOOSE is layer 2)
"""
import time

import pyiec61850.pyiec61850 as iec


def publisher(appid, gocb, dataset, go_id, conf_rev):
    p = iec.CommParameters()
    p.appId = appid
    p.vlanId = 0
    p.vlanPriority = 4
    iec.CommParameters_setDstAddress(p, 0x01, 0x0C, 0xCD, 0x01, 0x00, appid & 0xFF)
    pub = iec.GoosePublisher_create(p, "lo")
    if pub is None:
        raise SystemExit("cannot publish on lo")
    iec.GoosePublisher_setGoCbRef(pub, gocb)
    iec.GoosePublisher_setDataSetRef(pub, dataset)
    iec.GoosePublisher_setGoID(pub, go_id)
    iec.GoosePublisher_setConfRev(pub, conf_rev)
    iec.GoosePublisher_setTimeAllowedToLive(pub, 2000)
    return pub


def values(trip, count):
    v = iec.LinkedList_create()
    iec.LinkedList_add(v, iec.MmsValue_newBoolean(trip))
    iec.LinkedList_add(v, iec.MmsValue_newIntegerFromInt32(count))
    return v


trip = publisher(0x3001, "PEERIEDPROT/LLN0$GO$gcbTrip", "PEERIEDPROT/LLN0$dsTrip", "TRIP1", 7)
for _ in range(3):
    assert iec.GoosePublisher_publish(trip, values(False, 0)) == 0
    time.sleep(0.05)
iec.GoosePublisher_increaseStNum(trip)
for _ in range(2):
    assert iec.GoosePublisher_publish(trip, values(True, 1)) == 0
    time.sleep(0.05)

test = publisher(0x3002, "PEERIEDCTRL/LLN0$GO$gcbTest", "PEERIEDCTRL/LLN0$dsTest", "TEST1", 3)
iec.GoosePublisher_setSimulation(test, True)
iec.GoosePublisher_setNeedsCommission(test, True)
assert iec.GoosePublisher_publish(test, values(False, 9)) == 0
print("published 6")
