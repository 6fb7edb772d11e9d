//! PN-DCP (Discovery and basic Configuration Protocol, IEC 61158-6-10 §4.3):
//! the PDU header and its blocks.
//!
//! A DCP PDU follows the PN-RT FrameID (0xFEFC Hello, 0xFEFD Get/Set, 0xFEFE
//! Identify request, 0xFEFF Identify response): ServiceID, ServiceType, Xid,
//! ResponseDelay (Identify request) or reserved, DCPDataLength, then blocks.
//! A block is Option, Suboption, DCPBlockLength and its value, padded to an
//! even length. How a block's value starts depends on the PDU:
//! - responses and Hello requests: a 2-byte BlockInfo, then the value (but a
//!   Control/Response block holds only the answered option, suboption and an
//!   error code);
//! - Set requests: a 2-byte BlockQualifier (temporary, permanent, reset mode);
//! - Identify requests: the value alone (a filter: all, or a name to match);
//! - Get requests: no blocks, only Option/Suboption pairs to read.

use crate::cursor::Cursor;
use std::fmt;
use std::net::Ipv4Addr;

/// Largest text copied from a block (a NameOfStation may hold 240 bytes).
pub(crate) const MAX_TEXT: usize = 240;

/// A DCP ServiceID; open, so manufacturer-specific and reserved values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceId(pub u8);

impl ServiceId {
    /// Reads options of one device.
    pub const GET: ServiceId = ServiceId(3);
    /// Writes options of one device (name, address, control).
    pub const SET: ServiceId = ServiceId(4);
    /// Finds devices (multicast request, one response per device).
    pub const IDENTIFY: ServiceId = ServiceId(5);
    /// A device announcing itself after power on.
    pub const HELLO: ServiceId = ServiceId(6);
}

/// A DCP ServiceType.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceType(pub u8);

impl ServiceType {
    /// A request.
    pub const REQUEST: ServiceType = ServiceType(0);
    /// A response: success.
    pub const RESPONSE_SUCCESS: ServiceType = ServiceType(1);
    /// A response: the request is not supported.
    pub const RESPONSE_UNSUPPORTED: ServiceType = ServiceType(5);

    /// True for any response (bit 0 set, or the "not supported" value).
    pub fn is_response(self) -> bool {
        self.0 & 0x01 != 0 || self == ServiceType::RESPONSE_UNSUPPORTED
    }
}

/// Why a DCP PDU could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DcpError {
    /// Shorter than the 12-byte header (FrameID included).
    Truncated,
    /// DCPDataLength runs past the frame.
    DataLength {
        /// Announced length.
        announced: u16,
        /// Bytes present after the header.
        present: usize,
    },
    /// A block's length runs past the data.
    BlockLength {
        /// Offset of the block within the data.
        offset: usize,
    },
}

impl DcpError {
    /// The anomaly name counted on the capture.
    pub fn what(self) -> &'static str {
        match self {
            DcpError::Truncated => "dcp_truncated",
            DcpError::DataLength { .. } => "dcp_bad_data_length",
            DcpError::BlockLength { .. } => "dcp_bad_block_length",
        }
    }
}

impl fmt::Display for DcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DcpError::Truncated => write!(f, "DCP PDU shorter than its 12-byte header"),
            DcpError::DataLength { announced, present } => {
                write!(f, "DCPDataLength {announced} but {present} bytes follow the header")
            }
            DcpError::BlockLength { offset } => write!(f, "DCP block at data offset {offset} runs past the data"),
        }
    }
}

/// A DCP PDU: its header, and its data for [`Dcp::blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dcp<'a> {
    /// The PN-RT FrameID that carried it.
    pub frame_id: u16,
    /// ServiceID.
    pub service: ServiceId,
    /// ServiceType.
    pub service_type: ServiceType,
    /// Transaction id: a response repeats its request's.
    pub xid: u32,
    /// ResponseDelay factor of an Identify request (reserved elsewhere).
    pub response_delay: u16,
    /// The blocks' bytes (DCPDataLength of them).
    pub data: &'a [u8],
}

/// The DCP FrameIDs.
pub const FRAME_HELLO: u16 = 0xfefc;
/// Get and Set, requests and responses.
pub const FRAME_GET_SET: u16 = 0xfefd;
/// Identify, multicast request.
pub const FRAME_IDENTIFY_REQUEST: u16 = 0xfefe;
/// Identify, response.
pub const FRAME_IDENTIFY_RESPONSE: u16 = 0xfeff;

/// True for the FrameIDs that carry DCP.
pub fn is_dcp_frame(frame_id: u16) -> bool {
    (FRAME_HELLO..=FRAME_IDENTIFY_RESPONSE).contains(&frame_id)
}

/// Reads a DCP PDU from the PN-RT payload (FrameID first). Bytes after
/// DCPDataLength (Ethernet padding) are ignored.
pub fn parse(frame: &[u8]) -> Result<Dcp<'_>, DcpError> {
    let mut c = Cursor::new(frame);
    let (Some(frame_id), Some(service), Some(service_type), Some(xid), Some(response_delay), Some(len)) =
        (c.be_u16(), c.u8(), c.u8(), c.be_u32(), c.be_u16(), c.be_u16())
    else {
        return Err(DcpError::Truncated);
    };
    let rest = c.rest();
    let data = rest.get(..usize::from(len)).ok_or(DcpError::DataLength { announced: len, present: rest.len() })?;
    Ok(Dcp {
        frame_id,
        service: ServiceId(service),
        service_type: ServiceType(service_type),
        xid,
        response_delay,
        data,
    })
}

/// One block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    /// Option.
    pub option: u8,
    /// Suboption.
    pub suboption: u8,
    /// BlockInfo (responses, Hello) or BlockQualifier (Set requests).
    pub info: Option<u16>,
    /// The value after any BlockInfo or BlockQualifier.
    pub value: &'a [u8],
}

/// Option and suboption codes (IEC 61158-6-10, table "Option and Suboption").
pub mod opt {
    /// IP option.
    pub const IP: u8 = 1;
    /// Device properties option.
    pub const DEVICE: u8 = 2;
    /// DHCP option.
    pub const DHCP: u8 = 3;
    /// Control option.
    pub const CONTROL: u8 = 5;
    /// Device initiative option.
    pub const INITIATIVE: u8 = 6;
    /// All selector.
    pub const ALL: u8 = 0xff;

    /// IP: MAC address.
    pub const IP_MAC: u8 = 1;
    /// IP: address, mask, gateway.
    pub const IP_PARAMETER: u8 = 2;
    /// IP: address, mask, gateway and four DNS servers.
    pub const IP_SUITE: u8 = 3;

    /// Device: manufacturer-specific type of station (DeviceVendorValue).
    pub const DEVICE_VENDOR: u8 = 1;
    /// Device: NameOfStation.
    pub const DEVICE_NAME: u8 = 2;
    /// Device: VendorID and DeviceID.
    pub const DEVICE_ID: u8 = 3;
    /// Device: DeviceRole.
    pub const DEVICE_ROLE: u8 = 4;
    /// Device: the options the device supports.
    pub const DEVICE_OPTIONS: u8 = 5;
    /// Device: AliasName (port and neighbour name).
    pub const DEVICE_ALIAS: u8 = 6;
    /// Device: DeviceInstance.
    pub const DEVICE_INSTANCE: u8 = 7;
    /// Device: OEM VendorID and DeviceID.
    pub const DEVICE_OEM_ID: u8 = 8;

    /// Control: start of a transaction.
    pub const CONTROL_START: u8 = 1;
    /// Control: end of a transaction.
    pub const CONTROL_STOP: u8 = 2;
    /// Control: signal (flash the device's LED).
    pub const CONTROL_SIGNAL: u8 = 3;
    /// Control: the result of a Set (answered option, suboption, error).
    pub const CONTROL_RESPONSE: u8 = 4;
    /// Control: reset factory settings (older name of reset to factory).
    pub const CONTROL_FACTORY_RESET: u8 = 5;
    /// Control: reset to factory, with a reset mode in the qualifier.
    pub const CONTROL_RESET_TO_FACTORY: u8 = 6;
}

impl<'a> Dcp<'a> {
    /// True when blocks start with a BlockInfo or BlockQualifier.
    fn blocks_carry_info(&self) -> bool {
        self.service_type.is_response()
            || self.service == ServiceId::HELLO
            || (self.service == ServiceId::SET && self.service_type == ServiceType::REQUEST)
    }

    /// The blocks in order; an `Err` ends the list (a length past the data).
    /// A Get request has none: see [`Dcp::requested_options`].
    pub fn blocks(&self) -> impl Iterator<Item = Result<Block<'a>, DcpError>> + 'a {
        let get_request = self.service == ServiceId::GET && self.service_type == ServiceType::REQUEST;
        let info = self.blocks_carry_info();
        let data = if get_request { &[][..] } else { self.data };
        let mut c = Cursor::new(data);
        let mut done = false;
        std::iter::from_fn(move || {
            if done || c.remaining() == 0 {
                return None;
            }
            let offset = data.len() - c.remaining();
            let block = (|| {
                let (option, suboption, len) = (c.u8()?, c.u8()?, c.be_u16()?);
                let body = c.take(usize::from(len))?;
                if len % 2 == 1 {
                    // Padding to an even length; the last block may go without.
                    let _ = c.take(1);
                }
                Some((option, suboption, body))
            })();
            let Some((option, suboption, body)) = block else {
                done = true;
                return Some(Err(DcpError::BlockLength { offset }));
            };
            let control_response = option == opt::CONTROL && suboption == opt::CONTROL_RESPONSE;
            let (info, value) = match body {
                [a, b, rest @ ..] if info && !control_response => (Some(u16::from_be_bytes([*a, *b])), rest),
                _ => (None, body),
            };
            Some(Ok(Block { option, suboption, info, value }))
        })
    }

    /// The Option/Suboption pairs a Get request asks for.
    pub fn requested_options(&self) -> impl Iterator<Item = (u8, u8)> + 'a {
        let get_request = self.service == ServiceId::GET && self.service_type == ServiceType::REQUEST;
        let data = if get_request { self.data } else { &[][..] };
        data.chunks_exact(2).filter_map(|p| Some((*p.first()?, *p.get(1)?)))
    }
}

/// An IPv4 address from four bytes.
pub(crate) fn ipv4(b: &[u8]) -> Option<Ipv4Addr> {
    let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(a))
}

/// The roles a DeviceRole byte states, in words.
pub fn device_roles(role: u8) -> Vec<&'static str> {
    let names = [
        (0x01, "PROFINET IO device"),
        (0x02, "PROFINET IO controller"),
        (0x04, "PROFINET IO multidevice"),
        (0x08, "PROFINET supervisor"),
    ];
    names.iter().filter(|(bit, _)| role & bit != 0).map(|(_, n)| *n).collect()
}

/// What an IP block's BlockInfo says about the address.
pub fn ip_state(info: u16) -> &'static str {
    match info & 0x7f {
        0 => "not_set",
        1 => "set",
        2 => "dhcp",
        _ => "reserved",
    }
}

/// The name of a Set response's BlockError.
pub fn block_error(code: u8) -> &'static str {
    match code {
        0 => "ok",
        1 => "option_unsupported",
        2 => "suboption_unsupported",
        3 => "suboption_not_set",
        4 => "resource_error",
        5 => "set_not_possible",
        6 => "in_operation",
        _ => "reserved",
    }
}

/// Text of a string block: lossy UTF-8 up to the first NUL, at most [`MAX_TEXT`] bytes.
pub(crate) fn text(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len()).min(MAX_TEXT);
    String::from_utf8_lossy(value.get(..end).unwrap_or_default()).into_owned()
}
