//! OPC UA Connection Protocol (UA TCP, OPC 10000-6 §7.1): the 8-byte message
//! header that frames one direction of a TCP stream into chunks, and the
//! bodies of the transport's own messages — Hello, Acknowledge, Error and
//! ReverseHello.
//!
//! Owns the header — MessageType (3 ASCII bytes), ChunkType (`F`, `C`, `A`)
//! and MessageSize (little-endian u32, header included) — and what makes a
//! position a plausible chunk start when resynchronising. What follows the
//! header of `OPN`, `MSG` and `CLO` chunks is the secure conversation's
//! ([`super::secure`]).
//!
//! The [`Framer`] is the shared length-prefixed one ([`crate::framing`]) over
//! the [`UaTcp`] format. MessageSize is 32 bits, but a chunk is at most the
//! receive buffer size the peers negotiated (§7.1.2.3: at least 8192 bytes;
//! stacks use 64 KiB, a few up to 16 MiB); the framer buffers at most
//! [`MAX_CHUNK`] bytes and reports a larger size as malformed.

use super::encoding::{DecodeError, Decoder};
use crate::framing::{self, FrameFormat};
use std::fmt;

pub use crate::framing::{FramerStats, Plausible};

/// Length of the message header.
pub const HEADER_LEN: usize = 8;
/// Largest chunk the framer accepts and so the most it buffers per direction.
pub const MAX_CHUNK: usize = 1 << 20;
/// Longest EndpointUrl a Hello may carry (§7.1.2.3: "shall be less than 4096 bytes").
pub const MAX_URL: usize = 4096;

/// The message type: three ASCII letters (§7.1.2.2, Table 50; §6.7.2.2, Table 41).
/// Open: an unknown type is reported by its letters, not rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MessageType(pub [u8; 3]);

impl MessageType {
    /// Hello, client to server: opens the connection.
    pub const HELLO: MessageType = MessageType(*b"HEL");
    /// Acknowledge, server to client: accepts the Hello.
    pub const ACKNOWLEDGE: MessageType = MessageType(*b"ACK");
    /// Error: a fatal error, after which the sender closes the connection.
    pub const ERROR: MessageType = MessageType(*b"ERR");
    /// ReverseHello, server to client: a server-initiated connection (§7.1.2.6).
    pub const REVERSE_HELLO: MessageType = MessageType(*b"RHE");
    /// OpenSecureChannel (secure conversation, asymmetric security header).
    pub const OPEN: MessageType = MessageType(*b"OPN");
    /// CloseSecureChannel (symmetric security header).
    pub const CLOSE: MessageType = MessageType(*b"CLO");
    /// A service message (symmetric security header).
    pub const MESSAGE: MessageType = MessageType(*b"MSG");

    /// True for the seven types the specification defines.
    pub fn is_known(self) -> bool {
        self.is_transport() || self.is_secure()
    }

    /// True for the connection protocol's own messages (HEL, ACK, ERR, RHE),
    /// which are never chunked.
    pub fn is_transport(self) -> bool {
        matches!(self, Self::HELLO | Self::ACKNOWLEDGE | Self::ERROR | Self::REVERSE_HELLO)
    }

    /// True for the secure conversation's messages (OPN, CLO, MSG).
    pub fn is_secure(self) -> bool {
        matches!(self, Self::OPEN | Self::CLOSE | Self::MESSAGE)
    }

    /// The three letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

/// The chunk type (§6.7.2.2): `F` final, `C` intermediate, `A` abort.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkType(pub u8);

impl ChunkType {
    /// The final (or only) chunk of a message.
    pub const FINAL: ChunkType = ChunkType(b'F');
    /// An intermediate chunk: more follow.
    pub const INTERMEDIATE: ChunkType = ChunkType(b'C');
    /// The sender abandons the message; the chunk carries an error and reason.
    pub const ABORT: ChunkType = ChunkType(b'A');

    /// True for `F`, `C` and `A`.
    pub fn is_known(self) -> bool {
        matches!(self, Self::FINAL | Self::INTERMEDIATE | Self::ABORT)
    }
}

/// A message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// What the chunk is.
    pub message_type: MessageType,
    /// Final, intermediate or abort.
    pub chunk_type: ChunkType,
    /// The whole chunk's length, header included.
    pub size: u32,
}

impl Header {
    /// The chunk's length in bytes.
    pub fn chunk_len(&self) -> usize {
        usize::try_from(self.size).unwrap_or(usize::MAX)
    }
}

/// Why bytes cannot start a chunk.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpError {
    /// Not one of the seven message types.
    BadMessageType([u8; 3]),
    /// Not `F`, `C` or `A`, or not `F` on a transport message (§7.1.2.2: "the
    /// ChunkType shall be F" for HEL, ACK, ERR and RHE).
    BadChunkType(u8),
    /// Shorter than the smallest message of its type.
    TooShort(u32),
    /// Larger than [`MAX_CHUNK`].
    TooLarge(u32),
}

impl TcpError {
    /// The short reason counted with a malformed message.
    pub fn what(self) -> &'static str {
        match self {
            TcpError::BadMessageType(_) => "bad_message_type",
            TcpError::BadChunkType(_) => "bad_chunk_type",
            TcpError::TooShort(_) => "message_too_short",
            TcpError::TooLarge(_) => "message_too_large",
        }
    }
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            TcpError::BadMessageType(t) => write!(f, "OPC UA message type {t:02x?}"),
            TcpError::BadChunkType(c) => write!(f, "OPC UA chunk type {c:#04x}"),
            TcpError::TooShort(n) => write!(f, "OPC UA message size {n} below its type's minimum"),
            TcpError::TooLarge(n) => write!(f, "OPC UA message size {n} above {MAX_CHUNK}"),
        }
    }
}

impl std::error::Error for TcpError {}

/// The smallest chunk of a message type: the header and the fixed fields
/// that follow it (Hello: five u32 and a String length; Acknowledge: five
/// u32; Error: error and reason length; ReverseHello: two String lengths;
/// OPN: channel id and the three lengths of the asymmetric header; MSG and
/// CLO: channel id and token id).
fn min_size(t: MessageType) -> u32 {
    match t {
        MessageType::HELLO => 8 + 24,
        MessageType::ACKNOWLEDGE => 8 + 20,
        MessageType::ERROR => 8 + 8,
        MessageType::REVERSE_HELLO => 8 + 8,
        MessageType::OPEN => 8 + 16,
        _ => 8 + 8,
    }
}

/// Parses the header at the start of `data`: `Ok(None)` when fewer than
/// [`HEADER_LEN`] bytes are there.
pub fn parse_header(data: &[u8]) -> Result<Option<Header>, TcpError> {
    // Reject on the first bytes already, so a probe or a hunt does not wait
    // for eight bytes that cannot start a chunk.
    if let Some(e) = prefix_error(data) {
        return Err(e);
    }
    let Some(&[a, b, c, chunk, s0, s1, s2, s3]) = data.first_chunk::<HEADER_LEN>() else { return Ok(None) };
    let message_type = MessageType([a, b, c]);
    let size = u32::from_le_bytes([s0, s1, s2, s3]);
    if size < min_size(message_type) {
        return Err(TcpError::TooShort(size));
    }
    if size as usize > MAX_CHUNK {
        return Err(TcpError::TooLarge(size));
    }
    Ok(Some(Header { message_type, chunk_type: ChunkType(chunk), size }))
}

/// The error the first (up to four) bytes already show, if any.
fn prefix_error(data: &[u8]) -> Option<TcpError> {
    const TYPES: [MessageType; 7] = [
        MessageType::HELLO,
        MessageType::ACKNOWLEDGE,
        MessageType::ERROR,
        MessageType::REVERSE_HELLO,
        MessageType::OPEN,
        MessageType::CLOSE,
        MessageType::MESSAGE,
    ];
    let n = data.len().min(3);
    let head = data.get(..n)?;
    let t = TYPES.iter().find(|t| t.0.get(..n) == Some(head))?;
    let &chunk = data.get(3)?;
    let ok = if t.is_transport() { chunk == b'F' } else { ChunkType(chunk).is_known() };
    (!ok).then_some(TcpError::BadChunkType(chunk))
}

/// Like [`prefix_error`], but also for an unknown type: the error the first
/// bytes show, `None` while they are consistent with some header.
fn early_error(data: &[u8]) -> Option<TcpError> {
    let known_prefix = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"CLO", b"MSG"]
        .iter()
        .any(|t| t.get(..data.len().min(3)) == data.get(..data.len().min(3)));
    if !known_prefix {
        let mut t = [0u8; 3];
        for (d, s) in t.iter_mut().zip(data) {
            *d = *s;
        }
        return Some(TcpError::BadMessageType(t));
    }
    prefix_error(data)
}

/// Judges whether `data` starts with a plausible chunk: a known type and
/// chunk type, and a size in range for the type.
pub fn plausible(data: &[u8]) -> Plausible {
    if early_error(data).is_some() {
        return Plausible::No;
    }
    match parse_header(data) {
        Err(_) => Plausible::No,
        Ok(None) => Plausible::NeedMore,
        Ok(Some(_)) => Plausible::Yes,
    }
}

/// UA TCP as a [`FrameFormat`]: a frame is a chunk, its body what follows the
/// 8-byte header.
#[derive(Clone, Copy, Debug)]
pub struct UaTcp;

impl FrameFormat for UaTcp {
    const HEADER_LEN: usize = HEADER_LEN;
    const PLAUSIBLE_LEN: usize = HEADER_LEN;
    const MAX_FRAME: usize = MAX_CHUNK;
    type Header = Header;
    type Error = TcpError;
    fn header(data: &[u8]) -> Result<Option<Header>, TcpError> {
        if let Some(e) = early_error(data) {
            return Err(e);
        }
        parse_header(data)
    }
    fn frame_len(header: &Header) -> usize {
        header.chunk_len()
    }
    fn plausible(data: &[u8]) -> Plausible {
        plausible(data)
    }
}

/// What the framer found: a chunk (header and body) or a bad header.
pub type Framed<'a> = framing::Framed<'a, Header, TcpError>;

/// Cuts one direction of a stream into chunks, whatever the chunking.
pub type Framer = framing::Framer<UaTcp>;

/// Hello (§7.1.2.3) and Acknowledge (§7.1.2.4): the buffer sizes a peer
/// offers or accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello<'a> {
    /// ProtocolVersion (0 in every published edition).
    pub protocol_version: u32,
    /// ReceiveBufferSize: the largest chunk the sender accepts.
    pub receive_buffer_size: u32,
    /// SendBufferSize: the largest chunk the sender sends.
    pub send_buffer_size: u32,
    /// MaxMessageSize (0: no limit).
    pub max_message_size: u32,
    /// MaxChunkCount (0: no limit).
    pub max_chunk_count: u32,
    /// EndpointUrl the client connects to (Hello only; `None` when null).
    pub endpoint_url: Option<&'a [u8]>,
}

/// Parses a Hello body.
pub fn parse_hello(body: &[u8]) -> Result<Hello<'_>, DecodeError> {
    let mut d = Decoder::new(body);
    let mut h = parse_acknowledge_fields(&mut d)?;
    let url = d.string()?;
    // §7.1.2.3: the EndpointUrl is shorter than 4096 bytes.
    if url.is_some_and(|u| u.len() >= MAX_URL) {
        return Err(DecodeError::TooLong("endpoint_url"));
    }
    h.endpoint_url = url;
    Ok(h)
}

/// Parses an Acknowledge body.
pub fn parse_acknowledge(body: &[u8]) -> Result<Hello<'_>, DecodeError> {
    parse_acknowledge_fields(&mut Decoder::new(body))
}

fn parse_acknowledge_fields<'a>(d: &mut Decoder<'a>) -> Result<Hello<'a>, DecodeError> {
    Ok(Hello {
        protocol_version: d.u32()?,
        receive_buffer_size: d.u32()?,
        send_buffer_size: d.u32()?,
        max_message_size: d.u32()?,
        max_chunk_count: d.u32()?,
        endpoint_url: None,
    })
}

/// Error (§7.1.2.5), and the body of an abort chunk (§6.7.2.4): a status code
/// and a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    /// The status code of the error.
    pub error: u32,
    /// Why, in words (`None` when null).
    pub reason: Option<&'a [u8]>,
}

/// Parses an Error body or an abort chunk's body.
pub fn parse_error(body: &[u8]) -> Result<ErrorBody<'_>, DecodeError> {
    let mut d = Decoder::new(body);
    Ok(ErrorBody { error: d.u32()?, reason: d.string()? })
}

/// ReverseHello (§7.1.2.6): the server that opened the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReverseHello<'a> {
    /// ServerUri: the server's ApplicationUri.
    pub server_uri: Option<&'a [u8]>,
    /// EndpointUrl the client should use.
    pub endpoint_url: Option<&'a [u8]>,
}

/// Parses a ReverseHello body.
pub fn parse_reverse_hello(body: &[u8]) -> Result<ReverseHello<'_>, DecodeError> {
    let mut d = Decoder::new(body);
    Ok(ReverseHello { server_uri: d.string()?, endpoint_url: d.string()? })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::framing::tests::{frame_all, splits_at_every_pair_of_offsets, stays_bounded};
    use proptest::prelude::*;

    /// A Hello from `opc-ua-ap-method-wireshark-freeze.pcap` (frame 4), shortened URL.
    const HELLO: [u8; 48] = [
        b'H', b'E', b'L', b'F', // message type HEL, chunk type F
        0x30, 0x00, 0x00, 0x00, // message size 48
        0x00, 0x00, 0x00, 0x00, // protocol version 0
        0x00, 0x00, 0x01, 0x00, // receive buffer size 65536
        0x00, 0x00, 0x01, 0x00, // send buffer size 65536
        0x00, 0x00, 0x00, 0x01, // max message size 16 MiB
        0x00, 0x00, 0x00, 0x00, // max chunk count 0: no limit
        0x0c, 0x00, 0x00, 0x00, // endpoint URL length 12
        b'o', b'p', b'c', b'.', b't', b'c', b'p', b':', b'/', b'/', b'h', b'1', // "opc.tcp://h1"
        0x00, 0x00, 0x00, 0x00, // (4 bytes beyond the URL: a longer message is tolerated)
    ];

    #[test]
    fn parses_a_hello_header_and_body() {
        let h = parse_header(&HELLO).unwrap().unwrap();
        assert_eq!(h, Header { message_type: MessageType::HELLO, chunk_type: ChunkType::FINAL, size: 48 });
        let hello = parse_hello(&HELLO[HEADER_LEN..]).unwrap();
        assert_eq!(hello.receive_buffer_size, 65536);
        assert_eq!(hello.max_message_size, 1 << 24);
        assert_eq!(hello.endpoint_url, Some(&b"opc.tcp://h1"[..]));
    }

    #[test]
    fn rejects_unknown_types_chunked_transport_messages_and_bad_sizes() {
        assert_eq!(UaTcp::header(b"GET / HTTP/1.1"), Err(TcpError::BadMessageType(*b"GET")));
        assert_eq!(UaTcp::header(b"HE"), Ok(None));
        assert_eq!(UaTcp::header(b"HELC\x20\0\0\0"), Err(TcpError::BadChunkType(b'C')));
        assert_eq!(UaTcp::header(b"MSGX"), Err(TcpError::BadChunkType(b'X')));
        assert_eq!(parse_header(b"MSGF\x0f\0\0\0"), Err(TcpError::TooShort(15)));
        assert_eq!(parse_header(b"MSGC\x01\0\x10\0"), Err(TcpError::TooLarge(0x0010_0001)));
        assert_eq!(parse_header(b"MSGA\x10\0\0\0").unwrap().unwrap().chunk_type, ChunkType::ABORT);
    }

    #[test]
    fn judges_plausibility_from_the_first_bytes() {
        assert_eq!(plausible(b"M"), Plausible::NeedMore);
        assert_eq!(plausible(b"MSGF"), Plausible::NeedMore);
        assert_eq!(plausible(b"MSX"), Plausible::No);
        assert_eq!(plausible(&HELLO), Plausible::Yes);
    }

    #[test]
    fn parses_error_and_reverse_hello_bodies() {
        let err = [
            0x00, 0x00, 0x06, 0x80, // error 0x80060000 BadEncodingLimitsExceeded
            0x02, 0x00, 0x00, 0x00, b'n', b'o', // reason "no"
        ];
        assert_eq!(parse_error(&err).unwrap(), ErrorBody { error: 0x8006_0000, reason: Some(&b"no"[..]) });
        let rhe = [
            0x01, 0x00, 0x00, 0x00, b'u', // server URI "u"
            0xff, 0xff, 0xff, 0xff, // endpoint URL null
        ];
        assert_eq!(
            parse_reverse_hello(&rhe).unwrap(),
            ReverseHello { server_uri: Some(&b"u"[..]), endpoint_url: None }
        );
        assert!(parse_error(&err[..6]).is_err());
    }

    #[test]
    fn splitting_the_stream_at_every_offset_yields_the_same_chunks() {
        splits_at_every_pair_of_offsets::<UaTcp>(&[HELLO, HELLO].concat(), 2);
    }

    #[test]
    fn resynchronises_after_garbage() {
        let mut stream = b"xxMSG".to_vec();
        stream.extend_from_slice(&HELLO);
        let got = frame_all(&mut Framer::new(), &[&stream]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].is_err());
        assert!(got[1].is_ok());
    }

    proptest! {
        #[test]
        fn never_buffers_more_than_a_chunk(input in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..8)
        ) {
            stays_bounded::<UaTcp>(&input)?;
        }
    }
}
