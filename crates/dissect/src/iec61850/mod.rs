//! IEC 61850 GOOSE (EtherType 0x88B8) and Sampled Values (0x88BA): the
//! layer-2 multicasts that protection relays, bay controllers and merging
//! units publish.
//!
//! Owns reading one frame and reporting its publisher: each control block
//! (GOOSE `gocbRef`, SV `svID`) becomes an identity event of the sending MAC,
//! naming the logical device (the IED's configured name and LD instance),
//! data set and configuration revision, with the simulation and
//! needs-commissioning flags a substation engineer looks for. Only IEDs
//! publish these, which makes them the strongest passive sign of one.
//!
//! Each frame is counted as `publish`, class `read`: it reports process state
//! and changes nothing on its sender. The data values are counted, not read.
//! Stateless: state-number jumps and retransmission timing need per-publisher
//! history and are left to monitoring.

pub mod ber;
pub mod pdu;

use crate::{Emit, FrameDissector, PacketCtx};
use otposture_model::{format_compact, ToCompactString};
use otposture_model::{EventKind, OperationClass};
pub use pdu::{parse_goose, parse_sv, Goose, PduError, Sv, SvAsdu, ETHERTYPE_GOOSE, ETHERTYPE_SV};
use std::borrow::Cow;

const GOOSE: &str = "goose";
const SV: &str = "sv";

/// Text of a VisibleString, and whether it was printable ASCII as the type
/// requires (other bytes are kept, lossily, and flagged).
fn visible(value: &[u8]) -> (String, bool) {
    let ok = value.iter().all(|b| (0x20..0x7f).contains(b));
    (String::from_utf8_lossy(value).into_owned(), ok)
}

/// Adds a text attribute, noting it in `invalid` when it is not a VisibleString.
fn push_text(
    attrs: &mut Vec<(Cow<'static, str>, otposture_model::AttrValue)>,
    invalid: &mut Vec<&'static str>,
    key: &'static str,
    value: &[u8],
) {
    let (text, ok) = visible(value);
    if !ok {
        invalid.push(key);
    }
    attrs.push((Cow::Borrowed(key), text.into()));
}

/// The logical device of an object reference (`AA1C1Q01A1LD0/LLN0$GO$gcb_A`
/// -> `AA1C1Q01A1LD0`): the IED name followed by the LD instance.
fn logical_device(reference: &[u8]) -> Option<&[u8]> {
    let slash = reference.iter().position(|&b| b == b'/')?;
    reference.get(..slash).filter(|ld| !ld.is_empty())
}

/// The GOOSE frame dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct GooseDissector;

impl FrameDissector for GooseDissector {
    fn protocol(&self) -> &'static str {
        GOOSE
    }

    fn ethertype(&self) -> u16 {
        ETHERTYPE_GOOSE
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let g = match parse_goose(data) {
            Ok(g) => g,
            Err(e) => {
                emit.malformed(ctx, GOOSE, e.what());
                return;
            }
        };
        emit.message(ctx, GOOSE, Cow::Borrowed("publish"), OperationClass::Read);

        let mut ev = ctx.event(GOOSE, EventKind::Identity, "goose.publisher");
        let mut invalid = Vec::new();
        let a = &mut ev.attributes;
        a.push((Cow::Borrowed("appid"), format_compact!("{:#06x}", g.header.appid)));
        push_text(a, &mut invalid, "gocb_ref", g.gocb_ref);
        if let Some(ld) = logical_device(g.gocb_ref) {
            push_text(a, &mut invalid, "logical_device", ld);
        }
        push_text(a, &mut invalid, "dat_set", g.dat_set);
        if let Some(id) = g.go_id {
            push_text(a, &mut invalid, "go_id", id);
        }
        a.push((Cow::Borrowed("conf_rev"), g.conf_rev.to_compact_string()));
        a.push((Cow::Borrowed("entries"), g.entries.to_compact_string()));
        if g.simulation || g.header.simulated() {
            a.push((Cow::Borrowed("simulation"), "true".to_owned().into()));
        }
        if g.nds_com {
            a.push((Cow::Borrowed("nds_com"), "true".to_owned().into()));
        }
        if g.values != g.entries {
            a.push((Cow::Borrowed("values"), g.values.to_compact_string()));
        }
        if !invalid.is_empty() {
            a.push((Cow::Borrowed("invalid_text"), invalid.join(",").into()));
        }
        emit.event(ev);
    }
}

/// The Sampled Values frame dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct SvDissector;

impl FrameDissector for SvDissector {
    fn protocol(&self) -> &'static str {
        SV
    }

    fn ethertype(&self) -> u16 {
        ETHERTYPE_SV
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let sv = match parse_sv(data) {
            Ok(sv) => sv,
            Err(e) => {
                emit.malformed(ctx, SV, e.what());
                return;
            }
        };
        emit.message(ctx, SV, Cow::Borrowed("publish"), OperationClass::Read);
        for asdu in sv.asdus.iter().flatten() {
            let mut ev = ctx.event(SV, EventKind::Identity, "sv.publisher");
            let mut invalid = Vec::new();
            let a = &mut ev.attributes;
            a.push((Cow::Borrowed("appid"), format_compact!("{:#06x}", sv.header.appid)));
            push_text(a, &mut invalid, "sv_id", asdu.sv_id);
            if let Some(ds) = asdu.dat_set {
                push_text(a, &mut invalid, "dat_set", ds);
                if let Some(ld) = logical_device(ds) {
                    push_text(a, &mut invalid, "logical_device", ld);
                }
            }
            a.push((Cow::Borrowed("conf_rev"), asdu.conf_rev.to_compact_string()));
            if let Some(rate) = asdu.smp_rate {
                a.push((Cow::Borrowed("smp_rate"), rate.to_compact_string()));
            }
            if let Some(synch) = asdu.smp_synch {
                a.push((Cow::Borrowed("smp_synch"), synch.to_compact_string()));
            }
            if sv.header.simulated() {
                a.push((Cow::Borrowed("simulation"), "true".to_owned().into()));
            }
            if sv.no_asdu != sv.asdu_count {
                a.push((Cow::Borrowed("asdus"), format_compact!("{} of {} stated", sv.asdu_count, sv.no_asdu)));
            }
            if !invalid.is_empty() {
                a.push((Cow::Borrowed("invalid_text"), invalid.join(",").into()));
            }
            emit.event(ev);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests;
