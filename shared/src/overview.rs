//! The central office's view of every block, across years, levels and provinces: each
//! block's identity, each round's state with how many sheets are submitted, and, once scored,
//! its ranking and award proposals (`report::Report`). Pure: built from records alone.

use std::collections::HashMap;

use uuid::Uuid;

use crate::collation;
use crate::model::{Block, BlockKind, BlockLevel, Record};
use crate::report::{Cell, RESULT_COLUMNS, Report, Table};
use crate::round::{RoundState, Stage};

/// Which blocks to show; `None` shows all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The emulation year.
    pub year: Option<u16>,
    /// The level.
    pub level: Option<BlockLevel>,
    /// The province (case ignored).
    pub province: Option<String>,
}

impl Filter {
    fn admits(&self, b: &Block) -> bool {
        self.year.is_none_or(|y| y == b.year)
            && self.level.is_none_or(|l| l == b.level)
            && self
                .province
                .as_deref()
                .is_none_or(|p| p.trim().to_lowercase() == b.province.trim().to_lowercase())
    }
}

/// One round's progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundLine {
    /// Its stage.
    pub stage: Stage,
    /// Open, locked or published.
    pub state: RoundState,
    /// Sheets submitted.
    pub submitted: usize,
    /// Sheets started.
    pub sheets: usize,
}

/// One block in the overview.
#[derive(Clone, Debug)]
pub struct BlockLine {
    /// The block.
    pub block: Block,
    /// Its rounds, in stage order.
    pub rounds: Vec<RoundLine>,
    /// Its results, once a round exists and the covenant scores.
    pub report: Option<Report>,
    /// Why there are no results, in Vietnamese, when there is a round but no report.
    pub problem: Option<String>,
}

/// Every block that `filter` admits, newest year first, then by level, province and name
/// in Vietnamese order.
pub fn overview(records: &[Record], filter: &Filter) -> Vec<BlockLine> {
    let mut by_block: HashMap<Uuid, Vec<Record>> = HashMap::new();
    let mut shared_records = Vec::new();
    for r in records {
        match r.scope() {
            Some(b) => by_block.entry(b).or_default().push(r.clone()),
            None => shared_records.push(r.clone()),
        }
    }
    let mut lines: Vec<BlockLine> = records
        .iter()
        .filter_map(|r| match r {
            Record::Block(b) if filter.admits(b) => Some(b.clone()),
            _ => None,
        })
        .map(|block| {
            let own = by_block.remove(&block.id).unwrap_or_default();
            line(block, own, &shared_records)
        })
        .collect();
    lines.sort_by(|a, b| {
        let (x, y) = (&a.block, &b.block);
        y.year
            .cmp(&x.year)
            .then(level_rank(x.level).cmp(&level_rank(y.level)))
            .then_with(|| collation::compare(&x.province, &y.province))
            .then_with(|| collation::compare(&x.name, &y.name))
    });
    lines
}

fn line(block: Block, mut own: Vec<Record>, shared_records: &[Record]) -> BlockLine {
    let mut rounds: Vec<RoundLine> = own
        .iter()
        .filter_map(|r| match r {
            Record::Round(round) => {
                let sheets: Vec<bool> = own
                    .iter()
                    .filter_map(|s| match s {
                        Record::ScoreSheet(s) if s.round_id == round.id => Some(s.submitted),
                        _ => None,
                    })
                    .collect();
                Some(RoundLine {
                    stage: round.stage,
                    state: round.state,
                    submitted: sheets.iter().filter(|s| **s).count(),
                    sheets: sheets.len(),
                })
            }
            _ => None,
        })
        .collect();
    rounds.sort_by_key(|r| stage_rank(r.stage));
    let (report, problem) = if rounds.is_empty() {
        (None, None)
    } else {
        own.extend(shared_records.iter().cloned());
        match Report::from_records(block.id, &own) {
            Ok(report) => (Some(report), None),
            Err(e) => (None, Some(e.message_vi())),
        }
    };
    BlockLine {
        block,
        rounds,
        report,
        problem,
    }
}

fn level_rank(l: BlockLevel) -> u8 {
    match l {
        BlockLevel::Central => 0,
        BlockLevel::Provincial => 1,
        BlockLevel::Local => 2,
    }
}

fn stage_rank(s: Stage) -> u8 {
    match s {
        Stage::SelfScoring => 0,
        Stage::CrossScoring => 1,
        Stage::Verification => 2,
        Stage::Agreed => 3,
    }
}

/// The level in Vietnamese.
pub fn level_vi(l: BlockLevel) -> &'static str {
    match l {
        BlockLevel::Central => "Trung ương",
        BlockLevel::Provincial => "Tỉnh, thành phố",
        BlockLevel::Local => "Cơ sở",
    }
}

/// Khối or cụm.
pub fn kind_vi(k: BlockKind) -> &'static str {
    match k {
        BlockKind::Khoi => "Khối",
        BlockKind::Cum => "Cụm",
    }
}

/// The stage in Vietnamese.
pub fn stage_vi(s: Stage) -> &'static str {
    match s {
        Stage::SelfScoring => "Tự chấm",
        Stage::CrossScoring => "Chấm chéo",
        Stage::Verification => "Thẩm định",
        Stage::Agreed => "Thống nhất",
    }
}

/// The round state in Vietnamese.
pub fn state_vi(s: RoundState) -> &'static str {
    match s {
        RoundState::Open => "đang mở",
        RoundState::Locked => "đã khóa",
        RoundState::Published => "đã công bố",
    }
}

/// A round's progress as one phrase: "Chấm chéo: đã khóa, 72/72 phiếu".
pub fn round_phrase(r: &RoundLine) -> String {
    format!(
        "{}: {}, {}/{} phiếu",
        stage_vi(r.stage),
        state_vi(r.state),
        r.submitted,
        r.sheets
    )
}

/// One row per block: identity, progress, leader and proposals.
pub fn blocks_table(lines: &[BlockLine]) -> Table {
    let header = [
        "Năm",
        "Cấp",
        "Tỉnh, thành phố",
        "Loại",
        "Tên khối, cụm",
        "Số thành viên",
        "Tiến độ các vòng chấm",
        "Dẫn đầu",
        "Điểm dẫn đầu",
        "Đề nghị khen thưởng",
    ]
    .map(String::from)
    .to_vec();
    let rows = lines
        .iter()
        .map(|l| {
            let b = &l.block;
            let progress: Vec<String> = l.rounds.iter().map(round_phrase).collect();
            let (leader, score, proposals) = match &l.report {
                Some(r) => {
                    let first = r.tally.units.first();
                    (
                        Cell::Text(first.map(|u| r.name(u.unit)).unwrap_or_default()),
                        first
                            .and_then(|u| u.block_score)
                            .map_or(Cell::Empty, |s| Cell::Points(s.rounded())),
                        Cell::Text(proposals_phrase(r)),
                    )
                }
                None => (
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Text(l.problem.clone().unwrap_or_default()),
                ),
            };
            vec![
                Cell::Count(u64::from(b.year)),
                Cell::Text(level_vi(b.level).to_owned()),
                Cell::Text(b.province.clone()),
                Cell::Text(kind_vi(b.kind).to_owned()),
                Cell::Text(b.name.clone()),
                Cell::Count(b.members.len() as u64),
                Cell::Text(progress.join("; ")),
                leader,
                score,
                proposals,
            ]
        })
        .collect();
    (header, rows)
}

/// Every unit's results across the blocks: the block's year and name, then its results row.
pub fn units_table(lines: &[BlockLine]) -> Table {
    // Content columns differ between covenants: keep the columns every table has.
    let mut header = vec!["Năm".to_owned(), "Khối, cụm".to_owned()];
    header.extend(RESULT_COLUMNS.map(String::from));
    let mut rows = Vec::new();
    for l in lines {
        let Some(r) = &l.report else { continue };
        for row in r.results_table().1 {
            let mut out = vec![
                Cell::Count(u64::from(l.block.year)),
                Cell::Text(l.block.name.clone()),
            ];
            out.extend(row.into_iter().take(RESULT_COLUMNS.len()));
            rows.push(out);
        }
    }
    (header, rows)
}

/// The proposals of a report as one phrase: "Cờ thi đua: A; Bằng khen: B, C".
pub fn proposals_phrase(r: &Report) -> String {
    r.tally
        .proposals
        .iter()
        .filter(|p| !p.proposed.is_empty())
        .map(|p| {
            let names: Vec<String> = p.proposed.iter().map(|u| r.name(*u)).collect();
            format!("{}: {}", p.award.label_vi(), names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}
