//! Server-side services of the tag warehouse.

pub mod columns;
pub mod import;
pub mod index;
pub mod sql_exec;
pub mod store;

use segment_core::TargetObject;

use super::TagDef;
use crate::error::AppResult;
use crate::infra::db::Db;

/// Every principal may read the catalog: tags are not owned by a scope.
pub async fn search_tags(db: &Db, target: Option<TargetObject>, query: &str) -> AppResult<Vec<TagDef>> {
    let catalog = store::load_catalog(db).await?;
    Ok(catalog.search(target, query).into_iter().cloned().collect())
}
