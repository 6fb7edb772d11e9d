//! Every integration test of the `otposture` command and its packet path, in
//! one test binary. Each file here was its own binary, and 48 binaries that
//! each link the whole program (80-190 MB apiece with debug info) filled a CI
//! machine's disk and took most of a clean test build's link time. Run one
//! file's tests with a filter: `cargo test -p otposture --test integration modbus_tshark::`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
// Shared helpers: what a real-peer test does around its peer, and the tshark
// cross-check machinery.
mod http_cross;
mod loopback;
mod opcua_cross;
mod support;
mod telnet_cross;

mod ads_peer;
mod ads_tshark;
mod bacnet_peer;
mod bacnet_tshark;
mod c37118_peer;
mod c37118_tshark;
mod cdp_peer;
mod cdp_tshark;
mod cip_peer;
mod cip_tshark;
mod cli;
mod cmdb;
mod dhcp_peer;
mod dnp3_peer;
mod dnp3_tshark;
mod dns_peer;
mod drift;
mod ftp_peer;
mod goose_peer;
mod goose_tshark;
mod http_peer;
mod http_tshark;
mod iec104_peer;
mod iec104_tshark;
mod intel;
mod inventory_captures;
mod lldp_peer;
mod lldp_tshark;
mod mms_peer;
mod mms_tshark;
mod modbus_peer;
mod modbus_tshark;
mod names_tshark;
mod netbios_peer;
mod networks;
mod opcua_peer;
mod opcua_tshark;
mod posture;
mod posture_captures;
mod profinet_peer;
mod profinet_tshark;
mod rdp_peer;
mod rdp_tshark;
mod remote_span;
mod rfb_peer;
mod rfb_tshark;
mod s7_peer;
mod s7comm_tshark;
mod scan_peer;
mod smb_peer;
mod smb_tshark;
mod snmp_peer;
mod ssh_peer;
mod ssh_tshark;
mod telnet_peer;
mod telnet_tshark;
mod tls_peer;
mod tls_tshark;
mod tshark_conv;
mod vulns_peer;
