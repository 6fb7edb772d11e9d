//! Product nodes are transcribed from real CISA ICS advisories (ids cited);
//! identities are what the inventory gives for such devices.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use proptest::prelude::*;

const NONE: &[String] = &[];

fn node<'a>(vendor: &'a str, name: &'a str, version: Option<&'a str>, range: Option<&'a str>) -> Product<'a> {
    Product {
        product_id: "CSAFPID-0001",
        name,
        vendor: Some(vendor),
        family: None,
        product: Some(name),
        version,
        version_range: range,
        model_numbers: NONE,
        skus: NONE,
    }
}

fn id<'a>(vendor: &'a str, model: Option<&'a str>, order: Option<&'a str>, firmware: Option<&'a str>) -> Identity<'a> {
    Identity { vendor: Some(vendor), model, order_number: order, firmware }
}

fn outcome(i: &Identity<'_>, nodes: &[(Product<'_>, Status)]) -> Option<(Outcome, Confidence)> {
    assess(i, nodes).map(|a| (a.outcome, a.confidence))
}

// ICSA-17-129-02: "SIMATIC S7-1500 CPU family (incl. related ET200 CPUs and SIPLUS variants)", < V2.1.
const S7_1500_FAMILY: &str = "SIMATIC S7-1500 CPU family (incl. related ET200 CPUs and SIPLUS variants)";

#[test]
fn a_family_node_covers_a_cpu_of_that_family_by_its_order_number() {
    let n = [(node("Siemens", S7_1500_FAMILY, None, Some("< V2.1")), Status::Affected)];
    let cpu = |fw| id("Siemens AG", Some("CPU 1511-1 PN"), Some("6ES7 511-1AK01-0AB0"), fw);
    assert_eq!(outcome(&cpu(Some("V2.0.3")), &n), Some((Outcome::Affected, Confidence::Low)));
    assert_eq!(outcome(&cpu(Some("V2.1")), &n), Some((Outcome::NotAffected, Confidence::Low)), "the fixed version");
    assert_eq!(outcome(&cpu(Some("V2.5.2")), &n), Some((Outcome::NotAffected, Confidence::Low)));
    assert_eq!(outcome(&cpu(None), &n), Some((Outcome::NeedsReview, Confidence::Low)), "firmware unknown");
    let a = assess(&cpu(Some("V2.0.3")), &n).unwrap();
    assert!(a.evidence[0].identity.contains("S7-1500 family"), "{:?}", a.evidence);
    // An S7-1200 is not of that family.
    let s7_1200 = id("Siemens", Some("CPU 1214C DC/DC/DC"), Some("6ES7 214-1AG40-0XB0"), Some("V2.0"));
    assert_eq!(outcome(&s7_1200, &n), None);
}

#[test]
fn a_node_naming_one_model_does_not_catch_another_of_its_family() {
    // ICSA-22-228-04 style: one CPU named with its order number.
    let mfp = "SIMATIC S7-1500 CPU 1518-4 PN/DP MFP (6ES7518-4AX00-1AC0)";
    let n = [(node("Siemens", mfp, None, Some("< V3.0")), Status::Affected)];
    let this = id("Siemens", Some("CPU 1518-4 PN/DP MFP"), Some("6ES7 518-4AX00-1AC0"), Some("V2.9.4"));
    assert_eq!(outcome(&this, &n), Some((Outcome::Affected, Confidence::High)));
    let other = id("Siemens", Some("CPU 1511-1 PN"), Some("6ES7 511-1AK01-0AB0"), Some("V2.9.4"));
    assert_eq!(outcome(&other, &n), None);
}

#[test]
fn listed_model_numbers_that_contradict_the_order_number_rule_the_node_out() {
    let listed = vec!["6GK5204-2BB10-2AA3".to_string()];
    let mut n = node("Siemens", "SCALANCE X-200 switch family", None, Some("< V5.2.5"));
    n.model_numbers = &listed;
    let nodes = [(n, Status::Affected)];
    let other = id("Siemens", Some("SCALANCE X-200 switch"), Some("6GK5 204-0BA00-2GF2"), Some("V5.2.4"));
    assert_eq!(outcome(&other, &nodes), None, "the advisory lists what it covers");
    let listed_one = id("Siemens", Some("SCALANCE X204-2"), Some("6GK5204-2BB10-2AA3"), Some("V5.2.4"));
    assert_eq!(outcome(&listed_one, &nodes), Some((Outcome::Affected, Confidence::High)));
    // CSAF allows wildcards in model numbers.
    let wild = vec!["6ES7511-1AK0*-0AB0".to_string()];
    let mut w = node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, Some("< V2.9.7"));
    w.model_numbers = &wild;
    let cpu = id("Siemens", None, Some("6ES7 511-1AK02-0AB0"), Some("V2.9.2"));
    assert_eq!(outcome(&cpu, &[(w, Status::Affected)]), Some((Outcome::Affected, Confidence::High)));
}

#[test]
fn a_product_version_list_names_exact_versions() {
    // ICSA-17-094-05: ControlLogix 5580 controllers 28.011 | 28.012 | 28.013 and 29.011.
    let nodes = [
        (
            node("Rockwell Automation", "ControlLogix 5580 controllers", Some("28.011 | 28.012 | 28.013"), None),
            Status::Affected,
        ),
        (node("Rockwell Automation", "ControlLogix 5580 controllers", Some("29.011"), None), Status::Affected),
    ];
    let plc = |fw| id("Rockwell Automation", Some("1756-L83E/B LOGIX5583E"), None, fw);
    assert_eq!(outcome(&plc(Some("28.012")), &nodes), Some((Outcome::Affected, Confidence::Low)));
    assert_eq!(outcome(&plc(Some("29.011")), &nodes), Some((Outcome::Affected, Confidence::Low)));
    assert_eq!(outcome(&plc(Some("30.011")), &nodes), Some((Outcome::NotAffected, Confidence::Low)));
    // A ControlLogix 5570 (1756-L7x) is another family.
    let l7 = id("Rockwell Automation", Some("1756-L73/B LOGIX5573"), None, Some("28.012"));
    assert_eq!(outcome(&l7, &nodes), None);
}

#[test]
fn model_words_match_a_named_product_and_not_its_neighbour() {
    // ICSA-17-320-01: Moxa NPort 5150 <= 3.7; NPort 5110 2.4.
    let nodes = [
        (node("Moxa", "NPort 5150", None, Some("<= 3.7")), Status::Affected),
        (node("Moxa", "NPort 5110", Some("2.4"), None), Status::Affected),
    ];
    let nport = |model, fw| id("Moxa Inc.", Some(model), None, Some(fw));
    assert_eq!(outcome(&nport("NPort 5150", "3.6"), &nodes), Some((Outcome::Affected, Confidence::Medium)));
    assert_eq!(outcome(&nport("NPort 5150", "3.8"), &nodes), Some((Outcome::NotAffected, Confidence::Medium)));
    assert_eq!(outcome(&nport("NPort 5110", "2.4"), &nodes), Some((Outcome::Affected, Confidence::Medium)));
    assert_eq!(outcome(&nport("NPort 5110", "2.7"), &nodes), Some((Outcome::NotAffected, Confidence::Medium)));
    assert_eq!(outcome(&nport("NPort 5410", "2.4"), &nodes), None);
}

#[test]
fn a_brand_and_family_node_names_the_family() {
    // ICSA-19-136-01: vendor "Schneider Electric Software, LLC", "Modicon M580", < 2.30.
    let n = [(node("Schneider Electric Software, LLC", "Modicon M580", None, Some("< 2.30")), Status::Affected)];
    let m580 = |fw| id("Schneider Electric", Some("BMEP582040"), None, Some(fw));
    assert_eq!(outcome(&m580("2.20"), &n), Some((Outcome::Affected, Confidence::Low)));
    assert_eq!(outcome(&m580("2.30"), &n), Some((Outcome::NotAffected, Confidence::Low)));
    let m340 = id("Schneider Electric", Some("BMXP342020"), None, Some("2.20"));
    assert_eq!(outcome(&m340, &n), None);
}

#[test]
fn a_fixed_version_is_never_affected_and_wins_over_the_affected_range() {
    let nodes = [
        (node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, Some("< V3.2.17")), Status::Affected),
        (node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", Some("V3.2.17"), None), Status::Fixed),
    ];
    let cpu = |fw| id("Siemens", Some("CPU 1511-1 PN"), None, Some(fw));
    assert_eq!(outcome(&cpu("V3.2.16"), &nodes).unwrap().0, Outcome::Affected);
    let at_fix = assess(&cpu("V3.2.17"), &nodes).unwrap();
    assert_eq!(at_fix.outcome, Outcome::NotAffected);
    assert_eq!(at_fix.evidence[0].status, Status::Fixed, "the fixed node decides: {:?}", at_fix.evidence);
    assert_eq!(outcome(&cpu("V3.2.18"), &nodes).unwrap().0, Outcome::NotAffected);
    // Only a fixed node, and the device runs something else: a person decides.
    assert_eq!(outcome(&cpu("V3.1"), &nodes[1..]).unwrap().0, Outcome::NeedsReview);
    // A known-not-affected version beats an affected range that also holds it.
    let nodes = [
        (node("Moxa", "NPort 5150", None, Some("<= 3.7")), Status::Affected),
        (node("Moxa", "NPort 5150", Some("3.6"), None), Status::NotAffected),
    ];
    let nport = id("Moxa", Some("NPort 5150"), None, Some("3.6"));
    assert_eq!(outcome(&nport, &nodes).unwrap().0, Outcome::NotAffected);
}

#[test]
fn what_cannot_be_decided_needs_review_and_says_why() {
    let cpu = |fw| id("Siemens", Some("CPU 1511-1 PN"), None, Some(fw));
    let n = |range| [(node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, Some(range)), Status::Affected)];
    let a = assess(&cpu("V2.0"), &n("15.2(6)E2a")).unwrap();
    assert_eq!(a.outcome, Outcome::NeedsReview);
    assert!(!a.evidence[0].version.is_empty());
    assert_eq!(outcome(&cpu("not a version!"), &n("< V2.1")).unwrap().0, Outcome::NeedsReview);
    let investigating = [(node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, None), Status::UnderInvestigation)];
    assert_eq!(outcome(&cpu("V2.0"), &investigating).unwrap().0, Outcome::NeedsReview);
    // A node without a version covers every version.
    let every = [(node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, None), Status::Affected)];
    assert_eq!(outcome(&cpu("V9.9"), &every).unwrap().0, Outcome::Affected);
}

#[test]
fn another_vendor_or_no_identity_is_no_match() {
    let n = [(node("Moxa", "NPort 5150", None, Some("<= 3.7")), Status::Affected)];
    assert_eq!(outcome(&id("Lantronix", Some("NPort 5150"), None, Some("3.6")), &n), None);
    let nameless = Identity { vendor: None, model: Some("NPort 5150"), order_number: None, firmware: Some("3.6") };
    assert_eq!(outcome(&nameless, &n), None, "without a vendor only an order number matches");
    assert_eq!(outcome(&Identity::default(), &n), None);
    assert_eq!(Status::of_csaf("first_fixed"), Some(Status::Fixed));
    assert_eq!(Status::of_csaf("last_affected"), Some(Status::Affected));
    assert_eq!(Status::of_csaf("rumoured"), None);
}

proptest! {
    /// Whatever the texts, no panic; and a device running the version a fixed
    /// node names is never affected.
    #[test]
    fn the_fixed_version_is_never_affected(
        major in 0u32..40, minor in 0u32..40, patch in 0u32..40,
        range in "[<>=|, .VvRx*0-9a-z]{0,24}",
    ) {
        let fw = format!("V{major}.{minor}.{patch}");
        let nodes = [
            (node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", None, Some(range.as_str())), Status::Affected),
            (node("Siemens", "SIMATIC S7-1500 CPU 1511-1 PN", Some(fw.as_str()), None), Status::Fixed),
        ];
        let a = assess(&id("Siemens", Some("CPU 1511-1 PN"), None, Some(&fw)), &nodes).unwrap();
        prop_assert_ne!(a.outcome, Outcome::Affected);
    }

    #[test]
    fn arbitrary_identities_never_panic(model in "\\PC{0,40}", order in "\\PC{0,30}", fw in "\\PC{0,20}", name in "\\PC{0,60}") {
        let n = [(node("Siemens", &name, None, Some("< V2.1")), Status::Affected)];
        let _ = assess(&id("Siemens", Some(&model), Some(&order), Some(&fw)), &n);
    }
}
