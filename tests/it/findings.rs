//! Defects the fuzz targets and the property tests found (issue 17), one
//! regression test each. Crashing inputs of the fuzzers are kept as files in
//! fuzz/regressions/ and replayed by fuzz_corpus; the cases here are the
//! ones better said as a plan.

use crate::test::Plan;

/// Found by `properties::every_generated_name_is_dns_1123_and_within_its_limit`:
/// a name without dots that is too long was quoted twice ("the PVC name
/// `x…` `x…` is 64 characters long").
#[test]
fn a_too_long_name_is_quoted_once() {
    let long = format!("{}-data", "a".repeat(59));
    Plan::nightly()
        .replace("pvc: web-data", &format!("pvc: {long}"))
        .errors()
        .has(&format!(
            "error[invalid-name]: the PVC name `{long}` is 64 characters long; the limit is 63\n"
        ));
    Plan::nightly()
        .replace("pvc: web-data", &format!("pvc: web.{long}"))
        .errors()
        .has(&format!(
            "the PVC name `web.{long}` has a part `{long}` that is 64 characters long"
        ));
}
