"""Beckhoff ADS on loopback from pyads: its client is Beckhoff's AdsLib (built
into the wheel), its server pyads' pure-Python test server. The client reads
the device info, reads a variable by name, writes it, reads it again, reads
the ADS state, then stops and starts the PLC. Prints what it read, as JSON.
AdsLib connects to port 48898 only, so the server listens there.
"""
import json, sys, time, pyads
from pyads.testserver import AdsTestServer, AdvancedHandler, PLCVariable

port = int(sys.argv[1])
handler = AdvancedHandler()
speed = PLCVariable("MAIN.speed", 7, ads_type=pyads.constants.ADST_INT16, symbol_type="INT")
handler.add_variable(speed)
server = AdsTestServer(handler=handler, ip_address="127.0.0.1", port=port, logging=False)
server.start()


def listening(port):
    """True once a socket listens on 127.0.0.1:port (read from /proc, so no
    probing connection adds a flow to the capture)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/tcp") as f:
        return any(line.split()[1] == want and line.split()[3] == "0A" for line in f.readlines()[1:])


# The test server listens in its thread; a client faster than it is refused.
for _ in range(100):
    if listening(port):
        break
    time.sleep(0.1)
pyads.open_port()
pyads.set_local_address("127.0.0.2.1.1")
pyads.close_port()
plc = pyads.Connection("127.0.0.1.1.1", pyads.PORT_TC3PLC1, "127.0.0.1")
plc.open()
name, version = plc.read_device_info()
before = plc.read_by_name("MAIN.speed", pyads.PLCTYPE_INT)
plc.write_by_name("MAIN.speed", 42, pyads.PLCTYPE_INT)
after = plc.read_by_name("MAIN.speed", pyads.PLCTYPE_INT)
state = plc.read_state()
plc.write_control(pyads.ADSSTATE_STOP, 0, 0, pyads.PLCTYPE_INT)
plc.write_control(pyads.ADSSTATE_RUN, 0, 0, pyads.PLCTYPE_INT)
plc.close()
server.stop()
print(json.dumps({"name": name, "version": f"{version.version}.{version.revision}.{version.build}", "before": before, "after": after, "state": list(state)}))
