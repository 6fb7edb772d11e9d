//! Schneider Electric UMAS, carried in Modbus function 90 (0x5A, a code the
//! Modbus specification leaves unassigned).
//!
//! Owns naming and classifying the UMAS function code. The layout — function
//! 0x5A, a session (pairing key) byte, the UMAS code, then data; responses carry
//! 0xFE (OK) or 0xFD (error) in the code's place — and the code table follow the
//! public research on UMAS (Kaspersky ICS CERT, "The Secrets of Schneider
//! Electric's UMAS protocol", 2022, and Liras, "UMAS protocol", 2017); Schneider
//! publishes no specification. Codes that research does not agree on (0x21
//! among them) are reported as `umas_0xNN` with class unknown rather than guessed.
//!
//! In that naming "upload" (0x30-0x32) moves a project from the engineering
//! station into the PLC and "download" (0x33-0x35) reads it back out; both are
//! program transfers, whichever way they go.
//!
//! Not done: the data after the code (block numbers, variable lists, the
//! project information) is not read.

use crate::cursor::Cursor;
use otposture_model::OperationClass;
use std::borrow::Cow;

/// The session byte and UMAS code at the start of a function 90 PDU body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UmasHeader<'a> {
    /// Pairing key handed out with the PLC reservation (0 before one is taken).
    pub session: u8,
    /// The UMAS code in requests; [`RESPONSE_OK`] or [`RESPONSE_ERROR`] in responses.
    pub code: u8,
    /// The rest, unread.
    pub data: &'a [u8],
}

/// Status byte of a successful UMAS response.
pub const RESPONSE_OK: u8 = 0xfe;
/// Status byte of a failed UMAS response.
pub const RESPONSE_ERROR: u8 = 0xfd;

/// Reads the session and code after the 0x5A function code; `None` when the body
/// is shorter than two bytes.
pub fn parse(body: &[u8]) -> Option<UmasHeader<'_>> {
    let mut c = Cursor::new(body);
    let (session, code) = (c.u8()?, c.u8()?);
    Some(UmasHeader { session, code, data: c.rest() })
}

/// A UMAS function code; open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UmasCode(pub u8);

impl UmasCode {
    /// 0x01.
    pub const INIT_COMM: UmasCode = UmasCode(0x01);
    /// 0x02.
    pub const READ_ID: UmasCode = UmasCode(0x02);
    /// 0x03.
    pub const READ_PROJECT_INFO: UmasCode = UmasCode(0x03);
    /// 0x10.
    pub const TAKE_PLC_RESERVATION: UmasCode = UmasCode(0x10);
    /// 0x11.
    pub const RELEASE_PLC_RESERVATION: UmasCode = UmasCode(0x11);
    /// 0x20.
    pub const READ_MEMORY_BLOCK: UmasCode = UmasCode(0x20);
    /// 0x30: start of a project transfer into the PLC.
    pub const INITIALIZE_UPLOAD: UmasCode = UmasCode(0x30);
    /// 0x33: start of a project transfer out of the PLC.
    pub const INITIALIZE_DOWNLOAD: UmasCode = UmasCode(0x33);
    /// 0x40.
    pub const START_PLC: UmasCode = UmasCode(0x40);
    /// 0x41.
    pub const STOP_PLC: UmasCode = UmasCode(0x41);

    fn known(self) -> Option<(&'static str, OperationClass)> {
        use OperationClass::*;
        Some(match self.0 {
            0x01 => ("init_comm", Session),
            0x02 => ("read_id", Discovery),
            0x03 => ("read_project_info", Read),
            0x04 => ("read_plc_info", Read),
            0x06 => ("read_card_info", Read),
            0x0a => ("repeat", Read),
            // The reservation is UMAS's session ownership: who may change the PLC.
            0x10 => ("take_plc_reservation", Authentication),
            0x11 => ("release_plc_reservation", Authentication),
            0x12 => ("keep_alive", Session),
            0x20 => ("read_memory_block", Read),
            0x22 => ("read_variables", Read),
            0x23 => ("write_variables", Write),
            0x24 => ("read_coils_registers", Read),
            0x25 => ("write_coils_registers", Write),
            0x30 => ("initialize_upload", Program),
            0x31 => ("upload_block", Program),
            0x32 => ("end_strategy_upload", Program),
            0x33 => ("initialize_download", Program),
            0x34 => ("download_block", Program),
            0x35 => ("end_strategy_download", Program),
            0x39 => ("read_ethernet_master_data", Read),
            0x40 => ("start_plc", Control),
            0x41 => ("stop_plc", Control),
            0x50 => ("monitor_plc", Diagnostic),
            0x58 => ("check_plc", Diagnostic),
            0x70 => ("read_io_object", Read),
            0x71 => ("write_io_object", Write),
            0x73 => ("get_status_module", Diagnostic),
            _ => return None,
        })
    }

    /// The operation name: `umas_<name>`, or `umas_0xNN` for unknown codes.
    pub fn operation(self) -> Cow<'static, str> {
        match self.known() {
            Some((name, _)) => Cow::Owned(format!("umas_{name}")),
            None => Cow::Owned(format!("umas_{:#04x}", self.0)),
        }
    }

    /// What the code does to the PLC; unknown codes are [`OperationClass::Unknown`].
    pub fn class(self) -> OperationClass {
        self.known().map_or(OperationClass::Unknown, |(_, c)| c)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_and_classifies_known_codes() {
        assert_eq!(UmasCode::STOP_PLC.operation(), "umas_stop_plc");
        assert_eq!(UmasCode::STOP_PLC.class(), OperationClass::Control);
        assert_eq!(UmasCode::START_PLC.class(), OperationClass::Control);
        assert_eq!(UmasCode::INITIALIZE_UPLOAD.class(), OperationClass::Program);
        assert_eq!(UmasCode::INITIALIZE_DOWNLOAD.class(), OperationClass::Program);
        assert_eq!(UmasCode::TAKE_PLC_RESERVATION.class(), OperationClass::Authentication);
        assert_eq!(UmasCode::READ_MEMORY_BLOCK.operation(), "umas_read_memory_block");
    }

    #[test]
    fn reports_unknown_codes_by_number() {
        assert_eq!(UmasCode(0x21).operation(), "umas_0x21");
        assert_eq!(UmasCode(0x21).class(), OperationClass::Unknown);
    }

    #[test]
    fn reads_session_and_code() {
        let h = parse(&[
            0x00, // session 0
            0x41, // STOP_PLC
            0xff, 0x00, // data
        ])
        .unwrap();
        assert_eq!((h.session, h.code, h.data), (0, 0x41, &[0xff, 0x00][..]));
        assert_eq!(parse(&[0x00]), None);
    }
}
