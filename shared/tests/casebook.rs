//! The hand-computed cases of `shared::casebook`, natively (the browser tests run the same).

#[test]
fn every_hand_computed_case_holds() {
    let failures: Vec<String> = shared::casebook::CASES
        .iter()
        .filter_map(|(name, case)| case().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}
