//! What each protocol's identity event says about the device that sent it, as
//! inventory fields.

use serde::Serialize;

/// An identity field of an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Manufacturer, normalised ([`crate::vendor::normalise`]); the raw text is kept.
    Vendor,
    /// Product or model name.
    Model,
    /// Vendor order number (Siemens MLFB, ...).
    OrderNumber,
    /// Vendor product code (CIP, Modbus).
    ProductCode,
    /// Device type or profile (CIP device type).
    DeviceType,
    /// Firmware or software version.
    Firmware,
    /// Hardware version.
    Hardware,
    /// Serial number.
    Serial,
    /// The name configured on the device (S7 PLC name, DNP3 device name).
    Name,
    /// Module name (S7 SZL).
    Module,
    /// Location configured on the device.
    Location,
    /// Application running on the device (Modbus user application name).
    Application,
    /// Host name the device gave (DHCP).
    HostName,
    /// How the device describes itself (LLDP system description): often vendor,
    /// product, order number and firmware in one line.
    Description,
    /// The workgroup or Windows domain the host belongs to (NetBIOS names and
    /// browser announcements).
    Domain,
    /// Operating system and version the host announces (browser announcements).
    Os,
    /// What the host says it serves on the network (NetBIOS name suffixes,
    /// browser server types): `file_server`, `domain_controller`,
    /// `master_browser`, `sql_server`...
    Services,
}

impl Field {
    /// The field's name in output.
    pub fn name(self) -> &'static str {
        match self {
            Field::Vendor => "vendor",
            Field::Model => "model",
            Field::OrderNumber => "order_number",
            Field::ProductCode => "product_code",
            Field::DeviceType => "device_type",
            Field::Firmware => "firmware",
            Field::Hardware => "hardware",
            Field::Serial => "serial",
            Field::Name => "name",
            Field::Module => "module",
            Field::Location => "location",
            Field::Application => "application",
            Field::HostName => "host_name",
            Field::Description => "description",
            Field::Domain => "domain",
            Field::Os => "os",
            Field::Services => "services",
        }
    }
}

/// How far a value can be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Inferred indirectly (a MAC prefix names the network card's maker).
    Low,
    /// Implied by the protocol (S7comm is Siemens only) or by behaviour.
    Medium,
    /// Stated by the device itself in an identity reply.
    High,
}

/// The CIP Identity object's attributes, as ListIdentity and Identity replies give them.
const CIP_IDENTITY: &[(&str, Field)] = &[
    ("vendor", Field::Vendor),
    ("product_name", Field::Model),
    ("product_code", Field::ProductCode),
    ("device_type", Field::DeviceType),
    ("revision", Field::Firmware),
    ("serial", Field::Serial),
];

/// Event attribute -> field, per identity event name. Attributes not listed
/// (status words, socket addresses, ids) stay in the event, not the asset.
const MAPPINGS: &[(&str, &[(&str, Field)])] = &[
    ("enip.list_identity", CIP_IDENTITY),
    ("cip.identity", CIP_IDENTITY),
    (
        "modbus.device_identification",
        &[
            ("vendor", Field::Vendor),
            ("product_code", Field::ProductCode),
            ("revision", Field::Firmware),
            ("product_name", Field::Model),
            ("model", Field::Model),
            ("user_application_name", Field::Application),
        ],
    ),
    // Report Server ID: the additional data after the run indicator, where it
    // is text (often the vendor or product; its content is device specific).
    ("modbus.server_id", &[("additional_data", Field::Description)]),
    (
        "dnp3.device_attributes",
        &[
            ("manufacturer", Field::Vendor),
            ("model", Field::Model),
            ("software_version", Field::Firmware),
            ("hardware_version", Field::Hardware),
            ("serial", Field::Serial),
            ("device_name", Field::Name),
            ("location", Field::Location),
        ],
    ),
    (
        "s7comm.szl_identity",
        &[
            ("order_number", Field::OrderNumber),
            ("firmware_version", Field::Firmware),
            ("hardware_version", Field::Hardware),
            ("serial", Field::Serial),
            ("plc_name", Field::Name),
            ("module_name", Field::Module),
            ("module_type", Field::Model),
        ],
    ),
    // A module status record names a rack position (its `route`) and the type
    // code plugged there; the inventory files it as a module of the CPU.
    ("s7comm.module_status", &[("type_code", Field::DeviceType)]),
    // ADS: a Read Device Info answer names the ADS device on the AMS port
    // that answered (`TwinCAT System` on 10000, `PLC Server` or `Plc30 App`
    // on a PLC runtime's, `I/O Server` on 300) and its version. Only the
    // system service's is the controller's: TwinCAT's own build, which the
    // advisories name; the others are components' and stay in the event.
    // The router's discovery answer names the controller's host, its
    // operating system and TwinCAT version.
    ("ads.device_info", &[("twincat_version", Field::Firmware)]),
    ("ads.router", &[("host_name", Field::HostName), ("os", Field::Os), ("twincat_version", Field::Firmware)]),
    // IEEE C37.118: the station name of a stream's one PMU (a PDC's combined
    // stream names the PMUs behind it, and gives no `name`), and the text of
    // a header frame.
    ("c37118.pmu", &[("name", Field::Name)]),
    ("c37118.header", &[("description", Field::Description)]),
    // BACnet: the device object's properties, and the vendor identifier's
    // registered name (an I-Am states only that).
    (
        "bacnet.device",
        &[
            ("vendor_name", Field::Vendor),
            ("vendor", Field::Vendor),
            ("model_name", Field::Model),
            ("firmware_revision", Field::Firmware),
            ("application_software_version", Field::Application),
            ("serial_number", Field::Serial),
            ("object_name", Field::Name),
            ("location", Field::Location),
        ],
    ),
    ("bacnet.i_am", &[("vendor", Field::Vendor)]),
    // LLDP: the name and description a switch, router or device announces.
    ("lldp.neighbor", &[("system_name", Field::Name), ("system_description", Field::Description)]),
    // CDP: the device ID (host name), platform (model), the software version
    // banner and the version number read from it.
    (
        "cdp.neighbor",
        &[
            ("name", Field::Name),
            ("model", Field::Model),
            ("version", Field::Firmware),
            ("description", Field::Description),
        ],
    ),
    // SNMP: the system group an agent answers with (sysName, sysDescr, sysLocation).
    ("snmp.system", &[("name", Field::Name), ("description", Field::Description), ("location", Field::Location)]),
    // PROFINET DCP: the station name the engineering tool assigned, the
    // vendor's "type of station" text, the PROFINET device id and its role.
    (
        "pn_dcp.identity",
        &[
            ("name_of_station", Field::Name),
            ("type_of_station", Field::Model),
            ("device_id", Field::ProductCode),
            ("device_role", Field::DeviceType),
        ],
    ),
    // OPC UA: a server's BuildInfo (read from Server.ServerStatus) names its
    // software; its ApplicationDescription (GetEndpoints, CreateSession,
    // FindServers answers) the application instance configured on it. A
    // client's description (CreateSession) names the application it runs.
    (
        "opcua.build_info",
        &[("vendor", Field::Vendor), ("product_name", Field::Model), ("software_version", Field::Firmware)],
    ),
    ("opcua.server", &[("name", Field::Name)]),
    ("opcua.client", &[("name", Field::Application)]),
    // MMS Identify: the vendor, model and revision of the MMS server an IED
    // (or ICCP node) runs. On an IED these name the device's firmware line;
    // a gateway built on a stack names the stack (libIEC61850 and its
    // version by default).
    ("mms.identify", &[("vendor", Field::Vendor), ("model", Field::Model), ("revision", Field::Firmware)]),
    // ICCP (IEC 60870-6 TASE.2) over MMS: a server that answers the TASE.2
    // association objects, and a client that reads them, serve an
    // inter-control-centre link (`iccp_server`, `iccp_client`).
    ("mms.tase2", &[("services", Field::Services)]),
    ("mms.tase2_client", &[("services", Field::Services)]),
    // The logical device of a GOOSE control block or SV data set is the IED
    // name (and LD instance) configured in the substation's SCL files.
    ("goose.publisher", &[("logical_device", Field::Name)]),
    ("sv.publisher", &[("logical_device", Field::Name)]),
    // Name services: a DNS, mDNS or LLMNR answer maps a name to an address;
    // a NetBIOS registration, answer or node status names a Windows host, its
    // workgroup or domain and what its names say it serves. These describe
    // the host at the event's `address` (see SUBJECT), not the sender.
    ("dns.answer", &[("host_name", Field::HostName)]),
    ("mdns.answer", &[("host_name", Field::HostName)]),
    ("llmnr.answer", &[("host_name", Field::HostName)]),
    ("nbns.registration", NETBIOS_NAME),
    ("nbns.answer", NETBIOS_NAME),
    ("nbns.node_status", &[("host_name", Field::HostName), ("workgroup", Field::Domain), ("roles", Field::Services)]),
    // A browser announcement: the host's name, workgroup, OS version, what
    // its server type bits say it does, and its comment.
    (
        "browser.announcement",
        &[
            ("host_name", Field::HostName),
            ("workgroup", Field::Domain),
            ("os", Field::Os),
            ("roles", Field::Services),
            ("description", Field::Description),
        ],
    ),
    // HTTP: the `Server` header of a device's web server names the web
    // software it runs, and on embedded devices often the product and
    // firmware line too (`Schneider-WEB/V2.1.4`, `WAGO-PFC200`); kept whole
    // as the application, not split into model and firmware, since most name
    // only a web server (GoAhead, RomPager, lighttpd) whose version is not the
    // device's firmware. A client's User-Agent is not mapped: a workstation
    // runs many, and it names the browser, not the host.
    ("http.server", &[("description", Field::Application)]),
    // Telnet: what a device prints before its login prompt (model, firmware,
    // system name), as the description it gives of itself.
    ("telnet.banner", &[("description", Field::Description)]),
    // RDP: the computer name a client sends in its core data (at most 15
    // characters) is its host name.
    ("rdp.client", &[("name", Field::HostName)]),
    // SMB: the names a server gives in its NTLM challenge and the OS version
    // (major.minor.build) it states there (the operating system's, not a
    // firmware: Samba states one too); the NetBIOS calling name of a
    // session request and the workstation of an NTLM logon are the client's
    // host name; SMB1 native OS strings name the sender's operating system.
    (
        "smb.server",
        &[
            ("netbios_name", Field::HostName),
            ("dns_computer_name", Field::HostName),
            ("os_version", Field::Os),
            ("native_os", Field::Os),
        ],
    ),
    ("smb.client", &[("netbios_name", Field::HostName), ("workstation", Field::HostName), ("native_os", Field::Os)]),
];

/// What a NetBIOS name record says, by its suffix.
const NETBIOS_NAME: &[(&str, Field)] =
    &[("host_name", Field::HostName), ("workgroup", Field::Domain), ("role", Field::Services)];

/// Identity events that describe the host at an address they carry, not their
/// sender: a resolver's answer names a third host. Event name -> attribute.
const SUBJECT: &[(&str, &str)] = &[
    ("dns.answer", "address"),
    ("mdns.answer", "address"),
    ("llmnr.answer", "address"),
    ("nbns.registration", "address"),
    ("nbns.answer", "address"),
    ("browser.announcement", "address"),
];

/// Identity events told by a third party rather than the host itself: their
/// values are [`Confidence::Medium`]. A unicast DNS answer comes from a
/// resolver's records, a NetBIOS answer possibly from a WINS server.
const THIRD_PARTY: &[&str] = &["dns.answer", "nbns.answer"];

/// The address an identity event describes when it is not its sender's
/// (`None`: the sender's own identity). `Some(None)` when the event should
/// name another host but its address is missing or unreadable.
pub(crate) fn subject(name: &str, attributes: &[(String, String)]) -> Option<Option<std::net::IpAddr>> {
    let (_, key) = SUBJECT.iter().find(|(n, _)| *n == name)?;
    Some(attributes.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse().ok()))
}

/// Vendors implied by a protocol that only one vendor speaks.
const IMPLIED_VENDOR: &[(&str, &str)] = &[("s7comm.szl_identity", "Siemens")];

/// One value an identity event gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    pub(crate) field: Field,
    pub(crate) value: String,
    pub(crate) confidence: Confidence,
}

/// What a publication identity event says the sender publishes, in words
/// (`GOOSE AA1C1Q01A1LD0/LLN0$GO$gcb_A (APPID 0x3001)`),
/// with the protocol.
pub(crate) fn publication(name: &str, attributes: &[(String, String)]) -> Option<(&'static str, String)> {
    let get = |k: &str| attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (protocol, kind, reference) = match name {
        "goose.publisher" => ("goose", "GOOSE", get("gocb_ref")?),
        "sv.publisher" => ("sv", "Sampled Values", get("sv_id")?),
        _ => return None,
    };
    let appid = get("appid").map(|a| format!(" (APPID {a})")).unwrap_or_default();
    Some((protocol, format!("{kind} {reference}{appid}")))
}

/// What an LLDP or CDP announcement says its sender does, from the
/// capabilities it has enabled (LLDP; else those it has, and CDP's, which
/// are the enabled ones): `router`, or `bridge` (a switch, a bridge, a
/// two-port MAC relay or a wireless access point). Returns the protocol
/// (`LLDP`, `CDP`) with the capability.
pub(crate) fn announced_capability(
    name: &str,
    attributes: &[(String, String)],
) -> Option<(&'static str, &'static str)> {
    let get = |k: &str| attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let (protocol, caps) = match name {
        "lldp.neighbor" => ("LLDP", get("enabled_capabilities").or_else(|| get("capabilities"))?),
        "cdp.neighbor" => ("CDP", get("capabilities")?),
        _ => return None,
    };
    let caps: Vec<&str> = caps.split(',').collect();
    let bridge = ["bridge", "two_port_mac_relay", "wlan_access_point", "switch", "trans_bridge", "source_route_bridge"];
    if caps.contains(&"router") {
        Some((protocol, "router"))
    } else if caps.iter().any(|c| bridge.contains(c)) {
        Some((protocol, "bridge"))
    } else {
        None
    }
}

/// The fields an identity event of `name` with `attributes` states about its sender.
pub(crate) fn claims(name: &str, attributes: &[(String, String)]) -> Vec<Claim> {
    let mut out = Vec::new();
    if let Some((_, map)) = MAPPINGS.iter().find(|(n, _)| *n == name) {
        for (key, value) in attributes {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if let Some((_, field)) = map.iter().find(|(k, _)| k == key) {
                let confidence = if THIRD_PARTY.contains(&name) { Confidence::Medium } else { Confidence::High };
                if *field == Field::Services {
                    // A list (browser server types): one value per service.
                    for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                        out.push(Claim { field: *field, value: v.to_string(), confidence });
                    }
                } else {
                    out.push(Claim { field: *field, value: value.to_string(), confidence });
                }
            }
        }
    }
    if let Some((_, vendor)) = IMPLIED_VENDOR.iter().find(|(n, _)| *n == name) {
        if !out.iter().any(|c| c.field == Field::Vendor) {
            out.push(Claim { field: Field::Vendor, value: (*vendor).to_string(), confidence: Confidence::Medium });
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_s7_module_identification_names_a_siemens_module() {
        let c = claims(
            "s7comm.szl_identity",
            &attrs(&[("szl_id", "0x0011"), ("order_number", "6ES7 315-2EH14-0AB0"), ("firmware_version", "V3.2.6")]),
        );
        assert_eq!(
            c,
            vec![
                Claim { field: Field::OrderNumber, value: "6ES7 315-2EH14-0AB0".into(), confidence: Confidence::High },
                Claim { field: Field::Firmware, value: "V3.2.6".into(), confidence: Confidence::High },
                Claim { field: Field::Vendor, value: "Siemens".into(), confidence: Confidence::Medium },
            ]
        );
    }

    #[test]
    fn a_web_server_header_and_a_telnet_banner_describe_their_device() {
        let c = claims(
            "http.server",
            &attrs(&[
                ("product", "GoAhead-Webs"),
                ("version", "2.5.0"),
                ("description", "GoAhead-Webs/2.5.0"),
                ("realm", "x"),
            ]),
        );
        assert_eq!(
            c,
            vec![Claim { field: Field::Application, value: "GoAhead-Webs/2.5.0".into(), confidence: Confidence::High }]
        );
        let c = claims("telnet.banner", &attrs(&[("description", "WAGO 750-8202 FW 03.10"), ("prompt", "plc login:")]));
        assert_eq!((c.len(), c[0].field, c[0].value.as_str()), (1, Field::Description, "WAGO 750-8202 FW 03.10"));
        assert!(claims("http.client", &attrs(&[("software", "Mozilla/5.0")])).is_empty());
    }

    #[test]
    fn cdp_and_snmp_identities_name_network_devices() {
        let c = claims(
            "cdp.neighbor",
            &attrs(&[
                ("name", "Ns5gt"),
                ("model", "cisco WS-CE500-24TT"),
                ("version", "12.2(25)SEG4"),
                ("description", "Cisco IOS Software, CE500 Software, Version 12.2(25)SEG4"),
                ("port_id", "GigabitEthernet1"),
            ]),
        );
        let fields: Vec<Field> = c.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![Field::Name, Field::Model, Field::Firmware, Field::Description]);
        let c = claims(
            "snmp.system",
            &attrs(&[("name", "rtu-7"), ("description", "Linux rtu-7"), ("location", "sub A"), ("enterprise", "8072")]),
        );
        let fields: Vec<Field> = c.iter().map(|c| c.field).collect();
        assert_eq!(fields, vec![Field::Name, Field::Description, Field::Location]);
    }

    #[test]
    fn cdp_and_lldp_capabilities_say_what_a_device_forwards() {
        let cdp = |caps: &str| announced_capability("cdp.neighbor", &attrs(&[("capabilities", caps)]));
        assert_eq!(cdp("switch,igmp"), Some(("CDP", "bridge")));
        assert_eq!(cdp("router,switch"), Some(("CDP", "router")));
        assert_eq!(cdp("host,voip_phone"), None);
        let lldp = announced_capability("lldp.neighbor", &attrs(&[("enabled_capabilities", "bridge")]));
        assert_eq!(lldp, Some(("LLDP", "bridge")));
        assert_eq!(announced_capability("snmp.system", &attrs(&[("capabilities", "router")])), None);
    }

    #[test]
    fn rdp_and_smb_names_are_host_names() {
        let c = claims("rdp.client", &attrs(&[("name", "ENG-WS01"), ("client_build", "19041")]));
        assert_eq!(c, vec![Claim { field: Field::HostName, value: "ENG-WS01".into(), confidence: Confidence::High }]);
        let c = claims(
            "smb.server",
            &attrs(&[("netbios_name", "PLANTFS01"), ("dialect", "3.1.1"), ("os_version", "10.0.19041")]),
        );
        let fields: Vec<(Field, &str)> = c.iter().map(|c| (c.field, c.value.as_str())).collect();
        assert_eq!(fields, vec![(Field::HostName, "PLANTFS01"), (Field::Os, "10.0.19041")]);
        let c = claims("smb.client", &attrs(&[("workstation", "HMI-2"), ("user", "operator"), ("ntlm", "v2")]));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].field, c[0].value.as_str()), (Field::HostName, "HMI-2"));
    }

    #[test]
    fn unlisted_attributes_and_empty_values_are_not_fields() {
        let c = claims("enip.list_identity", &attrs(&[("status", "0x0030"), ("product_name", " "), ("serial", "0x1")]));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].field, c[0].value.as_str()), (Field::Serial, "0x1"));
        assert!(claims("arp.sender", &attrs(&[("mac", "00:01:02:03:04:05")])).is_empty());
    }
}
