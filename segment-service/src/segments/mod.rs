//! Segment services shared by the server functions and the HTTP API.

pub mod create;
pub mod exports;
pub mod freshness;
pub mod insights;
pub mod manage;
pub mod methods;
pub mod records;
pub mod schedule;
pub mod uploads;
pub mod visible;
pub mod worker;

pub use create::create;

use std::time::Instant;

use segment_core::plan::optimize;
use segment_core::sql::{Dialect, Output, compile};
use segment_core::time::{parse_date, parse_tz, today_in};
use segment_core::validate::{Context, validate};

use crate::infra::db::{Backend, Db};
use crate::infra::now_ms;
use crate::state::AppState;
use crate::tags::catalog_for;
use segment_contract::auth::Principal;
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::SegmentId;
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
    let loaded = state.tag_index.loaded()?;
    let spark = state.spark.clone();
    // The preview shows the SQL of wherever the count runs.
    let dialect = match (&spark, state.db.backend()) {
        (Some(_), _) => Dialect::Spark,
        (None, Backend::Sqlite) => Dialect::Sqlite,
        (None, Backend::Postgres) => Dialect::Postgres,
    };
    let on_spark = spark.is_some();
    let (rule, scope, target) = (
        request.rule.clone(),
        principal.scope.clone(),
        request.target_object,
    );
    // Validating and compiling a large rule costs milliseconds too: all of
    // it runs on the engine threads, none on the request threads.
    let (plan, sql, explained, counted) = state
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
            let explained = optimize(plan.clone()).to_string();
            if on_spark {
                let count = compile(&plan, Dialect::Spark, Output::Count, audience.as_deref());
                return Ok::<_, AppError>((plan, sql, explained, Counted::OnSpark(count)));
            }
            let started = Instant::now();
            let members = loaded
                .index
                .evaluate(&plan, audience.as_deref())
                .map_err(|error| {
                    tracing::error!(%error, "the engine could not evaluate a validated plan");
                    AppError::Internal
                })?;
            Ok((
                plan,
                sql,
                explained,
                Counted::Engine(members.len(), micros_since(started)),
            ))
        })
        .await??;
    let (size, engine_micros) = match (counted, spark) {
        (Counted::Engine(size, micros), _) => (size, micros),
        (Counted::OnSpark(count), Some(spark)) => {
            let started = Instant::now();
            let size = spark.count(&count, state.estimate_deadline).await?;
            (size, micros_since(started))
        }
        (Counted::OnSpark(_), None) => return Err(AppError::Internal),
    };
    Ok(Estimate {
        size,
        sql,
        plan: explained,
        data_date: plan.data_date,
        as_of,
        time_zone: time_zone.name().to_string(),
        engine_micros,
    })
}

/// An estimate's count, or the statement that counts it on Spark.
enum Counted {
    Engine(u64, u64),
    OnSpark(segment_core::sql::CompiledSql),
}

fn micros_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

pub async fn list(db: &Db, principal: &Principal, query: &ListQuery) -> AppResult<SegmentPage> {
    records::list(db, principal, query, now_ms()).await
}

pub async fn detail(db: &Db, principal: &Principal, id: SegmentId) -> AppResult<SegmentDetail> {
    records::detail(db, principal, id, now_ms()).await
}

/// Whether one entity is in a segment's current snapshot. Refused while the
/// segment is not servable: generating or failed, expired, or stale.
pub async fn check_member(
    state: &AppState,
    principal: &Principal,
    id: SegmentId,
    entity_id: &str,
) -> AppResult<MemberAnswer> {
    let (serving, _, members) = manage::servable(state, principal, id).await?;
    let record = &serving.record;
    let visible = Visible::to(state, &principal.scope, record.target_object).await?;
    let idx = state
        .dictionaries
        .index_of(&state.db, record.target_object, entity_id)
        .await?
        .filter(|idx| visible.contains(*idx));
    Ok(MemberAnswer {
        member: idx.is_some_and(|idx| members.contains(idx)),
        known: idx.is_some(),
        data_date: record.data_date.clone(),
    })
}
