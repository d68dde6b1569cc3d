//! Tag filtering: the entities matching a rule of tag conditions, and
//! optionally a second segment combining them with an existing one.

use std::time::Instant;

use segment_core::TargetObject;
use segment_core::catalog::Catalog;
use segment_core::rule::Rule;
use segment_core::sql::{Dialect, Output as SqlOutput, compile};
use segment_core::time::{parse_date, parse_tz, today_in};
use segment_core::validate::{Context, validate};

use super::{Checked, CreateContext, Method, Output, RUNS, RunContext, RunError, check_input};
use crate::infra::millis;
use crate::segments::freshness::newest_ready_date;
use crate::spark::SparkError;
use crate::tags::catalog_for;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::segments::{Definition, TagFilter, validate_basic};

impl Method for TagFilter {
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked> {
        let basic = cx.basic;
        let mut combined = None;
        if let Some(combination) = &self.combination {
            let combined_basic = combination.basic.clone().unwrap_or_else(|| basic.clone());
            if let Err(more) = validate_basic(&combination.name, &combined_basic, cx.now, "combination.") {
                problems.extend(more);
            }
            super::check_group(cx, combined_basic.group_id, "combination.", problems).await?;
            if combined_basic.target_object != basic.target_object {
                problems.push(FieldError {
                    field: "combination.target_object".into(),
                    message: "The combined segment has the same target object as the segment above.".into(),
                });
            }
            if let Err(message) = check_input(cx, combination.segment_id, true).await? {
                problems.push(FieldError {
                    field: "combination.segment_id".into(),
                    message,
                });
            }
            combined = Some((combination.clone(), combined_basic));
        }
        // The rule is checked once every field is right: its problems are
        // answered on their own, with each condition's place.
        if problems.is_empty() {
            let time_zone = parse_tz(basic.time_zone.trim())
                .map_err(|message| AppError::validation("time_zone", message))?;
            let loaded = cx.state.tag_index.loaded()?;
            plan_today(
                &catalog_for(&loaded.catalog, &cx.principal.scope),
                &self.rule,
                basic.target_object,
                time_zone,
                cx.now,
            )
            .map_err(AppError::InvalidRule)?;
        }
        Ok(Checked {
            // The combination lives on as the combined segment's own definition.
            stored: Definition::TagFilter(TagFilter {
                rule: self.rule.clone(),
                combination: None,
            }),
            combined,
        })
    }

    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError> {
        let record = cx.record;
        let loaded = cx
            .state
            .tag_index
            .current()
            .ok_or_else(|| RunError::Wait("The tag index is loading.".into()))?;
        let tz = record.time_zone();
        let as_of = match cx.run_key.strip_prefix("daily:") {
            Some(date) => parse_date(date).map_err(RunError::Fail)?,
            None => today_in(tz, chrono::Utc::now()),
        };
        let owner = &record.owner_scope;
        let plan = validate(
            &self.rule,
            &Context {
                catalog: &catalog_for(&loaded.catalog, owner),
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
        let ready_date = newest_ready_date(&loaded.catalog, &self.rule).map(|d| d.to_string());
        let (members, evaluate_ms) = match &cx.state.spark {
            Some(spark) => {
                let sql = compile(
                    &plan,
                    Dialect::Spark,
                    SqlOutput::BucketBitmaps,
                    audience.as_deref(),
                );
                let evaluating = Instant::now();
                let members = spark.members(&sql).await.map_err(spark_run_error)?;
                (members, millis(evaluating.elapsed()))
            }
            None => {
                let (members, evaluate_ms) = cx
                    .state
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
                (members, evaluate_ms)
            }
        };
        Ok(Output {
            members,
            as_of: Some(as_of.to_string()),
            data_date,
            ready_date,
            inputs: None,
            evaluate_ms,
        })
    }
}

/// A cluster that is down or slow is retried later; a statement Spark
/// refuses would be refused again.
fn spark_run_error(error: SparkError) -> RunError {
    match error {
        SparkError::Unavailable { .. } | SparkError::TimedOut(_) | SparkError::SessionEnded(_) => {
            RunError::Retry(format!("Spark: {error}"))
        }
        SparkError::Refused(_) | SparkError::Unreadable(_) => RunError::Fail(format!("Spark: {error}")),
    }
}

/// The rule's plan for today in `time_zone`.
fn plan_today(
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
