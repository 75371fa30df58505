//! The results as the meeting and the central office read them, and the documents written
//! from them: the results table as CSV, and the minutes of the review meeting (biên bản họp
//! bình xét) as printable HTML.
//!
//! A `Report` is built from a block's records alone (the same records a device holds), so
//! the server, the app or a test all compute the same document from the same data. Points
//! are printed as exact hundredths; nothing here rounds but `Score::rounded`.

use std::collections::HashMap;
use std::fmt::Write as _;

use uuid::Uuid;

use crate::ballot::{BallotPurpose, BallotState, Count};
use crate::collation;
use crate::covenant::document_order;
use crate::error::DomainError;
use crate::model::{Ballot, Block, Record, Round};
use crate::points::Points;
use crate::rules::TieBreak;
use crate::tally::{Tally, TallyInput, UnitResult, tally};
use crate::world::World;

pub use crate::correction::Correction;

/// A block's results, with the names a document prints.
#[derive(Clone, Debug)]
pub struct Report {
    /// The block.
    pub block: Block,
    /// Unit names by id.
    pub names: HashMap<Uuid, String>,
    /// The contents scored, (code, title) in covenant order.
    pub contents: Vec<(String, String)>,
    /// The tally.
    pub tally: Tally,
    /// Closed ballots with their counts, in the order they were created.
    pub ballots: Vec<(Ballot, Count)>,
}

/// A table: its header and its rows.
pub type Table = (Vec<String>, Vec<Vec<Cell>>);

/// The columns every results table starts with.
pub const RESULT_COLUMNS: [&str; 6] = [
    "Hạng",
    "Đơn vị",
    "Tự chấm",
    "Chấm chéo (số phiếu)",
    "Thẩm định",
    "Điểm khối",
];

/// One cell of a results table: text, a count or exact points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Nothing.
    Empty,
    /// Text.
    Text(String),
    /// A whole number.
    Count(u64),
    /// Points, exact to the hundredth.
    Points(Points),
}

impl Cell {
    fn text(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    fn points(p: Option<Points>) -> Cell {
        p.map_or(Cell::Empty, Cell::Points)
    }

    /// As a CSV field: points with a decimal comma; text a spreadsheet never runs.
    pub fn csv(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => defused(s),
            Cell::Count(n) => n.to_string(),
            Cell::Points(p) => p.to_vi_string(),
        }
    }
}

impl Report {
    /// The results of `block_id` from its records (deleted ones excluded by the caller).
    pub fn from_records(block_id: Uuid, records: &[Record]) -> Result<Report, DomainError> {
        let mut world = World::of_records(records);
        let mut names = HashMap::new();
        let mut rounds: Vec<Round> = Vec::new();
        let (mut sheets, mut cells, mut ballots) = (Vec::new(), Vec::new(), Vec::new());
        let mut block = None;
        for record in records {
            match record {
                Record::Unit(u) => {
                    names.insert(u.id, u.name.clone());
                }
                Record::Block(b) if b.id == block_id => block = Some(b.clone()),
                Record::Round(r) if r.block_id == block_id => rounds.push(r.clone()),
                Record::ScoreSheet(s) if s.block_id == block_id => sheets.push(s.clone()),
                Record::ScoreCell(c) if c.block_id == block_id => cells.push(c.clone()),
                Record::Ballot(b) if b.block_id == block_id && b.state == BallotState::Closed => {
                    if let Some(count) = &b.result {
                        ballots.push((b.clone(), count.clone()));
                    }
                }
                _ => {}
            }
        }
        let block = block.ok_or(DomainError::UnknownEntity {
            kind: "block",
            id: block_id,
        })?;
        // Every round of a year scores the same covenant; the latest round names it.
        rounds.sort_by_key(|r| r.id);
        let covenant_id = rounds
            .last()
            .map(|r| r.covenant_id)
            .ok_or(DomainError::NoRounds { block: block_id })?;
        let doc = world.covenant_doc(covenant_id)?;
        let table = world.table(covenant_id)?;
        let (contents, _) = document_order(&doc.contents, &doc.criteria);
        let contents = contents
            .iter()
            .map(|c| (c.code.clone(), c.title.clone()))
            .collect();
        ballots.sort_by_key(|(b, _)| b.id);
        let tally = tally(&TallyInput {
            block: &block,
            table: &table,
            rounds: &rounds,
            sheets: &sheets,
            cells: &cells,
            ballots: &ballots,
        })?;
        Ok(Report {
            block,
            names,
            contents,
            tally,
            ballots,
        })
    }

    /// A unit's name (its id when unknown).
    pub fn name(&self, unit: Uuid) -> String {
        self.names
            .get(&unit)
            .cloned()
            .unwrap_or_else(|| unit.to_string())
    }

    /// The results table: a header and one row per unit in rank order.
    pub fn results_table(&self) -> Table {
        let mut header: Vec<String> = RESULT_COLUMNS.map(String::from).to_vec();
        header.extend(
            self.contents
                .iter()
                .map(|(code, _)| format!("Nội dung {code}")),
        );
        header.extend(
            [
                "Điểm trừ",
                "Xếp loại",
                "Đề nghị khen thưởng",
                "Phân định bằng",
                "Ghi chú",
            ]
            .map(String::from),
        );
        let rows = self
            .tally
            .units
            .iter()
            .map(|r| {
                let mut row = vec![
                    r.rank.map_or(Cell::Empty, |n| Cell::Count(u64::from(n))),
                    Cell::Text(self.name(r.unit)),
                    Cell::points(r.self_total),
                    Cell::Count(r.cross.len() as u64),
                    Cell::points(r.verified.map(|s| s.rounded())),
                    Cell::points(r.block_score.map(|s| s.rounded())),
                ];
                row.extend(
                    r.content_scores
                        .iter()
                        .map(|s| Cell::points(s.map(|s| s.rounded()))),
                );
                row.extend([
                    Cell::points(r.deductions.map(|s| s.rounded())),
                    Cell::text(r.classification.map(|c| c.label_vi()).unwrap_or("")),
                    Cell::text(r.award.map(|a| a.label_vi()).unwrap_or("")),
                    Cell::Text(decided_by(&r.decided_by)),
                    Cell::Text(notes(r)),
                ]);
                row
            })
            .collect();
        (header, rows)
    }

    /// Every counted sheet's total: (stage, scorer, subject, total), self scores first, then
    /// cross scores, each by subject in rank order.
    pub fn sheets_table(&self) -> Table {
        let header = ["Vòng chấm", "Đơn vị chấm", "Đơn vị được chấm", "Tổng điểm"]
            .map(String::from)
            .to_vec();
        let mut rows = Vec::new();
        for r in &self.tally.units {
            if let Some(own) = r.self_total {
                rows.push(vec![
                    Cell::text("Tự chấm"),
                    Cell::Text(self.name(r.unit)),
                    Cell::Text(self.name(r.unit)),
                    Cell::Points(own),
                ]);
            }
        }
        for r in &self.tally.units {
            for c in &r.cross {
                rows.push(vec![
                    Cell::text("Chấm chéo"),
                    Cell::Text(self.name(c.scorer)),
                    Cell::Text(self.name(r.unit)),
                    Cell::Points(c.total),
                ]);
            }
        }
        (header, rows)
    }

    /// The closed ballots, one row per option.
    pub fn ballots_table(&self) -> Table {
        let header = [
            "Cuộc bỏ phiếu",
            "Nội dung",
            "Phương án",
            "Phiếu thu về",
            "Phiếu hợp lệ",
            "Số phiếu đồng ý",
            "Tỷ lệ (%)",
            "Kết quả",
        ]
        .map(String::from)
        .to_vec();
        let mut rows = Vec::new();
        for (ballot, count) in &self.ballots {
            for res in &count.results {
                rows.push(vec![
                    Cell::Text(ballot.title.clone()),
                    Cell::Text(purpose_vi(&ballot.purpose)),
                    Cell::Text(self.option_label(ballot, res.option)),
                    Cell::Count(u64::from(count.cast)),
                    Cell::Count(u64::from(count.valid)),
                    Cell::Count(u64::from(res.approvals)),
                    Cell::Points(Points::from_hundredths(i64::from(res.rate_bp))),
                    Cell::text(if res.passes {
                        "Đạt"
                    } else {
                        "Không đạt"
                    }),
                ]);
            }
        }
        (header, rows)
    }

    /// An option's label; an option standing for a member unit prints the unit's name.
    fn option_label(&self, ballot: &Ballot, option: Uuid) -> String {
        ballot
            .options
            .iter()
            .find(|o| o.id == option)
            .map(|o| o.unit.map_or_else(|| o.label.clone(), |u| self.name(u)))
            .unwrap_or_default()
    }

    /// The results table as CSV (BOM, CRLF, Vietnamese header), one row per unit in rank
    /// order; points with a decimal comma, as Excel reads them in a Vietnamese locale.
    pub fn csv(&self) -> String {
        let (header, rows) = self.results_table();
        let mut out = String::from("\u{feff}");
        crate::transfer::write_row(&mut out, header.iter().map(String::as_str));
        for row in rows {
            let fields: Vec<String> = row.iter().map(Cell::csv).collect();
            crate::transfer::write_row(&mut out, fields.iter().map(String::as_str));
        }
        out
    }

    /// The minutes of the review meeting as one printable HTML page (A4, the official
    /// header, the score table, the ranking, the ballots, the proposals and the signature
    /// blocks).
    pub fn minutes_html(&self, corrections: &[Correction]) -> String {
        let b = &self.block;
        let m = &b.meeting;
        // What was not recorded prints as a line to fill in by hand.
        let field = |s: &str| {
            if s.trim().is_empty() {
                "……………………".to_owned()
            } else {
                esc(s.trim())
            }
        };
        let (place, date) = (field(&m.place), field(&m.date));
        let named = |units: &mut Vec<(String, Uuid)>| {
            units.sort_by(|x, y| collation::compare(&x.0, &y.0));
        };
        let (mut present, mut absent): (Vec<_>, Vec<_>) = b
            .members
            .iter()
            .map(|u| (self.name(*u), *u))
            .partition(|(_, u)| b.attended(*u));
        named(&mut present);
        named(&mut absent);
        let mut h = String::new();
        let _ = write!(
            h,
            "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Biên bản họp bình xét – {name}</title><style>{css}</style></head><body>",
            name = esc(&b.name),
            css = MINUTES_CSS,
        );
        let _ = write!(
            h,
            "<header><div class=\"org\">{block}</div><div class=\"nation\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM<br><u>Độc lập - Tự do - Hạnh phúc</u></div></header>\
             <p class=\"date\"><i>{place}, {date}</i></p>\
             <h1>BIÊN BẢN<br>Họp bình xét thi đua năm {year}</h1>",
            block = esc(&b.name).to_uppercase(),
            year = b.year,
        );
        let _ = write!(
            h,
            "<p>Thời gian: {date}. Địa điểm: {place}.</p><p>Chủ trì: {chair}. Thư ký: {sec}.</p>\
             <p>Thành phần: đại diện {n}/{total} đơn vị thành viên:</p><ol class=\"members\">",
            chair = field(&m.chair),
            sec = field(&m.secretary),
            n = present.len(),
            total = b.members.len(),
        );
        for (name, _) in &present {
            let _ = write!(h, "<li>{}</li>", esc(name));
        }
        h.push_str("</ol>");
        if !absent.is_empty() {
            let names: Vec<String> = absent.iter().map(|(n, _)| esc(n)).collect();
            let _ = write!(h, "<p>Vắng mặt: {}.</p>", names.join(", "));
        }
        h.push_str("<h2>1. Kết quả chấm điểm và xếp hạng</h2><table><thead><tr><th>Hạng</th><th>Đơn vị</th><th>Tự chấm</th><th>Thẩm định</th><th>Điểm khối</th><th>Xếp loại</th><th>Phân định bằng</th></tr></thead><tbody>");
        for r in &self.tally.units {
            let _ = write!(
                h,
                "<tr><td class=\"n\">{rank}</td><td>{name}</td><td class=\"n\">{own}</td><td class=\"n\">{ver}</td><td class=\"n\"><b>{score}</b></td><td>{class}</td><td>{by}{note}</td></tr>",
                rank = r.rank.map(|n| n.to_string()).unwrap_or_else(|| "–".into()),
                name = esc(&self.name(r.unit)),
                own = vi(r.self_total),
                ver = vi(r.verified.map(|s| s.rounded())),
                score = vi(r.block_score.map(|s| s.rounded())),
                class = r.classification.map(|c| c.label_vi()).unwrap_or(""),
                by = esc(&decided_by(&r.decided_by)),
                note = match notes(r) {
                    n if n.is_empty() => String::new(),
                    n => format!("<br><i>{}</i>", esc(&n)),
                },
            );
        }
        h.push_str("</tbody></table>");
        if !corrections.is_empty() {
            // Published figures changed only by a written correction: each is named here.
            h.push_str("<p><b>Điểm đã đính chính sau khi khóa vòng chấm</b> (kết quả trên đã tính các đính chính này):</p><table class=\"corrections\"><thead><tr><th>Đơn vị được chấm</th><th>Đơn vị chấm</th><th>Tiêu chí</th><th>Trước</th><th>Sau</th><th>Lý do</th></tr></thead><tbody>");
            for c in corrections {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    esc(&self.name(c.unit)),
                    esc(&self.name(c.scorer)),
                    esc(&c.criterion),
                    esc(&c.before),
                    esc(&c.after),
                    esc(&c.reason),
                );
            }
            h.push_str("</tbody></table>");
        }
        h.push_str("<h2>2. Kết quả bỏ phiếu kín</h2>");
        if self.ballots.is_empty() {
            h.push_str("<p>Không có cuộc bỏ phiếu nào đã kết thúc.</p>");
        }
        for (ballot, count) in &self.ballots {
            if count.withheld {
                let _ = write!(
                    h,
                    "<h3>{} ({})</h3><p>{}</p>",
                    esc(&ballot.title),
                    purpose_vi(&ballot.purpose),
                    crate::ballot::withheld_vi(count.cast)
                );
                continue;
            }
            let _ = write!(
                h,
                "<h3>{title} ({purpose})</h3><p>Số phiếu phát ra {issued}, thu về {cast}; hợp lệ {valid}, không hợp lệ {invalid}, phiếu trắng {blank}. Tỷ lệ tính trên {base} người bỏ phiếu.</p><table><thead><tr><th>Phương án</th><th>Số phiếu đồng ý</th><th>Tỷ lệ</th><th>Kết quả</th></tr></thead><tbody>",
                title = esc(&ballot.title),
                purpose = purpose_vi(&ballot.purpose),
                issued = ballot.present.len(),
                cast = count.cast,
                valid = count.valid,
                invalid = count.invalid,
                blank = count.abstain,
                base = count.base,
            );
            for res in &count.results {
                let label = self.option_label(ballot, res.option);
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{},{:02} %</td><td>{}</td></tr>",
                    esc(&label),
                    res.approvals,
                    res.rate_bp / 100,
                    res.rate_bp % 100,
                    if res.passes {
                        "Đạt"
                    } else {
                        "Không đạt"
                    },
                );
            }
            h.push_str("</tbody></table>");
        }
        h.push_str("<h2>3. Đề nghị khen thưởng</h2><ul>");
        for p in &self.tally.proposals {
            let names: Vec<String> = p.proposed.iter().map(|u| esc(&self.name(*u))).collect();
            let _ = write!(
                h,
                "<li><b>{award}</b>: {list}{tied}</li>",
                award = p.award.label_vi(),
                list = if names.is_empty() {
                    "không có đơn vị".to_owned()
                } else {
                    names.join("; ")
                },
                tied = if p.tied_at_quota.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (đồng hạng tại chỉ tiêu, chờ hội nghị quyết định: {})",
                        p.tied_at_quota
                            .iter()
                            .map(|u| esc(&self.name(*u)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                },
            );
        }
        let _ = write!(
            h,
            "</ul><div class=\"closing\"><p>Biên bản được thông qua tại hội nghị và lập thành các bản có giá trị như nhau.</p>\
             <div class=\"signatures\"><div><b>THƯ KÝ</b><br><i>(Ký, ghi rõ họ tên)</i><div class=\"name\">{sec}</div></div>\
             <div><b>CHỦ TRÌ</b><br><i>(Ký, ghi rõ họ tên, đóng dấu)</i><div class=\"name\">{chair}</div></div></div></div></body></html>",
            sec = field(&m.secretary),
            chair = field(&m.chair),
        );
        h
    }
}

const MINUTES_CSS: &str = "@page{size:A4;margin:18mm 18mm 15mm}body{font-family:'Times New Roman',serif;font-size:12.5pt;line-height:1.3;color:#000}header{display:flex;justify-content:space-between;text-align:center;font-weight:bold;font-size:12pt}header .org{width:45%}header .nation{width:55%}.date{text-align:right}h1{text-align:center;font-size:15pt;margin:18pt 0}h2{font-size:13pt;margin:12pt 0 5pt}h3{font-size:13pt;font-style:italic;margin:10pt 0 4pt}table{border-collapse:collapse;width:100%;font-size:11pt}th,td{border:1px solid #000;padding:3pt 5pt;vertical-align:top}th{background:#eee}td.n{text-align:right;white-space:nowrap}tr{page-break-inside:avoid}ol.members{margin:4pt 0}.closing{page-break-inside:avoid}.signatures{display:flex;justify-content:space-around;text-align:center;margin-top:16pt}.signatures .name{margin-top:44pt;font-weight:bold}";

fn vi(p: Option<Points>) -> String {
    p.map(Points::to_vi_string).unwrap_or_default()
}

pub(crate) fn decided_by(steps: &[TieBreak]) -> String {
    steps
        .iter()
        .map(|t| match t {
            TieBreak::HeaviestContent => "điểm nội dung có điểm chuẩn cao nhất".to_owned(),
            TieBreak::Content { code } => format!("điểm nội dung {code}"),
            TieBreak::FewerDeductions => "ít điểm trừ hơn".to_owned(),
            TieBreak::Ballot => "bỏ phiếu phân định".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub(crate) fn purpose_vi(p: &BallotPurpose) -> String {
    match p {
        BallotPurpose::ElectHead => "suy tôn Khối trưởng".to_owned(),
        BallotPurpose::ElectDeputy => "suy tôn Khối phó".to_owned(),
        BallotPurpose::Award { award } => format!("đề nghị {}", award.label_vi()),
        BallotPurpose::TieBreak => "phân định thứ hạng".to_owned(),
    }
}

pub(crate) fn notes(r: &UnitResult) -> String {
    let mut n = Vec::new();
    if r.disqualified {
        n.push("vi phạm điều kiện loại trừ");
    }
    if r.unresolved_tie {
        n.push("đồng hạng chưa phân định");
    }
    n.join("; ")
}

/// A text cell that a spreadsheet must not read as a formula.
fn defused(s: &str) -> String {
    crate::transfer::defuse(s)
}

/// Text made safe for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
