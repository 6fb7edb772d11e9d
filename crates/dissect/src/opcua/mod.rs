//! OPC UA over TCP in the binary encoding (`opc.tcp`), as OPC 10000-6
//! (Mappings) v1.05 §6.7 and §7.1 and OPC 10000-4 (Services) say.
//!
//! Layers, one module each:
//! - [`tcp`]: the UA TCP message header and the framer that cuts a stream into
//!   chunks, resynchronising after bad headers and gaps; Hello, Acknowledge,
//!   Error and ReverseHello;
//! - [`secure`]: the secure conversation: channel id, asymmetric (`OPN`) and
//!   symmetric security headers, sequence header, chunk reassembly and
//!   aborts, and what the channel's security leaves readable;
//! - [`encoding`]: the UA binary built-in types, decoded without panics and
//!   within caps;
//! - [`names`]: service encoding ids and names, generated from tshark;
//! - [`services`]: which service a message is, its class, and the fields of
//!   the requests and responses reported;
//! - `session`: per-flow security state, client side, request/response
//!   pairing by RequestHandle, reporting.
//!
//! Reporting: every message is counted once. Service messages are named by
//! their service in snake_case (`read`, `write`, `activate_session`,
//! `get_endpoints`), the same for request and response; a ServiceFault takes
//! its request's name with `_fault` (`write_fault`, class of the request), or
//! is `service_fault` (class Session) when its request was not seen; an id no
//! table names is `unknown_service_N` (class Unknown). Transport messages are
//! `hello`, `acknowledge`, `error`, `reverse_hello`, and abort chunks
//! `abort` (class Session). A message that cannot be read because the channel
//! encrypts it (mode SignAndEncrypt, or a policy other than None whose mode
//! was not seen and a body that does not start with a service id) is
//! `encrypted`, class Unknown: it could be any service, writes included.
//! Notable classes (Write: Write, Call, HistoryUpdate; Configuration: node
//! management, RegisterServer; Authentication: ActivateSession) go through
//! [`Emit::operation`](crate::Emit::operation) with their node ids, value
//! types, token type and user name; a successful answer is folded into its
//! request ([`Emit::answer`](crate::Emit::answer)), a failed one (Bad service
//! result, Bad item results, ServiceFault) is kept with its status.
//! Identity events: `opcua.server`, `opcua.endpoint` (GetEndpoints,
//! CreateSession and FindServers answers), `opcua.client` (CreateSession),
//! `opcua.build_info` (a Read of ServerStatus or its BuildInfo), and
//! `opcua.secure_channel` (policy and mode, `insecure` for None); each once
//! per flow. An Error message is an `opcua.error` anomaly event.
//!
//! The probe accepts any port: a UA TCP header (one of the seven message
//! types, a chunk type allowed for it, a size in range) at the start of the
//! stream. Ports 4840 and 4843 only order it.
//!
//! Not done: OPC UA over HTTPS or WebSockets, the XML and JSON encodings,
//! decrypting or verifying anything, and the contents of browse results,
//! subscriptions, notifications, history data and queries.

pub mod encoding;
pub mod names;
pub mod secure;
pub mod services;
mod session;
pub mod tcp;

use crate::{PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::Direction;

/// Protocol name in records.
pub(crate) const PROTOCOL: &str = "opcua";
/// The registered `opc.tcp` port (IANA opcua-tcp).
pub const PORT: u16 = 4840;
/// The IANA port of OPC UA over TLS, often used for `opc.tcp` too.
pub const PORT_TLS: u16 = 4843;

/// What a session decoded, message by message: for cross-checks against
/// other dissectors. Not needed to run the dissector.
pub trait Tap: Send {
    /// One message (or abort chunk) at the packet that completed it: its
    /// type; for a service message that could be read, its encoding id; for
    /// an `OPN`, the SecurityPolicyUri of its security header.
    fn message(
        &mut self,
        ctx: &PacketCtx<'_>,
        message_type: tcp::MessageType,
        service: Option<services::ServiceId>,
        policy_uri: Option<&str>,
    );
}

/// The OPC UA binary stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Opcua;

impl StreamDissector for Opcua {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == PORT || server_port == PORT_TLS
    }

    /// 4840 only: 4843 is OPC UA over TLS, which a TLS session is.
    fn owns_port(&self, server_port: u16) -> bool {
        server_port == PORT
    }

    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        match tcp::plausible(data) {
            tcp::Plausible::Yes => Probe::Match,
            tcp::Plausible::No => Probe::NoMatch,
            tcp::Plausible::NeedMore => Probe::NeedMore,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(session::Session::new(None))
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Whether the chunk at the start of `data` came from the client: a Hello
/// does; an Acknowledge, Error or ReverseHello comes from the server; a
/// secure conversation chunk says by the type of its body, a `...Request`
/// or a `...Response` (or ServiceFault), when the body is in clear and
/// starts there (the first chunk of a message, security mode None).
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let h = tcp::parse_header(data).ok()??;
    match h.message_type {
        tcp::MessageType::HELLO => return Some(true),
        tcp::MessageType::ACKNOWLEDGE | tcp::MessageType::ERROR | tcp::MessageType::REVERSE_HELLO => {
            return Some(false)
        }
        _ => {}
    }
    let chunk = data.get(tcp::HEADER_LEN..h.chunk_len().min(data.len()))?;
    let mut d = encoding::Decoder::new(chunk);
    d.u32().ok()?; // secure channel id
    if h.message_type == tcp::MessageType::OPEN {
        // Asymmetric security header: policy URI, certificate, thumbprint.
        d.string().ok()?;
        d.byte_string().ok()?;
        d.byte_string().ok()?;
    } else {
        d.u32().ok()?; // token id
    }
    d.u64().ok()?; // sequence number and request id
    match services::ServiceId::of(&services::encoding_id(&mut d).ok()?).kind() {
        services::Kind::Request => Some(true),
        services::Kind::Response | services::Kind::Fault => Some(false),
        services::Kind::Unknown => None,
    }
}

impl Opcua {
    /// A session that also reports what it decodes to `tap`.
    pub fn session_with_tap(tap: Box<dyn Tap>) -> Box<dyn StreamSession> {
        Box::new(session::Session::new(Some(tap)))
    }
}

#[cfg(test)]
mod tests;
