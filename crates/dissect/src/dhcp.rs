//! DHCP (RFC 2131) and BOOTP (RFC 951) over UDP ports 67 and 68.
//!
//! Owns parsing one message — the 236-byte fixed header, the magic cookie and
//! the option list (RFC 2132 §2) — naming it by its message type (option 53)
//! and reporting what it says about the client as one identity event: hardware
//! address, host name, vendor class, client id, parameter request list, the
//! addresses requested, assigned or in use, the server, and domain names.
//!
//! Strings are kept as sent (lossy UTF-8, NULs trimmed, at most 255 bytes), never
//! dropped for odd content: unusual host names and vendor classes are exactly
//! what an inventory wants to see.
//!
//! Not done: option overload (option 52, RFC 2132 §9.3), which moves options into
//! the `sname` and `file` fields, is not followed — those fields are not read;
//! long options split over several instances (RFC 3396) are not concatenated —
//! the first instance is used; DHCPv6 (ports 546/547) is a different protocol.

use crate::cursor::Cursor;
use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe};
use otposture_model::{Direction, EventKind, MacAddr, OperationClass};
use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

const PROTOCOL: &str = "dhcp";

/// UDP port of DHCP servers.
pub const SERVER_PORT: u16 = 67;
/// UDP port of DHCP clients.
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie, 99.130.83.99, that starts the options (RFC 2131 §3).
pub const MAGIC_COOKIE: u32 = 0x6382_5363;
/// Length of the fixed BOOTP header before the cookie.
pub const FIXED_LEN: usize = 236;
/// Shortest message the dissector reads: fixed header and cookie.
pub const MIN_LEN: usize = FIXED_LEN + 4;
/// Cap, in bytes, on any string or hex value copied into an attribute.
pub const MAX_TEXT: usize = 255;

/// BOOTP op codes (RFC 951).
const BOOTREQUEST: u8 = 1;
const BOOTREPLY: u8 = 2;
/// chaddr is 16 bytes, so a hardware length above it cannot be honest.
const MAX_HLEN: u8 = 16;

/// Option codes read here (RFC 2132 unless noted).
mod code {
    pub(super) const PAD: u8 = 0;
    pub(super) const HOST_NAME: u8 = 12;
    pub(super) const DOMAIN_NAME: u8 = 15;
    pub(super) const REQUESTED_IP: u8 = 50;
    pub(super) const MESSAGE_TYPE: u8 = 53;
    pub(super) const SERVER_ID: u8 = 54;
    pub(super) const PARAMETER_LIST: u8 = 55;
    pub(super) const VENDOR_CLASS: u8 = 60;
    pub(super) const CLIENT_ID: u8 = 61;
    /// RFC 4702.
    pub(super) const CLIENT_FQDN: u8 = 81;
    pub(super) const END: u8 = 255;
}

/// A DHCP message type (option 53, RFC 2132 §9.6); open, so later and private
/// types are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// Client looks for servers.
    pub const DISCOVER: MessageType = MessageType(1);
    /// Server offers an address.
    pub const OFFER: MessageType = MessageType(2);
    /// Client asks for the offered (or its previous) address.
    pub const REQUEST: MessageType = MessageType(3);
    /// Client says the address is already in use.
    pub const DECLINE: MessageType = MessageType(4);
    /// Server confirms.
    pub const ACK: MessageType = MessageType(5);
    /// Server refuses.
    pub const NAK: MessageType = MessageType(6);
    /// Client gives the address back.
    pub const RELEASE: MessageType = MessageType(7);
    /// Client with an address asks for configuration only.
    pub const INFORM: MessageType = MessageType(8);

    /// The name used in counts and event names; `type_N` for others.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "discover",
            2 => "offer",
            3 => "request",
            4 => "decline",
            5 => "ack",
            6 => "nak",
            7 => "release",
            8 => "inform",
            n => return Cow::Owned(format!("type_{n}")),
        })
    }
}

/// Why bytes are not a DHCP message, or not one that can be read.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DhcpError {
    /// Shorter than the fixed header and cookie.
    Truncated {
        /// Bytes there were.
        len: usize,
    },
    /// A BOOTP op other than 1 (request) or 2 (reply).
    BadOp(u8),
    /// A hardware address length beyond the 16-byte chaddr field.
    BadHardwareLength(u8),
    /// The four bytes after the fixed header are not the magic cookie.
    BadCookie(u32),
    /// An option whose length runs past the end of the message.
    OptionOverrun {
        /// Option code.
        code: u8,
        /// Length the option claims (`None` when even the length byte is missing).
        len: Option<u8>,
        /// Bytes left for its value.
        available: usize,
    },
    /// A message type option (53) whose length is not 1.
    BadMessageTypeLength(u8),
}

impl DhcpError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            DhcpError::Truncated { .. } => "truncated",
            DhcpError::BadOp(_) => "bad_op",
            DhcpError::BadHardwareLength(_) => "bad_hardware_length",
            DhcpError::BadCookie(_) => "bad_cookie",
            DhcpError::OptionOverrun { .. } => "option_overrun",
            DhcpError::BadMessageTypeLength(_) => "bad_message_type_length",
        }
    }
}

impl fmt::Display for DhcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DhcpError::Truncated { len } => {
                write!(f, "DHCP message of {len} bytes, at least {MIN_LEN} needed")
            }
            DhcpError::BadOp(op) => write!(f, "BOOTP op {op}, expected 1 or 2"),
            DhcpError::BadHardwareLength(n) => {
                write!(f, "hardware address length {n}, at most {MAX_HLEN}")
            }
            DhcpError::BadCookie(c) => {
                write!(f, "magic cookie {c:#010x}, expected {MAGIC_COOKIE:#010x}")
            }
            DhcpError::OptionOverrun { code, len: Some(len), available } => {
                write!(f, "option {code} claims {len} bytes, only {available} left")
            }
            DhcpError::OptionOverrun { code, len: None, .. } => write!(f, "option {code} has no length byte"),
            DhcpError::BadMessageTypeLength(n) => {
                write!(f, "message type option of length {n}, expected 1")
            }
        }
    }
}

impl std::error::Error for DhcpError {}

/// A DHCP message borrowing its datagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhcpMessage<'a> {
    /// 1 = BOOTREQUEST, 2 = BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 = Ethernet).
    pub htype: u8,
    /// Hardware address length (at most 16).
    pub hlen: u8,
    /// Relay hops.
    pub hops: u8,
    /// Transaction id.
    pub xid: u32,
    /// Seconds since the client began.
    pub secs: u16,
    /// Flags (0x8000 = broadcast).
    pub flags: u16,
    /// Client IP, when the client already has one.
    pub ciaddr: Ipv4Addr,
    /// "Your" IP: offered or assigned.
    pub yiaddr: Ipv4Addr,
    /// Next server IP.
    pub siaddr: Ipv4Addr,
    /// Relay agent IP.
    pub giaddr: Ipv4Addr,
    /// The 16-byte client hardware address field.
    pub chaddr: &'a [u8],
    /// The options after the magic cookie, unparsed.
    pub options: &'a [u8],
}

impl<'a> DhcpMessage<'a> {
    /// The client hardware address: the first `hlen` bytes of chaddr.
    pub fn client_hw_addr(&self) -> &'a [u8] {
        self.chaddr.get(..usize::from(self.hlen)).unwrap_or(self.chaddr)
    }

    /// The options, parsed as iterated.
    pub fn option_iter(&self) -> Options<'a> {
        Options { cursor: Cursor::new(self.options), done: false }
    }
}

/// Parses the fixed header and checks the cookie; options are left for
/// [`DhcpMessage::option_iter`].
pub fn parse(data: &[u8]) -> Result<DhcpMessage<'_>, DhcpError> {
    let truncated = DhcpError::Truncated { len: data.len() };
    if data.len() < MIN_LEN {
        return Err(truncated);
    }
    let mut c = Cursor::new(data);
    let (Some(op), Some(htype), Some(hlen), Some(hops)) = (c.u8(), c.u8(), c.u8(), c.u8()) else {
        return Err(truncated);
    };
    if op != BOOTREQUEST && op != BOOTREPLY {
        return Err(DhcpError::BadOp(op));
    }
    if hlen > MAX_HLEN {
        return Err(DhcpError::BadHardwareLength(hlen));
    }
    let ip = |c: &mut Cursor<'_>| c.array::<4>().map(Ipv4Addr::from);
    let (Some(xid), Some(secs), Some(flags)) = (c.be_u32(), c.be_u16(), c.be_u16()) else {
        return Err(truncated);
    };
    let (Some(ciaddr), Some(yiaddr), Some(siaddr), Some(giaddr)) = (ip(&mut c), ip(&mut c), ip(&mut c), ip(&mut c))
    else {
        return Err(truncated);
    };
    // chaddr (16), then sname (64) and file (128), which are not read (see module docs).
    let (Some(chaddr), Some(_sname), Some(_file), Some(cookie)) = (c.take(16), c.take(64), c.take(128), c.be_u32())
    else {
        return Err(truncated);
    };
    if cookie != MAGIC_COOKIE {
        return Err(DhcpError::BadCookie(cookie));
    }
    Ok(DhcpMessage {
        op,
        htype,
        hlen,
        hops,
        xid,
        secs,
        flags,
        ciaddr,
        yiaddr,
        siaddr,
        giaddr,
        chaddr,
        options: c.rest(),
    })
}

/// One option: code and borrowed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DhcpOption<'a> {
    /// Option code.
    pub code: u8,
    /// Option value.
    pub value: &'a [u8],
}

/// Iterates options (RFC 2132 §2): pad (0) is skipped, end (255) stops, others
/// are code, length, value. An option that overruns the message yields one error
/// and ends the iteration. A list that simply runs out without an end option is
/// accepted: some stacks omit it, and nothing is lost.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    cursor: Cursor<'a>,
    done: bool,
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<DhcpOption<'a>, DhcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let Some(code) = self.cursor.u8() else {
                self.done = true;
                return None;
            };
            match code {
                code::PAD => continue,
                code::END => {
                    self.done = true;
                    return None;
                }
                _ => {}
            }
            let Some(len) = self.cursor.u8() else {
                self.done = true;
                return Some(Err(DhcpError::OptionOverrun { code, len: None, available: 0 }));
            };
            let available = self.cursor.remaining();
            return match self.cursor.take(usize::from(len)) {
                Some(value) => Some(Ok(DhcpOption { code, value })),
                None => {
                    self.done = true;
                    Some(Err(DhcpError::OptionOverrun { code, len: Some(len), available }))
                }
            };
        }
    }
}

/// The options that say who the client is, first instance of each.
#[derive(Clone, Copy, Debug, Default)]
struct Identity<'a> {
    message_type: Option<MessageType>,
    host_name: Option<&'a [u8]>,
    domain_name: Option<&'a [u8]>,
    requested_ip: Option<&'a [u8]>,
    server_id: Option<&'a [u8]>,
    parameter_list: Option<&'a [u8]>,
    vendor_class: Option<&'a [u8]>,
    client_id: Option<&'a [u8]>,
    fqdn: Option<&'a [u8]>,
}

impl<'a> Identity<'a> {
    fn collect(msg: &DhcpMessage<'a>) -> Result<Self, DhcpError> {
        let mut id = Identity::default();
        for opt in msg.option_iter() {
            let DhcpOption { code, value } = opt?;
            let slot = match code {
                code::MESSAGE_TYPE => {
                    if id.message_type.is_none() {
                        let [t] = value else {
                            return Err(DhcpError::BadMessageTypeLength(u8::try_from(value.len()).unwrap_or(u8::MAX)));
                        };
                        id.message_type = Some(MessageType(*t));
                    }
                    continue;
                }
                code::HOST_NAME => &mut id.host_name,
                code::DOMAIN_NAME => &mut id.domain_name,
                code::REQUESTED_IP => &mut id.requested_ip,
                code::SERVER_ID => &mut id.server_id,
                code::PARAMETER_LIST => &mut id.parameter_list,
                code::VENDOR_CLASS => &mut id.vendor_class,
                code::CLIENT_ID => &mut id.client_id,
                code::CLIENT_FQDN => &mut id.fqdn,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        Ok(id)
    }

    /// Attributes in a fixed order; address options of the wrong length are
    /// listed under `anomalies` instead of being guessed at.
    fn attributes(&self, msg: &DhcpMessage<'_>) -> Vec<(Cow<'static, str>, otposture_model::AttrValue)> {
        let mut out: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::new();
        let mut anomalies: Vec<String> = Vec::new();
        let mut put = |k: &'static str, v: String| out.push((Cow::Borrowed(k), v.into()));

        let hw = msg.client_hw_addr();
        if let Ok(mac) = <[u8; 6]>::try_from(hw) {
            put("client_mac", MacAddr(mac).to_string());
        } else if !hw.is_empty() {
            put("client_hw_addr", hex(hw, ":"));
        }
        if let Some(v) = self.host_name.map(text).filter(|s| !s.is_empty()) {
            put("host_name", v);
        }
        if let Some(v) = self.vendor_class.map(text).filter(|s| !s.is_empty()) {
            put("vendor_class", v);
        }
        if let Some(v) = self.client_id.filter(|v| !v.is_empty()) {
            put("client_id", hex(v, ""));
        }
        if let Some(v) = self.parameter_list {
            let mut list = String::new();
            for (i, p) in v.iter().enumerate() {
                let _ = write!(list, "{}{p}", if i == 0 { "" } else { "," });
            }
            put("parameter_list", list);
        }
        let mut address = |code: u8, value: Option<&[u8]>| match value.map(<[u8; 4]>::try_from) {
            Some(Ok(a)) => Some(Ipv4Addr::from(a).to_string()),
            Some(Err(_)) => {
                anomalies.push(format!("bad_length_{code}"));
                None
            }
            None => None,
        };
        let requested_ip = address(code::REQUESTED_IP, self.requested_ip);
        let server_id = address(code::SERVER_ID, self.server_id);
        if let Some(v) = requested_ip {
            put("requested_ip", v);
        }
        // yiaddr means "your address" only in offers and acks (RFC 2131 §4.3.1, §4.3.2).
        let assigns = matches!(self.message_type, Some(MessageType::OFFER | MessageType::ACK));
        if assigns && !msg.yiaddr.is_unspecified() {
            put("assigned_ip", msg.yiaddr.to_string());
        }
        if !msg.ciaddr.is_unspecified() {
            put("client_ip", msg.ciaddr.to_string());
        }
        if let Some(v) = server_id {
            put("server_id", v);
        }
        if let Some(v) = self.domain_name.map(text).filter(|s| !s.is_empty()) {
            put("domain_name", v);
        }
        if let Some(v) = self.fqdn.and_then(fqdn_name).filter(|s| !s.is_empty()) {
            put("fqdn", v);
        }
        if !anomalies.is_empty() {
            put("anomalies", anomalies.join(","));
        }
        out
    }
}

/// Raw text as sent: at most [`MAX_TEXT`] bytes, lossy UTF-8, NULs trimmed.
fn text(bytes: &[u8]) -> String {
    let bounded = bytes.get(..MAX_TEXT).unwrap_or(bytes);
    String::from_utf8_lossy(bounded).trim_matches('\0').to_owned()
}

/// Lower-case hex of at most [`MAX_TEXT`] bytes.
fn hex(bytes: &[u8], sep: &str) -> String {
    let bounded = bytes.get(..MAX_TEXT).unwrap_or(bytes);
    let mut s = String::with_capacity(bounded.len() * (2 + sep.len()));
    for (i, b) in bounded.iter().enumerate() {
        let _ = write!(s, "{}{b:02x}", if i == 0 { "" } else { sep });
    }
    s
}

/// The name in a Client FQDN option (RFC 4702 §2): flags, two deprecated rcode
/// bytes, then the name — DNS wire labels when the E flag is set (§2.3.1),
/// ASCII otherwise (deprecated, still sent by Windows). Wire names with
/// compression pointers or a label running past the option are not "simple"
/// and give `None`.
fn fqdn_name(value: &[u8]) -> Option<String> {
    const FLAG_E: u8 = 0x04;
    let mut c = Cursor::new(value);
    let flags = c.u8()?;
    c.take(2)?; // rcode1, rcode2
    if flags & FLAG_E == 0 {
        return Some(text(c.rest()));
    }
    let mut name = Vec::new();
    while let Some(len) = c.u8() {
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None; // compression pointer or reserved label type
        }
        let label = c.take(usize::from(len))?;
        if !name.is_empty() {
            name.push(b'.');
        }
        name.extend_from_slice(label);
    }
    Some(text(&name))
}

/// The DHCP datagram dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Dhcp;

impl DatagramDissector for Dhcp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        [src_port, dst_port].iter().any(|p| *p == SERVER_PORT || *p == CLIENT_PORT)
    }

    /// A datagram is DHCP when its fixed header is sane and the cookie is in
    /// place. Each datagram is whole, so too short means no, not "need more".
    fn probe(&self, data: &[u8]) -> Probe {
        match parse(data) {
            Ok(_) => Probe::Match,
            Err(_) => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(DhcpSession)
    }

    /// BOOTREQUEST (op 1) comes from the client, BOOTREPLY (2) from the
    /// server: a relay agent talks to its server from port 67 to port 67.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        match parse(data).ok()?.op {
            1 => Some(true),
            2 => Some(false),
            _ => None,
        }
    }
}

/// Per-flow state: none, every DHCP message stands alone.
#[derive(Clone, Copy, Debug, Default)]
struct DhcpSession;

impl DatagramSession for DhcpSession {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let identity = parse(data).and_then(|msg| Identity::collect(&msg).map(|id| (msg, id)));
        let (msg, id) = match identity {
            Ok(v) => v,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        // Without option 53 the message is plain BOOTP.
        let operation = id.message_type.map_or(Cow::Borrowed("bootp"), MessageType::name);
        let mut ev = ctx.event(PROTOCOL, EventKind::Identity, format!("dhcp.{operation}"));
        ev.attributes = id.attributes(&msg);
        emit.message(ctx, PROTOCOL, operation, OperationClass::Discovery);
        emit.event(ev);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use otposture_model::{Event, Timestamp};
    use proptest::prelude::*;

    /// Records what a dissector emits.
    #[derive(Default)]
    struct Recorder {
        messages: Vec<(&'static str, String, OperationClass)>,
        events: Vec<Event>,
        malformed: Vec<(&'static str, &'static str)>,
    }

    impl Emit for Recorder {
        fn message(&mut self, _: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
            self.messages.push((p, op.into_owned(), class));
        }
        fn event(&mut self, event: Event) {
            self.events.push(event);
        }
        fn malformed(&mut self, _: &PacketCtx<'_>, p: &'static str, what: &'static str) {
            self.malformed.push((p, what));
        }
    }

    fn ctx() -> PacketCtx<'static> {
        PacketCtx {
            source: 0,
            ts: Timestamp::from_parts(1_709_280_002, 0),
            packet: 4,
            flow: None,
            direction: Some(Direction::ToServer),
            src_mac: Some(MacAddr([0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32])),
            dst_mac: Some(MacAddr([0xff; 6])),
            vlan: None,
            src_ip: Some("0.0.0.0".parse().unwrap()),
            dst_ip: Some("255.255.255.255".parse().unwrap()),
        }
    }

    fn run(data: &[u8]) -> Recorder {
        let mut r = Recorder::default();
        Dhcp.new_session().datagram(&ctx(), Direction::ToServer, data, &mut r);
        r
    }

    fn attrs(ev: &Event) -> Vec<(&str, &str)> {
        ev.attributes.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect()
    }

    /// The fixed header: op, Ethernet, the given addresses, chaddr, empty sname
    /// and file, and the magic cookie.
    fn header(op: u8, xid: u32, ciaddr: [u8; 4], yiaddr: [u8; 4], chaddr: [u8; 6]) -> Vec<u8> {
        let mut b = vec![
            op,   // op
            0x01, // htype: Ethernet
            0x06, // hlen
            0x00, // hops
        ];
        b.extend_from_slice(&xid.to_be_bytes()); // xid
        b.extend_from_slice(&[0x00, 0x00]); // secs
        b.extend_from_slice(&[0x00, 0x00]); // flags
        b.extend_from_slice(&ciaddr); // ciaddr
        b.extend_from_slice(&yiaddr); // yiaddr
        b.extend_from_slice(&[0, 0, 0, 0]); // siaddr
        b.extend_from_slice(&[0, 0, 0, 0]); // giaddr
        b.extend_from_slice(&chaddr); // chaddr
        b.extend_from_slice(&[0; 10]); // chaddr padding
        b.extend_from_slice(&[0; 64]); // sname
        b.extend_from_slice(&[0; 128]); // file
        b.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]); // magic cookie
        assert_eq!(b.len(), MIN_LEN);
        b
    }

    /// The DHCPDISCOVER of Wireshark's sample capture `dhcp.pcap` (frame 1):
    /// client 00:0b:82:01:fc:42, xid 0x00003d1d, 272-byte UDP payload.
    fn wireshark_discover() -> Vec<u8> {
        let mut b = header(1, 0x0000_3d1d, [0; 4], [0; 4], [0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]);
        b.extend_from_slice(&[
            0x35, 0x01, 0x01, // 53 message type: DISCOVER
            0x3d, 0x07, 0x01, 0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42, // 61 client id: type 1 + MAC
            0x32, 0x04, 0x00, 0x00, 0x00, 0x00, // 50 requested IP: 0.0.0.0
            0x37, 0x04, 0x01, 0x03, 0x06, 0x2a, // 55 parameters: mask, router, DNS, NTP
            0xff, // end
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // padding to 272 bytes
        ]);
        assert_eq!(b.len(), 272);
        b
    }

    /// A Windows DHCPREQUEST in the SELECTING state, options in Windows' order.
    fn windows_request() -> Vec<u8> {
        let mut b = header(1, 0x3903_f326, [0; 4], [0; 4], [0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32]);
        b.extend_from_slice(&[
            53, 1, 3, // message type: REQUEST
            61, 7, 0x01, 0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32, // client id: type 1 + MAC
            50, 4, 192, 168, 10, 50, // requested IP
            54, 4, 192, 168, 10, 1, // server id
            12, 6, b'E', b'W', b'S', b'-', b'0', b'1', // host name
            81, 9, 0x00, 0x00, 0x00, b'E', b'W', b'S', b'-', b'0', b'1', // FQDN: flags 0 (ASCII), rcodes, name
            60, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0', // vendor class
            55, 4, 1, 3, 6, 15,  // parameters: mask, router, DNS, domain name
            255, // end
        ]);
        b
    }

    #[test]
    fn reads_the_wireshark_sample_discover() {
        let data = wireshark_discover();
        assert_eq!(Dhcp.probe(&data), Probe::Match);
        let msg = parse(&data).unwrap();
        assert_eq!((msg.op, msg.htype, msg.hlen, msg.xid), (1, 1, 6, 0x3d1d));
        assert_eq!(msg.client_hw_addr(), &[0x00, 0x0b, 0x82, 0x01, 0xfc, 0x42]);
        let r = run(&data);
        assert_eq!(r.messages, [("dhcp", "discover".to_owned(), OperationClass::Discovery)]);
        assert!(r.malformed.is_empty());
        let ev = &r.events[0];
        assert_eq!((ev.kind, ev.name.as_ref(), ev.packet), (EventKind::Identity, "dhcp.discover", 4));
        assert_eq!(
            attrs(ev),
            [
                ("client_mac", "00:0b:82:01:fc:42"),
                ("client_id", "01000b8201fc42"),
                ("parameter_list", "1,3,6,42"),
                ("requested_ip", "0.0.0.0"),
            ]
        );
    }

    #[test]
    fn reads_who_a_windows_client_says_it_is() {
        let r = run(&windows_request());
        assert_eq!(r.messages[0].1, "request");
        assert_eq!(r.events[0].name, "dhcp.request");
        assert_eq!(
            attrs(&r.events[0]),
            [
                ("client_mac", "3c:52:82:0a:00:32"),
                ("host_name", "EWS-01"),
                ("vendor_class", "MSFT 5.0"),
                ("client_id", "013c52820a0032"),
                ("parameter_list", "1,3,6,15"),
                ("requested_ip", "192.168.10.50"),
                ("server_id", "192.168.10.1"),
                ("fqdn", "EWS-01"),
            ]
        );
    }

    #[test]
    fn reports_the_assigned_address_of_an_ack_and_the_domain() {
        let mut b = header(2, 7, [0; 4], [192, 168, 10, 50], [0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32]);
        b.extend_from_slice(&[
            53, 1, 5, // message type: ACK
            54, 4, 192, 168, 10, 1, // server id
            51, 4, 0x00, 0x01, 0x51, 0x80, // lease time: 86400 s (not reported)
            15, 5, b'p', b'l', b'a', b'n', b't', // domain name
            255,  // end
        ]);
        let r = run(&b);
        assert_eq!(r.messages[0].1, "ack");
        assert_eq!(
            attrs(&r.events[0]),
            [
                ("client_mac", "3c:52:82:0a:00:32"),
                ("assigned_ip", "192.168.10.50"),
                ("server_id", "192.168.10.1"),
                ("domain_name", "plant"),
            ]
        );
    }

    #[test]
    fn reports_the_client_ip_of_a_renewing_client_but_no_assignment_for_requests() {
        let mut b = header(1, 9, [192, 168, 10, 50], [192, 168, 10, 99], [0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32]);
        b.extend_from_slice(&[
            53, 1, 3,   // message type: REQUEST
            255, // end
        ]);
        let a = attrs(&run(&b).events[0]).into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>();
        assert!(a.contains(&("client_ip".into(), "192.168.10.50".into())));
        assert!(!a.iter().any(|(k, _)| k == "assigned_ip")); // yiaddr is only meaningful in offers and acks
    }

    #[test]
    fn names_every_message_type() {
        let names: Vec<_> = (1..=10).map(|t| MessageType(t).name().into_owned()).collect();
        assert_eq!(
            names,
            ["discover", "offer", "request", "decline", "ack", "nak", "release", "inform", "type_9", "type_10"]
        );
    }

    #[test]
    fn calls_messages_without_a_type_bootp() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.push(255); // end, no options
        let r = run(&b);
        assert_eq!(r.messages[0].1, "bootp");
        assert_eq!(r.events[0].name, "dhcp.bootp");
    }

    #[test]
    fn keeps_odd_host_names_raw_and_bounded() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[
            53, 1, 1, // DISCOVER
            12, 8, b'P', b'L', b'C', 0xff, b' ', b'1', 0x00, 0x00, // host name: invalid UTF-8, trailing NULs
            60, 0, // vendor class: empty, not reported
            255,
        ]);
        let r = run(&b);
        assert_eq!(attrs(&r.events[0])[1], ("host_name", "PLC\u{fffd} 1"));
        assert!(!attrs(&r.events[0]).iter().any(|(k, _)| *k == "vendor_class"));
        assert_eq!(text(&[b'a'; 300]).len(), MAX_TEXT);
        assert_eq!(hex(&[0xab; 300], "").len(), 2 * MAX_TEXT);
    }

    #[test]
    fn reads_wire_format_fqdns_and_refuses_compressed_ones() {
        let wire = [
            0x05, // flags: S and E (canonical wire format)
            0x00, 0x00, // rcode1, rcode2
            3, b'e', b'w', b's', 5, b'p', b'l', b'a', b'n', b't', 0, // "ews.plant."
        ];
        assert_eq!(fqdn_name(&wire).as_deref(), Some("ews.plant"));
        let compressed = [0x04, 0, 0, 3, b'e', b'w', b's', 0xc0, 0x0c];
        assert_eq!(fqdn_name(&compressed), None);
        let overrun = [0x04, 0, 0, 9, b'e', b'w', b's'];
        assert_eq!(fqdn_name(&overrun), None);
        assert_eq!(fqdn_name(&[0x00]), None);
    }

    #[test]
    fn lists_address_options_of_the_wrong_length_as_anomalies() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[
            53, 1, 3, // REQUEST
            50, 3, 192, 168, 10, // requested IP, one byte short
            255,
        ]);
        let r = run(&b);
        assert!(r.malformed.is_empty());
        assert_eq!(attrs(&r.events[0]).last(), Some(&("anomalies", "bad_length_50")));
    }

    #[test]
    fn skips_pads_and_accepts_a_list_without_an_end() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[
            0, 0, // pads
            53, 1, 8, // INFORM
            0, // pad
            12, 2, b'h', b'1', // host name, and the datagram ends with no END option
        ]);
        let r = run(&b);
        assert_eq!(r.messages[0].1, "inform");
        assert_eq!(attrs(&r.events[0])[1], ("host_name", "h1"));
    }

    #[test]
    fn uses_the_first_of_repeated_options() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[
            53, 1, 1, // DISCOVER
            53, 1, 3, // a second message type, ignored
            12, 1, b'a', // host name
            12, 1, b'b', // a second host name, ignored
            255,
        ]);
        let r = run(&b);
        assert_eq!(r.messages[0].1, "discover");
        assert_eq!(attrs(&r.events[0])[1], ("host_name", "a"));
    }

    #[test]
    fn reports_an_option_overrunning_the_message_as_malformed() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[
            53, 1, 1, // DISCOVER
            12, 10, b'E', b'W', b'S', // host name claims 10 bytes, 3 remain
        ]);
        let msg = parse(&b).unwrap();
        let opts: Vec<_> = msg.option_iter().collect();
        assert_eq!(opts[1], Err(DhcpError::OptionOverrun { code: 12, len: Some(10), available: 3 }));
        assert_eq!(opts.len(), 2);
        let r = run(&b);
        assert_eq!(r.malformed, [("dhcp", "option_overrun")]);
        assert!(r.messages.is_empty() && r.events.is_empty());

        let mut no_len = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        no_len.push(12); // a code and then nothing
        assert_eq!(run(&no_len).malformed, [("dhcp", "option_overrun")]);
    }

    #[test]
    fn reports_a_message_type_of_the_wrong_length_as_malformed() {
        let mut b = header(1, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
        b.extend_from_slice(&[53, 2, 1, 1, 255]); // message type with 2 bytes
        assert_eq!(run(&b).malformed, [("dhcp", "bad_message_type_length")]);
    }

    #[test]
    fn probes_only_sane_headers_with_the_cookie() {
        let good = wireshark_discover();
        assert_eq!(Dhcp.probe(&good[..MIN_LEN]), Probe::Match);
        assert_eq!(Dhcp.probe(&good[..MIN_LEN - 1]), Probe::NoMatch); // too short: no, not "need more"
        let mut bad_op = good.clone();
        bad_op[0] = 3; // op 3
        assert_eq!(parse(&bad_op), Err(DhcpError::BadOp(3)));
        let mut bad_hlen = good.clone();
        bad_hlen[2] = 17; // hlen beyond chaddr
        assert_eq!(parse(&bad_hlen), Err(DhcpError::BadHardwareLength(17)));
        let mut bad_cookie = good.clone();
        bad_cookie[236] = 0x64; // cookie 0x64825363
        assert_eq!(parse(&bad_cookie), Err(DhcpError::BadCookie(0x6482_5363)));
        for d in [&bad_op, &bad_hlen, &bad_cookie] {
            assert_eq!(Dhcp.probe(d), Probe::NoMatch);
        }
        assert_eq!(run(&bad_cookie).malformed, [("dhcp", "bad_cookie")]);
        assert_eq!(run(&good[..100]).malformed, [("dhcp", "truncated")]);
    }

    #[test]
    fn reports_non_ethernet_hardware_addresses_in_hex() {
        let mut b = wireshark_discover();
        b[2] = 8; // hlen 8 (e.g. an EUI-64)
        let a = attrs(&run(&b).events[0]).into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect::<Vec<_>>();
        assert_eq!(a[0], ("client_hw_addr".into(), "00:0b:82:01:fc:42:00:00".into()));
    }

    #[test]
    fn hints_at_both_dhcp_ports() {
        assert!(Dhcp.port_hint(68, 67));
        assert!(Dhcp.port_hint(67, 68));
        assert!(Dhcp.port_hint(40000, 67));
        assert!(!Dhcp.port_hint(53, 40000));
    }

    #[test]
    fn says_what_was_wrong_with_the_offending_values() {
        assert_eq!(
            DhcpError::OptionOverrun { code: 12, len: Some(10), available: 3 }.to_string(),
            "option 12 claims 10 bytes, only 3 left"
        );
        assert_eq!(DhcpError::BadCookie(1).to_string(), "magic cookie 0x00000001, expected 0x63825363");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Dhcp.probe(&data);
            let r = run(&data);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
        }

        #[test]
        fn never_panics_on_arbitrary_options(
            op in 1u8..=2,
            hlen in 0u8..=16,
            options in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let mut data = header(op, 1, [0; 4], [0; 4], [2, 0, 0, 0, 0, 1]);
            data[2] = hlen;
            data.extend_from_slice(&options);
            prop_assert_eq!(Dhcp.probe(&data), Probe::Match);
            let r = run(&data);
            prop_assert_eq!(r.messages.len() + r.malformed.len(), 1);
            prop_assert_eq!(r.events.len(), r.messages.len());
            for ev in &r.events {
                for (_, v) in &ev.attributes {
                    // Values come from at most MAX_TEXT source bytes; the widest
                    // rendering is the parameter list, "255," per byte.
                    prop_assert!(v.len() <= 4 * MAX_TEXT);
                }
            }
        }
    }

    #[test]
    fn a_request_comes_from_the_client_and_a_reply_from_the_server() {
        assert_eq!(Dhcp.sent_by_client(&windows_request()), Some(true));
        let mut ack = header(2, 7, [0; 4], [192, 168, 10, 50], [0x3c, 0x52, 0x82, 0x0a, 0x00, 0x32]);
        ack.extend_from_slice(&[53, 1, 5, 255]);
        assert_eq!(Dhcp.sent_by_client(&ack), Some(false));
        let mut odd = windows_request();
        odd[0] = 3;
        assert_eq!(Dhcp.sent_by_client(&odd), None);
        assert_eq!(Dhcp.sent_by_client(&ack[..100]), None);
    }
}
