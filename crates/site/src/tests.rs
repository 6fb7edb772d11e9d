#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

const EXAMPLE: &str = include_str!("../../../examples/site.toml");

fn problems(text: &str) -> Vec<String> {
    match Site::parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(p) => {
            p.iter().map(|p| format!("{}:{}: {}", p.line.unwrap_or(0), p.column.unwrap_or(0), p.message)).collect()
        }
    }
}

#[test]
fn the_example_site_file_is_valid_and_read_whole() {
    let site = Site::parse(EXAMPLE).unwrap();
    assert_eq!(site.name, "Riverside water treatment");
    assert_eq!(site.zones.len(), 6);
    assert_eq!(site.conduits.len(), 6);
    let dmz = site.zone("dmz").unwrap();
    assert!(dmz.dmz);
    assert_eq!((dmz.level, dmz.sl_t), (3, Some(3)));
    let hmi = site.conduits.iter().find(|c| c.name == "hmi-to-cells").unwrap();
    assert!(hmi.carries("control-room", "cell-a", "modbus"));
    assert!(!hmi.carries("cell-a", "control-room", "modbus"), "not bidirectional");
    assert!(!hmi.carries("control-room", "cell-a", "dnp3"));
    assert!(hmi.allows(OperationClass::Write));
    assert!(!hmi.allows(OperationClass::Program));
    let eng = site.conduits.iter().find(|c| c.name == "engineering").unwrap();
    assert!(eng.allows(OperationClass::Program), "no operations list: every class");
    let chlorination = &site.consequences[0];
    assert_eq!((chlorination.mission, chlorination.wellbeing), (Mission::Essential, Wellbeing::Irreversible));
    assert_eq!(chlorination.downtime_secs, Some(900));
    assert_eq!(site.findings.resolve_after_secs, Some(14 * 86_400));
}

#[test]
fn the_most_specific_block_places_an_address() {
    let site = Site::parse(EXAMPLE).unwrap();
    let zone = |ip: &str| site.zone_of_ip(ip.parse().unwrap()).map(|(z, _)| z.name.clone());
    assert_eq!(zone("192.168.1.10").as_deref(), Some("cell-a"));
    assert_eq!(zone("192.168.1.200").as_deref(), Some("cell-b"));
    assert_eq!(zone("10.0.44.1").as_deref(), Some("enterprise"));
    assert_eq!(zone("8.8.8.8"), None);
    assert_eq!(site.zone_of_vlan(20).map(|z| z.name.as_str()), Some("control-room"));
    let nested = "[site]\nname='x'\n[[zone]]\nname='plant'\nlevel=2\ncidrs=['10.0.0.0/8']\n[[zone]]\nname='cell'\nlevel=1\ncidrs=['10.1.2.0/24']\n";
    let site = Site::parse(nested).unwrap();
    assert_eq!(site.zone_of_ip("10.1.2.3".parse().unwrap()).unwrap().0.name, "cell");
    assert_eq!(site.zone_of_ip("10.1.3.3".parse().unwrap()).unwrap().0.name, "plant");
}

#[test]
fn consequences_of_an_asset_come_gravest_first() {
    let text = format!(
        "{EXAMPLE}\n[[consequence]]\nprocess = 'lab'\nassets = ['mac-00:00:00:00:00:01']\nmission = 'support'\n"
    );
    let site = Site::parse(&text).unwrap();
    let c = site.consequences_of("mac-00:00:00:00:00:01", Some("cell-b"));
    assert_eq!(c.iter().map(|c| c.process.as_str()).collect::<Vec<_>>(), ["chlorination", "lab"]);
    assert!(site.consequences_of("mac-00:00:00:00:00:02", Some("operations")).is_empty());
}

#[test]
fn a_syntax_error_names_its_line() {
    let p = problems("[site]\nname = 'x'\n[[zone]]\nname = 'a'\nlevel = \n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("5:"), "{p:?}");
}

#[test]
fn an_unknown_key_names_its_line() {
    let p = problems("[site]\nname = 'x'\n\n[[zone]]\nname = 'a'\nlevel = 1\ncidr = ['10.0.0.0/8']\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("7:1:") && p[0].contains("cidr"), "{p:?}");
}

#[test]
fn every_semantic_problem_is_reported_with_its_place() {
    let text = "\
[site]
name = 'plant'

[[zone]]
name = 'a'
level = 7
cidrs = ['10.0.0.0/8', '10.0.0.1/8', 'nope']

[[zone]]
name = 'a'
level = 1
vlans = [5000]
cidrs = ['10.0.0.0/8']
owner = 'nobody'

[[zone]]
name = 'b'
level = 2
sl_t = 9
assets = ['10.0.0.5']

[[zone]]
name = 'empty'
level = 2

[[zone]]
name = 'dmz'
level = 4
dmz = true
cidrs = ['172.16.0.0/12']

[[conduit]]
name = 'c'
from = 'a'
to = 'nowhere'
operations = ['read', 'program_download']

[[consequence]]
process = 'boiler'
zones = ['ghost']
mission = 'critical'
downtime_tolerance = 'soon'

[findings]
resolve_after = '0'
";
    let p = problems(text);
    let want = [
        "6:9: zone \"a\": level 7 is not a Purdue level",
        "7:24: zone \"a\": 10.0.0.1/8 has host bits set",
        "7:38: zone \"a\": \"nope\" is not an address block",
        "10:8: zone \"a\" is defined twice",
        "12:10: zone \"a\": VLAN 5000 is not an id",
        "13:10: zone \"a\": 10.0.0.0/8 is already in zone \"a\"",
        "14:9: owner \"nobody\" is not defined",
        "19:8: zone \"b\": sl_t 9 is not a security level",
        "20:11: zone \"b\": \"10.0.0.5\" is not an asset id",
        "23:8: zone \"empty\" holds nothing",
        "28:9: zone \"dmz\": a DMZ sits between levels 3 and 4",
        "35:6: conduit \"c\": zone \"nowhere\" is not defined",
        "36:23: conduit \"c\": \"program_download\" is not an operation class",
        "40:10: consequence \"boiler\": zone \"ghost\" is not defined",
        "41:11: consequence \"boiler\": mission \"critical\" is not minimal",
        "42:22: consequence \"boiler\": downtime_tolerance \"soon\"",
        "45:17: findings.resolve_after \"0\"",
    ];
    for (got, want) in p.iter().zip(want.iter()) {
        assert!(got.starts_with(want), "got {got:?}, want it to start with {want:?}\nall: {p:#?}");
    }
    assert_eq!(p.len(), want.len(), "{p:#?}");
}

#[test]
fn a_missing_site_table_is_reported() {
    let p = problems("[[zone]]\nname='a'\nlevel=1\ncidrs=['10.0.0.0/8']\n");
    assert!(p[0].contains("no [site] table"), "{p:?}");
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("site.toml");
    std::fs::write(&path, "[site]\nname = 'x'\n[[zone]]\nname='a'\nlevel=9\ncidrs=['10.0.0.0/8']\n").unwrap();
    let e = Site::load(&path).unwrap_err().to_string();
    assert!(e.contains("site.toml: 1 problem in the site file"), "{e}");
    assert!(e.contains("site.toml:5:7: zone \"a\": level 9"), "{e}");
    let missing = Site::load(&dir.path().join("none.toml")).unwrap_err().to_string();
    assert!(missing.contains("none.toml") && missing.contains("cannot read it"), "{missing}");
}

#[test]
fn durations_read_their_units() {
    assert_eq!(parse_duration("0"), Some(0));
    assert_eq!(parse_duration("90s"), Some(90));
    assert_eq!(parse_duration("15m"), Some(900));
    assert_eq!(parse_duration("4h"), Some(14_400));
    assert_eq!(parse_duration("7d"), Some(604_800));
    assert_eq!(parse_duration("2w"), Some(1_209_600));
    assert_eq!(parse_duration("4"), None);
    assert_eq!(parse_duration("h"), None);
    assert_eq!(parse_duration("99999999999999999999d"), None);
}

/// Two plants that reuse 10.0.0.0/24 and VLAN 10, and a zone of any network.
const TWO_PLANTS: &str = "[site]\nname = 'x'
[[zone]]
name = 'plant-a-cell'
level = 1
network = 'plant-a'
cidrs = ['10.0.0.0/24']
vlans = [10]
[[zone]]
name = 'plant-b-cell'
level = 2
network = 'plant-b'
cidrs = ['10.0.0.0/24']
vlans = [10]
[[zone]]
name = 'anywhere'
level = 3
cidrs = ['10.0.0.0/16']
vlans = [20]
";

#[test]
fn a_zone_of_a_network_holds_only_that_networks_addresses() {
    let site = Site::parse(TWO_PLANTS).unwrap();
    let ip = "10.0.0.5".parse().unwrap();
    let zone = |networks: &[&str]| {
        let networks: Vec<String> = networks.iter().map(|n| n.to_string()).collect();
        site.zone_of_ip_in(ip, &networks).map(|(z, _)| z.name.clone())
    };
    assert_eq!(zone(&["plant-a"]).as_deref(), Some("plant-a-cell"));
    assert_eq!(zone(&["plant-b"]).as_deref(), Some("plant-b-cell"));
    assert_eq!(zone(&[""]).as_deref(), Some("anywhere"), "the unnamed network: only zones of any network");
    assert_eq!(zone(&["plant-c"]).as_deref(), Some("anywhere"));
    assert_eq!(site.zone_of_ip(ip).map(|(z, _)| z.name.as_str()), Some("anywhere"));
    let vlan = |network: &str| site.zone_of_vlan_in(10, &[network.to_string()]).map(|z| z.name.as_str());
    assert_eq!((vlan("plant-a"), vlan("plant-b"), vlan("")), (Some("plant-a-cell"), Some("plant-b-cell"), None));
    assert_eq!(site.zone_of_vlan_in(20, &["plant-a".to_string()]).map(|z| z.name.as_str()), Some("anywhere"));
    assert_eq!(site.zone("plant-a-cell").unwrap().network.as_deref(), Some("plant-a"));

    // Of two equally specific blocks, the named network's zone wins.
    let text = TWO_PLANTS.replace("'10.0.0.0/16'", "'10.0.0.0/24'");
    let site = Site::parse(&text).unwrap();
    let a = site.zone_of_ip_in(ip, &["plant-a".to_string()]).map(|(z, _)| z.name.clone());
    assert_eq!(a.as_deref(), Some("plant-a-cell"));
    assert_eq!(site.zone_of_ip(ip).map(|(z, _)| z.name.as_str()), Some("anywhere"));
}

#[test]
fn a_block_is_one_zones_per_network_and_network_names_are_checked() {
    let twice = TWO_PLANTS.replace("network = 'plant-b'", "network = 'plant-a'");
    let p = problems(&twice);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p[0].contains("10.0.0.0/24 of network \"plant-a\" is already in zone \"plant-a-cell\""), "{p:?}");
    assert!(p[1].contains("VLAN 10 of network \"plant-a\" is already in zone \"plant-a-cell\""), "{p:?}");
    let p = problems(&TWO_PLANTS.replace("network = 'plant-b'", "network = 'plant b'"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("12:11:") && p[0].contains("letters, digits"), "{p:?}");
}
