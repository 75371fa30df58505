//! Validation of covenants, cells, sheets, signatures and votes: each broken rule gives its
//! stable code and a Vietnamese message.

use std::collections::BTreeSet;

use shared::ballot::{
    BallotOption, BallotPaper, BallotPurpose, BallotState, validate_ballot, validate_vote,
};
use shared::casebook::{demo_block_and_covenant, unit};
use shared::covenant::{self, CovenantDoc, ScoringTable};
use shared::demo;
use shared::model::{Ballot, CovenantStatus, CriterionKind, Round, ScoreSheet, Signature};
use shared::points::Points;
use shared::round::{Assignment, RoundState, Stage};
use shared::sheet::{CellValue, validate_cell, validate_sheet};
use uuid::Uuid;

fn p(s: &str) -> Points {
    s.parse().expect("points")
}

fn codes(doc: &CovenantDoc) -> Vec<&'static str> {
    doc.problems(p("0.5"))
        .iter()
        .map(|x| x.error.code())
        .collect()
}

#[test]
fn the_demo_covenant_is_sound() {
    let (_, doc) = demo_block_and_covenant();
    assert_eq!(codes(&doc), Vec::<&str>::new());
    let table = ScoringTable::build(&doc, p("0.5")).expect("table");
    // 2.1 is scored through 2.1.1 and 2.1.2: 20 criteria, 19 leaves.
    assert_eq!(table.criteria.len(), 20);
    assert_eq!(table.leaf_count(), 19);
    // One leaf is a disqualifier, answered by leaving it unmarked: 18 owe a value.
    assert_eq!(table.to_score(), 18);
    let codes: Vec<&str> = table.criteria.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(&codes[2..6], ["2.1", "2.1.1", "2.1.2", "2.2"]);
    assert_eq!(table.heaviest_content(), Some(1));
}

#[test]
fn a_covenant_that_does_not_add_up_is_refused() {
    let (_, mut doc) = demo_block_and_covenant();
    let c = doc
        .criteria
        .iter_mut()
        .find(|c| c.code == "1.1")
        .expect("1.1");
    c.max_points = p("9");
    let problems = doc.problems(p("0.5"));
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].error.code(), "covenant_total_mismatch");
    assert_eq!(problems[0].record, doc.covenant.id);
    assert_eq!(
        problems[0].error.message_vi(),
        "Tổng điểm chuẩn các tiêu chí là 101, khác tổng điểm của giao ước là 100"
    );
}

#[test]
fn structural_mistakes_each_have_their_code() {
    let (_, base) = demo_block_and_covenant();
    let edit = |f: &dyn Fn(&mut CovenantDoc)| {
        let mut d = base.clone();
        f(&mut d);
        codes(&d)
    };
    let by_code =
        |d: &CovenantDoc, code: &str| d.criteria.iter().position(|c| c.code == code).expect(code);
    assert!(
        edit(&|d| {
            let i = by_code(d, "1.2");
            d.criteria[i].code = "1.1".into();
        })
        .contains(&"duplicate_code")
    );
    assert_eq!(
        edit(&|d| {
            let i = by_code(d, "2.1.2");
            d.criteria[i].max_points = p("4");
            let j = by_code(d, "2.2");
            d.criteria[j].max_points = p("11");
        }),
        ["subcriteria_total_mismatch"]
    );
    assert_eq!(
        edit(&|d| {
            let i = by_code(d, "1.1");
            d.criteria[i].max_points = p("7.3");
            let j = by_code(d, "1.2");
            d.criteria[j].max_points = p("7.7");
        }),
        ["points_off_step", "points_off_step"]
    );
    assert_eq!(
        edit(&|d| {
            let i = by_code(d, "8.2");
            d.criteria[i].max_points = p("12");
        }),
        ["bonus_criterion_over_cap"]
    );
    assert_eq!(
        edit(&|d| {
            let i = by_code(d, "8.3");
            d.criteria[i].max_points = p("1");
        }),
        ["invalid_max_points"]
    );
    assert_eq!(
        edit(&|d| {
            // 2.1.2 under 2.1.1: two levels.
            let parent = d.criteria[by_code(d, "2.1.1")].id;
            let i = by_code(d, "2.1.2");
            d.criteria[i].parent_id = Some(parent);
        }),
        // 2.1 now holds 10 of 15, 2.1.1 holds 5 of 10, 2.1.2 is too deep, and the leaves
        // add up to 90.
        [
            "subcriteria_total_mismatch",
            "subcriteria_total_mismatch",
            "nesting_too_deep",
            "covenant_total_mismatch"
        ]
    );
    assert!(
        edit(&|d| {
            let i = by_code(d, "2.1.1");
            d.criteria[i].kind = CriterionKind::Bonus;
        })
        .contains(&"parent_mismatch")
    );
    assert!(
        edit(&|d| {
            let i = by_code(d, "3.1");
            d.criteria[i].title = "   ".into();
        })
        .contains(&"empty_text")
    );
    assert!(
        edit(&|d| {
            let first = d.contents[0].id;
            d.criteria.retain(|c| c.content_id != first);
            d.covenant.total_points = p("85");
        })
        .contains(&"empty_content")
    );
}

fn table() -> (shared::model::Block, ScoringTable) {
    let (block, doc) = demo_block_and_covenant();
    let t = ScoringTable::build(&doc, block.rules.point_step).expect("table");
    (block, t)
}

#[test]
fn cells_are_checked_against_their_criterion() {
    let (_, t) = table();
    let id_of = |code: &str| t.criteria.iter().find(|c| c.code == code).expect(code).id;
    let check = |code: &str, v: CellValue| {
        validate_cell(&t, id_of(code), v)
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(check("1.1", CellValue::Points(p("7.5"))), Ok(()));
    assert_eq!(
        check("1.1", CellValue::Points(p("8.5"))),
        Err("points_out_of_range")
    );
    assert_eq!(
        check("1.1", CellValue::Points(p("-1"))),
        Err("points_out_of_range")
    );
    assert_eq!(
        check("1.1", CellValue::Points(p("7.25"))),
        Err("points_off_step")
    );
    assert_eq!(check("1.1", CellValue::Count(1)), Err("wrong_value_kind"));
    assert_eq!(check("2.1", CellValue::Points(p("5"))), Err("not_a_leaf"));
    assert_eq!(check("7.3", CellValue::Count(3)), Ok(()));
    assert_eq!(
        check("7.3", CellValue::Count(5000)),
        Err("points_out_of_range")
    );
    assert_eq!(check("8.3", CellValue::Flag(true)), Ok(()));
    assert_eq!(check("8.2", CellValue::Points(p("10"))), Ok(()));
    let e = validate_cell(&t, Uuid::from_u128(1), CellValue::Points(p("1"))).expect_err("unknown");
    assert_eq!(e.code(), "unknown_criterion");
    let e = validate_cell(&t, id_of("1.1"), CellValue::Points(p("7.25"))).expect_err("step");
    assert_eq!(
        e.message_vi(),
        "7,25 điểm không phải bội số của 0,5 (tiêu chí 1.1)"
    );
}

#[test]
fn a_sheets_bonus_is_capped() {
    let mut c = shared::casebook::Conference::empty();
    c.table = {
        let mut doc = c.doc.clone();
        // Two bonus criteria of 10 under a cap of 10.
        let mut extra = doc
            .criteria
            .iter()
            .find(|x| x.code == "8.2")
            .expect("8.2")
            .clone();
        extra.id = Uuid::from_u128(77);
        extra.code = "8.4".into();
        doc.criteria.push(extra);
        ScoringTable::build(&doc, p("0.5")).expect("table")
    };
    let r = c.round(Stage::SelfScoring);
    let plan = shared::casebook::SheetPlan {
        lost_content_2: 0,
        lost_elsewhere: 0,
        bonus: 10,
        deductions: 0,
        disqualified: false,
    };
    c.sheet(r, unit(1), unit(1), plan);
    let e = shared::sheet::sheet_totals(&c.table, &c.cells).expect_err("20 bonus points");
    assert_eq!(e.code(), "bonus_over_cap");
    // The tally never lets a bonus exceed the cap, even when offline edits produced one.
    let t = c.tally().expect("tally");
    assert_eq!(
        t.units
            .iter()
            .find(|u| u.unit == unit(1))
            .and_then(|u| u.self_total),
        Some(p("110"))
    );
}

fn round(stage: Stage, assignment: Assignment) -> Round {
    Round {
        id: demo::id(5000),
        block_id: demo::BLOCK_ID,
        covenant_id: demo::COVENANT_ID,
        stage,
        state: RoundState::Open,
        assignment,
    }
}

fn sheet(scorer: Uuid, subject: Uuid) -> ScoreSheet {
    ScoreSheet {
        id: Uuid::from_u128(scorer.as_u128() ^ subject.as_u128().rotate_left(7)),
        block_id: demo::BLOCK_ID,
        round_id: demo::id(5000),
        scorer,
        subject,
        submitted: false,
    }
}

#[test]
fn sheets_follow_the_round() {
    let (block, _) = table();
    let cross = round(Stage::CrossScoring, Assignment::AllScoreAll);
    let own = round(Stage::SelfScoring, Assignment::AllScoreAll);
    let err = |r: &Round, s: &ScoreSheet, others: &[ScoreSheet]| {
        validate_sheet(&block, r, s, others).err().map(|e| e.code())
    };
    assert_eq!(err(&cross, &sheet(unit(1), unit(2)), &[]), None);
    assert_eq!(
        err(&cross, &sheet(unit(1), unit(1)), &[]),
        Some("wrong_scorer")
    );
    assert_eq!(
        err(&own, &sheet(unit(1), unit(2)), &[]),
        Some("wrong_scorer")
    );
    assert_eq!(err(&own, &sheet(unit(3), unit(3)), &[]), None);
    let outsider = Uuid::from_u128(99);
    assert_eq!(
        err(&cross, &sheet(unit(1), outsider), &[]),
        Some("unit_not_in_block")
    );
    let first = ScoreSheet {
        id: Uuid::from_u128(1),
        ..sheet(unit(1), unit(2))
    };
    assert_eq!(
        err(&cross, &sheet(unit(1), unit(2)), &[first]),
        Some("duplicate_sheet")
    );
    // By lot: only drawn pairs.
    let drawn = Assignment::draw(&block.members, 2, 7).expect("draw");
    let lot = round(Stage::CrossScoring, drawn.clone());
    let Assignment::PairsByLot { pairs, .. } = &drawn else {
        unreachable!()
    };
    assert_eq!(
        err(&lot, &sheet(pairs[0].scorer, pairs[0].subject), &[]),
        None
    );
    let not_drawn = block
        .members
        .iter()
        .find(|m| **m != pairs[0].scorer && !drawn.allows(pairs[0].scorer, **m))
        .expect("someone");
    assert_eq!(
        err(&lot, &sheet(pairs[0].scorer, *not_drawn), &[]),
        Some("pair_not_drawn")
    );
    assert_eq!(
        RoundState::Published
            .check_writable()
            .expect_err("published")
            .code(),
        "round_locked"
    );
}

#[test]
fn signing_amending_and_editing_follow_the_life_cycle() {
    let (block, doc) = demo_block_and_covenant();
    let mut cov = doc.covenant.clone();
    assert!(covenant::check_editable(&cov).is_ok());
    assert_eq!(
        covenant::check_signature(&cov, &block, &[], unit(1))
            .expect_err("draft")
            .code(),
        "invalid_transition"
    );
    cov.status = covenant::move_to(&cov, CovenantStatus::Circulated).expect("circulate");
    cov.status = covenant::move_to(&cov, CovenantStatus::Agreed).expect("agree");
    assert_eq!(
        covenant::check_editable(&cov).expect_err("agreed").code(),
        "covenant_not_editable"
    );
    assert!(
        covenant::move_to(&cov, CovenantStatus::Signed).is_err(),
        "signed only by signatures"
    );
    let mut sigs: Vec<Signature> = Vec::new();
    for (i, m) in block.members.iter().enumerate() {
        let after = covenant::check_signature(&cov, &block, &sigs, *m).expect("sign");
        let last = i + 1 == block.members.len();
        assert_eq!(
            after,
            if last {
                CovenantStatus::Signed
            } else {
                CovenantStatus::Agreed
            }
        );
        sigs.push(Signature {
            id: Uuid::from_u128(0x5100 + i as u128),
            block_id: block.id,
            covenant_id: cov.id,
            unit: *m,
            signer: "Chủ tịch".into(),
            signed_at_ms: 1,
        });
        if i == 0 {
            assert_eq!(
                covenant::check_signature(&cov, &block, &sigs, *m)
                    .expect_err("twice")
                    .code(),
                "already_signed"
            );
        }
    }
    assert_eq!(
        covenant::check_signature(&cov, &block, &sigs, Uuid::from_u128(5))
            .expect_err("outsider")
            .code(),
        "unit_not_in_block"
    );
    cov.status = CovenantStatus::Signed;
    let signed = CovenantDoc {
        covenant: cov,
        ..doc
    };
    let mut n = 0u128;
    let mut ids = || {
        n += 1;
        Uuid::from_u128(0xA000 + n)
    };
    assert_eq!(
        covenant::amend(&signed, " ", &mut ids)
            .expect_err("reason")
            .code(),
        "amendment_needs_reason"
    );
    let v2 = covenant::amend(
        &signed,
        "Sơ kết giữa năm: điều chỉnh tiêu chí 2.2",
        &mut ids,
    )
    .expect("amend");
    assert_eq!(v2.covenant.version, 2);
    assert_eq!(v2.covenant.amends, Some(signed.covenant.id));
    assert_eq!(v2.covenant.status, CovenantStatus::Draft);
    assert!(
        v2.problems(p("0.5")).is_empty(),
        "the copy is sound, sub-criteria re-linked"
    );
    let old: BTreeSet<Uuid> = signed.criteria.iter().map(|c| c.id).collect();
    assert!(v2.criteria.iter().all(|c| !old.contains(&c.id)));
}

fn open_ballot() -> Ballot {
    let (block, _) = table();
    Ballot {
        id: Uuid::from_u128(0x6000),
        block_id: block.id,
        title: "Suy tôn Khối trưởng năm 2027".into(),
        purpose: BallotPurpose::ElectHead,
        options: vec![
            BallotOption {
                id: Uuid::from_u128(1),
                label: "Hội Nông dân".into(),
                unit: Some(unit(5)),
            },
            BallotOption {
                id: Uuid::from_u128(2),
                label: "Trung ương Đoàn".into(),
                unit: Some(unit(2)),
            },
        ],
        max_choices: 1,
        rule: block.rules.majority,
        eligible: block.members.clone(),
        present: block.members[..8].to_vec(),
        state: BallotState::Open,
        voted: Vec::new(),
        result: None,
    }
}

#[test]
fn votes_are_checked_before_they_count() {
    let (block, _) = table();
    let b = open_ballot();
    validate_ballot(&b, &block).expect("valid ballot");
    let yes = |o: u128| BallotPaper::Choices {
        options: [Uuid::from_u128(o)].into(),
    };
    assert!(validate_vote(&b, unit(1), false, &yes(1)).is_ok());
    assert_eq!(
        validate_vote(&b, unit(1), true, &yes(1))
            .expect_err("twice")
            .code(),
        "already_voted"
    );
    assert_eq!(
        validate_vote(&b, unit(9), false, &yes(1))
            .expect_err("absent")
            .code(),
        "not_eligible"
    );
    assert_eq!(
        validate_vote(&b, Uuid::from_u128(42), false, &yes(1))
            .expect_err("outsider")
            .code(),
        "not_eligible"
    );
    assert_eq!(
        validate_vote(&b, unit(2), false, &yes(3))
            .expect_err("unknown option")
            .code(),
        "invalid_choice"
    );
    let both = BallotPaper::Choices {
        options: [Uuid::from_u128(1), Uuid::from_u128(2)].into(),
    };
    assert_eq!(
        validate_vote(&b, unit(2), false, &both)
            .expect_err("two choices")
            .code(),
        "invalid_choice"
    );
    assert!(validate_vote(&b, unit(2), false, &BallotPaper::Spoiled).is_ok());
    let closed = Ballot {
        state: BallotState::Closed,
        ..b.clone()
    };
    assert_eq!(
        validate_vote(&closed, unit(1), false, &yes(1))
            .expect_err("closed")
            .code(),
        "ballot_not_open"
    );
    assert_eq!(
        shared::ballot::count_ballot(&b, &[])
            .expect_err("open")
            .code(),
        "ballot_not_closed"
    );
    let mut bad = b.clone();
    bad.present.push(Uuid::from_u128(42));
    assert_eq!(
        validate_ballot(&bad, &block).expect_err("present").code(),
        "present_not_eligible"
    );
    let mut bad = b;
    bad.max_choices = 3;
    assert_eq!(
        validate_ballot(&bad, &block).expect_err("choices").code(),
        "invalid_rule"
    );
}

/// A device's copy of the rules' world follows its view record by record (`set_view`): a
/// changed criterion reaches the scoring table, a record gone from the view is refused as
/// the rules refuse an unknown one.
#[test]
fn a_world_follows_the_view_record_by_record() {
    use shared::access::Principal;
    use shared::model::Criterion;
    use shared::mutation::{Mutation, Op};
    use shared::world::World;
    use shared::{Hlc, Record};
    let records = demo::records();
    let mut world = World::of_records(&records);
    let leaf = records
        .iter()
        .find_map(|r| match r {
            Record::Criterion(c) if c.kind == CriterionKind::Standard && c.parent_id.is_none() => {
                Some(c.clone())
            }
            _ => None,
        })
        .expect("a criterion");
    let max = world
        .table(demo::COVENANT_ID)
        .expect("table")
        .leaf(leaf.id)
        .expect("leaf")
        .max;
    let changed = Criterion {
        max_points: Points::from_hundredths(max.hundredths() + 100),
        ..leaf.clone()
    };
    world.set_view(leaf.id, Some(&Record::Criterion(changed)));
    // The cached table is dropped: the covenant no longer adds up to its stated total.
    assert!(world.table(demo::COVENANT_ID).is_err());
    world.set_view(leaf.id, Some(&Record::Criterion(leaf.clone())));
    assert_eq!(
        world
            .table(demo::COVENANT_ID)
            .expect("table")
            .leaf(leaf.id)
            .expect("leaf")
            .max,
        max
    );
    world.set_view(leaf.id, None);
    let admin = Principal {
        admin: true,
        ..Principal::default()
    };
    let node = Uuid::from_u128(7);
    let m = Mutation {
        id: Uuid::from_u128(8),
        hlc: Hlc::zero(node).tick(1_800_000_000_000),
        op: Op::set(leaf.id, "title", serde_json::json!("Gone")),
    };
    assert!(
        world.apply(&m, &admin).is_err(),
        "a record gone from the view"
    );
    // Gone twice, or a record never seen, changes nothing.
    world.set_view(leaf.id, None);
    world.set_view(Uuid::from_u128(0xABC), None);
}
