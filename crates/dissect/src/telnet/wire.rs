//! Telnet's in-band commands (RFC 854, RFC 855): one direction of a
//! connection cut into runs of data bytes, commands (`IAC WILL ECHO`...) and
//! subnegotiations (`IAC SB option ... IAC SE`), whatever the chunking.
//!
//! Owns: the IAC state machine, `IAC IAC` as a data byte 0xFF, the buffer of a
//! subnegotiation (at most [`MAX_SUB`] bytes; longer ones are reported and
//! skipped to their `IAC SE`), and the codes as open newtypes with the names
//! of the IANA Telnet Options registry. Not here: line endings and what the
//! text means (the session in `mod.rs`), what a subnegotiation says.

/// Longest subnegotiation kept (option byte excluded).
pub const MAX_SUB: usize = 1024;

/// A Telnet command code (RFC 854 p.14), the byte after IAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Command(pub u8);

impl Command {
    /// End of subnegotiation parameters.
    pub const SE: Command = Command(240);
    /// No operation.
    pub const NOP: Command = Command(241);
    /// Data Mark (the data stream part of a Synch).
    pub const DM: Command = Command(242);
    /// Break.
    pub const BRK: Command = Command(243);
    /// Interrupt Process.
    pub const IP: Command = Command(244);
    /// Abort Output.
    pub const AO: Command = Command(245);
    /// Are You There.
    pub const AYT: Command = Command(246);
    /// Erase Character.
    pub const EC: Command = Command(247);
    /// Erase Line.
    pub const EL: Command = Command(248);
    /// Go Ahead.
    pub const GA: Command = Command(249);
    /// Subnegotiation begins.
    pub const SB: Command = Command(250);
    /// The sender wants to, or does, perform an option.
    pub const WILL: Command = Command(251);
    /// The sender refuses to perform an option.
    pub const WONT: Command = Command(252);
    /// The sender asks the other side to perform an option.
    pub const DO: Command = Command(253);
    /// The sender asks the other side not to perform an option.
    pub const DONT: Command = Command(254);
    /// Interpret As Command.
    pub const IAC: Command = Command(255);

    /// Lower-case name; codes below 240 are not commands.
    pub fn name(self) -> &'static str {
        match self.0 {
            240 => "se",
            241 => "nop",
            242 => "data_mark",
            243 => "break",
            244 => "interrupt_process",
            245 => "abort_output",
            246 => "are_you_there",
            247 => "erase_character",
            248 => "erase_line",
            249 => "go_ahead",
            250 => "sb",
            251 => "will",
            252 => "wont",
            253 => "do",
            254 => "dont",
            _ => "iac",
        }
    }

    /// WILL, WONT, DO or DONT: followed by an option byte.
    pub fn is_negotiation(self) -> bool {
        (251..=254).contains(&self.0)
    }
}

/// A Telnet option code (IANA "Telnet Options" registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelnetOption(pub u8);

impl TelnetOption {
    /// Binary Transmission (RFC 856).
    pub const BINARY: TelnetOption = TelnetOption(0);
    /// Echo (RFC 857).
    pub const ECHO: TelnetOption = TelnetOption(1);
    /// Suppress Go Ahead (RFC 858).
    pub const SUPPRESS_GO_AHEAD: TelnetOption = TelnetOption(3);
    /// Status (RFC 859).
    pub const STATUS: TelnetOption = TelnetOption(5);
    /// Timing Mark (RFC 860).
    pub const TIMING_MARK: TelnetOption = TelnetOption(6);
    /// Terminal Type (RFC 1091).
    pub const TERMINAL_TYPE: TelnetOption = TelnetOption(24);
    /// Negotiate About Window Size (RFC 1073).
    pub const NAWS: TelnetOption = TelnetOption(31);
    /// Terminal Speed (RFC 1079).
    pub const TERMINAL_SPEED: TelnetOption = TelnetOption(32);
    /// Remote Flow Control (RFC 1372).
    pub const REMOTE_FLOW_CONTROL: TelnetOption = TelnetOption(33);
    /// Linemode (RFC 1184).
    pub const LINEMODE: TelnetOption = TelnetOption(34);
    /// X Display Location (RFC 1096).
    pub const X_DISPLAY_LOCATION: TelnetOption = TelnetOption(35);
    /// Environment (RFC 1408).
    pub const ENVIRON: TelnetOption = TelnetOption(36);
    /// Authentication (RFC 2941).
    pub const AUTHENTICATION: TelnetOption = TelnetOption(37);
    /// Data Encryption (RFC 2946).
    pub const ENCRYPT: TelnetOption = TelnetOption(38);
    /// New Environment (RFC 1572).
    pub const NEW_ENVIRON: TelnetOption = TelnetOption(39);
    /// START_TLS (draft-altman-telnet-starttls).
    pub const START_TLS: TelnetOption = TelnetOption(46);

    /// Snake-case name, `option_N` for codes the registry leaves unassigned.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "binary",
            1 => "echo",
            2 => "reconnection",
            3 => "suppress_go_ahead",
            4 => "approx_message_size",
            5 => "status",
            6 => "timing_mark",
            7 => "rcte",
            8 => "output_line_width",
            9 => "output_page_size",
            10 => "naocrd",
            11 => "naohts",
            12 => "naohtd",
            13 => "naoffd",
            14 => "naovts",
            15 => "naovtd",
            16 => "naolfd",
            17 => "extended_ascii",
            18 => "logout",
            19 => "byte_macro",
            20 => "data_entry_terminal",
            21 => "supdup",
            22 => "supdup_output",
            23 => "send_location",
            24 => "terminal_type",
            25 => "end_of_record",
            26 => "tacacs_user_id",
            27 => "output_marking",
            28 => "terminal_location_number",
            29 => "tn3270_regime",
            30 => "x3_pad",
            31 => "naws",
            32 => "terminal_speed",
            33 => "remote_flow_control",
            34 => "linemode",
            35 => "x_display_location",
            36 => "environ",
            37 => "authentication",
            38 => "encrypt",
            39 => "new_environ",
            40 => "tn3270e",
            41 => "xauth",
            42 => "charset",
            43 => "rsp",
            44 => "com_port_control",
            45 => "suppress_local_echo",
            46 => "start_tls",
            47 => "kermit",
            48 => "send_url",
            49 => "forward_x",
            138 => "pragma_logon",
            139 => "sspi_logon",
            140 => "pragma_heartbeat",
            255 => "extended_options_list",
            _ => "unassigned",
        }
    }
}

/// Why bytes are not well-formed Telnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// IAC followed by a byte that is no command (below 240), or by SE outside
    /// a subnegotiation.
    BadCommand(u8),
    /// A subnegotiation longer than [`MAX_SUB`]; skipped to its IAC SE.
    SubTooLong,
    /// IAC inside a subnegotiation followed by neither SE nor IAC.
    BadSubEnd(u8),
}

impl Error {
    /// The name a malformed message is counted under.
    pub fn name(self) -> &'static str {
        match self {
            Error::BadCommand(_) => "telnet_bad_command",
            Error::SubTooLong => "telnet_sub_too_long",
            Error::BadSubEnd(_) => "telnet_bad_sub_end",
        }
    }
}

/// What a direction carries, in stream order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// Data bytes (an `IAC IAC` comes as a one-byte run of 0xFF).
    Data(&'a [u8]),
    /// A command; negotiations carry their option.
    Command(Command, Option<TelnetOption>),
    /// A whole subnegotiation: its option and parameters (IAC IAC undone).
    Sub(TelnetOption, &'a [u8]),
    /// Not well-formed; decoding goes on.
    Malformed(Error),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
enum State {
    #[default]
    Data,
    Iac,
    Negotiation(Command),
    SubOption,
    Sub,
    SubIac,
}

/// One direction's decoder.
#[derive(Debug, Default)]
pub struct Decoder {
    state: State,
    sub_option: u8,
    /// Parameters of the subnegotiation being read.
    sub: Vec<u8>,
    /// The subnegotiation outgrew [`MAX_SUB`]: drop it at its end.
    sub_overflow: bool,
}

const IAC: u8 = 255;

impl Decoder {
    /// A decoder expecting data.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// Bytes held between chunks.
    pub fn buffered(&self) -> usize {
        self.sub.len()
    }

    /// Bytes are missing: forget any command or subnegotiation in progress.
    pub fn gap(&mut self) {
        self.state = State::Data;
        self.sub.clear();
        self.sub_overflow = false;
    }

    /// Feeds in-order bytes; calls `out` for every item, in order.
    pub fn push(&mut self, data: &[u8], out: &mut dyn FnMut(Item<'_>)) {
        let mut rest = data;
        while !rest.is_empty() {
            if self.state == State::Data {
                let run = rest.iter().position(|&b| b == IAC).unwrap_or(rest.len());
                let (text, tail) = rest.split_at_checked(run).unwrap_or((rest, &[]));
                if !text.is_empty() {
                    out(Item::Data(text));
                }
                rest = tail.get(1..).unwrap_or_default();
                if !tail.is_empty() {
                    self.state = State::Iac;
                }
                continue;
            }
            if self.state == State::Sub {
                // Parameters up to the next IAC, in one copy.
                let run = rest.iter().position(|&b| b == IAC).unwrap_or(rest.len());
                let (params, tail) = rest.split_at_checked(run).unwrap_or((rest, &[]));
                self.sub_bytes(params, out);
                rest = tail.get(1..).unwrap_or_default();
                if !tail.is_empty() {
                    self.state = State::SubIac;
                }
                continue;
            }
            let Some((&b, tail)) = rest.split_first() else { return };
            rest = tail;
            self.state = match self.state {
                State::Iac => after_iac(b, out),
                State::Negotiation(c) => {
                    out(Item::Command(c, Some(TelnetOption(b))));
                    State::Data
                }
                State::SubOption => {
                    self.sub_option = b;
                    self.sub.clear();
                    self.sub_overflow = false;
                    State::Sub
                }
                State::SubIac => match b {
                    IAC => {
                        self.sub_bytes(&[IAC], out);
                        State::Sub
                    }
                    240 => {
                        if self.sub_overflow {
                            self.sub_overflow = false;
                        } else {
                            out(Item::Sub(TelnetOption(self.sub_option), &self.sub));
                        }
                        self.sub.clear();
                        State::Data
                    }
                    _ => {
                        // RFC 855 asks for IAC SE; take the command as ending the
                        // subnegotiation and read it.
                        out(Item::Malformed(Error::BadSubEnd(b)));
                        self.sub.clear();
                        self.sub_overflow = false;
                        after_iac(b, out)
                    }
                },
                State::Data | State::Sub => self.state,
            };
        }
    }

    fn sub_bytes(&mut self, bytes: &[u8], out: &mut dyn FnMut(Item<'_>)) {
        if self.sub_overflow {
            return;
        }
        if self.sub.len() + bytes.len() > MAX_SUB {
            out(Item::Malformed(Error::SubTooLong));
            self.sub_overflow = true;
            self.sub = Vec::new();
            return;
        }
        self.sub.extend_from_slice(bytes);
    }
}

/// Reads `b` as the byte after an IAC outside a subnegotiation; the state after it.
fn after_iac(b: u8, out: &mut dyn FnMut(Item<'_>)) -> State {
    match Command(b) {
        Command::IAC => {
            out(Item::Data(&[IAC]));
            State::Data
        }
        Command::SB => State::SubOption,
        c if c.is_negotiation() => State::Negotiation(c),
        c if c.0 > Command::SE.0 => {
            out(Item::Command(c, None));
            State::Data
        }
        _ => {
            out(Item::Malformed(Error::BadCommand(b)));
            State::Data
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn items(d: &mut Decoder, chunks: &[&[u8]]) -> Vec<String> {
        let mut got: Vec<String> = Vec::new();
        for c in chunks {
            d.push(c, &mut |i| {
                let text = match i {
                    Item::Data(b) => format!("data {:?}", String::from_utf8_lossy(b)),
                    Item::Command(c, Some(o)) => format!("{} {}", c.name(), o.name()),
                    Item::Command(c, None) => c.name().to_string(),
                    Item::Sub(o, p) => format!("sb {} {p:?}", o.name()),
                    Item::Malformed(e) => format!("error {e:?}"),
                };
                // Adjacent data runs are one run whatever the chunking.
                match (got.last_mut(), text.strip_prefix("data ")) {
                    (Some(last), Some(more)) if last.starts_with("data ") => {
                        let joined = format!("{}{}", last.trim_end_matches('"'), more.trim_start_matches('"'));
                        *last = joined;
                    }
                    _ => got.push(text),
                }
            });
        }
        got
    }

    /// A server opening a session: negotiations, a terminal-type request,
    /// an escaped 0xFF in the banner, a Go Ahead, then a client answering.
    const STREAM: &[u8] = &[
        0xff, 0xfd, 0x18, // IAC DO TERMINAL-TYPE
        0xff, 0xfb, 0x01, // IAC WILL ECHO
        0xff, 0xfa, 0x18, 0x01, 0xff, 0xf0, // IAC SB TERMINAL-TYPE SEND IAC SE
        b'h', b'i', 0xff, 0xff, b'!', // "hi", IAC IAC = 0xFF, "!"
        0xff, 0xf9, // IAC GA
        0xff, 0xfa, 0x27, 0x00, 0x00, b'U', 0xff, 0xff, 0xff, 0xf0, // SB NEW-ENVIRON IS VAR "U" 0xFF SE
    ];

    #[test]
    fn cuts_commands_subnegotiations_and_escaped_data() {
        let got = items(&mut Decoder::new(), &[STREAM]);
        assert_eq!(
            got,
            vec![
                "do terminal_type",
                "will echo",
                "sb terminal_type [1]",
                "data \"hi\u{fffd}!\"",
                "go_ahead",
                "sb new_environ [0, 0, 85, 255]",
            ]
        );
    }

    #[test]
    fn every_split_gives_the_same_items() {
        let whole = items(&mut Decoder::new(), &[STREAM]);
        for i in 0..=STREAM.len() {
            for j in i..=STREAM.len() {
                let got = items(&mut Decoder::new(), &[&STREAM[..i], &STREAM[i..j], &STREAM[j..]]);
                assert_eq!(got, whole, "split at {i} and {j}");
            }
        }
    }

    #[test]
    fn reports_bad_commands_and_long_subnegotiations() {
        let got = items(&mut Decoder::new(), &[&[0xff, 0x10, b'a', 0xff, 0xfa, 0x18, 0x00, 0xff, 0xfb, 0x01]]);
        assert_eq!(got, vec!["error BadCommand(16)", "data \"a\"", "error BadSubEnd(251)", "will echo"]);
        let mut long = vec![0xff, 0xfa, 0x18];
        long.extend(vec![b'x'; MAX_SUB + 1]);
        long.extend([0xff, 0xf0, b'z']);
        let mut d = Decoder::new();
        assert_eq!(items(&mut d, &[&long]), vec!["error SubTooLong", "data \"z\""]);
        assert_eq!(d.buffered(), 0);
    }

    proptest! {
        #[test]
        fn stays_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..700), 0..8)) {
            let mut d = Decoder::new();
            for c in &chunks {
                d.push(c, &mut |_| {});
                prop_assert!(d.buffered() <= MAX_SUB);
            }
        }
    }
}
