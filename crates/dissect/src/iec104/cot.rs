//! Cause of transmission (IEC 60870-5-101:2003 §7.2.3; security causes 14-16
//! from IEC 60870-5-7): why an ASDU was sent, and whether the station
//! accepted (P/N) or the message is a test (T).
//!
//! With the sizes IEC 60870-5-104 §9 fixes, the cause field is two octets:
//! the cause with the T and P/N bits, then the originator address. The cause
//! is an open code: values the standards leave free (17-19, 42, 43) or
//! private (48-63) are reported as `cause_N` and flagged.

use std::borrow::Cow;

/// A cause of transmission (6 bits); open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cause(pub u8);

impl Cause {
    /// 1: periodic, cyclic.
    pub const PERIODIC: Cause = Cause(1);
    /// 2: background scan.
    pub const BACKGROUND: Cause = Cause(2);
    /// 3: spontaneous.
    pub const SPONTANEOUS: Cause = Cause(3);
    /// 4: initialized.
    pub const INITIALIZED: Cause = Cause(4);
    /// 5: request or requested.
    pub const REQUEST: Cause = Cause(5);
    /// 6: activation.
    pub const ACTIVATION: Cause = Cause(6);
    /// 7: activation confirmation.
    pub const ACTIVATION_CON: Cause = Cause(7);
    /// 8: deactivation.
    pub const DEACTIVATION: Cause = Cause(8);
    /// 9: deactivation confirmation.
    pub const DEACTIVATION_CON: Cause = Cause(9);
    /// 10: activation termination.
    pub const ACTIVATION_TERM: Cause = Cause(10);
    /// 11: return information caused by a remote command.
    pub const RETURN_REMOTE: Cause = Cause(11);
    /// 12: return information caused by a local command.
    pub const RETURN_LOCAL: Cause = Cause(12);
    /// 13: file transfer.
    pub const FILE: Cause = Cause(13);
    /// 20: interrogated by station interrogation.
    pub const INTERROGATED: Cause = Cause(20);
    /// 37: requested by general counter request.
    pub const COUNTER_INTERROGATED: Cause = Cause(37);
    /// 44: unknown type identification.
    pub const UNKNOWN_TYPE: Cause = Cause(44);
    /// 45: unknown cause of transmission.
    pub const UNKNOWN_CAUSE: Cause = Cause(45);
    /// 46: unknown common address of ASDU.
    pub const UNKNOWN_COMMON_ADDRESS: Cause = Cause(46);
    /// 47: unknown information object address.
    pub const UNKNOWN_OBJECT_ADDRESS: Cause = Cause(47);

    /// The abbreviation, lower case (`act`, `actcon`, `inrogen`, `inro3`);
    /// `cause_N` for values no standard assigns.
    pub fn name(self) -> Cow<'static, str> {
        Cow::Borrowed(match self.0 {
            1 => "per_cyc",
            2 => "back",
            3 => "spont",
            4 => "init",
            5 => "req",
            6 => "act",
            7 => "actcon",
            8 => "deact",
            9 => "deactcon",
            10 => "actterm",
            11 => "retrem",
            12 => "retloc",
            13 => "file",
            14 => "auth",
            15 => "seskey",
            16 => "usrkey",
            20 => "inrogen",
            21 => "inro1",
            22 => "inro2",
            23 => "inro3",
            24 => "inro4",
            25 => "inro5",
            26 => "inro6",
            27 => "inro7",
            28 => "inro8",
            29 => "inro9",
            30 => "inro10",
            31 => "inro11",
            32 => "inro12",
            33 => "inro13",
            34 => "inro14",
            35 => "inro15",
            36 => "inro16",
            37 => "reqcogen",
            38 => "reqco1",
            39 => "reqco2",
            40 => "reqco3",
            41 => "reqco4",
            44 => "unknown_type",
            45 => "unknown_cause",
            46 => "unknown_common_address",
            47 => "unknown_object_address",
            n => return crate::intern::name("iec104_cause", u64::from(n), || format!("cause_{n}")),
        })
    }

    /// True for the values IEC 60870-5-101 §7.2.3 (and -5-7 for 14-16) assigns.
    pub fn is_defined(self) -> bool {
        matches!(self.0, 1..=16 | 20..=41 | 44..=47)
    }

    /// The four causes a station answers with when it cannot act on an ASDU
    /// (44-47): an error worth keeping.
    pub fn is_error(self) -> bool {
        matches!(self.0, 44..=47)
    }

    /// Activation and deactivation: the controlling station asks for something.
    pub fn is_request(self) -> bool {
        matches!(self, Cause::ACTIVATION | Cause::DEACTIVATION)
    }

    /// Confirmations and termination: the controlled station answers.
    pub fn is_answer(self) -> bool {
        matches!(self, Cause::ACTIVATION_CON | Cause::DEACTIVATION_CON | Cause::ACTIVATION_TERM)
    }
}

/// The cause field's first octet in full: cause, P/N and T bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cot {
    /// Why the ASDU was sent.
    pub cause: Cause,
    /// P/N: set in a negative confirmation (the station refuses).
    pub negative: bool,
    /// T: the ASDU was generated under test conditions.
    pub test: bool,
}

impl Cot {
    /// Splits the octet: bit 8 T, bit 7 P/N, bits 1-6 the cause (§7.2.3).
    pub fn from_octet(b: u8) -> Self {
        Cot { cause: Cause(b & 0x3f), negative: b & 0x40 != 0, test: b & 0x80 != 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_cause_octet() {
        // 0x47: P/N set, cause 7 (actcon): a negative confirmation.
        assert_eq!(Cot::from_octet(0x47), Cot { cause: Cause::ACTIVATION_CON, negative: true, test: false });
        // 0x86: T set, cause 6 (act).
        assert_eq!(Cot::from_octet(0x86), Cot { cause: Cause::ACTIVATION, negative: false, test: true });
    }

    #[test]
    fn names_defined_causes_and_numbers_the_rest() {
        assert_eq!(Cause(20).name(), "inrogen");
        assert_eq!(Cause(36).name(), "inro16");
        assert_eq!(Cause(47).name(), "unknown_object_address");
        assert_eq!(Cause(18).name(), "cause_18");
        assert_eq!(Cause(0).name(), "cause_0");
        let defined = (0..64u8).filter(|&n| Cause(n).is_defined()).count();
        assert_eq!(defined, 16 + 22 + 4);
        assert!((0..64u8).filter(|&n| Cause(n).is_defined()).all(|n| !Cause(n).name().starts_with("cause_")));
    }
}
