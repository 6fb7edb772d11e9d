//! FTP control connections (RFC 959): the server's banner, who logs in and
//! whether it worked, and which files are put on or taken from the device —
//! on controllers, FTP is how firmware, programs and web pages arrive.
//!
//! Reads CRLF-terminated lines per direction. Reports: `ftp.banner` (identity
//! of the server: `banner`, the text of its 220 greeting); client commands
//! counted by name (`user`, `pass`, `stor`, `retr`, `list`, ...), with classes:
//! USER/PASS `authentication` (kept: `user`, and for PASS only that one was
//! given), STOR/STOU/APPE `program` (kept with `path`: a file written to the
//! device), DELE/RMD/MKD/RNFR/RNTO/SITE `configuration` (kept with `path` or
//! `argument`), RETR `read`, others `session`. Replies are counted as
//! `reply_<class>` (`reply_2xx`...); a 230 answers a login, a 530 is kept as
//! a failed login, and a 4xx/5xx to a kept command is kept with its `code`.
//! Data connections are not read. A control connection picked up after its
//! banner is taken up at the first line only FTP sends (`resync`).

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::ToCompactString;
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

const PROTOCOL: &str = "ftp";

/// Longest line read; longer ones end the reading of that direction.
const MAX_LINE: usize = 4096;
/// Longest text copied into an attribute.
const MAX_TEXT: usize = 256;

/// The FTP control-connection dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ftp;

impl StreamDissector for Ftp {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == 21
    }

    /// The server greets with "220" and a space or hyphen.
    fn probe(&self, direction: Direction, data: &[u8]) -> Probe {
        if direction != Direction::ToClient {
            return Probe::NoMatch;
        }
        match data {
            [b'2', b'2', b'0', b' ' | b'-', ..] => Probe::Match,
            [] | [b'2'] | [b'2', b'2'] | [b'2', b'2', b'0'] => Probe::NeedMore,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }

    /// A control connection picked up mid-stream (it lives as long as the
    /// engineering tool's session, and on a controller that is how firmware
    /// and programs arrive) is taken up at a chunk that starts with a whole
    /// line only FTP sends: a command of its own (`STOR`, `RETR`, `PASV`,
    /// `CWD`... not `USER`, `PASS` or `QUIT`, which POP3 shares) or a reply
    /// with a code of its own (`150`, `226`, `227`, `230`, `331`... not `220`,
    /// `250` or `550`, which SMTP shares). Either direction: the engine asks
    /// `sent_by_client` which way the flow runs.
    fn resync(&self, _direction: Direction, data: &[u8]) -> Option<Box<dyn StreamSession>> {
        let kind = line_kind(data)?;
        first_line(data)?;
        let own = match kind {
            Line::Command(verb) => !matches!(verb, "USER" | "PASS" | "QUIT" | "NOOP" | "AUTH"),
            Line::Reply(code) => matches!(
                code,
                b"125"
                    | b"150"
                    | b"213"
                    | b"215"
                    | b"225"
                    | b"226"
                    | b"227"
                    | b"228"
                    | b"229"
                    | b"230"
                    | b"257"
                    | b"331"
                    | b"332"
                    | b"350"
                    | b"425"
                    | b"426"
                    | b"530"
                    | b"532"
            ),
        };
        own.then(|| self.new_session())
    }

    /// A command comes from the client, a reply from the server.
    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        let kind = line_kind(data)?;
        first_line(data)?;
        match kind {
            Line::Command(_) => Some(true),
            Line::Reply(_) => Some(false),
        }
    }
}

/// The first CRLF-terminated line of `data`, without its CRLF, when it is
/// whole and printable ASCII.
fn first_line(data: &[u8]) -> Option<&[u8]> {
    let end = data.iter().take(MAX_LINE).position(|&b| b == b'\n')?;
    let line = data.get(..end)?.strip_suffix(b"\r")?;
    line.iter().all(|b| (0x20..0x7f).contains(b)).then_some(line)
}

/// What a control connection line is.
enum Line<'a> {
    /// A command the session knows, by its verb.
    Command(&'static str),
    /// A reply, by its code.
    Reply(&'a [u8]),
}

/// What the line at the start of `data` is by its first bytes: a reply
/// (`NNN` and a space or hyphen, the code 100-599) or a known command (its
/// verb, in any case, then a space or the line's end). Read before the line
/// end is looked for: binary chunks of flows no probe took are offered here,
/// and most fail at their first byte.
fn line_kind(data: &[u8]) -> Option<Line<'_>> {
    if let Some((code, [b' ' | b'-', ..])) = data.split_first_chunk::<3>() {
        if matches!(code[0], b'1'..=b'5') && code[1..].iter().all(u8::is_ascii_digit) {
            return Some(Line::Reply(code.as_slice()));
        }
    }
    let verb_end = data.iter().take(5).position(|&b| b == b' ' || b == b'\r')?;
    let verb = data.get(..verb_end)?;
    COMMANDS.iter().find(|c| c.as_bytes().eq_ignore_ascii_case(verb)).map(|c| Line::Command(c))
}

/// The commands [`Session::command`] names.
const COMMANDS: [&str; 26] = [
    "USER", "PASS", "STOR", "STOU", "APPE", "DELE", "RMD", "MKD", "RNFR", "RNTO", "SITE", "RETR", "LIST", "NLST",
    "CWD", "PWD", "TYPE", "PASV", "EPSV", "PORT", "EPRT", "SYST", "FEAT", "QUIT", "AUTH", "NOOP",
];

#[derive(Debug, Default)]
struct Session {
    bufs: [Vec<u8>; 2],
    done: [bool; 2],
    /// A gap cut the current line: drop it at its end.
    skip: [bool; 2],
    banner: Option<String>,
    /// The last kept command, for the reply that answers it.
    pending: Option<(&'static str, OperationClass, String)>,
    user: Option<String>,
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

impl Session {
    fn command(&mut self, ctx: &PacketCtx<'_>, line: &str, emit: &mut dyn Emit) {
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        let verb = verb.to_ascii_uppercase();
        let (name, class): (&'static str, OperationClass) = match verb.as_str() {
            "USER" => ("user", OperationClass::Authentication),
            "PASS" => ("pass", OperationClass::Authentication),
            "STOR" => ("stor", OperationClass::Program),
            "STOU" => ("stou", OperationClass::Program),
            "APPE" => ("appe", OperationClass::Program),
            "DELE" => ("dele", OperationClass::Configuration),
            "RMD" => ("rmd", OperationClass::Configuration),
            "MKD" => ("mkd", OperationClass::Configuration),
            "RNFR" => ("rnfr", OperationClass::Configuration),
            "RNTO" => ("rnto", OperationClass::Configuration),
            "SITE" => ("site", OperationClass::Configuration),
            "RETR" => ("retr", OperationClass::Read),
            "LIST" => ("list", OperationClass::Read),
            "NLST" => ("nlst", OperationClass::Read),
            "CWD" => ("cwd", OperationClass::Session),
            "PWD" => ("pwd", OperationClass::Session),
            "TYPE" => ("type", OperationClass::Session),
            "PASV" => ("pasv", OperationClass::Session),
            "EPSV" => ("epsv", OperationClass::Session),
            "PORT" => ("port", OperationClass::Session),
            "EPRT" => ("eprt", OperationClass::Session),
            "SYST" => ("syst", OperationClass::Session),
            "FEAT" => ("feat", OperationClass::Session),
            "QUIT" => ("quit", OperationClass::Session),
            "AUTH" => ("auth", OperationClass::Session),
            "NOOP" => ("noop", OperationClass::Session),
            _ => ("other_command", OperationClass::Unknown),
        };
        if !class.is_notable() {
            emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
            return;
        }
        let mut a: Vec<(Cow<'static, str>, otposture_model::AttrValue)> = Vec::new();
        match name {
            "user" => {
                self.user = Some(clip(arg));
                a.push((Cow::Borrowed("user"), clip(arg).into()));
            }
            // Never the password itself.
            "pass" => {
                a.push((Cow::Borrowed("user"), self.user.clone().unwrap_or_default().into()));
                a.push((Cow::Borrowed("password"), "given".to_compact_string()));
            }
            "site" => a.push((Cow::Borrowed("argument"), clip(arg).into())),
            _ => a.push((Cow::Borrowed("path"), clip(arg).into())),
        }
        self.pending = Some((name, class, clip(arg)));
        emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
    }

    fn reply(&mut self, ctx: &PacketCtx<'_>, line: &str, emit: &mut dyn Emit) {
        let code = line.get(..3).filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
        let Some(code) = code else { return };
        // Only the last line of a multi-line reply ("220-" ... "220 ") counts.
        if line.as_bytes().get(3) == Some(&b'-') {
            if code == "220" && self.banner.is_none() {
                self.banner = Some(clip(line.get(4..).unwrap_or_default()));
            }
            return;
        }
        if code == "220" {
            let text = clip(line.get(4..).unwrap_or_default());
            let banner = self.banner.get_or_insert(text).clone();
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "ftp.banner");
            e.attributes.push((Cow::Borrowed("banner"), banner.into()));
            emit.event(e);
        }
        let class_name = match code.as_bytes().first() {
            Some(b'1') => "reply_1xx",
            Some(b'2') => "reply_2xx",
            Some(b'3') => "reply_3xx",
            Some(b'4') => "reply_4xx",
            _ => "reply_5xx",
        };
        match (self.pending.take(), code) {
            (Some((name, class, _)), "230") if name == "pass" || name == "user" => {
                emit.answer(ctx, PROTOCOL, Cow::Borrowed(name), class)
            }
            (Some((name, class, arg)), c) if c.starts_with('4') || c.starts_with('5') => {
                let a = vec![
                    (Cow::Borrowed("code"), c.into()),
                    (Cow::Borrowed("text"), clip(line.get(4..).unwrap_or_default()).into()),
                    (
                        Cow::Borrowed(if name == "pass" || name == "user" { "user" } else { "path" }),
                        if name == "pass" { self.user.clone().unwrap_or_default() } else { arg }.into(),
                    ),
                ];
                emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
            }
            (Some(p), "331" | "350" | "150" | "125") => {
                // Intermediate: the command goes on (USER then PASS, RNFR then RNTO, a transfer starting).
                self.pending = Some(p);
                emit.message(ctx, PROTOCOL, Cow::Borrowed(class_name), OperationClass::Session);
            }
            _ => emit.message(ctx, PROTOCOL, Cow::Borrowed(class_name), OperationClass::Session),
        }
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let i = direction.index();
        if self.done.get(i).copied().unwrap_or(true) {
            return;
        }
        let Some(buf) = self.bufs.get_mut(i) else { return };
        buf.extend_from_slice(data);
        while let Some(end) = self.bufs.get(i).and_then(|b| b.iter().position(|&c| c == b'\n')) {
            let Some(buf) = self.bufs.get_mut(i) else { return };
            let raw: Vec<u8> = buf.drain(..=end).collect();
            if let Some(skip) = self.skip.get_mut(i).filter(|s| **s) {
                *skip = false;
                continue;
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\r', '\n']);
            if direction == Direction::ToServer {
                self.command(ctx, line, emit);
            } else {
                self.reply(ctx, line, emit);
            }
        }
        if self.bufs.get(i).is_some_and(|b| b.len() > MAX_LINE) {
            emit.malformed(ctx, PROTOCOL, "ftp_line_too_long");
            if let (Some(d), Some(b)) = (self.done.get_mut(i), self.bufs.get_mut(i)) {
                *d = true;
                *b = Vec::new();
            }
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        // Resynchronise at the next line end.
        if let (Some(b), Some(skip)) = (self.bufs.get_mut(direction.index()), self.skip.get_mut(direction.index())) {
            b.clear();
            *skip = true;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::test_support::{event_attr, run, splits_at_every_offset};
    use proptest::prelude::*;
    use Direction::{ToClient as S2C, ToServer as C2S};

    #[test]
    fn keeps_logins_and_files_put_on_the_device() {
        let r = run(
            &Ftp,
            &[
                (S2C, b"220-Schneider Electric\r\n220 FTP server (M340) ready\r\n".to_vec()),
                (C2S, b"USER USER\r\n".to_vec()),
                (S2C, b"331 Password required\r\n".to_vec()),
                (C2S, b"PASS secret\r\n".to_vec()),
                (S2C, b"230 Logged in\r\n".to_vec()),
                (C2S, b"STOR /FLASH0/fw.bin\r\n".to_vec()),
                (S2C, b"150 Opening\r\n226 Done\r\n".to_vec()),
                (C2S, b"DELE /FLASH0/old.bin\r\n".to_vec()),
                (S2C, b"550 Permission denied\r\n".to_vec()),
            ],
        );
        assert!(r.malformed.is_empty());
        let banner = r.events.iter().find(|e| e.name == "ftp.banner").unwrap();
        assert_eq!(event_attr(banner, "banner"), Some("Schneider Electric"));
        let kept: Vec<_> = r.messages.iter().filter(|m| !m.4.is_empty()).map(|m| (m.2.as_str(), m.3)).collect();
        use OperationClass::*;
        assert_eq!(
            kept,
            vec![
                ("user", Authentication),
                ("pass", Authentication),
                ("stor", Program),
                ("dele", Configuration),
                ("dele", Configuration)
            ]
        );
        let pass = r.messages.iter().find(|m| m.2 == "pass").unwrap();
        assert!(pass.4.contains(&("password".to_string(), "given".to_string())));
        assert!(!pass.4.iter().any(|(_, v)| v == "secret"), "never the password");
        assert_eq!(r.folded.len(), 1, "230 answers the login");
        let refused = r.messages.iter().rev().find(|m| m.2 == "dele").unwrap();
        assert!(refused.4.contains(&("code".to_string(), "550".to_string())));
    }

    #[test]
    fn a_failed_login_is_kept() {
        let r = run(
            &Ftp,
            &[
                (S2C, b"220 ready\r\n".to_vec()),
                (C2S, b"USER admin\r\nPASS x\r\n".to_vec()),
                (S2C, b"331 ok\r\n530 Login incorrect\r\n".to_vec()),
            ],
        );
        let failed = r.messages.iter().find(|m| m.4.iter().any(|(k, v)| k == "code" && v == "530")).unwrap();
        assert_eq!(failed.2, "pass");
        assert!(failed.4.contains(&("user".to_string(), "admin".to_string())));
    }

    #[test]
    fn the_same_records_whatever_the_segmentation() {
        splits_at_every_offset(&Ftp, b"USER a\r\nRETR x\r\n", b"220 hi\r\n331 p\r\n226 ok\r\n");
    }

    proptest! {
        #[test]
        fn never_panics(a in proptest::collection::vec(any::<u8>(), 0..400), b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut s = b"220 x\r\n".to_vec();
            s.extend(b);
            let _ = run(&Ftp, &[(S2C, s), (C2S, a)]);
        }
    }

    #[test]
    fn takes_up_a_control_connection_at_a_line_only_ftp_sends() {
        for line in [
            &b"STOR firmware.bin\r\n"[..],
            b"cwd /plc\r\n",
            b"227 Entering Passive Mode (10,0,0,5,4,1)\r\n",
            b"150 Opening\r\n",
        ] {
            assert!(Ftp.resync(C2S, line).is_some(), "{}", String::from_utf8_lossy(line));
            assert!(Ftp.resync(S2C, line).is_some(), "either way");
        }
        // Lines other protocols send too, cut lines, other text.
        for line in [
            &b"USER operator\r\n"[..],
            b"QUIT\r\n",
            b"220 mail.plant ESMTP\r\n",
            b"250 OK\r\n",
            b"STOR firmware.bin",
            b"STORE firmware.bin\r\n",
            b"226\r\n",
            b"GET / HTTP/1.1\r\n",
            b"\x00\x01STOR\r\n",
        ] {
            assert!(Ftp.resync(C2S, line).is_none(), "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(Ftp.sent_by_client(b"RETR prog.st\r\n"), Some(true));
        assert_eq!(Ftp.sent_by_client(b"user operator\r\n"), Some(true));
        assert_eq!(Ftp.sent_by_client(b"226 Transfer complete\r\n"), Some(false));
        assert_eq!(Ftp.sent_by_client(b"220-Welcome\r\n"), Some(false));
        assert_eq!(Ftp.sent_by_client(b"HELLO\r\n"), None);
        assert_eq!(Ftp.sent_by_client(b"RETR prog.st"), None);
    }
}
