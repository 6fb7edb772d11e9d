//! The BACnet application layer (ASHRAE 135 clauses 20.1 and 21): APDU
//! headers, service choices and what each service does to a device.

use crate::cursor::Cursor;
use otposture_model::OperationClass;

/// An APDU, by its type (the high nibble of the first octet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apdu<'a> {
    /// BACnet-Confirmed-Request-PDU.
    Confirmed {
        /// Invoke id pairing it with its answer.
        invoke_id: u8,
        /// A segment of a segmented request (sequence number), when segmented.
        segment: Option<u8>,
        /// Service choice.
        service: u8,
        /// Service parameters (of this segment).
        params: &'a [u8],
    },
    /// BACnet-Unconfirmed-Request-PDU.
    Unconfirmed {
        /// Service choice.
        service: u8,
        /// Service parameters.
        params: &'a [u8],
    },
    /// BACnet-SimpleACK-PDU: a confirmed service done.
    SimpleAck {
        /// Invoke id.
        invoke_id: u8,
        /// The acknowledged service.
        service: u8,
    },
    /// BACnet-ComplexACK-PDU: a confirmed service's result.
    ComplexAck {
        /// Invoke id.
        invoke_id: u8,
        /// Sequence number, when segmented.
        segment: Option<u8>,
        /// The acknowledged service.
        service: u8,
        /// Result parameters (of this segment).
        params: &'a [u8],
    },
    /// BACnet-SegmentACK-PDU.
    SegmentAck {
        /// Invoke id.
        invoke_id: u8,
    },
    /// BACnet-Error-PDU.
    Error {
        /// Invoke id.
        invoke_id: u8,
        /// The failed service.
        service: u8,
        /// Error class and code, when the parameters hold them.
        error: Option<(u32, u32)>,
    },
    /// BACnet-Reject-PDU.
    Reject {
        /// Invoke id.
        invoke_id: u8,
        /// Reject reason.
        reason: u8,
    },
    /// BACnet-Abort-PDU.
    Abort {
        /// Invoke id.
        invoke_id: u8,
        /// Abort reason.
        reason: u8,
        /// Sent by the server.
        server: bool,
    },
    /// An APDU type 8-15 (reserved).
    Reserved(u8),
}

/// Reads an APDU header; None when it is cut short.
pub fn parse(data: &[u8]) -> Option<Apdu<'_>> {
    let mut c = Cursor::new(data);
    let first = c.u8()?;
    let segmented = first & 0x08 != 0;
    Some(match first >> 4 {
        0 => {
            let _max = c.u8()?;
            let invoke_id = c.u8()?;
            let segment = if segmented {
                let seq = c.u8()?;
                let _window = c.u8()?;
                Some(seq)
            } else {
                None
            };
            let service = c.u8()?;
            Apdu::Confirmed { invoke_id, segment, service, params: c.rest() }
        }
        1 => Apdu::Unconfirmed { service: c.u8()?, params: c.rest() },
        2 => Apdu::SimpleAck { invoke_id: c.u8()?, service: c.u8()? },
        3 => {
            let invoke_id = c.u8()?;
            let segment = if segmented {
                let seq = c.u8()?;
                let _window = c.u8()?;
                Some(seq)
            } else {
                None
            };
            Apdu::ComplexAck { invoke_id, segment, service: c.u8()?, params: c.rest() }
        }
        4 => Apdu::SegmentAck { invoke_id: c.u8()? },
        5 => {
            let invoke_id = c.u8()?;
            let service = c.u8()?;
            Apdu::Error { invoke_id, service, error: error_pair(c.rest()) }
        }
        6 => Apdu::Reject { invoke_id: c.u8()?, reason: c.u8()? },
        7 => Apdu::Abort { server: first & 0x01 != 0, invoke_id: c.u8()?, reason: c.u8()? },
        n => Apdu::Reserved(n),
    })
}

/// Error class and code: two enumerated values, application-tagged (or, in
/// the errors of a few services, inside an opening tag 0 first).
fn error_pair(params: &[u8]) -> Option<(u32, u32)> {
    let mut c = Cursor::new(params);
    let mut values = Vec::new();
    while values.len() < 2 {
        let t = super::tags::header(&mut c)?;
        match t {
            super::tags::Tag::Application { number: 9, .. } => {
                values.push(super::tags::unsigned(super::tags::content(&mut c, t)?)?)
            }
            super::tags::Tag::Open(_) | super::tags::Tag::Close(_) => {}
            t => {
                super::tags::content(&mut c, t)?;
            }
        }
    }
    Some((*values.first()?, *values.get(1)?))
}

/// The name and class of a confirmed service choice (clause 21,
/// BACnetConfirmedServiceChoice).
pub fn confirmed_service(choice: u8) -> (&'static str, OperationClass) {
    use OperationClass::*;
    match choice {
        0 => ("acknowledge_alarm", Write),
        1 => ("confirmed_cov_notification", Read),
        2 => ("confirmed_event_notification", Diagnostic),
        3 => ("get_alarm_summary", Diagnostic),
        4 => ("get_enrollment_summary", Diagnostic),
        5 => ("subscribe_cov", Read),
        6 => ("atomic_read_file", Read),
        // Controllers take program and configuration files this way.
        7 => ("atomic_write_file", Program),
        8 => ("add_list_element", Configuration),
        9 => ("remove_list_element", Configuration),
        10 => ("create_object", Configuration),
        11 => ("delete_object", Configuration),
        12 => ("read_property", Read),
        13 => ("read_property_conditional", Read),
        14 => ("read_property_multiple", Read),
        15 => ("write_property", Write),
        16 => ("write_property_multiple", Write),
        // Silences a device (or lets it speak again): a control over its operation.
        17 => ("device_communication_control", Control),
        18 => ("confirmed_private_transfer", Unknown),
        19 => ("confirmed_text_message", Diagnostic),
        20 => ("reinitialize_device", Control),
        21 => ("vt_open", Session),
        22 => ("vt_close", Session),
        23 => ("vt_data", Session),
        24 => ("authenticate", Authentication),
        25 => ("request_key", Authentication),
        26 => ("read_range", Read),
        27 => ("life_safety_operation", Control),
        28 => ("subscribe_cov_property", Read),
        29 => ("get_event_information", Diagnostic),
        30 => ("subscribe_cov_property_multiple", Read),
        31 => ("confirmed_cov_notification_multiple", Read),
        32 => ("confirmed_audit_notification", Diagnostic),
        33 => ("audit_log_query", Read),
        _ => ("unknown_confirmed_service", Unknown),
    }
}

/// The name and class of an unconfirmed service choice (clause 21,
/// BACnetUnconfirmedServiceChoice).
pub fn unconfirmed_service(choice: u8) -> (&'static str, OperationClass) {
    use OperationClass::*;
    match choice {
        0 => ("i_am", Discovery),
        1 => ("i_have", Discovery),
        2 => ("unconfirmed_cov_notification", Read),
        3 => ("unconfirmed_event_notification", Diagnostic),
        4 => ("unconfirmed_private_transfer", Unknown),
        5 => ("unconfirmed_text_message", Diagnostic),
        6 => ("time_synchronization", Configuration),
        7 => ("who_has", Discovery),
        8 => ("who_is", Discovery),
        9 => ("utc_time_synchronization", Configuration),
        10 => ("write_group", Write),
        11 => ("unconfirmed_cov_notification_multiple", Read),
        12 => ("unconfirmed_audit_notification", Diagnostic),
        13 => ("who_am_i", Discovery),
        // Assigns a device its instance number and MAC address.
        14 => ("you_are", Configuration),
        _ => ("unknown_unconfirmed_service", Unknown),
    }
}

/// Confirmed service choices that matter below.
pub mod service {
    /// ReadProperty.
    pub const READ_PROPERTY: u8 = 12;
    /// ReadPropertyMultiple.
    pub const READ_PROPERTY_MULTIPLE: u8 = 14;
    /// WriteProperty.
    pub const WRITE_PROPERTY: u8 = 15;
    /// WritePropertyMultiple.
    pub const WRITE_PROPERTY_MULTIPLE: u8 = 16;
    /// DeviceCommunicationControl.
    pub const DEVICE_COMMUNICATION_CONTROL: u8 = 17;
    /// ReinitializeDevice.
    pub const REINITIALIZE_DEVICE: u8 = 20;
    /// AtomicWriteFile.
    pub const ATOMIC_WRITE_FILE: u8 = 7;
    /// Unconfirmed I-Am.
    pub const I_AM: u8 = 0;
    /// Unconfirmed I-Have.
    pub const I_HAVE: u8 = 1;
    /// Unconfirmed Who-Is.
    pub const WHO_IS: u8 = 8;
    /// Unconfirmed Who-Has.
    pub const WHO_HAS: u8 = 7;
    /// UnconfirmedCOVNotification.
    pub const COV_NOTIFICATION: u8 = 2;
    /// UnconfirmedEventNotification.
    pub const EVENT_NOTIFICATION: u8 = 3;
    /// TimeSynchronization.
    pub const TIME_SYNCHRONIZATION: u8 = 6;
    /// UTCTimeSynchronization.
    pub const UTC_TIME_SYNCHRONIZATION: u8 = 9;
    /// WriteGroup.
    pub const WRITE_GROUP: u8 = 10;
    /// UnconfirmedCOVNotificationMultiple.
    pub const COV_NOTIFICATION_MULTIPLE: u8 = 11;
}

/// The name of a reject reason (clause 21, BACnetRejectReason).
pub fn reject_reason(r: u8) -> &'static str {
    match r {
        0 => "other",
        1 => "buffer_overflow",
        2 => "inconsistent_parameters",
        3 => "invalid_parameter_data_type",
        4 => "invalid_tag",
        5 => "missing_required_parameter",
        6 => "parameter_out_of_range",
        7 => "too_many_arguments",
        8 => "undefined_enumeration",
        9 => "unrecognized_service",
        _ => "reserved",
    }
}

/// The name of an abort reason (clause 21, BACnetAbortReason).
pub fn abort_reason(r: u8) -> &'static str {
    match r {
        0 => "other",
        1 => "buffer_overflow",
        2 => "invalid_apdu_in_this_state",
        3 => "preempted_by_higher_priority_task",
        4 => "segmentation_not_supported",
        5 => "security_error",
        6 => "insufficient_security",
        7 => "window_size_out_of_range",
        8 => "application_exceeded_reply_time",
        9 => "out_of_resources",
        10 => "tsm_timeout",
        11 => "apdu_too_long",
        _ => "reserved",
    }
}

/// The name of an error class (clause 21, BACnetErrorClass).
pub fn error_class(c: u32) -> &'static str {
    match c {
        0 => "device",
        1 => "object",
        2 => "property",
        3 => "resources",
        4 => "security",
        5 => "services",
        6 => "vt",
        7 => "communication",
        _ => "other",
    }
}
