//! Every accepted version and range form, read exactly; the comparison rules
//! one by one; the check's three answers; and properties (never panics,
//! antisymmetric order, the fixed version never affected).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use crate::range::MAX_RANGE_LEN;
use crate::version::MAX_COMPONENTS;
use crate::{check, check_text, fixed, single, Match, Op, Range, RangeKind, Verdict, Version};
use proptest::prelude::*;
use std::cmp::Ordering::{Equal, Greater, Less};

fn v(s: &str) -> Version {
    Version::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn cmp(a: &str, b: &str) -> Option<std::cmp::Ordering> {
    v(a).compare(&v(b))
}

fn canon(s: &str) -> String {
    Range::parse(s).canonical()
}

fn verdict(range: &str, observed: &str) -> &'static str {
    check(&Range::parse(range), &v(observed)).label()
}

fn review_reason(s: &str) -> String {
    match Range::parse(s).kind() {
        RangeKind::NeedsReview { reason } => reason.clone(),
        other => panic!("{s:?} read as {other:?}"),
    }
}

// ---- versions: what is read ----

#[test]
fn reads_a_siemens_version_with_its_v_prefix_as_the_bare_scheme() {
    let x = v("V2.9.2");
    assert_eq!(x.scheme(), ""); // "V" = "version": the same scheme as "2.9.2"
    assert_eq!(x.release(), &[2, 9, 2]);
    assert_eq!(x.raw(), "V2.9.2");
    assert!(x.qualifiers().is_empty());
}

#[test]
fn reads_rockwell_major_minor_with_leading_zeros_numerically() {
    let x = v("32.011");
    assert_eq!(x.release(), &[32, 11]); // 011 is eleven
    assert_eq!(v("v.32.011").release(), &[32, 11]); // "v." prefix, ICSA advisories for Logix
    assert_eq!(v("v.32.011").scheme(), "");
}

#[test]
fn reads_schneider_and_yokogawa_prefixes_as_their_own_schemes() {
    assert_eq!(v("SV3.10").scheme(), "SV");
    assert_eq!(v("SV3.10").release(), &[3, 10]);
    assert_eq!(v("R3.08.10").scheme(), "R");
    assert_eq!(v("R3.08.10").release(), &[3, 8, 10]);
    assert_eq!(v("MX-V4.0.1.15").scheme(), "MXV"); // Moxa: letters kept, separators dropped
}

#[test]
fn reads_update_service_pack_and_hotfix_qualifiers_in_every_spelling() {
    use crate::QualifierKind::*;
    let q = |s: &str| v(s).qualifiers().iter().map(|q| (q.kind, q.number)).collect::<Vec<_>>();
    assert_eq!(q("V19 Update 1"), [(Update, 1)]);
    assert_eq!(q("V19_Update_1"), [(Update, 1)]); // CSAF names with spaces made underscores
    assert_eq!(q("V16 SP1"), [(ServicePack, 1)]);
    assert_eq!(q("V2.9.2 HF3"), [(Hotfix, 3)]);
    assert_eq!(q("V5.2 SP 3 HF 13"), [(ServicePack, 3), (Hotfix, 13)]);
    assert_eq!(q("V20.2 HotfixRev14"), [(Hotfix, 14)]);
    assert_eq!(q("V18.0 UPD 1 SR 1"), [(Update, 1), (ServiceRelease, 1)]);
    assert_eq!(q("V9.2 SP2 Upd1"), [(ServicePack, 2), (Update, 1)]);
    assert_eq!(q("V22R2"), [(Revision, 2)]); // glued: R then a number
    assert_eq!(q("SE2021MP5"), [(MaintenancePack, 5)]);
    assert_eq!(q("V3.19 P006"), [(Patch, 6)]);
    assert_eq!(q("2.1.76_build230204"), [(Build, 230204)]);
    assert_eq!(q("2020 R3"), [(Revision, 3)]);
    assert_eq!(q("1.03.07 (build 317)"), [(Build, 317)]); // in parentheses
    assert_eq!(q("1.8.4 Service Pack 01"), [(ServicePack, 1)]); // two words
    assert_eq!(Version::parse("1.0 (build 3").unwrap_err().reason, "an unclosed '(' after the release");
    assert_eq!(Version::parse("3.1 Service Pack 1A").unwrap_err().reason, "unrecognised text after the release: 'A'");
}

#[test]
fn reads_a_glued_revision_letter() {
    assert_eq!(v("1.03D").letter(), Some('D')); // Mitsubishi
    assert_eq!(v("V11.2a").letter(), Some('A'));
    assert_eq!(v("R16A").letter(), Some('A'));
}

#[test]
fn reads_x_and_star_as_a_wildcard_release() {
    assert!(v("4.x").is_wildcard());
    assert_eq!(v("4.x").release(), &[4]);
    assert!(v("12.2.*").is_wildcard());
    assert_eq!(v("12.2.x.x").release(), &[12, 2]); // "12.2.x.x" is "12.2.x"
}

#[test]
fn refuses_what_is_not_a_version_with_the_reason() {
    let why = |s: &str| Version::parse(s).unwrap_err().reason;
    assert_eq!(why(""), "empty");
    assert_eq!(why("All versions"), "no release number");
    assert_eq!(why("with Ethernet interface"), "the text before the release number is too long for a scheme prefix");
    assert_eq!(why("UDP"), "no release number");
    assert_eq!(why("1.02-05"), "release components use mixed separators");
    assert_eq!(why("2014-2016"), "two numbers joined by '-' read as a span as well as a version");
    assert_eq!(why("2.3x"), "an 'x' after a number is ambiguous (wildcard or revision)");
    assert_eq!(why("4.4.9SP"), "qualifier 'SP' has no number");
    assert_eq!(why("V1.5.0.0 Beta 4"), "unrecognised text after the release: 'Beta 4'");
    assert_eq!(why("15.2(6)E0a"), "unrecognised text after the release: '(6)E0a'");
    assert_eq!(why("january 2020"), "a date, not a version");
    assert_eq!(why("V3.ü"), "holds a non-ASCII character");
    assert_eq!(why("99999999999999999999"), "a number is too large");
}

#[test]
fn caps_components_length_and_qualifiers() {
    let many = vec!["1"; MAX_COMPONENTS + 1].join(".");
    assert_eq!(Version::parse(&many).unwrap_err().reason, "more than 16 release components");
    assert_eq!(v(&vec!["1"; MAX_COMPONENTS].join(".")).release().len(), MAX_COMPONENTS);
    assert_eq!(Version::parse(&"9".repeat(200)).unwrap_err().reason, "longer than 128 bytes");
    assert_eq!(Version::parse("V1 SP1 SP2 SP3 SP4 SP5").unwrap_err().reason, "more than 4 qualifiers");
}

// ---- versions: comparison ----

#[test]
fn missing_components_read_as_zero() {
    assert_eq!(cmp("V3.2", "V3.2.17"), Some(Less)); // 3.2 = 3.2.0 < 3.2.17
    assert_eq!(cmp("V3.2", "3.2.0"), Some(Equal)); // V and none: one scheme
    assert_eq!(cmp("3.08", "3.8"), Some(Equal)); // numeric, not text
    assert_eq!(cmp("V7.58", "V7.6"), Some(Greater)); // 58 > 6
}

#[test]
fn different_schemes_and_separators_are_not_compared() {
    assert_eq!(cmp("R3.08.10", "V3.08.10"), None);
    assert_eq!(cmp("SV3.10", "3.10"), None);
    assert_eq!(cmp("1_2_3", "1.2.3"), None);
    assert_eq!(cmp("4.x", "4.1"), None); // a pattern is not one version
}

#[test]
fn a_qualified_version_is_not_ordered_against_components_it_does_not_write() {
    assert_eq!(cmp("V3.2 SP1", "V3.2.1"), None); // is SP1 before or after 3.2.1? unknown
    assert_eq!(cmp("V3.2 SP1", "V3.3"), Some(Less)); // differs in a written component
    assert_eq!(cmp("1.03D", "1.03.1"), None);
    assert_eq!(cmp("V16 SP1", "V17"), Some(Less));
}

#[test]
fn qualifiers_order_within_one_kind_and_after_the_bare_release() {
    assert_eq!(cmp("V16", "V16 Update 1"), Some(Less));
    assert_eq!(cmp("V16 Update 2", "V16_Update_10"), Some(Less));
    assert_eq!(cmp("V16 SP1", "V16 Update 3"), None); // different kinds
    assert_eq!(cmp("V14 SP1 Update 10", "V14 SP1"), Some(Greater));
    assert_eq!(cmp("V5.2 SP3 HF13", "V5.2 SP3 HF2"), Some(Greater));
    assert_eq!(cmp("1.3.1 Build 13", "1.3.1"), None); // a build number is not post-release
    assert_eq!(cmp("V16.0 Update 1", "V16 Update 1"), Some(Equal));
}

#[test]
fn letters_compare_only_against_letters() {
    assert_eq!(cmp("1.03D", "1.03E"), Some(Less));
    assert_eq!(cmp("1.03D", "1.03"), None);
    assert_eq!(cmp("1.03D", "1.04"), Some(Less));
}

// ---- ranges: every form, read exactly ----

#[test]
fn reads_vers_uris_of_the_four_schemes() {
    assert_eq!(canon("vers:all/*"), "vers:all/*");
    assert_eq!(canon("vers:intdot/<3.2.17"), "vers:all/<V3.2.17");
    assert_eq!(canon("vers:semver/>=1.2.3|<2.0.0"), "vers:all/>=V1.2.3|<V2.0.0");
    assert_eq!(canon("vers:generic/>=V1.0|<=V1.4"), "vers:all/>=V1.0|<=V1.4");
    assert_eq!(canon("vers:all/<V4.3.8"), "vers:all/<V4.3.8"); // CISA: all = undeclared scheme
    assert_eq!(canon("vers:all/>=V7.80<V9.40"), "vers:all/>=V7.80|<V9.40"); // CISA: glued, no '|'
    assert_eq!(canon("vers:all/<V5.2 SP 3 HF 13"), "vers:all/<V5.2 SP3 HF13");
    assert_eq!(canon("vers:intdot/!=2.0|>=1.0"), "vers:all/!=V2.0|>=V1.0");
}

#[test]
fn refuses_vers_forms_it_cannot_read_faithfully() {
    assert_eq!(review_reason("vers:npm/<1.2.3"), "vers scheme 'npm' is not supported");
    assert_eq!(review_reason("vers:intdot/<V3.2"), "'V3.2' is not an intdot version (integers and dots)");
    assert_eq!(review_reason("vers:semver/<1.2"), "'1.2' is not a plain MAJOR.MINOR.PATCH semver version");
    assert_eq!(
        review_reason("vers:semver/<1.0.0-alpha"),
        "'1.0.0-alpha' is not a version: unrecognised text after the release: '-alpha'"
    );
    assert_eq!(review_reason("vers:all/*|<2"), "'*' must stand alone in a vers: range");
    assert_eq!(review_reason("vers:generic/<1.0%2B2"), "percent-encoded vers: versions are not read");
    assert_eq!(review_reason("vers:all"), "a vers: URI without '/' after the scheme");
}

#[test]
fn reads_the_free_text_forms_of_ics_advisories() {
    let cases = [
        ("<V3.2.17", "vers:all/<V3.2.17"),
        ("< V3.2.17", "vers:all/<V3.2.17"),
        (">=R3.08.10|<=R3.09.50", "vers:all/>=R3.8.10|<=R3.9.50"),
        ("<V19_Update_1", "vers:all/<V19 Update1"),
        ("All versions", "vers:all/*"),
        ("All Versions < V2.1", "vers:all/<V2.1"),
        ("All BIOS versions < V1.0.212N", "vers:all/<V1.0.212N"),
        ("V3.0 <= x < V3.2", "vers:all/>=V3.0|<V3.2"),
        (">= V7.80 < V9.30", "vers:all/>=V7.80|<V9.30"),
        (">= V2.3 and < V6.30.016", "vers:all/>=V2.3|<V6.30.16"),
        ("> V3.0 < V4.0", "vers:all/>V3.0|<V4.0"),
        ("prior to 2.1", "vers:all/<V2.1"),
        ("All versions prior to V1.5.1", "vers:all/<V1.5.1"),
        ("before V4.0", "vers:all/<V4.0"),
        ("2.1 and prior", "vers:all/<=V2.1"),
        ("4.0 and later", "vers:all/>=V4.0"),
        ("versions 4.x", "vers:all/>=V4|<V5"),
        ("All versions <= V7.x", "vers:all/<V8"),
        ("< 3.x", "vers:all/<V3"),
        ("Versions 2.00 to 6.11", "vers:all/>=V2.0|<=V6.11"),
        ("All versions between V2.5 (including) and V2.7 (excluding)", "vers:all/>=V2.5|<V2.7"),
        ("V6.3", "vers:all/=V6.3"),
        ("7.30 | 7.40", "vers:all/=V7.30|=V7.40"),
        ("2.96 | 3.00 | >= 3.08 | <= 3.10", "vers:all/=V2.96|=V3.0|>=V3.8|<=V3.10"),
        ("<= 4.03 | >= 4.03 | <= 4.04", "vers:all/<=V4.3|>=V4.3|<=V4.4"), // touching intervals
    ];
    for (text, want) in cases {
        assert_eq!(canon(text), want, "{text}");
    }
}

#[test]
fn reads_the_cisa_multi_branch_form_as_one_fix_per_release_line() {
    // ICSA-24-226-09 (Rockwell Logix): "Update to v36.011, v35.013, v34.014".
    assert_eq!(canon("<v36.011_v35.013_v34.014"), "lines:<V34.14|<V35.13|<V36.11");
    // ICSA-24-284-20 lists the lines ascending.
    assert_eq!(canon("<V33.017_V34.014_V35.013_V36.011"), "lines:<V33.17|<V34.14|<V35.13|<V36.11");
    // A union of upper bounds only is the same shape (purl vers would refuse it).
    assert_eq!(canon("<= 4.2.21 | <= 5.0.27"), "lines:<=V4.2.21|<=V5.0.27");
    // Not lines: a qualifier after '_', or a component version after the version.
    assert_eq!(canon("<V18_Update_2"), "vers:all/<V18 Update2");
    assert!(!canon("< 14.00.15.00_51.25.00.01").starts_with("lines:"));
    assert_eq!(review_reason("<= 1.2 | <= 1.3"), "two upper bounds on the release line of '1.3'");
}

#[test]
fn sends_ambiguous_free_text_to_review_with_the_raw_text() {
    let r = Range::parse("All versions with Ethernet interface");
    assert!(!r.is_definite());
    assert_eq!(r.raw(), "All versions with Ethernet interface");
    assert_eq!(review_reason("NMC2 <= 6.9.6"), "text before the comparator: 'NMC2'");
    assert_eq!(
        review_reason(">= 1.0 | >= 2.0"),
        "two lower bounds in a row (>= 1.0, >= 2.0): the range has no single reading"
    );
    assert_eq!(review_reason(">=R302 | <V303"), "bounds 'R302' and 'V303' cannot be ordered");
    assert_eq!(
        review_reason("between 1.0 and 2.0"),
        "'between' without (including) or (excluding) on the first version"
    );
    assert_eq!(
        review_reason("<April/20/2023"),
        "'April/20/2023' is not a version: unexpected character before the release number"
    );
    assert_eq!(review_reason("!= 1.0"), "only '!=' constraints: no version is named as affected");
    assert_eq!(review_reason(""), "empty");
    assert_eq!(review_reason("and"), "no constraint");
}

#[test]
fn caps_range_length_and_constraint_count() {
    assert_eq!(review_reason(&"<1".repeat(MAX_RANGE_LEN)), "longer than 1024 bytes");
    let many: Vec<String> = (0..40).map(|i| format!(">={i}.0|<{i}.5")).collect();
    assert_eq!(review_reason(&many.join("|")), "more than 64 constraints");
    let ok: Vec<String> = (0..32).map(|i| format!(">={i}.0|<{i}.5")).collect();
    assert!(Range::parse(&ok.join("|")).is_definite());
}

// ---- check ----

#[test]
fn the_fixed_version_of_an_exclusive_bound_is_not_affected() {
    assert_eq!(verdict("<V3.2.17", "V3.2.16"), "affected");
    assert_eq!(verdict("<V3.2.17", "V3.2.17"), "not_affected");
    assert_eq!(verdict("<V3.2.17", "V3.2"), "affected"); // 3.2.0 < 3.2.17
    assert_eq!(
        check_text("<V3.2.17", "V3.2.17"),
        Verdict::NotAffected { reason: "V3.2.17 is not below V3.2.17 (the fixed version or later)".to_owned() }
    );
    assert_eq!(check_text("<V3.2.17", "V3.1"), Verdict::Affected { reason: "V3.1 is in < V3.2.17".to_owned() });
}

#[test]
fn an_uncomparable_bound_is_a_review_never_affected() {
    assert_eq!(verdict("<V3.2.1", "V3.2 SP1"), "needs_review");
    assert_eq!(verdict("<R3.2", "V3.1"), "needs_review");
    assert_eq!(
        check_text("<V3.2.1", "V3.2 SP1"),
        Verdict::NeedsReview { reason: "'V3.2 SP1' cannot be compared with 'V3.2.1'".to_owned() }
    );
    // But a definite exclusion by one bound is enough.
    assert_eq!(verdict(">=V3.0 <V3.2 SP1", "V2.9"), "not_affected");
}

#[test]
fn intervals_unions_and_exclusions() {
    let r = ">=R3.08.10|<=R3.09.50";
    assert_eq!(verdict(r, "R3.08.10"), "affected"); // inclusive lower bound
    assert_eq!(verdict(r, "R3.09.50"), "affected"); // inclusive upper bound
    assert_eq!(verdict(r, "R3.09.51"), "not_affected");
    assert_eq!(verdict(r, "R3.08.09"), "not_affected");
    assert_eq!(verdict(r, "V3.09.00"), "needs_review"); // another scheme
    let u = "<1.0|>=2.0 <3.0|>=4.0";
    assert_eq!(verdict(u, "0.9"), "affected");
    assert_eq!(verdict(u, "1.5"), "not_affected");
    assert_eq!(verdict(u, "2.5"), "affected");
    assert_eq!(verdict(u, "3.5"), "not_affected");
    assert_eq!(verdict(u, "9"), "affected");
    assert_eq!(verdict("vers:intdot/>=1.0|!=1.5", "1.5"), "not_affected");
    assert_eq!(verdict("vers:all/*", "anything1"), "affected");
    assert_eq!(verdict("All versions with Ethernet interface", "V1.0"), "needs_review");
}

#[test]
fn an_inclusive_bound_with_fewer_components_does_not_guess_about_the_line() {
    // "<= 3.2": up to the 3.2 release, or the whole 3.2 line? 3.2.1 is a review.
    assert_eq!(verdict(">= 3.0 | <= 3.2", "3.2.1"), "needs_review");
    assert_eq!(
        check_text("<= 3.2", "3.2.1"),
        Verdict::NeedsReview {
            reason: "'<= 3.2' may or may not cover '3.2.1' (the release or its whole line)".to_owned()
        }
    );
    assert_eq!(verdict("<= 3.2", "3.2.0"), "affected"); // equal: 3.2 = 3.2.0
    assert_eq!(verdict("<= 3.2", "3.3"), "not_affected");
    assert_eq!(verdict("< 3.2", "3.2.1"), "not_affected"); // before the release or the line: same answer
    assert_eq!(verdict(">= 3.2", "3.2.1"), "affected"); // from the release or the line: same answer
    assert_eq!(verdict("> 3.2", "3.2.1"), "needs_review"); // after the release, or after the line?
    assert_eq!(verdict("3.2", "3.2.1"), "needs_review"); // the release, or the line?
    assert_eq!(verdict(">= 1.0 | != 3.2", "3.2.1"), "needs_review");
    assert_eq!(verdict("> 3.2", "3.3"), "affected");
}

#[test]
fn multi_branch_lines_decide_per_release_line() {
    let r = "<v36.011_v35.013_v34.014"; // ICSA-24-226-09
    assert_eq!(verdict(r, "V35.012"), "affected"); // on 35.x, below 35.013
    assert_eq!(verdict(r, "V35.013"), "not_affected"); // the 35.x fix
    assert_eq!(verdict(r, "V35.015"), "not_affected");
    assert_eq!(verdict(r, "V34.011"), "affected");
    assert_eq!(verdict(r, "V36.011"), "not_affected");
    assert_eq!(verdict(r, "V33.011"), "affected"); // older than every listed line
    assert_eq!(verdict(r, "V37.011"), "not_affected"); // newer than every listed line
    assert_eq!(verdict(r, "R35.012"), "needs_review");
    assert_eq!(
        check_text(r, "35.012"),
        Verdict::Affected { reason: "35.012 is on the 35.x line, < v35.013".to_owned() }
    );
    // A gap between listed lines is not guessed.
    assert_eq!(verdict("<V1.5.2_V1.7.3", "V1.6.0"), "needs_review");
}

#[test]
fn single_product_versions_match_exactly_or_by_pattern() {
    let m = |text: &str, obs: &str| match single(text, &v(obs)) {
        Match::Same { .. } => "same",
        Match::Different { .. } => "different",
        Match::NeedsReview { .. } => "review",
    };
    assert_eq!(m("V3.2", "3.2.0"), "same");
    assert_eq!(m("V3.2", "V3.2.1"), "review"); // V3.2 the release, or the 3.2 line?
    assert_eq!(m("V3.2", "V3.3"), "different");
    assert_eq!(m("7.30 | 7.40", "7.40"), "same");
    assert_eq!(m("3.0.x", "3.0.7"), "same");
    assert_eq!(m("3.0.x", "3.1"), "different");
    assert_eq!(m("vers:all/*", "V1"), "same");
    assert_eq!(m("< V2.1", "V2.0"), "review"); // a comparison belongs in a range node
    assert_eq!(m("1783-SAD4T0SBK9", "V1"), "review"); // a catalogue number, not a version
    assert_eq!(m("R16A", "V16"), "review");
}

#[test]
fn a_fixed_version_is_never_affected() {
    assert_eq!(fixed("V3.2.17", &v("V3.2.17")).label(), "not_affected");
    assert_eq!(fixed("V3.2.17", &v("V3.2.18")).label(), "not_affected"); // later on the 3.2 line
    assert_eq!(fixed("V3.2.17", &v("V3.2.16")).label(), "needs_review");
    assert_eq!(fixed("V35.013", &v("V36.001")).label(), "needs_review"); // another line: the ranges decide
    assert_eq!(fixed("3.x", &v("3.1")).label(), "needs_review");
    assert_eq!(fixed("V18 Update 2", &v("V19")).label(), "needs_review"); // no release line to stay on
    assert_eq!(fixed("V18 Update 2", &v("V18 Update 2")).label(), "not_affected");
}

// ---- properties ----

fn version_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "V", "v", "R", "SV"]),
        // Small numbers, so equal releases and prefixes (3.2 / 3.2.1) are common.
        prop::collection::vec(0u64..4, 1..5),
        prop::sample::select(vec!["", " SP1", " SP2", " Update 1", " Update 3", " HF2", "a", "B"]),
    )
        .prop_map(|(p, nums, q)| {
            let r: Vec<String> = nums.iter().map(u64::to_string).collect();
            format!("{p}{}{q}", r.join("."))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parsing_and_checking_arbitrary_text_never_panics(range in ".{0,80}", obs in ".{0,40}") {
        let r = Range::parse(&range);
        let _ = r.canonical();
        if let Ok(o) = Version::parse(&obs) {
            let _ = check(&r, &o);
            let _ = single(&range, &o);
            let _ = fixed(&range, &o);
        }
        let _ = check_text(&range, &obs);
    }

    #[test]
    fn parsing_text_shaped_like_ranges_never_panics(s in "[<>=!|*xX_ .vVRS0-9a-z-]{0,60}") {
        let r = Range::parse(&s);
        if let Ok(o) = Version::parse("1.2.3") { let _ = check(&r, &o); }
    }

    #[test]
    fn comparison_is_antisymmetric_and_reflexive(a in version_text(), b in version_text()) {
        let (x, y) = (v(&a), v(&b));
        prop_assert_eq!(x.compare(&y), y.compare(&x).map(std::cmp::Ordering::reverse));
        prop_assert_eq!(x.compare(&x), Some(Equal));
    }

    #[test]
    fn an_exclusive_upper_bound_is_never_affected(a in version_text()) {
        // The bound is the advisory's fixed version.
        let r = Range::parse(&format!("< {a}"));
        prop_assert!(r.is_definite());
        prop_assert_eq!(check(&r, &v(&a)).label(), "not_affected");
        // With a lower bound below it (">= 0 | < 0" would be every version).
        if v(&a).compare(&v("0")) == Some(Greater) {
            let r = Range::parse(&format!(">= 0 | < {a}"));
            prop_assert_ne!(check(&r, &v(&a)).label(), "affected");
        }
    }

    #[test]
    fn check_agrees_with_compare_for_single_bounds(a in version_text(), b in version_text()) {
        let (bound, obs) = (v(&a), v(&b));
        for (op, want) in [(Op::Lt, Less), (Op::Gt, Greater)] {
            let r = Range::parse(&format!("{}{a}", op.as_str()));
            let got = check(&r, &obs).label();
            // "> 3.2" against 3.2.1: the release or the line? (docs/versions.md)
            let line_doubt = op == Op::Gt && obs.compare(&bound) == Some(Greater) && obs.extends(&bound);
            let expected = match obs.compare(&bound) {
                None => "needs_review",
                Some(_) if line_doubt => "needs_review",
                Some(o) if o == want => "affected",
                Some(_) => "not_affected",
            };
            prop_assert_eq!(got, expected, "{} {} vs {}", op.as_str(), a, b);
        }
    }

    #[test]
    fn huge_unions_and_long_inputs_are_bounded(n in 1usize..5000, k in 1usize..2000) {
        let union = vec!["<1.0"; n].join("|");
        let r = Range::parse(&union);
        prop_assert!(n == 1 || !r.is_definite());
        let comps = vec!["1"; k].join(".");
        prop_assert!(Version::parse(&comps).is_ok() == (k <= MAX_COMPONENTS));
    }
}

#[test]
fn megabyte_inputs_are_refused_quickly() {
    let big = "1.".repeat(500_000);
    assert_eq!(review_reason(&big), "longer than 1024 bytes");
    assert!(Version::parse(&big).is_err());
    assert_eq!(check_text(&big, &big).label(), "needs_review");
}
