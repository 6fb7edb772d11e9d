//! RDP (MS-RDPBCGR): the connection sequence up to where it turns encrypted —
//! the X.224 connection request and confirm with their security negotiation,
//! and, when standard RDP security is chosen, the MCS Connect Initial and
//! Connect Response with the GCC client and server data blocks. When TLS or
//! CredSSP (NLA) is chosen, the rest of the stream is TLS: it goes to a
//! session of the TLS dissector ([`crate::tls`]), so the server certificate
//! (up to TLS 1.2) is reported for RDP too, until that session stops at
//! ChangeCipherSpec. With standard RDP security, everything after the MCS
//! connect PDUs is RC4-encrypted or fast-path and only the flow counts it.
//!
//! Framing is shared with S7comm: TPKT (RFC 1006) cut by
//! [`crate::s7comm::tpkt::Framer`], COTP data TPDUs read by
//! [`crate::s7comm::cotp::parse`]. The X.224 CR and CC are read here: RDP puts
//! its user data (cookie, negotiation) inside the length indicator's range,
//! where ISO 8073 has the variable part (MS-RDPBCGR 2.2.1.1).
//!
//! Reports:
//! - operation `connection_request` (class Authentication, kept) with `cookie`
//!   (the `mstshash=` user name: mstsc truncates it to 9 characters, so it is
//!   a prefix of the login, often `DOMAIN\us`), or `routing_token`;
//!   `requested_protocols` (`rdp` (standard RDP security only), `ssl`,
//!   `hybrid` (CredSSP/NLA), `rdstls`, `hybrid_ex` (CredSSP with early user
//!   authorisation), `rdsaad` (Azure AD), comma-separated), `neg_flags`, and
//!   from the server's answer `selected_protocol`, `nla` (`true`/`false`) or
//!   `failure`. It is recorded at the request's packet once the answer is
//!   read (or the flow ends);
//! - a successful `connection_confirm` is an answer (counted, not kept); a
//!   `negotiation_failure` (named: `ssl_required_by_server`,
//!   `ssl_not_allowed_by_server`, `ssl_cert_not_on_server`,
//!   `inconsistent_flags`, `hybrid_required_by_server`,
//!   `ssl_with_user_auth_required_by_server`) is kept as a refusal;
//! - `mcs_connect_initial`, `mcs_connect_response`, `x224_data`,
//!   `disconnect_request` (class Session);
//! - event `rdp.client` (identity of the client, from the client core data):
//!   `name` (the client's computer name, UTF-16LE, at most 15 characters and
//!   a NUL), `client_build`, `rdp_version`, `desktop`, `keyboard_layout`,
//!   `keyboard_type`, `product_id`, `high_color_depth`,
//!   `early_capability_flags`, `encryption_methods` (client security data),
//!   `channels` (client network data), `drive_redirection` and `clipboard`
//!   (`true` when `rdpdr` / `cliprdr` is asked for: data-exfiltration paths),
//!   `cluster_flags`;
//! - event `rdp.server` (identity of the server), at the packet that says it:
//!   the CC (`selected_protocol`, `nla`); with standard security the MCS
//!   Connect Response (`server_version`, `encryption_method`,
//!   `encryption_level`, `proprietary_encryption`, `certificate_type`
//!   (`proprietary`/`x509`) and for X.509 `certificate_subject`,
//!   `certificate_issuer`); with TLS the server's certificate (up to TLS 1.2:
//!   `certificate_subject`, `certificate_issuer`, beside the `tls.*` events);
//! - anomaly events `rdp.no_nla` (standard RDP security or TLS without
//!   CredSSP: anyone reaching the port gets a logon screen, and with standard
//!   security the server is not authenticated), `rdp.proprietary_encryption`
//!   (standard RDP security's RC4/FIPS scheme, MS-RDPBCGR 5.3: weak, open to
//!   man-in-the-middle) and `rdp.no_encryption` (encryption method none).
//!
//! Not done: the fast-path and slow-path PDUs after the connection
//! (encrypted with standard security), CredSSP inside TLS, RDP over UDP.

use crate::cursor::Cursor;
use crate::s7comm::{cotp, tpkt};
use crate::{tls, Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, Event, EventKind, OperationClass};
use std::borrow::Cow;

const PROTOCOL: &str = "rdp";

/// The RDP port (MS-RDPBCGR 1.3).
pub const PORT: u16 = 3389;

type Attrs = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

fn push(a: &mut Attrs, key: &'static str, value: impl Into<otposture_model::AttrValue>) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// An RDP security protocol bit set (MS-RDPBCGR 2.2.1.1.1 requestedProtocols,
/// 2.2.1.2.1 selectedProtocol); open, so unknown bits are reported by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols(pub u32);

impl Protocols {
    /// Standard RDP security (the value zero).
    pub const RDP: u32 = 0;
    /// TLS 1.0 or later.
    pub const SSL: u32 = 0x1;
    /// CredSSP: Network Level Authentication.
    pub const HYBRID: u32 = 0x2;
    /// RDSTLS.
    pub const RDSTLS: u32 = 0x4;
    /// CredSSP with the Early User Authorization Result PDU.
    pub const HYBRID_EX: u32 = 0x8;
    /// RDS AAD authentication (Azure AD).
    pub const RDSAAD: u32 = 0x10;

    const NAMES: [(u32, &'static str); 5] = [
        (Self::SSL, "ssl"),
        (Self::HYBRID, "hybrid"),
        (Self::RDSTLS, "rdstls"),
        (Self::HYBRID_EX, "hybrid_ex"),
        (Self::RDSAAD, "rdsaad"),
    ];

    /// `rdp` for zero, else the named bits comma-separated, unknown bits as `0x...`.
    pub fn names(self) -> String {
        if self.0 == Self::RDP {
            return "rdp".to_string();
        }
        let mut out: Vec<String> =
            Self::NAMES.iter().filter(|(b, _)| self.0 & b != 0).map(|(_, n)| (*n).to_string()).collect();
        let known = Self::NAMES.iter().fold(0, |a, (b, _)| a | b);
        if self.0 & !known != 0 {
            out.push(format!("{:#x}", self.0 & !known));
        }
        out.join(",")
    }

    /// True when the selected protocol authenticates the user before the
    /// session (CredSSP, RDSTLS, AAD): Network Level Authentication.
    pub fn is_nla(self) -> bool {
        self.0 & (Self::HYBRID | Self::HYBRID_EX | Self::RDSTLS | Self::RDSAAD) != 0
    }
}

/// An RDP_NEG_FAILURE code (MS-RDPBCGR 2.2.1.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureCode(pub u32);

impl FailureCode {
    /// The snake_case name; `unknown_0x...` for others.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "ssl_required_by_server",
            2 => "ssl_not_allowed_by_server",
            3 => "ssl_cert_not_on_server",
            4 => "inconsistent_flags",
            5 => "hybrid_required_by_server",
            6 => "ssl_with_user_auth_required_by_server",
            n => return Cow::Owned(format!("unknown_{n:#x}")),
        })
    }
}

/// Encryption method of standard RDP security (MS-RDPBCGR 2.2.1.4.3).
pub fn encryption_method_name(m: u32) -> Cow<'static, str> {
    Cow::Borrowed(match m {
        0 => "none",
        0x1 => "40bit",
        0x2 => "128bit",
        0x8 => "56bit",
        0x10 => "fips",
        n => return Cow::Owned(format!("{n:#x}")),
    })
}

/// The encryption methods a client offers (a bit set of the same values).
fn encryption_methods_names(m: u32) -> String {
    if m == 0 {
        return "none".to_string();
    }
    [0x1, 0x2, 0x8, 0x10, !0x1b]
        .iter()
        .filter(|b| m & *b != 0)
        .map(|b| encryption_method_name(m & b).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

/// Encryption level of standard RDP security (MS-RDPBCGR 2.2.1.4.3).
fn encryption_level_name(l: u32) -> Cow<'static, str> {
    Cow::Borrowed(match l {
        0 => "none",
        1 => "low",
        2 => "client_compatible",
        3 => "high",
        4 => "fips",
        n => return Cow::Owned(format!("{n:#x}")),
    })
}

/// The RDP stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rdp;

impl StreamDissector for Rdp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    /// TPKT and an X.224 CR from the client whose user data is a cookie,
    /// a routing token or an RDP_NEG_REQ; or a CC from the server carrying an
    /// RDP_NEG_RSP or RDP_NEG_FAILURE. S7comm's CRs carry TSAP parameters
    /// (first byte 0xC0-0xC2 after the fixed part) and no cookie, so they are
    /// not taken.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        let packet = match tpkt::first_tpdu(data) {
            Ok(p) => p,
            Err(p) => return p,
        };
        let Some(x) = X224Connect::parse(packet) else { return Probe::NoMatch };
        let rdp = match (x.code, direction) {
            (cotp::TpduCode::CR, Direction::ToServer) => {
                let r = ConnectionRequest::parse(x.user_data);
                r.cookie.is_some() || r.routing_token.is_some() || r.requested.is_some()
            }
            (cotp::TpduCode::CC, Direction::ToClient) => {
                !matches!(Negotiation::parse(x.user_data), Negotiation::None | Negotiation::Bad)
            }
            _ => false,
        };
        if rdp {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::<Session>::default()
    }
}

/// An X.224 CR or CC as RDP sends it: the fixed part and the user data after it.
#[derive(Clone, Copy, Debug)]
struct X224Connect<'a> {
    code: cotp::TpduCode,
    user_data: &'a [u8],
}

impl<'a> X224Connect<'a> {
    /// MS-RDPBCGR 2.2.1.1 / 2.2.1.2: length indicator, code (0xE0 CR, 0xD0
    /// CC), DST-REF, SRC-REF, class 0; the length indicator counts the user
    /// data too.
    fn parse(packet: &'a [u8]) -> Option<Self> {
        let mut c = Cursor::new(packet);
        let li = c.u8()?;
        let code = cotp::TpduCode::from_byte(c.u8()?);
        if !matches!(code, cotp::TpduCode::CR | cotp::TpduCode::CC) || li < 6 || usize::from(li) >= packet.len() {
            return None;
        }
        c.skip(4)?;
        let class = c.u8()?;
        // Class 0 (ISO 8073 §13.3.3), as RDP always uses.
        if class & 0xf0 != 0 {
            return None;
        }
        Some(X224Connect { code, user_data: c.rest() })
    }
}

/// The user data of an X.224 CR (MS-RDPBCGR 2.2.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ConnectionRequest<'a> {
    cookie: Option<&'a [u8]>,
    routing_token: Option<&'a [u8]>,
    flags: u8,
    requested: Option<u32>,
}

impl<'a> ConnectionRequest<'a> {
    fn parse(data: &'a [u8]) -> Self {
        let mut out = ConnectionRequest::default();
        let mut rest = data;
        // The cookie or routing token: text up to CR LF.
        if rest.starts_with(b"Cookie: ") {
            if let Some(end) = rest.windows(2).position(|w| w == b"\r\n") {
                let line = rest.get(..end).unwrap_or_default();
                match line.strip_prefix(b"Cookie: mstshash=") {
                    Some(user) => out.cookie = Some(user),
                    None => out.routing_token = line.get(8..),
                }
                rest = rest.get(end + 2..).unwrap_or_default();
            }
        }
        // RDP_NEG_REQ: type 1, flags, length 8 (little-endian), requestedProtocols.
        let mut c = Cursor::new(rest);
        if let (Some(1), Some(flags), Some(8), Some(p)) = (c.u8(), c.u8(), c.le_u16(), c.le_u32()) {
            out.flags = flags;
            out.requested = Some(p);
        }
        out
    }
}

/// The user data of an X.224 CC (MS-RDPBCGR 2.2.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Negotiation {
    /// No negotiation structure: an old server, standard RDP security.
    None,
    /// RDP_NEG_RSP: flags and the selected protocol.
    Response(u8, u32),
    /// RDP_NEG_FAILURE: the failure code.
    Failure(FailureCode),
    /// Something else, or truncated.
    Bad,
}

impl Negotiation {
    fn parse(data: &[u8]) -> Self {
        if data.is_empty() {
            return Negotiation::None;
        }
        let mut c = Cursor::new(data);
        match (c.u8(), c.u8(), c.le_u16(), c.le_u32()) {
            (Some(2), Some(flags), Some(8), Some(p)) => Negotiation::Response(flags, p),
            (Some(3), Some(_), Some(8), Some(code)) => Negotiation::Failure(FailureCode(code)),
            _ => Negotiation::Bad,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading TPKT packets.
    #[default]
    X224,
    /// The rest of this direction is TLS, read by the TLS session.
    Tls,
    /// Encrypted, cut by a gap, or past what is read: nothing more to read.
    Done,
}

#[derive(Debug, Default)]
struct Side {
    mode: Mode,
    framer: tpkt::Framer,
}

/// A connection request waiting for its answer.
#[derive(Debug)]
struct PendingRequest {
    ts: otposture_model::Timestamp,
    packet: u64,
    source: u32,
    attributes: Attrs,
}

#[derive(Default)]
struct Session {
    sides: [Side; 2],
    request: Option<PendingRequest>,
    /// The protocol the server selected.
    selected: Option<u32>,
    /// The TLS session reading the stream once TLS is chosen.
    tls: Option<Box<dyn StreamSession>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("sides", &self.sides).field("selected", &self.selected).finish()
    }
}

fn count(ctx: &PacketCtx<'_>, name: &'static str, emit: &mut dyn Emit) {
    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Session);
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let i = direction.index();
        let Some(mode) = self.sides.get(i).map(|s| s.mode) else { return };
        match mode {
            Mode::Done => {}
            Mode::Tls => self.tls_data(ctx, direction, data, emit),
            Mode::X224 => {
                // Once TLS is chosen, either side sends TLS records (a
                // handshake, or an alert when the other side gave up), not
                // TPKT (version 3); a client that starts TLS after a CC we
                // did not see sends a handshake record.
                let at_start = self.sides.get(i).is_some_and(|s| s.framer.buffered() == 0);
                let tls_next = match (self.selected, data.first()) {
                    (Some(p), Some(&b)) => p != Protocols::RDP && b != tpkt::VERSION,
                    (None, Some(&0x16)) => self.request.is_some(),
                    _ => false,
                };
                if at_start && tls_next {
                    if let Some(s) = self.sides.get_mut(i) {
                        s.mode = Mode::Tls;
                    }
                    self.tls_data(ctx, direction, data, emit);
                    return;
                }
                let Some(side) = self.sides.get_mut(i) else { return };
                let mut framer = std::mem::take(&mut side.framer);
                framer.push(data, &mut |f| {
                    if self.sides.get(i).is_none_or(|s| s.mode != Mode::X224) {
                        return;
                    }
                    match f {
                        tpkt::Framed::Frame(_, body) => self.packet(ctx, direction, body, emit),
                        tpkt::Framed::Malformed(e) => {
                            emit.malformed(ctx, PROTOCOL, e.what());
                            if let Some(s) = self.sides.get_mut(i) {
                                s.mode = Mode::Done;
                            }
                        }
                    }
                });
                if let Some(side) = self.sides.get_mut(i) {
                    side.framer = if side.mode == Mode::X224 { framer } else { tpkt::Framer::new() };
                }
            }
        }
    }

    fn gap(&mut self, ctx: &PacketCtx<'_>, direction: Direction, len: u64, emit: &mut dyn Emit) {
        let Some(side) = self.sides.get_mut(direction.index()) else { return };
        match side.mode {
            Mode::Tls => {
                if let Some(t) = self.tls.as_mut() {
                    t.gap(ctx, direction, len, emit);
                }
            }
            _ => {
                side.mode = Mode::Done;
                side.framer = tpkt::Framer::new();
            }
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.flush_request(ctx, emit);
        if let Some(t) = self.tls.as_mut() {
            t.close(ctx, emit);
        }
    }
}

impl Session {
    fn tls_data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let t = self.tls.get_or_insert_with(|| StreamDissector::new_session(&tls::Tls));
        let mut e = TlsEmit { inner: emit };
        t.data(ctx, direction, data, &mut e);
    }

    /// One TPKT packet's COTP TPDU.
    fn packet(&mut self, ctx: &PacketCtx<'_>, direction: Direction, body: &[u8], emit: &mut dyn Emit) {
        if let Some(x) = X224Connect::parse(body) {
            match x.code {
                cotp::TpduCode::CR => self.connection_request(ctx, x.user_data, emit),
                _ => self.connection_confirm(ctx, x.user_data, emit),
            }
            return;
        }
        let t = match cotp::parse(body) {
            Ok(t) => t,
            Err(e) => {
                emit.malformed(ctx, PROTOCOL, e.what());
                return;
            }
        };
        match t.code {
            cotp::TpduCode::DT => self.mcs(ctx, direction, t.data, emit),
            cotp::TpduCode::DR => count(ctx, "disconnect_request", emit),
            c => emit.message(ctx, PROTOCOL, c.name(), OperationClass::Session),
        }
    }

    fn connection_request(&mut self, ctx: &PacketCtx<'_>, user_data: &[u8], emit: &mut dyn Emit) {
        self.flush_request(ctx, emit);
        let r = ConnectionRequest::parse(user_data);
        let mut a = Attrs::new();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        if let Some(c) = r.cookie {
            push(&mut a, "cookie", text(c));
        }
        if let Some(t) = r.routing_token {
            push(&mut a, "routing_token", text(t));
        }
        if let Some(p) = r.requested {
            push(&mut a, "requested_protocols", Protocols(p).names());
            push(&mut a, "neg_flags", format!("{:#04x}", r.flags));
        } else {
            // No RDP_NEG_REQ: the client knows standard RDP security only.
            push(&mut a, "requested_protocols", "rdp".to_string());
        }
        self.request = Some(PendingRequest { ts: ctx.ts, packet: ctx.packet, source: ctx.source, attributes: a });
    }

    /// Records the pending connection request, dated at its own packet; `ctx`
    /// is a packet of the same flow (the answer, or the flow's end).
    fn flush_request(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let Some(r) = self.request.take() else { return };
        let (mut src_ip, mut dst_ip, src_mac, dst_mac) = match ctx.direction {
            Some(Direction::ToServer) => (ctx.src_ip, ctx.dst_ip, ctx.src_mac, ctx.dst_mac),
            Some(Direction::ToClient) => (ctx.dst_ip, ctx.src_ip, ctx.dst_mac, ctx.src_mac),
            None => (None, None, None, None),
        };
        if let Some(f) = ctx.flow {
            (src_ip, dst_ip) = (Some(f.key.client_ip), Some(f.key.server_ip));
        }
        let at = PacketCtx {
            ts: r.ts,
            packet: r.packet,
            source: r.source,
            direction: Some(Direction::ToServer),
            src_ip,
            dst_ip,
            src_mac,
            dst_mac,
            ..*ctx
        };
        emit.operation(
            &at,
            PROTOCOL,
            Cow::Borrowed("connection_request"),
            OperationClass::Authentication,
            r.attributes,
        );
    }

    fn connection_confirm(&mut self, ctx: &PacketCtx<'_>, user_data: &[u8], emit: &mut dyn Emit) {
        let neg = Negotiation::parse(user_data);
        let selected = match neg {
            Negotiation::Response(_, p) => Some(p),
            Negotiation::None => Some(Protocols::RDP),
            Negotiation::Failure(_) | Negotiation::Bad => None,
        };
        if let Some(r) = self.request.as_mut() {
            match (neg, selected) {
                (Negotiation::Failure(code), _) => push(&mut r.attributes, "failure", code.name().into_owned()),
                (_, Some(p)) => {
                    push(&mut r.attributes, "selected_protocol", Protocols(p).names());
                    push(&mut r.attributes, "nla", Protocols(p).is_nla().to_string());
                }
                _ => {}
            }
        }
        self.flush_request(ctx, emit);
        match neg {
            Negotiation::Failure(code) => {
                let mut a = Attrs::new();
                push(&mut a, "failure", code.name().into_owned());
                emit.operation(ctx, PROTOCOL, Cow::Borrowed("negotiation_failure"), OperationClass::Authentication, a);
                return;
            }
            Negotiation::Bad => {
                emit.malformed(ctx, PROTOCOL, "rdp_bad_negotiation");
                return;
            }
            _ => {}
        }
        emit.answer(ctx, PROTOCOL, Cow::Borrowed("connection_confirm"), OperationClass::Authentication);
        let Some(p) = selected else { return };
        self.selected = Some(p);
        let nla = Protocols(p).is_nla();
        emit.event(server_event(ctx, Some(p)));
        if !nla {
            let mut a = ctx.event(PROTOCOL, EventKind::Anomaly, "rdp.no_nla");
            push(&mut a.attributes, "selected_protocol", Protocols(p).names());
            emit.event(a);
        }
    }

    /// An X.224 data TPDU: MCS (T.125) PDUs.
    fn mcs(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        match data {
            // T.125 Connect-Initial, [APPLICATION 101].
            [0x7f, 0x65, ..] if direction == Direction::ToServer => {
                count(ctx, "mcs_connect_initial", emit);
                match connect_initial_blocks(data) {
                    Some(blocks) => client_data(ctx, blocks, emit),
                    None => emit.malformed(ctx, PROTOCOL, "rdp_bad_connect_initial"),
                }
                // What follows is encrypted or fast-path: stop here.
                self.stop(direction);
            }
            // T.125 Connect-Response, [APPLICATION 102].
            [0x7f, 0x66, ..] if direction == Direction::ToClient => {
                count(ctx, "mcs_connect_response", emit);
                match connect_response_blocks(data) {
                    Some(blocks) => server_data(ctx, server_event(ctx, None), blocks, emit),
                    None => emit.malformed(ctx, PROTOCOL, "rdp_bad_connect_response"),
                }
                self.stop(direction);
            }
            _ => count(ctx, "x224_data", emit),
        }
    }

    fn stop(&mut self, direction: Direction) {
        if let Some(s) = self.sides.get_mut(direction.index()) {
            s.mode = Mode::Done;
        }
    }
}

/// An `rdp.server` event with the selected protocol, when known.
fn server_event(ctx: &PacketCtx<'_>, selected: Option<u32>) -> Event {
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "rdp.server");
    if let Some(p) = selected {
        push(&mut e.attributes, "selected_protocol", Protocols(p).names());
        push(&mut e.attributes, "nla", Protocols(p).is_nla().to_string());
    }
    e
}

/// Passes the TLS session's reports on, and reports the TLS server
/// certificate as the RDP server's too (an `rdp.server` event at its packet).
struct TlsEmit<'a> {
    inner: &'a mut dyn Emit,
}

impl Emit for TlsEmit<'_> {
    fn message(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.inner.message(ctx, p, op, class);
    }
    fn operation(
        &mut self,
        ctx: &PacketCtx<'_>,
        p: &'static str,
        op: Cow<'static, str>,
        class: OperationClass,
        a: Attrs,
    ) {
        self.inner.operation(ctx, p, op, class, a);
    }
    fn answer(&mut self, ctx: &PacketCtx<'_>, p: &'static str, op: Cow<'static, str>, class: OperationClass) {
        self.inner.answer(ctx, p, op, class);
    }
    fn event(&mut self, event: Event) {
        if event.name == "tls.certificate" {
            let mut s = event.clone();
            s.protocol = Cow::Borrowed(PROTOCOL);
            s.name = Cow::Borrowed("rdp.server");
            s.attributes = Vec::new();
            let get = |k: &str| event.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            for (from, to) in [("subject", "certificate_subject"), ("issuer", "certificate_issuer")] {
                if let Some(v) = get(from) {
                    push(&mut s.attributes, to, v);
                }
            }
            self.inner.event(s);
        }
        self.inner.event(event);
    }
    fn malformed(&mut self, ctx: &PacketCtx<'_>, p: &'static str, what: &'static str) {
        self.inner.malformed(ctx, p, what);
    }
}

/// One BER TLV (T.125 uses BER, X.690 §8.1): the tag byte(s) already read
/// are the caller's; this reads a length and the value.
fn ber_value<'a>(c: &mut Cursor<'a>) -> Option<&'a [u8]> {
    let first = c.u8()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81 => usize::from(c.u8()?),
        0x82 => usize::from(c.be_u16()?),
        0x83 => {
            let [a, b, d] = c.array::<3>()?;
            usize::from(a) << 16 | usize::from(b) << 8 | usize::from(d)
        }
        _ => return None,
    };
    c.take(len)
}

/// A BER element with a one-byte tag that must be `tag`.
fn ber_expect<'a>(c: &mut Cursor<'a>, tag: u8) -> Option<&'a [u8]> {
    (c.u8()? == tag).then_some(())?;
    ber_value(c)
}

/// The GCC user data blocks after the H.221 key (`Duca` client, `McDn`
/// server) and its PER length (X.691 §10.9: one byte, or two with the top bit
/// set). The PER of the Conference Create Request/Response (T.124) before the
/// key is not walked: the key marks where the blocks start, as MS-RDPBCGR
/// 2.2.1.3 and 2.2.1.4 lay it out.
fn gcc_blocks<'a>(user_data: &'a [u8], key: &[u8; 4]) -> Option<&'a [u8]> {
    let at = user_data.windows(4).position(|w| w == key)?;
    let mut c = Cursor::new(user_data.get(at + 4..)?);
    let b = c.u8()?;
    let len = if b & 0x80 != 0 { usize::from(b & 0x7f) << 8 | usize::from(c.u8()?) } else { usize::from(b) };
    let rest = c.rest();
    // Some clients announce a length past the PDU; take what is there.
    rest.get(..len).or(Some(rest))
}

/// T.125 Connect-Initial (MCS-PDU [APPLICATION 101]): calling and called
/// domain selectors, upward flag, three domain parameter sets, user data.
fn connect_initial_blocks(data: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(data.get(2..)?);
    let mut body = Cursor::new(ber_value(&mut c)?);
    ber_expect(&mut body, 0x04)?;
    ber_expect(&mut body, 0x04)?;
    ber_expect(&mut body, 0x01)?;
    for _ in 0..3 {
        ber_expect(&mut body, 0x30)?;
    }
    gcc_blocks(ber_expect(&mut body, 0x04)?, b"Duca")
}

/// T.125 Connect-Response (MCS-PDU [APPLICATION 102]): result, called
/// connect id, domain parameters, user data.
fn connect_response_blocks(data: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(data.get(2..)?);
    let mut body = Cursor::new(ber_value(&mut c)?);
    ber_expect(&mut body, 0x0a)?;
    ber_expect(&mut body, 0x02)?;
    ber_expect(&mut body, 0x30)?;
    gcc_blocks(ber_expect(&mut body, 0x04)?, b"McDn")
}

/// The user data blocks: TS_UD_HEADER (type, length including the header,
/// little-endian) then the block.
fn blocks(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut c = Cursor::new(data);
    std::iter::from_fn(move || {
        let kind = c.le_u16()?;
        let len = usize::from(c.le_u16()?);
        let body = c.take(len.checked_sub(4)?)?;
        Some((kind, body))
    })
}

/// A NUL-terminated UTF-16LE string of a fixed-size field.
fn utf16z(b: &[u8]) -> String {
    let units: Vec<u16> =
        b.chunks_exact(2).map(|p| u16::from_le_bytes([*p.first().unwrap_or(&0), *p.get(1).unwrap_or(&0)])).collect();
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(units.get(..end).unwrap_or_default())
}

/// Client data blocks of a Connect Initial → `rdp.client`.
fn client_data(ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "rdp.client");
    for (kind, body) in blocks(data) {
        let mut c = Cursor::new(body);
        match kind {
            // CS_CORE, MS-RDPBCGR 2.2.1.3.2.
            0xc001 => {
                let (Some(version), Some(w), Some(h), Some(_depth), Some(_sas), Some(layout), Some(build)) =
                    (c.le_u32(), c.le_u16(), c.le_u16(), c.le_u16(), c.le_u16(), c.le_u32(), c.le_u32())
                else {
                    emit.malformed(ctx, PROTOCOL, "rdp_short_client_core");
                    continue;
                };
                let name = c.take(32).map(utf16z).unwrap_or_default();
                push(&mut e.attributes, "name", name);
                push(&mut e.attributes, "client_build", build.to_string());
                push(&mut e.attributes, "rdp_version", format!("{version:#010x}"));
                push(&mut e.attributes, "desktop", format!("{w}x{h}"));
                push(&mut e.attributes, "keyboard_layout", format!("{layout:#010x}"));
                if let Some(t) = c.le_u32() {
                    push(&mut e.attributes, "keyboard_type", t.to_string());
                }
                // keyboardSubType, keyboardFunctionKey, imeFileName (64).
                if c.skip(8 + 64).is_none() {
                    continue;
                }
                // Optional from here on, in order.
                let _post_beta2_color_depth = c.le_u16();
                if let Some(p) = c.le_u16() {
                    push(&mut e.attributes, "product_id", p.to_string());
                }
                let _serial = c.le_u32();
                if let Some(d) = c.le_u16() {
                    push(&mut e.attributes, "high_color_depth", d.to_string());
                }
                let _supported_depths = c.le_u16();
                if let Some(f) = c.le_u16() {
                    push(&mut e.attributes, "early_capability_flags", format!("{f:#06x}"));
                }
            }
            // CS_SECURITY, 2.2.1.3.3.
            0xc002 => {
                if let Some(m) = c.le_u32() {
                    push(&mut e.attributes, "encryption_methods", encryption_methods_names(m));
                }
            }
            // CS_NET, 2.2.1.3.4: channel definitions of 8-byte names and options.
            0xc003 => {
                let n = c.le_u32().unwrap_or(0);
                let mut names = Vec::new();
                for _ in 0..n.min(31) {
                    let Some(def) = c.take(12) else { break };
                    let name = def.get(..8).unwrap_or_default();
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    names.push(String::from_utf8_lossy(name.get(..end).unwrap_or_default()).to_ascii_lowercase());
                }
                if names.iter().any(|n| n == "rdpdr") {
                    push(&mut e.attributes, "drive_redirection", "true".to_string());
                }
                if names.iter().any(|n| n == "cliprdr") {
                    push(&mut e.attributes, "clipboard", "true".to_string());
                }
                push(&mut e.attributes, "channels", names.join(","));
            }
            // CS_CLUSTER, 2.2.1.3.5.
            0xc004 => {
                if let Some(f) = c.le_u32() {
                    push(&mut e.attributes, "cluster_flags", format!("{f:#010x}"));
                }
            }
            _ => {}
        }
    }
    emit.event(e);
}

/// Server data blocks of a Connect Response, added to `rdp.server` and emitted.
fn server_data(ctx: &PacketCtx<'_>, mut e: Event, data: &[u8], emit: &mut dyn Emit) {
    for (kind, body) in blocks(data) {
        let mut c = Cursor::new(body);
        match kind {
            // SC_CORE, 2.2.1.4.2.
            0x0c01 => {
                if let Some(v) = c.le_u32() {
                    push(&mut e.attributes, "server_version", format!("{v:#010x}"));
                }
            }
            // SC_SECURITY, 2.2.1.4.3.
            0x0c02 => {
                let (Some(method), Some(level)) = (c.le_u32(), c.le_u32()) else {
                    emit.malformed(ctx, PROTOCOL, "rdp_short_server_security");
                    continue;
                };
                push(&mut e.attributes, "encryption_method", encryption_method_name(method).into_owned());
                push(&mut e.attributes, "encryption_level", encryption_level_name(level).into_owned());
                let anomaly = match method {
                    0 => "rdp.no_encryption",
                    _ => "rdp.proprietary_encryption",
                };
                let mut a = ctx.event(PROTOCOL, EventKind::Anomaly, anomaly);
                push(&mut a.attributes, "encryption_method", encryption_method_name(method).into_owned());
                emit.event(a);
                if method != 0 {
                    push(&mut e.attributes, "proprietary_encryption", "true".to_string());
                }
                let (Some(rand_len), Some(cert_len)) = (c.le_u32(), c.le_u32()) else { continue };
                let cert = c.skip(rand_len as usize).and_then(|_| c.take(cert_len as usize));
                if let Some(cert) = cert {
                    server_certificate(&mut e.attributes, cert);
                }
            }
            _ => {}
        }
    }
    emit.event(e);
}

/// The server certificate of SC_SECURITY (2.2.1.4.3.1): version 1 is
/// Microsoft's proprietary format, 2 an X.509 chain whose last certificate is
/// the server's (2.2.1.4.3.1.1, as FreeRDP and rdesktop read it).
fn server_certificate(a: &mut Attrs, cert: &[u8]) {
    let mut c = Cursor::new(cert);
    let Some(version) = c.le_u32() else { return };
    match version & 0x7fff_ffff {
        1 => push(a, "certificate_type", "proprietary".to_string()),
        2 => {
            push(a, "certificate_type", "x509".to_string());
            let n = c.le_u32().unwrap_or(0);
            let mut last = None;
            for _ in 0..n.min(16) {
                let Some(len) = c.le_u32() else { break };
                let Some(der) = c.take(len as usize) else { break };
                last = Some(der);
            }
            if let Some((_, x)) = last.and_then(|d| x509_parser::parse_x509_certificate(d).ok()) {
                push(a, "certificate_subject", crate::tls::name_text(x.subject()));
                push(a, "certificate_issuer", crate::tls::name_text(x.issuer()));
            }
        }
        v => push(a, "certificate_type", format!("{v:#x}")),
    }
}

#[cfg(test)]
mod tests;
