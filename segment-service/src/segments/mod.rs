//! Segment services shared by the server functions and the HTTP API.

pub mod exports;
pub mod manage;
pub mod records;
pub mod schedule;
pub mod uploads;
pub mod visible;
pub mod worker;

use std::time::Instant;

use chrono::NaiveDate;
use segment_core::TargetObject;
use segment_core::catalog::Catalog;
use segment_core::rule::Rule;

use segment_core::sql::{Dialect, Output, compile};
use segment_core::time::{parse_date, parse_tz, today_in};
use segment_core::validate::{Context, validate};

use crate::infra::db::{Backend, Db};
use crate::infra::now_ms;
use crate::state::AppState;
use crate::tags::catalog_for;
use crate::with_db;
use records::SegmentRecord;
use segment_contract::auth::Principal;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::segments::*;
use visible::Visible;

/// Validates the rule against the loaded catalog and counts its members
/// with the engine, restricted to the principal's audience.
pub async fn estimate(
    state: &AppState,
    principal: &Principal,
    request: &EstimateRequest,
) -> AppResult<Estimate> {
    let time_zone = match request.time_zone.as_deref() {
        None | Some("") => chrono_tz::Tz::UTC,
        Some(name) => parse_tz(name).map_err(|message| AppError::validation("time_zone", message))?,
    };
    let as_of = match request.as_of.as_deref() {
        None | Some("") => today_in(time_zone, chrono::Utc::now()),
        Some(text) => parse_date(text).map_err(|message| AppError::validation("as_of", message))?,
    };
    let loaded = loaded_index(state)?;
    let dialect = match state.db.backend() {
        Backend::Sqlite => Dialect::Sqlite,
        Backend::Postgres => Dialect::Postgres,
    };
    let (rule, scope, target) = (
        request.rule.clone(),
        principal.scope.clone(),
        request.target_object,
    );
    // Validating and compiling a large rule costs milliseconds too: all of
    // it runs on the engine threads, none on the request threads.
    let (plan, sql, size, engine_micros) = state
        .engine
        .run(&principal.key(), Some(state.estimate_deadline), move || {
            let plan = validate(
                &rule,
                &Context {
                    catalog: &catalog_for(&loaded.catalog, &scope),
                    target,
                    time_zone,
                    as_of,
                },
            )
            .map_err(AppError::InvalidRule)?;
            let audience = scope.audience_scopes();
            let sql = compile(&plan, dialect, Output::EntityIds, audience.as_deref()).display();
            let started = Instant::now();
            let members = loaded
                .index
                .evaluate(&plan, audience.as_deref())
                .map_err(|error| {
                    tracing::error!(%error, "the engine could not evaluate a validated plan");
                    AppError::Internal
                })?;
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            Ok::<_, AppError>((plan, sql, members.len(), micros))
        })
        .await??;
    Ok(Estimate {
        size,
        sql,
        data_date: plan.data_date,
        as_of,
        time_zone: time_zone.name().to_string(),
        engine_micros,
    })
}

/// A segment row ready to insert, every value resolved.
struct NewSegment {
    owner: String,
    creator: String,
    name: String,
    group_id: Option<i64>,
    target_object: String,
    method: String,
    definition: String,
    update_frequency: String,
    daily_run_time: Option<String>,
    usage_scenarios: String,
    time_zone: String,
    expires_at: i64,
    time_sensitive: bool,
    notification_email: Option<String>,
    now: i64,
    next_run_at: Option<i64>,
}

impl NewSegment {
    fn resolve(
        owner: &str,
        creator: &str,
        name: &str,
        basic: &BasicInfo,
        definition: &Definition,
        now: i64,
    ) -> AppResult<NewSegment> {
        let valid = validate_basic(name, basic, now, "").map_err(AppError::InvalidFields)?;
        Ok(NewSegment {
            owner: owner.into(),
            creator: creator.into(),
            name: valid.name,
            group_id: basic.group_id,
            target_object: basic.target_object.as_str().into(),
            method: definition.method().as_str().into(),
            definition: serde_json::to_string(definition).map_err(anyhow::Error::from)?,
            update_frequency: basic.update_frequency.as_str().into(),
            daily_run_time: valid.daily_run_time.map(|t| t.format("%H:%M").to_string()),
            usage_scenarios: serde_json::to_string(&basic.usage_scenarios).map_err(anyhow::Error::from)?,
            time_zone: valid.time_zone.name().into(),
            expires_at: valid.expires_at,
            time_sensitive: basic.time_sensitive,
            notification_email: valid.notification_email,
            now,
            next_run_at: valid
                .daily_run_time
                .map(|time| schedule::next_occurrence_after(now, time, valid.time_zone).1),
        })
    }
}

/// Inserts a [`NewSegment`] as Generating with its queued first run, on a
/// connection of either backend; evaluates to the new ID.
macro_rules! insert_segment {
    ($conn:expr, $new:expr) => {{
        let new = $new;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO segments (owner_scope, name, group_id, target_object, method, definition,
                update_frequency, daily_run_time, usage_scenarios, time_zone, expires_at, time_sensitive,
                notification_email, status, created_by, created_at, updated_at, next_run_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'generating', $14, $15, $15, $16)
             RETURNING id",
        )
        .bind(&new.owner)
        .bind(&new.name)
        .bind(new.group_id)
        .bind(&new.target_object)
        .bind(&new.method)
        .bind(&new.definition)
        .bind(&new.update_frequency)
        .bind(&new.daily_run_time)
        .bind(&new.usage_scenarios)
        .bind(&new.time_zone)
        .bind(new.expires_at)
        .bind(new.time_sensitive)
        .bind(&new.notification_email)
        .bind(&new.creator)
        .bind(new.now)
        .bind(new.next_run_at)
        .fetch_one(&mut *$conn)
        .await?;
        sqlx::query(
            "INSERT INTO segment_runs (segment_id, run_key, status, not_before, queued_at)
             VALUES ($1, 'create', 'queued', $2, $2)",
        )
        .bind(id)
        .bind(new.now)
        .execute(&mut *$conn)
        .await?;
        id
    }};
}

/// Validates a creation request and stores the segment (and its combined
/// segment) as Generating with a queued first run, in one transaction.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    request: &CreateSegmentRequest,
) -> AppResult<Created> {
    let now = now_ms();
    let db = &state.db;
    let basic = &request.basic;
    let mut problems = validate_basic(&request.name, basic, now, "")
        .err()
        .unwrap_or_default();
    check_group(db, principal, basic.group_id, "", &mut problems).await?;
    let mut combined = None;
    // The warehouse table as its catalog spells it.
    let mut warehouse_table = None;
    match &request.definition {
        Definition::TagFilter {
            combination: Some(combination),
            ..
        } => {
            let combined_basic = combination.basic.clone().unwrap_or_else(|| basic.clone());
            if let Err(more) = validate_basic(&combination.name, &combined_basic, now, "combination.") {
                problems.extend(more);
            }
            check_group(
                db,
                principal,
                combined_basic.group_id,
                "combination.",
                &mut problems,
            )
            .await?;
            if combined_basic.target_object != basic.target_object {
                problems.push(FieldError {
                    field: "combination.target_object".into(),
                    message: "The combined segment has the same target object as the segment above.".into(),
                });
            }
            match check_input(
                db,
                principal,
                combination.segment_id,
                basic.target_object,
                true,
                now,
            )
            .await?
            {
                Ok(()) => {}
                Err(message) => problems.push(FieldError {
                    field: "combination.segment_id".into(),
                    message,
                }),
            }
            combined = Some((combination.clone(), combined_basic));
        }
        Definition::TagFilter {
            combination: None, ..
        } => {}
        Definition::CustomList { upload_id } => {
            if basic.update_frequency != UpdateFrequency::OneTime {
                problems.push(FieldError {
                    field: "update_frequency".into(),
                    message: "A custom list is uploaded once: choose One-time.".into(),
                });
            }
            match uploads::load(db, principal, *upload_id).await {
                Ok((target, _, _)) if target != basic.target_object => problems.push(FieldError {
                    field: "definition.upload_id".into(),
                    message: format!(
                        "Upload {upload_id} lists {}; the segment targets {}.",
                        target.label().to_lowercase(),
                        basic.target_object.label().to_lowercase()
                    ),
                }),
                Ok(_) => {}
                Err(AppError::NotFound(_)) => problems.push(FieldError {
                    field: "definition.upload_id".into(),
                    message: format!("Upload {upload_id} was not found; upload the file again."),
                }),
                Err(other) => return Err(other),
            }
        }
        Definition::WarehouseTable { table, id_column } => {
            crate::warehouse::authorize(principal)?;
            let warehouse = crate::warehouse::connected(state.warehouse.as_ref())?;
            match warehouse.resolve(table).await {
                Ok(found) => match warehouse.column(&found, id_column).await {
                    Ok(_) => warehouse_table = Some(found.display()),
                    Err(AppError::NotFound(_)) => problems.push(FieldError {
                        field: "definition.id_column".into(),
                        message: format!(
                            "{id_column:?} is not a column of {}: click Get Data and pick one.",
                            found.display()
                        ),
                    }),
                    Err(other) => return Err(other),
                },
                Err(AppError::NotFound(_)) => problems.push(FieldError {
                    field: "definition.table".into(),
                    message: format!("The warehouse has no table named {:?}.", table.trim()),
                }),
                Err(other) => return Err(other),
            }
        }
        Definition::Lookalike {
            seed_segment_id,
            seed_upload_id,
            target_size,
        } => {
            let seed_size = match (seed_segment_id, seed_upload_id) {
                (Some(id), None) => {
                    match check_input(db, principal, *id, basic.target_object, false, now).await? {
                        Ok(()) => records::load_segment(db, principal, *id)
                            .await?
                            .size
                            .and_then(|s| u64::try_from(s).ok()),
                        Err(message) => {
                            problems.push(FieldError {
                                field: "definition.seed_segment_id".into(),
                                message,
                            });
                            None
                        }
                    }
                }
                (None, Some(id)) => match uploads::load(db, principal, *id).await {
                    Ok((target, report, _)) if target == basic.target_object => Some(report.matched),
                    Ok(_) | Err(AppError::NotFound(_)) => {
                        problems.push(FieldError {
                            field: "definition.seed_upload_id".into(),
                            message: format!(
                                "Upload {id} of {} was not found; upload the seed list again.",
                                basic.target_object.label().to_lowercase()
                            ),
                        });
                        None
                    }
                    Err(other) => return Err(other),
                },
                _ => {
                    problems.push(FieldError {
                        field: "definition.seed_segment_id".into(),
                        message: "Give one seed: an Active segment or an uploaded list.".into(),
                    });
                    None
                }
            };
            let available =
                lookalike_universe(state, principal.scope.audience_scopes(), basic.target_object)?;
            let size_problem = match seed_size {
                Some(0) => Some("The seed has no members; choose another seed.".to_string()),
                Some(seed) if *target_size <= seed => Some(format!(
                    "Target Size must be larger than the seed's {seed} members."
                )),
                _ if *target_size > available => Some(format!(
                    "Target Size cannot exceed the {available} {}s available.",
                    basic.target_object.as_str()
                )),
                _ => None,
            };
            if let Some(message) = size_problem {
                problems.push(FieldError {
                    field: "definition.target_size".into(),
                    message,
                });
            }
        }
        Definition::SegmentSet { left, right, .. } => {
            for (field, id) in [("definition.left", *left), ("definition.right", *right)] {
                if let Err(message) = check_input(db, principal, id, basic.target_object, false, now).await? {
                    problems.push(FieldError {
                        field: field.into(),
                        message,
                    });
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(AppError::InvalidFields(problems));
    }
    if let Definition::TagFilter { rule, .. } = &request.definition {
        let valid = validate_basic(&request.name, basic, now, "").expect("validated above");
        let loaded = loaded_index(state)?;
        plan_rule(
            &catalog_for(&loaded.catalog, &principal.scope),
            rule,
            basic.target_object,
            valid.time_zone,
            now,
        )
        .map_err(AppError::InvalidRule)?;
    }
    let owner = principal.scope.to_string();
    let creator = principal.display_name();
    let stored_definition = match &request.definition {
        // The combination lives on as the combined segment's own definition.
        Definition::TagFilter { rule, .. } => Definition::TagFilter {
            rule: rule.clone(),
            combination: None,
        },
        Definition::WarehouseTable { id_column, .. } => Definition::WarehouseTable {
            table: warehouse_table.expect("resolved above"),
            id_column: id_column.trim().to_string(),
        },
        other => other.clone(),
    };
    let first = NewSegment::resolve(&owner, &creator, &request.name, basic, &stored_definition, now)?;
    let (id, combined_id) = with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let id = insert_segment!(tx, &first);
        let mut combined_id = None;
        if let Some((combination, combined_basic)) = &combined {
            let definition = Definition::SegmentSet {
                left: id,
                right: combination.segment_id,
                operation: combination.operation,
            };
            let second = NewSegment::resolve(&owner, &creator, &combination.name, combined_basic, &definition, now)?;
            combined_id = Some(insert_segment!(tx, &second));
        }
        tx.commit().await?;
        (id, combined_id)
    });
    tracing::info!(id, ?combined_id, by = %creator, "segment created");
    Ok(Created {
        id,
        status: SegmentStatus::Generating,
        combined_id,
    })
}

/// Adds a problem when `group_id` is not one of the groups of the
/// principal's own scope: a segment is filed only in a group of its
/// owner's scope (a platform segment in a merchant's group would be a
/// segment that merchant can neither see nor move).
async fn check_group(
    db: &Db,
    principal: &Principal,
    group_id: Option<i64>,
    prefix: &str,
    problems: &mut Vec<FieldError>,
) -> AppResult<()> {
    if let Some(group_id) = group_id {
        let own = match crate::groups::get_group(db, principal, group_id).await {
            Ok(group) => group.owner_scope == principal.scope,
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

/// Whether segment `id` may be an input of a set operation: visible, of the
/// same target object, and Active (or, for the API's sets, still generating).
async fn check_input(
    db: &Db,
    principal: &Principal,
    id: i64,
    target: TargetObject,
    require_active: bool,
    now: i64,
) -> AppResult<Result<(), String>> {
    let record = match records::load_segment(db, principal, id).await {
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
    let status = record.status_at(now);
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

/// How many entities a lookalike of `target` may choose from: the
/// population, or the audience of a merchant's or store's scopes.
pub fn lookalike_universe(
    state: &AppState,
    audience: Option<Vec<String>>,
    target: TargetObject,
) -> AppResult<u64> {
    let loaded = loaded_index(state)?;
    let population = loaded.index.population(target);
    Ok(match audience {
        Some(scopes) => loaded
            .index
            .audience(&scopes, target)
            .intersection_len(&population),
        None => population.len(),
    })
}

pub fn loaded_index(state: &AppState) -> AppResult<std::sync::Arc<crate::tags::index::LoadedIndex>> {
    state.tag_index.current().ok_or_else(|| {
        AppError::Unavailable("The tag index is still loading; try again in a few seconds.".into())
    })
}

/// The rule's plan for today in `time_zone`.
fn plan_rule(
    catalog: &Catalog,
    rule: &Rule,
    target: TargetObject,
    time_zone: chrono_tz::Tz,
    now: i64,
) -> Result<segment_core::plan::Plan, Vec<segment_core::validate::Problem>> {
    let now = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default();
    validate(
        rule,
        &Context {
            catalog,
            target,
            time_zone,
            as_of: today_in(time_zone, now),
        },
    )
}

/// The newest ready date among the tags a rule reads: a run that used older
/// data than this is out of date.
pub fn newest_ready_date(catalog: &Catalog, rule: &Rule) -> Option<NaiveDate> {
    rule.tag_codes()
        .iter()
        .filter_map(|code| catalog.tag(code).and_then(|tag| tag.latest_date()))
        .max()
}

/// Whether a time-sensitive segment's current snapshot predates the newest
/// ready data of the tags it reads.
pub fn is_stale(record: &SegmentRecord, run_ready_date: Option<&str>, catalog: &Catalog) -> bool {
    if !record.time_sensitive || record.update_frequency != UpdateFrequency::Daily {
        return false;
    }
    let Ok(Definition::TagFilter { rule, .. }) = record.definition() else {
        return false;
    };
    let used = run_ready_date.and_then(|d| parse_date(d).ok());
    newest_ready_date(catalog, &rule) > used
}

pub async fn list(db: &Db, principal: &Principal, query: &ListQuery) -> AppResult<SegmentPage> {
    records::list(db, principal, query, now_ms()).await
}

pub async fn detail(db: &Db, principal: &Principal, id: i64) -> AppResult<SegmentDetail> {
    records::detail(db, principal, id, now_ms()).await
}

/// Whether one entity is in a segment's current snapshot. Refused while the
/// segment is not servable: generating or failed, expired, or stale.
pub async fn check_member(
    state: &AppState,
    principal: &Principal,
    id: i64,
    entity_id: &str,
) -> AppResult<MemberAnswer> {
    let (serving, _, members) = manage::servable(state, principal, id).await?;
    let record = &serving.record;
    let visible = Visible::to(state, &principal.scope, record.target_object).await?;
    let idx = state
        .entities
        .index(&state.db, record.target_object.as_str(), entity_id)
        .await?
        .filter(|idx| visible.contains(*idx));
    Ok(MemberAnswer {
        member: idx.is_some_and(|idx| members.contains(idx)),
        known: idx.is_some(),
        data_date: record.data_date.clone(),
    })
}
