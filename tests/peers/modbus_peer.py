#!/usr/bin/env python3
"""A real Modbus/TCP exchange on loopback between pymodbus's server and client,
for otposture's tests: the traffic is captured with tcpdump and dissected.

    modbus_peer.py PORT [CLIENT_PORT]

The server answers as unit 1 with device identification objects the test checks
(vendor "otposture-peer", product code "PM-316", revision "3.16.1", product name
"pymodbus test server", model "SIM-1"). The client reads, writes, asks for the
device identification and runs one diagnostic, then both stop. With
CLIENT_PORT the client connects from that port (a test of a connection whose
client port is below the server's).
"""
import asyncio
import sys

from pymodbus import ModbusDeviceIdentification
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ServerAsyncStop, StartAsyncTcpServer


async def main(port, client_port=None):
    block = lambda: ModbusSequentialDataBlock(1, [0] * 200)
    device = ModbusDeviceContext(di=block(), co=block(), hr=block(), ir=block())
    context = ModbusServerContext(devices={1: device}, single=False)
    identity = ModbusDeviceIdentification(
        info_name={
            "VendorName": "otposture-peer",
            "ProductCode": "PM-316",
            "MajorMinorRevision": "3.16.1",
            "VendorUrl": "https://example.invalid/peer",
            "ProductName": "pymodbus test server",
            "ModelName": "SIM-1",
            "UserApplicationName": "otposture loopback test",
        }
    )
    server = asyncio.create_task(StartAsyncTcpServer(context=context, identity=identity, address=("127.0.0.1", port)))
    await asyncio.sleep(0.5)
    source = ("127.0.0.1", client_port) if client_port else None
    client = AsyncModbusTcpClient("127.0.0.1", port=port, source_address=source)
    await client.connect()
    assert not (await client.read_holding_registers(10, count=5, device_id=1)).isError()
    assert not (await client.read_coils(0, count=8, device_id=1)).isError()
    assert not (await client.write_register(101, 400, device_id=1)).isError()
    assert not (await client.write_registers(120, [1, 2, 3], device_id=1)).isError()
    assert not (await client.write_coil(7, True, device_id=1)).isError()
    assert not (await client.read_input_registers(0, count=2, device_id=1)).isError()
    # Read Device Identification, regular category (objects 0..6).
    assert not (await client.read_device_information(read_code=2, object_id=0, device_id=1)).isError()
    # Report Server ID: pymodbus answers its basic identity objects joined by
    # '-', then the run indicator.
    assert not (await client.report_device_id(device_id=1)).isError()
    # An address outside the data block: an exception response.
    await client.read_holding_registers(500, count=10, device_id=1)
    client.close()
    await ServerAsyncStop()
    server.cancel()


if __name__ == "__main__":
    asyncio.run(main(*(int(a) for a in sys.argv[1:3])))
