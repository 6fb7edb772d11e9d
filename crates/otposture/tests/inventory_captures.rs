//! The inventory on real captures (`../shared/pcaps`): for each capture, the
//! assets that carry identity or a role, with the vendor, model or order
//! number, firmware, serial and role expected.
//!
//! How the expectations were established (tshark 4.0.17 on the same files):
//! - CIP: `enip.lir.name`, `enip.lir.serial` (ListIdentity) and
//!   `cip.id.product_name`, `cip.id.serial_number` (Identity replies) from the
//!   sending address; the L61 in EIP-RebootorRestart and EIP-SoftwareUpload is
//!   reached on a connection whose Forward_Open path is port 1, slot 0.
//! - S7comm: the SZL 0x0011 module identification records and SZL 0x001C
//!   component records (order number, firmware `V` version, serial, module type).
//! - OPC UA: the ApplicationName of the GetEndpoints answer (`opcua.ApplicationName`).
//! - Names: `browser.server`, `browser.os_major`/`os_minor` and the workgroup
//!   of `nbdgm.destination_name` of browser announcements.
//! - CDP: `cdp.deviceid`, `cdp.platform` and the `Version` in
//!   `cdp.software_version` per sending MAC; `cdp.capabilities` 0x28 is switch
//!   and IGMP.
//! - GOOSE: `goose.gocbRef` per sending MAC; the part before `/` is the
//!   logical device (IED name and LD instance). The F650's MAC prefix 00:a0:f4
//!   is GE's.
//! - Roles: from what the capture shows each address doing (which side answers
//!   S7comm/Modbus/CIP/DNP3/IEC 104, who sends program transfers or restarts);
//!   the rule named is the one docs/inventory.md gives for that evidence.
//!
//! Modbus captures with Read Device Identification requests here carry no
//! identification objects in their answers (tshark shows none either), so their
//! assets have roles but no identity.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::loopback;

use serde_json::Value;
use std::collections::BTreeMap;

/// One expected asset: its address, role, the rule that decided it, and
/// identity fields (`""` when the capture shows none).
struct Want {
    ip: &'static str,
    role: &'static str,
    rule: &'static str,
    fields: &'static [(&'static str, &'static str)],
    /// (route, field, value) of a module reached through it.
    module: Option<(&'static str, &'static str, &'static str)>,
}

const fn want(
    ip: &'static str,
    role: &'static str,
    rule: &'static str,
    fields: &'static [(&'static str, &'static str)],
) -> Want {
    Want { ip, role, rule, fields, module: None }
}

const CE500: &[(&str, &str)] = &[("name", "Ns5gt"), ("model", "cisco WS-CE500-24TT"), ("firmware", "12.2(25)SEG4")];
const ENBT: &[(&str, &str)] = &[("vendor", "Rockwell Automation"), ("model", "1756-ENBT/A"), ("firmware", "4.3")];
const CPU_315: &[(&str, &str)] = &[
    ("vendor", "Siemens"),
    ("model", "CPU 315-2 PN/DP"),
    ("order_number", "6ES7 315-2EH14-0AB0"),
    ("firmware", "V3.2.7"),
    ("serial", "S C-B1U393142011"),
];
const IM151: &[(&str, &str)] = &[
    ("vendor", "Siemens"),
    ("model", "IM151-8 PN/DP CPU"),
    ("order_number", "6ES7 151-8AB01-0AB0"),
    ("firmware", "V3.2.6"),
    ("serial", "S C-C6TW74882012"),
];

fn cases() -> Vec<(&'static str, Vec<Want>)> {
    vec![
        // A scanner reads the identity of a Johnson Controls network engine
        // over BACnet/IP (ReadProperty of the device object).
        (
            "bacnet/bacnet_test.pcap",
            vec![want(
                "10.1.1.165",
                "controller",
                "serves_control_protocols",
                &[
                    ("vendor", "Johnson Controls"),
                    ("model", "MS-NAE4510-2"),
                    ("firmware", "5.1.0.4400"),
                    ("name", "KBRNAE"),
                ],
            )],
        ),
        // PROFINET DCP Identify responses: a SCALANCE X208 switch (an IO
        // device: no role from DCP alone) and an S7-300 station that states
        // it is an IO controller.
        (
            "profinet/ChangeIPUsingDCP.pcap",
            vec![want(
                "08:00:06:93:cf:32",
                "unknown",
                "no_rule_matched",
                &[("vendor", "Siemens"), ("name", "X208-BORD"), ("model", "INC"), ("product_code", "0x0a01")],
            )],
        ),
        (
            "profinet/profinet-wireshark-bug.pcap",
            vec![want(
                "00:02:e3:17:c7:50",
                "controller",
                "device_type_stated",
                &[("name", "%n%n%n"), ("model", "S7-300EC"), ("device_type", "PROFINET IO controller")],
            )],
        ),
        (
            "iec61850/GOOSE.pcap",
            vec![want("00:a0:f4:08:2f:77", "ied", "publishes_iec61850", &[("vendor", "GE"), ("name", "GEDeviceF650")])],
        ),
        (
            "iec61850/Sample_File_GOOSE.pcap",
            vec![
                want("0a:bb:fe:10:c9:02", "ied", "publishes_iec61850", &[("name", "AA1C1Q01A1LD0")]),
                want("0a:bb:fe:10:c9:06", "ied", "publishes_iec61850", &[("name", "AA1C1Q05A1LD0")]),
                want("0a:bb:fe:10:c9:08", "ied", "publishes_iec61850", &[("name", "AA1C1Q07A1LD0")]),
            ],
        ),
        (
            "enip_cip/enip_test.pcap",
            vec![
                want("10.1.1.164", "controller", "serves_control_protocols", ENBT),
                want("10.1.1.167", "hmi", "polls_few_controllers", &[]),
            ],
        ),
        (
            "enip_cip/EIP-ChangePortConfigurationAttempt.pcap",
            vec![want("192.168.10.121", "controller", "serves_control_protocols", ENBT)],
        ),
        (
            "enip_cip/EIP-FirmwareChange.pcap",
            vec![
                want("192.168.10.120", "controller", "serves_control_protocols", ENBT),
                want("192.168.10.105", "engineering_workstation", "sends_engineering_operations", &[]),
                // The Catalyst Express switch, seen on layer 2 only (CDP and STP).
                want("00:1e:f6:73:59:81", "network_device", "cdp_capability_stated", CE500),
            ],
        ),
        (
            "enip_cip/EIP-RebootorRestart.pcap",
            vec![
                Want {
                    module: Some(("1/0", "model", "1756-L61/B LOGIX5561")),
                    ..want("192.168.10.120", "controller", "controller_in_rack", &[])
                },
                want("192.168.10.105", "engineering_workstation", "sends_engineering_operations", &[]),
            ],
        ),
        (
            "enip_cip/EIP-SoftwareUpload.pcap",
            vec![Want {
                module: Some(("1/0", "model", "1756-L61/B LOGIX5561")),
                ..want("192.168.10.120", "controller", "controller_in_rack", &[])
            }],
        ),
        (
            "s7comm/s7comm_reading_plc_status.pcap",
            vec![
                // SZL 0x0D91 lists the modules of rack 0; slot 2 holds type 0x00c0.
                Want {
                    module: Some(("rack 0 slot 2", "device_type", "0x00c0")),
                    ..want("192.168.1.40", "controller", "s7_module_identification", IM151)
                },
                want("192.168.1.10", "hmi", "polls_few_controllers", &[]),
            ],
        ),
        (
            "s7comm/s7comm_downloading_block_db1.pcap",
            vec![
                want("192.168.1.40", "controller", "serves_control_protocols", &[]),
                want("192.168.1.10", "engineering_workstation", "sends_engineering_operations", &[]),
            ],
        ),
        (
            "s7comm/snap7_s300_everything.pcapng",
            vec![
                want("134.217.61.211", "controller", "s7_module_identification", CPU_315),
                want("134.217.61.131", "engineering_workstation", "sends_engineering_operations", &[]),
            ],
        ),
        (
            "s7comm/tia_s300_goOnline.pcapng",
            vec![want("134.217.61.211", "controller", "s7_module_identification", CPU_315)],
        ),
        (
            "s7comm/step7_s300_AuthPassword.pcapng",
            vec![want("134.249.61.163", "controller", "serves_control_protocols", &[])],
        ),
        (
            "modbus/modbus_test_data_part1.pcap",
            vec![
                want("10.0.0.3", "controller", "serves_control_protocols", &[]),
                want("10.0.0.57", "engineering_workstation", "sends_engineering_operations", &[]),
            ],
        ),
        (
            "modbus/modbus-eit.pcap",
            vec![
                want("192.168.88.100", "controller", "serves_control_protocols", &[]),
                want("192.168.2.42", "hmi", "polls_few_controllers", &[]),
            ],
        ),
        (
            "modbus/modbus_test_data_part2.pcap",
            vec![want("166.161.16.230", "controller", "serves_control_protocols", &[])],
        ),
        (
            "dnp3/cold_restart_and_response.pcap",
            vec![
                want("192.168.60.130", "rtu", "serves_dnp3_as_outstation", &[]),
                want("192.168.60.1", "engineering_workstation", "sends_engineering_operations", &[]),
            ],
        ),
        (
            "dnp3/DNP3-ReadRequest.pcap",
            vec![
                want("1.1.1.2", "rtu", "serves_dnp3_as_outstation", &[]),
                want("1.1.1.1", "hmi", "polls_few_controllers", &[]),
            ],
        ),
        (
            "iec104/JavaRMI_and_IEC_Misc.pcap",
            vec![
                want("10.209.13.145", "rtu", "serves_telecontrol_as_outstation", &[]),
                want("192.168.1.44", "hmi", "polls_few_controllers", &[]),
                want("192.168.1.113", "hmi", "polls_few_controllers", &[]),
            ],
        ),
        // Both ends share one address and MAC: one asset, the station's role;
        // its local master browser announcement names it (browser.server,
        // OS 5.1, destination ARBETSGRUPP<1e>).
        (
            "iec104/090813_diverse.pcap",
            vec![want(
                "10.0.0.10",
                "rtu",
                "serves_telecontrol_as_outstation",
                &[("host_name", "EVON"), ("domain", "ARBETSGRUPP"), ("os", "Windows 5.1")],
            )],
        ),
        (
            // OPC UA on port 12001: the server is recognised by the dissector,
            // not the port, and named by its GetEndpoints answer.
            "opcua/opc-ua-ap-method-wireshark-freeze.pcap",
            vec![want(
                "192.168.41.212",
                "opc_server",
                "serves_opc_ua",
                &[("name", "UA StackTest Server (AnsiC/2048)")],
            )],
        ),
    ]
}

/// The assets `otposture assets` lists after analysing `capture` into a fresh database.
fn assets_of(capture: &std::path::Path) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.db");
    loopback::analyze(&db, capture);
    loopback::json(&db, &["assets"])["assets"].as_array().unwrap().clone()
}

/// The assets holding an address: an IP, or a MAC for devices seen on layer 2 only.
fn holding<'a>(assets: &'a [Value], addr: &str) -> Vec<&'a Value> {
    let has = |a: &Value, key: &str| a[key].as_array().unwrap().iter().any(|i| i == addr);
    assets.iter().filter(|a| has(a, "ips") || has(a, "macs")).collect()
}

#[test]
fn names_identities_and_roles_of_the_devices_in_real_captures() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (capture, wants) in cases() {
        let assets = assets_of(&pcaps.join(capture));
        for w in wants {
            checked += 1;
            let with_ip = holding(&assets, w.ip);
            let [a] = with_ip.as_slice() else {
                failures.push(format!("{capture}: {} is on {} assets", w.ip, with_ip.len()));
                continue;
            };
            let role = (a["role"]["role"].as_str().unwrap(), a["role"]["rule"].as_str().unwrap());
            if role != (w.role, w.rule) {
                failures.push(format!("{capture} {}: role {role:?}, want {:?}", w.ip, (w.role, w.rule)));
            }
            for (field, value) in w.fields {
                let got =
                    a["attributes"].as_array().unwrap().iter().find(|x| x["field"] == *field).map(|x| &x["value"]);
                if got.and_then(Value::as_str) != Some(value) {
                    failures.push(format!("{capture} {}: {field} {got:?}, want {value:?}", w.ip));
                }
            }
            if let Some((route, field, value)) = w.module {
                let m = a["modules"].as_array().unwrap().iter().find(|m| m["route"] == route);
                if m.map(|m| &m["attributes"][field]).and_then(Value::as_str) != Some(value) {
                    failures.push(format!("{capture} {}: module at {route}: {m:?}, want {field} {value}", w.ip));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} expected assets differ:\n{}", failures.len(), failures.join("\n"));
    eprintln!("inventory: {checked} expected assets over {} captures agree", cases().len());
}

/// Labelled devices: what each one is, and why we know, independent of the
/// rules. HMI and SCADA server are one class here (the captures do not tell an
/// operator station from a SCADA server); devices whose role the capture does
/// not show (a client that only sends ListIdentity) are not labelled.
const LABELS: &[(&str, &str, &str, &str)] = &[
    (
        "bacnet/bacnet_test.pcap",
        "10.1.1.165",
        "controller",
        "answers BACnet ReadProperty as a Johnson Controls MS-NAE4510-2 network engine (a building controller)",
    ),
    (
        "profinet/profinet-wireshark-bug.pcap",
        "00:02:e3:17:c7:50",
        "controller",
        "DCP Identify response: type of station S7-300EC, DeviceRole IO controller",
    ),
    ("iec61850/GOOSE.pcap", "00:a0:f4:08:2f:77", "ied", "GOOSE from GEDeviceF650: a GE Multilin F650 bay controller"),
    ("iec61850/Sample_File_GOOSE.pcap", "0a:bb:fe:10:c9:02", "ied", "GOOSE interlocking from bay IED AA1C1Q01A1"),
    ("iec61850/Sample_File_GOOSE.pcap", "0a:bb:fe:10:c9:06", "ied", "GOOSE interlocking from bay IED AA1C1Q05A1"),
    ("iec61850/Sample_File_GOOSE.pcap", "0a:bb:fe:10:c9:08", "ied", "GOOSE interlocking from bay IED AA1C1Q07A1"),
    ("enip_cip/enip_test.pcap", "10.1.1.164", "controller", "1756-ENBT/A: the Ethernet adapter of a ControlLogix rack"),
    ("enip_cip/EIP-ChangePortConfigurationAttempt.pcap", "192.168.10.121", "controller", "1756-ENBT/A adapter"),
    (
        "enip_cip/EIP-ChangePortConfigurationAttempt.pcap",
        "192.168.10.105",
        "engineering_workstation",
        "sets the adapter's port configuration",
    ),
    ("enip_cip/EIP-FirmwareChange.pcap", "192.168.10.120", "controller", "ControlLogix rack (ENBT, L61)"),
    ("enip_cip/EIP-FirmwareChange.pcap", "192.168.10.105", "engineering_workstation", "changes the firmware"),
    ("enip_cip/EIP-RebootorRestart.pcap", "192.168.10.120", "controller", "1756-L61 behind the adapter"),
    ("enip_cip/EIP-RebootorRestart.pcap", "192.168.10.105", "engineering_workstation", "reboots the controller"),
    ("enip_cip/EIP-SoftwareUpload.pcap", "192.168.10.120", "controller", "1756-L61 behind the adapter"),
    (
        "enip_cip/EIP-SoftwareUpload.pcap",
        "192.168.10.105",
        "engineering_workstation",
        "uploads the controller's program",
    ),
    ("s7comm/s7comm_reading_plc_status.pcap", "192.168.1.40", "controller", "IM151-8 PN/DP CPU (ET 200S CPU)"),
    ("s7comm/s7comm_downloading_block_db1.pcap", "192.168.1.40", "controller", "IM151-8 PN/DP CPU"),
    ("s7comm/s7comm_downloading_block_db1.pcap", "192.168.1.10", "engineering_workstation", "downloads block DB1"),
    ("s7comm/snap7_s300_everything.pcapng", "134.217.61.211", "controller", "CPU 315-2 PN/DP"),
    (
        "s7comm/snap7_s300_everything.pcapng",
        "134.217.61.131",
        "engineering_workstation",
        "snap7 client: uploads, downloads, stops the CPU",
    ),
    ("s7comm/tia_s300_goOnline.pcapng", "134.217.61.211", "controller", "CPU 315-2 PN/DP"),
    (
        "s7comm/tia_s300_goOnline.pcapng",
        "134.217.61.131",
        "engineering_workstation",
        "TIA Portal going online (file name; no engineering operation in the capture)",
    ),
    ("s7comm/step7_s300_AuthPassword.pcapng", "134.249.61.163", "controller", "S7-300 CPU"),
    (
        "s7comm/step7_s300_AuthPassword.pcapng",
        "134.249.62.230",
        "engineering_workstation",
        "STEP 7 entering the protection password (file name)",
    ),
    ("s7comm/wincc_s300_setup-alarm-read-write.pcapng", "134.249.61.182", "controller", "S7-300 CPU"),
    (
        "s7comm/wincc_s300_setup-alarm-read-write.pcapng",
        "134.249.53.130",
        "hmi",
        "WinCC reading and writing tags, setting up alarms",
    ),
    (
        "modbus/modbus_test_data_part1.pcap",
        "10.0.0.3",
        "controller",
        "Modbus server (port 502); reports server id Wingpath Limited",
    ),
    ("modbus/modbus-eit.pcap", "192.168.88.100", "controller", "Modbus server; MAC of Host Engineering (Koyo PLCs)"),
    ("modbus/modbus-eit.pcap", "192.168.2.42", "hmi", "polls the PLC for device identification and registers"),
    ("dnp3/cold_restart_and_response.pcap", "192.168.60.130", "rtu", "DNP3 outstation"),
    ("dnp3/DNP3-ReadRequest.pcap", "1.1.1.2", "rtu", "DNP3 outstation"),
    ("dnp3/DNP3-ReadRequest.pcap", "1.1.1.1", "hmi", "DNP3 master polling class data"),
    ("dnp3/directoperate_and_response.pcap", "192.168.60.130", "rtu", "DNP3 outstation"),
    (
        "iec104/JavaRMI_and_IEC_Misc.pcap",
        "10.209.13.145",
        "rtu",
        "IEC 104 controlled station: answers on 2404, ends its initialization, reports points when interrogated",
    ),
    ("iec104/JavaRMI_and_IEC_Misc.pcap", "192.168.1.44", "hmi", "IEC 104 controlling station: interrogates the RTU"),
    ("iec104/JavaRMI_and_IEC_Misc.pcap", "192.168.1.113", "hmi", "IEC 104 controlling station: interrogates the RTU"),
];

/// HMI and SCADA server as one class.
fn coarse(role: &str) -> &str {
    match role {
        "scada_server" => "hmi",
        other => other,
    }
}

/// Precision and recall of the role rules on [`LABELS`], per role; fails below
/// 85% of labelled devices right, and prints every miss.
#[test]
fn role_rules_measured_on_labelled_devices() {
    let Some(pcaps) = otposture_fixtures::shared_pcaps() else { return };
    let mut by_capture: BTreeMap<&str, Vec<(&str, &str, &str)>> = BTreeMap::new();
    for (capture, ip, role, why) in LABELS {
        by_capture.entry(capture).or_default().push((ip, role, why));
    }
    // (truth, decided) per device.
    let mut pairs: Vec<(String, String, String)> = Vec::new();
    for (capture, labels) in by_capture {
        let assets = assets_of(&pcaps.join(capture));
        for (ip, role, why) in labels {
            let got = holding(&assets, ip).first().map_or("absent", |a| a["role"]["role"].as_str().unwrap());
            pairs.push((coarse(role).to_string(), coarse(got).to_string(), format!("{capture} {ip} ({why})")));
        }
    }
    let roles: std::collections::BTreeSet<&str> = pairs.iter().flat_map(|(t, g, _)| [t.as_str(), g.as_str()]).collect();
    for role in roles {
        let tp = pairs.iter().filter(|(t, g, _)| t == role && g == role).count();
        let decided = pairs.iter().filter(|(_, g, _)| g == role).count();
        let actual = pairs.iter().filter(|(t, _, _)| t == role).count();
        let pct =
            |a: usize, b: usize| if b == 0 { "-".to_string() } else { format!("{:.0}%", 100.0 * a as f64 / b as f64) };
        eprintln!(
            "role {role}: precision {} ({tp}/{decided}), recall {} ({tp}/{actual})",
            pct(tp, decided),
            pct(tp, actual)
        );
    }
    let misses: Vec<String> =
        pairs.iter().filter(|(t, g, _)| t != g).map(|(t, g, d)| format!("{d}: labelled {t}, decided {g}")).collect();
    for m in &misses {
        eprintln!("miss: {m}");
    }
    let right = pairs.len() - misses.len();
    eprintln!("roles: {right} of {} labelled devices right", pairs.len());
    assert!(right * 100 >= pairs.len() * 85, "{right} of {} right:\n{}", pairs.len(), misses.join("\n"));
}
