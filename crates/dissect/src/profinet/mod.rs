//! PROFINET real-time frames (EtherType 0x8892), and in them PN-DCP, the
//! protocol that names and addresses PROFINET devices.
//!
//! Owns reading each PN-RT frame's FrameID and, for DCP, the whole PDU
//! ([`dcp`]). What is reported:
//! - DCP Identify, Get and Hello are counted as `identify`, `get` and `hello`
//!   (class `discovery`). Every response or Hello that describes its sender
//!   becomes a `pn_dcp.identity` event of the sending MAC: `name_of_station`,
//!   `type_of_station`, `vendor_id` and `device_id` (PROFINET ids, hex),
//!   `device_role`, `ip`, `subnet_mask`, `gateway`, `ip_state`, `alias_name`,
//!   `device_instance`, `oem_vendor_id`/`oem_device_id`, `mac`.
//! - A Set request changes the device: it is kept as operation `set` (class
//!   `configuration`) with what it sets (`name_of_station`, `ip`,
//!   `subnet_mask`, `gateway`, `dhcp`), `qualifier` (`temporary` or
//!   `permanent`), `reset` for a reset to factory, and `target_mac`. A Set
//!   that only flashes the device's LED is `signal` (class `diagnostic`). Its
//!   response is an answer when every block reports `ok`, and is kept, with
//!   `error`, when one does not.
//! - Other FrameIDs are counted under protocol `pn_rt`: `cyclic_data` (the
//!   controller's and devices' I/O, 0x0100-0xFBFF, class `read`),
//!   `alarm_high`/`alarm_low` (0xFC01, 0xFE01, class `diagnostic`), `sync`
//!   (PTCP time synchronisation, 0x0000-0x00FF and 0xFF00-0xFF8F, class
//!   `session`), anything else `reserved_frame_id` (class `unknown`).
//!
//! Not done: cyclic data and alarm contents; DCP over UDP (PN-DCP for routed
//! networks) and the DCE-RPC connection setup of PROFINET IO. Frames have no
//! flow, so counts are per capture and the map shows no PROFINET IO edges.

pub mod dcp;

use crate::{Emit, FrameDissector, PacketCtx};
use dcp::{opt, Dcp, ServiceId, ServiceType};
use otposture_model::{EventKind, OperationClass};
use std::borrow::Cow;

/// EtherType of PROFINET real-time frames.
pub const ETHERTYPE_PROFINET: u16 = 0x8892;

const DCP: &str = "pn_dcp";
const RT: &str = "pn_rt";

/// The PROFINET frame dissector: DCP read, other real-time frames counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct Profinet;

impl FrameDissector for Profinet {
    fn protocol(&self) -> &'static str {
        DCP
    }

    fn ethertype(&self) -> u16 {
        ETHERTYPE_PROFINET
    }

    fn frame(&self, ctx: &PacketCtx<'_>, data: &[u8], emit: &mut dyn Emit) {
        let [high, low, ..] = *data else {
            emit.malformed(ctx, RT, "pn_rt_truncated");
            return;
        };
        let frame_id = u16::from_be_bytes([high, low]);
        if !dcp::is_dcp_frame(frame_id) {
            let (name, class) = match frame_id {
                0x0000..=0x00ff | 0xff00..=0xff8f => ("sync", OperationClass::Session),
                0x0100..=0xfbff => ("cyclic_data", OperationClass::Read),
                0xfc01 => ("alarm_high", OperationClass::Diagnostic),
                0xfe01 => ("alarm_low", OperationClass::Diagnostic),
                _ => ("reserved_frame_id", OperationClass::Unknown),
            };
            emit.message(ctx, RT, Cow::Borrowed(name), class);
            return;
        }
        match dcp::parse(data) {
            Ok(pdu) => report(ctx, &pdu, emit),
            Err(e) => emit.malformed(ctx, DCP, e.what()),
        }
    }
}

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

fn push(a: &mut Attributes, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

fn report(ctx: &PacketCtx<'_>, pdu: &Dcp<'_>, emit: &mut dyn Emit) {
    let request = pdu.service_type == ServiceType::REQUEST;
    let (name, class) = match pdu.service {
        ServiceId::IDENTIFY => ("identify", OperationClass::Discovery),
        ServiceId::GET => ("get", OperationClass::Discovery),
        ServiceId::HELLO => ("hello", OperationClass::Discovery),
        ServiceId::SET => return set(ctx, pdu, request, emit),
        ServiceId(n) => {
            let name = match n {
                0 => "reserved_service",
                1 | 2 => "vendor_service",
                _ => "unknown_service",
            };
            (name, OperationClass::Unknown)
        }
    };
    emit.message(ctx, DCP, Cow::Borrowed(name), class);
    // Responses and Hello describe their sender; requests describe what is sought.
    if !request || pdu.service == ServiceId::HELLO {
        let mut a = Attributes::new();
        let mut malformed = None;
        for b in pdu.blocks() {
            match b {
                Ok(b) => identity_block(&mut a, &b),
                Err(e) => malformed = Some(e),
            }
        }
        if let Some(e) = malformed {
            emit.malformed(ctx, DCP, e.what());
        }
        if !a.is_empty() {
            let mut e = ctx.event(DCP, EventKind::Identity, "pn_dcp.identity");
            push(&mut e.attributes, "service", name.to_string());
            e.attributes.extend(a);
            emit.event(e);
        }
    }
}

/// The identity a block of a response or Hello states.
fn identity_block(a: &mut Attributes, b: &dcp::Block<'_>) {
    let hex = |v: &[u8]| match *v {
        [a, b, ..] => Some(format!("{:#06x}", u16::from_be_bytes([a, b]))),
        _ => None,
    };
    match (b.option, b.suboption) {
        (opt::DEVICE, opt::DEVICE_NAME) => push(a, "name_of_station", dcp::text(b.value)),
        (opt::DEVICE, opt::DEVICE_VENDOR) => push(a, "type_of_station", dcp::text(b.value)),
        (opt::DEVICE, opt::DEVICE_ALIAS) => push(a, "alias_name", dcp::text(b.value)),
        (opt::DEVICE, opt::DEVICE_ID) | (opt::DEVICE, opt::DEVICE_OEM_ID) => {
            let (vendor, device) = (hex(b.value), b.value.get(2..).and_then(hex));
            let (vk, dk) = if b.suboption == opt::DEVICE_ID {
                ("vendor_id", "device_id")
            } else {
                ("oem_vendor_id", "oem_device_id")
            };
            if let (Some(v), Some(d)) = (vendor, device) {
                push(a, vk, v);
                push(a, dk, d);
            }
        }
        (opt::DEVICE, opt::DEVICE_ROLE) => {
            if let Some(&role) = b.value.first() {
                push(a, "device_role", dcp::device_roles(role).join(", "));
            }
        }
        (opt::DEVICE, opt::DEVICE_INSTANCE) => {
            if let [high, low, ..] = b.value {
                push(a, "device_instance", format!("{high}.{low}"));
            }
        }
        (opt::IP, opt::IP_MAC) => {
            if let Some(m) = b.value.get(..6) {
                let m: Vec<String> = m.iter().map(|x| format!("{x:02x}")).collect();
                push(a, "mac", m.join(":"));
            }
        }
        (opt::IP, opt::IP_PARAMETER) | (opt::IP, opt::IP_SUITE) => {
            if let (Some(ip), Some(mask), Some(gw)) =
                (dcp::ipv4(b.value), b.value.get(4..).and_then(dcp::ipv4), b.value.get(8..).and_then(dcp::ipv4))
            {
                push(a, "ip", ip.to_string());
                push(a, "subnet_mask", mask.to_string());
                push(a, "gateway", gw.to_string());
                if let Some(info) = b.info {
                    push(a, "ip_state", dcp::ip_state(info).to_string());
                    if info & 0x80 != 0 {
                        push(a, "ip_conflict", "true".to_string());
                    }
                }
            }
        }
        _ => {}
    }
}

/// A Set request (kept: it renames, readdresses or resets a device) or its response.
fn set(ctx: &PacketCtx<'_>, pdu: &Dcp<'_>, request: bool, emit: &mut dyn Emit) {
    let mut a = Attributes::new();
    push(&mut a, "xid", format!("{:#010x}", pdu.xid));
    let mut malformed = None;
    if request {
        if let Some(m) = ctx.dst_mac {
            push(&mut a, "target_mac", m.to_string());
        }
        let (mut changes, mut signal_only) = (false, true);
        for b in pdu.blocks() {
            let b = match b {
                Ok(b) => b,
                Err(e) => {
                    malformed = Some(e);
                    continue;
                }
            };
            let qualifier = b.info.unwrap_or(0);
            match (b.option, b.suboption) {
                (opt::CONTROL, opt::CONTROL_START) | (opt::CONTROL, opt::CONTROL_STOP) => continue,
                (opt::CONTROL, opt::CONTROL_SIGNAL) => {
                    push(&mut a, "signal", "flash".to_string());
                    continue;
                }
                (opt::CONTROL, opt::CONTROL_FACTORY_RESET) | (opt::CONTROL, opt::CONTROL_RESET_TO_FACTORY) => {
                    push(&mut a, "reset", reset_mode(b.suboption, qualifier).to_string());
                }
                (opt::DEVICE, opt::DEVICE_NAME) => push(&mut a, "name_of_station", dcp::text(b.value)),
                (opt::IP, opt::IP_PARAMETER) | (opt::IP, opt::IP_SUITE) => {
                    if let (Some(ip), Some(mask), Some(gw)) =
                        (dcp::ipv4(b.value), b.value.get(4..).and_then(dcp::ipv4), b.value.get(8..).and_then(dcp::ipv4))
                    {
                        push(&mut a, "ip", ip.to_string());
                        push(&mut a, "subnet_mask", mask.to_string());
                        push(&mut a, "gateway", gw.to_string());
                    }
                }
                (opt::DHCP, _) => push(&mut a, "dhcp", format!("option {}", b.suboption)),
                (option, suboption) => push(&mut a, "option", format!("{option}/{suboption}")),
            }
            signal_only = false;
            if !changes {
                changes = true;
                let q = if qualifier & 0x0001 != 0 { "permanent" } else { "temporary" };
                push(&mut a, "qualifier", q.to_string());
            }
        }
        if let Some(e) = malformed {
            emit.malformed(ctx, DCP, e.what());
        }
        if signal_only && a.iter().any(|(k, _)| k == "signal") {
            emit.message(ctx, DCP, Cow::Borrowed("signal"), OperationClass::Diagnostic);
        } else {
            emit.operation(ctx, DCP, Cow::Borrowed("set"), OperationClass::Configuration, a);
        }
        return;
    }
    // The response: one Control/Response block per block set.
    let mut errors = Vec::new();
    let mut signal = false;
    for b in pdu.blocks() {
        match b {
            Ok(b) if (b.option, b.suboption) == (opt::CONTROL, opt::CONTROL_RESPONSE) => {
                if let [option, suboption, error, ..] = b.value {
                    signal |= (*option, *suboption) == (opt::CONTROL, opt::CONTROL_SIGNAL);
                    if *error != 0 {
                        errors.push(format!("{option}/{suboption}: {}", dcp::block_error(*error)));
                    }
                }
            }
            Ok(_) => {}
            Err(e) => malformed = Some(e),
        }
    }
    if let Some(e) = malformed {
        emit.malformed(ctx, DCP, e.what());
    }
    let unsupported = pdu.service_type == ServiceType::RESPONSE_UNSUPPORTED;
    if errors.is_empty() && !unsupported {
        if signal {
            emit.message(ctx, DCP, Cow::Borrowed("signal"), OperationClass::Diagnostic);
        } else {
            emit.answer(ctx, DCP, Cow::Borrowed("set"), OperationClass::Configuration);
        }
    } else {
        if unsupported {
            errors.push("request not supported".to_string());
        }
        push(&mut a, "error", errors.join("; "));
        emit.operation(ctx, DCP, Cow::Borrowed("set"), OperationClass::Configuration, a);
    }
}

/// What a reset to factory resets (the BlockQualifier's mode, bits 1-4).
fn reset_mode(suboption: u8, qualifier: u16) -> &'static str {
    if suboption == opt::CONTROL_FACTORY_RESET {
        return "factory_settings";
    }
    match (qualifier >> 1) & 0x0f {
        1 => "application_data",
        2 => "communication_parameters",
        3 | 5 => "engineering_parameters",
        4 => "all_data",
        8 => "device_to_factory",
        9 => "reset_and_restore",
        _ => "reserved",
    }
}

#[cfg(test)]
mod tests;
