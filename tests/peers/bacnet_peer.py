"""BACnet/IP between two bacpypes3 applications on loopback: a building
controller (device 1201 with an analog value) and an operator workstation that
finds it (Who-Is/I-Am), reads its device object's identity, reads and writes a
set point (priority 8), then asks it to stop communicating and to warm-start
(bacpypes3 implements neither: both are refused).

Usage: bacnet_peer.py PORT [WORKSTATION_PORT]. The controller listens on
127.0.0.1:PORT, the workstation on 127.0.0.1:WORKSTATION_PORT (PORT+1 unless
given). Each runs in its own process: two bacpypes3 applications in one process
answer each other's requests without sending them.
"""
import asyncio
import subprocess
import sys
import time

from bacpypes3.apdu import DeviceCommunicationControlRequest, ReinitializeDeviceRequest
from bacpypes3.ipv4.app import NormalApplication
from bacpypes3.local.analog import AnalogValueObject
from bacpypes3.local.device import DeviceObject
from bacpypes3.pdu import Address
from bacpypes3.primitivedata import ObjectIdentifier, Real

PORT = int(sys.argv[1])
CONTROLLER = len(sys.argv) > 2 and sys.argv[2] == "controller"
WORKSTATION_PORT = int(sys.argv[2]) if len(sys.argv) > 2 and not CONTROLLER else PORT + 1


async def controller():
    device = DeviceObject(
        objectIdentifier=ObjectIdentifier("device,1201"),
        objectName="AHU-3 controller",
        vendorIdentifier=15,  # Cornell University in the ASHRAE registry; any registered id will do
        vendorName="otposture-peer",
        modelName="bacpypes3 sim",
        firmwareRevision="0.0.110",
        applicationSoftwareVersion="ahu-logic 2.4",
        location="roof plant",
    )
    app = NormalApplication(device, Address(f"127.0.0.1/32:{PORT}"))
    app.add_object(
        AnalogValueObject(
            objectIdentifier=ObjectIdentifier("analog-value,3"),
            objectName="supply-temp-setpoint",
            presentValue=21.5,
            statusFlags=[0, 0, 0, 0],
            eventState="normal",
            outOfService=False,
            units="degreesCelsius",
        )
    )
    await asyncio.sleep(60)


async def workstation():
    device = DeviceObject(objectIdentifier=ObjectIdentifier("device,999"), objectName="workstation", vendorIdentifier=15)
    app = NormalApplication(device, Address(f"127.0.0.1/32:{WORKSTATION_PORT}"))
    target = Address(f"127.0.0.1:{PORT}")
    found = await app.who_is(1201, 1201, target)
    assert found, "no I-Am"
    me = ObjectIdentifier("device,1201")
    for prop in ("object-name", "vendor-name", "model-name", "firmware-revision", "application-software-version", "location"):
        print(prop, await app.read_property(target, me, prop))
    setpoint = ObjectIdentifier("analog-value,3")
    print("before", await app.read_property(target, setpoint, "present-value"))
    await app.write_property(target, setpoint, "present-value", Real(23.0), priority=8)
    print("after", await app.read_property(target, setpoint, "present-value"))
    for request in (
        DeviceCommunicationControlRequest(timeDuration=5, enableDisable="disable", destination=target),
        ReinitializeDeviceRequest(reinitializedStateOfDevice="warmstart", destination=target),
    ):
        try:
            await app.request(request)
            print(type(request).__name__, "accepted")
        except BaseException as e:  # bacpypes3 raises the Reject or Error PDU itself
            print(type(request).__name__, "refused:", e)
    app.close()


if CONTROLLER:
    asyncio.run(controller())
else:
    server = subprocess.Popen([sys.executable, __file__, str(PORT), "controller"])
    try:
        time.sleep(2)
        asyncio.run(workstation())
    finally:
        server.terminate()
        server.wait()
