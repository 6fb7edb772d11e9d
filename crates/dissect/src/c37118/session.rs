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
    /// Data frames whose length is not what the configuration says.
    data_size_mismatches: u64,
    /// Changes of a PMU to an error, test mode or lost synchronisation.
    pmu_status_reports: u64,
}

/// The frames of a flow: its counters, and the configuration change count
/// last seen per PMU, so each new configuration is reported once.
#[derive(Debug, Default)]
struct Frames {
    counters: Counters,
    /// (PMU id, configuration change count, station) already reported.
    reported: Vec<(u16, u16, String)>,
    /// The data frame layout the last whole configuration 2 gave: each PMU's
    /// id, station, block length, and the status it last reported.
    layout: Vec<PmuStatus>,
}

/// A PMU of the stream, as its data frames report on it.
#[derive(Debug)]
struct PmuStatus {
    idcode: u16,
    station: String,
    block_len: usize,
    /// STAT's data error (bits 15-14) and sync (bit 13) last seen; good and
    /// synchronised until a data frame says otherwise.
    flags: u16,
}

/// STAT's data error bits and PMU sync bit (C37.118.2-2011 Table 7).
const STAT_WATCHED: u16 = 0xe000;

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
            FrameType::Data => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("data"), OperationClass::Read);
                self.data(ctx, body, emit);
            }
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
                    Some(c) => {
                        if h.kind == FrameType::Config2 {
                            self.learn_layout(&c);
                        }
                        self.config(ctx, h, &c, emit)
                    }
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

    /// The data frame layout of a whole configuration 2; a configuration cut
    /// short leaves none (data frames are then counted, not read).
    fn learn_layout(&mut self, c: &Config) {
        if c.pmus.len() != usize::from(c.num_pmu) || c.data_rate.is_none() {
            self.layout.clear();
            return;
        }
        let old = std::mem::take(&mut self.layout);
        self.layout = c
            .pmus
            .iter()
            .map(|p| PmuStatus {
                idcode: p.idcode,
                station: p.station.clone(),
                block_len: p.data_block_len(),
                // A PMU the stream already had keeps what it last reported.
                flags: old.iter().find(|o| o.idcode == p.idcode).map_or(0, |o| o.flags),
            })
            .collect();
    }

    /// A data frame: each PMU's STAT, by the layout. A change of its data
    /// error or synchronisation is reported once, as it happens (a PMU that
    /// loses its time source, a spoofed or jammed GPS, stamps every phasor
    /// wrongly from then on).
    fn data(&mut self, ctx: &PacketCtx<'_>, body: &[u8], emit: &mut dyn Emit) {
        if self.layout.is_empty() {
            return;
        }
        let expected: usize = self.layout.iter().map(|p| p.block_len).sum();
        if body.len() != expected {
            self.counters.data_size_mismatches += 1;
            return;
        }
        let mut at = 0;
        for p in &mut self.layout {
            let stat = body.get(at..).and_then(<[u8]>::first_chunk::<2>).map_or(0, |b| u16::from_be_bytes(*b));
            at += p.block_len;
            let flags = stat & STAT_WATCHED;
            if flags == p.flags {
                continue;
            }
            p.flags = flags;
            if flags != 0 {
                self.counters.pmu_status_reports += 1;
            }
            let mut e = ctx.event(PROTOCOL, EventKind::Anomaly, "c37118.pmu_status");
            e.attributes.push((Cow::Borrowed("pmu_id"), dec(p.idcode)));
            e.attributes.push((Cow::Borrowed("station"), p.station.as_str().into()));
            let error = match flags >> 14 {
                0 => "none",
                1 => "pmu_error_no_information",
                2 => "test_mode",
                _ => "pmu_error",
            };
            e.attributes.push((Cow::Borrowed("data_error"), fixed(error)));
            e.attributes
                .push((Cow::Borrowed("synchronised"), fixed(if flags & 0x2000 == 0 { "true" } else { "false" })));
            e.attributes.push((Cow::Borrowed("stat"), crate::text::hex(u64::from(stat), 4)));
            emit.event(e);
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
            ("data_size_mismatches", c.data_size_mismatches),
            ("pmu_status_reports", c.pmu_status_reports),
            ("resync_skipped_bytes", skipped),
        ];
        if let Some(e) = ctx.counts_event(PROTOCOL, "c37118.session_anomalies", &counts) {
            emit.event(e);
        }
    }
}
