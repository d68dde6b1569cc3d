//! Exports: a record per request pins the segment's snapshot; the exporter
//! counts its rows and bytes, and downloads stream the CSV straight from the
//! snapshot through the in-memory entity dictionary, piece by piece.

use std::sync::Arc;
use std::time::Duration;

use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::dictionary::EntityDictionary;

use super::records;
use crate::infra::db::Db;
use crate::infra::{now_ms, stored_count};
use crate::state::AppState;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::{ExportId, RunId, SegmentId};
use segment_contract::segments::{ExportStatus, ExportView};
use tokio_util::sync::CancellationToken;

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
    state.export_queued.notify_one();
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

/// A finished export, ready to stream.
pub struct Download {
    pub file_name: String,
    pub csv: ExportCsv,
}

pub async fn download(state: &AppState, principal: &Principal, id: ExportId) -> AppResult<Download> {
    let export = get(&state.db, principal, id).await?;
    if export.status != ExportStatus::Done {
        return Err(AppError::Conflict(format!(
            "Export {id} is {}; download it once it is done.",
            export.status.as_str()
        )));
    }
    Ok(Download {
        file_name: format!("segment-{}-export-{id}.csv", export.segment_id),
        csv: export_csv(state, export.segment_id, export.run_id).await?,
    })
}

/// The CSV of a run's members.
async fn export_csv(state: &AppState, segment_id: SegmentId, run_id: RunId) -> AppResult<ExportCsv> {
    let target: String = with_db!(&state.db, pool => {
        sqlx::query_scalar("SELECT target_object FROM segments WHERE id = $1")
            .bind(segment_id)
            .fetch_one(pool)
            .await?
    });
    let target = TargetObject::parse(&target)
        .ok_or_else(|| anyhow::anyhow!("segment {segment_id} has target {target:?}"))?;
    Ok(ExportCsv {
        dictionary: state.dictionaries.fresh(&state.db).await?.of(target),
        members: state.snapshots.get(&state.db, run_id).await?,
    })
}

/// An export's CSV: the `entity_id` header, then each member's ID in
/// member order, copied from the entity dictionary (whose arena already
/// holds `id\n` lines).
pub struct ExportCsv {
    dictionary: Arc<EntityDictionary>,
    members: Arc<RoaringBitmap>,
}

/// `pieces` compressed as one gzip stream.
pub fn gzipped(
    mut pieces: impl Iterator<Item = Vec<u8>> + Send + 'static,
) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
    use std::io::Write;
    let mut encoder = Some(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    std::iter::from_fn(move || {
        let gzip = encoder.as_mut()?;
        match pieces.next() {
            Some(piece) => {
                gzip.write_all(&piece).expect("writing to memory cannot fail");
                Some(std::mem::take(gzip.get_mut()))
            }
            None => encoder
                .take()
                .map(|gzip| gzip.finish().expect("writing to memory cannot fail")),
        }
    })
}

const HEADER: &[u8] = b"entity_id\n";

/// Members per piece of a download: about 0.6 MB of 8-character IDs.
const PIECE: usize = 1 << 16;

impl ExportCsv {
    pub fn rows(&self) -> u64 {
        self.members.len()
    }

    /// The file's exact length in bytes.
    pub fn bytes(&self) -> u64 {
        let lines: usize = self.members.iter().map(|idx| self.line(idx).len()).sum();
        (HEADER.len() + lines) as u64
    }

    fn line(&self, idx: u32) -> &[u8] {
        // Every member is in the population the dictionary holds.
        self.dictionary.line_of(idx).unwrap_or_default()
    }

    /// The bytes `range` of the file (clamped to it), in pieces.
    pub fn pieces(self, range: std::ops::Range<u64>) -> impl Iterator<Item = Vec<u8>> + Send + 'static {
        let mut cursor = Some(0u32);
        let mut offset = 0u64;
        let mut first = true;
        std::iter::from_fn(move || {
            loop {
                if offset >= range.end {
                    return None;
                }
                let from = cursor?;
                let mut piece = Vec::with_capacity(PIECE * 12);
                if std::mem::take(&mut first) {
                    piece.extend_from_slice(HEADER);
                }
                let mut written = 0;
                cursor = None;
                for idx in self.members.range(from..).take(PIECE) {
                    piece.extend_from_slice(self.line(idx));
                    written += 1;
                    cursor = idx.checked_add(1);
                }
                if written < PIECE {
                    cursor = None;
                }
                let start = offset;
                offset += piece.len() as u64;
                if offset <= range.start {
                    continue;
                }
                let skip = usize::try_from(range.start.saturating_sub(start)).expect("within a piece");
                let keep = usize::try_from(range.end.min(offset) - start).expect("within a piece");
                piece.truncate(keep);
                piece.drain(..skip);
                return Some(piece);
            }
        })
    }
}

/// Runs queued exports one at a time, as soon as they are queued, until shutdown. An
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
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
            () = state.export_queued.notified() => {}
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
    let result = count_export(state, segment_id, run_id).await;
    let (status, rows, bytes, error) = match result {
        Ok((rows, bytes)) => ("done", rows, Some(bytes), None),
        Err(error) => ("failed", 0, None, Some(error.to_string())),
    };
    with_db!(&state.db, pool => {
        sqlx::query(
            "UPDATE segment_exports SET status = $1, rows_done = $2, bytes = $3, error = $4, finished_at = $5 WHERE id = $6",
        )
            .bind(status)
            .bind(rows)
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

/// Counts the export's rows and bytes; the file itself is written as it
/// is downloaded.
async fn count_export(state: &AppState, segment_id: SegmentId, run_id: RunId) -> AppResult<(i64, i64)> {
    let csv = export_csv(state, segment_id, run_id).await?;
    Ok((stored_count(csv.rows()), stored_count(csv.bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte range of a file spanning several pieces is exactly that
    /// slice of the whole file, and the gzip variant unpacks to the file.
    #[test]
    fn pieces_are_the_file_and_ranges_are_its_slices() {
        let mut dictionary = EntityDictionary::new();
        for n in 0..200_000u32 {
            dictionary.push(&format!("U{n}")).expect("distinct IDs");
        }
        let members: RoaringBitmap = (0..200_000u32).filter(|n| n % 3 != 1).collect();
        let expected: String = std::iter::once("entity_id\n".to_string())
            .chain(members.iter().map(|n| format!("U{n}\n")))
            .collect();
        let csv = || ExportCsv {
            dictionary: Arc::new(dictionary.clone()),
            members: Arc::new(members.clone()),
        };
        assert_eq!(csv().bytes(), expected.len() as u64);
        assert_eq!(
            csv().pieces(0..u64::MAX).flatten().collect::<Vec<u8>>(),
            expected.as_bytes()
        );
        let piece_edge = expected
            .find(&format!(
                "U{}\n",
                members
                    .select(u32::try_from(PIECE).expect("small"))
                    .expect("a member")
            ))
            .expect("present");
        for (start, end) in [
            (0, 5),
            (3, 700_000),
            (piece_edge - 2, piece_edge + 3),
            (piece_edge, expected.len()),
        ] {
            let range = start as u64..end as u64;
            assert_eq!(
                csv().pieces(range).flatten().collect::<Vec<u8>>(),
                &expected.as_bytes()[start..end],
                "{start}..{end}"
            );
        }
        let mut unpacked = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(
                &gzipped(csv().pieces(0..u64::MAX)).flatten().collect::<Vec<u8>>()[..],
            ),
            &mut unpacked,
        )
        .expect("a gzip stream");
        assert_eq!(unpacked, expected);
    }
}
