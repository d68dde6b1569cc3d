//! Server-side services of the tag warehouse.

pub mod columns;
pub mod import;
pub mod index;
pub mod sql_exec;
pub mod store;

use std::borrow::Cow;

use segment_core::TargetObject;
use segment_core::catalog::Catalog;

use crate::infra::db::Db;
use segment_contract::auth::Scope;
use segment_contract::error::AppResult;
use segment_contract::tags::TagDef;

/// The catalog as a principal of `scope` may use it: the platform's whole,
/// or a merchant's or store's view (see [`Catalog::for_tenant`]): no other
/// tenant's IDs among the values, behaviors counted at its own merchant or
/// stores only.
pub fn catalog_for<'c>(catalog: &'c Catalog, scope: &Scope) -> Cow<'c, Catalog> {
    match scope.tenant() {
        None => Cow::Borrowed(catalog),
        Some(tenant) => Cow::Owned(catalog.for_tenant(&tenant)),
    }
}

/// Tags are not owned by a scope: every principal reads the catalog, as
/// its scope sees it.
pub async fn search_tags(
    db: &Db,
    scope: &Scope,
    target: Option<TargetObject>,
    query: &str,
) -> AppResult<Vec<TagDef>> {
    let catalog = store::load_catalog(db).await?;
    Ok(catalog_for(&catalog, scope)
        .search(target, query)
        .into_iter()
        .cloned()
        .collect())
}
