//! Arbitrary bytes as the two directions of an OPC UA binary stream (UA TCP,
//! secure conversation, UA binary service messages), cut into arbitrary chunks
//! with occasional gaps, fed to one session, each chunk to the probe and to
//! the UA binary decoder directly: none may ever panic, whatever the framing,
//! the chunk reassembly, the security state or the service bodies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use otposture_dissect::opcua::encoding::Decoder;
use otposture_dissect::opcua::Opcua;
use otposture_dissect::StreamDissector;
use otposture_fuzz::drive_stream;

fuzz_target!(|data: &[u8]| {
    drive_stream(&mut *Opcua.new_session(), data, |direction, chunk| {
        let _ = Opcua.probe(direction, chunk);
        let _ = Opcua.sent_by_client(chunk);
        let mut d = Decoder::new(chunk);
        let _ = d.data_value();
        let _ = d.variant();
        let _ = d.expanded_node_id();
        let _ = d.skip_diagnostic_info();
    });
});
