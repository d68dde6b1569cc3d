//! Creating a segment: the basic information and the method's definition
//! checked, then the segment (and a combined one) stored as Generating with
//! its first run queued, in one transaction.

use super::methods::{self, CreateContext, check_group};
use super::schedule;
use crate::infra::now_ms;
use crate::state::AppState;
use crate::with_db;
use segment_contract::auth::Principal;
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::{GroupId, SegmentId};
use segment_contract::segments::{
    BasicInfo, CreateSegmentRequest, Created, Definition, SegmentSet, SegmentStatus, validate_basic,
};

/// A segment row ready to insert, every value resolved.
struct NewSegment {
    owner: String,
    creator: String,
    name: String,
    group_id: Option<GroupId>,
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
        let (id,): (SegmentId,) = sqlx::query_as(
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
    let basic = &request.basic;
    let cx = CreateContext {
        state,
        principal,
        basic,
        now,
    };
    let mut problems = validate_basic(&request.name, basic, now, "")
        .err()
        .unwrap_or_default();
    check_group(&cx, basic.group_id, "", &mut problems).await?;
    let checked = methods::check(&request.definition, &cx, &mut problems).await?;
    if !problems.is_empty() {
        return Err(AppError::InvalidFields(problems));
    }
    let owner = principal.scope.to_string();
    let creator = principal.display_name();
    let first = NewSegment::resolve(&owner, &creator, &request.name, basic, &checked.stored, now)?;
    let (id, combined_id) = with_db!(&state.db, pool => {
        let mut tx = pool.begin().await?;
        let id = insert_segment!(tx, &first);
        let mut combined_id = None;
        if let Some((combination, combined_basic)) = &checked.combined {
            let definition = Definition::SegmentSet(SegmentSet {
                left: id,
                right: combination.segment_id,
                operation: combination.operation,
            });
            let second = NewSegment::resolve(&owner, &creator, &combination.name, combined_basic, &definition, now)?;
            combined_id = Some(insert_segment!(tx, &second));
        }
        tx.commit().await?;
        (id, combined_id)
    });
    tracing::info!(%id, ?combined_id, by = %creator, "segment created");
    Ok(Created {
        id,
        status: SegmentStatus::Generating,
        combined_id,
    })
}
