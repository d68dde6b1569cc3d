//! The public HTTP API under `/api/v1`. Handlers are thin: authorize,
//! validate, call one service function, map the error.

pub mod error;
mod extract;
mod groups;
mod health;
pub mod openapi;
mod segments;
mod tags;

use app::infra::AppState;
use axum::Router;
use axum::routing::{get, patch, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/openapi.json", get(openapi::document))
        .route("/groups", get(groups::list).post(groups::create))
        .route("/groups/{id}", patch(groups::rename).delete(groups::delete))
        .route("/tags", get(tags::search))
        .route("/segments", get(segments::list).post(segments::create))
        .route("/segments/estimate", post(segments::estimate))
        .route("/segments/{id}", get(segments::detail))
        .route("/segments/{id}/members/{entity_id}", get(segments::member))
        .fallback(error::not_found)
}
