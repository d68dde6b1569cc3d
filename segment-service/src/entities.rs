//! External entity IDs and the dense member indexes the engine and the
//! snapshots use for them.

use std::collections::HashMap;

use segment_contract::error::AppResult;

use crate::infra::db::{Backend, Db};
use crate::infra::ordinal;
use crate::with_db;

/// IDs looked up per query: large enough that round trips do not dominate
/// a 10M-ID upload, well under SQLite's and PostgreSQL's parameter limits.
pub const LOOKUP_BATCH: usize = 5_000;

/// Member indexes of the given external IDs (absent: not in the population).
pub async fn entity_indexes(db: &Db, target: &str, ids: &[String]) -> AppResult<HashMap<String, u32>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(LOOKUP_BATCH) {
        // SQLite gets anonymous `?` placeholders: resolving thousands of
        // numbered ones costs a scan of the parameter list each (quadratic).
        let placeholders: Vec<String> = match db.backend() {
            Backend::Sqlite => vec!["?".to_string(); chunk.len() + 1],
            Backend::Postgres => (1..=chunk.len() + 1).map(|i| format!("${i}")).collect(),
        };
        let sql = format!(
            "SELECT entity_id, CAST(idx AS BIGINT) FROM entities WHERE target_object = {} AND entity_id IN ({})",
            placeholders[0],
            placeholders[1..].join(", ")
        );
        let rows: Vec<(String, i64)> = with_db!(db, pool => {
            let mut query = sqlx::query_as(&sql).bind(target);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        for (id, idx) in rows {
            found.insert(id, ordinal(idx)?);
        }
    }
    Ok(found)
}
