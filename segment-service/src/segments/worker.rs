//! Materialization: workers claim queued runs with a lease, keep the lease
//! alive while they work, and store the member bitmap with the run. A run
//! whose worker died is claimed again once its lease expires; a worker that
//! lost its lease cannot store anything, so one run never yields two
//! snapshots. Failures retry with backoff and end with a readable reason.

use std::time::{Duration, Instant};

use roaring::RoaringBitmap;
use tokio_util::sync::CancellationToken;

use super::methods::{self, Output, RunContext, RunError};
use super::records;
use crate::background;
use crate::infra::db::{Backend, Db};
use crate::infra::{millis, now_ms, stored_count};
use crate::state::AppState;
use crate::with_db;
use segment_contract::error::AppError;
use segment_contract::ids::{RunId, SegmentId};
use segment_contract::segments::{RunPhase, local_time};

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
    pub id: RunId,
    pub segment_id: SegmentId,
    pub run_key: String,
    pub attempts: i64,
    pub owner: String,
}

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
    let row: Option<(RunId, SegmentId, String, i64)> = with_db!(db, pool => {
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
            if let Err(error) = requeue(
                &state.db,
                &claimed,
                RunPhase::Queued,
                reason,
                Duration::ZERO,
                true,
            )
            .await
            {
                tracing::error!(%error, run = %claimed.id, "handing the run back at shutdown failed");
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
            Err(error) => tracing::warn!(%error, run = %claimed.id, "heartbeat failed"),
        }
    }
}

async fn set_phase(db: &Db, claimed: &Claimed, phase: RunPhase) -> Result<(), AppError> {
    with_db!(db, pool => {
        sqlx::query("UPDATE segment_runs SET phase = $1 WHERE id = $2 AND lease_owner = $3")
            .bind(phase.as_str())
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
    let definition = record.definition()?;
    let cx = RunContext {
        state,
        record: &record,
        run_key: &claimed.run_key,
    };
    methods::materialize(&definition, &cx).await
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
                RunPhase::Waiting,
                &reason,
                Duration::from_millis(500),
                true,
            )
            .await
        }
        Err(RunError::Retry(reason)) if claimed.attempts < settings.max_attempts => {
            let doublings = u32::try_from((claimed.attempts - 1).clamp(0, 10)).unwrap_or(10);
            let delay = settings.retry_base * 2u32.pow(doublings);
            tracing::warn!(run = %claimed.id, attempt = claimed.attempts, %reason, ?delay, "run will be retried");
            requeue(&state.db, claimed, RunPhase::Retrying, &reason, delay, false).await
        }
        Err(RunError::Retry(reason) | RunError::Fail(reason)) => fail(&state.db, claimed, &reason).await,
    };
    if let Err(error) = result {
        // The lease runs out and another worker picks the run up.
        tracing::error!(%error, run = %claimed.id, "recording a run's outcome failed");
    }
}

async fn requeue(
    db: &Db,
    claimed: &Claimed,
    phase: RunPhase,
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
        .bind(phase.as_str())
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
    set_phase(&state.db, claimed, RunPhase::Storing).await?;
    let mut bytes = Vec::with_capacity(output.members.serialized_size());
    output
        .members
        .serialize_into(&mut bytes)
        .map_err(anyhow::Error::from)?;
    let size = stored_count(output.members.len());
    let (entered, exited) = membership_moves(state, claimed, &output.members).await?;
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
            run = %claimed.id,
            segment = %claimed.segment_id,
            size,
            "run succeeded"
        ),
        None => tracing::warn!(
            run = %claimed.id,
            "lease lost before storing; the result was discarded"
        ),
    }
    Ok(())
}

/// How membership moved since the snapshot this run replaces: members that
/// entered and members that left (all entered for a first snapshot).
async fn membership_moves(
    state: &AppState,
    claimed: &Claimed,
    members: &RoaringBitmap,
) -> Result<(i64, i64), AppError> {
    let previous_run: Option<RunId> = with_db!(&state.db, pool => {
        sqlx::query_scalar::<_, Option<RunId>>("SELECT current_run_id FROM segments WHERE id = $1")
            .bind(claimed.segment_id)
            .fetch_optional(pool)
            .await?
            .flatten()
    });
    Ok(match previous_run {
        Some(run) => {
            let previous = state.snapshots.get(&state.db, run).await?;
            (
                stored_count((members - previous.as_ref()).len()),
                stored_count((previous.as_ref() - members).len()),
            )
        }
        None => (stored_count(members.len()), 0),
    })
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
    tracing::warn!(run = %claimed.id, segment = %claimed.segment_id, %reason, "run failed");
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
            segment = %dependent,
            input = %claimed.segment_id,
            "dependent segment enqueued"
        );
    }
    Ok(())
}
