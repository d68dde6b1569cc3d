//! Custom list: the IDs of an uploaded file found in the population.

use std::time::Instant;

use super::{Checked, CreateContext, Method, Output, RunContext, RunError, listed, upload_members};
use crate::segments::uploads;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::segments::{CustomList, Definition, UpdateFrequency};

impl Method for CustomList {
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked> {
        let (basic, upload_id) = (cx.basic, self.upload_id);
        if basic.update_frequency != UpdateFrequency::OneTime {
            problems.push(FieldError {
                field: "update_frequency".into(),
                message: "A custom list is uploaded once: choose One-time.".into(),
            });
        }
        match uploads::load(&cx.state.db, cx.principal, upload_id).await {
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
        Ok(Checked::alone(Definition::CustomList(self.clone())))
    }

    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError> {
        let started = Instant::now();
        let members = upload_members(&cx.state.db, self.upload_id).await?;
        let inputs = serde_json::json!({"upload_id": self.upload_id});
        listed(cx, members, inputs, started).await
    }
}
