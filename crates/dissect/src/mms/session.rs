//! Per-flow MMS state: per direction a TPKT [`Framer`] and a COTP
//! [`Reassembler`]; the confirmed requests waiting for their answer, by
//! invoke id; the counts of what did not parse, reported at close; and
//! what an ICCP peer taught (the transfer sets it lent).

use super::osi::{self, Acse};
use super::pdu::{self, Kind, Pdu, Tase2Object, Tase2Read};
use super::PROTOCOL;
use crate::iec61850::ber::Tagged;
use crate::rfc1006::cotp::{self, Reassembled, Reassembler, TpduKind};
use crate::rfc1006::tpkt::Framed;
use crate::rfc1006::Transport;
use crate::text::dec;
use crate::{Emit, PacketCtx, StreamSession};
use otposture_model::{format_compact, ToCompactString};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

/// Confirmed requests remembered for their answers; the oldest is forgotten
/// past it (a client that never hears back cannot grow the table).
const MAX_PENDING: usize = 64;

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

/// A confirmed request waiting for its answer.
#[derive(Clone, Debug)]
struct Request {
    invoke_id: u32,
    name: &'static str,
    class: OperationClass,
    /// A GetNameList of the server's domains (its logical devices).
    lists_domains: bool,
    /// The ICCP (TASE.2) association objects a Read asks for; empty for
    /// every other request.
    tase2: Vec<Tase2Read>,
}

/// Most ICCP transfer sets remembered per flow (a peer lends one per data
/// set it reports; the oldest is forgotten past it).
const MAX_TRANSFER_SETS: usize = 32;

/// What the flow's messages leave behind besides the pending requests.
#[derive(Clone, Debug, Default)]
struct State {
    /// What did not parse, reported when the flow closes.
    unknown_services: u64,
    unanswered: u64,
    /// Per direction: the requester was already named an ICCP client.
    tase2_client_named: [bool; 2],
    /// ICCP data set transfer sets a server lent (`Next_DSTransfer_Set`
    /// answers), as `domain/name`: a write to one starts or changes reports.
    transfer_sets: Vec<String>,
}

/// The per-flow session.
#[derive(Debug, Default)]
pub(crate) struct Session {
    dirs: [Transport; 2],
    pending: Vec<Request>,
    state: State,
}

impl StreamSession for Session {
    fn data(&mut self, ctx: &PacketCtx<'_>, direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let Session { dirs, pending, state } = self;
        let Some(Transport { framer, cotp }) = dirs.get_mut(direction.index()) else { return };
        framer.push(data, &mut |f| match f {
            Framed::Frame(_, bytes) => tpdu(ctx, bytes, cotp, pending, state, emit),
            Framed::Malformed(e) => emit.malformed(ctx, PROTOCOL, e.what()),
        });
    }

    fn gap(&mut self, _ctx: &PacketCtx<'_>, direction: Direction, len: u64, _emit: &mut dyn Emit) {
        if let Some(t) = self.dirs.get_mut(direction.index()) {
            t.gap(len);
        }
    }

    fn close(&mut self, ctx: &PacketCtx<'_>, emit: &mut dyn Emit) {
        let c = &self.state;
        let [skipped, overflows] = Transport::counts(&self.dirs);
        let counts =
            [skipped, overflows, ("unknown_services", c.unknown_services), ("requests_forgotten", c.unanswered)];
        if let Some(e) = ctx.counts_event(PROTOCOL, "mms.session_anomalies", &counts) {
            emit.event(e);
        }
    }
}

/// One TPKT payload: a COTP TPDU.
fn tpdu(
    ctx: &PacketCtx<'_>,
    bytes: &[u8],
    reassembler: &mut Reassembler,
    pending: &mut Vec<Request>,
    state: &mut State,
    emit: &mut dyn Emit,
) {
    let t = match cotp::parse(bytes) {
        Ok(t) => t,
        Err(e) => return emit.malformed(ctx, PROTOCOL, e.what()),
    };
    match t.kind {
        TpduKind::Data { eot, .. } => reassembler.push(t.data, eot, |r| match r {
            Reassembled::Held => {}
            Reassembled::Overflow => emit.malformed(ctx, PROTOCOL, "cotp_tsdu_too_long"),
            Reassembled::Complete(tsdu) => self::tsdu(ctx, tsdu, pending, state, emit),
        }),
        // The transport connection's own TPDUs: counted, as S7comm counts them.
        _ => emit.message(ctx, PROTOCOL, Cow::Owned(format!("cotp_{}", t.code.name())), OperationClass::Session),
    }
}

/// One whole TSDU: a session SPDU and the presentation data it carries.
fn tsdu(ctx: &PacketCtx<'_>, tsdu: &[u8], pending: &mut Vec<Request>, state: &mut State, emit: &mut dyn Emit) {
    if tsdu.is_empty() {
        return;
    }
    if osi::is_bare_mms(tsdu) {
        return mms(ctx, tsdu, pending, state, emit);
    }
    let spdu = match osi::spdu(tsdu) {
        Ok(s) => s,
        Err(e) => return emit.malformed(ctx, PROTOCOL, e.what()),
    };
    let mut carried = 0;
    let mut contents: [Option<&[u8]>; 4] = [None; 4];
    let r = osi::pdvs(&spdu, &mut |pdv| {
        if let Some(slot) = contents.get_mut(carried) {
            *slot = Some(pdv.content);
        }
        carried += 1;
    });
    if let Err(e) = r {
        emit.malformed(ctx, PROTOCOL, e.what());
    }
    // A session SPDU that carries nothing above it (a refusal, an abort, a
    // bare GIVE TOKENS) is counted as itself.
    if carried == 0 && !(spdu.si == osi::si::DATA && spdu.user_data.is_empty()) {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(spdu.name()), OperationClass::Session);
    }
    for content in contents.into_iter().flatten() {
        match Acse::read(content) {
            Some(acse) => association(ctx, &acse, pending, state, emit),
            None => mms(ctx, content, pending, state, emit),
        }
    }
}

/// An ACSE APDU: counted, an authentication kept, and the MMS PDU inside.
fn association(
    ctx: &PacketCtx<'_>,
    acse: &Acse<'_>,
    pending: &mut Vec<Request>,
    state: &mut State,
    emit: &mut dyn Emit,
) {
    // AARQ: mechanism-name [11], calling-authentication-value [12]. The
    // value (a password, a certificate) is never kept, only that it was sent.
    let authenticated = acse.tag == 0x60 && acse.field(0xac).is_some();
    let rejected = acse.tag == 0x61 && acse.result().is_some_and(|r| r != 0);
    if authenticated {
        let mut a: Attributes = vec![(Cow::Borrowed("credentials"), "present".to_compact_string())];
        if let Some(m) = acse.field(0x8b) {
            if let Some(m) = crate::snmp::message::oid_text(m) {
                a.push((Cow::Borrowed("mechanism"), m.into()));
            }
        }
        emit.operation(ctx, PROTOCOL, Cow::Borrowed(acse.name()), OperationClass::Authentication, a);
    } else if rejected {
        let result = acse.result().map(dec).unwrap_or_default();
        let a: Attributes = vec![(Cow::Borrowed("result"), result)];
        emit.operation(ctx, PROTOCOL, Cow::Borrowed("associate_rejected"), OperationClass::Authentication, a);
    } else {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(acse.name()), OperationClass::Session);
    }
    if let Some(inner) = acse.user_information() {
        mms(ctx, inner, pending, state, emit);
    }
}

/// One MMS PDU.
fn mms(ctx: &PacketCtx<'_>, content: &[u8], pending: &mut Vec<Request>, state: &mut State, emit: &mut dyn Emit) {
    let p = match pdu::parse(content) {
        Ok(p) => p,
        Err(e) => return emit.malformed(ctx, PROTOCOL, e.what()),
    };
    match p.kind {
        Kind::ConfirmedRequest => request(ctx, &p, pending, state, emit),
        Kind::ConfirmedResponse => response(ctx, &p, pending, state, emit),
        Kind::ConfirmedError => {
            let asked = p.invoke_id.and_then(|id| take(pending, id));
            let (name, class) = asked.map_or(("confirmed_error", OperationClass::Unknown), |r| (r.name, r.class));
            let mut a: Attributes = Vec::with_capacity(3);
            if let Some(id) = p.invoke_id {
                a.push((Cow::Borrowed("invoke_id"), dec(id)));
            }
            if let Some((class, code)) = pdu::service_error(p.body) {
                a.push((Cow::Borrowed("error_class"), class.to_compact_string()));
                a.push((Cow::Borrowed("error_code"), dec(code)));
            }
            // A refused write, program, control... is kept with why; a refused
            // read is counted.
            if class.is_notable() {
                emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
            } else {
                emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
            }
        }
        Kind::Unconfirmed => {
            let service = p.service.and_then(|s| pdu::unconfirmed_service(s.number));
            let (name, class) = service.unwrap_or_else(|| {
                state.unknown_services += 1;
                ("unknown_unconfirmed_service", OperationClass::Unknown)
            });
            emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
        }
        Kind::CancelRequest | Kind::CancelResponse | Kind::CancelError | Kind::Reject => {
            emit.message(ctx, PROTOCOL, Cow::Borrowed(p.kind.name()), OperationClass::Session);
        }
        Kind::InitiateRequest
        | Kind::InitiateResponse
        | Kind::InitiateError
        | Kind::ConcludeRequest
        | Kind::ConcludeResponse
        | Kind::ConcludeError => emit.message(ctx, PROTOCOL, Cow::Borrowed(p.kind.name()), OperationClass::Session),
    }
}

/// A confirmed request: counted, remembered for its answer, and a write or
/// any other notable service kept with what it names.
fn request(ctx: &PacketCtx<'_>, p: &Pdu<'_>, pending: &mut Vec<Request>, state: &mut State, emit: &mut dyn Emit) {
    let Some(service) = p.service else { return };
    let (mut name, mut class) = pdu::confirmed_service(service.number).unwrap_or_else(|| {
        state.unknown_services += 1;
        ("unknown_confirmed_service", OperationClass::Unknown)
    });
    let mut a: Attributes = Vec::new();
    let tase2 = pdu::tase2_reads(&service);
    if !tase2.is_empty() {
        tase2_client(ctx, &tase2, state, emit);
    }
    if service.number == pdu::WRITE {
        let (names, count) = pdu::variables(&service);
        // Operating, selecting or cancelling a control is a control of the process.
        if let Some(control) = names.iter().find_map(|n| pdu::control_write(n)) {
            (name, class) = (control, OperationClass::Control);
        }
        // Writing an ICCP transfer set the server lent starts, changes or
        // stops the reports of a data set: configuration of the link.
        if names.iter().any(|n| state.transfer_sets.contains(n)) {
            (name, class) = ("transfer_set_write", OperationClass::Configuration);
            if let Some(data_set) = pdu::transfer_set_data_set(&service) {
                a.push((Cow::Borrowed("data_set"), data_set.into()));
            }
        }
        a.push((Cow::Borrowed("variable_count"), dec(count)));
        if !names.is_empty() {
            a.push((Cow::Borrowed("variables"), names.join(", ").into()));
        }
    }
    if class.is_notable() {
        if let Some((key, name)) = pdu::target(&service) {
            a.push((Cow::Borrowed(key), name.into()));
        }
    }
    if let Some(id) = p.invoke_id {
        if pending.len() >= MAX_PENDING {
            pending.remove(0);
            state.unanswered += 1;
        }
        let lists_domains = service.number == pdu::GET_NAME_LIST && pdu::lists_domains(&service);
        pending.push(Request { invoke_id: id, name, class, lists_domains, tase2 });
    }
    if class.is_notable() {
        if let Some(id) = p.invoke_id {
            a.insert(0, (Cow::Borrowed("invoke_id"), dec(id)));
        }
        emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
    } else {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
    }
}

/// A confirmed response: named after its request; a successful answer to a
/// notable request is counted without a record of its own, a write that
/// failed for some variable is kept; an Identify answer names the server.
fn response(ctx: &PacketCtx<'_>, p: &Pdu<'_>, pending: &mut Vec<Request>, state: &mut State, emit: &mut dyn Emit) {
    let asked = p.invoke_id.and_then(|id| take(pending, id));
    let Some(number) = p.service.map(|s| s.number) else {
        // ISO 9506 requires the service; test tools send answers without one
        // (Wireshark shows no service either). It still ends its request.
        return emit.message(ctx, PROTOCOL, Cow::Borrowed("response_without_service"), OperationClass::Unknown);
    };
    let (name, class) = match (&asked, pdu::confirmed_service(number)) {
        (Some(r), _) => (r.name, r.class),
        (None, Some(known)) => known,
        (None, None) => {
            state.unknown_services += 1;
            ("unknown_confirmed_service", OperationClass::Unknown)
        }
    };
    if let Some(service) = p.service.filter(|s| s.number == pdu::IDENTIFY) {
        let attrs = pdu::identify(&service);
        if !attrs.is_empty() {
            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "mms.identify");
            e.attributes.extend(attrs.into_iter().map(|(k, v)| (Cow::Borrowed(k), v.into())));
            emit.event(e);
        }
    }
    if let (Some(r), Some(service)) = (&asked, p.service) {
        if r.lists_domains && service.number == pdu::GET_NAME_LIST {
            let (names, count) = pdu::name_list(&service);
            if !names.is_empty() {
                let mut e = ctx.event(PROTOCOL, EventKind::Identity, "mms.domains");
                e.attributes.push((Cow::Borrowed("domains"), names.join(", ").into()));
                e.attributes.push((Cow::Borrowed("count"), dec(count)));
                emit.event(e);
            }
        }
    }
    if let (Some(r), Some(service)) = (&asked, p.service) {
        if !r.tase2.is_empty() && service.number == pdu::READ {
            tase2_server(ctx, &r.tase2, &service, state, emit);
        }
    }
    let failed = match p.service {
        Some(s) if s.number == pdu::WRITE => pdu::write_results(&s),
        _ => (0, 0),
    };
    if asked.is_some() && failed.0 == 0 {
        emit.answer(ctx, PROTOCOL, Cow::Borrowed(name), class);
    } else if class.is_notable() {
        let mut a: Attributes = Vec::with_capacity(3);
        if let Some(id) = p.invoke_id {
            a.push((Cow::Borrowed("invoke_id"), dec(id)));
        }
        if failed.0 > 0 {
            a.push((Cow::Borrowed("failed"), format_compact!("{} of {}", failed.0, failed.1)));
        }
        emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
    } else {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
    }
}

/// Names the requester an ICCP client, once per direction: it reads the
/// association objects only a TASE.2 server holds.
fn tase2_client(ctx: &PacketCtx<'_>, reads: &[Tase2Read], state: &mut State, emit: &mut dyn Emit) {
    let Some(named) = ctx.direction.and_then(|d| state.tase2_client_named.get_mut(d.index())) else { return };
    if std::mem::replace(named, true) {
        return;
    }
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "mms.tase2_client");
    e.attributes.push((Cow::Borrowed("services"), "iccp_client".to_compact_string()));
    let objects: Vec<&str> = reads.iter().map(|r| tase2_name(r.object)).collect();
    e.attributes.push((Cow::Borrowed("objects"), objects.join(", ").into()));
    if let Some(domain) = reads.iter().find_map(|r| r.domain.as_deref()) {
        e.attributes.push((Cow::Borrowed("bilateral_table"), domain.to_compact_string()));
    }
    emit.event(e);
}

/// Names the answering server an ICCP server when it returns a value for at
/// least one TASE.2 association object (an IEC 61850 server refuses them:
/// it has no such objects), with the values it returned.
fn tase2_server(
    ctx: &PacketCtx<'_>,
    reads: &[Tase2Read],
    service: &Tagged<'_>,
    state: &mut State,
    emit: &mut dyn Emit,
) {
    let mut a: Attributes = Vec::with_capacity(5);
    for r in reads {
        let Some(value) = pdu::tase2_value(service, r.position, r.object) else { continue };
        if r.object == Tase2Object::NextTransferSet && !state.transfer_sets.contains(&value) {
            if state.transfer_sets.len() >= MAX_TRANSFER_SETS {
                state.transfer_sets.remove(0);
            }
            state.transfer_sets.push(value.clone());
        }
        let key = match r.object {
            Tase2Object::BilateralTableId => {
                if let Some(domain) = &r.domain {
                    a.push((Cow::Borrowed("bilateral_table"), domain.clone().into()));
                }
                "bilateral_table_id"
            }
            Tase2Object::Version => "tase2_version",
            Tase2Object::SupportedFeatures => "supported_blocks",
            Tase2Object::NextTransferSet => "transfer_set",
        };
        a.push((Cow::Borrowed(key), value.into()));
    }
    if a.is_empty() {
        return;
    }
    let mut e = ctx.event(PROTOCOL, EventKind::Identity, "mms.tase2");
    e.attributes.push((Cow::Borrowed("services"), "iccp_server".to_compact_string()));
    e.attributes.extend(a);
    emit.event(e);
}

fn tase2_name(object: Tase2Object) -> &'static str {
    match object {
        Tase2Object::BilateralTableId => "Bilateral_Table_ID",
        Tase2Object::Version => "TASE2_Version",
        Tase2Object::SupportedFeatures => "Supported_Features",
        Tase2Object::NextTransferSet => "Next_DSTransfer_Set",
    }
}

/// The request with `invoke_id`, no longer waiting.
fn take(pending: &mut Vec<Request>, invoke_id: u32) -> Option<Request> {
    let at = pending.iter().position(|r| r.invoke_id == invoke_id)?;
    Some(pending.remove(at))
}
