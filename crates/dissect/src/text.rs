//! Numbers in attribute values, written without `core::fmt`: a kept
//! operation carries half a dozen of them (unit, address, service, class,
//! connection id...), the benchmark capture keeps 238,000 operations, and
//! `to_string`/`format!` went through the formatting machinery for each
//! (`pad_integral` alone was 1.5% of the engine's instructions). Both are
//! written into an inline [`AttrValue`], no heap allocation.

use otposture_model::AttrValue;

/// `n` in decimal, as `n.to_string()` writes it.
pub(crate) fn dec(n: impl itoa::Integer) -> AttrValue {
    AttrValue::from(itoa::Buffer::new().format(n))
}

/// `n` in lower-case hex with `0x` and at least `digits` digits, as
/// `format!("{n:#0w$x}")` writes it with `w = digits + 2`. Hand-written: no
/// crate formats this one shape, and it is a few lines. The digits are
/// written into a buffer on the stack and copied once: pushing them one at a
/// time into the value cost 300 instructions a number.
pub(crate) fn hex(n: u64, digits: usize) -> AttrValue {
    // A byte at the usual width (a service, class, status or function code:
    // most numbers a kept operation carries) is read from a table.
    if digits <= 2 {
        if let Some(text) = usize::try_from(n).ok().and_then(|i| HEX_BYTE.get(i)) {
            return fixed(text);
        }
    }
    // `0x` and the widest number written (a u64 padded to 32 digits).
    const MAX: usize = 2 + 32;
    let needed = ((64 - n.leading_zeros() as usize).div_ceil(4)).max(1);
    let width = needed.max(digits).min(MAX - 2);
    let mut buf = [b'0'; MAX];
    let Some(out) = buf.get_mut(..width + 2) else { return AttrValue::default() };
    if let Some(x) = out.get_mut(1) {
        *x = b'x';
    }
    for (i, slot) in out.iter_mut().skip(2).rev().enumerate().take(16) {
        *slot = HEX.get(((n >> (i * 4)) & 0xf) as usize).copied().unwrap_or(b'0');
    }
    std::str::from_utf8(out).map_or_else(|_| AttrValue::default(), AttrValue::from)
}

/// Hex digits, for [`hex`] and its table.
const HEX: &[u8; 16] = b"0123456789abcdef";

/// `0x00` to `0xff`, as [`hex`] writes a byte at two digits.
static HEX_BYTE: [&str; 256] = hex_byte_texts(&HEX_BYTE_DIGITS);
static HEX_BYTE_DIGITS: [[u8; 4]; 256] = hex_byte_digits();

// Compile-time tables: an index out of range or a text that is not UTF-8
// fails the build, not a run.
#[allow(clippy::indexing_slicing, clippy::panic)]
const fn hex_byte_digits() -> [[u8; 4]; 256] {
    let mut out = [[0u8; 4]; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = [b'0', b'x', HEX[i >> 4], HEX[i & 0xf]];
        i += 1;
    }
    out
}

#[allow(clippy::indexing_slicing, clippy::panic)]
const fn hex_byte_texts(digits: &'static [[u8; 4]; 256]) -> [&'static str; 256] {
    let mut out = [""; 256];
    let mut i = 0;
    while i < 256 {
        out[i] = match std::str::from_utf8(&digits[i]) {
            Ok(text) => text,
            Err(_) => panic!("hex digits are ASCII"),
        };
        i += 1;
    }
    out
}

/// A fixed text as an attribute value, without a copy. `to_compact_string`
/// on a `&str` goes through `core::fmt` (compact_str specialises owned
/// strings and numbers only): 170 instructions a value, on every kept
/// operation.
pub(crate) const fn fixed(text: &'static str) -> AttrValue {
    AttrValue::const_new(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dec_is_what_to_string_writes(n: u64, m: i32, b: u8) {
            prop_assert_eq!(dec(n), n.to_string());
            prop_assert_eq!(dec(m), m.to_string());
            prop_assert_eq!(dec(b), b.to_string());
        }

        #[test]
        fn hex_is_what_format_writes(n: u64, digits in 0usize..33) {
            prop_assert_eq!(hex(n, digits), format!("{n:#0w$x}", w = digits + 2));
        }
    }

    #[test]
    fn hex_of_the_widths_attributes_use() {
        assert_eq!(hex(0, 2), format!("{:#04x}", 0));
        assert_eq!(hex(0x4c, 2), "0x4c");
        assert_eq!(hex(0x1234, 2), "0x1234");
        assert_eq!(hex(0x1f, 4), "0x001f");
        assert_eq!(hex(0xdead_beef, 8), format!("{:#010x}", 0xdead_beef_u32));
    }
}
