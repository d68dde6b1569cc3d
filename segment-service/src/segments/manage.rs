//! Managing segments and serving delivery: bindings, extend, delete and the
//! deleted records, membership checks, verification with explanations.

use std::sync::Arc;

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use segment_core::catalog::DataType;
use segment_core::engine::{Explained, Observed, StoredValue};
use segment_core::plan::PlanCondition;
use segment_core::rule::Rule;
use segment_core::time::{format_epoch, parse_date};
use segment_core::validate::{Context, validate};

use super::freshness::is_stale;
use super::records::{self, SegmentRecord, Serving};
use super::visible::Visible;
use crate::infra::db::Db;
use crate::infra::now_ms;
use crate::state::AppState;
use crate::tags::catalog_for;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult, Refusal};
use segment_contract::ids::{RunId, SegmentId};
use segment_contract::segments::*;

/// The segment's current snapshot if it may serve lookups now.
pub async fn servable(
    state: &AppState,
    principal: &Principal,
    id: SegmentId,
) -> AppResult<(Arc<Serving>, RunId, Arc<RoaringBitmap>)> {
    let not_found = || AppError::NotFound("The segment".into());
    let serving = state.serving.get(&state.db, id).await?.ok_or_else(not_found)?;
    let record = &serving.record;
    if !principal.scope.can_see(&record.owner_scope) {
        return Err(not_found());
    }
    let now = now_ms();
    let refused = |reason: Refusal, message: String| AppError::Refused { reason, message };
    if record.status_at(now) == SegmentStatus::Expired {
        return Err(refused(
            Refusal::Expired,
            format!(
                "Segment {id} expired at {} ({}).",
                local_time(record.expires_at, record.time_zone.name()),
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
    if record.status == SegmentStatus::Stale
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
    id: SegmentId,
    request: &CheckRequest,
) -> AppResult<CheckAnswer> {
    let (serving, _, members) = servable(state, principal, id).await?;
    let record = &serving.record;
    let ids = clean_ids(&request.ids, MAX_CHECK_IDS)?;
    let visible = Visible::to(state, &principal.scope, record.target_object).await?;
    let known = state
        .dictionaries
        .indexes(&state.db, record.target_object, &ids)
        .await?;
    let mut answer = CheckAnswer {
        members: Vec::new(),
        non_members: Vec::new(),
        unknown: Vec::new(),
        data_date: record.data_date.clone(),
    };
    for entity in ids {
        match known.get(&entity).filter(|idx| visible.contains(**idx)) {
            None => answer.unknown.push(entity),
            Some(idx) if members.contains(*idx) => answer.members.push(entity),
            Some(_) => answer.non_members.push(entity),
        }
    }
    Ok(answer)
}

/// A binding with the scope it was made from.
#[derive(sqlx::FromRow)]
pub struct ScopedBinding {
    #[sqlx(flatten)]
    pub binding: Binding,
    #[sqlx(rename = "owner_scope", try_from = "String")]
    pub owner: Scope,
}

pub async fn bindings(db: &Db, segment_id: SegmentId) -> AppResult<Vec<ScopedBinding>> {
    Ok(with_db!(db, pool => {
        sqlx::query_as(
            "SELECT segment_id, task_id, name, ends_at, created_by, created_at, owner_scope FROM segment_bindings
             WHERE segment_id = $1 ORDER BY ends_at DESC, task_id",
        )
        .bind(segment_id)
        .fetch_all(pool)
        .await?
    }))
}

/// Segments (not deleted) whose definition reads segment `id`, with their owners.
pub async fn dependents(db: &Db, id: SegmentId) -> AppResult<Vec<(SegmentId, String, Scope)>> {
    let rows: Vec<(SegmentId, String, String, String)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, name, definition, owner_scope FROM segments WHERE method IN ('segment_set', 'lookalike') AND deleted_at IS NULL")
            .fetch_all(pool)
            .await?
    });
    rows.into_iter()
        .filter(|(_, _, definition, _)| {
            serde_json::from_str::<Definition>(definition).is_ok_and(|d| d.input_segments().contains(&id))
        })
        .map(|(id, name, _, owner)| {
            let owner =
                Scope::parse(&owner).map_err(|_| anyhow::anyhow!("malformed owner scope on segment {id}"))?;
            Ok((id, name, owner))
        })
        .collect()
}

/// What uses segment `id`, named where the principal may see it and
/// counted where it may not.
pub async fn used_by(db: &Db, principal: &Principal, id: SegmentId) -> AppResult<UsedBy> {
    records::load_segment(db, principal, id).await?;
    let now = now_ms();
    let mut used = UsedBy {
        bindings: Vec::new(),
        dependents: Vec::new(),
        other_tasks: 0,
        other_tasks_until: None,
        other_segments: 0,
    };
    for scoped in bindings(db, id).await? {
        if principal.scope.can_see(&scoped.owner) {
            used.bindings.push(scoped.binding);
        } else if scoped.binding.ends_at > now {
            used.other_tasks += 1;
            used.other_tasks_until = used.other_tasks_until.max(Some(scoped.binding.ends_at));
        }
    }
    for (dependent, name, owner) in dependents(db, id).await? {
        if principal.scope.can_see(&owner) {
            used.dependents.push((dependent, name));
        } else {
            used.other_segments += 1;
        }
    }
    Ok(used)
}

pub async fn bind(db: &Db, principal: &Principal, id: SegmentId, request: &NewBinding) -> AppResult<Binding> {
    let record = records::load_segment(db, principal, id).await?;
    let task_id = request.task_id.trim();
    let name = request.name.trim();
    let mut problems = Vec::new();
    if task_id.is_empty() || task_id.len() > 128 || task_id.chars().any(char::is_control) {
        problems.push(segment_contract::error::FieldError {
            field: "task_id".into(),
            message: "Give the task ID (1–128 printable characters).".into(),
        });
    }
    if name.is_empty() || name.chars().count() > 200 {
        problems.push(segment_contract::error::FieldError {
            field: "name".into(),
            message: "Give the task a name (1–200 characters).".into(),
        });
    }
    let ends_at = match parse_expiry(&request.ends_at, record.time_zone()) {
        Ok(ms) if ms <= now_ms() => {
            problems.push(segment_contract::error::FieldError {
                field: "ends_at".into(),
                message: "The task must end in the future.".into(),
            });
            ms
        }
        Ok(ms) => ms,
        Err(message) => {
            problems.push(segment_contract::error::FieldError {
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
            local_time(record.expires_at, record.time_zone.name()),
            record.time_zone
        )));
    }
    let inserted = with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO segment_bindings (segment_id, task_id, name, ends_at, created_by, created_at, owner_scope)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(task_id)
        .bind(name)
        .bind(ends_at)
        .bind(principal.display_name())
        .bind(now_ms())
        .bind(principal.scope.to_string())
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
        .map(|scoped| scoped.binding)
        .find(|b| b.task_id == task_id)
        .ok_or(AppError::Internal)
}

/// Releases a binding the principal may see (its own scope's, or any for the platform).
pub async fn unbind(db: &Db, principal: &Principal, id: SegmentId, task_id: &str) -> AppResult<()> {
    records::load_segment(db, principal, id).await?;
    let visible = bindings(db, id)
        .await?
        .into_iter()
        .any(|scoped| scoped.binding.task_id == task_id && principal.scope.can_see(&scoped.owner));
    let deleted = if visible {
        with_db!(db, pool => {
            sqlx::query("DELETE FROM segment_bindings WHERE segment_id = $1 AND task_id = $2")
                .bind(id)
                .bind(task_id)
                .execute(pool)
                .await?
                .rows_affected()
        })
    } else {
        0
    };
    if deleted == 0 {
        return Err(AppError::NotFound(format!("Task {task_id} of segment {id}")));
    }
    Ok(())
}

/// Moves Expires At; it must be in the future and not before any bound task ends.
pub async fn extend(
    db: &Db,
    principal: &Principal,
    id: SegmentId,
    expires_at: &str,
) -> AppResult<SegmentRow> {
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
    if let Some(latest) = bindings(db, id)
        .await?
        .into_iter()
        .max_by_key(|b| b.binding.ends_at)
        && new_expiry < latest.binding.ends_at
    {
        let until = format!(
            "{} ({})",
            local_time(latest.binding.ends_at, tz.name()),
            tz.name()
        );
        return Err(AppError::validation(
            "expires_at",
            if principal.scope.can_see(&latest.owner) {
                format!(
                    "Delivery task {} \"{}\" uses the segment until {until}; choose that time or later.",
                    latest.binding.task_id, latest.binding.name
                )
            } else {
                format!(
                    "A delivery task outside your scope uses the segment until {until}; choose that time or later."
                )
            },
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

/// Deletes a segment nothing holds; otherwise refuses with every reason.
/// Running delivery tasks hold it (those of other scopes counted, with the
/// time the last ends, so nobody is stuck for good); segments the principal
/// can see that are computed from it hold it; segments of other scopes do
/// not (they keep their last snapshot and stop updating).
pub async fn delete(db: &Db, principal: &Principal, id: SegmentId) -> AppResult<()> {
    let record = records::load_segment(db, principal, id).await?;
    let used = used_by(db, principal, id).await?;
    let now = now_ms();
    let mut reasons = Vec::new();
    for binding in used.bindings.iter().filter(|b| b.ends_at > now) {
        reasons.push(format!(
            "delivery task {} \"{}\" is bound to it until {}",
            binding.task_id,
            binding.name,
            local_time(binding.ends_at, record.time_zone.name())
        ));
    }
    if let Some(until) = used.other_tasks_until {
        reasons.push(format!(
            "{} delivery task{} outside your scope use{} it until {} ({}); it can be deleted after that",
            used.other_tasks,
            if used.other_tasks == 1 { "" } else { "s" },
            if used.other_tasks == 1 { "s" } else { "" },
            local_time(until, record.time_zone.name()),
            record.time_zone
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
    // Guarded in the statement too, so a binding added meanwhile is not orphaned.
    let deleted = with_db!(db, pool => {
        sqlx::query(
            "UPDATE segments SET deleted_at = $1, deleted_by = $2, updated_at = $1
             WHERE id = $3 AND deleted_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM segment_bindings b WHERE b.segment_id = $3 AND b.ends_at > $1)",
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
    // Queued runs of a deleted segment are dropped, and its exports are gone.
    with_db!(db, pool => {
        sqlx::query("DELETE FROM segment_runs WHERE segment_id = $1 AND status = 'queued'")
            .bind(id)
            .execute(pool)
            .await?;
        sqlx::query("DELETE FROM segment_exports WHERE segment_id = $1")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
    });
    tracing::info!(%id, by = %principal.display_name(), "segment deleted");
    Ok(())
}

pub async fn deleted_records(db: &Db, principal: &Principal) -> AppResult<Vec<DeletedSegment>> {
    let sql =
        "SELECT id, name, method, target_object, size, COALESCE(deleted_by, '') AS deleted_by, deleted_at
               FROM segments WHERE deleted_at IS NOT NULL";
    Ok(if principal.scope.is_platform() {
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
    })
}

/// Whether each ID is in the segment's current snapshot, and for tag-filter
/// segments why: each group and condition evaluated for the entity on the
/// snapshot's date T with the entity's own values. For a merchant or store
/// principal an ID outside its audience is unknown, like one that does
/// not exist; the platform also sees whether an entity lies outside the
/// segment owner's audience.
pub async fn verify(
    state: &AppState,
    principal: &Principal,
    id: SegmentId,
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
    let target = record.target_object;
    let visible = Visible::to(state, &principal.scope, target).await?;
    let mut known = state.dictionaries.indexes(&state.db, target, &ids).await?;
    known.retain(|_, idx| visible.contains(*idx));
    let owner = record.owner_scope.clone();
    let owner_audience = if principal.scope.is_platform() && !owner.is_platform() {
        Some(Visible::to(state, &owner, target).await?)
    } else {
        None
    };
    let asked: Vec<u32> = ids
        .iter()
        .filter_map(|entity| known.get(entity).copied())
        .collect();
    let mut explained = match record.definition()? {
        Definition::TagFilter(TagFilter { rule, .. }) => {
            explain(state, principal, &record, &rule, as_of.as_deref(), asked).await?
        }
        _ => None,
    }
    .map(Vec::into_iter);
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
        rows.push(VerifyRow {
            entity_id: entity,
            verdict: if members.contains(idx) {
                Verdict::Included
            } else {
                Verdict::Excluded
            },
            groups: explained.as_mut().and_then(Iterator::next).unwrap_or_default(),
            outside_audience: owner_audience.as_ref().is_some_and(|a| !a.contains(idx)),
        });
    }
    Ok(VerifyAnswer {
        segment_id: id,
        data_date: record.data_date.clone(),
        as_of,
        rows,
    })
}

/// Each rule group and condition of a tag-filter segment for each of
/// `entities`, planned at the snapshot's T as the segment's owner sees
/// the catalog, and evaluated once per condition where the tag data is:
/// on the engine threads, or by Spark in Spark mode. `None` when the rule
/// no longer fits the tag data.
async fn explain(
    state: &AppState,
    principal: &Principal,
    record: &SegmentRecord,
    rule: &Rule,
    as_of: Option<&str>,
    entities: Vec<u32>,
) -> AppResult<Option<Vec<Vec<GroupCheck>>>> {
    let Some(loaded) = state.tag_index.current() else {
        return Ok(None);
    };
    let tz = record.time_zone();
    let as_of = as_of
        .and_then(|d| parse_date(d).ok())
        .unwrap_or_else(|| segment_core::time::today_in(tz, chrono::Utc::now()));
    let (owner, target) = (record.owner_scope.clone(), record.target_object);
    let catalog = catalog_for(&loaded.catalog, &owner);
    let Ok(plan) = validate(
        rule,
        &Context {
            catalog: &catalog,
            target,
            time_zone: tz,
            as_of,
        },
    ) else {
        return Ok(None);
    };
    let names = describe::Names::of(&catalog.tags);
    let described: Vec<Vec<String>> = rule
        .groups
        .iter()
        .map(|group| {
            group
                .conditions
                .iter()
                .map(|condition| describe::condition(condition, &names))
                .collect()
        })
        .collect();
    let explained: Vec<Vec<Vec<Explained>>> = if let Some(spark) = &state.spark {
        let conditions = plan.groups.iter().map(|group| {
            futures_util::future::try_join_all(
                group
                    .iter()
                    .map(|condition| spark.explain(&plan, condition, &entities)),
            )
        });
        futures_util::future::try_join_all(conditions).await?
    } else {
        let plan = plan.clone();
        state
            .engine
            .run(&principal.key(), Some(state.estimate_deadline), move || {
                plan.groups
                    .iter()
                    .map(|group| {
                        group
                            .iter()
                            .map(|condition| loaded.index.explain(condition, &entities))
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?
            .map_err(|error| {
                tracing::error!(%error, "explaining a rule failed");
                AppError::Internal
            })?
    };
    let mut per_entity: Vec<Vec<GroupCheck>> = Vec::new();
    for ((group, described), found) in plan.groups.iter().zip(described).zip(explained) {
        let mut checks: Vec<Vec<ConditionCheck>> = Vec::new();
        for ((condition, described), found) in group.iter().zip(described).zip(found) {
            let data_type = match condition {
                PlanCondition::Profile(p) => Some(p.data_type()),
                PlanCondition::Behavior(_) => None,
            };
            checks.resize_with(found.len(), Vec::new);
            for (at, found) in found.into_iter().enumerate() {
                checks[at].push(ConditionCheck {
                    condition: described.clone(),
                    actual: shown(&found.observed, data_type, tz),
                    passed: found.passed,
                });
            }
        }
        per_entity.resize_with(checks.len(), Vec::new);
        for (at, conditions) in checks.into_iter().enumerate() {
            per_entity[at].push(GroupCheck {
                matched: conditions.iter().all(|c| c.passed),
                conditions,
            });
        }
    }
    Ok(Some(per_entity))
}

/// What a condition read, in words: "2024-08-04: Shenzhen", "3 events from … to …".
fn shown(observed: &Observed, data_type: Option<DataType>, tz: chrono_tz::Tz) -> String {
    let value = |date: &NaiveDate, value: &Option<StoredValue>| {
        let text = match value {
            None => "no value".to_string(),
            Some(StoredValue::Text(text)) => match (data_type, text.as_str()) {
                (Some(DataType::Boolean), "true") => "Yes".into(),
                (Some(DataType::Boolean), "false") => "No".into(),
                _ => text.clone(),
            },
            // Whole and below 1e15: exact as i64, printed without a trailing ".0".
            #[allow(clippy::cast_possible_truncation)]
            Some(StoredValue::Number(n)) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Some(StoredValue::Number(n)) => n.to_string(),
            Some(StoredValue::Time(epoch)) => format!("{} {}", format_epoch(*epoch, tz), tz.name()),
        };
        format!("{date}: {text}")
    };
    match observed {
        Observed::Value { date, value: v } => value(date, v),
        Observed::Change {
            from,
            from_value,
            to,
            to_value,
        } => format!("{} → {}", value(from, from_value), value(to, to_value)),
        Observed::Count { from, to, count } => format!("{count} events from {from} to {to}"),
    }
}
