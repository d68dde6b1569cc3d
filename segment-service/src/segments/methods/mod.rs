//! The creation methods, one module each: what a method checks when a
//! segment is created, and how a run computes its members. A new method is
//! a module here, its variant in `segment_contract::segments::Definition`
//! and one line in each dispatch below.

mod custom_list;
pub mod lookalike;
mod segment_set;
mod tag_filter;
mod warehouse_table;

use std::time::Instant;

use roaring::RoaringBitmap;

use super::records::{self, SegmentRecord};
use super::visible::audience_from_database;
use crate::infra::db::Db;
use crate::infra::millis;
use crate::state::AppState;
use crate::with_db;
use segment_contract::auth::Principal;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::ids::{GroupId, RunId, SegmentId, UploadId};
use segment_contract::segments::{BasicInfo, Combination, Definition, SegmentStatus};

/// What a creation request is checked in.
pub struct CreateContext<'a> {
    pub state: &'a AppState,
    pub principal: &'a Principal,
    pub basic: &'a BasicInfo,
    /// Unix ms.
    pub now: i64,
}

/// A definition that passed its method's checks.
pub struct Checked {
    /// What is stored with the segment: names resolved as the data spells
    /// them, request-only parts removed.
    pub stored: Definition,
    /// A second segment to create with it (tag filtering's combination).
    pub combined: Option<(Combination, BasicInfo)>,
}

impl Checked {
    fn alone(stored: Definition) -> Self {
        Checked {
            stored,
            combined: None,
        }
    }
}

/// What a run works on.
pub struct RunContext<'a> {
    pub state: &'a AppState,
    pub record: &'a SegmentRecord,
    /// `create` or `daily:YYYY-MM-DD`.
    pub run_key: &'a str,
}

/// What a run produced.
pub struct Output {
    pub members: RoaringBitmap,
    pub as_of: Option<String>,
    pub data_date: Option<String>,
    pub ready_date: Option<String>,
    /// What the run read, as JSON (shown on the details page).
    pub inputs: Option<String>,
    pub evaluate_ms: i64,
}

impl Output {
    /// The output of a run that read inputs other than tag data (an
    /// upload, a table, a seed): no evaluation date, no data date.
    fn read(members: RoaringBitmap, inputs: &serde_json::Value, evaluate_ms: i64) -> Output {
        Output {
            members,
            as_of: None,
            data_date: None,
            ready_date: None,
            inputs: Some(inputs.to_string()),
            evaluate_ms,
        }
    }
}

pub enum RunError {
    /// An input is not ready: try again shortly, without using an attempt.
    Wait(String),
    /// Transient: retried with backoff until the attempts run out.
    Retry(String),
    /// Final: retrying cannot help.
    Fail(String),
}

impl From<AppError> for RunError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Internal => RunError::Retry("A database error interrupted the run.".into()),
            other => RunError::Retry(other.to_string()),
        }
    }
}

/// The engine pool's key for materialization: runs together take at most
/// half the engine threads, so estimates always find one.
pub const RUNS: &str = "materialization";

/// A creation method.
pub(crate) trait Method {
    /// Checks the definition against what it names (segments, uploads,
    /// tables, the catalog), adding each problem under its field. Called
    /// after the basic information was checked, with its problems in
    /// `problems`.
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked>;

    /// Computes the members of a run.
    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError>;
}

pub async fn check(
    definition: &Definition,
    cx: &CreateContext<'_>,
    problems: &mut Vec<FieldError>,
) -> AppResult<Checked> {
    match definition {
        Definition::TagFilter(method) => method.check(cx, problems).await,
        Definition::CustomList(method) => method.check(cx, problems).await,
        Definition::SegmentSet(method) => method.check(cx, problems).await,
        Definition::WarehouseTable(method) => method.check(cx, problems).await,
        Definition::Lookalike(method) => method.check(cx, problems).await,
    }
}

pub async fn materialize(definition: &Definition, cx: &RunContext<'_>) -> Result<Output, RunError> {
    match definition {
        Definition::TagFilter(method) => method.materialize(cx).await,
        Definition::CustomList(method) => method.materialize(cx).await,
        Definition::SegmentSet(method) => method.materialize(cx).await,
        Definition::WarehouseTable(method) => method.materialize(cx).await,
        Definition::Lookalike(method) => method.materialize(cx).await,
    }
}

/// Adds a problem when `group_id` is not one of the groups of the
/// principal's own scope: a segment is filed only in a group of its
/// owner's scope (a platform segment in a merchant's group would be a
/// segment that merchant can neither see nor move).
pub(crate) async fn check_group(
    cx: &CreateContext<'_>,
    group_id: Option<GroupId>,
    prefix: &str,
    problems: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(group_id) = group_id {
        let own = match crate::groups::get_group(&cx.state.db, cx.principal, group_id).await {
            Ok(group) => group.owner_scope == cx.principal.scope,
            Err(AppError::NotFound(_)) => false,
            Err(other) => return Err(other),
        };
        if !own {
            problems.push(FieldError {
                field: format!("{prefix}group_id"),
                message: "Choose one of your groups.".into(),
            });
        }
    }
    Ok(())
}

/// Whether segment `id` may be an input (of a set, a combination, a
/// lookalike seed): visible, of the same target object, and Active (or,
/// unless `require_active`, still generating).
async fn check_input(
    cx: &CreateContext<'_>,
    id: SegmentId,
    require_active: bool,
) -> AppResult<Result<(), String>> {
    let target = cx.basic.target_object;
    let record = match records::load_segment(&cx.state.db, cx.principal, id).await {
        Ok(record) => record,
        Err(AppError::NotFound(_)) => return Ok(Err(format!("Segment {id} was not found."))),
        Err(other) => return Err(other),
    };
    if record.target_object != target {
        return Ok(Err(format!(
            "Segment {id} targets {}; choose one that targets {}.",
            record.target_object.label().to_lowercase(),
            target.label().to_lowercase()
        )));
    }
    let status = record.status_at(cx.now);
    let usable = match status {
        SegmentStatus::Active => true,
        SegmentStatus::Generating | SegmentStatus::Stale => !require_active,
        SegmentStatus::Failed | SegmentStatus::Expired => false,
    };
    if usable {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "Segment {id} is {}; choose an Active segment.",
            status.label().to_lowercase()
        )))
    }
}

/// The output of a run that read a list of IDs (an upload, a warehouse
/// column): restricted to the owner's audience, with what it read.
async fn listed(
    cx: &RunContext<'_>,
    mut members: RoaringBitmap,
    inputs: serde_json::Value,
    started: Instant,
) -> Result<Output, RunError> {
    let record = cx.record;
    if let Some(scopes) = record.owner_scope.audience_scopes() {
        members &= audience_from_database(&cx.state.db, &scopes, record.target_object).await?;
    }
    Ok(Output::read(members, &inputs, millis(started.elapsed())))
}

/// An input segment's current snapshot, or why the run cannot use it yet.
async fn input_snapshot(db: &Db, id: SegmentId) -> Result<(RoaringBitmap, RunId, SegmentRecord), RunError> {
    let Some(record) = records::load_any(db, id).await? else {
        return Err(RunError::Fail(format!("Input segment {id} was deleted.")));
    };
    let Some(run_id) = record.current_run_id else {
        return match record.status {
            SegmentStatus::Generating => Err(RunError::Wait(format!(
                "Waiting for segment {id} to become Active."
            ))),
            status => Err(RunError::Fail(format!(
                "Input segment {id} is {}{}",
                status.as_str(),
                record
                    .error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_else(|| ".".into())
            ))),
        };
    };
    // Dependency order: a set computed while an input is being refreshed would
    // use the snapshot about to be replaced.
    let refreshing: Option<i64> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT id FROM segment_runs WHERE segment_id = $1 AND status IN ('queued', 'running') LIMIT 1")
            .bind(id)
            .fetch_optional(pool)
            .await
            .map_err(AppError::from)?
    });
    if refreshing.is_some() {
        return Err(RunError::Wait(format!(
            "Waiting for the run of segment {id} in progress."
        )));
    }
    let members = records::run_members(db, run_id)
        .await?
        .ok_or_else(|| RunError::Retry(format!("The snapshot of segment {id} could not be read.")))?;
    Ok((members, run_id, record))
}

/// The matched IDs of an upload a run reads.
async fn upload_members(db: &Db, upload_id: UploadId) -> Result<RoaringBitmap, RunError> {
    super::uploads::members_of(db, upload_id)
        .await?
        .ok_or_else(|| RunError::Fail(format!("Upload {upload_id} no longer exists.")))
}
