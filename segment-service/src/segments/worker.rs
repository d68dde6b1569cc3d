//! Materialization: workers claim queued runs with a lease, keep the lease
//! alive while they work, and store the member bitmap with the run. A run
//! whose worker died is claimed again once its lease expires; a worker that
//! lost its lease cannot store anything, so one run never yields two
//! snapshots. Failures retry with backoff and end with a readable reason.

use std::time::{Duration, Instant};

use roaring::RoaringBitmap;
use segment_core::time::{parse_date, today_in};
use segment_core::validate::{Context, validate};
use tokio_util::sync::CancellationToken;

use super::newest_ready_date;
use super::records::{self, SegmentRecord};
use super::visible::audience_from_database;
use crate::background;
use crate::infra::db::{Backend, Db};
use crate::infra::{millis, now_ms, stored_count};
use crate::state::AppState;
use crate::tags::catalog_for;
use crate::warehouse::PopulationMatcher;
use crate::with_db;
use segment_contract::error::AppError;
use segment_contract::segments::{Definition, SegmentStatus, SetOperation, local_time};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub workers: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// First retry delay; doubled on every further attempt.
    pub retry_base: Duration,
    /// Attempts before a run fails for good.
    pub max_attempts: i64,
    /// How often an idle worker looks for work.
    pub poll: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(30),
            retry_base: Duration::from_secs(2),
            max_attempts: 3,
            poll: Duration::from_millis(200),
        }
    }
}

/// A run this worker holds the lease of.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub segment_id: i64,
    pub run_key: String,
    pub attempts: i64,
    pub owner: String,
}

/// What a run produced.
struct Output {
    members: RoaringBitmap,
    as_of: Option<String>,
    data_date: Option<String>,
    ready_date: Option<String>,
    inputs: Option<String>,
    evaluate_ms: i64,
}

enum RunError {
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
const RUNS: &str = "materialization";

/// One worker: claims and runs one run at a time until shutdown. A run in
/// progress at shutdown is handed back (queued again, its attempt refunded),
/// so the next start, or another server, takes it at once.
pub async fn work(state: AppState, settings: WorkerSettings, shutdown: CancellationToken) {
    let owner = format!("{}-{}", std::process::id(), rand::random::<u32>());
    loop {
        let pause = match claim(&state.db, &owner, settings.lease, now_ms()).await {
            Ok(Some(claimed)) => {
                process(&state, &settings, claimed, &shutdown).await;
                Duration::ZERO
            }
            Ok(None) => settings.poll,
            Err(error) => {
                tracing::error!(%error, "claiming a run failed");
                settings.poll * 10
            }
        };
        if !background::pause(&shutdown, pause).await {
            return;
        }
    }
}

/// Claims the oldest runnable run: queued and due, or running under an
/// expired lease (its worker died).
pub async fn claim(db: &Db, owner: &str, lease: Duration, now: i64) -> Result<Option<Claimed>, AppError> {
    let lock = match db.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        // SQLite runs one write at a time; the statement is atomic.
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE segment_runs SET status = 'running', phase = 'evaluating', lease_owner = $1,
            lease_expires_at = $2, attempts = attempts + 1, started_at = COALESCE(started_at, $3)
         WHERE id = (SELECT id FROM segment_runs
                     WHERE (status = 'queued' AND not_before <= $3)
                        OR (status = 'running' AND lease_expires_at < $3)
                     ORDER BY not_before, id LIMIT 1 {lock})
           AND (status = 'queued' OR lease_expires_at < $3)
         RETURNING id, segment_id, run_key, CAST(attempts AS BIGINT)"
    );
    // A read first: an idle poll must not take the database's write lock
    // (on SQLite that would stall every request now and then).
    let runnable: Option<i64> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM segment_runs WHERE (status = 'queued' AND not_before <= $1)
                OR (status = 'running' AND lease_expires_at < $1) LIMIT 1",
        )
        .bind(now)
        .fetch_optional(pool)
        .await?
    });
    if runnable.is_none() {
        return Ok(None);
    }
    let row: Option<(i64, i64, String, i64)> = with_db!(db, pool => {
        sqlx::query_as(&sql)
            .bind(owner)
            .bind(now + millis(lease))
            .bind(now)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(id, segment_id, run_key, attempts)| Claimed {
        id,
        segment_id,
        run_key,
        attempts,
        owner: owner.to_string(),
    }))
}

/// Runs a claimed run to its end (success, retry, wait or failure).
pub async fn process(
    state: &AppState,
    settings: &WorkerSettings,
    claimed: Claimed,
    shutdown: &CancellationToken,
) {
    let started = Instant::now();
    if claimed.attempts > settings.max_attempts {
        let reason = format!(
            "The run was interrupted {} times (the server stopped while it ran) and was given up.",
            settings.max_attempts
        );
        finish(state, &claimed, Err(RunError::Fail(reason)), settings, started).await;
        return;
    }
    let heartbeat = tokio::spawn(heartbeat(state.db.clone(), claimed.clone(), settings.lease));
    let outcome = tokio::select! {
        outcome = execute(state, &claimed) => Some(outcome),
        _ = shutdown.cancelled() => None,
    };
    heartbeat.abort();
    match outcome {
        Some(outcome) => finish(state, &claimed, outcome, settings, started).await,
        None => {
            let reason = "The server stopped while this run worked; it starts again.";
            if let Err(error) = requeue(&state.db, &claimed, "queued", reason, Duration::ZERO, true).await {
                tracing::error!(%error, run = claimed.id, "handing the run back at shutdown failed");
            }
        }
    }
}

/// Extends the lease every third of its length while the run works.
async fn heartbeat(db: Db, claimed: Claimed, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let extended = with_db!(&db, pool => {
            sqlx::query("UPDATE segment_runs SET lease_expires_at = $1 WHERE id = $2 AND lease_owner = $3 AND status = 'running'")
                .bind(now_ms() + millis(lease))
                .bind(claimed.id)
                .bind(&claimed.owner)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        });
        match extended {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, run = claimed.id, "heartbeat failed"),
        }
    }
}

async fn set_phase(db: &Db, claimed: &Claimed, phase: &str) -> Result<(), AppError> {
    with_db!(db, pool => {
        sqlx::query("UPDATE segment_runs SET phase = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(phase)
            .bind(claimed.id)
            .bind(&claimed.owner)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(())
}

async fn execute(state: &AppState, claimed: &Claimed) -> Result<Output, RunError> {
    let Some(record) = records::load_any(&state.db, claimed.segment_id).await? else {
        return Err(RunError::Fail("The segment was deleted.".into()));
    };
    let owner = record.owner_scope.clone();
    let definition = record.definition()?;
    match definition {
        Definition::TagFilter { rule, .. } => {
            let loaded = state
                .tag_index
                .current()
                .ok_or_else(|| RunError::Wait("The tag index is loading.".into()))?;
            let tz = record.time_zone();
            let as_of = match claimed.run_key.strip_prefix("daily:") {
                Some(date) => parse_date(date).map_err(RunError::Fail)?,
                None => today_in(tz, chrono::Utc::now()),
            };
            let plan = validate(
                &rule,
                &Context {
                    catalog: &catalog_for(&loaded.catalog, &owner),
                    target: record.target_object,
                    time_zone: tz,
                    as_of,
                },
            )
            .map_err(|problems| {
                RunError::Fail(format!(
                    "The rule no longer fits the tag data: {}",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
            let audience = owner.audience_scopes();
            let data_date = plan.data_date.map(|d| d.to_string());
            let ready_date = newest_ready_date(&loaded.catalog, &rule).map(|d| d.to_string());
            let (members, evaluate_ms) = state
                .engine
                .run(RUNS, None, move || {
                    let evaluating = Instant::now();
                    let members = loaded.index.evaluate(&plan, audience.as_deref());
                    (members, millis(evaluating.elapsed()))
                })
                .await?;
            let members = members.map_err(|error| {
                RunError::Retry(format!("The engine could not evaluate the rule: {error}"))
            })?;
            Ok(Output {
                members,
                as_of: Some(as_of.to_string()),
                data_date,
                ready_date,
                inputs: None,
                evaluate_ms,
            })
        }
        Definition::CustomList { upload_id } => {
            let started = Instant::now();
            let members = super::uploads::members_of(&state.db, upload_id)
                .await?
                .ok_or_else(|| RunError::Fail(format!("Upload {upload_id} no longer exists.")))?;
            let inputs = serde_json::json!({"upload_id": upload_id});
            listed(state, &record, members, inputs, started).await
        }
        Definition::WarehouseTable { table, id_column } => {
            let started = Instant::now();
            let warehouse = state.warehouse.as_ref().ok_or_else(|| {
                RunError::Fail("No warehouse is connected (WAREHOUSE_URL is not set).".into())
            })?;
            let found = match warehouse.resolve(&table).await {
                Ok(found) => found,
                Err(AppError::NotFound(_)) => {
                    return Err(RunError::Fail(format!(
                        "The warehouse no longer has a table {table:?}."
                    )));
                }
                Err(other) => return Err(other.into()),
            };
            let mut matcher =
                PopulationMatcher::new(state.db.clone(), record.target_object, &found, &id_column);
            match warehouse
                .distinct_values(&found, &id_column, crate::entities::LOOKUP_BATCH, &mut matcher)
                .await
            {
                Ok(()) => {}
                Err(AppError::NotFound(what)) => {
                    return Err(RunError::Fail(format!("{what} is no longer in the warehouse.")));
                }
                Err(other) => return Err(other.into()),
            }
            let inputs = serde_json::to_value(&matcher.read).map_err(|e| RunError::Fail(e.to_string()))?;
            listed(state, &record, matcher.members, inputs, started).await
        }
        Definition::Lookalike {
            seed_segment_id,
            seed_upload_id,
            target_size,
        } => {
            let loaded = state
                .tag_index
                .current()
                .ok_or_else(|| RunError::Wait("The tag index is loading.".into()))?;
            let (seed, seed_input) = match (seed_segment_id, seed_upload_id) {
                (Some(id), _) => {
                    let (members, run, _) = input(state, id).await?;
                    (members, serde_json::json!({"segment_id": id, "run_id": run}))
                }
                (None, Some(id)) => {
                    let members = super::uploads::members_of(&state.db, id)
                        .await?
                        .ok_or_else(|| RunError::Fail(format!("Upload {id} no longer exists.")))?;
                    (members, serde_json::json!({"upload_id": id}))
                }
                (None, None) => return Err(RunError::Fail("The lookalike has no seed.".into())),
            };
            let target = record.target_object;
            let audience = owner.audience_scopes();
            let tenant = owner.tenant();
            // Scoring walks every entity's features: on the engine threads.
            let (members, model) = state
                .engine
                .run(RUNS, None, move || {
                    let population = loaded.index.population(target);
                    let universe = match audience {
                        Some(scopes) => loaded.index.audience(&scopes, target) & &population,
                        None => population,
                    };
                    // The owner's view: no other tenant's IDs as features or in counts.
                    let catalog = match tenant {
                        Some(tenant) => std::borrow::Cow::Owned(loaded.catalog.for_tenant(&tenant)),
                        None => std::borrow::Cow::Borrowed(&loaded.catalog),
                    };
                    segment_core::engine::lookalike::expand(
                        &loaded.index,
                        &catalog,
                        target,
                        &universe,
                        &seed,
                        target_size,
                    )
                })
                .await?
                .map_err(|error| RunError::Fail(format!("The lookalike cannot be computed: {error}.")))?;
            let evaluate_ms = stored_count(model.score_ms);
            let inputs = serde_json::json!({"seed": seed_input, "model": model});
            Ok(Output {
                members,
                as_of: None,
                data_date: None,
                ready_date: None,
                inputs: Some(inputs.to_string()),
                evaluate_ms,
            })
        }
        Definition::SegmentSet {
            left,
            right,
            operation,
        } => {
            let (left_members, left_run, left_record) = input(state, left).await?;
            let (right_members, right_run, right_record) = input(state, right).await?;
            let evaluating = Instant::now();
            let mut members = match operation {
                SetOperation::Intersection => left_members & right_members,
                SetOperation::Union => left_members | right_members,
                SetOperation::Difference => left_members - right_members,
            };
            if let Some(scopes) = owner.audience_scopes() {
                // Inputs are the owner's own, already scoped; kept as a guard.
                members &= audience_from_database(&state.db, &scopes, record.target_object).await?;
            }
            let inputs = serde_json::json!({
                "left": {"segment_id": left, "run_id": left_run},
                "right": {"segment_id": right, "run_id": right_run},
            });
            Ok(Output {
                members,
                as_of: None,
                data_date: left_record.data_date.clone().max(right_record.data_date.clone()),
                ready_date: None,
                inputs: Some(inputs.to_string()),
                evaluate_ms: millis(evaluating.elapsed()),
            })
        }
    }
}

/// The output of a run that read a list of IDs (an upload, a warehouse
/// column): restricted to the owner's audience, with what it read.
async fn listed(
    state: &AppState,
    record: &SegmentRecord,
    mut members: RoaringBitmap,
    inputs: serde_json::Value,
    started: Instant,
) -> Result<Output, RunError> {
    if let Some(scopes) = record.owner_scope.audience_scopes() {
        members &= audience_from_database(&state.db, &scopes, record.target_object).await?;
    }
    Ok(Output {
        members,
        as_of: None,
        data_date: None,
        ready_date: None,
        inputs: Some(inputs.to_string()),
        evaluate_ms: millis(started.elapsed()),
    })
}

/// An input segment's current snapshot, or why the run cannot use it yet.
async fn input(state: &AppState, id: i64) -> Result<(RoaringBitmap, i64, SegmentRecord), RunError> {
    let Some(record) = records::load_any(&state.db, id).await? else {
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
    let refreshing: Option<i64> = with_db!(&state.db, pool => {
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
    let members = records::run_members(&state.db, run_id)
        .await?
        .ok_or_else(|| RunError::Retry(format!("The snapshot of segment {id} could not be read.")))?;
    Ok((members, run_id, record))
}

/// Records the outcome, guarded by the lease: a worker that lost it changes nothing.
async fn finish(
    state: &AppState,
    claimed: &Claimed,
    outcome: Result<Output, RunError>,
    settings: &WorkerSettings,
    started: Instant,
) {
    let result = match outcome {
        Ok(output) => complete(state, claimed, output, started).await,
        Err(RunError::Wait(reason)) => {
            requeue(
                &state.db,
                claimed,
                "waiting",
                &reason,
                Duration::from_millis(500),
                true,
            )
            .await
        }
        Err(RunError::Retry(reason)) if claimed.attempts < settings.max_attempts => {
            let doublings = u32::try_from((claimed.attempts - 1).clamp(0, 10)).unwrap_or(10);
            let delay = settings.retry_base * 2u32.pow(doublings);
            tracing::warn!(run = claimed.id, attempt = claimed.attempts, %reason, ?delay, "run will be retried");
            requeue(&state.db, claimed, "retrying", &reason, delay, false).await
        }
        Err(RunError::Retry(reason) | RunError::Fail(reason)) => fail(&state.db, claimed, &reason).await,
    };
    if let Err(error) = result {
        // The lease runs out and another worker picks the run up.
        tracing::error!(%error, run = claimed.id, "recording a run's outcome failed");
    }
}

async fn requeue(
    db: &Db,
    claimed: &Claimed,
    phase: &str,
    reason: &str,
    delay: Duration,
    refund_attempt: bool,
) -> Result<(), AppError> {
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE segment_runs SET status = 'queued', phase = $1, error = $2, not_before = $3,
                attempts = attempts - $4, lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $5 AND lease_owner = $6 AND status = 'running'",
        )
        .bind(phase)
        .bind(reason)
        .bind(now_ms() + millis(delay))
        .bind(i32::from(refund_attempt))
        .bind(claimed.id)
        .bind(&claimed.owner)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(())
}

/// Runs kept per segment (the current snapshot is always kept).
pub const KEPT_RUNS: i64 = 30;

async fn complete(
    state: &AppState,
    claimed: &Claimed,
    output: Output,
    started: Instant,
) -> Result<(), AppError> {
    set_phase(&state.db, claimed, "storing").await?;
    let mut bytes = Vec::with_capacity(output.members.serialized_size());
    output
        .members
        .serialize_into(&mut bytes)
        .map_err(anyhow::Error::from)?;
    let size = stored_count(output.members.len());
    // How membership moved since the snapshot this run replaces.
    let previous_run: Option<i64> = with_db!(&state.db, pool => {
        sqlx::query_scalar::<_, Option<i64>>("SELECT current_run_id FROM segments WHERE id = $1")
            .bind(claimed.segment_id)
            .fetch_optional(pool)
            .await?
            .flatten()
    });
    let (entered, exited) = match previous_run {
        Some(run) => {
            let previous = state.snapshots.get(&state.db, run).await?;
            (
                stored_count((&output.members - previous.as_ref()).len()),
                stored_count((previous.as_ref() - &output.members).len()),
            )
        }
        None => (size, 0),
    };
    let now = now_ms();
    let stored = with_db!(&state.db, pool => {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE segment_runs SET status = 'succeeded', phase = 'done', members = $1, size = $2,
                as_of = $3, data_date = $4, ready_date = $5, inputs = $6, error = NULL, finished_at = $7,
                evaluate_ms = $8, total_ms = $9, lease_owner = NULL, lease_expires_at = NULL,
                entered = $12, exited = $13
             WHERE id = $10 AND lease_owner = $11 AND status = 'running'",
        )
        .bind(&bytes)
        .bind(size)
        .bind(&output.as_of)
        .bind(&output.data_date)
        .bind(&output.ready_date)
        .bind(&output.inputs)
        .bind(now)
        .bind(output.evaluate_ms)
        .bind(millis(started.elapsed()))
        .bind(claimed.id)
        .bind(&claimed.owner)
        .bind(entered)
        .bind(exited)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            None
        } else {
            let (name, email, first, time_zone): (String, Option<String>, bool, String) = sqlx::query_as(
                "SELECT name, notification_email, current_run_id IS NULL, time_zone FROM segments WHERE id = $1",
            )
            .bind(claimed.segment_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE segments SET status = CASE WHEN expires_at <= $1 THEN 'expired' ELSE 'active' END,
                    size = $2, data_date = $3, current_run_id = $4, error = NULL, updated_at = $1
                 WHERE id = $5",
            )
            .bind(now)
            .bind(size)
            .bind(&output.data_date)
            .bind(claimed.id)
            .bind(claimed.segment_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM segment_runs WHERE segment_id = $1 AND id <> $2 AND status IN ('succeeded', 'failed')
                   AND id NOT IN (SELECT run_id FROM segment_exports)
                   AND id NOT IN (SELECT id FROM segment_runs WHERE segment_id = $1
                                  AND status IN ('succeeded', 'failed') ORDER BY id DESC LIMIT $3)",
            )
            .bind(claimed.segment_id)
            .bind(claimed.id)
            .bind(KEPT_RUNS)
            .execute(&mut *tx)
            .await?;
            if let (Some(email), true) = (&email, first) {
                let subject = format!("Segment {} \"{name}\" is Active", claimed.segment_id);
                let body = format!(
                    "Segment {} \"{name}\" is Active with {size} members (data date {}).\nGenerated at {} ({time_zone}).\n",
                    claimed.segment_id,
                    output.data_date.as_deref().unwrap_or("n/a"),
                    local_time(now, &time_zone),
                );
                crate::infra::mail::enqueue!(tx, email, &subject, &body, claimed.segment_id, now);
            }
            tx.commit().await?;
            Some(size)
        }
    });
    if stored.is_some() && claimed.run_key != "create" {
        enqueue_dependents(&state.db, claimed).await?;
    }
    match stored {
        Some(size) => tracing::info!(
            run = claimed.id,
            segment = claimed.segment_id,
            size,
            "run succeeded"
        ),
        None => tracing::warn!(
            run = claimed.id,
            "lease lost before storing; the result was discarded"
        ),
    }
    Ok(())
}

async fn fail(db: &Db, claimed: &Claimed, reason: &str) -> Result<(), AppError> {
    let now = now_ms();
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE segment_runs SET status = 'failed', phase = 'failed', error = $1, finished_at = $2,
                lease_owner = NULL, lease_expires_at = NULL
             WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(reason)
        .bind(now)
        .bind(claimed.id)
        .bind(&claimed.owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 1 {
            // A segment with an earlier snapshot keeps serving it; the error is shown beside it.
            let found: Option<(String, Option<String>)> = sqlx::query_as(
                "UPDATE segments SET status = CASE WHEN current_run_id IS NULL AND status <> 'expired' THEN 'failed' ELSE status END,
                    error = $1, updated_at = $2
                 WHERE id = $3 RETURNING name, notification_email",
            )
            .bind(reason)
            .bind(now)
            .bind(claimed.segment_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((name, Some(email))) = found {
                let subject = format!("Segment {} \"{name}\" failed", claimed.segment_id);
                let body = format!("A run of segment {} \"{name}\" failed: {reason}\n", claimed.segment_id);
                crate::infra::mail::enqueue!(tx, &email, &subject, &body, claimed.segment_id, now);
            }
        }
        tx.commit().await?;
    });
    tracing::warn!(run = claimed.id, segment = claimed.segment_id, %reason, "run failed");
    Ok(())
}

/// After a refresh of a segment, the daily sets and lookalikes computed from it run again
/// (they wait for any other input still refreshing).
async fn enqueue_dependents(db: &Db, claimed: &Claimed) -> Result<(), AppError> {
    let key = format!("after:{}", claimed.id);
    for (dependent, _, _) in super::manage::dependents(db, claimed.segment_id).await? {
        let frequency: Option<String> = with_db!(db, pool => {
            sqlx::query_scalar("SELECT update_frequency FROM segments WHERE id = $1 AND status <> 'expired'")
                .bind(dependent)
                .fetch_optional(pool)
                .await?
        });
        if frequency.as_deref() != Some("daily") {
            continue;
        }
        let now = now_ms();
        with_db!(db, pool => {
            sqlx::query(
                "INSERT INTO segment_runs (segment_id, run_key, status, not_before, queued_at)
                 VALUES ($1, $2, 'queued', $3, $3) ON CONFLICT (segment_id, run_key) DO NOTHING",
            )
            .bind(dependent)
            .bind(&key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        tracing::info!(
            segment = dependent,
            input = claimed.segment_id,
            "dependent segment enqueued"
        );
    }
    Ok(())
}
