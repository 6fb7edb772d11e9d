//! BACnet/IP Virtual Link Control (ASHRAE 135 Annex J): the 4-byte BVLC header
//! of every BACnet/IP datagram, and the functions that carry an NPDU.

use crate::cursor::Cursor;
use std::net::Ipv4Addr;

/// BVLC type of BACnet/IP (Annex J); 0x82 is BACnet/IPv6 (Annex U).
pub const TYPE_IPV4: u8 = 0x81;

/// A BVLC function code; open, so unknown codes are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Function(pub u8);

impl Function {
    /// BVLC-Result (a result code answering a BBMD request).
    pub const RESULT: Function = Function(0x00);
    /// Write-Broadcast-Distribution-Table: replaces a BBMD's peer table.
    pub const WRITE_BDT: Function = Function(0x01);
    /// Read-Broadcast-Distribution-Table.
    pub const READ_BDT: Function = Function(0x02);
    /// Read-Broadcast-Distribution-Table-Ack.
    pub const READ_BDT_ACK: Function = Function(0x03);
    /// Forwarded-NPDU: a broadcast a BBMD relays, with the originator's address.
    pub const FORWARDED_NPDU: Function = Function(0x04);
    /// Register-Foreign-Device: joins the sender to a BBMD's broadcasts.
    pub const REGISTER_FOREIGN_DEVICE: Function = Function(0x05);
    /// Read-Foreign-Device-Table.
    pub const READ_FDT: Function = Function(0x06);
    /// Read-Foreign-Device-Table-Ack.
    pub const READ_FDT_ACK: Function = Function(0x07);
    /// Delete-Foreign-Device-Table-Entry.
    pub const DELETE_FDT_ENTRY: Function = Function(0x08);
    /// Distribute-Broadcast-To-Network (from a foreign device).
    pub const DISTRIBUTE_BROADCAST: Function = Function(0x09);
    /// Original-Unicast-NPDU.
    pub const ORIGINAL_UNICAST: Function = Function(0x0a);
    /// Original-Broadcast-NPDU.
    pub const ORIGINAL_BROADCAST: Function = Function(0x0b);
    /// Secure-BVLL (Annex J.4.5 of 135-2012 and later).
    pub const SECURE_BVLL: Function = Function(0x0c);

    /// The name counted for functions that carry no NPDU.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x00 => "bvlc_result",
            0x01 => "write_broadcast_distribution_table",
            0x02 => "read_broadcast_distribution_table",
            0x03 => "read_broadcast_distribution_table_ack",
            0x04 => "forwarded_npdu",
            0x05 => "register_foreign_device",
            0x06 => "read_foreign_device_table",
            0x07 => "read_foreign_device_table_ack",
            0x08 => "delete_foreign_device_table_entry",
            0x09 => "distribute_broadcast_to_network",
            0x0a => "original_unicast_npdu",
            0x0b => "original_broadcast_npdu",
            0x0c => "secure_bvll",
            _ => "unknown_bvlc_function",
        }
    }
}

/// Why a datagram is not a BACnet/IP BVLC message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BvlcError {
    /// Shorter than the 4-byte header.
    Truncated,
    /// A type other than 0x81.
    Type(u8),
    /// The BVLC length disagrees with the datagram.
    Length {
        /// BVLC length field.
        stated: u16,
        /// Datagram length.
        actual: usize,
    },
    /// A function's fixed fields are cut short.
    ShortFunction,
}

impl BvlcError {
    /// The anomaly name counted on the flow.
    pub fn what(self) -> &'static str {
        match self {
            BvlcError::Truncated => "bvlc_truncated",
            BvlcError::Type(_) => "bvlc_bad_type",
            BvlcError::Length { .. } => "bvlc_bad_length",
            BvlcError::ShortFunction => "bvlc_short_function",
        }
    }
}

/// A BVLC message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bvlc<'a> {
    /// Function.
    pub function: Function,
    /// The originating device of a Forwarded-NPDU.
    pub originator: Option<(Ipv4Addr, u16)>,
    /// Registration time to live, seconds (Register-Foreign-Device).
    pub ttl: Option<u16>,
    /// Result code (BVLC-Result).
    pub result: Option<u16>,
    /// The NPDU, for functions that carry one.
    pub npdu: Option<&'a [u8]>,
    /// Everything after the header.
    pub body: &'a [u8],
}

/// Reads a BACnet/IP datagram's BVLC.
pub fn parse(data: &[u8]) -> Result<Bvlc<'_>, BvlcError> {
    let mut c = Cursor::new(data);
    let (Some(kind), Some(function), Some(len)) = (c.u8(), c.u8(), c.be_u16()) else {
        return Err(BvlcError::Truncated);
    };
    if kind != TYPE_IPV4 {
        return Err(BvlcError::Type(kind));
    }
    if usize::from(len) != data.len() {
        return Err(BvlcError::Length { stated: len, actual: data.len() });
    }
    let body = c.rest();
    let function = Function(function);
    let mut b = Bvlc { function, originator: None, ttl: None, result: None, npdu: None, body };
    let mut c = Cursor::new(body);
    match function {
        Function::FORWARDED_NPDU => {
            let (Some(ip), Some(port)) = (c.array::<4>(), c.be_u16()) else { return Err(BvlcError::ShortFunction) };
            b.originator = Some((Ipv4Addr::from(ip), port));
            b.npdu = Some(c.rest());
        }
        Function::REGISTER_FOREIGN_DEVICE => b.ttl = Some(c.be_u16().ok_or(BvlcError::ShortFunction)?),
        Function::RESULT => b.result = Some(c.be_u16().ok_or(BvlcError::ShortFunction)?),
        Function::DISTRIBUTE_BROADCAST | Function::ORIGINAL_UNICAST | Function::ORIGINAL_BROADCAST => {
            b.npdu = Some(body)
        }
        _ => {}
    }
    Ok(b)
}

/// The meaning of a BVLC-Result code.
pub fn result_name(code: u16) -> &'static str {
    match code {
        0x0000 => "successful_completion",
        0x0010 => "write_bdt_nak",
        0x0020 => "read_bdt_nak",
        0x0030 => "register_foreign_device_nak",
        0x0040 => "read_fdt_nak",
        0x0050 => "delete_fdt_entry_nak",
        0x0060 => "distribute_broadcast_nak",
        _ => "unknown_result",
    }
}
