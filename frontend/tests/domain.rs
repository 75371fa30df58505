//! The domain's hand-computed cases, run in headless Chromium: the tablet computes exactly
//! what the server and the central office compute (the native tests run the same cases).

use shared::casebook::{CASES, demo_block_and_covenant};
use shared::points::Points;
use shared::transfer::{from_csv, to_csv};
use uuid::Uuid;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn every_hand_computed_case_holds_in_the_browser() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|(name, case)| case().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[wasm_bindgen_test]
fn csv_import_reports_lines_in_the_browser() {
    let (_, doc) = demo_block_and_covenant();
    let mut n = 0u128;
    let ids = || {
        n += 1;
        Uuid::from_u128(n)
    };
    let step = Points::from_hundredths(50);
    let csv = to_csv(&doc);
    let back = from_csv(&csv, &doc.covenant, step, ids).expect("round trip");
    assert_eq!(back.criteria.len(), doc.criteria.len());
    let bad = "Mã;Tiêu chí;Loại;Điểm chuẩn\n1;Nội dung;;\n1.1;Tiêu chí;chuẩn;7,3\n";
    let errors = from_csv(bad, &doc.covenant, step, || Uuid::from_u128(9)).expect_err("bad");
    assert_eq!(errors[0].code(), "points_off_step");
    assert_eq!(
        errors[0].message_vi(),
        "Dòng 3: 7,3 điểm không phải bội số của 0,5 (tiêu chí 1.1)"
    );
}
