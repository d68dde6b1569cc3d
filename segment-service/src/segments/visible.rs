//! Which entities a principal may know about. The platform knows every
//! entity; a merchant or store principal only its audience, and an entity
//! outside it reads exactly like one that does not exist: no membership,
//! no values, no counts, no "known".

use std::sync::Arc;

use roaring::RoaringBitmap;
use segment_core::TargetObject;

use crate::infra::db::Db;
use crate::infra::ordinal;
use crate::state::AppState;
use crate::tags::index::LoadedIndex;
use crate::with_db;
use segment_contract::auth::Scope;
use segment_contract::error::AppResult;

pub enum Visible {
    All,
    /// The union of these audiences in the loaded index.
    Indexed {
        index: Arc<LoadedIndex>,
        keys: Vec<(String, TargetObject)>,
    },
    /// The audience as the database holds it.
    Stored(RoaringBitmap),
}

impl Visible {
    /// The entities of `target` a principal of `scope` may know about, from
    /// the loaded index (the database while none is loaded yet).
    pub async fn to(state: &AppState, scope: &Scope, target: TargetObject) -> AppResult<Visible> {
        let Some(scopes) = scope.audience_scopes() else {
            return Ok(Visible::All);
        };
        match state.tag_index.current() {
            Some(index) => Ok(Visible::Indexed {
                index,
                keys: scopes.into_iter().map(|scope| (scope, target)).collect(),
            }),
            None => Ok(Visible::Stored(
                audience_from_database(&state.db, &scopes, target).await?,
            )),
        }
    }

    /// Like [`Visible::to`], always read from the database: for work that
    /// reads it once and must not lag an import (uploads).
    pub async fn stored(db: &Db, scope: &Scope, target: TargetObject) -> AppResult<Visible> {
        Ok(match scope.audience_scopes() {
            None => Visible::All,
            Some(scopes) => Visible::Stored(audience_from_database(db, &scopes, target).await?),
        })
    }

    pub fn contains(&self, idx: u32) -> bool {
        match self {
            Visible::All => true,
            Visible::Indexed { index, keys } => keys.iter().any(|key| {
                index
                    .index
                    .scopes
                    .get(key)
                    .is_some_and(|members| members.contains(idx))
            }),
            Visible::Stored(members) => members.contains(idx),
        }
    }

    /// The entities of `members` the principal may know about.
    pub fn restrict(&self, members: &RoaringBitmap) -> RoaringBitmap {
        match self {
            Visible::All => members.clone(),
            Visible::Indexed { index, keys } => {
                let mut visible = RoaringBitmap::new();
                for key in keys {
                    if let Some(audience) = index.index.scopes.get(key) {
                        visible |= audience & members;
                    }
                }
                visible
            }
            Visible::Stored(audience) => audience & members,
        }
    }
}

/// The union of the scopes' audiences among `target` entities, read from
/// the warehouse (not the index, which may lag an import by a poll).
pub async fn audience_from_database(
    db: &Db,
    scopes: &[String],
    target: TargetObject,
) -> AppResult<RoaringBitmap> {
    let mut members = RoaringBitmap::new();
    for scope in scopes {
        let rows: Vec<i64> = with_db!(db, pool => {
            sqlx::query_scalar("SELECT CAST(entity_idx AS BIGINT) FROM audience_scopes WHERE scope = $1 AND target_object = $2")
                .bind(scope)
                .bind(target.as_str())
                .fetch_all(pool)
                .await?
        });
        for idx in rows {
            members.insert(ordinal(idx)?);
        }
    }
    Ok(members)
}
