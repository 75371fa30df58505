//! Demo data: the central block of nine socio-political organisations and the 8-content
//! template covenant (100 points and up to 10 bonus) from DOMAIN.md. Ids are fixed, so a
//! fresh server, the tests and the app all name the same records.

use uuid::Uuid;

use crate::model::{
    Block, BlockKind, BlockLevel, Content, Covenant, Criterion, CriterionKind, Record, Unit,
};
use crate::points::Points;
use crate::rules::BlockRules;

/// The demo year.
pub const YEAR: u16 = 2026;

/// A fixed UUIDv7-shaped id: the demo's `n`-th record.
pub const fn id(n: u16) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n as u128)
}

/// The demo block's id.
pub const BLOCK_ID: Uuid = id(100);
/// The demo covenant's id.
pub const COVENANT_ID: Uuid = id(200);

/// The nine member units: (full name, short name).
pub const UNITS: [(&str, &str); 9] = [
    (
        "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam",
        "MTTQ Việt Nam",
    ),
    ("Trung ương Đoàn TNCS Hồ Chí Minh", "Trung ương Đoàn"),
    (
        "Trung ương Hội Cựu chiến binh Việt Nam",
        "Hội Cựu chiến binh",
    ),
    (
        "Tổng Liên đoàn Lao động Việt Nam",
        "Tổng Liên đoàn Lao động",
    ),
    ("Trung ương Hội Nông dân Việt Nam", "Hội Nông dân"),
    (
        "Trung ương Hội Liên hiệp Phụ nữ Việt Nam",
        "Hội Liên hiệp Phụ nữ",
    ),
    (
        "Liên hiệp các tổ chức Hữu nghị Việt Nam",
        "Liên hiệp Hữu nghị",
    ),
    (
        "Liên hiệp các Hội Văn học Nghệ thuật Việt Nam",
        "Liên hiệp Hội VHNT",
    ),
    (
        "Liên hiệp các Hội Khoa học và Kỹ thuật Việt Nam",
        "Liên hiệp Hội KH&KT",
    ),
];

type CriterionRow = (&'static str, CriterionKind, i64);

/// The eight contents with their criteria: (title, [(criterion title, kind, hundredths)]).
const CONTENTS: [(&str, &[CriterionRow]); 8] = [
    (
        "Tuyên truyền, giáo dục chính trị tư tưởng; học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
        &[
            (
                "Quán triệt, triển khai nghị quyết, chỉ thị của Đảng",
                CriterionKind::Standard,
                800,
            ),
            (
                "Học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
                CriterionKind::Standard,
                700,
            ),
        ],
    ),
    (
        "Thực hiện nhiệm vụ chính trị, chỉ tiêu được giao",
        &[
            (
                "Hoàn thành các chỉ tiêu, nhiệm vụ trọng tâm của năm",
                CriterionKind::Standard,
                1500,
            ),
            (
                "Thực hiện các nhiệm vụ đột xuất được giao",
                CriterionKind::Standard,
                1000,
            ),
        ],
    ),
    (
        "Tổ chức phong trào thi đua, cuộc vận động",
        &[
            (
                "Phát động, tổ chức phong trào thi đua theo chuyên đề",
                CriterionKind::Standard,
                800,
            ),
            (
                "Sơ kết, tổng kết, khen thưởng kịp thời",
                CriterionKind::Standard,
                700,
            ),
        ],
    ),
    (
        "Phát triển đoàn viên, hội viên; giám sát, phản biện xã hội",
        &[
            (
                "Phát triển đoàn viên, hội viên đạt chỉ tiêu",
                CriterionKind::Standard,
                500,
            ),
            (
                "Thực hiện giám sát, phản biện xã hội theo kế hoạch",
                CriterionKind::Standard,
                500,
            ),
        ],
    ),
    (
        "Xây dựng Đảng, đoàn thể vững mạnh; cơ quan đạt chuẩn văn hóa",
        &[
            (
                "Tổ chức Đảng, đoàn thể đạt trong sạch, vững mạnh",
                CriterionKind::Standard,
                600,
            ),
            ("Cơ quan đạt chuẩn văn hóa", CriterionKind::Standard, 400),
        ],
    ),
    (
        "Công tác thi đua, khen thưởng; nhân rộng điển hình tiên tiến",
        &[
            (
                "Công tác thi đua, khen thưởng đúng quy định",
                CriterionKind::Standard,
                500,
            ),
            (
                "Phát hiện, bồi dưỡng, nhân rộng điển hình tiên tiến",
                CriterionKind::Standard,
                500,
            ),
        ],
    ),
    (
        "Tham gia hoạt động của Khối; báo cáo đúng hạn",
        &[
            (
                "Tham gia đầy đủ các hoạt động của Khối",
                CriterionKind::Standard,
                500,
            ),
            (
                "Gửi báo cáo đúng hạn, đúng nội dung",
                CriterionKind::Standard,
                500,
            ),
            (
                "Mỗi lần báo cáo chậm hoặc vắng mặt không lý do",
                CriterionKind::Deduction,
                100,
            ),
        ],
    ),
    (
        "Công tác xã hội, an sinh",
        &[
            (
                "Tham gia các hoạt động an sinh xã hội, từ thiện",
                CriterionKind::Standard,
                500,
            ),
            (
                "Được tặng Cờ thi đua của Bộ, ngành, tỉnh",
                CriterionKind::Bonus,
                1000,
            ),
            (
                "Tập thể bị kỷ luật hoặc mất đoàn kết nội bộ",
                CriterionKind::Disqualifier,
                0,
            ),
        ],
    ),
];

/// Every demo record: units, the block, its covenant, contents and criteria.
pub fn records() -> Vec<Record> {
    let mut out = Vec::new();
    let unit_ids: Vec<Uuid> = (0..UNITS.len() as u16).map(|i| id(1 + i)).collect();
    for ((name, short), uid) in UNITS.iter().zip(&unit_ids) {
        out.push(Record::Unit(Unit {
            id: *uid,
            name: (*name).into(),
            short_name: (*short).into(),
        }));
    }
    out.push(Record::Block(Block {
        id: BLOCK_ID,
        name: "Khối các tổ chức chính trị - xã hội Trung ương".into(),
        year: YEAR,
        kind: BlockKind::Khoi,
        level: BlockLevel::Central,
        province: String::new(),
        members: unit_ids.clone(),
        head: unit_ids.first().copied(),
        deputy: unit_ids.get(1).copied(),
        rules: BlockRules::default(),
        meeting: Default::default(),
    }));
    out.push(Record::Covenant(Covenant::draft(
        COVENANT_ID,
        BLOCK_ID,
        format!("Giao ước thi đua năm {YEAR}"),
    )));
    let mut next_criterion = 1000u16;
    for (ci, (title, criteria)) in CONTENTS.iter().enumerate() {
        let content_id = id(300 + ci as u16);
        out.push(Record::Content(Content {
            id: content_id,
            block_id: BLOCK_ID,
            covenant_id: COVENANT_ID,
            position: ci as u32,
            code: (ci + 1).to_string(),
            title: (*title).into(),
        }));
        for (ki, (ctitle, kind, h)) in criteria.iter().enumerate() {
            out.push(Record::Criterion(Criterion {
                id: id(next_criterion),
                block_id: BLOCK_ID,
                content_id,
                parent_id: None,
                position: ki as u32,
                code: format!("{}.{}", ci + 1, ki + 1),
                title: (*ctitle).into(),
                guidance: String::new(),
                kind: *kind,
                max_points: Points::from_hundredths(*h),
            }));
            next_criterion += 1;
        }
    }
    // Criterion 2.1 (15 points) is scored through two sub-criteria.
    for (k, (title, h)) in SUBCRITERIA_2_1.iter().enumerate() {
        out.push(Record::Criterion(Criterion {
            id: id(1100 + k as u16),
            block_id: BLOCK_ID,
            content_id: id(301),
            parent_id: Some(CRITERION_2_1),
            position: k as u32,
            code: format!("2.1.{}", k + 1),
            title: (*title).into(),
            guidance: String::new(),
            kind: CriterionKind::Standard,
            max_points: Points::from_hundredths(*h),
        }));
    }
    out
}

/// Criterion 2.1, which has sub-criteria.
pub const CRITERION_2_1: Uuid = id(1002);

const SUBCRITERIA_2_1: [(&str, i64); 2] = [
    ("Hoàn thành chỉ tiêu theo Nghị quyết Đại hội", 1000),
    ("Hoàn thành nhiệm vụ trọng tâm được giao trong năm", 500),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn template_adds_up_to_100_with_10_bonus() {
        let recs = records();
        let standard: i64 = recs
            .iter()
            .filter_map(|r| match r {
                Record::Criterion(c)
                    if c.kind == CriterionKind::Standard && c.parent_id.is_none() =>
                {
                    Some(c.max_points.hundredths())
                }
                _ => None,
            })
            .sum();
        assert_eq!(standard, 10_000);
        let contents = recs.iter().filter(|r| r.record_type() == "content").count();
        assert_eq!(contents, 8);
        let units = recs.iter().filter(|r| r.record_type() == "unit").count();
        assert_eq!(units, 9);
        let ids: HashSet<Uuid> = recs.iter().map(Record::id).collect();
        assert_eq!(ids.len(), recs.len(), "ids are unique");
        assert!(ids.iter().all(|i| i.get_version_num() == 7));
    }

    #[test]
    fn content_points_match_the_template() {
        // 15 · 25 · 15 · 10 · 10 · 10 · 10 · 5, as DOMAIN.md lists them.
        let expected = [15, 25, 15, 10, 10, 10, 10, 5];
        for (i, (_, criteria)) in CONTENTS.iter().enumerate() {
            let sum: i64 = criteria
                .iter()
                .filter(|(_, k, _)| *k == CriterionKind::Standard)
                .map(|(_, _, h)| h)
                .sum();
            assert_eq!(sum, expected[i] * 100, "content {}", i + 1);
        }
    }
}
