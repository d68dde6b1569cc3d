//! Segments: the list, creation and management.

pub mod describe;

use chrono::NaiveDate;
use segment_core::TargetObject;
use segment_core::rule::Rule;
use serde::{Deserialize, Serialize};

/// What the editor (and `POST /api/v1/segments/estimate`) asks to size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateRequest {
    pub target_object: TargetObject,
    /// The rule; see the `Rule` schema for its vocabulary.
    pub rule: Rule,
    /// IANA zone dynamic windows and datetimes are read in (default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// T, the evaluation date (`YYYY-MM-DD`); today in the time zone by default.
    #[serde(default)]
    pub as_of: Option<String>,
}

/// The engine's answer: how many entities match, and the equivalent SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Estimate {
    /// Matching entities within the caller's audience.
    pub size: u64,
    /// The SQL of the database in use, with literals inlined, for review.
    pub sql: String,
    /// The newest data the rule reads.
    pub data_date: Option<NaiveDate>,
    /// T, the evaluation date used.
    pub as_of: NaiveDate,
    pub time_zone: String,
    /// Time the engine took, in microseconds.
    pub engine_micros: u64,
}

pub const MAX_SEGMENT_NAME: usize = 100;

/// A stored value that names no variant: a corrupt row, reported as an
/// error (sqlx decoding fails with it) rather than read as some default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// `TryFrom<String>` through the type's own `parse`, so that sqlx decodes a
/// stored column straight into the enum (`#[sqlx(try_from = "String")]`).
macro_rules! decoded_from_text {
    ($($type:ty => $kind:literal),* $(,)?) => {
        $(impl TryFrom<String> for $type {
            type Error = UnknownValue;

            fn try_from(value: String) -> Result<Self, UnknownValue> {
                Self::parse(&value).ok_or(UnknownValue { kind: $kind, value })
            }
        })*
    };
}

decoded_from_text! {
    UpdateFrequency => "update frequency",
    SegmentStatus => "segment status",
    CreationMethod => "creation method",
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    OneTime,
    Daily,
}

impl UpdateFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "one_time",
            Self::Daily => "daily",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OneTime => "One-time",
            Self::Daily => "Daily",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::OneTime, Self::Daily]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageScenario {
    InsightAnalysis,
    MessageAdDelivery,
    RewardDistribution,
    LeadsDistribution,
}

impl UsageScenario {
    pub const ALL: [UsageScenario; 4] = [
        Self::InsightAnalysis,
        Self::MessageAdDelivery,
        Self::RewardDistribution,
        Self::LeadsDistribution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsightAnalysis => "insight_analysis",
            Self::MessageAdDelivery => "message_ad_delivery",
            Self::RewardDistribution => "reward_distribution",
            Self::LeadsDistribution => "leads_distribution",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::InsightAnalysis => "Insight Analysis",
            Self::MessageAdDelivery => "Messages/Ad Delivery",
            Self::RewardDistribution => "Reward Distribution",
            Self::LeadsDistribution => "Leads Distribution",
        }
    }
}

/// Where a segment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    /// No successful run yet; one is queued or running.
    Generating,
    Active,
    /// The first run failed; `error` says why.
    Failed,
    /// Time-sensitive and its latest run did not use the newest ready data.
    Stale,
    /// Past Expires At.
    Expired,
}

impl SegmentStatus {
    pub const ALL: [SegmentStatus; 5] = [
        Self::Generating,
        Self::Active,
        Self::Failed,
        Self::Stale,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generating => "generating",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Stale => "stale",
            Self::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Generating => "Generating",
            Self::Active => "Active",
            Self::Failed => "Failed",
            Self::Stale => "Stale",
            Self::Expired => "Expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SetOperation {
    Intersection,
    Union,
    Difference,
}

impl SetOperation {
    pub const ALL: [SetOperation; 3] = [Self::Intersection, Self::Union, Self::Difference];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intersection => "intersection",
            Self::Union => "union",
            Self::Difference => "difference",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Intersection => "Intersection (A & B)",
            Self::Union => "Union (A or B)",
            Self::Difference => "Difference (A minus B)",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How a segment's members are defined (`definition` of `POST /api/v1/segments`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Definition {
    /// Entities matching a rule; optionally also a segment combining this one
    /// with an existing one: `this operation segment_id`, copying every basic
    /// field but the name unless `basic` gives its own.
    TagFilter {
        rule: Rule,
        /// Also create a segment combining this one with an existing one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        combination: Option<Combination>,
    },
    /// The matched IDs of an upload (`POST /api/v1/uploads`).
    CustomList { upload_id: i64 },
    /// `left` op `right` (`difference`: left minus right), over the two
    /// segments' latest snapshots.
    SegmentSet {
        left: i64,
        right: i64,
        operation: SetOperation,
    },
    /// The distinct values of a warehouse table's column (`GET
    /// /api/v1/warehouse/tables/{table}`); platform principals only.
    WarehouseTable { table: String, id_column: String },
    /// The seed (a segment's snapshot or an upload's matched IDs) expanded
    /// with the most similar entities to exactly `target_size` members.
    Lookalike {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed_segment_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed_upload_id: Option<i64>,
        target_size: u64,
    },
}

impl Definition {
    pub fn method(&self) -> CreationMethod {
        match self {
            Self::TagFilter { .. } => CreationMethod::TagFilter,
            Self::CustomList { .. } => CreationMethod::CustomList,
            Self::SegmentSet { .. } => CreationMethod::SegmentSet,
            Self::WarehouseTable { .. } => CreationMethod::WarehouseTable,
            Self::Lookalike { .. } => CreationMethod::Lookalike,
        }
    }

    /// The segments whose snapshots this definition reads.
    pub fn input_segments(&self) -> Vec<i64> {
        match self {
            Self::SegmentSet { left, right, .. } => vec![*left, *right],
            Self::Lookalike {
                seed_segment_id: Some(seed),
                ..
            } => vec![*seed],
            _ => Vec::new(),
        }
    }
}

/// How a segment was created: the `method` of its definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreationMethod {
    TagFilter,
    SegmentSet,
    CustomList,
    WarehouseTable,
    Lookalike,
}

impl CreationMethod {
    pub const ALL: [CreationMethod; 5] = [
        Self::TagFilter,
        Self::SegmentSet,
        Self::CustomList,
        Self::WarehouseTable,
        Self::Lookalike,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TagFilter => "tag_filter",
            Self::SegmentSet => "segment_set",
            Self::CustomList => "custom_list",
            Self::WarehouseTable => "warehouse_table",
            Self::Lookalike => "lookalike",
        }
    }

    /// The product guide's name of the method.
    pub fn label(self) -> &'static str {
        match self {
            Self::TagFilter => "Tag Filtering",
            Self::SegmentSet => "Segment Sets",
            Self::CustomList => "Custom List",
            Self::WarehouseTable => "Warehouse Table",
            Self::Lookalike => "Algorithm",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// The combined segment of the creation page: the new tag-filter segment
/// (A) combined with an existing Active segment (B). Basic fields not given
/// are copied from the tag-filter segment, all but the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Combination {
    pub segment_id: i64,
    pub operation: SetOperation,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicInfo>,
}

/// The basic information every creation method shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasicInfo {
    /// One of the caller's groups.
    #[serde(default)]
    pub group_id: Option<i64>,
    pub target_object: TargetObject,
    pub update_frequency: UpdateFrequency,
    /// `HH:MM` local time of the daily run.
    #[serde(default)]
    pub daily_run_time: Option<String>,
    /// At least one.
    #[serde(default)]
    pub usage_scenarios: Vec<UsageScenario>,
    /// IANA time zone the run time, Expires At and dynamic windows are read in.
    #[cfg_attr(feature = "openapi", schema(example = "Asia/Shanghai"))]
    pub time_zone: String,
    /// RFC 3339 with an offset, or a local `YYYY-MM-DD HH:MM[:SS]` in
    /// `time_zone`; in the future.
    #[cfg_attr(feature = "openapi", schema(example = "2027-01-31T23:59:59+08:00"))]
    pub expires_at: String,
    /// Daily only: refuse lookups while newer tag data is ready than the latest run used.
    #[serde(default)]
    pub time_sensitive: bool,
    /// Mailed when the segment becomes Active and when a run fails.
    #[serde(default)]
    pub notification_email: Option<String>,
}

/// `POST /api/v1/segments` and the creation page's server function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "High-value F&B users", "group_id": null, "target_object": "user",
    "update_frequency": "daily", "daily_run_time": "06:00",
    "usage_scenarios": ["message_ad_delivery", "reward_distribution"],
    "time_zone": "Asia/Shanghai", "expires_at": "2027-01-31T23:59:59+08:00",
    "time_sensitive": false, "notification_email": "ops@example.com",
    "definition": {"method": "tag_filter", "rule": {"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
         "op": "in", "values": ["Shenzhen"]}]}]},
        "combination": {"segment_id": 41, "operation": "intersection", "name": "F&B ∩ Autumn promo"}}})))]
pub struct CreateSegmentRequest {
    /// 1–100 characters.
    pub name: String,
    #[serde(flatten)]
    pub basic: BasicInfo,
    pub definition: Definition,
}

/// What a create answers: the new segment, and the combined one if asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub id: i64,
    pub status: SegmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined_id: Option<i64>,
}

/// A row of the segment list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentRow {
    pub id: i64,
    pub name: String,
    pub method: CreationMethod,
    pub target_object: TargetObject,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    /// `platform`, `merchant:ID` or `store:ID,…`
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub owner_scope: crate::auth::Scope,
    pub status: SegmentStatus,
    /// While generating: `queued`, `waiting` (for an input segment), `evaluating`, `storing`.
    pub phase: Option<String>,
    pub size: Option<i64>,
    /// The data date of the current snapshot.
    pub data_date: Option<String>,
    pub update_frequency: UpdateFrequency,
    pub daily_run_time: Option<String>,
    pub time_zone: String,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// The last failure's reason.
    pub error: Option<String>,
}

impl SegmentRow {
    /// Expires At as wall-clock time in the segment's own zone.
    pub fn expires_local(&self) -> String {
        local_time(self.expires_at, &self.time_zone)
    }
}

/// `epoch_ms` as `YYYY-MM-DD HH:MM` in `zone` (UTC if the zone is unknown).
pub fn local_time(epoch_ms: i64, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// One materialization run, as the detail view lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct RunView {
    pub id: i64,
    /// `create` or `daily:YYYY-MM-DD`
    pub run_key: String,
    /// `queued`, `running`, `succeeded`, `failed`
    pub status: String,
    pub phase: String,
    pub attempts: i64,
    pub size: Option<i64>,
    pub data_date: Option<String>,
    pub as_of: Option<String>,
    pub error: Option<String>,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub evaluate_ms: Option<i64>,
    pub total_ms: Option<i64>,
    /// Members new since the previous snapshot, and members gone.
    pub entered: Option<i64>,
    pub exited: Option<i64>,
    /// What the run read, as JSON: the input runs of a set, the warehouse
    /// read of a table, the model of a lookalike.
    pub inputs: Option<String>,
}

/// A segment with its definition and its last 30 runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentDetail {
    #[serde(flatten)]
    pub row: SegmentRow,
    pub definition: Definition,
    pub usage_scenarios: Vec<UsageScenario>,
    pub time_sensitive: bool,
    pub notification_email: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    /// Newest first, at most the last 30.
    pub runs: Vec<RunView>,
}

/// Columns the list sorts by on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Id,
    Name,
    Size,
    ExpiresAt,
    #[default]
    UpdatedAt,
}

impl SortKey {
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Id, Self::Name, Self::Size, Self::ExpiresAt, Self::UpdatedAt]
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Name => "name",
            Self::Size => "size",
            Self::ExpiresAt => "expires_at",
            Self::UpdatedAt => "updated_at",
        }
    }
}

/// Filters, sorting and paging of the segment list (`GET /api/v1/segments`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams), into_params(parameter_in = Query))]
pub struct ListQuery {
    /// Part of the name, or an exact ID.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub group_id: Option<i64>,
    #[serde(default)]
    pub status: Option<SegmentStatus>,
    /// `tag_filter`, `segment_set`, …
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub target_object: Option<TargetObject>,
    /// Default `updated_at`.
    #[serde(default)]
    pub sort: Option<SortKey>,
    /// Ascending when true; newest/largest first by default.
    #[serde(default)]
    pub asc: Option<bool>,
    /// 1-based (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// 1–200 (default 20).
    #[serde(default)]
    pub page_size: Option<u32>,
}

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentPage {
    pub rows: Vec<SegmentRow>,
    /// Matching segments on every page.
    pub total: i64,
    pub page: u32,
    pub page_size: u32,
}

/// `GET /api/v1/segments/{id}/members/{entity_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberAnswer {
    pub member: bool,
    /// Whether the ID belongs to the target object's population at all (for
    /// a merchant or store principal: to its audience; an ID outside it reads
    /// exactly like one that does not exist).
    pub known: bool,
    /// The data date of the snapshot answered from.
    pub data_date: Option<String>,
}

/// Basic information checked and resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBasic {
    pub name: String,
    pub time_zone: chrono_tz::Tz,
    /// Unix ms.
    pub expires_at: i64,
    pub daily_run_time: Option<chrono::NaiveTime>,
    pub notification_email: Option<String>,
}

/// Checks a segment's name and basic information; every problem is
/// reported under its field name (prefixed by `prefix`, e.g. `combination.`).
pub fn validate_basic(
    name: &str,
    basic: &BasicInfo,
    now_ms: i64,
    prefix: &str,
) -> Result<ValidBasic, Vec<crate::error::FieldError>> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(crate::error::FieldError {
            field: format!("{prefix}{field}"),
            message,
        })
    };
    let name = name.trim().to_string();
    let length = name.chars().count();
    if name.is_empty() {
        problem("name", "Enter a segment name.".into());
    } else if length > MAX_SEGMENT_NAME {
        problem(
            "name",
            format!("Use at most {MAX_SEGMENT_NAME} characters (this name has {length})."),
        );
    } else if name.chars().any(char::is_control) {
        problem("name", "The name cannot contain control characters.".into());
    }
    let time_zone = match segment_core::time::parse_tz(basic.time_zone.trim()) {
        Ok(tz) => Some(tz),
        Err(_) => {
            problem(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone (e.g. Asia/Shanghai).",
                    basic.time_zone
                ),
            );
            None
        }
    };
    let daily_run_time = match (
        basic.update_frequency,
        basic.daily_run_time.as_deref().map(str::trim),
    ) {
        (UpdateFrequency::Daily, None | Some("")) => {
            problem("daily_run_time", "Choose the time of the daily run.".into());
            None
        }
        (UpdateFrequency::Daily, Some(text)) => match chrono::NaiveTime::parse_from_str(text, "%H:%M") {
            Ok(time) => Some(time),
            Err(_) => {
                problem(
                    "daily_run_time",
                    format!("{text:?} is not a time (HH:MM, 24-hour)."),
                );
                None
            }
        },
        (UpdateFrequency::OneTime, _) => None,
    };
    if basic.time_sensitive && basic.update_frequency != UpdateFrequency::Daily {
        problem(
            "time_sensitive",
            "Time-sensitive applies only to segments updated daily.".into(),
        );
    }
    if basic.usage_scenarios.is_empty() {
        problem("usage_scenarios", "Choose at least one usage scenario.".into());
    }
    let mut expires_at = 0;
    if let Some(tz) = time_zone {
        match parse_expiry(&basic.expires_at, tz) {
            Ok(ms) if ms <= now_ms => problem(
                "expires_at",
                format!(
                    "Expires At must be in the future (it is {} in {}).",
                    local_time(ms, tz.name()),
                    tz.name()
                ),
            ),
            Ok(ms) => expires_at = ms,
            Err(message) => problem("expires_at", message),
        }
    }
    let notification_email = match basic.notification_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(email) => match validate_email(email) {
            Ok(()) => Some(email.to_string()),
            Err(message) => {
                problem("notification_email", message);
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ValidBasic {
        name,
        time_zone: time_zone.expect("checked above"),
        expires_at,
        daily_run_time,
        notification_email,
    })
}

/// Reads Expires At: RFC 3339 with an offset, or local `YYYY-MM-DD HH:MM[:SS]`
/// (or `T` between) in `tz`. Answers Unix ms.
pub fn parse_expiry(text: &str, tz: chrono_tz::Tz) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Choose when the segment expires.".into());
    }
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.timestamp_millis());
    }
    let normalized = text.replacen('T', " ", 1);
    let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(&normalized, format).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time (YYYY-MM-DD HH:MM)."))?;
    segment_core::time::local_to_epoch(local, tz).map(|seconds| seconds * 1000)
}

/// A pragmatic address check: one `@`, a local part, and a dotted domain.
pub fn validate_email(email: &str) -> Result<(), String> {
    let invalid = || Err(format!("{email:?} is not an email address (name@example.com)."));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid();
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.len() > 64 || domain.contains('@') || !labels_ok {
        return invalid();
    }
    Ok(())
}

/// A delivery task bound to a segment until `ends_at` (Unix ms).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Binding {
    pub segment_id: i64,
    pub task_id: String,
    pub name: String,
    /// Unix ms.
    pub ends_at: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// `POST /api/v1/segments/{id}/bindings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewBinding {
    /// The delivery task's ID in the campaign system (unique per segment).
    pub task_id: String,
    pub name: String,
    /// RFC 3339, or local `YYYY-MM-DD HH:MM[:SS]` in the segment's zone.
    pub ends_at: String,
}

/// What uses a segment, as the asking principal may see it. Uses from other
/// scopes are counted, never named: a delivery task of another scope holds
/// the segment until it ends; a segment of another scope computed from it
/// does not hold it (it keeps its last snapshot and stops updating).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsedBy {
    pub bindings: Vec<Binding>,
    /// (id, name) of segments computed from this one.
    pub dependents: Vec<(i64, String)>,
    /// Running delivery tasks bound from other scopes.
    #[serde(default)]
    pub other_tasks: u32,
    /// When the last of them ends (Unix ms).
    #[serde(default)]
    pub other_tasks_until: Option<i64>,
    /// Segments of other scopes computed from this one.
    #[serde(default)]
    pub other_segments: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ExportView {
    pub id: i64,
    pub segment_id: i64,
    pub segment_name: String,
    pub run_id: i64,
    /// `queued`, `running`, `done`, `failed`
    pub status: String,
    pub rows_total: i64,
    pub rows_done: i64,
    pub bytes: Option<i64>,
    pub error: Option<String>,
    pub requested_by: String,
    pub requested_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletedSegment {
    pub id: i64,
    pub name: String,
    pub method: CreationMethod,
    pub target_object: String,
    pub size: Option<i64>,
    pub deleted_by: String,
    pub deleted_at: i64,
}

/// `POST /api/v1/segments/{id}/members/check`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRequest {
    /// Up to 10,000 IDs of the segment's target object.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckAnswer {
    pub members: Vec<String>,
    pub non_members: Vec<String>,
    /// Not in the target object's population (for a merchant or store
    /// principal: not in its audience).
    pub unknown: Vec<String>,
    pub data_date: Option<String>,
}

/// `POST /api/v1/segments/{id}/extend`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtendRequest {
    /// RFC 3339 or local `YYYY-MM-DD HH:MM` in the segment's zone; in the
    /// future and not before any bound task ends.
    pub expires_at: String,
}

/// `POST /api/v1/segments/{id}/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRequest {
    /// Up to 1,000 IDs.
    pub ids: Vec<String>,
}

pub const MAX_CHECK_IDS: usize = 10_000;
pub const MAX_VERIFY_IDS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Included,
    Excluded,
    Unknown,
}

/// One condition of a tag-filter rule, explained for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConditionCheck {
    /// The condition as a sentence.
    pub condition: String,
    /// The entity's value(s) the condition reads, as shown to the user.
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCheck {
    pub matched: bool,
    pub conditions: Vec<ConditionCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyRow {
    pub entity_id: String,
    pub verdict: Verdict,
    /// For tag-filter segments: each rule group and condition, evaluated for this entity.
    pub groups: Vec<GroupCheck>,
    /// Outside the owner's audience: excluded whatever the rule says.
    #[serde(default)]
    pub outside_audience: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifyAnswer {
    pub segment_id: i64,
    pub data_date: Option<String>,
    /// T of the snapshot's run, the date the explanation is evaluated at.
    pub as_of: Option<String>,
    pub rows: Vec<VerifyRow>,
}

/// A line of an uploaded list that was not used, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedLine {
    pub line: u64,
    /// The ID, for IDs unknown to the population.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    pub reason: String,
}

/// Shown before anything is created from an uploaded list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadReport {
    /// Data lines read (the header excluded).
    pub rows: u64,
    /// Well-formed, first occurrences.
    pub valid: u64,
    pub duplicates: u64,
    pub invalid_count: u64,
    /// The first invalid lines (at most 1,000), with their reasons.
    pub invalid: Vec<RejectedLine>,
    /// Valid IDs not in the target object's population (for a merchant or
    /// store: not in its audience, which reads the same).
    pub unknown: u64,
    /// The first unknown IDs (at most 1,000).
    pub unknown_sample: Vec<RejectedLine>,
    /// Members the segment will have.
    pub matched: u64,
}

pub const REPORT_SAMPLE: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadAnswer {
    /// Give it as `definition.upload_id` to create a `custom_list` segment.
    pub upload_id: i64,
    pub target_object: TargetObject,
    pub report: UploadReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> BasicInfo {
        BasicInfo {
            group_id: None,
            target_object: TargetObject::User,
            update_frequency: UpdateFrequency::Daily,
            daily_run_time: Some("06:00".into()),
            usage_scenarios: vec![UsageScenario::InsightAnalysis],
            time_zone: "Asia/Shanghai".into(),
            expires_at: "2027-01-31 23:59".into(),
            time_sensitive: true,
            notification_email: Some("ops@example.com".into()),
        }
    }

    const NOW: i64 = 1_790_000_000_000; // 2026-09-21

    #[test]
    fn expiry_is_read_in_the_segments_zone() {
        let valid = validate_basic("F&B", &basic(), NOW, "").unwrap();
        // 2027-01-31 23:59 in Shanghai is 15:59 UTC.
        assert_eq!(valid.expires_at, 1_801_411_140_000);
        assert_eq!(local_time(valid.expires_at, "Asia/Shanghai"), "2027-01-31 23:59");
        let rfc = parse_expiry("2027-01-31T23:59:00+08:00", chrono_tz::UTC).unwrap();
        assert_eq!(rfc, valid.expires_at);
    }

    #[test]
    fn every_problem_is_reported_under_its_field() {
        let mut bad = basic();
        bad.update_frequency = UpdateFrequency::OneTime;
        bad.usage_scenarios.clear();
        bad.expires_at = "2020-01-01 00:00".into();
        bad.notification_email = Some("ops@localhost".into());
        let problems = validate_basic(&"x".repeat(101), &bad, NOW, "combination.").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "combination.name",
                "combination.time_sensitive",
                "combination.usage_scenarios",
                "combination.expires_at",
                "combination.notification_email"
            ]
        );
        assert!(problems[3].message.contains("2020-01-01 00:00"));
    }

    #[test]
    fn daily_needs_a_run_time_and_zones_are_checked() {
        let mut bad = basic();
        bad.daily_run_time = Some("25:00".into());
        bad.time_zone = "Mars/Base".into();
        let problems = validate_basic("ok", &bad, NOW, "").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["time_zone", "daily_run_time"]);
    }

    #[test]
    fn emails_are_checked() {
        assert!(validate_email("ops@example.com").is_ok());
        for bad in [
            "ops",
            "@example.com",
            "ops@example",
            "o ps@example.com",
            "a@b@c.com",
            "ops@.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
