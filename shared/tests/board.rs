//! The projector screen from the casebook's conference: progress while scoring, the ranking
//! only once published, and a ballot's turnout without choices until it closes.

use shared::ballot::BallotState;
use shared::board::board_html;
use shared::casebook::central_block_records;
use shared::demo;
use shared::model::Record;
use shared::round::RoundState;

fn with_rounds(state: RoundState) -> Vec<Record> {
    let mut records = central_block_records();
    for r in &mut records {
        if let Record::Round(round) = r {
            round.state = state;
        }
    }
    records
}

/// The text of the page between `from` and `to`.
fn between<'a>(html: &'a str, from: &str, to: &str) -> &'a str {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("{from} in the page"));
    let rest = &html[start..];
    &rest[..rest.find(to).unwrap_or(rest.len())]
}

#[test]
fn progress_shows_while_locked_and_results_wait_for_publication() {
    let html = board_html(demo::BLOCK_ID, &with_rounds(RoundState::Locked)).expect("the block");
    let cross = between(&html, "data-stage=\"cross\"", "</section>");
    assert!(cross.contains("72/72 phiếu đã nộp"), "{cross}");
    assert!(
        cross.contains("Đã khóa") || cross.contains("đã khóa"),
        "{cross}"
    );
    // Nine chips, each unit with its eight sheets done.
    assert_eq!(cross.matches("<li class=\"done\">").count(), 9, "{cross}");
    assert_eq!(cross.matches("<small>8/8</small>").count(), 9);
    assert!(!html.contains("Kết quả xếp hạng</h2>"));
    assert!(html.contains("hiện ra khi thư ký công bố"));
}

#[test]
fn published_results_carry_the_hand_computed_ranking_and_bars() {
    let html = board_html(demo::BLOCK_ID, &with_rounds(RoundState::Published)).expect("the block");
    let results = between(&html, "Kết quả xếp hạng</h2>", "</section>");
    let rows: Vec<&str> = results.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 9, "nine units");
    // (rank, block score, bar width) computed by hand: the leader's bar is full, the others
    // in proportion, in per mille.
    let want = [
        ("1", "107,00", "100.0%"),
        ("2", "95,00", "88.7%"),
        ("3", "90,00", "84.1%"),
        ("4", "90,00", "84.1%"),
        ("5", "86,00", "80.3%"),
        ("6", "86,00", "80.3%"),
        ("7", "85,00", "79.4%"),
        ("7", "85,00", "79.4%"),
        ("9", "50,00", "46.7%"),
    ];
    for (row, (rank, score, width)) in rows.iter().zip(want) {
        assert!(
            row.starts_with(&format!("<td class=\"n rank\">{rank}</td>")),
            "{row}"
        );
        assert!(row.contains(&format!("<b>{score}</b>")), "{row}");
        assert!(row.contains(&format!("width:{width}")), "{row}");
    }
    assert!(results.contains("Phân định bằng: điểm nội dung có điểm chuẩn cao nhất"));
    assert!(results.contains("đồng hạng chưa phân định"));
    // The closed flag ballot: 7 of 9 approve, 77,78 %.
    assert!(html.contains("7 phiếu · 77,78 %"), "{html}");
    assert!(html.contains("class=\"pass\">Đạt"));
}

#[test]
fn an_open_ballot_shows_turnout_only() {
    let mut records = with_rounds(RoundState::Published);
    let mut voters = Vec::new();
    for r in &mut records {
        if let Record::Ballot(b) = r {
            b.state = BallotState::Open;
            b.result = None;
            b.voted = b.present[..3].to_vec();
            voters.clone_from(&b.voted);
        }
    }
    let html = board_html(demo::BLOCK_ID, &records).expect("the block");
    assert!(html.contains("<b>3/9</b> đại biểu đã bỏ phiếu"), "{html}");
    assert!(!html.contains("phiếu · "), "no count while open");
    assert!(!html.contains("Đạt<"), "no verdict while open");
}

#[test]
fn names_are_escaped_and_an_unknown_block_has_no_page() {
    let mut records = with_rounds(RoundState::Locked);
    for r in &mut records {
        if let Record::Block(b) = r {
            b.name = "<script>alert(1)</script> & \"Khối\"".into();
        }
    }
    let html = board_html(demo::BLOCK_ID, &records).expect("the block");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Khối&quot;"));
    assert!(!html.contains("<script>alert"));
    assert!(board_html(uuid::Uuid::from_u128(7), &records).is_none());
}
