//! The projector screen (màn hình trình chiếu) and results view of one block, as one HTML page
//! rendered from the block's records: who has submitted each sheet of every round, the
//! results with a bar chart once every round is published, and each ballot's turnout while
//! open and its count once closed.
//!
//! Results stay hidden until publication because the hall sees the screen: a locked but
//! unpublished ranking is the secretary's to check first. A ballot shows only how many have
//! voted until it closes, never who chose what. The page carries a small script that listens
//! to the block's live events and swaps in a fresh page within a moment of a sync landing.

use std::collections::HashMap;
use std::fmt::Write as _;

use uuid::Uuid;

use crate::ballot::{BallotState, Count};
use crate::collation;
use crate::model::{Ballot, Block, Record, Round, ScoreSheet};
use crate::overview::{stage_vi, state_vi};
use crate::report::{Report, decided_by, esc, notes, purpose_vi};
use crate::round::{Stage, expected_sheets, subjects_of};

/// The page for `block_id` from its live records and the units'.
pub fn board_html(block_id: Uuid, records: &[Record]) -> Option<String> {
    let mut block: Option<Block> = None;
    let mut names: HashMap<Uuid, (String, String)> = HashMap::new();
    let (mut rounds, mut sheets, mut ballots) = (Vec::<Round>::new(), Vec::new(), Vec::new());
    for r in records {
        match r {
            Record::Block(b) if b.id == block_id => block = Some(b.clone()),
            Record::Unit(u) => {
                names.insert(u.id, (u.name.clone(), u.short_name.clone()));
            }
            Record::Round(r) if r.block_id == block_id => rounds.push(r.clone()),
            Record::ScoreSheet(s) if s.block_id == block_id => sheets.push(s.clone()),
            Record::Ballot(b) if b.block_id == block_id => ballots.push(b.clone()),
            _ => {}
        }
    }
    let block = block?;
    rounds.sort_by_key(|r| (stage_order(r.stage), r.id));
    ballots.sort_by_key(|b| b.id);
    let name = |u: Uuid| names.get(&u).map_or_else(|| u.to_string(), |n| n.0.clone());
    let short = |u: Uuid| {
        names.get(&u).map_or_else(
            || u.to_string(),
            |n| {
                if n.1.is_empty() {
                    n.0.clone()
                } else {
                    n.1.clone()
                }
            },
        )
    };
    let mut members: Vec<Uuid> = block.members.clone();
    members.sort_by(|a, b| collation::compare(&short(*a), &short(*b)));

    let mut h = String::new();
    let _ = write!(
        h,
        "<main id=\"board\"><header><h1>{name}</h1><p class=\"sub\">Năm {year} · {n} đơn vị thành viên</p></header>",
        name = esc(&block.name),
        year = block.year,
        n = block.members.len(),
    );
    let published = crate::round::results_published(&rounds);
    // What the hall is waiting for comes first: an open ballot, then the counts, then the
    // published ranking; the sheets' progress last, without its chips once all is published.
    for ballot in ballots.iter().filter(|b| b.state == BallotState::Open) {
        ballot_html(&mut h, ballot, &name);
    }
    for ballot in ballots.iter().filter(|b| b.state == BallotState::Closed) {
        ballot_html(&mut h, ballot, &name);
    }
    if published {
        match Report::from_records(block_id, records) {
            Ok(report) => results_html(&mut h, &report, &short),
            Err(e) => {
                let _ = write!(h, "<p class=\"wait\">{}</p>", esc(&e.message_vi()));
            }
        }
    }
    if rounds.is_empty() {
        h.push_str("<p class=\"wait\">Chưa mở vòng chấm điểm nào.</p>");
    }
    for round in &rounds {
        round_html(&mut h, &block, round, &sheets, &members, &short, !published);
    }
    if !published && !rounds.is_empty() {
        h.push_str("<p class=\"wait\">Kết quả xếp hạng hiện ra khi thư ký công bố.</p>");
    }
    h.push_str("</main>");
    Some(format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Trình chiếu – {title}</title><style>{BOARD_CSS}</style></head><body data-block=\"{block_id}\">{h}<footer><span id=\"live\" role=\"status\">Đang kết nối…</span> <button id=\"full\" type=\"button\">Toàn màn hình</button></footer><script>{BOARD_JS}</script></body></html>",
        title = esc(&block.name),
    ))
}

fn stage_order(s: Stage) -> u8 {
    match s {
        Stage::SelfScoring => 0,
        Stage::CrossScoring => 1,
        Stage::Verification => 2,
        Stage::Agreed => 3,
    }
}

/// One round: its state, the sheets submitted of those expected, and a chip per scoring unit.
fn round_html(
    h: &mut String,
    block: &Block,
    round: &Round,
    sheets: &[ScoreSheet],
    members: &[Uuid],
    short: &dyn Fn(Uuid) -> String,
    chips: bool,
) {
    let submitted: Vec<&ScoreSheet> = sheets
        .iter()
        .filter(|s| s.round_id == round.id && s.submitted)
        .collect();
    let _ = write!(
        h,
        "<section class=\"round\" data-stage=\"{code}\"><h2>{stage} <span class=\"state\">{state}</span> <span class=\"count\">{done}/{all} phiếu đã nộp</span></h2><ul class=\"chips\">",
        code = round.stage.as_str(),
        stage = stage_vi(round.stage),
        state = state_vi(round.state),
        done = submitted.len(),
        all = expected_sheets(block, round),
    );
    for &unit in members.iter().filter(|_| chips) {
        let owed = subjects_of(block, round, unit).len();
        if owed == 0 {
            continue;
        }
        let done = submitted.iter().filter(|s| s.scorer == unit).count();
        let (class, mark) = if done >= owed {
            ("done", "✓")
        } else {
            ("", "…")
        };
        let _ = write!(
            h,
            "<li class=\"{class}\"><span>{mark}</span> {name} <small>{done}/{owed}</small></li>",
            name = esc(&short(unit)),
        );
    }
    h.push_str("</ul></section>");
}

/// The ranking with a bar per unit's block score, the tie-breaks that decided and the
/// proposals.
fn results_html(h: &mut String, report: &Report, short: &dyn Fn(Uuid) -> String) {
    let top = report
        .tally
        .units
        .iter()
        .filter_map(|u| u.block_score.map(|s| s.rounded().hundredths()))
        .max()
        .unwrap_or(0)
        .max(1);
    h.push_str("<section class=\"results\"><h2>Kết quả xếp hạng</h2><table><thead><tr><th>Hạng</th><th>Đơn vị</th><th>Tự chấm</th><th>Phiếu chấm chéo</th><th>Thẩm định</th><th class=\"chart\">Điểm khối</th><th>Xếp loại</th><th>Đề nghị</th></tr></thead><tbody>");
    for u in &report.tally.units {
        let score = u.block_score.map(|s| s.rounded());
        // Per mille of the highest score, in integers, so equal scores draw equal bars.
        let width = score.map_or(0, |s| s.hundredths().max(0) * 1000 / top);
        let tie = decided_by(&u.decided_by);
        let note = notes(u);
        let _ = write!(
            h,
            "<tr><td class=\"n rank\">{rank}</td><td class=\"name\">{name}{tie}{note}</td><td class=\"n\">{own}</td><td class=\"n\">{cross}</td><td class=\"n\">{ver}</td><td class=\"chart\"><span class=\"bar\" style=\"width:{w}.{f}%\"></span><b>{score}</b></td><td class=\"nw\">{class}</td><td>{award}</td></tr>",
            rank = u.rank.map_or_else(|| "–".to_owned(), |r| r.to_string()),
            name = esc(&short(u.unit)),
            tie = if tie.is_empty() {
                String::new()
            } else {
                format!("<br><small>Phân định bằng: {}</small>", esc(&tie))
            },
            note = if note.is_empty() {
                String::new()
            } else {
                format!("<br><small>{}</small>", esc(&note))
            },
            own = u.self_total.map(|p| p.to_vi_string()).unwrap_or_default(),
            cross = u.cross.len(),
            ver = u
                .verified
                .map(|s| s.rounded().to_vi_string())
                .unwrap_or_default(),
            w = width / 10,
            f = width % 10,
            score = score.map(|p| p.to_vi_string()).unwrap_or_default(),
            class = u.classification.map(|c| c.label_vi()).unwrap_or(""),
            award = u.award.map(|a| a.label_vi()).unwrap_or(""),
        );
    }
    h.push_str("</tbody></table></section>");
}

/// An open ballot's turnout, or a closed one's count.
fn ballot_html(h: &mut String, ballot: &Ballot, name: &dyn Fn(Uuid) -> String) {
    let _ = write!(
        h,
        "<section class=\"ballot\"><h2>{title} <span class=\"state\">{purpose}</span></h2>",
        title = esc(&ballot.title),
        purpose = esc(&purpose_vi(&ballot.purpose)),
    );
    match (&ballot.state, &ballot.result) {
        (BallotState::Closed, Some(count)) => count_html(h, ballot, count, name),
        _ => {
            let _ = write!(
                h,
                "<p class=\"turnout\">Đang bỏ phiếu: <b>{voted}/{present}</b> đại biểu đã bỏ phiếu</p>",
                voted = ballot.voted.len(),
                present = ballot.present.len(),
            );
        }
    }
    h.push_str("</section>");
}

fn count_html(h: &mut String, ballot: &Ballot, count: &Count, name: &dyn Fn(Uuid) -> String) {
    if count.withheld {
        let _ = write!(h, "<p>{}</p>", crate::ballot::withheld_vi(count.cast));
        return;
    }
    let _ = write!(
        h,
        "<p>Thu về {cast} phiếu: hợp lệ {valid}, không hợp lệ {invalid}, phiếu trắng {blank}. Tỷ lệ tính trên {base}.</p><table><tbody>",
        cast = count.cast,
        valid = count.valid,
        invalid = count.invalid,
        blank = count.abstain,
        base = count.base,
    );
    for r in &count.results {
        let label = ballot
            .options
            .iter()
            .find(|o| o.id == r.option)
            .map(|o| o.unit.map_or_else(|| o.label.clone(), name))
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{label}</td><td class=\"chart\"><span class=\"bar\" style=\"width:{w}.{f}%\"></span><b>{n} phiếu · {whole},{frac:02} %</b></td><td class=\"{pass}\">{verdict}</td></tr>",
            label = esc(&label),
            w = r.rate_bp.min(10_000) / 100,
            f = r.rate_bp.min(10_000) % 100 / 10,
            n = r.approvals,
            whole = r.rate_bp / 100,
            frac = r.rate_bp % 100,
            pass = if r.passes { "pass" } else { "fail" },
            verdict = if r.passes { "Đạt" } else { "Không đạt" },
        );
    }
    h.push_str("</tbody></table>");
}

/// Large type and strong contrast: read from the back of a hall.
const BOARD_CSS: &str = "*{box-sizing:border-box}body{margin:0;background:#0b1d2e;color:#f4f6f8;font:clamp(16px,1.6vw,30px)/1.35 system-ui,'Segoe UI',Roboto,sans-serif}main{padding:1.2em 2em 4em}h1{font-size:2.1em;margin:0}.sub{margin:.2em 0 1em;color:#b8c7d6}h2{font-size:1.35em;margin:1.1em 0 .4em}.state{font-size:.7em;background:#24476b;border-radius:.4em;padding:.1em .5em;vertical-align:middle}.count{font-size:.75em;color:#ffd27a;margin-left:.5em}.chips{display:flex;flex-wrap:wrap;gap:.4em;list-style:none;margin:0;padding:0}.chips li{background:#213447;border:2px solid #3d5870;border-radius:.5em;padding:.25em .6em}.chips li.done{background:#14532d;border-color:#22c55e}.chips small{color:#cbd5e1}.wait{font-size:1.2em;color:#ffd27a}table{border-collapse:collapse;width:100%}th,td{padding:.35em .5em;border-bottom:1px solid #2d4359;text-align:left;vertical-align:middle}th{color:#b8c7d6;font-weight:600;font-size:.8em;white-space:nowrap}td.n{text-align:right}td.rank{font-size:1.3em;font-weight:700;width:3em}td.chart{width:26%;position:relative}td.name,td.nw{white-space:nowrap}.results td{padding:.2em .5em}td.name small{white-space:normal}.bar{display:inline-block;height:1.1em;background:#38bdf8;border-radius:.2em;vertical-align:middle;margin-right:.4em;max-width:70%}td small{color:#b8c7d6}.pass{color:#4ade80;font-weight:700}.fail{color:#fca5a5}.turnout{font-size:1.3em}footer{position:fixed;bottom:0;left:0;right:0;display:flex;justify-content:space-between;align-items:center;padding:.3em 2em;background:#061320;font-size:.7em;color:#b8c7d6}footer button{font:inherit;min-height:44px;padding:0 1em;border-radius:.4em;border:1px solid #3d5870;background:#213447;color:#f4f6f8}#live.off{color:#fca5a5}";

/// Listens to the live events and swaps in a fresh page when this block changes; reloads on
/// every reconnection too, so nothing missed while the link was down stays missing.
const BOARD_JS: &str = "(()=>{const b=document.body.dataset.block,s=document.getElementById('live');let busy=false,again=false;const mark=(ok,m)=>{s.textContent=m;s.className=ok?'':'off'};async function refresh(){if(busy){again=true;return}busy=true;try{const r=await fetch(location.href,{cache:'no-store'});if(!r.ok)throw new Error('HTTP '+r.status);const d=new DOMParser().parseFromString(await r.text(),'text/html'),m=d.getElementById('board');if(m)document.getElementById('board').replaceWith(m);mark(true,'Đã cập nhật lúc '+new Date().toLocaleTimeString('vi-VN'))}catch(e){mark(false,'Mất kết nối, đang thử lại… ('+e.message+')')}busy=false;if(again){again=false;refresh()}}const es=new EventSource(new URL('../../events',location.href));es.addEventListener('ready',refresh);es.addEventListener('change',e=>{try{if(JSON.parse(e.data).block_id===b)refresh()}catch(_){}});es.onerror=()=>mark(false,'Mất kết nối, đang thử lại…');setInterval(refresh,30000);document.getElementById('full').onclick=()=>document.documentElement.requestFullscreen&&document.documentElement.requestFullscreen()})();";
