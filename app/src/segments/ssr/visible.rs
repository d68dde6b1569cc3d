//! Which entities a principal may know about. The platform knows every
//! entity; a merchant or store principal only its audience, and an entity
//! outside it reads exactly like one that does not exist: no membership,
//! no values, no counts, no "known".

use std::sync::Arc;

use segment_core::TargetObject;

use crate::auth::Scope;
use crate::error::{AppError, AppResult};
use crate::infra::AppState;
use crate::tags::ssr::index::LoadedIndex;

pub enum Visible {
    All,
    /// The union of these audiences in the loaded index.
    Audience {
        index: Arc<LoadedIndex>,
        keys: Vec<(String, TargetObject)>,
    },
}

impl Visible {
    /// The entities of `target` a principal of `scope` may know about.
    pub fn to(state: &AppState, scope: &Scope, target: TargetObject) -> AppResult<Visible> {
        let Some(scopes) = scope.audience_scopes() else {
            return Ok(Visible::All);
        };
        let index = state.tag_index.current().ok_or_else(|| {
            AppError::Unavailable("The tag index is still loading; try again in a few seconds.".into())
        })?;
        Ok(Visible::Audience {
            index,
            keys: scopes.into_iter().map(|scope| (scope, target)).collect(),
        })
    }

    pub fn contains(&self, idx: u32) -> bool {
        match self {
            Visible::All => true,
            Visible::Audience { index, keys } => keys.iter().any(|key| {
                index
                    .index
                    .scopes
                    .get(key)
                    .is_some_and(|members| members.contains(idx))
            }),
        }
    }
}
