//! OPC UA Secure Conversation (UASC, OPC 10000-6 §6.7): the headers that
//! follow the UA TCP header in `OPN`, `MSG` and `CLO` chunks, and the
//! reassembly of a message's chunks.
//!
//! Owns: the secure channel id; the asymmetric security header of `OPN`
//! (SecurityPolicyUri, the sender certificate — only its length is kept — and
//! the receiver certificate thumbprint's length); the symmetric header's token
//! id; the sequence header (sequence number, request id); and a per-direction
//! [`Reader`] that frames the stream ([`super::tcp`]), parses these headers
//! and joins `C` chunks to their `F` chunk by request id, within
//! [`MAX_MESSAGE`] bytes, with `A` abandoning the message (§6.7.2.4).
//!
//! What can be read depends on the channel's security (§6.7.2.3): with the
//! `None` policy everything is plain; with another policy an `OPN` is
//! encrypted from its sequence header on; with MessageSecurityMode Sign a
//! `MSG` is plain but ends in a signature (stripped here per chunk, for the
//! policies whose symmetric signature length is known); with SignAndEncrypt
//! it is encrypted, and only its chunk type is visible. The caller says which
//! ([`Protection`]), since the mode is decided in an `OPN` of the other
//! direction. Not here: verifying signatures or decrypting anything.

use super::encoding::{DecodeError, Decoder};
use super::tcp::{self, ChunkType, Framed, Framer, MessageType};

/// Most body bytes kept of a message reassembled from several chunks; the
/// rest of a longer message is counted but dropped (its start, where the
/// service and its headers are, is kept).
pub const MAX_MESSAGE: usize = 256 * 1024;
/// Most bytes of a security policy URI kept (the standard ones are < 64).
pub const MAX_POLICY_URI: usize = 256;

/// The URI of the `None` security policy: no signing, no encryption.
pub const POLICY_NONE: &[u8] = b"http://opcfoundation.org/UA/SecurityPolicy#None";

/// The standard security policies (OPC 10000-7 profiles) and the length of
/// their symmetric signature (HMAC-SHA1: 20 bytes, HMAC-SHA256: 32 bytes).
const POLICIES: &[(&[u8], usize)] = &[
    (POLICY_NONE, 0),
    (b"http://opcfoundation.org/UA/SecurityPolicy#Basic128Rsa15", 20),
    (b"http://opcfoundation.org/UA/SecurityPolicy#Basic256", 20),
    (b"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256", 32),
    (b"http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep", 32),
    (b"http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss", 32),
];

/// The symmetric signature length of a standard policy, `None` for others.
pub fn signature_len(policy_uri: &[u8]) -> Option<usize> {
    POLICIES.iter().find(|(p, _)| *p == policy_uri).map(|&(_, n)| n)
}

/// How the bodies of a direction's `MSG` and `CLO` chunks can be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// Policy `None`: plain.
    Plain,
    /// Mode Sign: plain, each chunk ending in a signature of this length.
    Signed(usize),
    /// Mode SignAndEncrypt: unreadable.
    Encrypted,
    /// A policy other than `None` whose mode could not be read (its `OPN` was
    /// encrypted), or no `OPN` seen: maybe signed (with this signature
    /// length), maybe encrypted; the caller decides by what the body holds.
    Unknown(usize),
}

/// The asymmetric security header of an `OPN` chunk (§6.7.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsymmetricHeader<'a> {
    /// SecurityPolicyUri (`None` when null).
    pub policy_uri: Option<&'a [u8]>,
    /// Length of the SenderCertificate (0 when null); the certificate itself is not kept.
    pub sender_certificate_len: usize,
    /// Length of the ReceiverCertificateThumbprint (0 when null).
    pub receiver_thumbprint_len: usize,
}

impl AsymmetricHeader<'_> {
    /// True for the `None` policy (or a null URI, which peers treat alike).
    pub fn is_policy_none(&self) -> bool {
        self.policy_uri.is_none_or(|p| p == POLICY_NONE)
    }
}

/// The sequence header (§6.7.2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceHeader {
    /// Increases by one per chunk sent on the channel.
    pub sequence_number: u32,
    /// Pairs a response's chunks with its request.
    pub request_id: u32,
}

/// One thing a [`Reader`] found, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit<'a> {
    /// A connection protocol message (HEL, ACK, ERR, RHE) and its body.
    Transport(MessageType, &'a [u8]),
    /// An `OPN` chunk's security header, for every `OPN` chunk.
    OpenHeader {
        /// The secure channel id (0 in the first request).
        channel_id: u32,
        /// Its asymmetric security header.
        header: AsymmetricHeader<'a>,
    },
    /// A whole message whose body can be parsed (or, under
    /// [`Protection::Unknown`], perhaps can).
    Message(Message<'a>),
    /// The final chunk of a message that cannot be read (encrypted).
    Encrypted {
        /// `OPN`, `MSG` or `CLO`.
        message_type: MessageType,
        /// Chunks of the message seen.
        chunks: u32,
    },
    /// An `A` chunk: the sender abandoned a message; its error and reason,
    /// when readable.
    Abort {
        /// `MSG` (or `OPN`, `CLO`).
        message_type: MessageType,
        /// The error, when the chunk is plain.
        error: Option<tcp::ErrorBody<'a>>,
    },
    /// A header or a security header that does not parse.
    Malformed(&'static str),
}

/// A whole message: its headers and its body, from the first chunk's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// `OPN`, `MSG` or `CLO`.
    pub message_type: MessageType,
    /// The secure channel id.
    pub channel_id: u32,
    /// The sequence header of the final chunk.
    pub sequence: SequenceHeader,
    /// The body: the encoding NodeId of the service message, then the
    /// message (with a trailing signature when signed and single-chunk).
    pub body: &'a [u8],
    /// Chunks the message came in.
    pub chunks: u32,
    /// True when the body was cut at [`MAX_MESSAGE`].
    pub truncated: bool,
    /// True when the body may be ciphertext ([`Protection::Unknown`]).
    pub maybe_encrypted: bool,
}

/// What a [`Reader`] counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// `C` chunks dropped because a chunk of another request came before
    /// their final chunk, or a final chunk whose earlier chunks were not seen.
    pub orphan_chunks: u64,
    /// Messages cut at [`MAX_MESSAGE`].
    pub truncated_messages: u64,
}

/// A message being reassembled.
#[derive(Debug)]
struct Partial {
    message_type: MessageType,
    request_id: u32,
    body: Vec<u8>,
    chunks: u32,
    truncated: bool,
}

/// Where a [`Reader`] sends what it finds, and asks how `MSG` and `CLO`
/// bodies can be read: the answer can change between two chunks of the same
/// input (an `OPN` request decides the mode for what follows it).
pub trait Units {
    /// How the next `MSG` or `CLO` chunk can be read.
    fn protection(&self) -> Protection;
    /// One unit found, in stream order.
    fn unit(&mut self, unit: Unit<'_>);
}

/// One direction of a UA TCP stream: chunks in, [`Unit`]s out.
#[derive(Debug, Default)]
pub struct Reader {
    framer: Framer,
    partial: Option<Partial>,
    /// Counters.
    pub stats: ReaderStats,
}

impl Reader {
    /// A reader expecting a header first.
    pub fn new() -> Self {
        Reader::default()
    }

    /// Bytes held between chunks (framing and reassembly).
    pub fn buffered(&self) -> usize {
        self.framer.buffered() + self.partial.as_ref().map_or(0, |p| p.body.len())
    }

    /// Bytes dropped while hunting for a header.
    pub fn skipped_bytes(&self) -> u64 {
        self.framer.stats.skipped_bytes
    }

    /// `len` bytes are missing: the framer resynchronises and a message being
    /// reassembled is dropped.
    pub fn gap(&mut self, len: u64) {
        self.framer.gap(len);
        self.partial = None;
    }

    /// Feeds in-order bytes; hands every unit found to `out`, which says how
    /// `MSG` and `CLO` bodies can be read.
    pub fn push(&mut self, data: &[u8], out: &mut dyn Units) {
        let Reader { framer, partial, stats } = self;
        framer.push(data, &mut |f| match f {
            Framed::Malformed(e) => out.unit(Unit::Malformed(e.what())),
            Framed::Frame(h, body) => {
                let protection = out.protection();
                chunk(partial, stats, h, body, protection, &mut |u| out.unit(u));
            }
        });
    }
}

/// One chunk.
fn chunk(
    partial: &mut Option<Partial>,
    stats: &mut ReaderStats,
    h: tcp::Header,
    body: &[u8],
    protection: Protection,
    out: &mut dyn FnMut(Unit<'_>),
) {
    let t = h.message_type;
    if t.is_transport() {
        out(Unit::Transport(t, body));
        return;
    }
    let mut d = Decoder::new(body);
    let Ok(channel_id) = d.u32() else {
        out(Unit::Malformed("truncated_security_header"));
        return;
    };
    let protection = if t == MessageType::OPEN {
        match asymmetric_header(&mut d) {
            Ok(header) => {
                out(Unit::OpenHeader { channel_id, header });
                // §6.7.2.3: an OPN is encrypted (from the sequence header on)
                // under any policy but None, whatever the mode.
                if header.is_policy_none() {
                    Protection::Plain
                } else {
                    Protection::Encrypted
                }
            }
            Err(_) => {
                out(Unit::Malformed("bad_asymmetric_header"));
                return;
            }
        }
    } else {
        // TokenId of the symmetric security header.
        if d.u32().is_err() {
            out(Unit::Malformed("truncated_security_header"));
            return;
        }
        protection
    };
    let signature = match protection {
        Protection::Encrypted => {
            *partial = None;
            match h.chunk_type {
                ChunkType::FINAL => out(Unit::Encrypted { message_type: t, chunks: 1 }),
                ChunkType::ABORT => out(Unit::Abort { message_type: t, error: None }),
                _ => {}
            }
            return;
        }
        Protection::Plain => 0,
        Protection::Signed(n) | Protection::Unknown(n) => n,
    };
    let maybe_encrypted = matches!(protection, Protection::Unknown(_));
    let (Ok(sequence_number), Ok(request_id)) = (d.u32(), d.u32()) else {
        out(Unit::Malformed("truncated_sequence_header"));
        return;
    };
    let sequence = SequenceHeader { sequence_number, request_id };
    let rest = d.rest();
    let content = rest.get(..rest.len().saturating_sub(signature)).unwrap_or_default();
    let same = |p: &Partial| p.request_id == request_id && p.message_type == t;
    match h.chunk_type {
        ChunkType::INTERMEDIATE => match partial {
            Some(p) if same(p) => {
                p.chunks += 1;
                append(p, content, stats);
            }
            _ => {
                // Under Unknown, ciphertext request ids never match: not counted.
                if partial.is_some() && !maybe_encrypted {
                    stats.orphan_chunks += 1;
                }
                let mut p = Partial { message_type: t, request_id, body: Vec::new(), chunks: 1, truncated: false };
                append(&mut p, content, stats);
                *partial = Some(p);
            }
        },
        ChunkType::ABORT => {
            if partial.as_ref().is_some_and(same) {
                *partial = None;
            }
            let error = if maybe_encrypted { None } else { tcp::parse_error(content).ok() };
            out(Unit::Abort { message_type: t, error });
        }
        _ => {
            let taken = partial.take();
            let m = |body, chunks, truncated| Message {
                message_type: t,
                channel_id,
                sequence,
                body,
                chunks,
                truncated,
                maybe_encrypted,
            };
            match taken {
                Some(mut p) if same(&p) => {
                    append(&mut p, content, stats);
                    out(Unit::Message(m(&p.body, p.chunks + 1, p.truncated)));
                }
                other => {
                    if other.is_some() && !maybe_encrypted {
                        stats.orphan_chunks += 1;
                    }
                    // A single chunk: the signature, if any, stays at the end,
                    // where parsing never reaches.
                    out(Unit::Message(m(rest, 1, false)));
                }
            }
        }
    }
}

/// Appends a chunk's content, within [`MAX_MESSAGE`].
fn append(p: &mut Partial, content: &[u8], stats: &mut ReaderStats) {
    let room = MAX_MESSAGE.saturating_sub(p.body.len());
    if content.len() > room && !p.truncated {
        p.truncated = true;
        stats.truncated_messages += 1;
    }
    p.body.extend_from_slice(content.get(..room.min(content.len())).unwrap_or_default());
}

/// The asymmetric security header (§6.7.2.3, Table 42).
pub fn asymmetric_header<'a>(d: &mut Decoder<'a>) -> Result<AsymmetricHeader<'a>, DecodeError> {
    let policy_uri = d.string()?;
    if policy_uri.is_some_and(|p| p.len() > MAX_POLICY_URI) {
        return Err(DecodeError::TooLong("security_policy_uri"));
    }
    let sender_certificate_len = d.byte_string()?.map_or(0, <[u8]>::len);
    let receiver_thumbprint_len = d.byte_string()?.map_or(0, <[u8]>::len);
    Ok(AsymmetricHeader { policy_uri, sender_certificate_len, receiver_thumbprint_len })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// A MSG chunk of `chunk` type carrying `payload` for request `rid`.
    pub(crate) fn msg(chunk: u8, rid: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = b"MSG".to_vec();
        v.push(chunk);
        v.extend_from_slice(&(24 + payload.len() as u32).to_le_bytes()); // message size
        v.extend_from_slice(&7u32.to_le_bytes()); // secure channel id 7
        v.extend_from_slice(&1u32.to_le_bytes()); // token id 1
        v.extend_from_slice(&rid.to_le_bytes()); // sequence number (= rid here)
        v.extend_from_slice(&rid.to_le_bytes()); // request id
        v.extend_from_slice(payload);
        v
    }

    /// Records units as text, at a fixed protection.
    struct Texts(Protection, Vec<String>);

    impl Units for Texts {
        fn protection(&self) -> Protection {
            self.0
        }
        fn unit(&mut self, u: Unit<'_>) {
            self.1.push(match u {
                Unit::Message(m) => {
                    let t = if m.truncated { " truncated" } else { "" };
                    format!(
                        "msg {} {:?} {}{t}",
                        m.sequence.request_id,
                        m.body.get(..8.min(m.body.len())).unwrap(),
                        m.chunks
                    )
                }
                other => format!("{other:?}"),
            });
        }
    }

    fn units(r: &mut Reader, data: &[u8], p: Protection) -> Vec<String> {
        let mut t = Texts(p, Vec::new());
        r.push(data, &mut t);
        t.1
    }

    #[test]
    fn joins_intermediate_chunks_to_their_final_chunk() {
        let mut r = Reader::new();
        let stream = [msg(b'C', 5, &[1, 2]), msg(b'C', 5, &[3]), msg(b'F', 5, &[4])].concat();
        assert_eq!(units(&mut r, &stream, Protection::Plain), vec!["msg 5 [1, 2, 3, 4] 3"]);
        assert_eq!(r.buffered(), 0);
    }

    #[test]
    fn strips_signatures_per_chunk_when_signed() {
        let mut r = Reader::new();
        let stream = [msg(b'C', 5, &[1, 2, 0xee]), msg(b'F', 5, &[3, 0xee])].concat();
        assert_eq!(units(&mut r, &stream, Protection::Signed(1)), vec!["msg 5 [1, 2, 3] 2"]);
    }

    #[test]
    fn an_abort_drops_the_message_and_reports_its_error() {
        let mut r = Reader::new();
        let abort = [0x00, 0x00, 0x80, 0x80, 0xff, 0xff, 0xff, 0xff]; // BadRequestTooLarge, no reason
        let stream = [msg(b'C', 5, &[1]), msg(b'A', 5, &abort), msg(b'F', 6, &[9])].concat();
        let got = units(&mut r, &stream, Protection::Plain);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("Abort") && got[0].contains("2155872256"), "{got:?}");
        assert_eq!(got[1], "msg 6 [9] 1");
        assert_eq!(r.stats.orphan_chunks, 0);
    }

    #[test]
    fn a_final_chunk_of_another_request_leaves_the_partial_one_orphaned() {
        let mut r = Reader::new();
        let stream = [msg(b'C', 5, &[1]), msg(b'F', 6, &[9])].concat();
        assert_eq!(units(&mut r, &stream, Protection::Plain), vec!["msg 6 [9] 1"]);
        assert_eq!(r.stats.orphan_chunks, 1);
    }

    #[test]
    fn encrypted_messages_are_counted_on_their_final_chunk_only() {
        let mut r = Reader::new();
        let stream = [msg(b'C', 5, &[1]), msg(b'F', 5, &[2])].concat();
        let got = units(&mut r, &stream, Protection::Encrypted);
        assert_eq!(got, vec![format!("{:?}", Unit::Encrypted { message_type: MessageType::MESSAGE, chunks: 1 })]);
    }

    #[test]
    fn caps_a_reassembled_message() {
        let mut r = Reader::new();
        let big = vec![0u8; 200_000];
        let mut got = Vec::new();
        for _ in 0..3 {
            got.extend(units(&mut r, &msg(b'C', 5, &big), Protection::Plain));
        }
        assert!(got.is_empty());
        assert_eq!(r.buffered(), MAX_MESSAGE);
        assert_eq!(
            units(&mut r, &msg(b'F', 5, &[1]), Protection::Plain),
            vec!["msg 5 [0, 0, 0, 0, 0, 0, 0, 0] 4 truncated"]
        );
        assert_eq!(r.stats.truncated_messages, 1);
    }

    #[test]
    fn reads_the_asymmetric_header_and_keeps_only_the_certificate_length() {
        let mut body = 0u32.to_le_bytes().to_vec(); // secure channel id 0
        body.extend_from_slice(&(POLICY_NONE.len() as u32).to_le_bytes());
        body.extend_from_slice(POLICY_NONE); // SecurityPolicyUri
        body.extend_from_slice(&3u32.to_le_bytes());
        body.extend_from_slice(&[0x30, 0x82, 0x01]); // SenderCertificate: 3 bytes
        body.extend_from_slice(&(-1i32).to_le_bytes()); // ReceiverCertificateThumbprint: null
        body.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]); // sequence number 1, request id 1
        body.extend_from_slice(&[0x01, 0x00, 0xbe, 0x01]); // OpenSecureChannelRequest (446)
        let mut chunk = b"OPNF".to_vec();
        chunk.extend_from_slice(&(8 + body.len() as u32).to_le_bytes());
        chunk.extend_from_slice(&body);
        let got = units(&mut Reader::new(), &chunk, Protection::Encrypted);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("sender_certificate_len: 3, receiver_thumbprint_len: 0"), "{got:?}");
        assert_eq!(got[1], "msg 1 [1, 0, 190, 1] 1", "an OPN under None is plain");
    }
}
