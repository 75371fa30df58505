//! Hand-computed cases on the demo data, run by the native tests and, unchanged, by the
//! browser tests: a tablet must compute exactly what the central office computes.
//!
//! The conference: the nine units of the central block, the 8-content covenant (100 points,
//! up to 10 bonus, criterion 2.1 split in 2.1.1 and 2.1.2), a self round, an all-score-all
//! cross round and a verification round; the block's default rules (trimmed mean, 90/70/50,
//! heaviest content then fewer deductions then a ballot, 1 Government flag, 2 emulation flags,
//! 3 certificates, more than half of all members). Each sheet is described by the points lost
//! on content 2, the points lost elsewhere, its bonus, its deduction count and whether it
//! marks a disqualifier, so every total below can be checked with pencil and paper.

use uuid::Uuid;

use crate::aggregate::{Aggregation, Score};
use crate::ballot::{BallotOption, BallotPaper, BallotPurpose, BallotState, Count, count_ballot};
use crate::covenant::{CovenantDoc, ScoringTable};
use crate::demo;
use crate::model::{Ballot, Block, CriterionKind, Record, Round, ScoreCell, ScoreSheet};
use crate::points::Points;
use crate::round::{Assignment, RoundState, Stage};
use crate::rules::{AwardKind, Classification, TieBreak};
use crate::sheet::CellValue;
use crate::tally::{Tally, TallyInput, tally};

/// One sheet, described the way a secretary would check it by hand.
#[derive(Clone, Copy, Debug)]
pub struct SheetPlan {
    /// Points lost on content 2 (the heaviest, 25 points).
    pub lost_content_2: i64,
    /// Points lost on the other contents, in hundredths.
    pub lost_elsewhere: i64,
    /// Bonus points given.
    pub bonus: i64,
    /// Occurrences of the 1-point deduction 7.3.
    pub deductions: u32,
    /// Whether disqualifier 8.3 is marked.
    pub disqualified: bool,
}

const fn plan(lost_content_2: i64, lost_elsewhere: i64) -> SheetPlan {
    SheetPlan {
        lost_content_2,
        lost_elsewhere,
        bonus: 0,
        deductions: 0,
        disqualified: false,
    }
}

/// A whole conference's records.
#[derive(Clone, Debug)]
pub struct Conference {
    /// The block.
    pub block: Block,
    /// The covenant.
    pub doc: CovenantDoc,
    /// Its scoring table.
    pub table: ScoringTable,
    /// Rounds.
    pub rounds: Vec<Round>,
    /// Sheets.
    pub sheets: Vec<ScoreSheet>,
    /// Cells.
    pub cells: Vec<ScoreCell>,
    /// Closed ballots with their papers.
    pub ballots: Vec<(Ballot, Vec<BallotPaper>)>,
}

/// The demo block and covenant.
pub fn demo_block_and_covenant() -> (Block, CovenantDoc) {
    let (mut block, mut covenant) = (None, None);
    let (mut contents, mut criteria) = (Vec::new(), Vec::new());
    for r in demo::records() {
        match r {
            Record::Block(b) => block = Some(b),
            Record::Covenant(c) => covenant = Some(c),
            Record::Content(c) => contents.push(c),
            Record::Criterion(c) => criteria.push(c),
            _ => {}
        }
    }
    let doc = CovenantDoc {
        covenant: covenant.unwrap_or_else(|| unreachable!("the demo has a covenant")),
        contents,
        criteria,
        signatures: Vec::new(),
    };
    (
        block.unwrap_or_else(|| unreachable!("the demo has a block")),
        doc,
    )
}

/// The n-th demo unit (1 to 9).
pub fn unit(n: u16) -> Uuid {
    demo::id(n)
}

impl Conference {
    /// An empty conference on the demo block and covenant.
    pub fn empty() -> Conference {
        let (block, doc) = demo_block_and_covenant();
        Conference::new(block, doc)
    }

    /// An empty conference on `block` and a sound covenant `doc`.
    pub fn new(block: Block, doc: CovenantDoc) -> Conference {
        let table = ScoringTable::build(&doc, block.rules.point_step)
            .unwrap_or_else(|p| unreachable!("the covenant is sound: {p:?}"));
        Conference {
            block,
            doc,
            table,
            rounds: Vec::new(),
            sheets: Vec::new(),
            cells: Vec::new(),
            ballots: Vec::new(),
        }
    }

    /// Adds a round of `stage`; returns its id.
    pub fn round(&mut self, stage: Stage) -> Uuid {
        let id = demo::id(5000 + self.rounds.len() as u16);
        self.rounds.push(Round {
            id,
            block_id: self.block.id,
            covenant_id: self.table.covenant.id,
            stage,
            state: RoundState::Locked,
            assignment: Assignment::AllScoreAll,
        });
        id
    }

    /// Adds a submitted sheet by `scorer` on `subject` following `plan`.
    pub fn sheet(&mut self, round: Uuid, scorer: Uuid, subject: Uuid, plan: SheetPlan) {
        let n = self.sheets.len() as u128;
        let sheet_id = Uuid::from_u128(0x0190_0000_0000_7000_9000_0000_0000_0000 | (n << 32));
        self.sheets.push(ScoreSheet {
            id: sheet_id,
            block_id: self.block.id,
            round_id: round,
            scorer,
            subject,
            submitted: true,
        });
        let mut lost2 = plan.lost_content_2 * 100;
        let mut lost = plan.lost_elsewhere;
        // Content 2 loses from 2.2 first, then 2.1.1, 2.1.2; the others from the first leaf on.
        let mut order: Vec<usize> = (0..self.table.criteria.len()).collect();
        order.sort_by_key(|i| {
            let c = &self.table.criteria[*i];
            (c.code != "2.2", *i)
        });
        let mut k = 0u128;
        for i in order {
            let c = &self.table.criteria[i];
            let Ok(leaf) = self.table.leaf(c.id) else {
                continue;
            };
            let value = match leaf.kind {
                CriterionKind::Standard => {
                    let pool = if self.table.contents[leaf.content].code == "2" {
                        &mut lost2
                    } else {
                        &mut lost
                    };
                    let take = (*pool).min(leaf.max.hundredths());
                    *pool -= take;
                    CellValue::Points(Points::from_hundredths(leaf.max.hundredths() - take))
                }
                CriterionKind::Bonus => CellValue::Points(Points::whole(plan.bonus)),
                CriterionKind::Deduction => CellValue::Count(plan.deductions),
                CriterionKind::Disqualifier => CellValue::Flag(plan.disqualified),
            };
            k += 1;
            self.cells.push(ScoreCell {
                id: Uuid::from_u128(sheet_id.as_u128() | k),
                block_id: self.block.id,
                sheet_id,
                criterion_id: c.id,
                value,
                note: String::new(),
                evidence: String::new(),
            });
        }
    }

    /// Adds a closed ballot with one option per listed unit and the given approvals; the
    /// other present voters abstain.
    pub fn ballot(&mut self, purpose: BallotPurpose, approvals: &[(Uuid, u32)], present: usize) {
        let id = demo::id(6000 + self.ballots.len() as u16);
        let options: Vec<BallotOption> = approvals
            .iter()
            .enumerate()
            .map(|(i, (u, _))| BallotOption {
                id: demo::id(6100 + 10 * self.ballots.len() as u16 + i as u16),
                label: format!("Đơn vị {u}"),
                unit: Some(*u),
            })
            .collect();
        // Paper j approves every option that still has approvals left to give.
        let mut left: Vec<u32> = approvals.iter().map(|(_, a)| *a).collect();
        let papers = (0..present)
            .map(|_| {
                let chosen = options
                    .iter()
                    .zip(left.iter_mut())
                    .filter_map(|(o, l)| {
                        (*l > 0).then(|| {
                            *l -= 1;
                            o.id
                        })
                    })
                    .collect::<std::collections::BTreeSet<_>>();
                if chosen.is_empty() {
                    BallotPaper::Abstain
                } else {
                    BallotPaper::Choices { options: chosen }
                }
            })
            .collect();
        let ballot = Ballot {
            id,
            block_id: self.block.id,
            title: "Phiếu bầu".into(),
            purpose,
            max_choices: options.len() as u32,
            options,
            rule: self.block.rules.majority,
            eligible: self.block.members.clone(),
            present: self.block.members[..present].to_vec(),
            state: BallotState::Closed,
            voted: Vec::new(),
            result: None,
        };
        self.ballots.push((ballot, papers));
    }

    /// Counts every ballot and runs the tally.
    pub fn tally(&self) -> Result<Tally, crate::DomainError> {
        let counted: Vec<(Ballot, Count)> = self
            .ballots
            .iter()
            .map(|(b, papers)| Ok((b.clone(), count_ballot(b, papers)?)))
            .collect::<Result<_, crate::DomainError>>()?;
        tally(&TallyInput {
            block: &self.block,
            table: &self.table,
            rounds: &self.rounds,
            sheets: &self.sheets,
            cells: &self.cells,
            ballots: &counted,
        })
    }
}

/// Cross sheets on each subject, by scorer in member order (the subject itself skipped).
const CROSS: [[SheetPlan; 8]; 9] = {
    const fn with_bonus(p: SheetPlan, bonus: i64) -> SheetPlan {
        SheetPlan { bonus, ..p }
    }
    const fn with_deductions(p: SheetPlan, deductions: u32) -> SheetPlan {
        SheetPlan { deductions, ..p }
    }
    [
        // U1: bonus 10; lost 2, 2.5, 3, 3, 3.5, 4, 5, 1.5 → 108, 107.5, 107, 107, 106.5, 106,
        // 105, 108.5; trimmed (drop 105 and 108.5) = 642 / 6 = 107.
        [
            with_bonus(plan(0, 200), 10),
            with_bonus(plan(0, 250), 10),
            with_bonus(plan(0, 300), 10),
            with_bonus(plan(0, 300), 10),
            with_bonus(plan(0, 350), 10),
            with_bonus(plan(0, 400), 10),
            with_bonus(plan(0, 500), 10),
            with_bonus(plan(0, 150), 10),
        ],
        // U2: 90 ×6, 91, 89 → 90; content 2 = 24.
        [
            plan(1, 900),
            plan(1, 900),
            plan(1, 900),
            plan(1, 900),
            plan(1, 900),
            plan(1, 900),
            plan(1, 800),
            plan(1, 1000),
        ],
        // U3: 90 ×6, 91, 89 → 90; content 2 = 23, so below U2 on the heaviest content.
        [
            plan(2, 800),
            plan(2, 800),
            plan(2, 800),
            plan(2, 800),
            plan(2, 800),
            plan(2, 800),
            plan(2, 700),
            plan(2, 900),
        ],
        // U4: 86 everywhere, no deductions.
        [plan(0, 1400); 8],
        // U5: 86 everywhere (lost 12, two 1-point deductions): below U4 on deductions.
        [with_deductions(plan(0, 1200), 2); 8],
        // U6: 95 everywhere; disqualified by its own self sheet.
        [plan(0, 500); 8],
        // U7 and U8: 85 everywhere, equal on every tie-break: an unresolved tie.
        [plan(3, 1200); 8],
        [plan(3, 1200); 8],
        // U9: 50 ×6, 49, 51 → 50: exactly the "completed" threshold.
        [
            plan(10, 4000),
            plan(10, 4000),
            plan(10, 4100),
            plan(10, 3900),
            plan(10, 4000),
            plan(10, 4000),
            plan(10, 4000),
            plan(10, 4000),
        ],
    ]
};

/// The central block's year-end conference, as described in the module's header.
pub fn central_block_conference() -> Conference {
    let mut c = Conference::empty();
    let self_round = c.round(Stage::SelfScoring);
    let cross_round = c.round(Stage::CrossScoring);
    let verification = c.round(Stage::Verification);
    for s in 1..=9u16 {
        let mut own = plan(0, 0);
        own.bonus = if s == 1 { 10 } else { 0 };
        own.deductions = if s == 5 { 2 } else { 0 };
        own.disqualified = s == 6;
        c.sheet(self_round, unit(s), unit(s), own);
        let mut scorers = (1..=9u16).filter(|x| *x != s);
        for p in CROSS[usize::from(s - 1)] {
            let scorer = scorers.next().unwrap_or_else(|| unreachable!("8 scorers"));
            c.sheet(cross_round, unit(scorer), unit(s), p);
        }
    }
    // The head (U1) verifies U9 at 50.5.
    c.sheet(verification, unit(1), unit(9), plan(10, 3950));
    // 9 members, all present: more than half needs 5.
    c.ballot(
        BallotPurpose::Award {
            award: AwardKind::GovernmentFlag,
        },
        &[(unit(1), 7)],
        9,
    );
    c.ballot(
        BallotPurpose::Award {
            award: AwardKind::EmulationFlag,
        },
        &[(unit(2), 6), (unit(3), 4)],
        9,
    );
    c
}

/// The demo block's records with `central_block_conference` in it, as a server stores them
/// after the meeting: rounds, submitted sheets, cells and the closed ballots with counts.
pub fn central_block_records() -> Vec<crate::model::Record> {
    use crate::model::Record;
    let conf = central_block_conference();
    let mut records = demo::records();
    records.extend(conf.rounds.into_iter().map(Record::Round));
    records.extend(conf.sheets.into_iter().map(Record::ScoreSheet));
    records.extend(conf.cells.into_iter().map(Record::ScoreCell));
    for (mut ballot, papers) in conf.ballots {
        ballot.result = crate::ballot::count_ballot(&ballot, &papers).ok();
        records.push(Record::Ballot(ballot));
    }
    records
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn p(s: &str) -> Points {
    s.parse().unwrap_or_else(|_| unreachable!("a literal"))
}

/// One unit's expected line: unit, block score, rank, class, decided by, unresolved tie,
/// disqualified, award.
type Expected = (
    u16,
    &'static str,
    u32,
    Classification,
    &'static [&'static str],
    bool,
    bool,
    Option<AwardKind>,
);

/// A named check that returns what differs from the hand computation.
pub type Case = (&'static str, fn() -> Result<(), String>);

/// The ranking, scores, classes, tie-breaks and proposals of `central_block_conference`.
pub fn check_central_block() -> Result<(), String> {
    let c = central_block_conference();
    let t = c.tally().map_err(|e| e.to_string())?;
    use Classification::*;
    let want: [Expected; 9] = [
        (
            1,
            "107",
            1,
            Excellent,
            &[],
            false,
            false,
            Some(AwardKind::GovernmentFlag),
        ),
        (
            6,
            "95",
            2,
            Excellent,
            &[],
            false,
            true,
            Some(AwardKind::CertificateOfMerit),
        ),
        (
            2,
            "90",
            3,
            Excellent,
            &["heaviest_content"],
            false,
            false,
            Some(AwardKind::EmulationFlag),
        ),
        (
            3,
            "90",
            4,
            Excellent,
            &["heaviest_content"],
            false,
            false,
            Some(AwardKind::CertificateOfMerit),
        ),
        (
            4,
            "86",
            5,
            Good,
            &["fewer_deductions"],
            false,
            false,
            Some(AwardKind::CertificateOfMerit),
        ),
        (5, "86", 6, Good, &["fewer_deductions"], false, false, None),
        (7, "85", 7, Good, &[], true, false, None),
        (8, "85", 7, Good, &[], true, false, None),
        (9, "50", 9, Completed, &[], false, false, None),
    ];
    expect("units", t.units.len(), 9)?;
    for (r, (n, score, rank, class, decided, unresolved, disq, award)) in t.units.iter().zip(want) {
        let at = format!("U{n}");
        expect(&format!("{at} order"), r.unit, unit(n))?;
        expect(
            &format!("{at} score"),
            r.block_score.map(Score::rounded),
            Some(p(score)),
        )?;
        expect(&format!("{at} rank"), r.rank, Some(rank))?;
        expect(&format!("{at} class"), r.classification, Some(class))?;
        let keys: Vec<&str> = r.decided_by.iter().map(TieBreak::key).collect();
        expect(&format!("{at} decided by"), keys.as_slice(), decided)?;
        expect(&format!("{at} unresolved"), r.unresolved_tie, unresolved)?;
        expect(&format!("{at} disqualified"), r.disqualified, disq)?;
        expect(&format!("{at} award"), r.award, award)?;
        expect(&format!("{at} cross scores"), r.cross.len(), 8)?;
    }
    let u = |n: u16| &t.units[t.units.iter().position(|r| r.unit == unit(n)).unwrap_or(0)];
    // Self scores: 110 with the capped bonus, 98 with two deductions, 100 otherwise.
    expect("U1 self", u(1).self_total, Some(p("110")))?;
    expect("U5 self", u(5).self_total, Some(p("98")))?;
    expect("U9 self", u(9).self_total, Some(p("100")))?;
    expect(
        "U9 verified",
        u(9).verified.map(Score::rounded),
        Some(p("50.5")),
    )?;
    expect("U2 verified", u(2).verified, None)?;
    // Content 2 for the tie-break: 24 against 23.
    expect(
        "U2 content 2",
        u(2).content_scores[1].map(Score::rounded),
        Some(p("24")),
    )?;
    expect(
        "U3 content 2",
        u(3).content_scores[1].map(Score::rounded),
        Some(p("23")),
    )?;
    expect(
        "U5 deductions",
        u(5).deductions.map(Score::rounded),
        Some(p("2")),
    )?;
    // Proposals.
    let ids = |v: &[u16]| v.iter().map(|n| unit(*n)).collect::<Vec<_>>();
    expect("proposals", t.proposals.len(), 3)?;
    expect(
        "government flag",
        t.proposals[0].proposed.clone(),
        ids(&[1]),
    )?;
    expect(
        "emulation flag candidates",
        t.proposals[1].candidates.clone(),
        ids(&[2, 3]),
    )?;
    expect(
        "emulation flag (U3 has 4 of 9 votes)",
        t.proposals[1].proposed.clone(),
        ids(&[2]),
    )?;
    expect(
        "certificates",
        t.proposals[2].proposed.clone(),
        ids(&[6, 3, 4]),
    )?;
    Ok(())
}

/// The same conference under other rules: mean excluding own, quotas that cut a tie.
pub fn check_rule_variants() -> Result<(), String> {
    let mut c = central_block_conference();
    c.block.rules.aggregation = Aggregation::MeanExcludingOwn;
    let t = c.tally().map_err(|e| e.to_string())?;
    // U1: 855.5 / 8 = 106.9375 → 106.94 (half up).
    expect(
        "U1 mean",
        t.units[0].block_score.map(Score::rounded),
        Some(p("106.94")),
    )?;
    expect(
        "U1 exact",
        t.units[0].block_score.map(|s| (s.hundredths, s.den)),
        Some((85_550, 8)),
    )?;

    let mut c = central_block_conference();
    c.block.rules.awards[2].quota = 5;
    let t = c.tally().map_err(|e| e.to_string())?;
    // Certificates: U6, U3, U4, U5 fit; U7 and U8 share rank 7 for the fifth place.
    let ids = |v: &[u16]| v.iter().map(|n| unit(*n)).collect::<Vec<_>>();
    expect(
        "certificates",
        t.proposals[2].proposed.clone(),
        ids(&[6, 3, 4, 5]),
    )?;
    expect(
        "tied at quota",
        t.proposals[2].tied_at_quota.clone(),
        ids(&[7, 8]),
    )?;

    // A tie-break ballot separates U7 and U8.
    let mut c = central_block_conference();
    c.ballot(BallotPurpose::TieBreak, &[(unit(7), 3), (unit(8), 6)], 9);
    let t = c.tally().map_err(|e| e.to_string())?;
    expect(
        "U8 before U7",
        (t.units[6].unit, t.units[7].unit),
        (unit(8), unit(7)),
    )?;
    expect(
        "ranks",
        (t.units[6].rank, t.units[7].rank),
        (Some(7), Some(8)),
    )?;
    let keys: Vec<&str> = t.units[6].decided_by.iter().map(TieBreak::key).collect();
    expect("decided by ballot", keys, vec!["ballot"])?;

    // The agreed method: only units with an agreed sheet get a block score and a rank.
    let mut c = central_block_conference();
    c.block.rules.aggregation = Aggregation::Agreed;
    let agreed = c.round(Stage::Agreed);
    c.sheet(agreed, unit(1), unit(4), plan(0, 150));
    c.sheet(
        agreed,
        unit(1),
        unit(9),
        SheetPlan {
            deductions: 3,
            ..plan(0, 4000)
        },
    );
    let t = c.tally().map_err(|e| e.to_string())?;
    expect(
        "U4 first on 98.5",
        (t.units[0].unit, t.units[0].rank),
        (unit(4), Some(1)),
    )?;
    expect("U4 agreed", t.units[0].agreed, Some(p("98.5")))?;
    // U9: 60 − 3 deductions = 57.
    expect(
        "U9 agreed",
        t.units[1].block_score.map(Score::rounded),
        Some(p("57")),
    )?;
    expect(
        "U9 class",
        t.units[1].classification,
        Some(Classification::Completed),
    )?;
    expect(
        "others unranked",
        t.units[2..].iter().all(|u| u.rank.is_none()),
        true,
    )?;
    expect(
        "U1 unranked but keeps its cross scores",
        t.units[2..]
            .iter()
            .any(|u| u.unit == unit(1) && u.cross.len() == 8),
        true,
    )?;

    // Without the award ballots, flags wait for them.
    let mut c = central_block_conference();
    c.ballots.clear();
    let t = c.tally().map_err(|e| e.to_string())?;
    expect("awaiting", t.proposals[0].awaiting_ballot, true)?;
    expect("no flag yet", t.proposals[0].proposed.len(), 0)?;
    expect("candidates", t.proposals[0].candidates.clone(), ids(&[1]))?;
    Ok(())
}

/// A large, random but reproducible conference for benchmarks: `units` members who all
/// self-score and score each other (so `units` scorers per unit) on a covenant of
/// `contents × per_content` criteria, the last three a bonus, a deduction and a disqualifier.
pub fn synthetic(units: u16, contents: u16, per_content: u16, seed: u64) -> Conference {
    use crate::model::{Content, Covenant, CovenantStatus, Criterion};
    let mut lot = crate::lot::Lot::new(seed);
    let id = |kind: u128, n: u128| {
        Uuid::from_u128(0x0190_0000_0000_7000_a000_0000_0000_0000 | (kind << 40) | n)
    };
    let (mut block, _) = demo_block_and_covenant();
    block.members = (1..=u128::from(units)).map(|n| id(1, n)).collect();
    let covenant_id = id(2, 0);
    let mut doc = CovenantDoc {
        covenant: Covenant {
            id: covenant_id,
            block_id: block.id,
            title: "Giao ước thử tải".into(),
            total_points: Points::ZERO,
            bonus_cap: Points::whole(10),
            status: CovenantStatus::Signed,
            version: 1,
            amends: None,
            amendment_reason: String::new(),
        },
        contents: Vec::new(),
        criteria: Vec::new(),
        signatures: Vec::new(),
    };
    let mut total = 0;
    let n_criteria = u128::from(contents) * u128::from(per_content);
    for k in 0..contents {
        let content_id = id(3, u128::from(k));
        doc.contents.push(Content {
            id: content_id,
            block_id: block.id,
            covenant_id,
            position: u32::from(k),
            code: (k + 1).to_string(),
            title: format!("Nội dung {}", k + 1),
        });
        for j in 0..per_content {
            let n = u128::from(k) * u128::from(per_content) + u128::from(j);
            let (kind, max) = match n_criteria - n {
                3 => (CriterionKind::Bonus, 500),
                2 => (CriterionKind::Deduction, 100),
                1 => (CriterionKind::Disqualifier, 0),
                _ => (CriterionKind::Standard, 100 + 50 * (n as i64 % 3)),
            };
            if kind == CriterionKind::Standard {
                total += max;
            }
            doc.criteria.push(Criterion {
                id: id(4, n),
                block_id: block.id,
                content_id,
                parent_id: None,
                position: u32::from(j),
                code: format!("{}.{}", k + 1, j + 1),
                title: format!("Tiêu chí {}.{}", k + 1, j + 1),
                guidance: String::new(),
                kind,
                max_points: Points::from_hundredths(max),
            });
        }
    }
    doc.covenant.total_points = Points::from_hundredths(total);
    let mut c = Conference::new(block, doc);
    let self_round = c.round(Stage::SelfScoring);
    let cross_round = c.round(Stage::CrossScoring);
    let members = c.block.members.clone();
    let criteria = c.table.criteria.clone();
    for (si, subject) in members.iter().enumerate() {
        for (ci, scorer) in members.iter().enumerate() {
            let sheet_id = id(5, (si as u128) << 20 | ci as u128);
            let round = if si == ci { self_round } else { cross_round };
            c.sheets.push(ScoreSheet {
                id: sheet_id,
                block_id: c.block.id,
                round_id: round,
                scorer: *scorer,
                subject: *subject,
                submitted: true,
            });
            for (k, cr) in criteria.iter().enumerate() {
                let steps = cr.max_points.hundredths() / 50;
                let value = match cr.kind {
                    CriterionKind::Standard | CriterionKind::Bonus => CellValue::Points(
                        Points::from_hundredths(50 * lot.below(steps as u64 + 1) as i64),
                    ),
                    CriterionKind::Deduction => CellValue::Count(lot.below(3) as u32),
                    CriterionKind::Disqualifier => CellValue::Flag(lot.below(50) == 0),
                };
                c.cells.push(ScoreCell {
                    id: Uuid::from_u128(sheet_id.as_u128() | (k as u128) << 24),
                    block_id: c.block.id,
                    sheet_id,
                    criterion_id: cr.id,
                    value,
                    note: String::new(),
                    evidence: String::new(),
                });
            }
        }
    }
    c
}

/// Every case, by name.
pub const CASES: [Case; 2] = [
    ("central block conference", check_central_block),
    ("rule variants", check_rule_variants),
];
