use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use segment_contract::error::AppError;
use segment_contract::segments::{
    CreateSegmentRequest, Created, EstimateRequest, ListQuery, MemberAnswer, SegmentDetail, SegmentPage,
};
use segment_service::segments;
use segment_service::state::AppState;
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
///
/// Size limits (a rule over them is refused with 422 and the place of the excess):
/// at most 20 groups, 20 conditions per group and 100 conditions in all; at most
/// 1,000 values in any list (`values`, `from_values`, `to_values`, a filter's `values`);
/// at most 10 attribute filters per behavior condition.
///
/// Merchant and store principals see the catalog narrowed to their own IDs: enum values
/// that are merchant or store IDs list only theirs, and behaviors with such an attribute
/// count only events at their own merchant or stores.
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
#[utoipa::path(post, operation_id = "estimate_segment", path = "/api/v1/segments/estimate", tag = "segments", security(("bearer" = [])),
    request_body = EstimateBody,
    responses((status = 200, body = EstimateAnswer), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The rule has problems; `problems` lists each with its path"),
              (status = 429, body = ErrorBody, description = "Too many of the caller's evaluations are already waiting"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading (`unavailable`), or the engine did not finish within ESTIMATE_DEADLINE_MS (`timeout`)")))]
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

/// `POST /api/v1/segments`: the name, the basic information and the definition.
#[derive(ToSchema)]
#[schema(example = json!({"name": "High-value F&B users", "group_id": null, "target_object": "user",
    "update_frequency": "daily", "daily_run_time": "06:00",
    "usage_scenarios": ["message_ad_delivery", "reward_distribution"],
    "time_zone": "Asia/Shanghai", "expires_at": "2027-01-31T23:59:59+08:00",
    "time_sensitive": false, "notification_email": "ops@example.com",
    "definition": {"method": "tag_filter", "rule": {"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
         "op": "in", "values": ["Shenzhen"]}]}]},
        "combination": {"segment_id": 41, "operation": "intersection", "name": "F&B ∩ Autumn promo"}}}))]
#[allow(dead_code)]
pub struct CreateBody {
    /// 1–100 characters.
    name: String,
    /// One of the caller's groups.
    group_id: Option<i64>,
    /// `user`, `merchant` or `store`
    target_object: String,
    /// `one_time` or `daily`
    update_frequency: String,
    /// `HH:MM` local time of the daily run (daily only).
    daily_run_time: Option<String>,
    /// Any of `insight_analysis`, `message_ad_delivery`, `reward_distribution`, `leads_distribution` (at least one).
    usage_scenarios: Vec<String>,
    /// IANA time zone the run time, Expires At and dynamic windows are read in.
    time_zone: String,
    /// RFC 3339 (`2027-01-31T23:59:59+08:00`) or local `YYYY-MM-DD HH:MM[:SS]` in `time_zone`; in the future.
    expires_at: String,
    /// Daily only: refuse lookups while newer tag data is ready than the latest run used.
    time_sensitive: Option<bool>,
    /// Mailed when the segment becomes Active and when a run fails.
    notification_email: Option<String>,
    /// `{"method": "tag_filter", "rule", "combination"?: {"segment_id", "operation", "name", "basic"?}}` or
    /// `{"method": "segment_set", "left", "right", "operation"}` (`intersection`, `union`, `difference`: left minus right),
    /// `{"method": "custom_list", "upload_id"}` or
    /// `{"method": "warehouse_table", "table", "id_column"}` (platform principals; see `GET /api/v1/warehouse/tables/{table}`).
    /// The combined segment of a tag filter is `this op segment_id` and copies every basic field but
    /// the name unless `basic` gives its own.
    definition: serde_json::Value,
}

/// The created segment (Generating), and the combined one if asked for.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CreatedBody {
    id: i64,
    /// `generating`
    status: String,
    combined_id: Option<i64>,
}

/// Create a segment: validated, stored as `generating`, materialized by the workers.
/// Merchant and store principals' segments are restricted to their audience.
#[utoipa::path(post, operation_id = "create_segment", path = "/api/v1/segments", tag = "segments", security(("bearer" = [])),
    request_body = CreateBody,
    responses((status = 202, body = CreatedBody),
              (status = 400, body = ErrorBody, description = "Field problems; `fields` lists each"),
              (status = 401, body = ErrorBody),
              (status = 422, body = ErrorBody, description = "The rule has problems; `problems` lists each with its path"),
              (status = 503, body = ErrorBody, description = "The tag index is still loading")))]
pub async fn create(
    Auth(principal): Auth,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<CreateSegmentRequest>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let created = segments::create(&state, &principal, &request).await?;
    Ok((StatusCode::ACCEPTED, Json(created)))
}

/// A segment as listed.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SegmentSummary {
    id: i64,
    name: String,
    /// `tag_filter`, `segment_set`, …
    method: String,
    target_object: String,
    group_id: Option<i64>,
    group_name: Option<String>,
    owner_scope: String,
    /// `generating`, `active`, `failed`, `stale`, `expired`
    status: String,
    /// While generating: `queued`, `waiting`, `evaluating`, `storing`, `retrying`.
    phase: Option<String>,
    size: Option<i64>,
    /// The data date of the current snapshot.
    data_date: Option<String>,
    update_frequency: String,
    daily_run_time: Option<String>,
    time_zone: String,
    /// Unix ms
    expires_at: i64,
    /// Unix ms
    updated_at: i64,
    /// The last failure's reason.
    error: Option<String>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SegmentPageBody {
    rows: Vec<SegmentSummary>,
    /// Matching segments on every page.
    total: i64,
    page: u32,
    page_size: u32,
}

/// The list's filters, sorting and paging.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Part of the name, or an ID.
    q: Option<String>,
    group_id: Option<i64>,
    /// `generating`, `active`, `failed`, `stale`, `expired`
    status: Option<String>,
    /// `tag_filter`, `segment_set`, …
    method: Option<String>,
    /// `user`, `merchant`, `store`
    target_object: Option<String>,
    /// `id`, `name`, `size`, `expires_at`, `updated_at` (default)
    sort: Option<String>,
    /// Ascending (default: descending).
    asc: Option<bool>,
    /// 1-based (default 1).
    page: Option<u32>,
    /// 1–200 (default 20).
    page_size: Option<u32>,
}

/// The caller's segments (every segment for platform principals).
#[utoipa::path(get, operation_id = "list_segments", path = "/api/v1/segments", tag = "segments", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = SegmentPageBody), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    Auth(principal): Auth,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SegmentPage>, ApiError> {
    let Query(query) = query.map_err(|rejection| AppError::Validation {
        field: None,
        message: format!("Invalid query: {}", rejection.body_text()),
    })?;
    Ok(Json(segments::list(&state.db, &principal, &query).await?))
}

/// A run of a segment.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RunBody {
    id: i64,
    /// `create` or `daily:YYYY-MM-DD`
    run_key: String,
    /// `queued`, `running`, `succeeded`, `failed`
    status: String,
    phase: String,
    attempts: i64,
    size: Option<i64>,
    data_date: Option<String>,
    as_of: Option<String>,
    error: Option<String>,
    queued_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    evaluate_ms: Option<i64>,
    total_ms: Option<i64>,
}

/// A segment with its definition and its last 30 runs (the summary's fields too).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SegmentDetailBody {
    id: i64,
    name: String,
    status: String,
    size: Option<i64>,
    data_date: Option<String>,
    error: Option<String>,
    definition: serde_json::Value,
    usage_scenarios: Vec<String>,
    time_sensitive: bool,
    notification_email: Option<String>,
    created_by: String,
    created_at: i64,
    runs: Vec<RunBody>,
}

/// One segment. Another scope's segment answers 404.
#[utoipa::path(get, operation_id = "get_segment", path = "/api/v1/segments/{id}", tag = "segments", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = SegmentDetailBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn detail(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<SegmentDetail>, ApiError> {
    Ok(Json(segments::detail(&state.db, &principal, id).await?))
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MemberBody {
    member: bool,
    /// Whether the ID is in the target object's population at all (for a merchant or store
    /// principal: in its audience; an ID outside it reads exactly like one that does not exist).
    known: bool,
    /// The data date of the snapshot answered from.
    data_date: Option<String>,
}

/// Whether an entity is in the segment's current snapshot. Refused with 409
/// `stale` (time-sensitive, newer data ready), `expired` or `not_ready`.
#[utoipa::path(get, operation_id = "get_member", path = "/api/v1/segments/{id}/members/{entity_id}", tag = "delivery", security(("bearer" = [])),
    params(("id" = i64, Path), ("entity_id" = String, Path)),
    responses((status = 200, body = MemberBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`stale`, `expired` or `not_ready`")))]
pub async fn member(
    Auth(principal): Auth,
    State(state): State<AppState>,
    Path((id, entity_id)): Path<(i64, String)>,
) -> Result<Json<MemberAnswer>, ApiError> {
    Ok(Json(
        segments::check_member(&state, &principal, id, &entity_id).await?,
    ))
}
