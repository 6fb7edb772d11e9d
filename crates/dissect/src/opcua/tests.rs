//! Session tests: byte-exact messages through the whole dissector.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
