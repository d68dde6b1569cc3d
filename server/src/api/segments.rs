use app::infra::AppState;
use app::segments::{EstimateRequest, ssr as segments};
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Auth};

/// A rule to size. See the `Rule` schema for the vocabulary.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EstimateBody {
    /// `user`, `merchant` or `store`
    target_object: String,
    rule: Rule,
    /// IANA time zone for dynamic windows and datetime values (default `UTC`).
    time_zone: Option<String>,
    /// T, the evaluation date `YYYY-MM-DD` (default: today in `time_zone`).
    as_of: Option<String>,
}

/// Entities matching any group; a group matches when all its conditions do.
///
/// Profile condition: `{"type": "profile", "tag", "date", "op", "value" | "values"}` with
/// `date` one of `{"mode": "latest"}`, `{"mode": "on", "date": "YYYY-MM-DD"}`,
/// `{"mode": "change", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`.
/// Operators: enum and boolean `in`, `not_in` (`values`); number `eq`, `ne`, `gt`, `gte`,
/// `lt`, `lte` (`value`) and `between` (`values: [lo, hi]`, inclusive); datetime `on`
/// (that local day), `before`, `after`, `between` (`values`), `within_last_days` (`value`:
/// N days up to and including T), values as `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` in the
/// request's time zone. In `change` mode: numbers `diff_eq`, `diff_gt`, `diff_gte`,
/// `diff_lt`, `diff_lte` compare `value(to) − value(from)`; enums and booleans `changed`
/// with `from_values` and `to_values`.
///
/// Behavior condition: `{"type": "behavior", "behavior", "window", "where"?, "count"}` with
/// `window` `{"mode": "fixed", "from", "to"}` (dates) or `{"mode": "dynamic", "from": -6,
/// "to": 0}` (days relative to T, inclusive); `where` filters
/// `{"attr", "op", "value" | "values"}` with the enum and number operators above; `count`
/// `{"op": "eq"|"ne"|"gt"|"gte"|"lt"|"lte"|"between", "value": n | [lo, hi]}` compares the
/// sum of counts of the window's events passing every filter (0 for entities without any).
///
/// A missing value never matches (`not_in` included).
#[derive(ToSchema)]
#[schema(example = json!({"groups": [{"conditions": [
    {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
     "op": "in", "values": ["Shenzhen", "Guangzhou"]},
    {"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
     "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
     "count": {"op": "gte", "value": 4}}]}]}))]
#[allow(dead_code)]
pub struct Rule {
    /// OR of groups; each group is `{"conditions": [...]}`, an AND of conditions.
    groups: Vec<serde_json::Value>,
}

/// The engine's count and the equivalent SQL.
#[derive(Serialize, ToSchema)]
pub struct EstimateAnswer {
    /// Matching entities within the caller's audience.
    pub size: u64,
    /// The equivalent SQL for the server's database, literals inlined.
    pub sql: String,
    /// The newest data the rule reads (`YYYY-MM-DD`).
    pub data_date: Option<String>,
    /// T, the evaluation date used.
    pub as_of: String,
    pub time_zone: String,
    /// Engine time in microseconds.
    pub engine_micros: u64,
}

/// Size a rule with the engine. Merchant and store principals count only their audience.
#[utoipa::path(post, path = "/api/v1/segments/estimate", tag = "segments", security(("bearer" = [])),
    request_body = EstimateBody,
    responses((status = 200, body = EstimateAnswer), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The rule has problems; `problems` lists each with its path"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading")))]
pub async fn estimate(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EstimateRequest>,
) -> Result<Json<EstimateAnswer>, ApiError> {
    let estimate = segments::estimate(&state, &principal, &request).await?;
    Ok(Json(EstimateAnswer {
        size: estimate.size,
        sql: estimate.sql,
        data_date: estimate.data_date.map(|d| d.to_string()),
        as_of: estimate.as_of.to_string(),
        time_zone: estimate.time_zone,
        engine_micros: estimate.engine_micros,
    }))
}
