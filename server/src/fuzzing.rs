//! Imports of arbitrary files, for the fuzzers (`server/fuzz`, `scripts/fuzz`)
//! and the short randomized run of the test suite. An import must accept
//! its input or reject it with problems; it must never panic.

use std::path::Path;

use segment_service::infra::db::Db;
use segment_service::tags::import::{ImportError, import_dir};

/// The files of an import directory the fuzzed bytes become, in order.
pub const FILES: [&str; 6] = [
    "catalog.json",
    "entities/user.csv",
    "profile/day.csv",
    "behavior/trade.csv",
    "scopes.csv",
    "ready.csv",
];

/// Separates the files in a fuzz input.
pub const SEPARATOR: u8 = 0xFF;

/// A valid import in the fuzz input format: what the fuzzers start from
/// (the corpus seed of `server/fuzz`).
pub fn seed() -> Vec<u8> {
    include_bytes!("../fuzz/seeds/import/seed0").to_vec()
}

/// Writes `data` as the files of `dir` (split at [`SEPARATOR`]; missing
/// ones are left out) and imports them into `db`. Answers whether the
/// import was accepted; a failure other than a rejection is an error.
pub async fn import_bytes(db: &Db, dir: &Path, data: &[u8]) -> Result<bool, String> {
    let _ = std::fs::remove_dir_all(dir);
    for (name, content) in FILES.iter().zip(data.split(|b| *b == SEPARATOR)) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("files are in the directory"))
            .map_err(|error| error.to_string())?;
        std::fs::write(&path, content).map_err(|error| error.to_string())?;
    }
    match import_dir(db, dir, Box::new(|_| {})).await {
        Ok(_) => Ok(true),
        Err(ImportError::Rejected { problems }) => {
            assert!(!problems.is_empty(), "a rejection says why");
            Ok(false)
        }
        Err(ImportError::Failed(error)) => Err(format!("{error:#}")),
    }
}
