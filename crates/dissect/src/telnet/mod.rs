//! Telnet (RFC 854): clear-text remote access. Who logs in to what, with which
//! user name, and whether the session could be encrypted — never what was
//! typed after the login, and never a password.
//!
//! Commands are cut by [`wire`]. Counted (class `session`): every negotiation
//! as `<command>_<option>` (`will_echo`, `do_terminal_type`,
//! `dont_unassigned`...), every subnegotiation as `sb_<option>`, other
//! commands by name (`go_ahead`, `are_you_there`...). Read from
//! subnegotiations: TERMINAL-TYPE IS (the client's `terminal_type`),
//! NEW-ENVIRON / ENVIRON IS or INFO with `USER` (a user name sent in clear),
//! AUTHENTICATION NAME (a user name), AUTHENTICATION and ENCRYPT offered or
//! agreed, and ENCRYPT START: the sender's data is encrypted from there and
//! that direction is no longer read.
//!
//! Text (after `IAC IAC` is undone; CR LF, CR NUL and a bare LF end a line):
//! the server's first lines before a login prompt are its banner (at most
//! [`BANNER_LINES`] lines), reported as identity event `telnet.banner`
//! (`description`, and `prompt`: the login prompt line, which often names the
//! host). Prompts recognised: `login:`, `username:`, `user name :`, `user:`
//! and `password:` / `passcode:` (case-insensitive, at the end of the current
//! line). The client's line answering a user-name prompt is the `user`; the
//! line answering a password prompt is never stored, only that it was sent.
//! Each login attempt is kept as operation `login` (class `authentication`)
//! with `user`, `user_source` (`prompt`, `new_environ`, `environ`,
//! `authentication_name`), `password_sent` (`true`/`false`) and `clear_text`;
//! then a failure message (`Login incorrect`, `Access denied`,
//! `Authentication failed`, `Login failed`, `Invalid password`...) or a new
//! login prompt keeps it again with `result` `failed` (and `reason`), and a
//! shell prompt (a short line ending in `$ `, `# `, `> ` or `% `) answers it.
//! After that, lines and bytes are only counted per direction.
//!
//! At the end of the flow, an anomaly event `telnet.session` flags the
//! session: `clear_text` (`true` unless ENCRYPT started), `login`
//! (`none`, `attempted`, `succeeded`, `failed`), `user` and `user_source` (of
//! the last attempt), `environ_user` (the USER the client's NEW-ENVIRON or
//! ENVIRON carried), `password_sent` (on any attempt),
//! `terminal_type`, `authentication_offered`, `encryption_offered`, `options`
//! (the options agreed, comma-separated), `lines_to_server`,
//! `lines_to_client`, `bytes_to_server`, `bytes_to_client`.

pub mod wire;

use crate::{Emit, PacketCtx, Probe, StreamDissector, StreamSession};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;
use wire::{Command, Decoder, Item, TelnetOption};

const PROTOCOL: &str = "telnet";

/// Banner lines kept before the login prompt.
pub const BANNER_LINES: usize = 8;
/// Longest line kept (banner, prompt, user name); longer ones are cut.
const MAX_LINE: usize = 160;
/// Longest user name kept.
const MAX_USER: usize = 64;
/// Longest server line a prompt or outcome is looked for in.
const MAX_PROMPT_LINE: usize = 80;

/// The Telnet stream dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Telnet;

impl StreamDissector for Telnet {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    fn port_hint(&self, server_port: u16) -> bool {
        server_port == 23
    }

    /// Either side opens with an option negotiation, `IAC WILL|WONT|DO|DONT`,
    /// or a subnegotiation of a registered option (`IAC SB AUTHENTICATION`).
    /// (A server that prints a banner without negotiating is not recognised.)
    fn probe(&self, _direction: Direction, data: &[u8]) -> Probe {
        match data {
            [] | [0xff] | [0xff, 0xfa] => Probe::NeedMore,
            [0xff, 0xfb..=0xfe, ..] => Probe::Match,
            [0xff, 0xfa, o, ..] if TelnetOption(*o).name() != "unassigned" => Probe::Match,
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn StreamSession> {
        Box::new(Session::default())
    }
}

/// What the login exchange waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Login {
    /// No prompt seen yet.
    #[default]
    Before,
    /// A user-name prompt: the client's next line is the user.
    User,
    /// Between the user name and the password prompt.
    AfterUser,
    /// A password prompt: the client's next line is the password (never stored).
    Password,
    /// The attempt was sent: the server's answer decides.
    Outcome,
    /// Logged in: text is only counted.
    Shell,
}

/// What the server printed last, if the client answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Candidate {
    /// A user-name prompt (the prompt line).
    User(String),
    /// A password prompt.
    Password,
    /// A shell prompt.
    Shell,
}

/// Where a user name came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserSource {
    Prompt,
    NewEnviron,
    Environ,
    AuthenticationName,
}

impl UserSource {
    fn name(self) -> &'static str {
        match self {
            UserSource::Prompt => "prompt",
            UserSource::NewEnviron => "new_environ",
            UserSource::Environ => "environ",
            UserSource::AuthenticationName => "authentication_name",
        }
    }
}

/// One direction's text: the current line (kept only while it may matter)
/// and the line-end state.
#[derive(Debug, Default)]
struct Text {
    line: String,
    /// The line grew past what is kept: the rest is not stored.
    cut: bool,
    /// The last byte was CR: a LF or NUL after it belongs to the same line end.
    cr: bool,
    lines: u64,
    bytes: u64,
    /// ENCRYPT START: nothing more is read.
    encrypted: bool,
}

#[derive(Debug, Default)]
struct Session {
    decoders: [Decoder; 2],
    text: [Text; 2],
    login: Login,
    banner: Vec<String>,
    banner_sent: bool,
    prompt: Option<String>,
    user: Option<(String, UserSource)>,
    /// The USER a NEW-ENVIRON or ENVIRON IS carried.
    environ_user: Option<String>,
    password_sent: bool,
    /// Passwords sent on the connection.
    passwords: u32,
    /// A prompt the server printed last, confirmed when the client answers.
    candidate: Option<Candidate>,
    /// The current attempt was kept and awaits its outcome.
    attempt_kept: bool,
    attempts: u32,
    succeeded: bool,
    failed: bool,
    terminal_type: Option<String>,
    auth_offered: bool,
    encrypt_offered: bool,
    /// Options each side agreed to perform (WILL answered by DO), by sender.
    agreed: [[u64; 4]; 2],
    /// Options each side said it will perform (WILL), by performer.
    willing: [[u64; 4]; 2],
    /// Options each side was asked to perform (DO), by performer.
    asked: [[u64; 4]; 2],
}

fn bit(set: &mut [u64; 4], o: u8) {
    if let Some(w) = set.get_mut(usize::from(o / 64)) {
        *w |= 1 << (o % 64);
    }
}

fn has(set: &[u64; 4], o: u8) -> bool {
    set.get(usize::from(o / 64)).is_some_and(|w| w & (1 << (o % 64)) != 0)
}

fn push(a: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

/// Ends of a user-name prompt, lower case, trailing spaces removed.
const USER_PROMPTS: &[&str] = &["login:", "username:", "user name:", "user name :", "user:", "userid:", "user id:"];
/// Ends of a password prompt.
const PASSWORD_PROMPTS: &[&str] = &["password:", "passcode:", "password :"];
/// What servers say when a login fails (lower case).
const FAILURES: &[&str] = &[
    "login incorrect",
    "access denied",
    "authentication failed",
    "login failed",
    "invalid password",
    "incorrect password",
    "bad password",
    "invalid login",
    "login invalid",
    "permission denied",
];

impl Session {
    fn negotiation(&mut self, direction: Direction, c: Command, o: TelnetOption) {
        let sender = direction.index();
        let other = direction.reverse().index();
        let (performer, set) = match c {
            // The sender will perform the option.
            Command::WILL => (sender, &mut self.willing),
            // The sender asks the other side to perform it.
            Command::DO => (other, &mut self.asked),
            _ => (sender, &mut [[0; 4]; 2]),
        };
        if let Some(s) = set.get_mut(performer) {
            bit(s, o.0);
        }
        let both = |sets: &[[u64; 4]; 2]| sets.get(performer).is_some_and(|s| has(s, o.0));
        if matches!(c, Command::WILL | Command::DO) && both(&self.willing) && both(&self.asked) {
            if let Some(s) = self.agreed.get_mut(performer) {
                bit(s, o.0);
            }
        }
        if o == TelnetOption::AUTHENTICATION && matches!(c, Command::DO | Command::WILL) {
            self.auth_offered = true;
        }
        if o == TelnetOption::ENCRYPT && matches!(c, Command::DO | Command::WILL) {
            self.encrypt_offered = true;
        }
    }

    fn sub(&mut self, ctx: &PacketCtx<'_>, direction: Direction, o: TelnetOption, p: &[u8], emit: &mut dyn Emit) {
        let text = |b: &[u8], max: usize| String::from_utf8_lossy(b).chars().take(max).collect::<String>();
        match (o, p) {
            // RFC 1091: IS (0) followed by the terminal name.
            (TelnetOption::TERMINAL_TYPE, [0, name @ ..]) if direction == Direction::ToServer => {
                self.terminal_type = Some(text(name, 40));
            }
            // RFC 1572 / RFC 1408: IS (0) or INFO (2), then VAR / USERVAR entries.
            (TelnetOption::NEW_ENVIRON | TelnetOption::ENVIRON, [0 | 2, list @ ..])
                if direction == Direction::ToServer =>
            {
                if let Some(user) = environ_user(list) {
                    let source = if o == TelnetOption::ENVIRON { UserSource::Environ } else { UserSource::NewEnviron };
                    let user = text(&user, MAX_USER);
                    if self.user.as_ref().is_none_or(|(_, s)| *s != UserSource::Prompt) {
                        self.user = Some((user.clone(), source));
                    }
                    self.environ_user = Some(user);
                }
            }
            // RFC 2941: NAME (3) carries the user name the client authenticates as.
            (TelnetOption::AUTHENTICATION, [3, name @ ..]) => {
                self.auth_offered = true;
                self.user = Some((text(name, MAX_USER), UserSource::AuthenticationName));
            }
            (TelnetOption::AUTHENTICATION, _) => self.auth_offered = true,
            // RFC 2946: START (3): the sender's data is encrypted after this.
            (TelnetOption::ENCRYPT, [3, ..]) => {
                self.encrypt_offered = true;
                if let Some(t) = self.text.get_mut(direction.index()) {
                    t.encrypted = true;
                }
                emit.message(ctx, PROTOCOL, Cow::Borrowed("encryption_start"), OperationClass::Session);
            }
            (TelnetOption::ENCRYPT, _) => self.encrypt_offered = true,
            _ => {}
        }
    }

    /// Text bytes of one direction.
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, bytes: &[u8], emit: &mut dyn Emit) {
        let i = direction.index();
        for &b in bytes {
            if direction == Direction::ToServer {
                // The client answers: what the server printed last was a prompt.
                if let Some(c) = self.candidate.take() {
                    self.confirm(ctx, c, emit);
                }
            } else if !matches!(b, b' ' | b'\t') {
                self.candidate = None;
            }
            let keep = self.keeps_text(direction);
            let editing = direction == Direction::ToServer && self.login == Login::User;
            let Some(t) = self.text.get_mut(i) else { return };
            t.bytes += 1;
            let after_cr = std::mem::replace(&mut t.cr, b == b'\r');
            match b {
                b'\r' => self.line_end(ctx, direction, emit),
                // CR LF and CR NUL end one line; a bare LF ends one too.
                b'\n' | 0 if after_cr => {}
                b'\n' => self.line_end(ctx, direction, emit),
                0x08 | 0x7f if editing => {
                    t.line.pop();
                }
                _ => {
                    if keep {
                        if t.line.len() < MAX_LINE {
                            t.line.push(if b.is_ascii() { char::from(b) } else { '\u{fffd}' });
                        } else {
                            t.cut = true;
                        }
                    }
                    if direction == Direction::ToClient && matches!(b, b':' | b' ') {
                        self.server_partial_line();
                    }
                }
            }
        }
    }

    /// Whether the current line of `direction` is stored: the server's until
    /// the login is done, the client's only while it answers a user prompt.
    fn keeps_text(&self, direction: Direction) -> bool {
        match direction {
            Direction::ToClient => self.login != Login::Shell,
            Direction::ToServer => self.login == Login::User,
        }
    }

    /// The server's line so far ends in ':' or ' ': a prompt, if the client
    /// answers before the server prints more on it.
    fn server_partial_line(&mut self) {
        let Some(t) = self.text.get(Direction::ToClient.index()) else { return };
        if t.cut || t.line.len() > MAX_PROMPT_LINE {
            return;
        }
        let raw = t.line.as_str();
        let line = raw.trim().to_ascii_lowercase();
        // A prompt is the prompt word alone or after one word (a host name);
        // "Last login:" is not one.
        let words = line.split_whitespace().count();
        let prompt = |set: &[&str]| {
            set.iter().any(|p| {
                line.strip_suffix(p).is_some_and(|pre| pre.is_empty() || pre.ends_with(' '))
                    && words <= p.split_whitespace().count() + 1
            }) && !line.starts_with("last ")
        };
        if raw.ends_with(':') && prompt(USER_PROMPTS) {
            self.candidate = Some(Candidate::User(raw.trim().to_string()));
        } else if raw.ends_with(':') && prompt(PASSWORD_PROMPTS) {
            self.candidate = Some(Candidate::Password);
        } else if matches!(self.login, Login::Outcome | Login::AfterUser | Login::Password) {
            // A shell prompt: "$ ", "# ", "> ", "% " at the end of a short line.
            let shell = raw.ends_with(' ') && raw.trim_end().ends_with(['$', '#', '>', '%']) && raw.trim().len() >= 2;
            if shell {
                self.candidate = Some(Candidate::Shell);
            }
        }
    }

    /// The client answered what the server printed: it was a prompt.
    fn confirm(&mut self, ctx: &PacketCtx<'_>, c: Candidate, emit: &mut dyn Emit) {
        match c {
            Candidate::User(prompt) => {
                self.send_banner(ctx, Some(prompt), emit);
                if self.attempt_kept {
                    self.outcome(ctx, false, "new login prompt", emit);
                }
                self.login = Login::User;
                self.password_sent = false;
                if let Some(t) = self.text.get_mut(Direction::ToServer.index()) {
                    t.line.clear();
                }
            }
            Candidate::Password => {
                self.send_banner(ctx, None, emit);
                if self.attempt_kept {
                    self.outcome(ctx, false, "new password prompt", emit);
                }
                self.login = Login::Password;
            }
            Candidate::Shell => {
                if !self.attempt_kept && self.user.is_some() && self.login != Login::Shell {
                    self.keep_attempt(ctx, emit);
                }
                self.outcome(ctx, true, "", emit);
            }
        }
    }

    /// A line of `direction` ended.
    fn line_end(&mut self, ctx: &PacketCtx<'_>, direction: Direction, emit: &mut dyn Emit) {
        let Some(t) = self.text.get_mut(direction.index()) else { return };
        t.lines += 1;
        let line = std::mem::take(&mut t.line);
        t.cut = false;
        if direction == Direction::ToClient {
            self.candidate = None;
        }
        if direction == Direction::ToServer {
            match self.login {
                Login::User => {
                    let user: String = line.trim().chars().take(MAX_USER).collect();
                    self.user = Some((user, UserSource::Prompt));
                    self.login = Login::AfterUser;
                }
                Login::Password => {
                    // The password line itself was never stored.
                    self.password_sent = true;
                    self.passwords += 1;
                    self.keep_attempt(ctx, emit);
                    self.login = Login::Outcome;
                }
                _ => {}
            }
            return;
        }
        let trimmed = line.trim();
        if self.login == Login::Before && !self.banner_sent && !trimmed.is_empty() && self.banner.len() < BANNER_LINES {
            self.banner.push(trimmed.to_string());
        }
        if matches!(self.login, Login::Outcome | Login::AfterUser | Login::Password) {
            let lower = trimmed.to_ascii_lowercase();
            if trimmed.len() <= MAX_PROMPT_LINE * 2 && FAILURES.iter().any(|f| lower.contains(f)) {
                if !self.attempt_kept && self.user.is_some() {
                    self.keep_attempt(ctx, emit);
                }
                self.outcome(ctx, false, trimmed, emit);
                self.login = Login::Before;
                self.banner_sent = true;
            }
        }
    }

    fn keep_attempt(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let mut a = Vec::with_capacity(4);
        if let Some((user, source)) = &self.user {
            push(&mut a, "user", user.clone());
            push(&mut a, "user_source", source.name().to_string());
        }
        push(&mut a, "password_sent", self.password_sent.to_string());
        push(&mut a, "clear_text", self.clear_text().to_string());
        self.attempts += 1;
        self.attempt_kept = true;
        emit.operation(ctx, PROTOCOL, Cow::Borrowed("login"), OperationClass::Authentication, a);
    }

    /// The server answered the kept attempt.
    fn outcome(&mut self, ctx: &PacketCtx<'_>, ok: bool, reason: &str, emit: &mut dyn Emit) {
        if !self.attempt_kept {
            return;
        }
        self.attempt_kept = false;
        if ok {
            self.succeeded = true;
            self.login = Login::Shell;
            emit.answer(ctx, PROTOCOL, Cow::Borrowed("login"), OperationClass::Authentication);
            return;
        }
        self.failed = true;
        let mut a = Vec::with_capacity(5);
        if let Some((user, source)) = &self.user {
            push(&mut a, "user", user.clone());
            push(&mut a, "user_source", source.name().to_string());
        }
        push(&mut a, "password_sent", self.password_sent.to_string());
        push(&mut a, "result", "failed".to_string());
        push(&mut a, "reason", reason.chars().take(MAX_LINE).collect());
        emit.operation(ctx, PROTOCOL, Cow::Borrowed("login"), OperationClass::Authentication, a);
    }

    fn clear_text(&self) -> bool {
        !self.text.iter().any(|t| t.encrypted)
    }

    /// The banner, once: at the first login prompt, or at the end.
    fn send_banner(&mut self, ctx: &PacketCtx<'_>, prompt: Option<String>, emit: &mut dyn Emit) {
        if self.prompt.is_none() {
            self.prompt.clone_from(&prompt);
        }
        if self.banner_sent {
            return;
        }
        self.banner_sent = true;
        if self.banner.is_empty() && prompt.is_none() {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "telnet.banner");
        if !self.banner.is_empty() {
            push(&mut e.attributes, "description", self.banner.join(" / "));
        }
        if let Some(p) = prompt {
            push(&mut e.attributes, "prompt", p);
        }
        emit.event(e);
    }

    fn options(&self) -> String {
        let mut names: Vec<&'static str> = Vec::new();
        for o in 0..=255u8 {
            if self.agreed.iter().any(|s| has(s, o)) {
                let n = TelnetOption(o).name();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
        names.join(",")
    }
}

/// The USER value of a NEW-ENVIRON / ENVIRON list (RFC 1572 §3): VAR (0) or
/// USERVAR (3) starts a name, VALUE (1) its value, ESC (2) quotes the next byte.
fn environ_user(list: &[u8]) -> Option<Vec<u8>> {
    #[derive(PartialEq)]
    enum In {
        Name,
        Value,
        None,
    }
    let (mut name, mut value, mut at) = (Vec::new(), Vec::new(), In::None);
    let mut found = None;
    let mut it = list.iter();
    let finish = |name: &Vec<u8>, value: &Vec<u8>, found: &mut Option<Vec<u8>>| {
        if name.as_slice() == b"USER" && found.is_none() {
            *found = Some(value.clone());
        }
    };
    while let Some(&b) = it.next() {
        match b {
            0 | 3 => {
                finish(&name, &value, &mut found);
                name.clear();
                value.clear();
                at = In::Name;
            }
            1 => at = In::Value,
            _ => {
                let b = if b == 2 { it.next().copied().unwrap_or(2) } else { b };
                match at {
                    In::Name if name.len() < 32 => name.push(b),
                    In::Value if value.len() < MAX_USER * 4 => value.push(b),
                    _ => {}
                }
            }
        }
    }
    finish(&name, &value, &mut found);
    found
}

/// The counted name of a negotiation: `will_echo`, interned once per pair.
fn negotiation_name(c: Command, o: TelnetOption) -> Cow<'static, str> {
    crate::intern::name("telnet_negotiation", u64::from(c.0) << 8 | u64::from(o.0), || match o.name() {
        "unassigned" => format!("{}_option_{}", c.name(), o.0),
        n => format!("{}_{n}", c.name()),
    })
}

/// The counted name of a subnegotiation: `sb_terminal_type`.
fn sub_name(o: TelnetOption) -> Cow<'static, str> {
    crate::intern::name("telnet_sub", u64::from(o.0), || match o.name() {
        "unassigned" => format!("sb_option_{}", o.0),
        n => format!("sb_{n}"),
    })
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let i = direction.index();
        let mut decoder = std::mem::take(self.decoders.get_mut(i).unwrap_or(&mut Decoder::new()));
        decoder.push(data, &mut |item| {
            if self.text.get(i).is_none_or(|t| t.encrypted) {
                return;
            }
            match item {
                Item::Data(b) => self.data(ctx, direction, b, emit),
                Item::Command(c, Some(o)) => {
                    self.negotiation(direction, c, o);
                    emit.message(ctx, PROTOCOL, negotiation_name(c, o), OperationClass::Session);
                }
                Item::Command(c, None) => emit.message(ctx, PROTOCOL, Cow::Borrowed(c.name()), OperationClass::Session),
                Item::Sub(o, p) => {
                    emit.message(ctx, PROTOCOL, sub_name(o), OperationClass::Session);
                    self.sub(ctx, direction, o, p, emit);
                }
                Item::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.name()),
            }
        });
        if let Some(d) = self.decoders.get_mut(i) {
            *d = decoder;
        }
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        if let Some(d) = self.decoders.get_mut(direction.index()) {
            d.gap();
        }
        if let Some(t) = self.text.get_mut(direction.index()) {
            t.line.clear();
            t.cr = false;
        }
        // A password line may have been in the gap: never read what follows as a user name.
        if self.login == Login::User && direction == Direction::ToServer {
            self.login = Login::AfterUser;
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.send_banner(ctx, None, emit);
        // A shell prompt the client had no time to answer still ends the login.
        if self.candidate == Some(Candidate::Shell) && self.attempt_kept {
            self.outcome(ctx, true, "", emit);
        }
        if self.attempts == 0 && self.user.is_some() && self.login != Login::Before {
            self.keep_attempt(ctx, emit);
        }
        let login = if self.succeeded {
            "succeeded"
        } else if self.failed {
            "failed"
        } else if self.attempts > 0 {
            "attempted"
        } else {
            "none"
        };
        let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "telnet.session");
        let a = &mut e.attributes;
        push(a, "clear_text", self.clear_text().to_string());
        push(a, "login", login.to_string());
        if let Some((user, source)) = &self.user {
            push(a, "user", user.clone());
            push(a, "user_source", source.name().to_string());
        }
        if let Some(u) = &self.environ_user {
            push(a, "environ_user", u.clone());
        }
        push(a, "password_sent", (self.passwords > 0).to_string());
        if let Some(t) = &self.terminal_type {
            push(a, "terminal_type", t.clone());
        }
        push(a, "authentication_offered", self.auth_offered.to_string());
        push(a, "encryption_offered", self.encrypt_offered.to_string());
        push(a, "options", self.options());
        let [to_server, to_client] = &self.text;
        push(a, "lines_to_server", to_server.lines.to_string());
        push(a, "lines_to_client", to_client.lines.to_string());
        push(a, "bytes_to_server", to_server.bytes.to_string());
        push(a, "bytes_to_client", to_client.bytes.to_string());
        emit.event(e);
    }
}

#[cfg(test)]
mod tests;
