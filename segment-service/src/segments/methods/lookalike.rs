//! Algorithm (lookalike): a seed expanded with the most similar entities.

use segment_core::TargetObject;

use super::{
    Checked, CreateContext, Method, Output, RUNS, RunContext, RunError, check_input, input_snapshot,
    upload_members,
};
use crate::infra::stored_count;
use crate::segments::{records, uploads};
use crate::state::AppState;
use segment_contract::error::{AppError, AppResult, FieldError};
use segment_contract::segments::{Definition, Lookalike, Seed};

impl Method for Lookalike {
    async fn check(&self, cx: &CreateContext<'_>, problems: &mut Vec<FieldError>) -> AppResult<Checked> {
        let target = cx.basic.target_object;
        let seed_size = match self.seed {
            Some(Seed::Segment(id)) => match check_input(cx, id, false).await? {
                Ok(()) => records::load_segment(&cx.state.db, cx.principal, id)
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
            },
            Some(Seed::Upload(id)) => match uploads::load(&cx.state.db, cx.principal, id).await {
                Ok((listed, report, _)) if listed == target => Some(report.matched),
                Ok(_) | Err(AppError::NotFound(_)) => {
                    problems.push(FieldError {
                        field: "definition.seed_upload_id".into(),
                        message: format!(
                            "Upload {id} of {} was not found; upload the seed list again.",
                            target.label().to_lowercase()
                        ),
                    });
                    None
                }
                Err(other) => return Err(other),
            },
            None => {
                problems.push(FieldError {
                    field: "definition.seed_segment_id".into(),
                    message: "Give one seed: an Active segment or an uploaded list.".into(),
                });
                None
            }
        };
        let available = universe(cx.state, cx.principal.scope.audience_scopes(), target)?;
        let target_size = self.target_size;
        let size_problem = match seed_size {
            Some(0) => Some("The seed has no members; choose another seed.".to_string()),
            Some(seed) if target_size <= seed => Some(format!(
                "Target Size must be larger than the seed's {seed} members."
            )),
            _ if target_size > available => Some(format!(
                "Target Size cannot exceed the {available} {}s available.",
                target.as_str()
            )),
            _ => None,
        };
        if let Some(message) = size_problem {
            problems.push(FieldError {
                field: "definition.target_size".into(),
                message,
            });
        }
        Ok(Checked::alone(Definition::Lookalike(self.clone())))
    }

    async fn materialize(&self, cx: &RunContext<'_>) -> Result<Output, RunError> {
        let loaded = cx
            .state
            .tag_index
            .current()
            .ok_or_else(|| RunError::Wait("The tag index is loading.".into()))?;
        let db = &cx.state.db;
        let (seed, seed_input) = match self.seed {
            Some(Seed::Segment(id)) => {
                let (members, run, _) = input_snapshot(db, id).await?;
                (members, serde_json::json!({"segment_id": id, "run_id": run}))
            }
            Some(Seed::Upload(id)) => (
                upload_members(db, id).await?,
                serde_json::json!({"upload_id": id}),
            ),
            None => return Err(RunError::Fail("The lookalike has no seed.".into())),
        };
        let record = cx.record;
        let target = record.target_object;
        let audience = record.owner_scope.audience_scopes();
        let tenant = record.owner_scope.tenant();
        let target_size = self.target_size;
        // Scoring walks every entity's features: on the engine threads.
        let (members, model) = cx
            .state
            .engine
            .run(RUNS, None, move || {
                let population = loaded.index.population(target);
                let universe = match audience {
                    Some(scopes) => loaded.index.audience(&scopes, target) & &population,
                    None => population,
                };
                // The owner's view: no other tenant's IDs as features or in counts.
                let catalog = match tenant {
                    Some(tenant) => std::borrow::Cow::Owned(loaded.catalog.for_tenant(&tenant)),
                    None => std::borrow::Cow::Borrowed(&loaded.catalog),
                };
                segment_core::engine::lookalike::expand(
                    &loaded.index,
                    &catalog,
                    target,
                    &universe,
                    &seed,
                    target_size,
                )
            })
            .await?
            .map_err(|error| RunError::Fail(format!("The lookalike cannot be computed: {error}.")))?;
        let evaluate_ms = stored_count(model.score_ms);
        let inputs = serde_json::json!({"seed": seed_input, "model": model});
        Ok(Output::read(members, &inputs, evaluate_ms))
    }
}

/// How many entities a lookalike of `target` may choose from: the
/// population, or the audience of a merchant's or store's scopes.
pub fn universe(state: &AppState, audience: Option<Vec<String>>, target: TargetObject) -> AppResult<u64> {
    let loaded = state.tag_index.loaded()?;
    let population = loaded.index.population(target);
    Ok(match audience {
        Some(scopes) => loaded
            .index
            .audience(&scopes, target)
            .intersection_len(&population),
        None => population.len(),
    })
}
