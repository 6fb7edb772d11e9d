//! The BACnet network layer (ASHRAE 135 clause 6): the NPDU header, its
//! routing addresses, and network layer messages.

use crate::cursor::Cursor;

/// NPDU protocol version (clause 6.2.1).
pub const VERSION: u8 = 0x01;

/// A routing address: network number and MAC-layer address (empty: broadcast).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetAddr<'a> {
    /// Network number (0xFFFF: global broadcast, as destination).
    pub net: u16,
    /// MAC address on that network.
    pub addr: &'a [u8],
}

/// Why an NPDU could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NpduError {
    /// Cut short inside the header.
    Truncated,
    /// A protocol version other than 1.
    Version(u8),
}

impl NpduError {
    /// The anomaly name counted on the flow.
    pub fn what(self) -> &'static str {
        match self {
            NpduError::Truncated => "npdu_truncated",
            NpduError::Version(_) => "npdu_bad_version",
        }
    }
}

/// What follows the NPDU header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// An application layer PDU.
    Apdu(&'a [u8]),
    /// A network layer message: type, vendor id for proprietary types (0x80 and up), body.
    Network {
        /// Message type.
        kind: u8,
        /// Vendor of a proprietary message.
        vendor: Option<u16>,
        /// The message's body.
        body: &'a [u8],
    },
}

/// An NPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Npdu<'a> {
    /// Control octet.
    pub control: u8,
    /// Destination network and address (routed messages).
    pub destination: Option<NetAddr<'a>>,
    /// Source network and address (messages a router relayed).
    pub source: Option<NetAddr<'a>>,
    /// Hop count (present with a destination).
    pub hop_count: Option<u8>,
    /// APDU or network message.
    pub payload: Payload<'a>,
}

impl Npdu<'_> {
    /// The sender expects a reply.
    pub fn expecting_reply(&self) -> bool {
        self.control & 0x04 != 0
    }
}

fn address<'a>(c: &mut Cursor<'a>) -> Option<NetAddr<'a>> {
    let net = c.be_u16()?;
    let len = c.u8()?;
    Some(NetAddr { net, addr: c.take(usize::from(len))? })
}

/// Reads an NPDU.
pub fn parse(data: &[u8]) -> Result<Npdu<'_>, NpduError> {
    let mut c = Cursor::new(data);
    let (Some(version), Some(control)) = (c.u8(), c.u8()) else { return Err(NpduError::Truncated) };
    if version != VERSION {
        return Err(NpduError::Version(version));
    }
    let destination = if control & 0x20 != 0 { Some(address(&mut c).ok_or(NpduError::Truncated)?) } else { None };
    let source = if control & 0x08 != 0 { Some(address(&mut c).ok_or(NpduError::Truncated)?) } else { None };
    let hop_count = if destination.is_some() { Some(c.u8().ok_or(NpduError::Truncated)?) } else { None };
    let payload = if control & 0x80 != 0 {
        let kind = c.u8().ok_or(NpduError::Truncated)?;
        let vendor = if kind >= 0x80 { Some(c.be_u16().ok_or(NpduError::Truncated)?) } else { None };
        Payload::Network { kind, vendor, body: c.rest() }
    } else {
        Payload::Apdu(c.rest())
    };
    Ok(Npdu { control, destination, source, hop_count, payload })
}

/// The name of a network layer message type (clause 6.2.4), and whether it
/// changes a router's configuration.
pub fn network_message(kind: u8) -> (&'static str, otposture_model::OperationClass) {
    use otposture_model::OperationClass::*;
    match kind {
        0x00 => ("who_is_router_to_network", Discovery),
        0x01 => ("i_am_router_to_network", Discovery),
        0x02 => ("i_could_be_router_to_network", Discovery),
        0x03 => ("reject_message_to_network", Session),
        0x04 => ("router_busy_to_network", Session),
        0x05 => ("router_available_to_network", Session),
        0x06 => ("initialize_routing_table", Configuration),
        0x07 => ("initialize_routing_table_ack", Configuration),
        0x08 => ("establish_connection_to_network", Session),
        0x09 => ("disconnect_connection_to_network", Session),
        0x0a => ("challenge_request", Authentication),
        0x0b => ("security_payload", Authentication),
        0x0c => ("security_response", Authentication),
        0x0d => ("request_key_update", Authentication),
        0x0e => ("update_key_set", Authentication),
        0x0f => ("update_distribution_key", Authentication),
        0x10 => ("request_master_key", Authentication),
        0x11 => ("set_master_key", Authentication),
        0x12 => ("what_is_network_number", Discovery),
        0x13 => ("network_number_is", Discovery),
        0x80..=0xff => ("proprietary_network_message", Unknown),
        _ => ("reserved_network_message", Unknown),
    }
}
