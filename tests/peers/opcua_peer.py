#!/usr/bin/env python3
"""A real OPC UA exchange on loopback between asyncua's server and client, for
otposture's tests: the traffic is captured with tcpdump and dissected.

    opcua_peer.py PORT

The server (security policy None only, anonymous and user-name logins) has the
build information the test checks (manufacturer "otposture-peer", product
"asyncua test server", software version "2.1.0-peer", build number "4242"),
application URI "urn:otposture:peer:server", a read-only variable, a writable
variable and one method. The client asks for the endpoints, connects
anonymously, reads the server status and build information, browses, reads,
writes the writable variable (once), calls the method (once), subscribes
briefly, disconnects, then logs in once by user name and disconnects. It prints
one JSON line: the node ids of the variable written, the method's object and
the method, so the test does not guess them.
"""
import asyncio
import datetime
import json
import logging
import sys

from asyncua import Client, Server, ua

logging.disable(logging.WARNING)


class Handler:
    def datachange_notification(self, node, val, data):
        pass


async def main(port):
    url = f"opc.tcp://127.0.0.1:{port}/otposture/peer/"
    server = Server()
    await server.init()
    server.set_endpoint(url)
    server.set_server_name("otposture peer server")
    await server.set_application_uri("urn:otposture:peer:server")
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    server.set_identity_tokens([ua.AnonymousIdentityToken, ua.UserNameIdentityToken])
    await server.set_build_info(
        product_uri="urn:otposture:peer:product",
        manufacturer_name="otposture-peer",
        product_name="asyncua test server",
        software_version="2.1.0-peer",
        build_number="4242",
        build_date=datetime.datetime(2025, 1, 2, tzinfo=datetime.timezone.utc),
    )
    ns = await server.register_namespace("urn:otposture:peer:plant")
    plant = await server.nodes.objects.add_object(ua.NodeId("Plant", ns), ua.QualifiedName("Plant", ns))
    await plant.add_variable(ua.NodeId("Pump.Speed", ns), ua.QualifiedName("PumpSpeed", ns), 1450.0)
    setpoint = await plant.add_variable(ua.NodeId("Tank.Setpoint", ns), ua.QualifiedName("TankSetpoint", ns), 42.5)
    await setpoint.set_writable()

    async def reset_counter(parent, amount):
        return [ua.Variant(amount.Value * 2, ua.VariantType.Int32)]

    method = await plant.add_method(
        ua.NodeId("ResetCounter", ns),
        ua.QualifiedName("ResetCounter", ns),
        reset_counter,
        [ua.VariantType.Int32],
        [ua.VariantType.Int32],
    )

    async with server:
        client = Client(url)
        endpoints = await client.connect_and_get_server_endpoints()
        assert endpoints, "no endpoints"
        async with Client(url) as c:
            status = c.get_node(ua.ObjectIds.Server_ServerStatus)
            await status.read_value()
            for i in (
                ua.ObjectIds.Server_ServerStatus_BuildInfo_ProductName,
                ua.ObjectIds.Server_ServerStatus_BuildInfo_ManufacturerName,
                ua.ObjectIds.Server_ServerStatus_BuildInfo_SoftwareVersion,
                ua.ObjectIds.Server_ServerStatus_BuildInfo_BuildNumber,
            ):
                await c.get_node(i).read_value()
            await c.nodes.objects.get_children()
            node = c.get_node(setpoint.nodeid)
            assert await node.read_value() == 42.5
            await node.write_value(ua.DataValue(ua.Variant(55.25, ua.VariantType.Double)))
            result = await c.get_node(plant.nodeid).call_method(method.nodeid, ua.Variant(21, ua.VariantType.Int32))
            assert result == 42, result
            sub = await c.create_subscription(100, Handler())
            await sub.subscribe_data_change(node)
            await asyncio.sleep(0.3)
            await sub.delete()
        user = Client(url)
        user.set_user("operator")
        user.set_password("peer-secret")
        async with user:
            await user.get_node(setpoint.nodeid).read_value()
    print(
        json.dumps(
            {
                "written": setpoint.nodeid.to_string(),
                "object": plant.nodeid.to_string(),
                "method": method.nodeid.to_string(),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
