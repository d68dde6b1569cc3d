//! The public HTTP API under `/api/v1`. Handlers are thin: authorize,
//! validate, call one service function, map the error.

pub mod error;
mod extract;
mod groups;
mod health;
mod manage;
pub mod openapi;
mod segments;
mod tags;
mod uploads;
mod warehouse;

use app::infra::AppState;
use axum::Router;
use axum::routing::{delete, get, patch, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::document))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", patch(groups::rename).delete(groups::delete))
        .route("/tags", get(tags::search))
        .route("/segments", get(segments::list).post(segments::create))
        .route("/segments/estimate", post(segments::estimate))
        .route("/segments/{id}", get(segments::detail).delete(manage::delete))
        .route("/segments/{id}/members/{entity_id}", get(segments::member))
        .route("/segments/{id}/members/check", post(manage::check))
        .route("/segments/{id}/bindings", post(manage::bind))
        .route("/segments/{id}/bindings/{task_id}", delete(manage::unbind))
        .route("/segments/{id}/extend", post(manage::extend))
        .route("/segments/{id}/verify", post(manage::verify))
        .route("/segments/{id}/exports", post(manage::request_export))
        .route("/deleted-segments", get(manage::deleted))
        .route("/uploads", post(uploads::upload))
        .route("/uploads/template.csv", get(uploads::template))
        .route("/uploads/{id}", get(uploads::report))
        .route("/uploads/{id}/report.csv", get(uploads::report_csv))
        .route("/warehouse/tables", get(warehouse::tables))
        .route("/warehouse/tables/{table}", get(warehouse::columns))
        .route("/exports", get(manage::list_exports))
        .route("/exports/{id}", get(manage::get_export))
        .route("/exports/{id}/download", get(manage::download))
        .fallback(error::not_found)
}
