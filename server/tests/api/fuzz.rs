//! A short randomized run of the import fuzz target (`scripts/fuzz` runs
//! the coverage-guided one for millions of inputs): mutated import files
//! are accepted or rejected with their problems, never a panic or a
//! failure of the database.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::fuzzing::{SEPARATOR, import_bytes, seed};

use crate::helpers::*;

/// One random edit of the kinds that break parsers: a byte changed, a
/// slice removed, doubled or moved, a delimiter inserted.
fn mutate(rng: &mut StdRng, data: &mut Vec<u8>) {
    if data.is_empty() {
        data.push(rng.r#gen());
        return;
    }
    let at = rng.gen_range(0..data.len());
    match rng.gen_range(0..6) {
        0 => data[at] = rng.r#gen(),
        1 => {
            let end = (at + rng.gen_range(1..16)).min(data.len());
            data.drain(at..end);
        }
        2 => {
            let end = (at + rng.gen_range(1..32)).min(data.len());
            let copy = data[at..end].to_vec();
            let to = rng.gen_range(0..data.len());
            data.splice(to..to, copy);
        }
        3 => {
            let token: &[u8] = [
                &b","[..],
                b"\n",
                b"\"",
                b"\r\n",
                b"-",
                b"9999999999999999999",
                b"\xEF\xBB\xBF",
                &[SEPARATOR],
            ][rng.gen_range(0..8)];
            data.splice(at..at, token.iter().copied());
        }
        4 => data.truncate(at),
        _ => {
            let digit = b'0' + rng.gen_range(0..10);
            data[at] = digit;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_import_files_are_accepted_or_rejected_never_a_panic() {
    let db = fresh_database(Backend::Sqlite).await;
    let dir = temp_dir("fuzz-import");
    let seed = seed();
    assert_eq!(
        import_bytes(&db, &dir, &seed).await,
        Ok(true),
        "the seed is a valid import"
    );
    let mut rng = StdRng::seed_from_u64(
        std::env::var("FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(7),
    );
    let runs: usize = std::env::var("FUZZ_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut accepted = 0;
    for run in 0..runs {
        let mut data = seed.clone();
        for _ in 0..rng.gen_range(1..6) {
            mutate(&mut rng, &mut data);
        }
        match import_bytes(&db, &dir, &data).await {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(error) => panic!(
                "run {run}: the import failed instead of rejecting its input: {error}\ninput: {:?}",
                String::from_utf8_lossy(&data)
            ),
        }
    }
    assert!(
        accepted > 0 && accepted < runs,
        "mutations both keep and break the input ({accepted} of {runs} accepted)"
    );
}
