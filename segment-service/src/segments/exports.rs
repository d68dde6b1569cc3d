//! Exports: a record per request pins the segment's snapshot; the exporter
//! counts its rows and bytes (with progress), and downloads stream the CSV
//! from the snapshot in windows of the entity dictionary, in constant memory.

use std::sync::Arc;
use std::time::Duration;

use roaring::RoaringBitmap;

use super::records;
use crate::background;
use crate::infra::db::Db;
use crate::infra::ordinal;
use crate::infra::{now_ms, stored_count};
use crate::state::AppState;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::{ExportId, RunId, SegmentId};
use segment_contract::segments::{ExportStatus, ExportView};
use tokio_util::sync::CancellationToken;

/// Member indexes read per dictionary window.
const WINDOW: u32 = 1 << 16;

const SELECT_EXPORTS: &str =
    "SELECT x.id, x.segment_id, s.name AS segment_name, x.run_id, x.status, x.rows_total, x.rows_done,
        x.bytes, x.error, x.requested_by, x.requested_at, x.finished_at
     FROM segment_exports x JOIN segments s ON s.id = x.segment_id";

/// Exports of a deleted or expired segment are gone: not listed, not
/// readable, not downloadable (`$1`: now).
const LIVE: &str = "s.deleted_at IS NULL AND s.expires_at > $1";

/// Records an export of the segment's current snapshot. A principal may
/// have a few exports waiting at once; past that it is refused (429).
pub async fn request(
    state: &AppState,
    principal: &Principal,
    segment_id: SegmentId,
) -> AppResult<ExportView> {
    let db = &state.db;
    let record = records::load_segment(db, principal, segment_id).await?;
    let Some(run_id) = record.current_run_id else {
        return Err(AppError::Conflict(format!(
            "Segment {segment_id} has no members to export yet."
        )));
    };
    let key = principal.key();
    let waiting: i64 = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM segment_exports WHERE principal_key = $1 AND status IN ('queued', 'running')",
        )
        .bind(&key)
        .fetch_one(pool)
        .await?
    });
    if waiting >= state.exports_per_principal {
        return Err(AppError::RateLimited(format!(
            "You have {waiting} exports waiting; download them or wait for them to finish before asking for more."
        )));
    }
    let id = with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO segment_exports (segment_id, run_id, owner_scope, status, rows_total, requested_by, requested_at, principal_key)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7) RETURNING id",
        )
        .bind(segment_id)
        .bind(run_id)
        .bind(record.owner_scope.to_string())
        .bind(record.size.unwrap_or(0))
        .bind(principal.display_name())
        .bind(now_ms())
        .bind(&key)
        .fetch_one(pool)
        .await?
    });
    get(db, principal, ExportId(id)).await
}

pub async fn get(db: &Db, principal: &Principal, id: ExportId) -> AppResult<ExportView> {
    let not_found = || AppError::NotFound("The export".into());
    let owner: Option<String> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT owner_scope FROM segment_exports WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let owner = Scope::parse(&owner.ok_or_else(not_found)?).map_err(|_| not_found())?;
    if !principal.scope.can_see(&owner) {
        return Err(not_found());
    }
    let export: Option<ExportView> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_EXPORTS} WHERE {LIVE} AND x.id = $2"))
            .bind(now_ms())
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    export.ok_or_else(not_found)
}

pub async fn list(db: &Db, principal: &Principal) -> AppResult<Vec<ExportView>> {
    let now = now_ms();
    let rows: Vec<ExportView> = if principal.scope.is_platform() {
        with_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT_EXPORTS} WHERE {LIVE} ORDER BY x.id DESC LIMIT 500"))
                .bind(now)
                .fetch_all(pool)
                .await?
        })
    } else {
        with_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT_EXPORTS} WHERE {LIVE} AND x.owner_scope = $2 ORDER BY x.id DESC LIMIT 500"))
                .bind(now)
                .bind(principal.scope.to_string())
                .fetch_all(pool)
                .await?
        })
    };
    Ok(rows)
}

/// A finished export's CSV source: the pinned snapshot and its target object.
pub struct Download {
    pub file_name: String,
    /// The CSV's exact length, counted by the export pass.
    pub bytes: u64,
    pub target_object: String,
    pub members: Arc<RoaringBitmap>,
}

pub async fn download(state: &AppState, principal: &Principal, id: ExportId) -> AppResult<Download> {
    let export = get(&state.db, principal, id).await?;
    if export.status != ExportStatus::Done {
        return Err(AppError::Conflict(format!(
            "Export {id} is {}; download it once it is done.",
            export.status.as_str()
        )));
    }
    let target: String = with_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT target_object FROM segments WHERE id = $1")
            .bind(export.segment_id)
            .fetch_one(pool)
            .await?
    });
    Ok(Download {
        file_name: format!("segment-{}-export-{id}.csv", export.segment_id),
        bytes: u64::try_from(export.bytes.unwrap_or(0)).unwrap_or(0),
        target_object: target,
        members: state.snapshots.get(&state.db, export.run_id).await?,
    })
}

/// The CSV text of the members in the dictionary window starting at
/// `start`, and where the next non-empty window starts (`None`: done). The
/// first chunk carries the `entity_id` header.
pub async fn csv_chunk(
    db: &Db,
    target: &str,
    members: &RoaringBitmap,
    start: Option<u32>,
) -> AppResult<(Vec<u8>, Option<u32>)> {
    let mut out = Vec::new();
    let start = match start {
        None => {
            out.extend_from_slice(b"entity_id\n");
            match members.min() {
                Some(first) => first - first % WINDOW,
                None => return Ok((out, None)),
            }
        }
        Some(start) => start,
    };
    let end = start.saturating_add(WINDOW);
    let rows: Vec<(i64, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT CAST(idx AS BIGINT), entity_id FROM entities
             WHERE target_object = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(target)
        .bind(i64::from(start))
        .bind(i64::from(end))
        .fetch_all(pool)
        .await?
    });
    {
        let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(&mut out);
        for (idx, entity_id) in rows {
            if members.contains(ordinal(idx)?) {
                writer.write_record([entity_id]).map_err(anyhow::Error::from)?;
            }
        }
        writer.flush().map_err(anyhow::Error::from)?;
    }
    // The next window holding a member, skipping empty stretches.
    let next = members
        .range(end..)
        .next()
        .map(|idx| idx - idx % WINDOW)
        .filter(|_| end > start);
    Ok((out, next))
}

/// Runs queued exports one at a time, with progress, until shutdown. An
/// export interrupted by a stop (or left by a stopped server) starts over.
pub async fn run_exporter(state: AppState, poll: Duration, shutdown: CancellationToken) {
    requeue_running(&state.db).await;
    loop {
        let pass = tokio::select! {
            pass = run_next(&state) => pass,
            _ = shutdown.cancelled() => {
                requeue_running(&state.db).await;
                return;
            }
        };
        let pause = match pass {
            Ok(true) => Duration::ZERO,
            Ok(false) => poll,
            Err(error) => {
                tracing::error!(%error, "an export pass failed");
                poll * 10
            }
        };
        if !background::pause(&shutdown, pause).await {
            return;
        }
    }
}

async fn requeue_running(db: &Db) {
    let reset = with_db!(db, pool => {
        sqlx::query("UPDATE segment_exports SET status = 'queued', rows_done = 0 WHERE status = 'running'")
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    if let Err(error) = reset {
        tracing::error!(%error, "queueing interrupted exports again failed");
    }
}

async fn run_next(state: &AppState) -> AppResult<bool> {
    // A read first, so an idle poll takes no write lock.
    let queued: Option<i64> = with_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT id FROM segment_exports WHERE status = 'queued' LIMIT 1")
            .fetch_optional(pool)
            .await?
    });
    if queued.is_none() {
        return Ok(false);
    }
    let claimed: Option<(ExportId, SegmentId, RunId)> = with_db!(&state.db, pool => {
        sqlx::query_as(
            "UPDATE segment_exports SET status = 'running'
             WHERE id = (SELECT id FROM segment_exports WHERE status = 'queued' ORDER BY id LIMIT 1)
             RETURNING id, segment_id, run_id",
        )
        .fetch_optional(pool)
        .await?
    });
    let Some((id, segment_id, run_id)) = claimed else {
        return Ok(false);
    };
    let result = count_export(state, id, segment_id, run_id).await;
    let (status, bytes, error) = match result {
        Ok(bytes) => ("done", Some(bytes), None),
        Err(error) => ("failed", None, Some(error.to_string())),
    };
    with_db!(&state.db, pool => {
        sqlx::query("UPDATE segment_exports SET status = $1, bytes = $2, error = $3, finished_at = $4 WHERE id = $5")
            .bind(status)
            .bind(bytes)
            .bind(error)
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(true)
}

async fn count_export(
    state: &AppState,
    id: ExportId,
    segment_id: SegmentId,
    run_id: RunId,
) -> AppResult<i64> {
    let target: String = with_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT target_object FROM segments WHERE id = $1")
            .bind(segment_id)
            .fetch_one(pool)
            .await?
    });
    let members = state.snapshots.get(&state.db, run_id).await?;
    let mut bytes = 0i64;
    let mut rows = 0i64;
    let mut next = None;
    let mut first = true;
    while first || next.is_some() {
        let (chunk, following) = csv_chunk(&state.db, &target, &members, next).await?;
        bytes += stored_count(chunk.len());
        rows += stored_count(chunk.iter().filter(|b| **b == b'\n').count()) - i64::from(first);
        first = false;
        next = following;
        with_db!(&state.db, pool => {
            sqlx::query("UPDATE segment_exports SET rows_done = $1 WHERE id = $2")
                .bind(rows)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
    }
    Ok(bytes)
}
