//! Uploaded ID lists: parsed as they stream in (no whole-file buffering),
//! validated line by line, matched to the target object's population in the
//! in-memory entity dictionary as each line arrives, and kept as a bitmap with their report until a custom-list
//! segment is created from them.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::dictionary::EntityDictionary;
use segment_core::id_list::{IdListParser, Line};

use super::visible::Visible;
use crate::infra::db::Db;
use crate::infra::limits::Slot;
use crate::infra::now_ms;
use crate::state::AppState;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::UploadId;
use segment_contract::segments::{Definition, REPORT_SAMPLE, RejectedLine, UploadAnswer, UploadReport};

/// An upload being read.
pub struct UploadBuilder {
    db: Db,
    /// Held while the upload is read: one principal's uploads are bounded.
    _slot: Slot,
    max_bytes: u64,
    bytes: u64,
    parser: IdListParser,
    matching: Matching,
}

/// The lines read so far, matched against the population.
struct Matching {
    target: TargetObject,
    /// The population, as of the newest import when the upload started.
    dictionary: Arc<EntityDictionary>,
    /// IDs the uploader may know of: others are reported as unknown.
    visible: Visible,
    /// One bit per member index: matched so far (a second match is a repeat).
    matched: Vec<u64>,
    /// Hashes of the unknown IDs so far, to tell their repeats apart.
    unknown_seen: HashSet<u64>,
    hasher: RandomState,
    report: UploadReport,
    /// IDs read but not yet looked up: their text, and each one's end and line.
    pending_text: String,
    pending: Vec<(usize, u64)>,
}

/// IDs looked up in the dictionary together: a lookup waits on memory
/// (about 1 µs at 10M), so a batch's lookups are spread over the pool and
/// overlap instead of waiting one after the other.
const LOOKUP_BATCH: usize = 1 << 14;

impl UploadBuilder {
    /// Starts reading an upload of `principal`'s, or refuses (429) while it
    /// has too many in progress.
    pub async fn start(state: &AppState, principal: &Principal, target: TargetObject) -> AppResult<Self> {
        let slot = state.uploads.take(&principal.key())?;
        Ok(Self {
            db: state.db.clone(),
            _slot: slot,
            max_bytes: state.upload_max_bytes,
            bytes: 0,
            parser: IdListParser::keeping_duplicates(),
            matching: Matching {
                target,
                dictionary: state.dictionaries.fresh(&state.db).await?.of(target),
                visible: Visible::stored(&state.db, &principal.scope, target).await?,
                matched: Vec::new(),
                unknown_seen: HashSet::new(),
                hasher: RandomState::new(),
                report: UploadReport::default(),
                pending_text: String::new(),
                pending: Vec::new(),
            },
        })
    }

    /// Reads the next piece of the file.
    pub fn feed(&mut self, chunk: &[u8]) -> AppResult<()> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(AppError::TooLarge(format!(
                "The file is larger than the {} MB limit; split it and upload the parts as separate lists.",
                self.max_bytes / (1 << 20)
            )));
        }
        self.parser.feed_each(chunk, |line| self.matching.take(line));
        Ok(())
    }
}

impl Matching {
    fn take(&mut self, line: Line<'_>) {
        self.report.rows += 1;
        match line {
            Line::Id { line, id } => {
                self.pending_text.push_str(&id);
                self.pending.push((self.pending_text.len(), line));
                if self.pending.len() == LOOKUP_BATCH {
                    self.look_up_pending();
                }
            }
            Line::Duplicate { .. } => self.report.duplicates += 1,
            Line::Invalid { line, reason } => {
                // The header line is not data.
                if line == 1 {
                    self.report.rows -= 1;
                }
                self.report.invalid_count += 1;
                if self.report.invalid.len() < REPORT_SAMPLE {
                    self.report.invalid.push(RejectedLine {
                        line,
                        entity_id: None,
                        reason,
                    });
                }
            }
        }
    }

    /// Looks the pending IDs up, then counts them in line order.
    fn look_up_pending(&mut self) {
        use rayon::prelude::*;
        let pending = std::mem::take(&mut self.pending);
        let text = std::mem::take(&mut self.pending_text);
        let ids: Vec<&str> = pending
            .iter()
            .scan(0, |start, (end, _)| {
                let id = &text[*start..*end];
                *start = *end;
                Some(id)
            })
            .collect();
        let dictionary = &self.dictionary;
        let found: Vec<Option<u32>> = ids
            .par_iter()
            .with_min_len(1 << 10)
            .map(|id| dictionary.index_of(id))
            .collect();
        for ((id, (_, line)), idx) in ids.iter().zip(&pending).zip(found) {
            self.resolve(*line, id, idx);
        }
        // The buffers are kept for the next batch.
        self.pending = pending;
        self.pending.clear();
        self.pending_text = text;
        self.pending_text.clear();
    }

    /// Counts a valid line's ID (found at `idx` in the dictionary) as
    /// matched, unknown or a repeat.
    fn resolve(&mut self, line: u64, id: &str, idx: Option<u32>) {
        // An ID outside the uploader's audience reads as unknown.
        match idx.filter(|idx| self.visible.contains(*idx)) {
            Some(idx) => {
                let (word, bit) = (idx as usize / 64, 1u64 << (idx % 64));
                if word >= self.matched.len() {
                    self.matched.resize(self.dictionary.len() as usize / 64 + 1, 0);
                }
                if self.matched[word] & bit != 0 {
                    self.report.duplicates += 1;
                    return;
                }
                self.matched[word] |= bit;
                self.report.valid += 1;
            }
            None => {
                if !self.unknown_seen.insert(self.hasher.hash_one(id)) {
                    self.report.duplicates += 1;
                    return;
                }
                self.report.valid += 1;
                self.report.unknown += 1;
                if self.report.unknown_sample.len() < REPORT_SAMPLE {
                    self.report.unknown_sample.push(RejectedLine {
                        line,
                        entity_id: Some(id.to_string()),
                        reason: format!("not a known {}", self.target.as_str()),
                    });
                }
            }
        }
    }
}

impl UploadBuilder {
    /// Ends the file and stores the upload; answers its ID and report.
    pub async fn finish(mut self, principal: &Principal) -> AppResult<UploadAnswer> {
        self.parser.finish_each(|line| self.matching.take(line));
        self.matching.look_up_pending();
        if !self.parser.has_header() {
            return Err(AppError::validation(
                "file",
                "The file is empty: it needs the header entity_id and one ID per line.",
            ));
        }
        let bits: Vec<u8> = self
            .matching
            .matched
            .iter()
            .flat_map(|word| word.to_le_bytes())
            .collect();
        let members = RoaringBitmap::from_lsb0_bytes(0, &bits);
        self.matching.report.matched = members.len();
        let mut bytes = Vec::with_capacity(members.serialized_size());
        members.serialize_into(&mut bytes).map_err(anyhow::Error::from)?;
        let report = serde_json::to_string(&self.matching.report).map_err(anyhow::Error::from)?;
        let id = with_db!(&self.db, pool => {
            sqlx::query_scalar::<_, UploadId>(
                "INSERT INTO uploads (owner_scope, target_object, report, members, created_by, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(principal.scope.to_string())
            .bind(self.matching.target.as_str())
            .bind(&report)
            .bind(&bytes)
            .bind(principal.display_name())
            .bind(now_ms())
            .fetch_one(pool)
            .await?
        });
        tracing::info!(
            %id,
            rows = self.matching.report.rows,
            matched = self.matching.report.matched,
            "upload stored"
        );
        Ok(UploadAnswer {
            upload_id: id,
            target_object: self.matching.target,
            report: self.matching.report,
        })
    }
}

/// An upload the principal may use: its target object, report and members.
pub async fn load(
    db: &Db,
    principal: &Principal,
    id: UploadId,
) -> AppResult<(TargetObject, UploadReport, RoaringBitmap)> {
    let row: Option<StoredUpload> = with_db!(db, pool => {
        sqlx::query_as("SELECT owner_scope, target_object, report, members FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let not_found = || AppError::NotFound("The upload".into());
    let upload = row.ok_or_else(not_found)?;
    if !principal.scope.can_see(&upload.owner_scope) {
        return Err(not_found());
    }
    Ok((
        upload.target_object,
        serde_json::from_str(&upload.report).map_err(anyhow::Error::from)?,
        RoaringBitmap::deserialize_from(&upload.members[..]).map_err(anyhow::Error::from)?,
    ))
}

/// An upload as stored.
#[derive(sqlx::FromRow)]
struct StoredUpload {
    #[sqlx(try_from = "String")]
    owner_scope: Scope,
    #[sqlx(try_from = "String")]
    target_object: TargetObject,
    /// The [`UploadReport`] as JSON.
    report: String,
    /// The serialized member bitmap.
    members: Vec<u8>,
}

/// An upload's members, for the worker (the segment's creation checked the scope).
pub async fn members_of(db: &Db, id: UploadId) -> AppResult<Option<RoaringBitmap>> {
    let bytes: Option<Vec<u8>> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT members FROM uploads WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    bytes
        .map(|bytes| RoaringBitmap::deserialize_from(&bytes[..]).map_err(|e| anyhow::anyhow!("{e}").into()))
        .transpose()
}

/// Removes uploads older than `retention` that no segment (not deleted)
/// reads, as a custom list or a lookalike seed; answers how many.
pub async fn sweep(db: &Db, retention: std::time::Duration, now: i64) -> AppResult<u64> {
    let cutoff = now - crate::infra::millis(retention);
    let definitions: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT definition FROM segments WHERE method IN ('custom_list', 'lookalike') AND deleted_at IS NULL",
        )
        .fetch_all(pool)
        .await?
    });
    let used: std::collections::HashSet<UploadId> = definitions
        .iter()
        .filter_map(|text| serde_json::from_str::<Definition>(text).ok())
        .filter_map(|definition| definition.input_upload())
        .collect();
    let old: Vec<UploadId> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT id FROM uploads WHERE created_at < $1")
            .bind(cutoff)
            .fetch_all(pool)
            .await?
    });
    let mut removed = 0;
    for id in old.into_iter().filter(|id| !used.contains(id)) {
        removed += with_db!(db, pool => {
            sqlx::query("DELETE FROM uploads WHERE id = $1").bind(id).execute(pool).await?.rows_affected()
        });
    }
    Ok(removed)
}

/// The report as CSV: every rejected line kept in the report, with its reason.
pub fn report_csv(report: &UploadReport) -> AppResult<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["line", "entity_id", "problem"])
        .map_err(anyhow::Error::from)?;
    let mut rows: Vec<&RejectedLine> = report.invalid.iter().chain(&report.unknown_sample).collect();
    rows.sort_by_key(|r| r.line);
    for row in rows {
        writer
            .write_record([
                row.line.to_string(),
                row.entity_id.clone().unwrap_or_default(),
                row.reason.clone(),
            ])
            .map_err(anyhow::Error::from)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}").into())
}
