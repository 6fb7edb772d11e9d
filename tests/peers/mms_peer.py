"""IEC 61850 MMS between libIEC61850's server and client (pyiec61850-ng) on
loopback: an association, Identify, the logical device list, reads, a write
of a setting, a control operate of a breaker-like switch, a refused write,
two reads of ICCP (TASE.2) objects the IED refuses, and the release.

Usage: mms_peer.py PORT
"""
import sys
import time

import pyiec61850.pyiec61850 as iec

port = int(sys.argv[1])

# A small IED: LD0 with LLN0 (Mod), GGIO1 with a directly operated switch
# (SPCSO1) and a measured value (AnIn1).
model = iec.IedModel_create("PEERIED")
ld = iec.LogicalDevice_create("LD0", model)
lln0 = iec.LogicalNode_create("LLN0", ld)
iec.CDC_ENS_create("Mod", iec.toModelNode(lln0), 0)
ggio = iec.LogicalNode_create("GGIO1", ld)
iec.CDC_SPC_create("SPCSO1", iec.toModelNode(ggio), 0, iec.CDC_CTL_MODEL_DIRECT_NORMAL)
iec.CDC_MV_create("AnIn1", iec.toModelNode(ggio), 0, False)

server = iec.IedServer_create(model)
iec.IedServer_setServerIdentity(server, "otposture peer", "PEER-IED-1", "7.4.2")
iec.IedServer_start(server, port)
if not iec.IedServer_isRunning(server):
    sys.exit("server did not start")

con = iec.IedConnection_create()
error = iec.IedConnection_connect(con, "127.0.0.1", port)
print("connect:", error)
mms = iec.IedConnection_getMmsConnection(con)
ident = iec.MmsConnection_identify(mms, iec.MmsError_create())
print("identify:", ident.vendorName, ident.modelName, ident.revision)
print("devices:", iec.IedConnection_getLogicalDeviceList(con))
print("read:", iec.IedConnection_readFloatValue(con, "PEERIEDLD0/GGIO1.AnIn1.mag.f", iec.IEC61850_FC_MX))
ctl = iec.ControlObjectClient_create("PEERIEDLD0/GGIO1.SPCSO1", con)
print("operate:", iec.ControlObjectClient_operate(ctl, iec.MmsValue_newBoolean(True), 0))
# Status values are the device's own: the server refuses the write.
print("refused write:", iec.IedConnection_writeBooleanValue(con, "PEERIEDLD0/GGIO1.SPCSO1.stVal", iec.IEC61850_FC_ST, True))
# An ICCP client's first reads (IEC 60870-6 TASE.2 association objects): an
# IEC 61850 server has no such objects and refuses them (object-non-existent).
for domain, item in ((None, "TASE2_Version"), ("PEERIEDLD0", "Bilateral_Table_ID")):
    value = iec.MmsConnection_readVariable(mms, iec.MmsError_create(), domain, item)
    print("tase2 read:", item, iec.MmsValue_getTypeString(value) if value else None)
iec.IedConnection_close(con)
iec.IedConnection_destroy(con)
iec.IedServer_stop(server)
iec.IedServer_destroy(server)
