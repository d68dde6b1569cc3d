//! Managing segments and serving delivery: bindings, extend, delete and the
//! deleted records, membership checks, verification with explanations.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use segment_core::catalog::DataType;
use segment_core::plan::{Plan, PlanCondition, ProfileTest};
use segment_core::rule::Rule;
use segment_core::sql::{Dialect, behavior_count, profile_table, quote_ident};
use segment_core::time::{format_epoch, parse_date};
use segment_core::validate::{Context, validate};

use super::is_stale;
use super::records::{self, SegmentRecord, Serving};
use crate::auth::Principal;
use crate::error::{AppError, AppResult, Refusal};
use crate::infra::db::{Backend, Db};
use crate::infra::{AppState, now_ms};
use crate::segments::*;
use crate::with_db;

/// The segment's current snapshot if it may serve lookups now.
pub async fn servable(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> AppResult<(Arc<Serving>, i64, Arc<RoaringBitmap>)> {
    let not_found = || AppError::NotFound("The segment".into());
    let serving = state.serving.get(&state.db, id).await?.ok_or_else(not_found)?;
    let record = &serving.record;
    if !principal.scope.can_see(&record.owner()?) {
        return Err(not_found());
    }
    let now = now_ms();
    let refused = |reason: Refusal, message: String| AppError::Refused { reason, message };
    if record.status_at(now) == SegmentStatus::Expired {
        return Err(refused(
            Refusal::Expired,
            format!(
                "Segment {id} expired at {} ({}).",
                local_time(record.expires_at, &record.time_zone),
                record.time_zone
            ),
        ));
    }
    let Some(run_id) = record.current_run_id else {
        return Err(refused(
            Refusal::NotReady,
            format!(
                "Segment {id} has no members yet: it is {}.",
                record.status_at(now).label().to_lowercase()
            ),
        ));
    };
    // Decided against the loaded catalog, not only the sweeper's last pass.
    if record.status == SegmentStatus::Stale.as_str()
        || state
            .tag_index
            .current()
            .is_some_and(|loaded| is_stale(record, serving.ready_date.as_deref(), &loaded.catalog))
    {
        return Err(refused(
            Refusal::Stale,
            format!(
                "Segment {id} is time-sensitive and newer data is ready than its latest run used; it serves again after a fresh run."
            ),
        ));
    }
    let members = state.snapshots.get(&state.db, run_id).await?;
    Ok((serving.clone(), run_id, members))
}

/// IDs looked up per query: large enough that round trips do not dominate
/// a 10M-ID upload, well under SQLite's and PostgreSQL's parameter limits.
pub const LOOKUP_BATCH: usize = 5_000;

/// Member indexes of the given external IDs (absent: not in the population).
pub async fn entity_indexes(db: &Db, target: &str, ids: &[String]) -> AppResult<HashMap<String, u32>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(LOOKUP_BATCH) {
        // SQLite gets anonymous `?` placeholders: resolving thousands of
        // numbered ones costs a scan of the parameter list each (quadratic).
        let placeholders: Vec<String> = match db.backend() {
            Backend::Sqlite => vec!["?".to_string(); chunk.len() + 1],
            Backend::Postgres => (1..=chunk.len() + 1).map(|i| format!("${i}")).collect(),
        };
        let sql = format!(
            "SELECT entity_id, CAST(idx AS BIGINT) FROM entities WHERE target_object = {} AND entity_id IN ({})",
            placeholders[0],
            placeholders[1..].join(", ")
        );
        let rows: Vec<(String, i64)> = with_db!(db, pool => {
            let mut query = sqlx::query_as(&sql).bind(target);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(pool).await?
        });
        found.extend(rows.into_iter().map(|(id, idx)| (id, idx as u32)));
    }
    Ok(found)
}

/// Trims the IDs, drops empty ones and duplicates (keeping the first), and bounds their number.
fn clean_ids(ids: &[String], max: usize) -> AppResult<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let ids: Vec<String> = ids
        .iter()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty() && seen.insert(id.clone()))
        .collect();
    if ids.is_empty() {
        return Err(AppError::validation("ids", "Enter at least one ID."));
    }
    if ids.len() > max {
        return Err(AppError::validation(
            "ids",
            format!("Check at most {max} IDs at once ({} given).", ids.len()),
        ));
    }
    Ok(ids)
}

pub async fn check_members(
    state: &AppState,
    principal: &Principal,
    id: i64,
    request: &CheckRequest,
) -> AppResult<CheckAnswer> {
    let (serving, _, members) = servable(state, principal, id).await?;
    let record = &serving.record;
    let ids = clean_ids(&request.ids, MAX_CHECK_IDS)?;
    let known = entity_indexes(&state.db, &record.target_object, &ids).await?;
    let mut answer = CheckAnswer {
        members: Vec::new(),
        non_members: Vec::new(),
        unknown: Vec::new(),
        data_date: record.data_date.clone(),
    };
    for entity in ids {
        match known.get(&entity) {
            None => answer.unknown.push(entity),
            Some(idx) if members.contains(*idx) => answer.members.push(entity),
            Some(_) => answer.non_members.push(entity),
        }
    }
    Ok(answer)
}

pub async fn bindings(db: &Db, segment_id: i64) -> AppResult<Vec<Binding>> {
    let rows: Vec<(i64, String, String, i64, String, i64)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT segment_id, task_id, name, ends_at, created_by, created_at FROM segment_bindings
             WHERE segment_id = $1 ORDER BY ends_at DESC, task_id",
        )
        .bind(segment_id)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(segment_id, task_id, name, ends_at, created_by, created_at)| Binding {
                segment_id,
                task_id,
                name,
                ends_at,
                created_by,
                created_at,
            },
        )
        .collect())
}

/// Segments (not deleted) whose definition reads segment `id`.
pub async fn dependents(db: &Db, id: i64) -> AppResult<Vec<(i64, String)>> {
    let rows: Vec<(i64, String, String)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, name, definition FROM segments WHERE method IN ('segment_set', 'lookalike') AND deleted_at IS NULL")
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter(|(_, _, definition)| {
            serde_json::from_str::<Definition>(definition).is_ok_and(|d| d.input_segments().contains(&id))
        })
        .map(|(id, name, _)| (id, name))
        .collect())
}

pub async fn used_by(db: &Db, principal: &Principal, id: i64) -> AppResult<UsedBy> {
    records::load_segment(db, principal, id).await?;
    Ok(UsedBy {
        bindings: bindings(db, id).await?,
        dependents: dependents(db, id).await?,
    })
}

pub async fn bind(db: &Db, principal: &Principal, id: i64, request: &NewBinding) -> AppResult<Binding> {
    let record = records::load_segment(db, principal, id).await?;
    let task_id = request.task_id.trim();
    let name = request.name.trim();
    let mut problems = Vec::new();
    if task_id.is_empty() || task_id.len() > 128 || task_id.chars().any(char::is_control) {
        problems.push(crate::error::FieldError {
            field: "task_id".into(),
            message: "Give the task ID (1–128 printable characters).".into(),
        });
    }
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(crate::error::FieldError {
            field: "name".into(),
            message: "Give the task a name (1–200 characters).".into(),
        });
    }
    let ends_at = match parse_expiry(&request.ends_at, record.time_zone()) {
        Ok(ms) if ms <= now_ms() => {
            problems.push(crate::error::FieldError {
                field: "ends_at".into(),
                message: "The task must end in the future.".into(),
            });
            ms
        }
        Ok(ms) => ms,
        Err(message) => {
            problems.push(crate::error::FieldError {
                field: "ends_at".into(),
                message,
            });
            0
        }
    };
    if !problems.is_empty() {
        return Err(AppError::InvalidFields(problems));
    }
    if ends_at > record.expires_at {
        return Err(AppError::Conflict(format!(
            "The task ends after the segment expires ({} {}); extend the segment's validity first.",
            local_time(record.expires_at, &record.time_zone),
            record.time_zone
        )));
    }
    let inserted = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO segment_bindings (segment_id, task_id, name, ends_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(task_id)
        .bind(name)
        .bind(ends_at)
        .bind(principal.display_name())
        .bind(now_ms())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
    });
    match inserted {
        Ok(_) => {}
        Err(error) if crate::infra::db::is_unique_violation(&error) => {
            return Err(AppError::Conflict(format!(
                "Task {task_id} is already bound to segment {id}."
            )));
        }
        Err(error) => return Err(error.into()),
    }
    bindings(db, id)
        .await?
        .into_iter()
        .find(|b| b.task_id == task_id)
        .ok_or(AppError::Internal)
}

pub async fn unbind(db: &Db, principal: &Principal, id: i64, task_id: &str) -> AppResult<()> {
    records::load_segment(db, principal, id).await?;
    let deleted = with_db!(db, pool => {
        sqlx::query("DELETE FROM segment_bindings WHERE segment_id = $1 AND task_id = $2")
            .bind(id)
            .bind(task_id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    if deleted == 0 {
        return Err(AppError::NotFound(format!("Task {task_id} of segment {id}")));
    }
    Ok(())
}

/// Moves Expires At; it must be in the future and not before any bound task ends.
pub async fn extend(db: &Db, principal: &Principal, id: i64, expires_at: &str) -> AppResult<SegmentRow> {
    let record = records::load_segment(db, principal, id).await?;
    let tz = record.time_zone();
    let now = now_ms();
    let new_expiry =
        parse_expiry(expires_at, tz).map_err(|message| AppError::validation("expires_at", message))?;
    if new_expiry <= now {
        return Err(AppError::validation(
            "expires_at",
            format!("Choose a time in the future ({} now).", tz.name()),
        ));
    }
    if let Some(latest) = bindings(db, id).await?.into_iter().max_by_key(|b| b.ends_at)
        && new_expiry < latest.ends_at
    {
        return Err(AppError::validation(
            "expires_at",
            format!(
                "Delivery task {} \"{}\" uses the segment until {} ({}); choose that time or later.",
                latest.task_id,
                latest.name,
                local_time(latest.ends_at, tz.name()),
                tz.name()
            ),
        ));
    }
    // An expired segment with a snapshot serves again; one without goes back
    // to what its runs say (failed, or generating while one is queued).
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE segments SET expires_at = $1, updated_at = $2,
                status = CASE WHEN status <> 'expired' THEN status
                              WHEN current_run_id IS NOT NULL THEN 'active'
                              WHEN EXISTS (SELECT 1 FROM segment_runs r WHERE r.segment_id = segments.id
                                           AND r.status IN ('queued', 'running')) THEN 'generating'
                              ELSE 'failed' END
             WHERE id = $3",
        )
        .bind(new_expiry)
        .bind(now)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    records::load_segment(db, principal, id).await?.to_row(now)
}

/// Deletes a segment nothing uses; otherwise refuses with every reason.
pub async fn delete(db: &Db, principal: &Principal, id: i64) -> AppResult<()> {
    records::load_segment(db, principal, id).await?;
    let used = used_by(db, principal, id).await?;
    let mut reasons = Vec::new();
    for binding in &used.bindings {
        reasons.push(format!(
            "delivery task {} \"{}\" is bound to it",
            binding.task_id, binding.name
        ));
    }
    for (dependent, name) in &used.dependents {
        reasons.push(format!("segment {dependent} \"{name}\" is computed from it"));
    }
    if !reasons.is_empty() {
        return Err(AppError::Conflict(format!(
            "Segment {id} is in use and cannot be deleted: {}.",
            reasons.join("; ")
        )));
    }
    let now = now_ms();
    // Guarded in the statement too, so a binding added meanwhile is not orphaned.
    let deleted = with_db!(db, pool => {
        sqlx::query(
            "UPDATE segments SET deleted_at = $1, deleted_by = $2, updated_at = $1
             WHERE id = $3 AND deleted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM segment_bindings b WHERE b.segment_id = $3)",
        )
        .bind(now)
        .bind(principal.display_name())
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if deleted == 0 {
        return Err(AppError::Conflict(format!(
            "Segment {id} is in use and cannot be deleted."
        )));
    }
    // Queued runs of a deleted segment are dropped.
    with_db!(db, pool => {
        sqlx::query("DELETE FROM segment_runs WHERE segment_id = $1 AND status = 'queued'")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    tracing::info!(id, by = %principal.display_name(), "segment deleted");
    Ok(())
}

pub async fn deleted_records(db: &Db, principal: &Principal) -> AppResult<Vec<DeletedSegment>> {
    type Row = (
        i64,
        String,
        String,
        String,
        Option<i64>,
        Option<String>,
        Option<i64>,
    );
    let sql = "SELECT id, name, method, target_object, size, deleted_by, deleted_at FROM segments
               WHERE deleted_at IS NOT NULL";
    let rows: Vec<Row> = if principal.scope.is_platform() {
        with_db!(db, pool => {
            sqlx::query_as(&format!("{sql} ORDER BY deleted_at DESC LIMIT 500")).fetch_all(pool).await?
        })
    } else {
        with_db!(db, pool => {
            sqlx::query_as(&format!("{sql} AND owner_scope = $1 ORDER BY deleted_at DESC LIMIT 500"))
                .bind(principal.scope.to_string())
                .fetch_all(pool)
                .await?
        })
    };
    Ok(rows
        .into_iter()
        .map(
            |(id, name, method, target_object, size, deleted_by, deleted_at)| DeletedSegment {
                id,
                name,
                method,
                target_object,
                size,
                deleted_by: deleted_by.unwrap_or_default(),
                deleted_at: deleted_at.unwrap_or_default(),
            },
        )
        .collect())
}

/// Whether each ID is in the segment's current snapshot, and for tag-filter
/// segments why: each group and condition evaluated for the entity on the
/// snapshot's date T with the entity's own values.
pub async fn verify(
    state: &AppState,
    principal: &Principal,
    id: i64,
    ids: &[String],
) -> AppResult<VerifyAnswer> {
    let record = records::load_segment(&state.db, principal, id).await?;
    let ids = clean_ids(ids, MAX_VERIFY_IDS)?;
    let run_id = record.current_run_id.ok_or_else(|| AppError::Refused {
        reason: Refusal::NotReady,
        message: format!("Segment {id} has no members yet."),
    })?;
    let members = state.snapshots.get(&state.db, run_id).await?;
    let as_of: Option<String> = with_db!(&state.db, pool => {
        sqlx::query_scalar::<_, Option<String>>("SELECT as_of FROM segment_runs WHERE id = $1")
            .bind(run_id)
            .fetch_optional(pool)
            .await?
            .flatten()
    });
    let known = entity_indexes(&state.db, &record.target_object, &ids).await?;
    let explainer = match record.definition()? {
        Definition::TagFilter { rule, .. } => Explainer::new(state, &record, &rule, as_of.as_deref())?,
        _ => None,
    };
    let audience = match (record.owner()?.audience_scopes(), state.tag_index.current()) {
        (Some(scopes), Some(loaded)) => Some(loaded.index.audience(&scopes, record.target()?)),
        _ => None,
    };
    let mut rows = Vec::new();
    for entity in ids {
        let Some(&idx) = known.get(&entity) else {
            rows.push(VerifyRow {
                entity_id: entity,
                verdict: Verdict::Unknown,
                groups: Vec::new(),
                outside_audience: false,
            });
            continue;
        };
        let groups = match &explainer {
            Some(explainer) => explainer.explain(&state.db, idx).await?,
            None => Vec::new(),
        };
        rows.push(VerifyRow {
            entity_id: entity,
            verdict: if members.contains(idx) {
                Verdict::Included
            } else {
                Verdict::Excluded
            },
            groups,
            outside_audience: audience.as_ref().is_some_and(|a| !a.contains(idx)),
        });
    }
    Ok(VerifyAnswer {
        segment_id: id,
        data_date: record.data_date.clone(),
        as_of,
        rows,
    })
}

/// A tag-filter rule planned at the snapshot's T, each condition's members
/// computed once, ready to explain any number of entities.
struct Explainer {
    rule: Rule,
    plan: Plan,
    condition_members: Vec<Vec<RoaringBitmap>>,
    tz: chrono_tz::Tz,
    backend: Backend,
}

impl Explainer {
    fn new(
        state: &AppState,
        record: &SegmentRecord,
        rule: &Rule,
        as_of: Option<&str>,
    ) -> AppResult<Option<Explainer>> {
        let Some(loaded) = state.tag_index.current() else {
            return Ok(None);
        };
        let tz = record.time_zone();
        let as_of = as_of
            .and_then(|d| parse_date(d).ok())
            .unwrap_or_else(|| segment_core::time::today_in(tz, chrono::Utc::now()));
        let Ok(plan) = validate(
            rule,
            &Context {
                catalog: &loaded.catalog,
                target: record.target()?,
                time_zone: tz,
                as_of,
            },
        ) else {
            return Ok(None);
        };
        let mut condition_members = Vec::new();
        for group in &plan.groups {
            let mut sets = Vec::new();
            for condition in group {
                let single = Plan {
                    groups: vec![vec![condition.clone()]],
                    ..plan.clone()
                };
                sets.push(loaded.index.evaluate(&single, None).map_err(|error| {
                    tracing::error!(%error, "explaining a condition failed");
                    AppError::Internal
                })?);
            }
            condition_members.push(sets);
        }
        Ok(Some(Explainer {
            rule: rule.clone(),
            plan,
            condition_members,
            tz,
            backend: state.db.backend(),
        }))
    }

    async fn explain(&self, db: &Db, idx: u32) -> AppResult<Vec<GroupCheck>> {
        let mut groups = Vec::new();
        for (g, group) in self.plan.groups.iter().enumerate() {
            let mut conditions = Vec::new();
            for (c, condition) in group.iter().enumerate() {
                let passed = self.condition_members[g][c].contains(idx);
                let actual = self.actual(db, condition, idx).await?;
                conditions.push(ConditionCheck {
                    condition: crate::segments::describe::condition(&self.rule.groups[g].conditions[c]),
                    actual,
                    passed,
                });
            }
            groups.push(GroupCheck {
                matched: conditions.iter().all(|c| c.passed),
                conditions,
            });
        }
        Ok(groups)
    }

    async fn actual(&self, db: &Db, condition: &PlanCondition, idx: u32) -> AppResult<String> {
        match condition {
            PlanCondition::Profile(p) => {
                let show = |date: NaiveDate, value: Option<String>| {
                    format!("{}: {}", date, value.unwrap_or_else(|| "no value".into()))
                };
                match &p.test {
                    ProfileTest::At { date, .. } => Ok(show(
                        *date,
                        self.profile_value(db, &p.tag, p.data_type, *date, idx).await?,
                    )),
                    ProfileTest::Diff { from, to, .. } | ProfileTest::Changed { from, to, .. } => {
                        Ok(format!(
                            "{} → {}",
                            show(
                                *from,
                                self.profile_value(db, &p.tag, p.data_type, *from, idx).await?
                            ),
                            show(*to, self.profile_value(db, &p.tag, p.data_type, *to, idx).await?)
                        ))
                    }
                }
            }
            PlanCondition::Behavior(b) => {
                let dialect = match self.backend {
                    Backend::Sqlite => Dialect::Sqlite,
                    Backend::Postgres => Dialect::Postgres,
                };
                let count = crate::tags::ssr::sql_exec::count(db, &behavior_count(b, dialect, idx)).await?;
                Ok(format!("{count} events from {} to {}", b.from, b.to))
            }
        }
    }

    async fn profile_value(
        &self,
        db: &Db,
        tag: &str,
        data_type: DataType,
        date: NaiveDate,
        idx: u32,
    ) -> AppResult<Option<String>> {
        let sql = format!(
            "SELECT CAST(t.value AS TEXT) FROM {} AS t WHERE t.entity_idx = $1 AND t.data_date = $2",
            quote_ident(&profile_table(tag))
        );
        let value: Option<Option<String>> = match db {
            Db::Sqlite(pool) => {
                sqlx::query_scalar(&sql)
                    .bind(i64::from(idx))
                    .bind(date.to_string())
                    .fetch_optional(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query_scalar(&sql)
                    .bind(i64::from(idx))
                    .bind(date)
                    .fetch_optional(pool)
                    .await?
            }
        };
        Ok(value.flatten().map(|text| match data_type {
            DataType::Datetime => text
                .parse::<i64>()
                .map(|epoch| format!("{} {}", format_epoch(epoch, self.tz), self.tz.name()))
                .unwrap_or(text),
            DataType::Number => text
                .parse::<f64>()
                .map(|n| {
                    if n.fract() == 0.0 && n.abs() < 1e15 {
                        format!("{}", n as i64)
                    } else {
                        n.to_string()
                    }
                })
                .unwrap_or(text),
            DataType::Boolean => match text.as_str() {
                "true" => "Yes".into(),
                "false" => "No".into(),
                _ => text,
            },
            DataType::Enum => text,
        }))
    }
}
