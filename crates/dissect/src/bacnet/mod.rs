//! BACnet/IP (ASHRAE 135 Annex J over UDP, usually port 47808): the building
//! automation protocol of HVAC, lighting, access and life-safety controllers.
//!
//! Layers, one module each: [`bvlc`] (the BACnet/IP virtual link: BBMD and
//! foreign-device functions, and the NPDU it carries), [`npdu`] (network layer:
//! routing addresses, network messages), [`apdu`] (application PDUs, service
//! choices and their classes), [`tags`] (the tagged encoding), [`params`] (the
//! service parameters read), [`names`] (vendor, object type and property names
//! generated from Wireshark's tables).
//!
//! Reporting: every APDU is counted once under its service's snake_case name
//! (`read_property`, `who_is`, `i_am`...), classed as [`apdu::confirmed_service`]
//! and [`apdu::unconfirmed_service`] say. Notable requests are kept with
//! `invoke_id` and what they do: `object` (`analog-value,3`), `property`
//! (`present-value`), `array_index`, `value`, `priority`, `properties` (how many
//! a WritePropertyMultiple sets); `state`, `duration_minutes`,
//! `password` (given or not) for DeviceCommunicationControl and
//! ReinitializeDevice; `file`, `access`, `size` for AtomicWriteFile. A SimpleACK
//! to a notable request is an answer; an Error, Reject or Abort of one is kept
//! with `error` (class and code) or `reason`. Network messages are counted as
//! `network_<name>`; BVLC functions that carry no NPDU under their own names,
//! with Write-Broadcast-Distribution-Table, Register-Foreign-Device and
//! Delete-Foreign-Device-Table-Entry kept (class `configuration`) with
//! `entries` or `ttl`, and a negative BVLC-Result kept with its `result`.
//!
//! Identity: an I-Am becomes a `bacnet.i_am` event (`device_instance`,
//! `max_apdu`, `segmentation`, `vendor_id`, `vendor`), and every answer that
//! reads a device object's properties a `bacnet.device` event with those read
//! (`object_name`, `vendor_name`, `vendor_id`/`vendor`, `model_name`,
//! `firmware_revision`, `application_software_version`, `serial_number`,
//! `location`, `description`), with `device_instance` when known (the object's
//! instance, or the answer to reading object-identifier of the wildcard
//! instance 4194303, as scanners do). A vendor identifier the registry does not
//! know is kept and flagged `vendor_unknown`.
//!
//! Not done: segmented messages are counted per segment, not reassembled (a
//! segmented answer's identity is read only when its first segment holds it);
//! BACnet/IPv6 (BVLC type 0x82), BACnet/SC, MS/TP; secure network messages are
//! counted, not read.

pub mod apdu;
pub mod bvlc;
pub mod names;
pub mod npdu;
pub mod params;
pub mod tags;

use crate::{DatagramDissector, DatagramSession, Emit, PacketCtx, Probe};
use apdu::{service, Apdu};
use otposture_model::{Direction, EventKind, OperationClass};
use std::borrow::Cow;

const PROTOCOL: &str = "bacnet";

/// The BACnet/IP datagram dissector.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bacnet;

impl DatagramDissector for Bacnet {
    fn protocol(&self) -> &'static str {
        PROTOCOL
    }

    /// 47808-47823 (0xBAC0-0xBACF), the ports Annex J assigns.
    fn port_hint(&self, src_port: u16, dst_port: u16) -> bool {
        [src_port, dst_port].iter().any(|p| (0xbac0..=0xbacf).contains(p))
    }

    fn owns_port(&self, server_port: u16) -> bool {
        (0xbac0..=0xbacf).contains(&server_port)
    }

    /// A BVLC type 0x81 header whose length is the datagram's, with a known
    /// function, and, where an NPDU follows, protocol version 1.
    fn probe(&self, data: &[u8]) -> Probe {
        match bvlc::parse(data) {
            Ok(b) if b.function.0 <= 0x0c => match b.npdu {
                Some(n) if npdu::parse(n).is_err() => Probe::NoMatch,
                _ => Probe::Match,
            },
            _ => Probe::NoMatch,
        }
    }

    fn new_session(&self) -> Box<dyn DatagramSession> {
        Box::new(Session::default())
    }

    fn sent_by_client(&self, data: &[u8]) -> Option<bool> {
        sent_by_client(data)
    }
}

/// Who sent a BACnet/IP datagram, where its kind says: confirmed requests and
/// Who-Is, Who-Has, time synchronisation and WriteGroup come from the client;
/// acknowledgements, errors, rejects, I-Am, I-Have and change and event
/// notifications (sent to a subscriber) from the device. A foreign device is
/// the client of its BBMD: it registers, reads its tables and asks it to
/// distribute broadcasts; the BBMD answers with BVLC-Result and the tables.
/// A Forwarded-NPDU (between BBMDs, or to a foreign device), segment
/// acknowledgements, network messages and the other unconfirmed services
/// cannot tell.
fn sent_by_client(data: &[u8]) -> Option<bool> {
    let b = bvlc::parse(data).ok()?;
    let Some(n) = b.npdu else {
        return match b.function {
            bvlc::Function::REGISTER_FOREIGN_DEVICE
            | bvlc::Function::READ_BDT
            | bvlc::Function::READ_FDT
            | bvlc::Function::WRITE_BDT
            | bvlc::Function::DELETE_FDT_ENTRY => Some(true),
            bvlc::Function::RESULT | bvlc::Function::READ_BDT_ACK | bvlc::Function::READ_FDT_ACK => Some(false),
            _ => None,
        };
    };
    match b.function {
        bvlc::Function::FORWARDED_NPDU => return None,
        bvlc::Function::DISTRIBUTE_BROADCAST => return Some(true),
        _ => {}
    }
    let npdu::Payload::Apdu(bytes) = npdu::parse(n).ok()?.payload else { return None };
    match apdu::parse(bytes)? {
        Apdu::Confirmed { .. } => Some(true),
        Apdu::SimpleAck { .. } | Apdu::ComplexAck { .. } | Apdu::Error { .. } | Apdu::Reject { .. } => Some(false),
        Apdu::Abort { server, .. } => Some(!server),
        Apdu::Unconfirmed { service, .. } => match service {
            service::WHO_IS
            | service::WHO_HAS
            | service::TIME_SYNCHRONIZATION
            | service::UTC_TIME_SYNCHRONIZATION
            | service::WRITE_GROUP => Some(true),
            service::I_AM
            | service::I_HAVE
            | service::COV_NOTIFICATION
            | service::EVENT_NOTIFICATION
            | service::COV_NOTIFICATION_MULTIPLE => Some(false),
            _ => None,
        },
        Apdu::SegmentAck { .. } | Apdu::Reserved(_) => None,
    }
}

/// Per-flow state: the service of each outstanding confirmed request by
/// invoke id (a Reject or Abort names no service), and the device instance
/// learned on the flow.
struct Session {
    pending: [Option<u8>; 256],
    device: Option<u32>,
}

impl Default for Session {
    fn default() -> Self {
        Session { pending: [None; 256], device: None }
    }
}

type Attributes = Vec<(Cow<'static, str>, otposture_model::AttrValue)>;

fn push(a: &mut Attributes, key: &'static str, value: String) {
    a.push((Cow::Borrowed(key), value.into()));
}

impl DatagramSession for Session {
    fn datagram(&mut self, ctx: &PacketCtx<'_>, _direction: Direction, data: &[u8], emit: &mut dyn Emit) {
        let b = match bvlc::parse(data) {
            Ok(b) => b,
            Err(e) => return emit.malformed(ctx, PROTOCOL, e.what()),
        };
        let Some(n) = b.npdu else { return link_function(ctx, &b, emit) };
        let n = match npdu::parse(n) {
            Ok(n) => n,
            Err(e) => return emit.malformed(ctx, PROTOCOL, e.what()),
        };
        match n.payload {
            npdu::Payload::Network { kind, vendor, .. } => {
                let (name, class) = npdu::network_message(kind);
                if class.is_notable() {
                    let mut a = Attributes::new();
                    push(&mut a, "message_type", format!("{kind:#04x}"));
                    if let Some(v) = vendor {
                        push(&mut a, "vendor_id", v.to_string());
                    }
                    emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, a);
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
            }
            npdu::Payload::Apdu(bytes) => match apdu::parse(bytes) {
                Some(a) => self.apdu(ctx, a, emit),
                None => emit.malformed(ctx, PROTOCOL, "apdu_truncated"),
            },
        }
    }
}

/// BVLC functions that carry no NPDU: BBMD tables and foreign devices.
fn link_function(ctx: &PacketCtx<'_>, b: &bvlc::Bvlc<'_>, emit: &mut dyn Emit) {
    let name = Cow::Borrowed(b.function.name());
    let mut a = Attributes::new();
    let class = match b.function {
        bvlc::Function::WRITE_BDT => {
            // Entries are 10 bytes: address, port, broadcast mask.
            push(&mut a, "entries", (b.body.len() / 10).to_string());
            OperationClass::Configuration
        }
        bvlc::Function::REGISTER_FOREIGN_DEVICE => {
            push(&mut a, "ttl", b.ttl.unwrap_or(0).to_string());
            OperationClass::Configuration
        }
        bvlc::Function::DELETE_FDT_ENTRY => OperationClass::Configuration,
        bvlc::Function::RESULT => match b.result {
            Some(r) if r != 0 => {
                push(&mut a, "result", bvlc::result_name(r).to_string());
                OperationClass::Configuration
            }
            _ => OperationClass::Session,
        },
        bvlc::Function::READ_BDT
        | bvlc::Function::READ_BDT_ACK
        | bvlc::Function::READ_FDT
        | bvlc::Function::READ_FDT_ACK => OperationClass::Discovery,
        _ => OperationClass::Unknown,
    };
    if class.is_notable() {
        emit.operation(ctx, PROTOCOL, name, class, a);
    } else {
        emit.message(ctx, PROTOCOL, name, class);
    }
}

/// A property name: `present-value`, or the number when the table has none.
fn property_name(p: u32) -> String {
    names::property(p).map_or_else(|| format!("property-{p}"), str::to_string)
}

impl Session {
    fn apdu(&mut self, ctx: &PacketCtx<'_>, a: Apdu<'_>, emit: &mut dyn Emit) {
        match a {
            Apdu::Confirmed { invoke_id, segment, service, params } => {
                let (name, class) = apdu::confirmed_service(service);
                if segment.is_some_and(|s| s > 0) {
                    // A later segment of a request already counted.
                    return emit.message(ctx, PROTOCOL, Cow::Borrowed("segment"), OperationClass::Session);
                }
                if let Some(slot) = self.pending.get_mut(usize::from(invoke_id)) {
                    *slot = Some(service);
                }
                if class.is_notable() {
                    let mut attrs = Attributes::new();
                    push(&mut attrs, "invoke_id", invoke_id.to_string());
                    request_attributes(&mut attrs, service, params);
                    emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, attrs);
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
            }
            Apdu::Unconfirmed { service, params } => {
                let (name, class) = apdu::unconfirmed_service(service);
                if class.is_notable() {
                    emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, Attributes::new());
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
                if service == service::I_AM {
                    match params::i_am(params) {
                        Some(i) => {
                            self.device = Some(i.device);
                            let mut e = ctx.event(PROTOCOL, EventKind::Identity, "bacnet.i_am");
                            push(&mut e.attributes, "device_instance", i.device.to_string());
                            push(&mut e.attributes, "max_apdu", i.max_apdu.to_string());
                            push(&mut e.attributes, "segmentation", params::segmentation(i.segmentation).to_string());
                            vendor(&mut e.attributes, i.vendor_id);
                            emit.event(e);
                        }
                        None => emit.malformed(ctx, PROTOCOL, "i_am_malformed"),
                    }
                }
            }
            Apdu::SimpleAck { invoke_id, service } => {
                self.forget(invoke_id);
                let (name, class) = apdu::confirmed_service(service);
                if class.is_notable() {
                    emit.answer(ctx, PROTOCOL, Cow::Borrowed(name), class);
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
            }
            Apdu::ComplexAck { invoke_id, segment, service, params } => {
                if segment.is_some_and(|s| s > 0) {
                    return emit.message(ctx, PROTOCOL, Cow::Borrowed("segment"), OperationClass::Session);
                }
                if segment.is_none() {
                    self.forget(invoke_id);
                }
                let (name, class) = apdu::confirmed_service(service);
                if class.is_notable() {
                    emit.answer(ctx, PROTOCOL, Cow::Borrowed(name), class);
                } else {
                    emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
                }
                let values = match service {
                    service::READ_PROPERTY => params::read_property_ack(params).into_iter().collect(),
                    service::READ_PROPERTY_MULTIPLE => params::read_property_multiple_ack(params),
                    _ => Vec::new(),
                };
                self.device_identity(ctx, &values, emit);
            }
            Apdu::SegmentAck { .. } => {
                emit.message(ctx, PROTOCOL, Cow::Borrowed("segment_ack"), OperationClass::Session)
            }
            Apdu::Error { invoke_id, service, error } => {
                self.forget(invoke_id);
                let (name, class) = apdu::confirmed_service(service);
                let mut attrs = Attributes::new();
                push(&mut attrs, "invoke_id", invoke_id.to_string());
                if let Some((c, code)) = error {
                    push(&mut attrs, "error", format!("{} {code}", apdu::error_class(c)));
                }
                refusal(ctx, name, class, attrs, emit);
            }
            Apdu::Reject { invoke_id, reason } | Apdu::Abort { invoke_id, reason, .. } => {
                let reject = matches!(a, Apdu::Reject { .. });
                let text = if reject { apdu::reject_reason(reason) } else { apdu::abort_reason(reason) };
                let pending = self.pending.get(usize::from(invoke_id)).copied().flatten();
                self.forget(invoke_id);
                let (name, class) = match pending {
                    Some(s) => apdu::confirmed_service(s),
                    None if reject => ("reject", OperationClass::Session),
                    None => ("abort", OperationClass::Session),
                };
                let mut attrs = Attributes::new();
                push(&mut attrs, "invoke_id", invoke_id.to_string());
                push(&mut attrs, "reason", format!("{}: {text}", if reject { "reject" } else { "abort" }));
                refusal(ctx, name, class, attrs, emit);
            }
            Apdu::Reserved(_) => emit.message(ctx, PROTOCOL, Cow::Borrowed("reserved_apdu"), OperationClass::Unknown),
        }
    }

    fn forget(&mut self, invoke_id: u8) {
        if let Some(slot) = self.pending.get_mut(usize::from(invoke_id)) {
            *slot = None;
        }
    }

    /// A `bacnet.device` event for the device-object properties an answer read.
    fn device_identity(&mut self, ctx: &PacketCtx<'_>, values: &[params::PropertyValue], emit: &mut dyn Emit) {
        let mut attrs = Attributes::new();
        let mut instance = None;
        for v in values.iter().filter(|v| v.object.0 == 8 && v.index.is_none()) {
            if v.object.1 != tags::WILDCARD_INSTANCE {
                instance = Some(v.object.1);
            }
            let Some(value) = v.value.clone().filter(|v| !v.is_empty()) else { continue };
            let key = match v.property {
                // The answer to reading the wildcard's object-identifier names the device.
                75 => {
                    if let Some(i) = value.strip_prefix("device,").and_then(|i| i.parse().ok()) {
                        instance = Some(i);
                    }
                    continue;
                }
                77 => "object_name",
                121 => "vendor_name",
                120 => {
                    if let Ok(id) = value.parse() {
                        vendor(&mut attrs, id);
                    }
                    continue;
                }
                70 => "model_name",
                44 => "firmware_revision",
                12 => "application_software_version",
                372 => "serial_number",
                58 => "location",
                28 => "description",
                _ => continue,
            };
            push(&mut attrs, key, value);
        }
        if let Some(i) = instance {
            self.device = Some(i);
        }
        if attrs.is_empty() {
            return;
        }
        let mut e = ctx.event(PROTOCOL, EventKind::Identity, "bacnet.device");
        if let Some(i) = self.device {
            push(&mut e.attributes, "device_instance", i.to_string());
        }
        e.attributes.extend(attrs);
        emit.event(e);
    }
}

/// A vendor identifier, its registered name, or a flag when it has none.
fn vendor(a: &mut Attributes, id: u32) {
    push(a, "vendor_id", id.to_string());
    match u16::try_from(id).ok().and_then(names::vendor) {
        Some(name) => push(a, "vendor", name.to_string()),
        None => push(a, "vendor_unknown", "true".to_string()),
    }
}

/// An Error, Reject or Abort: kept when it refuses a notable request, else counted.
fn refusal(ctx: &PacketCtx<'_>, name: &'static str, class: OperationClass, attrs: Attributes, emit: &mut dyn Emit) {
    if class.is_notable() {
        emit.operation(ctx, PROTOCOL, Cow::Borrowed(name), class, attrs);
    } else {
        emit.message(ctx, PROTOCOL, Cow::Borrowed(name), class);
    }
}

/// What a notable confirmed request asks for.
fn request_attributes(a: &mut Attributes, service: u8, params: &[u8]) {
    let write = |a: &mut Attributes, v: &params::PropertyValue| {
        push(a, "object", tags::object_text(v.object));
        push(a, "property", property_name(v.property));
        if let Some(i) = v.index {
            push(a, "array_index", i.to_string());
        }
        if let Some(value) = &v.value {
            push(a, "value", value.clone());
        }
        if let Some(p) = v.priority {
            push(a, "priority", p.to_string());
        }
    };
    match service {
        service::WRITE_PROPERTY => {
            if let Some(v) = params::write_property(params) {
                write(a, &v);
            }
        }
        service::WRITE_PROPERTY_MULTIPLE => {
            let all = params::write_property_multiple(params);
            if let Some(first) = all.first() {
                write(a, first);
                push(a, "properties", all.len().to_string());
            }
        }
        service::DEVICE_COMMUNICATION_CONTROL => {
            if let Some((duration, state, password)) = params::device_communication_control(params) {
                push(a, "state", params::dcc_state(state).to_string());
                if let Some(d) = duration {
                    push(a, "duration_minutes", d.to_string());
                }
                push(a, "password", password.to_string());
            }
        }
        service::REINITIALIZE_DEVICE => {
            if let Some((state, password)) = params::reinitialize_device(params) {
                push(a, "state", params::reinitialize_state(state).to_string());
                push(a, "password", password.to_string());
            }
        }
        service::ATOMIC_WRITE_FILE => {
            if let Some((file, access, size)) = params::atomic_write_file(params) {
                push(a, "file", tags::object_text(file));
                push(a, "access", access.to_string());
                push(a, "size", size.to_string());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
