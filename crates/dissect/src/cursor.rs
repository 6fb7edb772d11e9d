//! A bounds-checked reader over a borrowed byte slice.
//!
//! Every read either returns the bytes and moves past them, or returns `None`
//! and leaves the cursor where it was: a dissector never indexes packet bytes
//! itself and never reads past its input. Multi-byte reads are big-endian
//! (network order) unless named `le_` (RDP and SMB are little-endian).

/// Reads forward through `&[u8]` without copying.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Cursor { rest: data }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The next `n` bytes, borrowed.
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n)?;
        self.rest = tail;
        Some(head)
    }

    /// The next `N` bytes, copied into an array (for small fixed fields).
    pub(crate) fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.rest.split_first_chunk::<N>()?;
        self.rest = tail;
        Some(*head)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.rest.split_first()?;
        self.rest = tail;
        Some(b)
    }

    /// The next two bytes as a big-endian `u16`.
    pub(crate) fn be_u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    /// The next four bytes as a big-endian `u32`.
    pub(crate) fn be_u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    /// The next two bytes as a little-endian `u16`.
    pub(crate) fn le_u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    /// The next four bytes as a little-endian `u32`.
    pub(crate) fn le_u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    /// The next eight bytes as a little-endian `u64`.
    pub(crate) fn le_u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    /// Skips `n` bytes; `None` (and no move) when fewer remain.
    pub(crate) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    /// Everything not yet read, consuming the cursor.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_fields_in_order() {
        let mut c = Cursor::new(&[
            0x01, // u8
            0x02, 0x03, // u16 0x0203
            0x04, 0x05, 0x06, 0x07, // u32 0x04050607
            0x08, 0x09, // rest
        ]);
        assert_eq!(c.u8(), Some(1));
        assert_eq!(c.be_u16(), Some(0x0203));
        assert_eq!(c.be_u32(), Some(0x0405_0607));
        assert_eq!(c.remaining(), 2);
        assert_eq!(c.rest(), &[8, 9]);
    }

    #[test]
    fn reads_little_endian_fields_in_order() {
        let mut c = Cursor::new(&[
            0x03, 0x02, // u16 0x0203
            0x07, 0x06, 0x05, 0x04, // u32 0x04050607
            8, 7, 6, 5, 4, 3, 2, 1, // u64 0x0102030405060708
        ]);
        assert_eq!(c.le_u16(), Some(0x0203));
        assert_eq!(c.le_u32(), Some(0x0405_0607));
        assert_eq!(c.le_u64(), Some(0x0102_0304_0506_0708));
        assert_eq!(c.skip(1), None);
    }

    #[test]
    fn refuses_reads_past_the_end_without_moving() {
        let mut c = Cursor::new(&[0xaa, 0xbb, 0xcc]);
        assert_eq!(c.be_u32(), None);
        assert_eq!(c.take(4), None);
        assert_eq!(c.array::<4>(), None);
        assert_eq!(c.remaining(), 3);
        assert_eq!(c.take(3), Some(&[0xaa, 0xbb, 0xcc][..]));
        assert_eq!(c.u8(), None);
        assert_eq!(c.be_u16(), None);
    }
}
