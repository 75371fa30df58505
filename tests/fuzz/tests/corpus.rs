//! Replays the saved fuzz inputs: the seeds in `corpus/` and every input that once crashed a
//! target in `regressions/`, through the same harness as `scripts/fuzz`.

use std::path::PathBuf;

const TARGETS: [&str; 2] = ["sync_request", "covenant_csv"];

fn dir(kind: &str, target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target)
}

fn files(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir(kind, target)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("readable"))
        })
        .collect();
    out.sort();
    out
}

fn run(target: &str, data: &[u8]) {
    match target {
        "sync_request" => thidua_fuzz::sync_request(data),
        "covenant_csv" => thidua_fuzz::covenant_csv(data),
        other => panic!("no fuzz target {other}"),
    }
}

#[test]
fn the_committed_seeds_are_the_current_ones() {
    for target in TARGETS {
        let mut want = thidua_fuzz::seeds(target);
        want.sort();
        if std::env::var_os("THIDUA_WRITE_SEEDS").is_some() {
            std::fs::create_dir_all(dir("corpus", target)).unwrap();
            for (name, body) in &want {
                std::fs::write(dir("corpus", target).join(name), body).unwrap();
            }
        }
        let have = files("corpus", target);
        assert_eq!(
            have.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            want.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "corpus/{target} differs from thidua_fuzz::seeds; THIDUA_WRITE_SEEDS=1 rewrites it"
        );
        assert!(have == want, "corpus/{target}: a seed's content changed");
    }
}

#[test]
fn every_seed_and_regression_passes_its_harness() {
    for target in TARGETS {
        // The seeds as built (the test above holds the files to them) and the regressions.
        let mut inputs = thidua_fuzz::seeds(target);
        inputs.extend(files("regressions", target));
        assert!(inputs.len() >= 4, "{target}: {} inputs", inputs.len());
        for (name, data) in inputs {
            let outcome = std::panic::catch_unwind(|| run(target, &data));
            assert!(outcome.is_ok(), "{target}/{name} fails its harness");
        }
    }
}

#[test]
fn the_seeds_reach_the_rules() {
    // The sync seeds must decode (all but the two refusals), or the fuzzer starts at the
    // decoder's door; the CSV seeds must include accepted and refused files.
    let decoded = thidua_fuzz::seeds("sync_request")
        .iter()
        .filter(|(_, b)| shared::protocol::decode_request(std::str::from_utf8(b).unwrap()).is_ok())
        .count();
    assert_eq!(decoded, 5);
    let covenant = shared::model::Covenant::draft(
        shared::demo::COVENANT_ID,
        shared::demo::BLOCK_ID,
        "Giao ước".into(),
    );
    let accepted: Vec<bool> = thidua_fuzz::seeds("covenant_csv")
        .iter()
        .map(|(_, b)| {
            let mut n = 0u128;
            shared::transfer::from_csv(
                std::str::from_utf8(b).unwrap(),
                &covenant,
                shared::points::Points::from_hundredths(50),
                || {
                    n += 1;
                    uuid::Uuid::from_u128(n)
                },
            )
            .is_ok()
        })
        .collect();
    assert!(
        accepted.contains(&true) && accepted.contains(&false),
        "{accepted:?}"
    );
}
