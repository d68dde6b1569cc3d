//! Segment sets: the intersection, union or difference of two segments'
//! current snapshots.

use std::time::Instant;

use super::{Checked, CreateContext, Method, Output, RunContext, RunError, check_input, input_snapshot};
use crate::infra::millis;
use crate::segments::visible::audience_from_database;
use segment_contract::error::{AppResult, FieldError};
use segment_contract::segments::{Definition, SegmentSet, SetOperation};

impl Method for SegmentSet {
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked> {
        for (field, id) in [("definition.left", self.left), ("definition.right", self.right)] {
            if let Err(message) = check_input(cx, id, false).await? {
                problems.push(FieldError {
                    field: field.into(),
                    message,
                });
            }
        }
        Ok(Checked::alone(Definition::SegmentSet(self.clone())))
    }

    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError> {
        let db = &cx.state.db;
        let (left_members, left_run, left_record) = input_snapshot(db, self.left).await?;
        let (right_members, right_run, right_record) = input_snapshot(db, self.right).await?;
        let evaluating = Instant::now();
        let mut members = match self.operation {
            SetOperation::Intersection => left_members & right_members,
            SetOperation::Union => left_members | right_members,
            SetOperation::Difference => left_members - right_members,
        };
        if let Some(scopes) = cx.record.owner_scope.audience_scopes() {
            // Inputs are the owner's own, already scoped; kept as a guard.
            members &= audience_from_database(db, &scopes, cx.record.target_object).await?;
        }
        let inputs = serde_json::json!({
            "left": {"segment_id": self.left, "run_id": left_run},
            "right": {"segment_id": self.right, "run_id": right_run},
        });
        Ok(Output {
            members,
            as_of: None,
            data_date: left_record.data_date.max(right_record.data_date),
            ready_date: None,
            inputs: Some(inputs.to_string()),
            evaluate_ms: millis(evaluating.elapsed()),
        })
    }
}
