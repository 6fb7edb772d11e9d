//! PCCC (the Allen-Bradley DF1 application layer) carried by the CIP PCCC
//! object's Execute_PCCC service (class 0x67, service 0x4B), as Rockwell's
//! DF1 Protocol and Command Set manual (1770-6.5.16) lays it out: a requester
//! id (length, vendor, serial), then CMD, STS, TNS and, for the command
//! families that have one, FNC.
//!
//! The operation class comes from CMD and FNC: typed and word-range reads and
//! writes are read/write; mode changes, shutdown and restart are control;
//! upload/download and edit-resource functions are program. Data table
//! addresses and values are not read.

use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;

/// One PCCC command (request) or reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pccc<'a> {
    /// Command code; replies have bit 6 set.
    pub cmd: u8,
    /// Status (0 = success; 0xF0 = see the extended status).
    pub sts: u8,
    /// Transaction number.
    pub tns: u16,
    /// Function code, for the command families that carry one.
    pub fnc: Option<u8>,
    /// What follows.
    pub data: &'a [u8],
}

/// True for command families whose requests carry a function code.
fn has_function(cmd: u8) -> bool {
    matches!(cmd & !0x40, 0x06 | 0x07 | 0x0f)
}

/// Reads an Execute_PCCC request or reply body: the requester id, then the
/// PCCC command.
pub fn parse(body: &[u8], reply: bool) -> Option<Pccc<'_>> {
    let mut c = Cursor::new(body);
    // The requester id length counts itself.
    let id_len = c.u8()?;
    c.take(usize::from(id_len).checked_sub(1)?)?;
    let cmd = c.u8()?;
    let sts = c.u8()?;
    let tns = c.le_u16()?;
    let fnc = if !reply && has_function(cmd) { Some(c.u8()?) } else { None };
    Some(Pccc { cmd, sts, tns, fnc, data: c.rest() })
}

/// The operation name (`pccc_<function>`) and class of a request; the
/// names are static so the common case does not allocate.
pub fn classify(cmd: u8, fnc: Option<u8>) -> (Cow<'static, str>, OperationClass) {
    use OperationClass::*;
    let known = match (cmd, fnc) {
        // Basic commands (1770-6.5.16 ch. 7), no function code.
        (0x00, _) => Some(("pccc_protected_write", Write)),
        (0x01, _) => Some(("pccc_unprotected_read", Read)),
        (0x02, _) => Some(("pccc_protected_bit_write", Write)),
        (0x05, _) => Some(("pccc_unprotected_bit_write", Write)),
        (0x08, _) => Some(("pccc_unprotected_write", Write)),
        // CMD 0x06: diagnostics and link settings.
        (0x06, Some(f)) => match f {
            0x00 => Some(("pccc_echo", Diagnostic)),
            0x01 => Some(("pccc_read_diagnostic_counters", Diagnostic)),
            0x02 => Some(("pccc_set_variables", Configuration)),
            0x03 => Some(("pccc_diagnostic_status", Diagnostic)),
            0x04 => Some(("pccc_set_timeout", Configuration)),
            0x05 => Some(("pccc_set_naks", Configuration)),
            0x06 => Some(("pccc_set_enqs", Configuration)),
            0x07 => Some(("pccc_reset_diagnostic_counters", Diagnostic)),
            0x08 => Some(("pccc_set_data_table_size", Configuration)),
            0x09 => Some(("pccc_read_link_parameters", Diagnostic)),
            0x0a => Some(("pccc_set_link_parameters", Configuration)),
            _ => None,
        },
        // CMD 0x07: PLC-2 style outputs, scanning and download/upload mode.
        (0x07, Some(f)) => match f {
            0x00 => Some(("pccc_disable_outputs", Control)),
            0x01 => Some(("pccc_enable_outputs", Control)),
            0x03 => Some(("pccc_enable_plc_scanning", Control)),
            0x04 => Some(("pccc_enter_download_mode", Program)),
            0x05 => Some(("pccc_exit_download_upload_mode", Program)),
            0x06 => Some(("pccc_enter_upload_mode", Program)),
            _ => None,
        },
        // CMD 0x0F: the extended command set of PLC-5, SLC and MicroLogix.
        (0x0f, Some(f)) => match f {
            0x00 => Some(("pccc_word_range_write", Write)),
            0x01 => Some(("pccc_word_range_read", Read)),
            0x02 => Some(("pccc_bit_write", Write)),
            0x03 => Some(("pccc_file_write", Write)),
            0x04 => Some(("pccc_file_read", Read)),
            0x05 => Some(("pccc_download_request", Program)),
            0x06 => Some(("pccc_upload", Program)),
            0x07 => Some(("pccc_shutdown", Control)),
            0x08 => Some(("pccc_physical_write", Write)),
            0x09 => Some(("pccc_physical_read", Read)),
            0x0a => Some(("pccc_restart_request", Control)),
            0x11 => Some(("pccc_get_edit_resource", Program)),
            0x12 => Some(("pccc_return_edit_resource", Program)),
            0x17 => Some(("pccc_read_bytes_physical", Read)),
            0x18 => Some(("pccc_write_bytes_physical", Write)),
            0x26 => Some(("pccc_read_modify_write", Write)),
            0x29 => Some(("pccc_read_section_size", Diagnostic)),
            0x3a => Some(("pccc_set_cpu_mode", Control)),
            0x41 => Some(("pccc_disable_forces", Control)),
            0x50 => Some(("pccc_download_all_request", Program)),
            0x52 => Some(("pccc_download_completed", Program)),
            0x53 => Some(("pccc_upload_all_request", Program)),
            0x55 => Some(("pccc_upload_completed", Program)),
            0x57 => Some(("pccc_initialize_memory", Program)),
            0x5e => Some(("pccc_modify_plc2_compatibility_file", Configuration)),
            0x67 => Some(("pccc_typed_write", Write)),
            0x68 => Some(("pccc_typed_read", Read)),
            0x79 => Some(("pccc_read_modify_write_n", Write)),
            0x80 => Some(("pccc_change_cpu_mode", Control)),
            0x81 => Some(("pccc_open_file", Read)),
            0x82 => Some(("pccc_close_file", Read)),
            0x8f => Some(("pccc_apply_port_configuration", Configuration)),
            0xa1 => Some(("pccc_protected_typed_logical_read_2", Read)),
            0xa2 => Some(("pccc_protected_typed_logical_read_3", Read)),
            0xa7 => Some(("pccc_protected_typed_file_read", Read)),
            0xa9 => Some(("pccc_protected_typed_logical_write_2", Write)),
            0xaa => Some(("pccc_protected_typed_logical_write_3", Write)),
            0xab => Some(("pccc_protected_typed_logical_masked_write_3", Write)),
            0xaf => Some(("pccc_protected_typed_file_write", Write)),
            _ => None,
        },
        _ => None,
    };
    match known {
        Some((name, class)) => (Cow::Borrowed(name), class),
        None => {
            let name = match fnc {
                Some(f) => crate::intern::name("pccc_function", (u64::from(cmd) << 8) | u64::from(f), || {
                    format!("pccc_cmd_{cmd:#04x}_fnc_{f:#04x}")
                }),
                None => crate::intern::name("pccc_command", u64::from(cmd), || format!("pccc_cmd_{cmd:#04x}")),
            };
            (name, Unknown)
        }
    }
}

/// The mode a change-CPU-mode request (CMD 0x0F FNC 0x80) asks for.
pub fn cpu_mode(p: &Pccc<'_>) -> Option<&'static str> {
    if p.cmd != 0x0f || p.fnc != Some(0x80) {
        return None;
    }
    Some(match p.data.first()? {
        0x01 => "remote_program",
        0x06 => "remote_run",
        0x07 => "remote_test_continuous",
        0x08 => "remote_test_single",
        0x09 => "remote_test_debug",
        _ => "other",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_typed_read_after_the_requester_id() {
        let body = [
            0x07, // requester id length 7 (itself, vendor, serial)
            0x01, 0x00, // vendor 1
            0x78, 0x56, 0x34, 0x12, // serial
            0x0f, // CMD 0x0F
            0x00, // STS
            0x34, 0x12, // TNS
            0xa2, // FNC: protected typed logical read, three address fields
            0x02, 0x07, 0x89, 0x00, 0x00, // size, file, type, element, sub-element
        ];
        let p = parse(&body, false).unwrap();
        assert_eq!((p.cmd, p.tns, p.fnc), (0x0f, 0x1234, Some(0xa2)));
        assert_eq!(
            classify(p.cmd, p.fnc),
            (Cow::Borrowed("pccc_protected_typed_logical_read_3"), OperationClass::Read)
        );
        let reply = parse(&[0x07, 1, 0, 0, 0, 0, 0, 0x4f, 0x00, 0x34, 0x12, 0xaa], true).unwrap();
        assert_eq!((reply.cmd, reply.fnc, reply.data), (0x4f, None, &[0xaa][..]));
    }

    #[test]
    fn classifies_mode_changes_as_control_and_unknown_functions_by_number() {
        assert_eq!(classify(0x0f, Some(0x80)).1, OperationClass::Control);
        assert_eq!(classify(0x07, Some(0x04)).1, OperationClass::Program);
        assert_eq!(classify(0x0f, Some(0xee)), (Cow::Borrowed("pccc_cmd_0x0f_fnc_0xee"), OperationClass::Unknown));
        let p = Pccc { cmd: 0x0f, sts: 0, tns: 1, fnc: Some(0x80), data: &[0x01] };
        assert_eq!(cpu_mode(&p), Some("remote_program"));
    }

    #[test]
    fn refuses_a_requester_id_longer_than_the_body() {
        assert_eq!(parse(&[0x09, 0x01, 0x00], false), None);
        assert_eq!(parse(&[0x00, 0x0f], false), None);
    }
}
