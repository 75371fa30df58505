//! The results table and the minutes, from the casebook's central block conference: every
//! figure equals the hand computation in `casebook::check_central_block`.

use shared::casebook::{central_block_records, unit};
use shared::model::{MeetingDetails, Record, Unit};
use shared::report::Report;
use shared::{Points, demo};

fn records() -> Vec<Record> {
    central_block_records()
}

fn report() -> Report {
    Report::from_records(demo::BLOCK_ID, &records()).expect("report")
}

#[test]
fn the_csv_carries_the_hand_computed_ranking() {
    let r = report();
    let csv = r.csv();
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 10, "a header and nine units");
    assert!(lines[0].starts_with(
        "\u{feff}Hạng,Đơn vị,Tự chấm,Chấm chéo (số phiếu),Thẩm định,Điểm khối,Nội dung"
    ));
    // (unit, rank, block score) as computed by hand in the casebook.
    let want = [
        (1, "1", "\"107,00\""),
        (6, "2", "\"95,00\""),
        (2, "3", "\"90,00\""),
        (3, "4", "\"90,00\""),
        (4, "5", "\"86,00\""),
        (5, "6", "\"86,00\""),
        (7, "7", "\"85,00\""),
        (8, "7", "\"85,00\""),
        (9, "9", "\"50,00\""),
    ];
    for (line, (n, rank, score)) in lines[1..].iter().zip(want) {
        let name = r.name(unit(n));
        assert!(line.starts_with(&format!("{rank},{name},")), "U{n}: {line}");
        assert!(line.contains(score), "U{n} scores {score}: {line}");
    }
    assert!(
        lines[1].contains("Cờ thi đua của Chính phủ"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("vi phạm điều kiện loại trừ"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].contains("điểm nội dung có điểm chuẩn cao nhất"),
        "{}",
        lines[3]
    );
    assert!(
        lines[7].contains("đồng hạng chưa phân định"),
        "{}",
        lines[7]
    );
    // Self scores: 110 with the capped bonus (U1).
    assert!(lines[1].contains(&format!("\"{}\"", Points::whole(110).to_vi_string())));
}

#[test]
fn the_minutes_hold_every_part_and_escape_names() {
    let mut records = records();
    for r in &mut records {
        if let Record::Unit(Unit { id, name, .. }) = r
            && *id == unit(9)
        {
            *name = "Hội <Liên hiệp> & \"Phụ nữ\"".into();
        }
    }
    for r in &mut records {
        if let Record::Block(b) = r {
            *b.meeting = MeetingDetails {
                place: "Hà Nội".into(),
                date: "ngày 20 tháng 12 năm 2026".into(),
                chair: "Nguyễn Văn An".into(),
                secretary: "Trần Thị Bình".into(),
                absent: Vec::new(),
            };
        }
    }
    let r = Report::from_records(demo::BLOCK_ID, &records).expect("report");
    let html = r.minutes_html(&[]);
    for part in [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Hà Nội, ngày 20 tháng 12 năm 2026",
        "Họp bình xét thi đua năm 2026",
        "Kết quả chấm điểm và xếp hạng",
        "Kết quả bỏ phiếu kín",
        "Đề nghị khen thưởng",
        "CHỦ TRÌ",
        "THƯ KÝ",
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "<b>107,00</b>",
        // The government flag ballot: 7 of 9 approve.
        "<td class=\"n\">7</td><td class=\"n\">77,78 %</td><td>Đạt</td>",
        "Hội &lt;Liên hiệp&gt; &amp; &quot;Phụ nữ&quot;",
    ] {
        assert!(html.contains(part), "the minutes lack {part:?}");
    }
    assert!(!html.contains("<Liên hiệp>"), "a name is escaped");
    assert_eq!(
        html.matches("<tr><td class=\"n\">").count(),
        9,
        "one line per unit"
    );
}

#[test]
fn the_minutes_name_the_absent_and_leave_lines_for_what_was_not_recorded() {
    let mut records = records();
    for r in &mut records {
        if let Record::Block(b) = r {
            b.meeting.absent = vec![unit(3), unit(7)];
        }
    }
    let r = Report::from_records(demo::BLOCK_ID, &records).expect("report");
    let html = r.minutes_html(&[]);
    assert!(
        html.contains("đại diện 7/9 đơn vị thành viên"),
        "seven of nine attended"
    );
    let absent = html
        .split("<p>Vắng mặt: ")
        .nth(1)
        .and_then(|t| t.split("</p>").next())
        .expect("an absence line");
    assert_eq!(
        absent.matches(", ").count(),
        1,
        "two units absent: {absent}"
    );
    let listed = html
        .split("<ol class=\"members\">")
        .nth(1)
        .expect("attendees");
    let listed = listed.split("</ol>").next().unwrap_or_default();
    assert_eq!(listed.matches("<li>").count(), 7);
    assert!(html.contains("<p>Thời gian: ……………………. Địa điểm: …………………….</p>"));
}

#[test]
fn meeting_details_refuse_an_outsider_and_long_text() {
    let records = records();
    let block = records
        .iter()
        .find_map(|r| match r {
            Record::Block(b) => Some(b.clone()),
            _ => None,
        })
        .expect("block");
    let outsider = uuid::Uuid::from_u128(0xdead);
    let m = MeetingDetails {
        absent: vec![outsider],
        ..MeetingDetails::default()
    };
    assert!(matches!(
        m.validate(&block),
        Err(shared::DomainError::UnitNotInBlock { unit }) if unit == outsider
    ));
    let m = MeetingDetails {
        place: "x".repeat(MeetingDetails::MAX_CHARS + 1),
        ..MeetingDetails::default()
    };
    assert!(matches!(
        m.validate(&block),
        Err(shared::DomainError::TextTooLong { field: "place", .. })
    ));
    let ok = MeetingDetails {
        place: "Hà Nội".into(),
        absent: vec![block.members[0]],
        ..MeetingDetails::default()
    };
    assert!(ok.validate(&block).is_ok());
}
