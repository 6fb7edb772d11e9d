//! Matching quality on real advisories: 48 cases drawn from CISA ICS
//! advisories in ../shared/intel/csaf (Siemens, Rockwell, Schneider, ABB, Moxa,
//! Phoenix Contact), each an identity as the inventory would give it and the
//! answer a person reading the advisory gives (the label), covering `vers:`
//! and free-text ranges, version lists, article numbers, families and release
//! lines. The test prints every disagreement, reports precision and recall of
//! "affected", and fails if an "affected" answer is wrong (precision below 1),
//! if recall falls below what was measured, or if a fixed version is ever
//! called affected. Skips with one line without ../shared, unless CI=true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_vulns::{Catalog, Identity, Outcome, Vulnerability};
use std::path::PathBuf;

/// What a person answers for the identity against the whole advisory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Label {
    Affected,
    NotAffected,
    /// The advisory does not name this device.
    NotNamed,
}

/// (advisory, vendor, model, order number, firmware, label, why the label).
type Case =
    (&'static str, &'static str, Option<&'static str>, Option<&'static str>, Option<&'static str>, Label, &'static str);

use Label::{Affected, NotAffected, NotNamed};

const CASES: &[Case] = &[
    // Siemens
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315-2 PN/DP"),
        Some("6ES7 315-2EH14-0AB0"),
        Some("V3.2.7"),
        Affected,
        "listed order number, vers:all/<V3.2.16",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315-2 PN/DP"),
        Some("6ES7 315-2EH14-0AB0"),
        Some("V3.2.16"),
        NotAffected,
        "the fixed version",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315-2 PN/DP"),
        Some("6ES7 315-2EH14-0AB0"),
        Some("V3.3.1"),
        NotAffected,
        "later than the fix",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315F-2 PN/DP"),
        Some("6ES7 315-2FJ14-0AB0"),
        Some("V3.2.15"),
        Affected,
        "the F variant is listed too",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 317-2 PN/DP"),
        Some("6ES7 317-2EK14-0AB0"),
        Some("V3.2.7"),
        Affected,
        "listed as well",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315-2 DP"),
        Some("6ES7 315-2AH14-0AB0"),
        Some("V3.3.1"),
        NotNamed,
        "a CPU without PROFINET: not in the list",
    ),
    (
        "ICSA-18-079-02",
        "Siemens",
        Some("CPU 315-2 PN/DP"),
        Some("6AG1 315-2EH14-7AB0"),
        Some("V3.2.1"),
        Affected,
        "the SIPLUS order number",
    ),
    ("ICSA-20-042-09", "Siemens", Some("OZW672"), None, Some("V8.00"), Affected, "All versions < V10.00"),
    ("ICSA-20-042-09", "Siemens", Some("OZW672"), None, Some("V10.00"), NotAffected, "the fixed version"),
    ("ICSA-20-042-09", "Siemens", Some("OZW772"), None, Some("V9.1"), Affected, "All versions < V10.00"),
    ("ICSA-20-042-09", "Siemens", Some("OZW675"), None, Some("V9.1"), NotNamed, "not an OZW672 or OZW772"),
    ("ICSA-20-042-03", "Siemens", Some("CP 1543-1"), None, Some("V2.1"), Affected, ">= V2.0 and < V2.2"),
    ("ICSA-20-042-03", "Siemens", Some("CP 1543-1"), None, Some("V1.1"), NotAffected, "below V2.0"),
    ("ICSA-20-042-03", "Siemens", Some("CP 1543-1"), None, Some("V2.2"), NotAffected, "the fixed version"),
    (
        "ICSA-17-129-02",
        "Siemens",
        Some("CPU 1511-1 PN"),
        Some("6ES7 511-1AK01-0AB0"),
        Some("V2.0.3"),
        Affected,
        "S7-1500 CPU family < V2.1",
    ),
    (
        "ICSA-17-129-02",
        "Siemens",
        Some("CPU 1511-1 PN"),
        Some("6ES7 511-1AK01-0AB0"),
        Some("V2.1"),
        NotAffected,
        "the fixed version",
    ),
    (
        "ICSA-17-129-02",
        "Siemens",
        Some("CPU 1214C DC/DC/DC"),
        Some("6ES7 214-1AG40-0XB0"),
        Some("V4.2.0"),
        Affected,
        "S7-1200 CPU family < V4.2.1",
    ),
    (
        "ICSA-17-129-02",
        "Siemens",
        Some("CPU 1214C DC/DC/DC"),
        Some("6ES7 214-1AG40-0XB0"),
        Some("V4.2.1"),
        NotAffected,
        "the fixed version",
    ),
    // Rockwell
    (
        "ICSA-17-094-05",
        "Rockwell Automation",
        Some("1756-L83E/B LOGIX5583E"),
        None,
        Some("28.012"),
        Affected,
        "ControlLogix 5580 28.011 | 28.012 | 28.013",
    ),
    (
        "ICSA-17-094-05",
        "Rockwell Automation",
        Some("1756-L83E/B LOGIX5583E"),
        None,
        Some("29.011"),
        Affected,
        "ControlLogix 5580 29.011",
    ),
    (
        "ICSA-17-094-05",
        "Rockwell Automation",
        Some("1756-L83E/B LOGIX5583E"),
        None,
        Some("30.011"),
        NotAffected,
        "not a listed version",
    ),
    (
        "ICSA-17-094-05",
        "Rockwell Automation",
        Some("1756-L73/B LOGIX5573"),
        None,
        Some("28.012"),
        NotNamed,
        "a ControlLogix 5570",
    ),
    (
        "ICSA-20-070-06",
        "Rockwell Automation",
        Some("1763-L16BWA B/15.00"),
        None,
        Some("15.0"),
        Affected,
        "MicroLogix 1100 Controller: all versions",
    ),
    (
        "ICSA-20-070-06",
        "Rockwell Automation",
        Some("1766-L32BWA B/16.00"),
        None,
        Some("16.0"),
        NotNamed,
        "a MicroLogix 1400 is not named",
    ),
    (
        "ICSA-20-072-03",
        "Rockwell Automation",
        Some("1783-SAD4T0SBK9"),
        None,
        Some("6.4.0"),
        Affected,
        "Stratix 5950 1783-SAD4T0SBK9 (the catalogue number in the version branch)",
    ),
    // Schneider Electric
    ("ICSA-20-016-01", "Schneider Electric", Some("BMEP582040"), None, Some("2.70"), Affected, "Modicon M580 < 2.80"),
    ("ICSA-20-016-01", "Schneider Electric", Some("BMEP582040"), None, Some("2.80"), NotAffected, "the fixed version"),
    ("ICSA-20-016-01", "Schneider Electric", Some("BMXP342020"), None, Some("2.90"), Affected, "Modicon M340 < 3.01"),
    ("ICSA-20-016-01", "Schneider Electric", Some("BMXP342020"), None, Some("3.01"), NotAffected, "the fixed version"),
    (
        "ICSA-20-016-01",
        "Schneider Electric",
        Some("TSXP575634M"),
        None,
        Some("3.10"),
        Affected,
        "Modicon Premium < 3.20",
    ),
    ("ICSA-20-016-01", "Schneider Electric", Some("TM241CE24T"), None, Some("4.0"), NotNamed, "an M241 is not named"),
    ("ICSA-19-136-01", "Schneider Electric", Some("BMEP582040"), None, Some("2.20"), Affected, "Modicon M580 < 2.30"),
    // ABB
    ("ICSA-19-330-02", "ABB", Some("REL670"), None, Some("2.1.0.1"), Affected, "Relion 670 <= 2.1.0.1"),
    (
        "ICSA-19-330-02",
        "ABB",
        Some("REL670"),
        None,
        Some("1.2.3.17"),
        Affected,
        "Relion 670 <= 1.2.3.18 on the 1.2.3 line",
    ),
    ("ICSA-19-330-02", "ABB", Some("RED670"), None, Some("1.2.3.20"), NotAffected, "later than 1.2.3.18 on its line"),
    ("ICSA-19-330-02", "ABB", Some("REL670"), None, Some("2.2.1.0"), NotAffected, "later than every line"),
    ("ICSA-19-330-02", "ABB", Some("REL650"), None, Some("1.3.0.6"), NotAffected, "Relion 650 <= 1.3.0.5"),
    ("ICSA-19-330-02", "ABB", Some("REL650"), None, Some("1.3.0.5"), Affected, "Relion 650 <= 1.3.0.5"),
    // Moxa
    ("ICSA-20-056-01", "Moxa", Some("MB3280"), None, Some("3.0"), Affected, "MB3280 series <= 3.0"),
    ("ICSA-20-056-01", "Moxa", Some("MB3280"), None, Some("4.1"), NotAffected, "above 3.0"),
    ("ICSA-20-056-03", "Moxa", Some("PT-7528"), None, Some("3.9"), Affected, "PT-7528 series <= 4.0"),
    ("ICSA-20-196-02", "Moxa", Some("EDR-G903"), None, Some("5.4"), Affected, "EDR-G903 series <= 5.4"),
    ("ICSA-20-196-02", "Moxa", Some("EDR-G902"), None, Some("5.5"), NotAffected, "above 5.4"),
    ("ICSA-17-320-01", "Moxa", Some("NPort 5150"), None, Some("3.7"), Affected, "NPort 5150 <= 3.7"),
    // Phoenix Contact
    (
        "ICSA-20-063-02",
        "Phoenix Contact",
        Some("ILC 2050 BI-L"),
        Some("2404671"),
        Some("1.2.2"),
        Affected,
        "ILC 2050 BI-L (Article number 2404671) < 1.2.3",
    ),
    (
        "ICSA-20-063-02",
        "Phoenix Contact",
        Some("ILC 2050 BI-L"),
        Some("2404671"),
        Some("1.2.3"),
        NotAffected,
        "the fixed version",
    ),
    (
        "ICSA-20-063-02",
        "Phoenix Contact",
        Some("ILC 2050 BI"),
        Some("2403160"),
        Some("1.0"),
        Affected,
        "ILC 2050 BI < 1.2.3",
    ),
    (
        "ICSA-19-155-01",
        "Phoenix Contact",
        Some("AXC F 2152"),
        Some("2404267"),
        Some("1.5"),
        Affected,
        "article number 2404267 version 1.x",
    ),
];

fn shared_csaf() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/intel/csaf/csaf_files/OT/white");
    if dir.exists() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("../shared/intel is missing and CI=true: the shared intel corpus is required in CI");
    }
    eprintln!("skipping: ../shared/intel not found (set CI=true to make this a failure)");
    None
}

/// One advisory's vulnerabilities with their product nodes, read by the intel crate.
fn advisory(dir: &std::path::Path, id: &str) -> Vec<Vulnerability> {
    let year = format!("20{}", &id[5..7]);
    let bytes = std::fs::read(dir.join(year).join(format!("{}.json", id.to_lowercase()))).unwrap();
    Vulnerability::of_advisory(&otposture_intel::csaf::parse(&bytes).unwrap())
}

/// The answer over all of an advisory's vulnerabilities: affected if any is,
/// else needs review, else not affected; not named when none names the device.
fn answer(catalog: &Catalog, id: &Identity<'_>) -> Option<Outcome> {
    let outcomes: Vec<Outcome> = catalog.findings(id).iter().map(|f| f.assessment.outcome).collect();
    [Outcome::Affected, Outcome::NeedsReview, Outcome::NotAffected].into_iter().find(|o| outcomes.contains(o))
}

#[test]
fn labelled_cases_from_real_advisories() {
    let Some(dir) = shared_csaf() else { return };
    assert!(CASES.len() >= 40);
    let (mut tp, mut fp, mut fn_, mut review, mut agree) = (0, 0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for &(adv, vendor, model, order, firmware, label, why) in CASES {
        let catalog = Catalog::new(advisory(&dir, adv));
        let id = Identity { vendor: Some(vendor), model, order_number: order, firmware };
        let got = answer(&catalog, &id);
        let expected = match label {
            Affected => Some(Outcome::Affected),
            NotAffected => Some(Outcome::NotAffected),
            NotNamed => None,
        };
        match (got, label) {
            (Some(Outcome::Affected), Affected) => tp += 1,
            (Some(Outcome::Affected), _) => fp += 1,
            (_, Affected) => fn_ += 1,
            _ => {}
        }
        if got == Some(Outcome::NeedsReview) {
            review += 1;
        }
        if got == expected {
            agree += 1;
        } else {
            disagreements.push(format!("{adv} {model:?} {order:?} {firmware:?}: got {got:?}, label {label:?} ({why})"));
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!(
        "labelled matching: {} cases, {agree} agree; affected precision {precision:.3} ({tp}/{}), recall {recall:.3} ({tp}/{}); {review} needs review",
        CASES.len(),
        tp + fp,
        tp + fn_
    );
    for d in &disagreements {
        eprintln!("  {d}");
    }
    assert_eq!(fp, 0, "an affected answer the advisory does not support: {disagreements:#?}");
    assert!(recall >= 0.90, "recall {recall:.3}: {disagreements:#?}");
}
