//! Real ranges from CISA ICS advisories (CSAF `product_version_range` names,
//! byte for byte, leading spaces included), an observed version and the
//! verdict a careful reader of the advisory gives. Each case cites the
//! advisory it comes from; the table covers Siemens, Rockwell, Schneider,
//! ABB, Moxa and Phoenix Contact.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use otposture_versions::check_text;

/// (advisory, vendor, range text, observed, expected verdict label)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    // ---- Siemens ----
    // ICSA-23-222-08 SCALANCE: fixed in V4.3.8.
    ("ICSA-23-222-08", "Siemens", "vers:all/<V4.3.8", "V4.3.7", "affected"),
    ("ICSA-23-222-08", "Siemens", "vers:all/<V4.3.8", "V4.3.8", "not_affected"),
    // ICSA-19-283-01: a two-component observed version is 3.2.0.
    ("ICSA-19-283-01", "Siemens", "vers:all/<V3.2.17", "V3.2", "affected"),
    // ICSA-24-193-12: the update is part of the version.
    ("ICSA-24-193-12", "Siemens", "<V18_Update_2", "V18 Update 1", "affected"),
    ("ICSA-24-193-12", "Siemens", "<V18_Update_2", "V18 Update 2", "not_affected"),
    ("ICSA-24-193-12", "Siemens", "<V18_Update_2", "V18", "affected"),
    // ICSA-22-041-02 WinCC V7.4: SP2 is after SP1 Update 19.
    ("ICSA-22-041-02", "Siemens", "< V7.4 SP1 Update 19", "V7.4 SP1 Update 18", "affected"),
    ("ICSA-22-041-02", "Siemens", "< V7.4 SP1 Update 19", "V7.4 SP2", "not_affected"),
    // ICSA-23-103-06: two glued constraints in vers:all.
    ("ICSA-23-103-06", "Siemens", "vers:all/>=V7.80<V9.40", "V8.0", "affected"),
    ("ICSA-23-103-06", "Siemens", "vers:all/>=V7.80<V9.40", "V9.40", "not_affected"),
    ("ICSA-23-103-06", "Siemens", "vers:all/>=V7.80<V9.40", "V7.7", "not_affected"),
    // ICSA-19-283-01 SINAMICS: V1.5 is before V1.5 HF1.
    ("ICSA-19-283-01", "Siemens", "All versions < V1.5 HF1", "V1.5", "affected"),
    // ICSA-23-166-04: V5.5.1 against "V5.5 SP1" has no known order.
    ("ICSA-23-166-04", "Siemens", "vers:all/>=V5.4<V5.5 SP1", "V5.5", "affected"),
    ("ICSA-23-166-04", "Siemens", "vers:all/>=V5.4<V5.5 SP1", "V5.5.1", "needs_review"),
    // ICSA-19-099-03: every version.
    ("ICSA-19-099-03", "Siemens", "vers:all/*", "V2.2", "affected"),
    // ICSA-21-159-13: a strict lower bound.
    ("ICSA-21-159-13", "Siemens", "> V3.0 < V4.0", "V3.0", "not_affected"),
    ("ICSA-21-159-13", "Siemens", "> V3.0 < V4.0", "V3.5", "affected"),
    // ICSA-18-058-01A: the BIOS version.
    ("ICSA-18-058-01A", "Siemens", "BIOS < V23.01.03", "V23.01.02", "affected"),
    // ICSA-20-042-05: "V3.X.17" is no one version.
    ("ICSA-20-042-05", "Siemens", "< V3.X.17", "V3.1.2", "needs_review"),
    // ICSA-24-193-14: a condition on the hardware it runs on.
    ("ICSA-24-193-14", "Siemens", "<V9.62_installed_on_CP150_and_CP300_devices", "V9.0", "needs_review"),
    // ---- Rockwell Automation ----
    // ICSA-24-226-09 Logix 5380/5580: per release line.
    ("ICSA-24-226-09", "Rockwell", "<v36.011_v35.013_v34.014", "V35.011", "affected"),
    ("ICSA-24-226-09", "Rockwell", "<v36.011_v35.013_v34.014", "V35.013", "not_affected"),
    ("ICSA-24-226-09", "Rockwell", "<v36.011_v35.013_v34.014", "V33.015", "affected"),
    ("ICSA-24-226-09", "Rockwell", "<v36.011_v35.013_v34.014", "V37.011", "not_affected"),
    // ICSA-24-284-20: the same form, lines listed ascending.
    ("ICSA-24-284-20", "Rockwell", "<V33.017_V34.014_V35.013_V36.011", "V34.014", "not_affected"),
    ("ICSA-24-284-20", "Rockwell", "<V33.017_V34.014_V35.013_V36.011", "V36.010", "affected"),
    // ICSA-23-193-01: three-digit minor, inclusive.
    ("ICSA-23-193-01", "Rockwell", "<= 5.008", "5.008", "affected"),
    ("ICSA-23-193-01", "Rockwell", "<= 5.008", "5.010", "not_affected"),
    // ICSA-22-144-01 Compact GuardLogix 5370.
    ("ICSA-22-144-01", "Rockwell", "<= 33.013", "33.011", "affected"),
    // ICSA-23-318-02 ISaGRAF: "v6.06.10" is 6.6.10.
    ("ICSA-23-318-02", "Rockwell", ">=v6.6.9|<v6.06.10", "6.6.9", "affected"),
    // ICSA-23-080-06 ThinManager: "6.x" to "10.x".
    ("ICSA-23-080-06", "Rockwell", ">= 6.x | <= 10.x", "10.5", "affected"),
    ("ICSA-23-080-06", "Rockwell", ">= 6.x | <= 10.x", "11.0", "not_affected"),
    // ICSA-24-242-01 ThinManager: the fix itself.
    ("ICSA-24-242-01", "Rockwell", ">=12.0.0|<12.0.6", "12.0.6", "not_affected"),
    // ICSA-19-094-02 Stratix (Cisco IOS numbering) is not read.
    ("ICSA-19-094-02", "Rockwell", "< 15.2(6)E2a", "15.2(5)E", "needs_review"),
    // ---- Schneider Electric ----
    // ICSA-18-240-01 Modicon M221.
    ("ICSA-18-240-01", "Schneider", "< 1.6.2.0", "1.6.1.9", "affected"),
    // ICSA-23-201-01: "SV" is its own scheme.
    ("ICSA-23-201-01", "Schneider", "< SV3.51", "SV3.50", "affected"),
    ("ICSA-23-201-01", "Schneider", "< SV3.51", "SV3.51", "not_affected"),
    ("ICSA-23-201-01", "Schneider", "< SV3.51", "3.50", "needs_review"),
    // ICSA-21-313-01: the bound is for the NMC2 card, named in the text.
    ("ICSA-21-313-01", "Schneider", "NMC2 <= 6.9.6", "6.9.6", "needs_review"),
    // ICSA-21-063-02 Enterprise Server installer.
    ("ICSA-21-063-02", "Schneider", ">= 1.9 | <= 3.1", "3.1", "affected"),
    ("ICSA-21-063-02", "Schneider", ">= 1.9 | <= 3.1", "1.8", "not_affected"),
    // ICSA-22-090-01 SCADAPack Workbench: letter against no letter.
    ("ICSA-22-090-01", "Schneider", "<= 6.6.8a", "6.6.8a", "affected"),
    ("ICSA-22-090-01", "Schneider", "<= 6.6.8a", "6.6.8", "needs_review"),
    // ICSA-22-223-03 Control Expert: a parenthesised note.
    ("ICSA-22-223-03", "Schneider", " < 15.1 HF001  (including former Unity Pro)", "15.0", "needs_review"),
    // ICSA-17-103-02A SoMachine Basic: strict lower bound only.
    ("ICSA-17-103-02A", "Schneider", "> 1.5", "1.5", "not_affected"),
    ("ICSA-17-103-02A", "Schneider", "> 1.5", "1.6", "affected"),
    // ---- ABB ----
    // ICSA-22-202-01 Drive Composer.
    ("ICSA-22-202-01", "ABB", ">= 2.0 | <= 2.7", "2.7", "affected"),
    ("ICSA-22-202-01", "ABB", ">= 2.0 | <= 2.7", "2.8", "not_affected"),
    // ICSA-20-154-04 S+ Operations: is 3.2.1 inside "<= 3.2"? Not said.
    ("ICSA-20-154-04", "ABB", ">= 3.0 | <= 3.2", "3.2.1", "needs_review"),
    // ICSA-19-330-01 Relion 670.
    ("ICSA-19-330-01", "ABB", "<= 1.2.3.17", "1.2.3.17", "affected"),
    ("ICSA-19-330-01", "ABB", "<= 1.2.3.17", "1.2.3.18", "not_affected"),
    // ICSA-20-184-02 800xA: "RU1" (rollup) is not a known qualifier.
    ("ICSA-20-184-02", "ABB", "< 6.1 RU1", "6.0", "needs_review"),
    // ICSA-23-068-03 S+ Operations: "3.x" after a service pack.
    ("ICSA-23-068-03", "ABB", "< 3.3 SP1 3.x", "3.2", "needs_review"),
    // ICSA-19-178-03 CP635: an order number and a BSP condition.
    ("ICSA-19-178-03", "ABB", "1SAP535200R0001 | G1  with BSP <= UN31 1.76", "1.76", "needs_review"),
    // ---- Moxa ----
    // ICSA-17-320-01 NPort 5150.
    ("ICSA-17-320-01", "Moxa", "<= 3.7", "3.7", "affected"),
    ("ICSA-17-320-01", "Moxa", "<= 3.7", "3.8", "not_affected"),
    // ICSA-22-333-04 UC-8200: two lower bounds have no single reading.
    ("ICSA-22-333-04", "Moxa", ">= 1.0 | >= 2.4", "2.0", "needs_review"),
    // ICSA-18-200-04 NPort 5210: a build date glued with a space.
    ("ICSA-18-200-04", "Moxa", "<=2.9 17030709", "2.8", "needs_review"),
    // ICSA-22-326-05 UC-8410A system image.
    ("ICSA-22-326-05", "Moxa", ">= 4.0.2 | <=4.1.2", "4.1.0", "affected"),
    // ICSA-17-143-01 OnCell G3110-HSPA: build numbers.
    ("ICSA-17-143-01", "Moxa", "<= 1.3 build 15082117 ", "1.3 Build 15082117", "affected"),
    ("ICSA-17-143-01", "Moxa", "<= 1.3 build 15082117 ", "1.2", "affected"),
    ("ICSA-17-143-01", "Moxa", "<= 1.3 build 15082117 ", "1.3", "needs_review"),
    // ---- Phoenix Contact ----
    // ICSA-18-011-03 FL SWITCH 3000.
    ("ICSA-18-011-03", "Phoenix Contact", ">= 1.0 | <= 1.32", "1.32", "affected"),
    ("ICSA-18-011-03", "Phoenix Contact", ">= 1.0 | <= 1.32", "1.33", "not_affected"),
    // ICSA-17-341-03 FL COM SERVER: below 1.99, or exactly 2.20 or 2.40.
    ("ICSA-17-341-03", "Phoenix Contact", "< 1.99 | 2.20 | 2.40", "2.20", "affected"),
    ("ICSA-17-341-03", "Phoenix Contact", "< 1.99 | 2.20 | 2.40", "2.30", "not_affected"),
    ("ICSA-17-341-03", "Phoenix Contact", "< 1.99 | 2.20 | 2.40", "1.50", "affected"),
    // ICSA-19-155-01 AXC F 2152: an article number before the version.
    ("ICSA-19-155-01", "Phoenix Contact", "2404267 version 1.x", "1.2", "needs_review"),
    // ICSA-17-250-02 mGuard.
    ("ICSA-17-250-02", "Phoenix Contact", ">= 8.0.0 | <= 8.5.1", "8.5.2", "not_affected"),
    ("ICSA-17-250-02", "Phoenix Contact", ">= 8.0.0 | <= 8.5.1", "8.5.1", "affected"),
    // ICSA-23-250-02 TC ROUTER: 2.07.2 is 2.7.2.
    ("ICSA-23-250-02", "Phoenix Contact", "< 2.07.2", "2.7.1", "affected"),
];

#[test]
fn real_advisory_ranges_give_the_expected_verdicts() {
    assert!(CASES.len() >= 40);
    for vendor in ["Siemens", "Rockwell", "Schneider", "ABB", "Moxa", "Phoenix Contact"] {
        assert!(CASES.iter().filter(|c| c.1 == vendor).count() >= 5, "{vendor} needs at least 5 cases");
    }
    let mut wrong = Vec::new();
    for (id, vendor, range, observed, want) in CASES {
        let got = check_text(range, observed);
        if got.label() != *want {
            wrong.push(format!("{id} ({vendor}) {range:?} vs {observed:?}: want {want}, got {got}"));
        }
    }
    let tally = |l: &str| CASES.iter().filter(|c| c.4 == l).count();
    eprintln!(
        "{} labelled cases: {} affected, {} not affected, {} needs review",
        CASES.len(),
        tally("affected"),
        tally("not_affected"),
        tally("needs_review")
    );
    assert!(wrong.is_empty(), "{} of {} cases disagree:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
}
