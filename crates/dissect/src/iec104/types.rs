//! ASDU type identifications (IEC 60870-5-101:2003 §7.2.1;
//! IEC 60870-5-104:2006 §7, which keeps the set without the CP24Time2a types
//! and two serial-only commands; IEC 60870-5-7 for the security types 41 and
//! 81-95): what each type is called, how long one of its information elements
//! is, and what it does to the controlled station.
//!
//! The table below is typed from those standards. Its abbreviations are the
//! value strings Wireshark gives `iec60870_asdu.typeid`, checked by the tshark
//! cross-check test, and its element sizes agree with Wireshark's
//! `asdu_length` table (`epan/dissectors/packet-iec104.c`). The type id is an
//! open code: a type no standard defines is reported as `unknown_type_N`,
//! class unknown, never rejected.

use otposture_model::OperationClass;
use std::borrow::Cow;

/// Which station sent an ASDU: the one that commands (controlling station,
/// usually the TCP client) or the one that reports process data and obeys
/// (controlled station, usually the TCP server on port 2404). IEC
/// 60870-5-104 names them; the standard's "control direction" is from the
/// controlling station.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Station {
    /// Sends commands and interrogations (SCADA master, gateway upstream).
    Controlling,
    /// Sends monitored data and executes commands (RTU, bay controller).
    Controlled,
}

/// How many octets one information element of a type takes after its
/// information object address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementSize {
    /// Every element has this many octets (0: the address alone, as in a
    /// read command).
    Fixed(usize),
    /// F_SG_NA_1: name of file (2), section (1), length of segment (1), then
    /// that many octets.
    Segment,
    /// The security types of IEC 60870-5-7: variable structures this
    /// dissector does not walk.
    Variable,
}

/// What a type is for, which decides its operation class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Process information in monitor direction (M_*), and end of
    /// initialization: data the controlled station reports.
    Monitor,
    /// Process commands (C_SC .. C_BO, with and without time tag): they change
    /// outputs or set points.
    Command,
    /// Interrogation, counter interrogation and read: ask for data.
    Interrogation,
    /// Clock synchronization and delay acquisition: set the station's time.
    Clock,
    /// Test commands: check the link end to end.
    Test,
    /// Reset process: restarts the station's application.
    Reset,
    /// Parameters of measured values and their activation.
    Parameter,
    /// File transfer (F_*): disturbance records, logs, files.
    File,
    /// Secure authentication (IEC 60870-5-7, IEC 62351-5).
    Security,
}

/// What the standards say about one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    /// The standard's abbreviation (`C_SC_NA_1`).
    pub abbreviation: &'static str,
    /// A readable snake_case name (`single_command`), the operation name.
    pub name: &'static str,
    /// Length of one information element.
    pub size: ElementSize,
    /// What the type is for.
    pub kind: Kind,
    /// False for types IEC 60870-5-104 §7 leaves out (CP24Time2a time tags,
    /// C_TS_NA_1, C_CD_NA_1): seen on TCP they are anomalous.
    pub in_104: bool,
}

/// A type identification (the first octet of an ASDU); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u8);

const fn t(abbreviation: &'static str, name: &'static str, size: ElementSize, kind: Kind, in_104: bool) -> TypeInfo {
    TypeInfo { abbreviation, name, size, kind, in_104 }
}

impl TypeId {
    /// 1: single-point information.
    pub const M_SP_NA_1: TypeId = TypeId(1);
    /// 3: double-point information.
    pub const M_DP_NA_1: TypeId = TypeId(3);
    /// 13: measured value, short floating point number.
    pub const M_ME_NC_1: TypeId = TypeId(13);
    /// 30: single-point information with time tag CP56Time2a.
    pub const M_SP_TB_1: TypeId = TypeId(30);
    /// 45: single command.
    pub const C_SC_NA_1: TypeId = TypeId(45);
    /// 46: double command.
    pub const C_DC_NA_1: TypeId = TypeId(46);
    /// 47: regulating step command.
    pub const C_RC_NA_1: TypeId = TypeId(47);
    /// 48: set point command, normalized value.
    pub const C_SE_NA_1: TypeId = TypeId(48);
    /// 49: set point command, scaled value.
    pub const C_SE_NB_1: TypeId = TypeId(49);
    /// 50: set point command, short floating point number.
    pub const C_SE_NC_1: TypeId = TypeId(50);
    /// 51: bitstring of 32 bits command.
    pub const C_BO_NA_1: TypeId = TypeId(51);
    /// 58: single command with time tag CP56Time2a.
    pub const C_SC_TA_1: TypeId = TypeId(58);
    /// 59: double command with time tag CP56Time2a.
    pub const C_DC_TA_1: TypeId = TypeId(59);
    /// 60: regulating step command with time tag CP56Time2a.
    pub const C_RC_TA_1: TypeId = TypeId(60);
    /// 61: set point command, normalized value, with time tag CP56Time2a.
    pub const C_SE_TA_1: TypeId = TypeId(61);
    /// 62: set point command, scaled value, with time tag CP56Time2a.
    pub const C_SE_TB_1: TypeId = TypeId(62);
    /// 63: set point command, short floating point number, with time tag CP56Time2a.
    pub const C_SE_TC_1: TypeId = TypeId(63);
    /// 64: bitstring of 32 bits command with time tag CP56Time2a.
    pub const C_BO_TA_1: TypeId = TypeId(64);
    /// 70: end of initialization.
    pub const M_EI_NA_1: TypeId = TypeId(70);
    /// 100: interrogation command.
    pub const C_IC_NA_1: TypeId = TypeId(100);
    /// 101: counter interrogation command.
    pub const C_CI_NA_1: TypeId = TypeId(101);
    /// 102: read command.
    pub const C_RD_NA_1: TypeId = TypeId(102);
    /// 103: clock synchronization command.
    pub const C_CS_NA_1: TypeId = TypeId(103);
    /// 104: test command (IEC 60870-5-101 only).
    pub const C_TS_NA_1: TypeId = TypeId(104);
    /// 105: reset process command.
    pub const C_RP_NA_1: TypeId = TypeId(105);
    /// 106: delay acquisition command (IEC 60870-5-101 only).
    pub const C_CD_NA_1: TypeId = TypeId(106);
    /// 107: test command with time tag CP56Time2a.
    pub const C_TS_TA_1: TypeId = TypeId(107);
    /// 110: parameter of measured value, normalized value.
    pub const P_ME_NA_1: TypeId = TypeId(110);
    /// 111: parameter of measured value, scaled value.
    pub const P_ME_NB_1: TypeId = TypeId(111);
    /// 112: parameter of measured value, short floating point number.
    pub const P_ME_NC_1: TypeId = TypeId(112);
    /// 113: parameter activation.
    pub const P_AC_NA_1: TypeId = TypeId(113);
    /// 120: file ready.
    pub const F_FR_NA_1: TypeId = TypeId(120);
    /// 121: section ready.
    pub const F_SR_NA_1: TypeId = TypeId(121);
    /// 122: call directory, select file, call file, call section.
    pub const F_SC_NA_1: TypeId = TypeId(122);
    /// 123: last section, last segment.
    pub const F_LS_NA_1: TypeId = TypeId(123);
    /// 124: ack file, ack section.
    pub const F_AF_NA_1: TypeId = TypeId(124);
    /// 125: segment.
    pub const F_SG_NA_1: TypeId = TypeId(125);
    /// 126: directory.
    pub const F_DR_TA_1: TypeId = TypeId(126);
    /// 127: query log, request archive file.
    pub const F_SC_NB_1: TypeId = TypeId(127);

    /// What the standards say about the type; `None` for a type they do not
    /// define (22-29, 42-44, 52-57, 65-69, 71-80, 88, 89, 96-99, 108, 109,
    /// 114-119, 0 and 128-255).
    pub fn info(self) -> Option<TypeInfo> {
        use ElementSize::{Fixed, Segment, Variable};
        use Kind::*;
        // Element sizes: the information elements of IEC 60870-5-101 §7.2.6
        // (SIQ, DIQ, QDS 1; VTI+QDS 2; BSI 4; NVA, SVA 2; IEEE 754 float 4;
        // BCR 5; SCO, DCO, RCO, QOS, QOI, QCC, QRP, QPM, QPA, COI 1; CP24Time2a
        // 3, CP56Time2a 7, CP16Time2a 2) added up per type as §7.3 lists them.
        Some(match self.0 {
            1 => t("M_SP_NA_1", "single_point", Fixed(1), Monitor, true),
            2 => t("M_SP_TA_1", "single_point_with_short_time", Fixed(4), Monitor, false),
            3 => t("M_DP_NA_1", "double_point", Fixed(1), Monitor, true),
            4 => t("M_DP_TA_1", "double_point_with_short_time", Fixed(4), Monitor, false),
            5 => t("M_ST_NA_1", "step_position", Fixed(2), Monitor, true),
            6 => t("M_ST_TA_1", "step_position_with_short_time", Fixed(5), Monitor, false),
            7 => t("M_BO_NA_1", "bitstring", Fixed(5), Monitor, true),
            8 => t("M_BO_TA_1", "bitstring_with_short_time", Fixed(8), Monitor, false),
            9 => t("M_ME_NA_1", "measured_normalized", Fixed(3), Monitor, true),
            10 => t("M_ME_TA_1", "measured_normalized_with_short_time", Fixed(6), Monitor, false),
            11 => t("M_ME_NB_1", "measured_scaled", Fixed(3), Monitor, true),
            12 => t("M_ME_TB_1", "measured_scaled_with_short_time", Fixed(6), Monitor, false),
            13 => t("M_ME_NC_1", "measured_float", Fixed(5), Monitor, true),
            14 => t("M_ME_TC_1", "measured_float_with_short_time", Fixed(8), Monitor, false),
            15 => t("M_IT_NA_1", "integrated_totals", Fixed(5), Monitor, true),
            16 => t("M_IT_TA_1", "integrated_totals_with_short_time", Fixed(8), Monitor, false),
            // SEP + CP16Time2a (elapsed time) + CP24Time2a.
            17 => t("M_EP_TA_1", "protection_event_with_short_time", Fixed(6), Monitor, false),
            // SPE + QDP + CP16Time2a + CP24Time2a.
            18 => t("M_EP_TB_1", "protection_start_events_with_short_time", Fixed(7), Monitor, false),
            // OCI + QDP + CP16Time2a + CP24Time2a.
            19 => t("M_EP_TC_1", "protection_output_circuits_with_short_time", Fixed(7), Monitor, false),
            // SCD (4) + QDS.
            20 => t("M_PS_NA_1", "packed_single_points", Fixed(5), Monitor, true),
            21 => t("M_ME_ND_1", "measured_normalized_without_quality", Fixed(2), Monitor, true),
            30 => t("M_SP_TB_1", "single_point_with_time", Fixed(8), Monitor, true),
            31 => t("M_DP_TB_1", "double_point_with_time", Fixed(8), Monitor, true),
            32 => t("M_ST_TB_1", "step_position_with_time", Fixed(9), Monitor, true),
            33 => t("M_BO_TB_1", "bitstring_with_time", Fixed(12), Monitor, true),
            34 => t("M_ME_TD_1", "measured_normalized_with_time", Fixed(10), Monitor, true),
            35 => t("M_ME_TE_1", "measured_scaled_with_time", Fixed(10), Monitor, true),
            36 => t("M_ME_TF_1", "measured_float_with_time", Fixed(12), Monitor, true),
            37 => t("M_IT_TB_1", "integrated_totals_with_time", Fixed(12), Monitor, true),
            38 => t("M_EP_TD_1", "protection_event_with_time", Fixed(10), Monitor, true),
            39 => t("M_EP_TE_1", "protection_start_events_with_time", Fixed(11), Monitor, true),
            40 => t("M_EP_TF_1", "protection_output_circuits_with_time", Fixed(11), Monitor, true),
            // IEC 60870-5-7: association id (2), BCR (5), CP56Time2a.
            41 => t("S_IT_TC_1", "security_statistics_with_time", Fixed(14), Monitor, true),
            45 => t("C_SC_NA_1", "single_command", Fixed(1), Command, true),
            46 => t("C_DC_NA_1", "double_command", Fixed(1), Command, true),
            47 => t("C_RC_NA_1", "regulating_step_command", Fixed(1), Command, true),
            48 => t("C_SE_NA_1", "set_point_normalized", Fixed(3), Command, true),
            49 => t("C_SE_NB_1", "set_point_scaled", Fixed(3), Command, true),
            50 => t("C_SE_NC_1", "set_point_float", Fixed(5), Command, true),
            51 => t("C_BO_NA_1", "bitstring_command", Fixed(4), Command, true),
            58 => t("C_SC_TA_1", "single_command_with_time", Fixed(8), Command, true),
            59 => t("C_DC_TA_1", "double_command_with_time", Fixed(8), Command, true),
            60 => t("C_RC_TA_1", "regulating_step_command_with_time", Fixed(8), Command, true),
            61 => t("C_SE_TA_1", "set_point_normalized_with_time", Fixed(10), Command, true),
            62 => t("C_SE_TB_1", "set_point_scaled_with_time", Fixed(10), Command, true),
            63 => t("C_SE_TC_1", "set_point_float_with_time", Fixed(12), Command, true),
            64 => t("C_BO_TA_1", "bitstring_command_with_time", Fixed(11), Command, true),
            70 => t("M_EI_NA_1", "end_of_initialization", Fixed(1), Monitor, true),
            81 => t("S_CH_NA_1", "authentication_challenge", Variable, Security, true),
            82 => t("S_RP_NA_1", "authentication_reply", Variable, Security, true),
            83 => t("S_AR_NA_1", "aggressive_mode_request", Variable, Security, true),
            84 => t("S_KR_NA_1", "session_key_status_request", Variable, Security, true),
            85 => t("S_KS_NA_1", "session_key_status", Variable, Security, true),
            86 => t("S_KC_NA_1", "session_key_change", Variable, Security, true),
            87 => t("S_ER_NA_1", "authentication_error", Variable, Security, true),
            90 => t("S_US_NA_1", "user_status_change", Variable, Security, true),
            91 => t("S_UQ_NA_1", "update_key_change_request", Variable, Security, true),
            92 => t("S_UR_NA_1", "update_key_change_reply", Variable, Security, true),
            93 => t("S_UK_NA_1", "update_key_change_symmetric", Variable, Security, true),
            94 => t("S_UA_NA_1", "update_key_change_asymmetric", Variable, Security, true),
            95 => t("S_UC_NA_1", "update_key_change_confirmation", Variable, Security, true),
            100 => t("C_IC_NA_1", "interrogation", Fixed(1), Interrogation, true),
            101 => t("C_CI_NA_1", "counter_interrogation", Fixed(1), Interrogation, true),
            102 => t("C_RD_NA_1", "read", Fixed(0), Interrogation, true),
            103 => t("C_CS_NA_1", "clock_sync", Fixed(7), Clock, true),
            // Fixed test bit pattern (2).
            104 => t("C_TS_NA_1", "test_command", Fixed(2), Test, false),
            105 => t("C_RP_NA_1", "reset_process", Fixed(1), Reset, true),
            // CP16Time2a.
            106 => t("C_CD_NA_1", "delay_acquisition", Fixed(2), Clock, false),
            // Test sequence counter (2) + CP56Time2a.
            107 => t("C_TS_TA_1", "test_command_with_time", Fixed(9), Test, true),
            110 => t("P_ME_NA_1", "parameter_normalized", Fixed(3), Parameter, true),
            111 => t("P_ME_NB_1", "parameter_scaled", Fixed(3), Parameter, true),
            112 => t("P_ME_NC_1", "parameter_float", Fixed(5), Parameter, true),
            113 => t("P_AC_NA_1", "parameter_activation", Fixed(1), Parameter, true),
            // NOF (2) + LOF (3) + FRQ.
            120 => t("F_FR_NA_1", "file_ready", Fixed(6), File, true),
            // NOF + NOS (1) + LOF + SRQ.
            121 => t("F_SR_NA_1", "section_ready", Fixed(7), File, true),
            // NOF + NOS + SCQ.
            122 => t("F_SC_NA_1", "call_file", Fixed(4), File, true),
            // NOF + NOS + LSQ + CHS.
            123 => t("F_LS_NA_1", "last_section", Fixed(5), File, true),
            // NOF + NOS + AFQ.
            124 => t("F_AF_NA_1", "ack_file", Fixed(4), File, true),
            125 => t("F_SG_NA_1", "segment", Segment, File, true),
            // NOF + LOF + SOF + CP56Time2a.
            126 => t("F_DR_TA_1", "directory", Fixed(13), File, true),
            // Query log (IEC 60870-5-104:2006): NOF + CP56Time2a start + stop.
            127 => t("F_SC_NB_1", "query_log", Fixed(16), File, true),
            _ => return None,
        })
    }

    /// The standard abbreviation; `unknown_type_N` when no standard defines it.
    pub fn abbreviation(self) -> Cow<'static, str> {
        match self.info() {
            Some(i) => Cow::Borrowed(i.abbreviation),
            None => self.unknown_name(),
        }
    }

    /// The operation name: readable, or `unknown_type_N`.
    pub fn name(self) -> Cow<'static, str> {
        match self.info() {
            Some(i) => Cow::Borrowed(i.name),
            None => self.unknown_name(),
        }
    }

    /// The operation name of a message whose first element is `first`: the
    /// type's name, but for the file call F_SC_NA_1 what its SCQ asks
    /// (`select_file`, `request_file`, `delete_file`, ...).
    pub fn operation(self, first: Option<&[u8]>) -> Cow<'static, str> {
        if self == TypeId::F_SC_NA_1 {
            // SCQ (IEC 60870-5-101 §7.2.6.30), after NOF (2) and NOS (1).
            let named = match first.and_then(|e| e.get(3)).map(|q| q & 0x0f) {
                Some(1) => Some("select_file"),
                Some(2) => Some("request_file"),
                Some(3) => Some("deactivate_file"),
                Some(4) => Some("delete_file"),
                Some(5) => Some("select_section"),
                Some(6) => Some("request_section"),
                Some(7) => Some("deactivate_section"),
                _ => None,
            };
            if let Some(n) = named {
                return Cow::Borrowed(n);
            }
        }
        self.name()
    }

    fn unknown_name(self) -> Cow<'static, str> {
        let n = self.0;
        crate::intern::name("iec104_type", u64::from(n), || format!("unknown_type_{n}"))
    }

    /// True for the process commands (45-51, 58-64) whose information
    /// elements carry a command value and qualifier.
    pub fn is_command(self) -> bool {
        self.info().is_some_and(|i| i.kind == Kind::Command)
    }

    /// What a message of this type does, sent by `sender`; `first` is the
    /// first information element, which decides for the file call F_SC_NA_1.
    ///
    /// Monitored data, interrogations and reads are read; process commands
    /// write (they change outputs and set points); clock synchronization,
    /// delay acquisition and parameters of measured values are configuration;
    /// reset process restarts the station's application (control); test
    /// commands are diagnostic; security types are authentication. A file
    /// flows from the station that sends its ready, segment and last-section
    /// messages to the one that calls and acknowledges it: towards the
    /// controlling station it is a read (disturbance records, logs), towards
    /// the controlled station a write, and so is a call that deletes a file.
    pub fn class(self, sender: Station, first: Option<&[u8]>) -> OperationClass {
        let Some(info) = self.info() else { return OperationClass::Unknown };
        match info.kind {
            Kind::Monitor | Kind::Interrogation => OperationClass::Read,
            Kind::Command => OperationClass::Write,
            Kind::Clock | Kind::Parameter => OperationClass::Configuration,
            Kind::Test => OperationClass::Diagnostic,
            Kind::Reset => OperationClass::Control,
            Kind::Security => OperationClass::Authentication,
            Kind::File => {
                let sends_file = matches!(self.0, 120 | 121 | 123 | 125);
                let receives_file = matches!(self.0, 122 | 124);
                // SCQ (IEC 60870-5-101 §7.2.6.30), low four bits: 4 = delete file.
                let deletes = self == TypeId::F_SC_NA_1 && first.and_then(|e| e.get(3)).is_some_and(|q| q & 0x0f == 4);
                let writes = match sender {
                    Station::Controlling => sends_file || deletes,
                    Station::Controlled => receives_file,
                };
                if writes {
                    OperationClass::Write
                } else {
                    OperationClass::Read
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_every_standard_type_and_no_other() {
        let defined: Vec<u8> = (0..=255u8).filter(|&n| TypeId(n).info().is_some()).collect();
        let mut want: Vec<u8> = (1..=21).chain(30..=41).chain(45..=51).chain(58..=64).collect();
        want.push(70);
        want.extend((81..=87).chain(90..=95).chain(100..=107).chain(110..=113).chain(120..=127));
        assert_eq!(defined, want);
        // Every abbreviation is its own, and names are distinct.
        let mut names: Vec<&str> = defined.iter().map(|&n| TypeId(n).info().unwrap().name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), defined.len());
        assert_eq!(TypeId(22).name(), "unknown_type_22");
        assert_eq!(TypeId(200).abbreviation(), "unknown_type_200");
    }

    #[test]
    fn classifies_by_what_the_type_does_to_the_station() {
        use OperationClass::*;
        use Station::*;
        let class = |n: u8, s| TypeId(n).class(s, None);
        assert_eq!(class(1, Controlled), Read);
        assert_eq!(class(45, Controlling), Write);
        assert_eq!(class(63, Controlling), Write);
        assert_eq!(class(100, Controlling), Read);
        assert_eq!(class(103, Controlling), Configuration);
        assert_eq!(class(105, Controlling), Control);
        assert_eq!(class(107, Controlling), Diagnostic);
        assert_eq!(class(112, Controlling), Configuration);
        assert_eq!(class(81, Controlled), Authentication);
        assert_eq!(class(99, Controlling), Unknown);
        // A file sent to the controlled station is written; one it sends, read.
        assert_eq!(class(125, Controlling), Write);
        assert_eq!(class(125, Controlled), Read);
        assert_eq!(class(124, Controlling), Read);
        assert_eq!(class(124, Controlled), Write);
        // Select file (SCQ 1) reads; delete file (SCQ 4) writes.
        let call = |scq: u8| TypeId::F_SC_NA_1.class(Controlling, Some(&[0x01, 0x00, 0x00, scq]));
        assert_eq!((call(1), call(4)), (Read, Write));
        let name = |scq: u8| TypeId::F_SC_NA_1.operation(Some(&[0x01, 0x00, 0x00, scq]));
        assert_eq!((name(0), name(4)), ("call_file".into(), "delete_file".into()));
    }

    #[test]
    fn marks_the_types_iec_104_leaves_out() {
        let out: Vec<u8> = (0..=255u8).filter(|&n| TypeId(n).info().is_some_and(|i| !i.in_104)).collect();
        assert_eq!(out, vec![2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19, 104, 106]);
    }
}
