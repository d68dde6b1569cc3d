//! Server functions of the group manager.

use leptos::prelude::*;

use super::GroupView;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::infra::{app_state, principal, respond};

#[server]
pub async fn list_groups() -> Result<Vec<GroupView>, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::list_groups(&app_state()?.db, &principal).await
        }
        .await,
    )
}

#[server]
pub async fn create_group(name: String) -> Result<GroupView, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::create_group(&app_state()?.db, &principal, &name).await
        }
        .await,
    )
}

#[server]
pub async fn rename_group(id: i64, name: String) -> Result<GroupView, AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::rename_group(&app_state()?.db, &principal, id, &name).await
        }
        .await,
    )
}

#[server]
pub async fn delete_group(id: i64) -> Result<(), AppError> {
    respond(
        async {
            let principal = principal()?;
            super::ssr::delete_group(&app_state()?.db, &principal, id).await
        }
        .await,
    )
}
