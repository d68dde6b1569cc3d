//! Server functions of the group manager.

use leptos::prelude::*;
use segment_contract::ids::GroupId;

use super::GroupView;
use crate::error::AppError;

#[cfg(feature = "ssr")]
use crate::context::{console, principal, respond};

#[server]
pub async fn list_groups() -> Result<Vec<GroupView>, AppError> {
    respond(async { console()?.list_groups(&principal()?).await }.await)
}

#[server]
pub async fn create_group(name: String) -> Result<GroupView, AppError> {
    respond(async { console()?.create_group(&principal()?, &name).await }.await)
}

#[server]
pub async fn rename_group(id: GroupId, name: String) -> Result<GroupView, AppError> {
    respond(async { console()?.rename_group(&principal()?, id, &name).await }.await)
}

#[server]
pub async fn delete_group(id: GroupId) -> Result<(), AppError> {
    respond(async { console()?.delete_group(&principal()?, id).await }.await)
}
