//! Per-flow S7comm state: per direction a TPKT [`Framer`], a COTP
//! [`Reassembler`] and the SZL response being joined from several userdata
//! data units; and the counters of what did not parse, reported at close.
//!
//! Requests and responses carry their own function codes (ack_data repeats the
//! job's function, userdata responses their group and subfunction), so no
//! request table is kept; only the last job is remembered, because a bare
//! ack (the answer to a refused job) carries no function. An SZL answer split
//! over data units (userdata "last data unit: no") is joined within
//! [`MAX_SZL`] bytes before its records are read; anything past the cap is
//! dropped and counted.

use super::cotp::{self, Reassembled, Reassembler, TpduCode, TpduKind};
use super::pdu::{self, Pdu};
use super::tpkt::Framed;
use super::{szl, PROTOCOL, PROTOCOL_PLUS};
use crate::rfc1006::Transport;
use crate::text::{dec, hex};
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::{format_compact, ToCompactString};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

/// Most bytes of one SZL answer joined from several data units.
pub(crate) const MAX_SZL: usize = 16 * 1024;

/// What did not parse, reported when the flow closes.
#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    trailing_bytes: u64,
    szl_overflows: u64,
    unknown_protocol_ids: u64,
}

/// An SZL answer waiting for its next data unit.
#[derive(Debug)]
struct PendingSzl {
    data_unit_ref: u8,
    bytes: Vec<u8>,
}

/// The last job seen, to name a bare ack that answers it.
#[derive(Clone, Debug)]
struct Job {
    pdu_ref: u16,
    name: Cow<'static, str>,
    class: OperationClass,
}

/// One direction's layers.
#[derive(Debug, Default)]
struct Layers {
    transport: Transport,
    szl: Option<PendingSzl>,
}

/// The per-flow session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    dirs: [Layers; 2],
    counters: Counters,
    last_job: Option<Job>,
}

impl Session {
    pub(crate) fn new() -> Self {
        Session::default()
    }
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { dirs, counters, last_job } = self;
        let Some(Layers { transport: Transport { framer, cotp }, szl }) = dirs.get_mut(direction.index()) else {
            return;
        };
        framer.push(data, &mut |f| match f {
            Framed::Frame(_, tpdu) => self::tpdu(ctx, tpdu, cotp, szl, last_job, counters, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(l) = self.dirs.get_mut(direction.index()) {
            l.transport.gap(len);
            l.szl = None;
        }
        self.last_job = None;
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = self.counters;
        let [skipped, overflows] = Transport::counts(self.dirs.iter().map(|l| &l.transport));
        let counts = [
            skipped,
            overflows,
            ("szl_overflows", c.szl_overflows),
            ("trailing_bytes", c.trailing_bytes),
            ("unknown_protocol_ids", c.unknown_protocol_ids),
        ];
        if let Some(e) = ctx.counts_event(PROTOCOL, "s7comm.session_anomalies", &counts) {
            emit.event(e);
        }
    }
}

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

/// One TPKT payload: a COTP TPDU.
fn tpdu(
    ctx: &PacketCtx<'_>,
    bytes: &[u8],
    reassembler: &mut Reassembler,
    pending: &mut Option<PendingSzl>,
    last_job: &mut Option<Job>,
    counters: &mut Counters,
    emit: &mut dyn Emit,
) {
    let t = match cotp::parse(bytes) {
        Ok(t) => t,
        Err(e) => {
            emit.malformed(ctx, PROTOCOL, e.what());
            return;
        }
    };
    match t.kind {
        TpduKind::Data { eot, .. } => reassembler.push(t.data, eot, |r| match r {
            Reassembled::Held => {}
            Reassembled::Overflow => emit.malformed(ctx, PROTOCOL, "cotp_tsdu_too_long"),
            Reassembled::Complete(tsdu) => self::tsdu(ctx, tsdu, pending, last_job, counters, emit),
        }),
        TpduKind::Connect { .. } => {
            emit.message(
                ctx,
                PROTOCOL,
                Cow::Owned(format!("cotp_{}", t.code.name())),
                otposture_model::OperationClass::Session,
            );
            if t.code == TpduCode::CR || t.code == TpduCode::CC {
                connect_event(ctx, &t, emit);
            }
        }
        _ => emit.message(
            ctx,
            PROTOCOL,
            Cow::Owned(format!("cotp_{}", t.code.name())),
            otposture_model::OperationClass::Session,
        ),
    }
}

/// The TSAPs of a connection request or confirm, as an annotation: the
/// destination TSAP names the rack and slot of the CPU addressed.
fn connect_event(ctx: &PacketCtx<'_>, t: &cotp::Tpdu<'_>, emit: &mut dyn Emit) {
    let mut e = ctx.event(PROTOCOL, EventKind::Annotation, "s7comm.cotp_connect");
    e.attributes.push((Cow::Borrowed("tpdu"), t.code.name().into_owned().into()));
    if let Some(v) = t.param(cotp::PARAM_SRC_TSAP) {
        e.attributes.push((Cow::Borrowed("src_tsap"), cotp::tsap_text(v).into()));
    }
    if let Some(v) = t.param(cotp::PARAM_DST_TSAP) {
        e.attributes.push((Cow::Borrowed("dst_tsap"), cotp::tsap_text(v).into()));
        if let Some((rack, slot)) = cotp::rack_slot(v) {
            e.attributes.push((Cow::Borrowed("rack"), rack.to_compact_string()));
            e.attributes.push((Cow::Borrowed("slot"), slot.to_compact_string()));
        }
    }
    if let Some(&[size]) = t.param(cotp::PARAM_TPDU_SIZE) {
        if let Some(n) = 1u32.checked_shl(u32::from(size)) {
            e.attributes.push((Cow::Borrowed("tpdu_size"), n.to_compact_string()));
        }
    }
    emit.event(e);
}

/// One whole TSDU: S7comm, S7comm-plus, or something else.
fn tsdu(
    ctx: &PacketCtx<'_>,
    tsdu: &[u8],
    pending: &mut Option<PendingSzl>,
    last_job: &mut Option<Job>,
    counters: &mut Counters,
    emit: &mut dyn Emit,
) {
    match tsdu.first() {
        Some(&pdu::PROTOCOL_ID_S7COMM) => {}
        Some(&pdu::PROTOCOL_ID_S7COMM_PLUS) => {
            if let Some(h) = pdu::parse_plus(tsdu) {
                let (op, class) = h.operation();
                if class.is_notable() {
                    let mut a: Attributes = vec![(Cow::Borrowed("version"), h.version.to_compact_string())];
                    if let Some(o) = h.opcode {
                        a.push((Cow::Borrowed("opcode"), format_compact!("{o:#04x}")));
                    }
                    if let Some(f) = h.function {
                        a.push((Cow::Borrowed("function"), format_compact!("{f:#06x}")));
                    }
                    emit.operation(ctx, PROTOCOL_PLUS, op, class, a);
                } else {
                    emit.message(ctx, PROTOCOL_PLUS, op, class);
                }
            } else {
                emit.malformed(ctx, PROTOCOL_PLUS, "s7comm_plus_short_header");
            }
            return;
        }
        // An empty TSDU (a bare DT) carries nothing.
        None => return,
        Some(_) => {
            counters.unknown_protocol_ids += 1;
            emit.malformed(ctx, PROTOCOL, "unknown_protocol_id");
            return;
        }
    }
    let p = match pdu::parse(tsdu) {
        Ok(p) => p,
        Err(e) => {
            emit.malformed(ctx, PROTOCOL, e.what());
            return;
        }
    };
    counters.trailing_bytes += p.trailing as u64;
    let (mut op, mut class) = p.operation();
    let mut answers_job = false;
    if p.rosctr == pdu::Rosctr::JOB {
        *last_job = Some(Job { pdu_ref: p.pdu_ref, name: op.clone(), class });
    } else if p.rosctr == pdu::Rosctr::ACK || p.rosctr == pdu::Rosctr::ACK_DATA {
        if let Some(job) = last_job.take_if(|j| j.pdu_ref == p.pdu_ref) {
            answers_job = true;
            // A bare ack answers a job the CPU refused (snap7's server answers a
            // start_upload it does not allow this way, error 0xd241): it takes
            // the job's name and class, so the refusal is kept with its error.
            if p.rosctr == pdu::Rosctr::ACK && p.function().is_none() {
                (op, class) = (job.name, job.class);
            }
        }
    }
    if answers_job && succeeded(&p) {
        // The job's record stands for the operation; a refusal is kept.
        emit.answer(ctx, PROTOCOL, op, class);
    } else if class.is_notable() {
        emit.operation(ctx, PROTOCOL, op, class, attributes(&p));
    } else {
        emit.message(ctx, PROTOCOL, op, class);
    }
    if let Some(u) = p.userdata() {
        if u.group == pdu::FunctionGroup::CPU && u.subfunction == 1 && !u.is_request() {
            szl_response(ctx, &u, pending, counters, emit);
        }
        if u.group == pdu::FunctionGroup::MODE_TRANSITION {
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "s7comm.cpu_mode");
            e.attributes.push((Cow::Borrowed("cpu_mode"), pdu::transition_mode(u.subfunction).to_compact_string()));
            emit.event(e);
        }
    }
}

/// The attributes of a notable operation's record.
/// True for an acknowledgement without a header error whose items (write_var)
/// all report success (return code 0xff).
fn succeeded(p: &Pdu<'_>) -> bool {
    if p.error.is_some_and(|(class, code)| class != 0 || code != 0) {
        return false;
    }
    if p.function() == Some(pdu::Function::WRITE_VAR) {
        let items = usize::from(p.fields().item_count.unwrap_or(0));
        return p.data.get(..items).is_some_and(|codes| codes.iter().all(|&c| c == 0xff));
    }
    true
}

fn attributes(p: &Pdu<'_>) -> Attributes {
    let mut a: Attributes = Vec::with_capacity(8);
    a.push((Cow::Borrowed("message"), p.rosctr.name().into_owned().into()));
    a.push((Cow::Borrowed("pdu_ref"), dec(p.pdu_ref)));
    if let Some(f) = p.function() {
        a.push((Cow::Borrowed("function"), hex(u64::from(f.0), 2)));
    }
    let f = p.fields();
    if let Some(n) = f.item_count {
        a.push((Cow::Borrowed("item_count"), dec(n)));
    }
    if let Some(name) = f.filename {
        a.push((Cow::Borrowed("filename"), szl::text(name).into()));
    }
    if let Some(b) = f.block {
        a.push((Cow::Borrowed("block"), b.text().into()));
    }
    if let Some(s) = f.pi_service {
        a.push((Cow::Borrowed("pi_service"), szl::text(s).into()));
    }
    if let Some(u) = p.userdata() {
        a.push((Cow::Borrowed("function_group"), dec(u.group.0)));
        a.push((Cow::Borrowed("subfunction"), dec(u.subfunction)));
        if let Some(e) = u.error.filter(|&e| e != 0) {
            a.push((Cow::Borrowed("error"), hex(u64::from(e), 4)));
        }
    }
    if let Some((class, code)) = p.error.filter(|&(c, e)| c != 0 || e != 0) {
        a.push((Cow::Borrowed("error"), hex(u64::from(u16::from_be_bytes([class, code])), 4)));
    }
    a
}

/// A read-SZL response data unit: joined with the earlier ones of its answer,
/// then read when the last arrives.
fn szl_response(
    ctx: &PacketCtx<'_>,
    u: &pdu::Userdata<'_>,
    pending: &mut Option<PendingSzl>,
    counters: &mut Counters,
    emit: &mut dyn Emit,
) {
    let dur = u.data_unit_ref.unwrap_or(0);
    let continues = pending.as_ref().is_some_and(|p| p.data_unit_ref == dur && dur != 0);
    if continues {
        let Some(p) = pending.as_mut() else { return };
        if p.bytes.len().saturating_add(u.payload.len()) > MAX_SZL {
            counters.szl_overflows += 1;
            *pending = None;
            return;
        }
        p.bytes.extend_from_slice(u.payload);
        if !u.more {
            if let Some(p) = pending.take() {
                szl_records(ctx, &p.bytes, emit);
            }
        }
        return;
    }
    if u.more {
        let bytes = u.payload.get(..MAX_SZL.min(u.payload.len())).unwrap_or_default().to_vec();
        *pending = Some(PendingSzl { data_unit_ref: dur, bytes });
    } else {
        *pending = None;
        szl_records(ctx, u.payload, emit);
    }
}

/// Identity and CPU mode from a whole SZL answer.
fn szl_records(ctx: &PacketCtx<'_>, payload: &[u8], emit: &mut dyn Emit) {
    let Some(h) = szl::parse(payload) else { return };
    let szl_id = format!("{:#06x}", h.id);
    let attrs = szl::identity(&h);
    if !attrs.is_empty() {
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "s7comm.szl_identity");
        e.attributes.push((Cow::Borrowed("szl_id"), szl_id.clone().into()));
        for (k, v) in attrs {
            e.attributes.push((Cow::Borrowed(k), v.into()));
        }
        emit.event(e);
    }
    for m in szl::modules(&h) {
        // `route` makes the inventory file it as a module of the CPU that answered.
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "s7comm.module_status");
        e.attributes.extend([
            (Cow::Borrowed("szl_id"), szl_id.clone().into()),
            (Cow::Borrowed("route"), m.position.into()),
            (Cow::Borrowed("logical_address"), crate::text::dec(m.logical_address)),
            (Cow::Borrowed("type_code"), crate::text::hex(u64::from(m.actual_type), 4)),
            (Cow::Borrowed("expected_type_code"), crate::text::hex(u64::from(m.expected_type), 4)),
            (Cow::Borrowed("status"), m.status.into()),
        ]);
        if m.actual_type != m.expected_type {
            e.attributes.push((Cow::Borrowed("type_mismatch"), "true".to_compact_string()));
        }
        emit.event(e);
    }
    if let Some(mode) = szl::cpu_mode(&h) {
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "s7comm.szl_cpu_mode");
        e.attributes.push((Cow::Borrowed("szl_id"), szl_id.into()));
        e.attributes.push((Cow::Borrowed("cpu_mode"), mode.to_compact_string()));
        emit.event(e);
    }
}
