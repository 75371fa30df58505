//! Covenant import and export: CSV as Excel writes it, JSON, and all-or-nothing errors.

use shared::casebook::demo_block_and_covenant;
use shared::covenant::CovenantDoc;
use shared::model::CriterionKind;
use shared::points::Points;
use shared::transfer::{from_csv, from_json, to_csv, to_json};
use uuid::Uuid;

fn ids() -> impl FnMut() -> Uuid {
    let mut n = 0u128;
    move || {
        n += 1;
        Uuid::from_u128(0xC000 + n)
    }
}

fn step() -> Points {
    Points::from_hundredths(50)
}

/// A row without ids: code, title, kind (none for a content), maximum, parent's code.
type Shape = (
    String,
    String,
    Option<CriterionKind>,
    Points,
    Option<String>,
);

/// Codes, titles, kinds, maxima and parents' codes: the covenant minus its ids.
fn shape(doc: &CovenantDoc) -> Vec<Shape> {
    let code_of = |id: Uuid| {
        doc.criteria
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.code.clone())
    };
    let mut out: Vec<_> = doc
        .contents
        .iter()
        .map(|c| (c.code.clone(), c.title.clone(), None, Points::ZERO, None))
        .chain(doc.criteria.iter().map(|c| {
            (
                c.code.clone(),
                c.title.clone(),
                Some(c.kind),
                c.max_points,
                c.parent_id.and_then(code_of),
            )
        }))
        .collect();
    out.sort();
    out
}

#[test]
fn csv_round_trip_keeps_the_covenant() {
    let (_, doc) = demo_block_and_covenant();
    let csv = to_csv(&doc);
    assert!(csv.starts_with("\u{feff}Mã,\"Nội dung, tiêu chí\",Loại,Điểm chuẩn,Hướng dẫn\r\n"));
    assert!(csv.contains("\r\n2,\"Thực hiện nhiệm vụ chính trị, chỉ tiêu được giao\",,25,\r\n"));
    assert!(
        csv.contains("\r\n2.1.2,Hoàn thành nhiệm vụ trọng tâm được giao trong năm,chuẩn,5,\r\n")
    );
    let back = from_csv(&csv, &doc.covenant, step(), ids()).expect("import");
    assert_eq!(shape(&back), shape(&doc));
    // And once more: export of the import is byte for byte the same.
    assert_eq!(to_csv(&back), csv);
}

#[test]
fn reads_what_excel_writes_in_a_vietnamese_locale() {
    let (_, doc) = demo_block_and_covenant();
    // Semicolons, no BOM, decimal commas, a quoted title over two lines, a blank row,
    // English kind names, columns in another order.
    let csv = "Điểm chuẩn;Mã;Tiêu chí;Loại;Hướng dẫn\n\
               ;1;Công tác chung;;\n\
               7,5;1.1;\"Tham gia hoạt động;\nbáo cáo \"\"đúng hạn\"\"\";standard;Theo Kế hoạch số 12\n\
               ;;;;\n\
               92,5;1.2;Nhiệm vụ chính trị;;\n\
               1;1.3;Mỗi lần báo cáo chậm;deduction;\n\
               10;1.4;Cờ thi đua;bonus;\n";
    let mut cov = doc.covenant.clone();
    cov.total_points = Points::whole(100);
    let got = from_csv(csv, &cov, step(), ids()).expect("import");
    assert_eq!(got.contents.len(), 1);
    assert_eq!(got.criteria.len(), 4);
    let c11 = &got.criteria[0];
    assert_eq!(c11.title, "Tham gia hoạt động;\nbáo cáo \"đúng hạn\"");
    assert_eq!(c11.max_points, Points::from_hundredths(750));
    assert_eq!(c11.guidance, "Theo Kế hoạch số 12");
    assert_eq!(got.criteria[2].kind, CriterionKind::Deduction);
    assert_eq!(got.criteria[3].kind, CriterionKind::Bonus);
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_nothing_is_imported() {
    let (_, doc) = demo_block_and_covenant();
    let csv = "\u{feff}Mã,Nội dung / Tiêu chí,Loại,Điểm chuẩn\r\n\
               1,Tuyên truyền,,\r\n\
               1.1,Quán triệt nghị quyết,chuẩn,8\r\n\
               1.2,Học tập và làm theo,phụ,7\r\n\
               1.3,Sai điểm,chuẩn,abc\r\n\
               9.1,Không có nội dung 9,chuẩn,5\r\n\
               1.1,Trùng mã,chuẩn,5\r\n";
    let errors = from_csv(csv, &doc.covenant, step(), ids()).expect_err("bad rows");
    let got: Vec<(String, &str)> = errors
        .iter()
        .map(|e| {
            (
                e.to_string().split(':').next().unwrap_or("").to_owned(),
                e.code(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("line 4".to_owned(), "unknown_criterion_kind"),
            ("line 5".to_owned(), "invalid_points"),
            ("line 6".to_owned(), "orphan_code"),
            ("line 7".to_owned(), "duplicate_code"),
        ]
    );
    assert_eq!(
        errors[0].message_vi(),
        "Dòng 4: 'phụ' không phải loại tiêu chí (chuẩn, thưởng, trừ, loại trừ)"
    );
}

#[test]
fn sound_rows_still_fail_a_covenant_that_does_not_add_up() {
    let (_, doc) = demo_block_and_covenant();
    let csv = "Mã,Tiêu chí,Loại,Điểm chuẩn\n1,Nội dung một,,15\n1.1,Tiêu chí,chuẩn,8\n1.2,Tiêu chí,chuẩn,7.5\n";
    let errors = from_csv(csv, &doc.covenant, step(), ids()).expect_err("15.5 of 15, 15.5 of 100");
    let codes: Vec<&str> = errors.iter().map(|e| e.code()).collect();
    assert_eq!(codes, ["subcriteria_total_mismatch"]);
    assert!(errors[0].message_vi().starts_with("Dòng 2: "));
    let csv = "Mã,Tiêu chí,Loại,Điểm chuẩn\n1,Nội dung một,,\n1.1,Tiêu chí,chuẩn,8\n";
    let errors = from_csv(csv, &doc.covenant, step(), ids()).expect_err("8 of 100");
    assert_eq!(errors[0].code(), "covenant_total_mismatch");
    let errors = from_csv("Mã,Loại\n1,x\n", &doc.covenant, step(), ids()).expect_err("header");
    assert_eq!(errors[0].code(), "missing_column");
    let errors = from_csv(
        "Mã,Tiêu chí,Điểm chuẩn\n1,\"never closed\n",
        &doc.covenant,
        step(),
        ids(),
    )
    .expect_err("quote");
    assert_eq!(errors[0].code(), "bad_file");
    assert!(errors[0].to_string().starts_with("line 2:"));
    assert_eq!(
        from_csv("", &doc.covenant, step(), ids()).expect_err("empty")[0].code(),
        "bad_file"
    );
}

#[test]
fn json_round_trip_and_refusals() {
    let (_, doc) = demo_block_and_covenant();
    let json = to_json(&doc);
    assert_eq!(from_json(&json, step()).expect("import"), doc);
    let mut broken: serde_json::Value = serde_json::from_str(&json).expect("json");
    broken["covenant"]["surprise"] = serde_json::json!(1);
    let text = serde_json::to_string_pretty(&broken).expect("text");
    let e = from_json(&text, step()).expect_err("unknown field");
    assert_eq!(e[0].code(), "bad_file");
    assert!(e[0].to_string().contains("surprise"));
    let e = from_json(&json[..json.len() / 2], step()).expect_err("truncated");
    assert_eq!(e[0].code(), "bad_file");
    let mut wrong = doc.clone();
    wrong.covenant.total_points = Points::whole(95);
    let e = from_json(&to_json(&wrong), step()).expect_err("95");
    assert_eq!(e[0].code(), "covenant_total_mismatch");
}
