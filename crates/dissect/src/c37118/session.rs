//! Per-flow C37.118 state: a [`Scanner`](frame::Scanner) per direction over TCP, one frame
//! per datagram over UDP, and the counters reported when the flow closes.
//!
//! Every frame is checked (CRC) before it is read; one that fails is
//! counted malformed (`bad_crc`) and read no further. Commands are what a
//! PDC or other client sends; data, header and configuration frames what
//! the PMU (or a PDC serving its combined stream) sends back.

use super::frame::{self, Config, FrameType, Header, Scanner};
use super::PROTOCOL;
use crate::text::{dec, fixed};
use crate::{DatagramSession, Emit, PacketCtx, StreamSession};
use otposture_model::{format_compact, Direction, EventKind, OperationClass};
use std::borrow::Cow;

/// Header frame text kept, in bytes.
const MAX_TEXT: usize = 255;

/// What did not parse, reported when the flow closes.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    bad_checks: u64,
    truncated_configs: u64,
}

/// The frames of a flow: its counters, and the configuration change count
/// last seen per PMU, so each new configuration is reported once.
#[derive(Debug, Default)]
struct Frames {
    counters: Counters,
    /// (PMU id, configuration change count, station) already reported.
    reported: Vec<(u16, u16, String)>,
}

/// Configurations remembered per flow for reporting once.
const MAX_REPORTED: usize = 256;

/// A TCP flow's session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    scanners: [Scanner; 2],
    frames: Frames,
}

impl Session {
    pub(crate) fn new() -> Self {
        Session::default()
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { scanners, frames } = self;
        let Some(scanner) = scanners.get_mut(direction.index()) else { return };
        scanner.push(data, &mut |h, body, ok| {
            if ok {
                frames.frame(ctx, h, body, emit);
            } else {
                frames.counters.bad_checks += 1;
                emit.malformed(ctx, PROTOCOL, "bad_crc");
            }
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, _len: u64, _emit: &mut dyn Emit) {
        if let Some(s) = self.scanners.get_mut(direction.index()) {
            s.gap();
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let skipped: u64 = self.scanners.iter().map(Scanner::skipped).sum();
        self.frames.close(ctx, skipped, emit);
    }
}

/// A UDP flow's session: one frame per datagram.
#[derive(Debug, Default)]
pub(crate) struct Datagrams {
    frames: Frames,
}

impl DatagramSession for Datagrams {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        match frame::parse_header(data) {
            Ok(Some(h)) if usize::from(h.size) <= data.len() => {
                let whole = data.get(..usize::from(h.size)).unwrap_or_default();
                if frame::check_ok(whole) {
                    let rest = whole.get(frame::HEADER_LEN..).unwrap_or_default();
                    self.frames.frame(ctx, &h, rest, emit);
                } else {
                    self.frames.counters.bad_checks += 1;
                    emit.malformed(ctx, PROTOCOL, "bad_crc");
                }
            }
            Ok(_) => emit.malformed(ctx, PROTOCOL, "truncated_frame"),
            Err(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        self.frames.close(ctx, 0, emit);
    }
}

impl Frames {
    /// One whole frame that passed its check: `rest` is what follows the
    /// header, the check last.
    fn frame(&mut self, ctx: &PacketCtx<'_>, h: &Header, rest: &[u8], emit: &mut dyn Emit) {
        let body = rest.get(..rest.len().saturating_sub(frame::CHK_LEN)).unwrap_or_default();
        match h.kind {
            FrameType::Data => emit.message(ctx, PROTOCOL, Cow::Borrowed("data"), OperationClass::Read),
            FrameType::Header => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("header"), OperationClass::Discovery);
                let text = body.get(..MAX_TEXT.min(body.len())).unwrap_or_default();
                let text = String::from_utf8_lossy(text);
                let text = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
                if !text.is_empty() {
                    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "c37118.header");
                    e.attributes.push((Cow::Borrowed("stream_id"), dec(h.idcode)));
                    e.attributes.push((Cow::Borrowed("description"), text.into()));
                    emit.event(e);
                }
            }
            FrameType::Config1 | FrameType::Config2 => {
                let name = if h.kind == FrameType::Config1 { "config_1" } else { "config_2" };
                emit.message(ctx, PROTOCOL, Cow::Borrowed(name), OperationClass::Discovery);
                match frame::parse_config(body) {
                    Some(c) => self.config(ctx, h, &c, emit),
                    None => {
                        self.counters.truncated_configs += 1;
                        emit.malformed(ctx, PROTOCOL, "truncated_config");
                    }
                }
            }
            FrameType::Config3 => emit.message(ctx, PROTOCOL, Cow::Borrowed("config_3"), OperationClass::Discovery),
            FrameType::Command => {
                let cmd = body.first_chunk::<2>().map(|b| u16::from_be_bytes(*b));
                let Some(cmd) = cmd else {
                    emit.malformed(ctx, PROTOCOL, "truncated_command");
                    return;
                };
                let name = frame::command_name(cmd);
                let class = match cmd {
                    // Stops or starts the measurements a control centre sees.
                    1 | 2 => OperationClass::Control,
                    3..=6 => OperationClass::Discovery,
                    _ => OperationClass::Unknown,
                };
                if class.is_notable() {
                    let a = vec![
                        (Cow::Borrowed("message"), fixed("request")),
                        (Cow::Borrowed("stream_id"), dec(h.idcode)),
                        (Cow::Borrowed("command"), dec(cmd)),
                    ];
                    emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
            }
        }
    }

    /// A configuration: one identity event per PMU block, the first time
    /// this PMU's configuration (by change count) is seen on the flow.
    fn config(&mut self, ctx: &PacketCtx<'_>, h: &Header, c: &Config, emit: &mut dyn Emit) {
        if c.pmus.len() < usize::from(c.num_pmu) || c.data_rate.is_none() {
            self.counters.truncated_configs += 1;
            emit.malformed(ctx, PROTOCOL, "truncated_config");
        }
        for p in &c.pmus {
            let seen = self
                .reported
                .iter()
                .any(|(id, count, station)| *id == p.idcode && *count == p.config_count && *station == p.station);
            if seen {
                continue;
            }
            if self.reported.len() >= MAX_REPORTED {
                self.reported.clear();
            }
            self.reported.push((p.idcode, p.config_count, p.station.clone()));
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "c37118.pmu");
            e.attributes.push((Cow::Borrowed("station"), p.station.as_str().into()));
            // The PMU is the sender itself only when its stream holds one PMU;
            // a PDC's combined stream names the PMUs behind it.
            if c.num_pmu == 1 {
                e.attributes.push((Cow::Borrowed("name"), p.station.as_str().into()));
            }
            e.attributes.push((Cow::Borrowed("pmu_id"), dec(p.idcode)));
            e.attributes.push((Cow::Borrowed("stream_id"), dec(h.idcode)));
            e.attributes.push((Cow::Borrowed("pmus_in_stream"), dec(c.num_pmu)));
            e.attributes.push((Cow::Borrowed("phasors"), dec(p.phasors)));
            e.attributes.push((Cow::Borrowed("analogs"), dec(p.analogs)));
            e.attributes.push((Cow::Borrowed("digitals"), dec(p.digitals)));
            if !p.channels.is_empty() {
                e.attributes.push((Cow::Borrowed("channels"), p.channels.join(",").into()));
            }
            e.attributes.push((Cow::Borrowed("nominal_frequency"), format_compact!("{} Hz", p.nominal_hz)));
            e.attributes.push((Cow::Borrowed("config_count"), dec(p.config_count)));
            if let Some(rate) = c.data_rate {
                let rate = if rate >= 0 {
                    format_compact!("{rate} frames/s")
                } else {
                    format_compact!("1 frame/{} s", rate.unsigned_abs())
                };
                e.attributes.push((Cow::Borrowed("data_rate"), rate));
            }
            e.attributes.push((Cow::Borrowed("version"), dec(h.version)));
            emit.event(e);
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, skipped: u64, emit: &mut dyn Emit) {
        let c = self.counters;
        let counts = [
            ("bad_checks", c.bad_checks),
            ("truncated_configs", c.truncated_configs),
            ("resync_skipped_bytes", skipped),
        ];
        if let Some(e) = ctx.counts_event(PROTOCOL, "c37118.session_anomalies", &counts) {
            emit.event(e);
        }
    }
}
