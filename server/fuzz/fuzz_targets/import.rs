#![no_main]
//! The importer on arbitrary files (server::fuzzing::import_bytes), into one
//! SQLite database kept for the whole run.

use std::sync::OnceLock;

use segment_service::infra::db::Db;

struct Harness {
    runtime: tokio::runtime::Runtime,
    db: Db,
    dir: std::path::PathBuf,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let base = std::env::temp_dir().join(format!("segment-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&base).expect("a directory");
        let url = format!("sqlite://{}?mode=rwc", base.join("fuzz.db").display());
        let db = runtime.block_on(async {
            let db = Db::connect(&url).await.expect("the database");
            db.migrate().await.expect("migrations");
            db
        });
        Harness {
            runtime,
            db,
            dir: base.join("import"),
        }
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let harness = harness();
    let outcome = harness
        .runtime
        .block_on(server::fuzzing::import_bytes(&harness.db, &harness.dir, data));
    if let Err(error) = outcome {
        panic!("the import failed instead of rejecting its input: {error}");
    }
});
