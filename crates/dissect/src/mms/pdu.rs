//! MMS PDUs (ISO 9506-2): the PDU type, the invoke id, the confirmed
//! service and its class, and the few service bodies that name what was
//! touched: the variables a read or write names, an Identify answer, a
//! write's per-variable results, and the class and code of an error.

use crate::iec61850::ber::{self, BerError, Tagged, Tlvs, CONTEXT, CONTEXT_CONSTRUCTED};
use otposture_model::OperationClass;

/// The MMSpdu choices ([0]..[13]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    ConfirmedRequest,
    ConfirmedResponse,
    ConfirmedError,
    Unconfirmed,
    Reject,
    CancelRequest,
    CancelResponse,
    CancelError,
    InitiateRequest,
    InitiateResponse,
    InitiateError,
    ConcludeRequest,
    ConcludeResponse,
    ConcludeError,
}

impl Kind {
    fn from_tag(number: u32) -> Option<Kind> {
        Some(match number {
            0 => Kind::ConfirmedRequest,
            1 => Kind::ConfirmedResponse,
            2 => Kind::ConfirmedError,
            3 => Kind::Unconfirmed,
            4 => Kind::Reject,
            5 => Kind::CancelRequest,
            6 => Kind::CancelResponse,
            7 => Kind::CancelError,
            8 => Kind::InitiateRequest,
            9 => Kind::InitiateResponse,
            10 => Kind::InitiateError,
            11 => Kind::ConcludeRequest,
            12 => Kind::ConcludeResponse,
            13 => Kind::ConcludeError,
            _ => return None,
        })
    }

    /// The operation name of PDUs that carry no confirmed service.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::ConfirmedRequest | Kind::ConfirmedResponse | Kind::ConfirmedError => "confirmed",
            Kind::Unconfirmed => "unconfirmed",
            Kind::Reject => "reject",
            Kind::CancelRequest | Kind::CancelResponse | Kind::CancelError => "cancel",
            Kind::InitiateRequest | Kind::InitiateResponse => "initiate",
            Kind::InitiateError => "initiate_error",
            Kind::ConcludeRequest | Kind::ConcludeResponse => "conclude",
            Kind::ConcludeError => "conclude_error",
        }
    }
}

/// Why bytes are not an MMS PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PduError {
    Ber(BerError),
    /// Not one of the MMSpdu choices.
    UnknownPdu,
    /// A confirmed PDU without its invoke id or service.
    MissingField,
}

impl PduError {
    pub(crate) fn what(self) -> &'static str {
        match self {
            PduError::Ber(BerError::Truncated) => "mms_truncated",
            PduError::Ber(BerError::LongTag) => "mms_long_tag",
            PduError::Ber(BerError::BadLength) => "mms_bad_length",
            PduError::UnknownPdu => "mms_unknown_pdu",
            PduError::MissingField => "mms_missing_field",
        }
    }
}

/// One MMS PDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pdu<'a> {
    pub(crate) kind: Kind,
    /// The invoke id of confirmed PDUs, cancels and rejects (when given).
    pub(crate) invoke_id: Option<u32>,
    /// The confirmed or unconfirmed service: its tag number and body.
    pub(crate) service: Option<Tagged<'a>>,
    /// The PDU's contents (for errors and rejects, read on demand).
    pub(crate) body: &'a [u8],
}

/// Reads the MMS PDU `content` holds.
pub(crate) fn parse(content: &[u8]) -> Result<Pdu<'_>, PduError> {
    let top = Tlvs::new(content).next_tagged().ok_or(PduError::Ber(BerError::Truncated))?.map_err(PduError::Ber)?;
    if top.form & 0xc0 != CONTEXT {
        return Err(PduError::UnknownPdu);
    }
    let kind = Kind::from_tag(top.number).ok_or(PduError::UnknownPdu)?;
    let mut pdu = Pdu { kind, invoke_id: None, service: None, body: top.value };
    match kind {
        Kind::ConfirmedRequest | Kind::ConfirmedResponse => {
            let mut items = Tlvs::new(top.value);
            let id = items.next_tlv().ok_or(PduError::MissingField)?.map_err(PduError::Ber)?;
            if id.tag != 0x02 {
                return Err(PduError::MissingField);
            }
            pdu.invoke_id = invoke_id(id.value);
            // A request may list modifiers (a universal SEQUENCE) first.
            while let Some(item) = items.next_tagged() {
                let item = item.map_err(PduError::Ber)?;
                if item.form & 0xc0 == CONTEXT {
                    pdu.service = Some(item);
                    break;
                }
            }
            // An answer without its service (seen from test tools) is still
            // the answer to its invoke id.
            if pdu.service.is_none() && kind == Kind::ConfirmedRequest {
                return Err(PduError::MissingField);
            }
        }
        Kind::ConfirmedError => pdu.invoke_id = context_integer(top.value, 0),
        Kind::Reject => pdu.invoke_id = context_integer(top.value, 0),
        Kind::Unconfirmed => {
            pdu.service =
                Some(Tlvs::new(top.value).next_tagged().ok_or(PduError::MissingField)?.map_err(PduError::Ber)?)
        }
        // cancel-Request and -Response are the invoke id itself.
        Kind::CancelRequest | Kind::CancelResponse => pdu.invoke_id = invoke_id(top.value),
        Kind::CancelError => pdu.invoke_id = context_integer(top.value, 0),
        _ => {}
    }
    Ok(pdu)
}

/// An Unsigned32 invoke id.
fn invoke_id(value: &[u8]) -> Option<u32> {
    ber::unsigned(value).and_then(|n| u32::try_from(n).ok())
}

/// The primitive context-specific field `[number]` among `fields`, as an integer.
fn context_integer(fields: &[u8], number: u32) -> Option<u32> {
    let mut t = Tlvs::new(fields);
    while let Some(Ok(x)) = t.next_tagged() {
        if x.form == CONTEXT && x.number == number {
            return invoke_id(x.value);
        }
    }
    None
}

/// A confirmed service's name and class, by its ConfirmedServiceRequest /
/// ConfirmedServiceResponse tag (ISO 9506-2 section 7).
pub(crate) fn confirmed_service(number: u32) -> Option<(&'static str, OperationClass)> {
    use OperationClass::*;
    Some(match number {
        0 => ("status", Diagnostic),
        1 => ("get_name_list", Discovery),
        2 => ("identify", Discovery),
        3 => ("rename", Configuration),
        4 => ("read", Read),
        5 => ("write", Write),
        6 => ("get_variable_access_attributes", Discovery),
        7 => ("define_named_variable", Configuration),
        8 => ("define_scattered_access", Configuration),
        9 => ("get_scattered_access_attributes", Discovery),
        10 => ("delete_variable_access", Configuration),
        11 => ("define_named_variable_list", Configuration),
        12 => ("get_named_variable_list_attributes", Discovery),
        13 => ("delete_named_variable_list", Configuration),
        14 => ("define_named_type", Configuration),
        15 => ("get_named_type_attributes", Discovery),
        16 => ("delete_named_type", Configuration),
        17 => ("input", Read),
        18 => ("output", Write),
        // Semaphores: exclusive use of a resource, taken and given back.
        19 => ("take_control", Configuration),
        20 => ("relinquish_control", Configuration),
        21 => ("define_semaphore", Configuration),
        22 => ("delete_semaphore", Configuration),
        23 => ("report_semaphore_status", Diagnostic),
        24 => ("report_pool_semaphore_status", Diagnostic),
        25 => ("report_semaphore_entry_status", Diagnostic),
        // Domains are a device's loaded programs and data; transfers in either
        // direction and their deletion are program operations.
        26 => ("initiate_download_sequence", Program),
        27 => ("download_segment", Program),
        28 => ("terminate_download_sequence", Program),
        29 => ("initiate_upload_sequence", Program),
        30 => ("upload_segment", Program),
        31 => ("terminate_upload_sequence", Program),
        32 => ("request_domain_download", Program),
        33 => ("request_domain_upload", Program),
        34 => ("load_domain_content", Program),
        35 => ("store_domain_content", Program),
        36 => ("delete_domain", Program),
        37 => ("get_domain_attributes", Discovery),
        38 => ("create_program_invocation", Program),
        39 => ("delete_program_invocation", Program),
        // Program invocations: what runs on the device.
        40 => ("start", Control),
        41 => ("stop", Control),
        42 => ("resume", Control),
        43 => ("reset", Control),
        44 => ("kill", Control),
        45 => ("get_program_invocation_attributes", Discovery),
        // Makes the server fetch a file from the client: how configuration
        // and firmware files are put on an IED.
        46 => ("obtain_file", Program),
        47 => ("define_event_condition", Configuration),
        48 => ("delete_event_condition", Configuration),
        49 => ("get_event_condition_attributes", Discovery),
        50 => ("report_event_condition_status", Diagnostic),
        51 => ("alter_event_condition_monitoring", Configuration),
        52 => ("trigger_event", Control),
        53 => ("define_event_action", Configuration),
        54 => ("delete_event_action", Configuration),
        55 => ("get_event_action_attributes", Discovery),
        56 => ("report_event_action_status", Diagnostic),
        57 => ("define_event_enrollment", Configuration),
        58 => ("delete_event_enrollment", Configuration),
        59 => ("alter_event_enrollment", Configuration),
        60 => ("report_event_enrollment_status", Diagnostic),
        61 => ("get_event_enrollment_attributes", Discovery),
        62 => ("acknowledge_event_notification", Write),
        63 => ("get_alarm_summary", Read),
        64 => ("get_alarm_enrollment_summary", Read),
        65 => ("read_journal", Read),
        66 => ("write_journal", Write),
        67 => ("initialize_journal", Write),
        68 => ("report_journal_status", Diagnostic),
        69 => ("create_journal", Configuration),
        70 => ("delete_journal", Configuration),
        71 => ("get_capability_list", Discovery),
        72 => ("file_open", Read),
        73 => ("file_read", Read),
        74 => ("file_close", Read),
        75 => ("file_rename", Write),
        76 => ("file_delete", Write),
        77 => ("file_directory", Read),
        _ => return None,
    })
}

/// An unconfirmed service's name and class.
pub(crate) fn unconfirmed_service(number: u32) -> Option<(&'static str, OperationClass)> {
    Some(match number {
        // Reports: process values and events pushed by the server.
        0 => ("information_report", OperationClass::Read),
        1 => ("unsolicited_status", OperationClass::Diagnostic),
        2 => ("event_notification", OperationClass::Read),
        _ => return None,
    })
}

/// Confirmed service tags of Write and Identify.
pub(crate) const WRITE: u32 = 5;
pub(crate) const IDENTIFY: u32 = 2;

/// Confirmed service tag of GetNameList.
pub(crate) const GET_NAME_LIST: u32 = 1;

/// Most names listed from one GetNameList answer.
pub(crate) const MAX_LISTED: usize = 32;

/// True for a GetNameList request of the VMD's domains: objectClass [0] {
/// basicObjectClass [0] 9 (domain) }, objectScope [1] { vmdSpecific [0] }.
pub(crate) fn lists_domains(service: &Tagged<'_>) -> bool {
    let class = context_field(service.value, CONTEXT_CONSTRUCTED, 0)
        .and_then(|c| context_field(c, CONTEXT, 0))
        .and_then(ber::unsigned);
    let scope = context_field(service.value, CONTEXT_CONSTRUCTED, 1).and_then(|s| Tlvs::new(s).next_tagged()?.ok());
    class == Some(9) && scope.is_some_and(|s| s.form == CONTEXT && s.number == 0)
}

/// The identifiers a GetNameList answer lists ([0] SEQUENCE OF Identifier),
/// at most [`MAX_LISTED`], and how many it lists in all.
pub(crate) fn name_list(service: &Tagged<'_>) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut count = 0;
    if let Some(list) = context_field(service.value, CONTEXT_CONSTRUCTED, 0) {
        let mut t = Tlvs::new(list);
        while let Some(Ok(x)) = t.next_tlv() {
            count += 1;
            if names.len() < MAX_LISTED {
                names.push(text(x.value));
            }
        }
    }
    (names, count)
}

/// Confirmed service tag of Read.
pub(crate) const READ: u32 = 4;

/// The objects every ICCP (IEC 60870-6 TASE.2) server holds, which an ICCP
/// client reads right after associating (IEC 60870-6-503 §8.1, "Association
/// objects"); an IEC 61850 server has none of them. Reading them is what
/// tells an ICCP link apart from IEC 61850 on the same MMS stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tase2Object {
    /// The bilateral table's identifier, in the domain of the client's
    /// bilateral table (a VisibleString).
    BilateralTableId,
    /// The TASE.2 edition the server implements: { major, minor } (1996.8, 2000.8).
    Version,
    /// The conformance blocks the server supports (a bit string, block 1 first).
    SupportedFeatures,
    /// The name of a free data set transfer set the server lends the client,
    /// which the client then writes to start reports (IEC 60870-6-503 §8.3).
    NextTransferSet,
}

impl Tase2Object {
    fn of(item: &[u8]) -> Option<Tase2Object> {
        match item {
            b"Bilateral_Table_ID" => Some(Tase2Object::BilateralTableId),
            b"TASE2_Version" => Some(Tase2Object::Version),
            b"Supported_Features" => Some(Tase2Object::SupportedFeatures),
            b"Next_DSTransfer_Set" => Some(Tase2Object::NextTransferSet),
            _ => None,
        }
    }
}

/// A TASE.2 association object a Read asks for: its place in the list of
/// variables (which is its place among the answer's results) and, for the
/// bilateral table id, the domain holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tase2Read {
    pub(crate) position: usize,
    pub(crate) object: Tase2Object,
    pub(crate) domain: Option<String>,
}

/// The TASE.2 association objects a Read request names (none for most
/// reads: only the item names are compared, nothing is copied unless one
/// matches). Read-Request: specificationWithResult [0] OPTIONAL,
/// variableAccessSpecification [1] { listOfVariable [0] ... }.
pub(crate) fn tase2_reads(service: &Tagged<'_>) -> Vec<Tase2Read> {
    let mut out = Vec::new();
    if service.number != READ {
        return out;
    }
    let Some(list) = context_field(service.value, CONTEXT_CONSTRUCTED, 1)
        .and_then(|spec| Tlvs::new(spec).next_tagged()?.ok())
        .filter(|choice| choice.form == CONTEXT_CONSTRUCTED && choice.number == 0)
    else {
        return out;
    };
    let mut entries = Tlvs::new(list.value);
    let mut position = 0;
    while let Some(Ok(entry)) = entries.next_tlv() {
        let name = Tlvs::new(entry.value)
            .next_tagged()
            .and_then(Result::ok)
            .filter(|s| s.number == 0)
            .and_then(|s| Tlvs::new(s.value).next_tagged()?.ok());
        let found = name.and_then(|n| match (n.form, n.number) {
            (CONTEXT, 0) => Some((Tase2Object::of(n.value)?, None)),
            (CONTEXT_CONSTRUCTED, 1) => {
                let mut parts = Tlvs::new(n.value);
                let domain = parts.next_tlv()?.ok()?;
                let item = parts.next_tlv()?.ok()?;
                Some((Tase2Object::of(item.value)?, Some(text(domain.value))))
            }
            _ => None,
        });
        if let Some((object, domain)) = found {
            out.push(Tase2Read { position, object, domain });
        }
        position += 1;
    }
    out
}

/// The value of a TASE.2 association object in the `position`th result of a
/// Read-Response (listOfAccessResult [1]; a result is failure [0] or Data),
/// as text: the bilateral table id as sent, the version as `major.minor`,
/// the supported features as the numbers of the blocks set (`1,2,5`).
pub(crate) fn tase2_value(service: &Tagged<'_>, position: usize, object: Tase2Object) -> Option<String> {
    let results = context_field(service.value, CONTEXT_CONSTRUCTED, 1)?;
    let data = nth_tagged(results, position)?;
    match (object, data.form, data.number) {
        // visible-string [10]
        (Tase2Object::BilateralTableId, CONTEXT, 10) => Some(text(data.value)),
        // structure [2] { integer [5], integer [5] }
        (Tase2Object::Version, CONTEXT_CONSTRUCTED, 2) => {
            let integer = |n| nth_tagged(data.value, n).filter(|p| p.form == CONTEXT && p.number == 5);
            let (major, minor) = (ber::unsigned(integer(0)?.value)?, ber::unsigned(integer(1)?.value)?);
            Some(format!("{major}.{minor}"))
        }
        // structure [2] { scope, domain visible-string [10], name visible-string [10] }
        (Tase2Object::NextTransferSet, CONTEXT_CONSTRUCTED, 2) => object_name_value(data.value),
        // bit-string [4]: the count of unused trailing bits, then the bits.
        (Tase2Object::SupportedFeatures, CONTEXT, 4) => {
            let (&unused, bits) = data.value.split_first()?;
            let len = (bits.len() * 8).checked_sub(usize::from(unused))?;
            let blocks: Vec<String> = (0..len)
                .filter(|i| bits.get(i / 8).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
                .map(|i| (i + 1).to_string())
                .collect();
            Some(blocks.join(","))
        }
        _ => None,
    }
}

/// A TASE.2 object name carried as data: a structure of a scope, then the
/// domain and the name as visible strings, as `domain/name`.
fn object_name_value(fields: &[u8]) -> Option<String> {
    let string = |n| nth_tagged(fields, n).filter(|f| f.form == CONTEXT && f.number == 10).map(|f| text(f.value));
    let (domain, name) = (string(1)?, string(2)?);
    Some(format!("{domain}/{name}"))
}

/// The data set a write to a TASE.2 transfer set names: Write-Request
/// listOfData [0] (after the access specification), its first Data a structure whose first member is the
/// DataSetName (IEC 60870-6-503 DSTransferSet), as `domain/name`.
pub(crate) fn transfer_set_data_set(service: &Tagged<'_>) -> Option<String> {
    // The access specification comes first (listOfVariable is [0] as well).
    let data = nth_tagged(service.value, 1).filter(|d| d.form == CONTEXT_CONSTRUCTED && d.number == 0)?.value;
    let first = nth_tagged(data, 0).filter(|d| d.form == CONTEXT_CONSTRUCTED && d.number == 2)?;
    let name = nth_tagged(first.value, 0).filter(|d| d.form == CONTEXT_CONSTRUCTED && d.number == 2)?;
    object_name_value(name.value)
}

/// The `n`th field among `fields` (None past the end or a bad field).
fn nth_tagged(fields: &[u8], n: usize) -> Option<Tagged<'_>> {
    let mut t = Tlvs::new(fields);
    for _ in 0..n {
        t.next_tagged()?.ok()?;
    }
    t.next_tagged()?.ok()
}

/// Most variable names read from one request.
pub(crate) const MAX_NAMES: usize = 8;

/// The variables a Write request names, as `domain/item` (or the item
/// alone for VMD-specific names, `@list` for a named variable list), at most
/// [`MAX_NAMES`], and how many it names in all. (Reads are counted, not kept,
/// so theirs are not read.)
pub(crate) fn variables(service: &Tagged<'_>) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut count = 0;
    // Write-Request: the VariableAccessSpecification choice comes first.
    let spec = match service.number {
        WRITE => Tlvs::new(service.value).next_tagged().and_then(Result::ok),
        _ => None,
    };
    let Some(spec) = spec else { return (names, 0) };
    match spec.number {
        // listOfVariable: SEQUENCE OF SEQUENCE { variableSpecification, ... }.
        0 => {
            let mut list = Tlvs::new(spec.value);
            while let Some(Ok(entry)) = list.next_tlv() {
                count += 1;
                if names.len() >= MAX_NAMES {
                    continue;
                }
                // variableSpecification: name [0] ObjectName (explicit).
                let name = Tlvs::new(entry.value)
                    .next_tagged()
                    .and_then(Result::ok)
                    .filter(|s| s.number == 0)
                    .and_then(|s| object_name(s.value));
                if let Some(n) = name {
                    names.push(n);
                }
            }
        }
        // variableListName: ObjectName.
        1 => {
            count = 1;
            if let Some(n) = object_name(spec.value) {
                names.push(format!("@{n}"));
            }
        }
        _ => {}
    }
    (names, count)
}

/// The text of an ObjectName choice: vmd-specific [0], domain-specific [1]
/// { domainID, itemID }, aa-specific [2].
fn object_name(choice: &[u8]) -> Option<String> {
    let name = Tlvs::new(choice).next_tagged()?.ok()?;
    match (name.form, name.number) {
        (CONTEXT, 0 | 2) => Some(text(name.value)),
        (CONTEXT_CONSTRUCTED, 1) => {
            let mut parts = Tlvs::new(name.value);
            let domain = parts.next_tlv()?.ok()?;
            let item = parts.next_tlv()?.ok()?;
            Some(format!("{}/{}", text(domain.value), text(item.value)))
        }
        _ => None,
    }
}

/// The contents of the field with `form` and tag `number` among `fields`.
fn context_field(fields: &[u8], form: u8, number: u32) -> Option<&[u8]> {
    let mut t = Tlvs::new(fields);
    while let Some(Ok(x)) = t.next_tagged() {
        if x.form == form && x.number == number {
            return Some(x.value);
        }
    }
    None
}

/// How many variables of a Write-Response failed (`failure [0]`), and how
/// many results it holds.
pub(crate) fn write_results(service: &Tagged<'_>) -> (usize, usize) {
    let mut t = Tlvs::new(service.value);
    let (mut failed, mut all) = (0, 0);
    while let Some(Ok(r)) = t.next_tagged() {
        all += 1;
        if r.number == 0 {
            failed += 1;
        }
    }
    (failed, all)
}

/// An Identify-Response's vendor name [0], model name [1] and revision [2].
pub(crate) fn identify(service: &Tagged<'_>) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut t = Tlvs::new(service.value);
    while let Some(Ok(x)) = t.next_tagged() {
        let key = match (x.form, x.number) {
            (CONTEXT, 0) => "vendor",
            (CONTEXT, 1) => "model",
            (CONTEXT, 2) => "revision",
            _ => continue,
        };
        let v = text(x.value);
        if !v.is_empty() {
            out.push((key, v));
        }
    }
    out
}

/// A confirmed error's class and code: serviceError [2] { errorClass [0]
/// CHOICE { [n] INTEGER } }, as the class's name and the code.
pub(crate) fn service_error(body: &[u8]) -> Option<(&'static str, u64)> {
    let error = context_field(body, CONTEXT_CONSTRUCTED, 2)?;
    let class = context_field(error, CONTEXT_CONSTRUCTED, 0)?;
    let choice = Tlvs::new(class).next_tagged()?.ok()?;
    let name = match choice.number {
        0 => "vmd_state",
        1 => "application_reference",
        2 => "definition",
        3 => "resource",
        4 => "service",
        5 => "service_preempt",
        6 => "time_resolution",
        7 => "access",
        8 => "initiate",
        9 => "conclude",
        10 => "cancel",
        11 => "file",
        _ => "others",
    };
    Some((name, ber::unsigned(choice.value).unwrap_or(0)))
}

/// What an IEC 61850 write does, by the object reference it names (IEC
/// 61850-8-1 section 20): writing `Oper`, `SBOw` or `Cancel` of a controllable
/// data object (functional constraint `CO`) operates, selects or cancels a
/// control of the process (a breaker, a switch, a set point).
pub(crate) fn control_write(name: &str) -> Option<&'static str> {
    let (_, rest) = name.split_once("$CO$")?;
    match rest.rsplit('$').next()? {
        "Oper" => Some("control_operate"),
        "SBOw" => Some("control_select"),
        "Cancel" => Some("control_cancel"),
        _ => None,
    }
}

/// What a domain, program invocation or file service acts on, as an
/// attribute: the domain (program or data loaded on the device), the program
/// invocation (what runs), or the file, by the name the request gives.
pub(crate) fn target(service: &Tagged<'_>) -> Option<(&'static str, String)> {
    let key = match service.number {
        // Upload segments and their end carry a state machine id, not a name.
        26..=29 | 32..=37 => "domain",
        38..=45 => "program_invocation",
        46 | 72 | 75 | 76 => return file(service).map(|f| ("file", f)),
        _ => return None,
    };
    // The name is the service itself (an IMPLICIT Identifier) or its first
    // field ([0] IMPLICIT Identifier, or an Identifier).
    let value = if service.form == CONTEXT {
        service.value
    } else {
        let mut t = Tlvs::new(service.value);
        let mut found = None;
        while let Some(Ok(x)) = t.next_tagged() {
            if (x.form == CONTEXT && x.number == 0) || (x.form == 0 && x.number == 26) {
                found = Some(x.value);
                break;
            }
        }
        found?
    };
    let name = text(value);
    (!name.is_empty()).then_some((key, name))
}

/// A file service's first file name: FileName is a SEQUENCE OF
/// GraphicString, the service's own contents (fileDelete) or its first
/// constructed field (fileOpen [0], obtainFile's source [1], fileRename's
/// current name [0]); the parts are joined with `/`.
fn file(service: &Tagged<'_>) -> Option<String> {
    let parts = |v: &[u8]| {
        let mut out = Vec::new();
        let mut t = Tlvs::new(v);
        while let Some(Ok(x)) = t.next_tagged() {
            if x.form == 0 && x.number == 25 {
                out.push(text(x.value));
            }
        }
        out
    };
    let mut names = parts(service.value);
    if names.is_empty() {
        let mut t = Tlvs::new(service.value);
        while let Some(Ok(x)) = t.next_tagged() {
            if x.form == CONTEXT_CONSTRUCTED {
                names = parts(x.value);
                if !names.is_empty() {
                    break;
                }
            }
        }
    }
    (!names.is_empty()).then(|| names.join("/"))
}

/// Text of a VisibleString or Identifier.
pub(crate) fn text(value: &[u8]) -> String {
    crate::s7comm::szl::text(value)
}
