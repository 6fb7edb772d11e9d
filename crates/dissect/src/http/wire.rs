//! HTTP/1.x message framing (RFC 9112): cuts both directions of a connection
//! into message heads, and skips bodies by their framing without buffering
//! them.
//!
//! Owns: the head buffer of each direction (at most [`MAX_HEAD`] bytes), the
//! body framing rules of RFC 9112 §6.3 (HEAD, 1xx, 204 and 304 answers have no
//! body; chunked transfer coding, then Content-Length; a response without
//! either runs to the end of the connection; a request without either has
//! none), chunked decoding as a byte-by-byte state machine (§7.1), pipelined
//! requests paired with their responses in order, and where HTTP/1.x stops:
//! a 101 Switching Protocols (WebSocket, h2c), a CONNECT tunnel, an HTTP/2
//! prior-knowledge preface (RFC 9113 §3.4). Heads are parsed by `httparse`
//! into a fixed header array, borrowed from the buffer or the caller's chunk.
//!
//! Not here: what a message means (the session in `mod.rs`), HTTP/2, bodies.

use std::collections::VecDeque;

/// Longest head (request or status line and header fields) read.
pub const MAX_HEAD: usize = 16 * 1024;
/// Header fields read per head; more is malformed.
pub const MAX_HEADERS: usize = 96;
/// Requests awaiting their response; a client pipelining more is not paired.
const MAX_PENDING: usize = 64;
/// Longest chunk-size line (with extensions) and trailer section.
const MAX_CHUNK_LINE: usize = 4096;

/// The HTTP/2 connection preface a client sends with prior knowledge.
pub const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Why a direction stopped being read as HTTP/1.x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// 101 Switching Protocols: the connection now speaks what `Upgrade` named.
    Upgrade,
    /// A CONNECT request (and its 2xx answer): the connection is a tunnel.
    Connect,
    /// The HTTP/2 preface: the client speaks HTTP/2 with prior knowledge.
    Http2,
}

/// Why bytes could not be read as HTTP/1.x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No head end within [`MAX_HEAD`] bytes.
    HeadTooLong,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// A request or status line, or a header field, that is not HTTP/1.x.
    BadHead,
    /// A Content-Length that is not a number, or two that differ (§6.3 rule 5).
    BadContentLength,
    /// A chunk-size line that is not hex, or a chunk not ended by CRLF.
    BadChunk,
}

impl Error {
    /// The name a malformed message is counted under.
    pub fn name(self) -> &'static str {
        match self {
            Error::HeadTooLong => "http_head_too_long",
            Error::TooManyHeaders => "http_too_many_headers",
            Error::BadHead => "http_bad_head",
            Error::BadContentLength => "http_bad_content_length",
            Error::BadChunk => "http_bad_chunk",
        }
    }
}

/// How the body after a head is framed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the connection closes (a response without length).
    ToClose,
}

/// The first line of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start<'a> {
    /// `method SP request-target SP HTTP/1.x`.
    Request {
        /// The method token, as sent.
        method: &'a str,
        /// The request target, as sent (may hold a query with secrets).
        target: &'a str,
    },
    /// `HTTP/1.x SP status-code SP reason`.
    Response {
        /// Status code.
        code: u16,
        /// The method of the request this answers, when it was seen.
        request_method: Option<KnownMethod>,
    },
}

/// Methods whose answer framing differs (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KnownMethod {
    /// HEAD: the answer has no body.
    Head,
    /// CONNECT: a 2xx answer opens a tunnel.
    Connect,
    /// Any other.
    Other,
}

/// A parsed head, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    /// Request or status line.
    pub start: Start<'a>,
    /// Minor version: 0 or 1.
    pub version: u8,
    /// Header fields in order.
    pub headers: &'a [httparse::Header<'a>],
    /// The body framing that follows.
    pub body: Body,
    /// Whether this response answered a request seen on the other side
    /// (always false for requests and 1xx).
    pub answered: bool,
}

impl<'a> Head<'a> {
    /// The first header field named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }

    /// Every header field named `name`.
    pub fn headers_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a [u8]> + 's {
        self.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
    }
}

/// What the framer found, in stream order.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// A request or response head.
    Head(Head<'a>),
    /// The direction stops being read as HTTP/1.x.
    Stop(Stop),
    /// Bytes that are not HTTP/1.x; the direction stops being read.
    Malformed(Error),
}

/// Where one direction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// A head comes next.
    Head,
    /// Body bytes left to skip.
    Body(u64),
    /// Inside a chunked body.
    Chunk(Chunk),
    /// The rest of the connection is body.
    ToClose,
    /// Lost in a gap: drop bytes up to a line that starts a head.
    Hunting,
    /// Not HTTP/1.x any more (stopped or malformed).
    Stopped,
}

/// Chunked decoding (RFC 9112 §7.1), one byte at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading the chunk-size line: the size so far, hex digits seen, line
    /// length, and whether extensions or whitespace ended the digits.
    Size { size: u64, digits: u8, len: u16, ext: bool },
    /// Chunk data bytes left.
    Data(u64),
    /// The CRLF after chunk data: whether CR was seen.
    DataEnd { cr: bool },
    /// The trailer section: bytes of the current line, and the section's total.
    Trailer { line: u16, total: u16 },
}

const CHUNK_START: Chunk = Chunk::Size { size: 0, digits: 0, len: 0, ext: false };

#[derive(Debug)]
struct Side {
    state: State,
    /// A partial head carried between chunks (never more than `MAX_HEAD + 1`).
    buf: Vec<u8>,
}

impl Default for Side {
    fn default() -> Self {
        Side { state: State::Head, buf: Vec::new() }
    }
}

/// Both directions of an HTTP/1.x connection, cut into messages.
#[derive(Debug, Default)]
pub struct Conversation {
    sides: [Side; 2],
    /// Methods of the requests not yet answered, oldest first.
    pending: VecDeque<KnownMethod>,
}

/// The direction index of requests (client to server).
const CLIENT: usize = 0;
/// The direction index of responses.
const SERVER: usize = 1;

impl Conversation {
    /// A conversation expecting heads on both sides.
    pub fn new() -> Self {
        Conversation::default()
    }

    /// Bytes held between chunks, both directions.
    pub fn buffered(&self) -> usize {
        self.sides.iter().map(|s| s.buf.len()).sum()
    }

    /// `len` bytes of one direction (`to_server` for requests) are missing.
    /// A gap inside a body of known length is skipped exactly; otherwise the
    /// direction hunts for the next head, and pairing starts afresh (the
    /// answer is true then: requests awaiting an answer were forgotten).
    pub fn gap(&mut self, to_server: bool, len: u64) -> bool {
        let Some(side) = self.sides.get_mut(if to_server { CLIENT } else { SERVER }) else { return false };
        let mut forgot = false;
        side.buf.clear();
        side.state = match side.state {
            State::Body(n) if len < n => State::Body(n - len),
            State::Body(n) if len == n => State::Head,
            State::Chunk(Chunk::Data(n)) if len < n => State::Chunk(Chunk::Data(n - len)),
            State::ToClose => State::ToClose,
            State::Stopped => State::Stopped,
            _ => {
                self.pending.clear();
                forgot = true;
                State::Hunting
            }
        };
        forgot
    }

    /// Feeds in-order bytes of one direction; calls `out` for every head,
    /// stop and error, in stream order.
    pub fn push(&mut self, to_server: bool, data: &[u8], out: &mut dyn FnMut(Message<'_>)) {
        let i = if to_server { CLIENT } else { SERVER };
        let mut rest = data;
        while !rest.is_empty() {
            let Some(side) = self.sides.get_mut(i) else { return };
            match side.state {
                State::Stopped | State::ToClose => return,
                State::Body(n) => {
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(rest.len());
                    rest = rest.get(k..).unwrap_or_default();
                    side.state = if k as u64 == n { State::Head } else { State::Body(n - k as u64) };
                }
                State::Chunk(c) => {
                    let (state, used) = chunked(c, rest);
                    rest = rest.get(used..).unwrap_or_default();
                    side.state = match state {
                        Ok(Some(c)) => State::Chunk(c),
                        Ok(None) => State::Head,
                        Err(e) => {
                            out(Message::Malformed(e));
                            State::Stopped
                        }
                    };
                }
                State::Hunting => {
                    // A head can start only after a line end.
                    let found = rest
                        .windows(2)
                        .position(|w| w.first() == Some(&b'\n') && w.get(1).is_some_and(|b| b.is_ascii_uppercase()));
                    match found {
                        Some(at) => {
                            rest = rest.get(at + 1..).unwrap_or_default();
                            side.state = State::Head;
                        }
                        None => return,
                    }
                }
                State::Head => rest = self.head(i, rest, out),
            }
        }
    }

    /// Reads a head at the start of `rest` (after any buffered part); returns
    /// what follows it, or nothing when all of `rest` was used.
    fn head<'d>(&mut self, i: usize, rest: &'d [u8], out: &mut dyn FnMut(Message<'_>)) -> &'d [u8] {
        let Conversation { sides, pending } = self;
        let Some(side) = sides.get_mut(i) else { return &[] };
        let held = side.buf.len();
        if held > 0 {
            let take = (MAX_HEAD + 1).saturating_sub(held).min(rest.len());
            side.buf.extend_from_slice(rest.get(..take).unwrap_or_default());
        }
        let input: &[u8] = if held > 0 { &side.buf } else { rest };
        if i == CLIENT && starts_like(input, H2_PREFACE) {
            if input.len() < H2_PREFACE.len() {
                if held == 0 {
                    side.buf.extend_from_slice(rest);
                }
                return &[];
            }
            out(Message::Stop(Stop::Http2));
            for s in sides.iter_mut() {
                s.state = State::Stopped;
                s.buf = Vec::new();
            }
            return &[];
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let parsed = if i == CLIENT { parse_request(input, &mut headers) } else { parse_response(input, &mut headers) };
        let (head, used) = match parsed {
            Ok(Some(x)) => x,
            Ok(None) => {
                if input.len() > MAX_HEAD {
                    out(Message::Malformed(Error::HeadTooLong));
                    side.state = State::Stopped;
                    side.buf = Vec::new();
                } else if held == 0 {
                    side.buf.extend_from_slice(rest);
                }
                return &[];
            }
            Err(e) => {
                out(Message::Malformed(e));
                side.state = State::Stopped;
                side.buf = Vec::new();
                return &[];
            }
        };
        let (start, version, body_headers) = head;
        let headers = headers.get(..body_headers).unwrap_or_default();
        let mut h = Head { start, version, headers, body: Body::None, answered: false };
        let mut stop = None;
        match start {
            Start::Request { method, .. } => {
                let known = match method {
                    "HEAD" => KnownMethod::Head,
                    "CONNECT" => KnownMethod::Connect,
                    _ => KnownMethod::Other,
                };
                if pending.len() < MAX_PENDING {
                    pending.push_back(known);
                }
                match body_of(&h, true) {
                    Ok(b) => h.body = b,
                    Err(e) => {
                        out(Message::Head(h));
                        out(Message::Malformed(e));
                        side.state = State::Stopped;
                        side.buf = Vec::new();
                        return &[];
                    }
                }
                if known == KnownMethod::Connect {
                    stop = Some(Stop::Connect);
                }
            }
            Start::Response { code, .. } => {
                let method = if code >= 200 || code == 101 { pending.pop_front() } else { None };
                h.answered = method.is_some();
                h.start = Start::Response { code, request_method: method };
                h.body = match body_of(&h, false) {
                    Ok(b) => b,
                    Err(e) => {
                        out(Message::Head(h));
                        out(Message::Malformed(e));
                        side.state = State::Stopped;
                        side.buf = Vec::new();
                        return &[];
                    }
                };
                if code == 101 {
                    stop = Some(Stop::Upgrade);
                } else if method == Some(KnownMethod::Connect) && (200..300).contains(&code) {
                    stop = Some(Stop::Connect);
                }
            }
        }
        out(Message::Head(h));
        side.state = match h.body {
            Body::None => State::Head,
            Body::Length(0) => State::Head,
            Body::Length(n) => State::Body(n),
            Body::Chunked => State::Chunk(CHUNK_START),
            Body::ToClose => State::ToClose,
        };
        // The part of `rest` after the head.
        let after = used.saturating_sub(held);
        side.buf.clear();
        if let Some(stop) = stop {
            out(Message::Stop(stop));
            side.state = State::Stopped;
            // 101 and a CONNECT's 2xx end both directions; a CONNECT request
            // ends the client's (its tunnel bytes may follow at once).
            if i == SERVER {
                for s in sides.iter_mut() {
                    s.state = State::Stopped;
                    s.buf = Vec::new();
                }
            }
            return &[];
        }
        rest.get(after..).unwrap_or_default()
    }
}

/// True when `data` and `prefix` agree on their common length and `data` is not empty.
fn starts_like(data: &[u8], prefix: &[u8]) -> bool {
    let n = data.len().min(prefix.len());
    n > 0 && data.get(..n) == prefix.get(..n)
}

/// A head's start line, version and number of header fields, with the bytes it used.
type Parsed<'a> = Option<((Start<'a>, u8, usize), usize)>;

fn map_err(e: httparse::Error) -> Error {
    match e {
        httparse::Error::TooManyHeaders => Error::TooManyHeaders,
        _ => Error::BadHead,
    }
}

fn parse_request<'a>(input: &'a [u8], headers: &mut [httparse::Header<'a>]) -> Result<Parsed<'a>, Error> {
    let mut req = httparse::Request::new(headers);
    match req.parse(input).map_err(map_err)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(used) => {
            let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
                return Err(Error::BadHead);
            };
            let n = req.headers.len();
            Ok(Some(((Start::Request { method, target }, version, n), used)))
        }
    }
}

fn parse_response<'a>(input: &'a [u8], headers: &mut [httparse::Header<'a>]) -> Result<Parsed<'a>, Error> {
    let mut res = httparse::Response::new(headers);
    match res.parse(input).map_err(map_err)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(used) => {
            let (Some(code), Some(version)) = (res.code, res.version) else { return Err(Error::BadHead) };
            let n = res.headers.len();
            Ok(Some(((Start::Response { code, request_method: None }, version, n), used)))
        }
    }
}

/// The body framing of a head (RFC 9112 §6.3).
fn body_of(h: &Head<'_>, request: bool) -> Result<Body, Error> {
    if let Start::Response { code, request_method } = h.start {
        // Rules 1 and 2: no body after HEAD, 1xx, 204, 304; a CONNECT's 2xx is a tunnel.
        let tunnel = request_method == Some(KnownMethod::Connect) && (200..300).contains(&code);
        if request_method == Some(KnownMethod::Head) || tunnel || code < 200 || code == 204 || code == 304 {
            return Ok(Body::None);
        }
    }
    // Rule 3: chunked as the final transfer coding wins over any length.
    let chunked = h.headers_named("transfer-encoding").last().is_some_and(|v| {
        v.rsplit(|&b| b == b',').next().is_some_and(|last| last.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    });
    if chunked {
        return Ok(Body::Chunked);
    }
    if h.header("transfer-encoding").is_some() {
        // Rule 4: another coding on a response runs to close; on a request it
        // cannot be framed.
        return if request { Err(Error::BadContentLength) } else { Ok(Body::ToClose) };
    }
    // Rule 5: Content-Length, every copy (and list member) equal.
    let mut length: Option<u64> = None;
    for v in h.headers_named("content-length") {
        for part in v.split(|&b| b == b',') {
            let n = parse_decimal(part.trim_ascii()).ok_or(Error::BadContentLength)?;
            if length.is_some_and(|l| l != n) {
                return Err(Error::BadContentLength);
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => Body::Length(n),
        None if request => Body::None,
        None => Body::ToClose,
    })
}

/// A decimal number of at most 18 digits.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 18 {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// Runs the chunked decoder over `data`: the state after it (`None` when the
/// body ended, the bytes after it then unused), and the bytes used.
fn chunked(mut c: Chunk, data: &[u8]) -> (Result<Option<Chunk>, Error>, usize) {
    let mut i = 0;
    while i < data.len() {
        if let Chunk::Data(n) = c {
            let k = usize::try_from(n).unwrap_or(usize::MAX).min(data.len() - i);
            i += k;
            c = if k as u64 == n { Chunk::DataEnd { cr: false } } else { Chunk::Data(n - k as u64) };
            continue;
        }
        let Some(&b) = data.get(i) else { break };
        i += 1;
        c = match c {
            Chunk::Size { size, digits, len, ext } => {
                if usize::from(len) >= MAX_CHUNK_LINE {
                    return (Err(Error::BadChunk), i);
                }
                let len = len + 1;
                match b {
                    b'\n' if digits == 0 => return (Err(Error::BadChunk), i),
                    b'\n' if size == 0 => Chunk::Trailer { line: 0, total: 0 },
                    b'\n' => Chunk::Data(size),
                    _ if ext => Chunk::Size { size, digits, len, ext },
                    b';' | b' ' | b'\t' | b'\r' => Chunk::Size { size, digits, len, ext: true },
                    _ => {
                        let Some(d) = (b as char).to_digit(16) else { return (Err(Error::BadChunk), i) };
                        if digits >= 15 {
                            return (Err(Error::BadChunk), i);
                        }
                        Chunk::Size { size: (size << 4) | u64::from(d), digits: digits + 1, len, ext }
                    }
                }
            }
            Chunk::DataEnd { cr } => match b {
                b'\r' if !cr => Chunk::DataEnd { cr: true },
                b'\n' => CHUNK_START,
                _ => return (Err(Error::BadChunk), i),
            },
            Chunk::Trailer { line, total } => {
                if usize::from(total) >= MAX_CHUNK_LINE {
                    return (Err(Error::BadChunk), i);
                }
                match b {
                    b'\n' if line == 0 => return (Ok(None), i),
                    b'\n' => Chunk::Trailer { line: 0, total: total + 1 },
                    b'\r' => Chunk::Trailer { line, total: total + 1 },
                    _ => Chunk::Trailer { line: line + 1, total: total + 1 },
                }
            }
            Chunk::Data(_) => c,
        };
    }
    (Ok(Some(c)), i)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One message as owned text: `GET /x`, `200`, `stop Upgrade`, `error BadChunk`.
    fn all(conv: &mut Conversation, chunks: &[(bool, &[u8])]) -> Vec<String> {
        let mut got = Vec::new();
        for (to_server, c) in chunks {
            conv.push(*to_server, c, &mut |m| {
                got.push(match m {
                    Message::Head(h) => match h.start {
                        Start::Request { method, target } => format!("{method} {target} {:?}", h.body),
                        Start::Response { code, .. } => format!("{code} {:?} {}", h.body, h.answered),
                    },
                    Message::Stop(s) => format!("stop {s:?}"),
                    Message::Malformed(e) => format!("error {e:?}"),
                })
            });
        }
        got
    }

    #[test]
    fn skips_bodies_by_length_and_chunks_and_pairs_pipelined_requests() {
        let client = b"GET /a HTTP/1.1\r\nHost: plc\r\n\r\n\
                       HEAD /b HTTP/1.1\r\n\r\n\
                       PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                       4;ext=1\r\nabcd\r\n0\r\nX-Trailer: 1\r\n\r\n\
                       POST /d HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz";
        let server = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi\
                       HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n\
                       HTTP/1.1 100 Continue\r\n\r\n\
                       HTTP/1.1 204 No Content\r\n\r\n\
                       HTTP/1.0 200 OK\r\n\r\nto the end HTTP/1.1 200 not a head";
        let got = all(&mut Conversation::new(), &[(true, client), (false, server)]);
        assert_eq!(
            got,
            vec![
                "GET /a None",
                "HEAD /b None",
                "PUT /c Chunked",
                "POST /d Length(3)",
                "200 Length(2) true",
                "200 None true", // the answer to HEAD has no body, whatever its length says
                "100 None false",
                "204 None true",
                "200 ToClose true",
            ]
        );
    }

    #[test]
    fn stops_at_upgrade_connect_and_the_http2_preface() {
        let got = all(
            &mut Conversation::new(),
            &[
                (true, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
                (false, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
                (true, b"\x81\x85frame"),
            ],
        );
        assert_eq!(got, vec!["GET /ws None", "101 None true", "stop Upgrade"]);
        let got = all(
            &mut Conversation::new(),
            &[(true, b"CONNECT plc:443 HTTP/1.1\r\n\r\n\x16\x03\x01"), (false, b"HTTP/1.1 200 OK\r\n\r\n\x16\x03")],
        );
        assert_eq!(got, vec!["CONNECT plc:443 None", "stop Connect", "200 None true", "stop Connect"]);
        let got = all(&mut Conversation::new(), &[(true, H2_PREFACE), (false, b"\x00\x00\x00\x04")]);
        assert_eq!(got, vec!["stop Http2"]);
    }

    #[test]
    fn reports_what_is_not_http_and_stops() {
        let got = all(&mut Conversation::new(), &[(true, b"GET / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nGET /")]);
        assert_eq!(got, vec!["GET / None", "error BadContentLength"]);
        let got =
            all(&mut Conversation::new(), &[(false, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")]);
        assert_eq!(got, vec!["200 Chunked false", "error BadChunk"]);
        let mut long = b"GET /".to_vec();
        long.extend(vec![b'a'; MAX_HEAD]);
        let mut c = Conversation::new();
        let got = all(&mut c, &[(true, &long[..100]), (true, &long[100..])]);
        assert_eq!(got, vec!["error HeadTooLong"]);
        assert_eq!(c.buffered(), 0);
        let got = all(&mut Conversation::new(), &[(true, b"\x16\x03\x01\x00\x05hello\r\n\r\n")]);
        assert_eq!(got, vec!["error BadHead"]);
    }

    #[test]
    fn a_gap_in_a_known_body_is_skipped_and_elsewhere_hunted_over() {
        let mut c = Conversation::new();
        let mut got = all(&mut c, &[(true, b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")]);
        c.gap(true, 5);
        got.extend(all(&mut c, &[(true, b"fgh"), (true, b"GET /b HTTP/1.1\r\n\r\n")]));
        c.gap(true, 3);
        got.extend(all(&mut c, &[(true, b"junk\r\nGET /c HTTP/1.1\r\n\r\n")]));
        assert_eq!(got, vec!["POST /a Length(10)", "GET /b None", "GET /c None"]);
    }

    #[test]
    fn every_split_gives_the_same_messages() {
        let client: &[u8] = b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
                              a\r\n0123456789\r\n0\r\n\r\nGET /y?q=1 HTTP/1.1\r\n\r\n";
        let whole = all(&mut Conversation::new(), &[(true, client)]);
        assert_eq!(whole, vec!["POST /x Chunked", "GET /y?q=1 None"]);
        for i in 0..=client.len() {
            for j in i..=client.len() {
                let got =
                    all(&mut Conversation::new(), &[(true, &client[..i]), (true, &client[i..j]), (true, &client[j..])]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
    }

    proptest! {
        #[test]
        fn stays_bounded_and_never_panics(input in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600), proptest::option::of(any::<u16>())), 0..10)
        ) {
            let mut c = Conversation::new();
            for (to_server, bytes, gap) in &input {
                let mut prefixed = b"GET / HTTP/1.1\r\nContent-Length: 3\r\n".to_vec();
                prefixed.extend(bytes);
                c.push(*to_server, &prefixed, &mut |_| {});
                prop_assert!(c.buffered() <= 2 * (MAX_HEAD + 1));
                if let Some(g) = gap {
                    c.gap(*to_server, u64::from(*g));
                }
            }
        }
    }
}
