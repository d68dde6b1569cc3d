//! Reading segments and runs from the database, scoped by principal.

use std::sync::Arc;

use roaring::RoaringBitmap;
use segment_core::TargetObject;

use crate::infra::db::Db;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::{GroupId, RunId, SegmentId};
use segment_contract::segments::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SegmentRecord {
    pub id: SegmentId,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub method: CreationMethod,
    #[sqlx(try_from = "String")]
    pub target_object: TargetObject,
    pub group_id: Option<GroupId>,
    pub group_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub owner_scope: Scope,
    #[sqlx(try_from = "String")]
    pub status: SegmentStatus,
    pub phase: Option<String>,
    pub size: Option<i64>,
    pub data_date: Option<String>,
    #[sqlx(try_from = "String")]
    pub update_frequency: UpdateFrequency,
    pub daily_run_time: Option<String>,
    #[sqlx(try_from = "String")]
    pub time_zone: Zone,
    pub expires_at: i64,
    pub updated_at: i64,
    pub error: Option<String>,
    pub definition: String,
    pub usage_scenarios: String,
    pub time_sensitive: bool,
    pub notification_email: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub current_run_id: Option<RunId>,
}

/// A segment's IANA time zone as stored; an unknown name is a corrupt row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zone(pub chrono_tz::Tz);

impl Zone {
    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for Zone {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, UnknownValue> {
        value.parse().map(Zone).map_err(|_| UnknownValue {
            kind: "time zone",
            value,
        })
    }
}

pub const SELECT_SEGMENTS: &str = "SELECT s.id, s.name, s.method, s.target_object, s.group_id,
        g.name AS group_name, s.owner_scope, s.status,
        (SELECT r.phase FROM segment_runs r WHERE r.segment_id = s.id
            AND r.status IN ('queued', 'running') ORDER BY r.id DESC LIMIT 1) AS phase,
        s.size, s.data_date, s.update_frequency, s.daily_run_time, s.time_zone, s.expires_at,
        s.updated_at, s.error, s.definition, s.usage_scenarios, s.time_sensitive,
        s.notification_email, s.created_by, s.created_at, s.current_run_id
     FROM segments s LEFT JOIN segment_groups g ON g.id = s.group_id";

impl SegmentRecord {
    pub fn definition(&self) -> AppResult<Definition> {
        serde_json::from_str(&self.definition)
            .map_err(|error| anyhow::anyhow!("unreadable definition of segment {}: {error}", self.id).into())
    }

    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.time_zone.0
    }

    /// The status as of `now`: past Expires At a segment is expired even
    /// before the sweeper records it.
    pub fn status_at(&self, now: i64) -> SegmentStatus {
        if self.expires_at <= now {
            return SegmentStatus::Expired;
        }
        self.status
    }

    pub fn to_row(&self, now: i64) -> AppResult<SegmentRow> {
        Ok(SegmentRow {
            id: self.id,
            name: self.name.clone(),
            method: self.method,
            target_object: self.target_object,
            group_id: self.group_id,
            group_name: self.group_name.clone(),
            owner_scope: self.owner_scope.clone(),
            status: self.status_at(now),
            phase: self
                .phase
                .clone()
                .map(RunPhase::try_from)
                .transpose()
                .map_err(anyhow::Error::from)?,
            size: self.size,
            data_date: self.data_date.clone(),
            update_frequency: self.update_frequency,
            daily_run_time: self.daily_run_time.clone(),
            time_zone: self.time_zone.name().to_string(),
            expires_at: self.expires_at,
            updated_at: self.updated_at,
            error: self.error.clone(),
        })
    }
}

fn not_found() -> AppError {
    AppError::NotFound("The segment".into())
}

/// The segment if it exists, is not deleted and the principal may see it.
pub async fn load_segment(db: &Db, principal: &Principal, id: SegmentId) -> AppResult<SegmentRecord> {
    let record = load_any(db, id).await?.ok_or_else(not_found)?;
    if principal.scope.can_see(&record.owner_scope) {
        Ok(record)
    } else {
        Err(not_found())
    }
}

/// The segment regardless of scope (for the worker and the scheduler).
pub async fn load_any(db: &Db, id: SegmentId) -> AppResult<Option<SegmentRecord>> {
    Ok(with_db!(db, pool => {
        sqlx::query_as::<_, SegmentRecord>(&format!(
            "{SELECT_SEGMENTS} WHERE s.id = $1 AND s.deleted_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await?
    }))
}

enum Param {
    Int(i64),
    Text(String),
}

pub async fn list(db: &Db, principal: &Principal, query: &ListQuery, now: i64) -> AppResult<SegmentPage> {
    let mut clauses = vec!["s.deleted_at IS NULL".to_string()];
    let mut params = Vec::new();
    let param = |value: Param, params: &mut Vec<Param>| {
        params.push(value);
        format!("${}", params.len())
    };
    if !principal.scope.is_platform() {
        let p = param(Param::Text(principal.scope.to_string()), &mut params);
        clauses.push(format!("s.owner_scope = {p}"));
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let escaped = q
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let like = param(Param::Text(format!("%{escaped}%")), &mut params);
        match q.trim_start_matches('#').parse::<i64>() {
            Ok(id) => {
                let id = param(Param::Int(id), &mut params);
                clauses.push(format!("(s.id = {id} OR LOWER(s.name) LIKE {like} ESCAPE '\\')"));
            }
            Err(_) => clauses.push(format!("LOWER(s.name) LIKE {like} ESCAPE '\\'")),
        }
    }
    if let Some(group) = query.group_id {
        let p = param(Param::Int(group.0), &mut params);
        clauses.push(format!("s.group_id = {p}"));
    }
    if let Some(status) = query.status {
        // Expiry is decided by the clock, not only by the sweeper's last pass.
        let now_p = param(Param::Int(now), &mut params);
        if status == SegmentStatus::Expired {
            clauses.push(format!("(s.status = 'expired' OR s.expires_at <= {now_p})"));
        } else {
            let p = param(Param::Text(status.as_str().into()), &mut params);
            clauses.push(format!("s.status = {p} AND s.expires_at > {now_p}"));
        }
    }
    if let Some(method) = query.method.as_deref().filter(|m| !m.is_empty()) {
        let p = param(Param::Text(method.into()), &mut params);
        clauses.push(format!("s.method = {p}"));
    }
    if let Some(target) = query.target_object {
        let p = param(Param::Text(target.as_str().into()), &mut params);
        clauses.push(format!("s.target_object = {p}"));
    }
    let filter = clauses.join(" AND ");
    let column = match query.sort.unwrap_or_default() {
        SortKey::Id => "s.id",
        SortKey::Name => "LOWER(s.name)",
        SortKey::Size => "s.size",
        SortKey::ExpiresAt => "s.expires_at",
        SortKey::UpdatedAt => "s.updated_at",
    };
    let direction = if query.asc.unwrap_or(false) { "ASC" } else { "DESC" };
    let page_size = query
        .page_size
        .unwrap_or(DEFAULT_PAGE_SIZE)
        .clamp(1, MAX_PAGE_SIZE);
    let page = query.page.unwrap_or(1).max(1);
    let offset = i64::from(page - 1) * i64::from(page_size);
    // NULLs (no size yet) sort last in both directions on both backends.
    let sql = format!(
        "{SELECT_SEGMENTS} WHERE {filter} ORDER BY ({column} IS NULL), {column} {direction}, s.id {direction}
         LIMIT {page_size} OFFSET {offset}"
    );
    let count_sql = format!("SELECT COUNT(*) FROM segments s WHERE {filter}");
    let (records, total) = with_db!(db, pool => {
        let mut rows = sqlx::query_as::<_, SegmentRecord>(&sql);
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for value in &params {
            match value {
                Param::Int(v) => {
                    rows = rows.bind(*v);
                    count = count.bind(*v);
                }
                Param::Text(v) => {
                    rows = rows.bind(v.clone());
                    count = count.bind(v.clone());
                }
            }
        }
        (rows.fetch_all(pool).await?, count.fetch_one(pool).await?)
    });
    Ok(SegmentPage {
        rows: records
            .iter()
            .map(|r| r.to_row(now))
            .collect::<AppResult<Vec<_>>>()?,
        total,
        page,
        page_size,
    })
}

pub async fn runs(db: &Db, segment_id: SegmentId) -> AppResult<Vec<RunView>> {
    Ok(with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, run_key, status, phase, CAST(attempts AS BIGINT) AS attempts, size, data_date, as_of, error,
                    queued_at, started_at, finished_at, evaluate_ms, total_ms, entered, exited, inputs
             FROM segment_runs WHERE segment_id = $1 ORDER BY id DESC LIMIT 30",
        )
        .bind(segment_id)
        .fetch_all(pool)
        .await?
    }))
}

pub async fn detail(db: &Db, principal: &Principal, id: SegmentId, now: i64) -> AppResult<SegmentDetail> {
    let record = load_segment(db, principal, id).await?;
    Ok(SegmentDetail {
        row: record.to_row(now)?,
        definition: record.definition()?,
        usage_scenarios: serde_json::from_str(&record.usage_scenarios).unwrap_or_default(),
        time_sensitive: record.time_sensitive,
        notification_email: record.notification_email.clone(),
        created_by: record.created_by.clone(),
        created_at: record.created_at,
        runs: runs(db, id).await?,
    })
}

/// The stored member bitmap of a run.
pub async fn run_members(db: &Db, run_id: RunId) -> AppResult<Option<roaring::RoaringBitmap>> {
    let bytes: Option<Option<Vec<u8>>> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT members FROM segment_runs WHERE id = $1 AND status = 'succeeded'")
            .bind(run_id)
            .fetch_optional(pool)
            .await?
    });
    match bytes.flatten() {
        None => Ok(None),
        Some(bytes) => roaring::RoaringBitmap::deserialize_from(&bytes[..])
            .map(Some)
            .map_err(|error| anyhow::anyhow!("unreadable snapshot of run {run_id}: {error}").into()),
    }
}

/// Member bitmaps of succeeded runs, kept in memory for lookups. A run's
/// snapshot never changes, so an entry is never out of date.
#[derive(Clone)]
pub struct SnapshotCache {
    runs: moka::sync::Cache<RunId, Arc<RoaringBitmap>>,
}

/// Snapshots held at most; the least useful are evicted past it.
const CACHED_SNAPSHOTS: u64 = 256;

impl Default for SnapshotCache {
    fn default() -> Self {
        Self {
            runs: moka::sync::Cache::new(CACHED_SNAPSHOTS),
        }
    }
}

impl SnapshotCache {
    pub async fn get(&self, db: &Db, run_id: RunId) -> AppResult<Arc<RoaringBitmap>> {
        if let Some(members) = self.runs.get(&run_id) {
            return Ok(members);
        }
        let members = Arc::new(
            run_members(db, run_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("run {run_id} has no stored snapshot"))?,
        );
        self.runs.insert(run_id, members.clone());
        Ok(members)
    }
}

/// What a lookup needs of a segment, kept while the segment row is unchanged.
#[derive(Debug)]
pub struct Serving {
    pub record: SegmentRecord,
    /// The newest ready date the current snapshot's run used.
    pub ready_date: Option<String>,
}

/// (updated_at, current run, status): any change to a segment that matters
/// to lookups changes one of these.
type ServingVersion = (i64, Option<RunId>, String);

/// Segments held at most; the least useful are evicted past it.
const CACHED_SEGMENTS: u64 = 10_000;

/// Segments as lookups read them, revalidated by one primary-key read.
#[derive(Clone)]
pub struct ServingCache {
    segments: moka::sync::Cache<SegmentId, (ServingVersion, Arc<Serving>)>,
}

impl Default for ServingCache {
    fn default() -> Self {
        Self {
            segments: moka::sync::Cache::new(CACHED_SEGMENTS),
        }
    }
}

impl ServingCache {
    /// The segment (not deleted) as of now, or `None`.
    pub async fn get(&self, db: &Db, id: SegmentId) -> AppResult<Option<Arc<Serving>>> {
        let version: Option<ServingVersion> = with_db!(db, pool => {
            sqlx::query_as("SELECT updated_at, current_run_id, status FROM segments WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let Some(version) = version else {
            return Ok(None);
        };
        if let Some((cached, serving)) = self.segments.get(&id)
            && cached == version
        {
            return Ok(Some(serving));
        }
        let Some(record) = load_any(db, id).await? else {
            return Ok(None);
        };
        let ready_date = match record.current_run_id {
            Some(run) => with_db!(db, pool => {
                sqlx::query_scalar::<_, Option<String>>("SELECT ready_date FROM segment_runs WHERE id = $1")
                    .bind(run)
                    .fetch_optional(pool)
                    .await?
                    .flatten()
            }),
            None => None,
        };
        let fresh = (
            record.updated_at,
            record.current_run_id,
            record.status.as_str().to_string(),
        );
        let serving = Arc::new(Serving { record, ready_date });
        self.segments.insert(id, (fresh, serving.clone()));
        Ok(Some(serving))
    }
}
