//! Properties of the tally on random conferences of the demo block.

use proptest::prelude::*;
use shared::aggregate::Score;
use shared::casebook::{Conference, SheetPlan, unit};
use shared::lot::Lot;
use shared::points::Points;
use shared::round::Stage;

fn sheet_plan() -> impl Strategy<Value = SheetPlan> {
    (
        0i64..=25,
        0i64..=150,
        0i64..=10,
        0u32..4,
        proptest::bool::weighted(0.05),
    )
        .prop_map(
            |(lost_content_2, half_points, bonus, deductions, disqualified)| SheetPlan {
                lost_content_2,
                lost_elsewhere: half_points * 50,
                bonus,
                deductions,
                disqualified,
            },
        )
}

/// A conference where every unit self-scores and scores every other unit.
fn conference(plans: &[SheetPlan]) -> Conference {
    let mut c = Conference::empty();
    let self_round = c.round(Stage::SelfScoring);
    let cross = c.round(Stage::CrossScoring);
    let mut next = plans.iter().cycle();
    for s in 1..=9u16 {
        for scorer in 1..=9u16 {
            let round = if scorer == s { self_round } else { cross };
            let plan = *next.next().expect("cycle");
            c.sheet(round, unit(scorer), unit(s), plan);
        }
    }
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Shuffling every input list changes nothing in the result.
    #[test]
    fn tally_does_not_depend_on_input_order(plans in proptest::collection::vec(sheet_plan(), 81), seed in any::<u64>()) {
        let c = conference(&plans);
        let before = c.tally().expect("tally");
        let mut shuffled = c.clone();
        let mut lot = Lot::new(seed);
        lot.shuffle(&mut shuffled.rounds);
        lot.shuffle(&mut shuffled.sheets);
        lot.shuffle(&mut shuffled.cells);
        lot.shuffle(&mut shuffled.block.members);
        let after = shuffled.tally().expect("tally");
        prop_assert_eq!(before, after);
    }

    /// A unit's own cross sheet, whatever it says, never changes its block score.
    #[test]
    fn own_cross_score_never_counts(plans in proptest::collection::vec(sheet_plan(), 81), own in sheet_plan(), who in 1u16..=9) {
        let c = conference(&plans);
        let before = c.tally().expect("tally");
        let mut with_own = c.clone();
        let cross = with_own.rounds[1].id;
        with_own.sheet(cross, unit(who), unit(who), own);
        let after = with_own.tally().expect("tally");
        let score = |t: &shared::tally::Tally| t.units.iter().find(|u| u.unit == unit(who)).and_then(|u| u.block_score);
        prop_assert_eq!(score(&before), score(&after));
        prop_assert_eq!(
            before.units.iter().map(|u| (u.unit, u.block_score, u.rank)).collect::<Vec<_>>(),
            after.units.iter().map(|u| (u.unit, u.block_score, u.rank)).collect::<Vec<_>>()
        );
    }

    /// Every total stays within what the covenant allows, and a block score within the
    /// cross scores it comes from.
    #[test]
    fn totals_stay_within_bounds(plans in proptest::collection::vec(sheet_plan(), 81)) {
        let c = conference(&plans);
        let t = c.tally().expect("tally");
        let max = Points::whole(110); // 100 + a bonus cap of 10
        let min = Points::whole(-3); // three 1-point deductions at most
        for u in &t.units {
            let own = u.self_total.expect("self");
            prop_assert!(min <= own && own <= max);
            let totals: Vec<Points> = u.cross.iter().map(|c| c.total).collect();
            prop_assert!(totals.iter().all(|p| min <= *p && *p <= max));
            let s = u.block_score.expect("score");
            let lo = Score::exact(*totals.iter().min().expect("min"));
            let hi = Score::exact(*totals.iter().max().expect("max"));
            prop_assert!(lo <= s && s <= hi);
            // Ranks follow the scores.
            prop_assert!(u.rank.is_some());
        }
        for w in t.units.windows(2) {
            prop_assert!(w[0].block_score >= w[1].block_score);
            prop_assert!(w[0].rank <= w[1].rank);
        }
    }
}

#[test]
fn an_invalid_cell_stops_the_tally_with_its_reason() {
    let mut c = shared::casebook::central_block_conference();
    let cell = c
        .cells
        .iter_mut()
        .find(|x| matches!(x.value, shared::sheet::CellValue::Points(p) if p == Points::whole(8)))
        .expect("an 8-point cell");
    cell.value = shared::sheet::CellValue::Points(Points::whole(9));
    let e = c.tally().expect_err("over the maximum");
    assert_eq!(e.code(), "points_out_of_range");
    assert!(
        e.message_vi().contains("tiêu chí 1.1"),
        "{}",
        e.message_vi()
    );
}

#[test]
fn two_cells_for_one_criterion_resolve_the_same_everywhere() {
    // Two tablets of one delegate wrote criterion 1.1 on one sheet offline.
    let mut c = shared::casebook::central_block_conference();
    let first = c
        .cells
        .iter()
        .find(|x| x.criterion_id == shared::demo::id(1000))
        .expect("criterion 1.1 on U1's self sheet")
        .clone();
    let mut twin = first.clone();
    twin.id = uuid::Uuid::from_u128(first.id.as_u128() + 0xFFFF);
    twin.value = shared::sheet::CellValue::Points(Points::whole(1));
    c.cells.push(twin);
    let a = c.tally().expect("tally");
    c.cells.reverse();
    let b = c.tally().expect("tally");
    assert_eq!(a, b);
    // The greater id (the twin, 1 point instead of 8) counts: U1's self score drops by 7.
    let u1 = a.units.iter().find(|u| u.unit == unit(1)).expect("U1");
    assert_eq!(u1.self_total, Some(Points::whole(103)));
}
