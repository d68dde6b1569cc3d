//! Create Segment › Algorithm: a lookalike of a seed (an Active segment or
//! an uploaded list) expanded to a target size.

use leptos::prelude::*;

use crate::components::charts::{ShareBars, ShareRow};
use crate::components::widgets::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::segments::api::lookalike_universe;
use crate::segments::components::basic_form::BasicForm;
use crate::segments::components::creation::{
    CreationHeader, IdUpload, active_segments, create_action, group_choices, submit,
};
use crate::segments::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeedKind {
    Segment,
    Upload,
}

#[component]
pub fn CreateLookalikePage() -> impl IntoView {
    let form = BasicForm::new();
    let group_list = group_choices();
    form.suggest_expiry();
    let choices = active_segments(form.target_object);
    let universe = LocalResource::new(move || lookalike_universe(form.target_object.get()));
    let universe_size = Signal::derive(move || universe.get().and_then(Result::ok));
    let seed_kind = RwSignal::new(SeedKind::Segment);
    let seed_segment = RwSignal::new(None::<SegmentId>);
    let upload = IdUpload::new();
    let uploaded = upload.answer;
    let uploading = upload.uploading;
    let target_size = RwSignal::new(String::new());
    let checked = RwSignal::new(None::<AppError>);
    Effect::new(move |_| {
        form.target_object.track();
        seed_segment.set(None);
        uploaded.set(None);
    });
    let seed_size = Signal::derive(move || match seed_kind.get() {
        SeedKind::Segment => seed_segment.get().and_then(|id| {
            choices
                .get()
                .into_iter()
                .find(|row| row.id == id)
                .and_then(|row| row.size)
                .and_then(|s| u64::try_from(s).ok())
        }),
        SeedKind::Upload => uploaded.get().map(|u| u.report.matched),
    });
    let on_file = upload.on_change(form.target_object, checked);
    let (create, error) = create_action(checked);
    let on_create = move |_| {
        let mut fields = Vec::new();
        let problem = |field: &str, message: String| crate::error::FieldError {
            field: field.into(),
            message,
        };
        let chosen_seed = match seed_kind.get_untracked() {
            SeedKind::Segment => seed_segment.get_untracked().map(Seed::Segment),
            SeedKind::Upload => uploaded.get_untracked().map(|u| Seed::Upload(u.upload_id)),
        };
        if chosen_seed.is_none() {
            fields.push(match seed_kind.get_untracked() {
                SeedKind::Segment => problem(
                    "definition.seed_segment_id",
                    "Choose an Active seed segment.".into(),
                ),
                SeedKind::Upload => {
                    problem("definition.seed_upload_id", "Upload the seed list first.".into())
                }
            });
        }
        let seed = seed_size.get_untracked().unwrap_or(0);
        let target = target_size
            .get_untracked()
            .trim()
            .replace(',', "")
            .parse::<u64>()
            .ok();
        match (target, universe_size.get_untracked()) {
            (None, _) => fields.push(problem(
                "definition.target_size",
                "Enter the number of entities wanted.".into(),
            )),
            (Some(t), _) if t <= seed => fields.push(problem(
                "definition.target_size",
                format!(
                    "Target Size must be larger than the seed's {} members.",
                    format_count(seed)
                ),
            )),
            (Some(t), Some(max)) if t > max => fields.push(problem(
                "definition.target_size",
                format!(
                    "Target Size cannot exceed the {} entities available.",
                    format_count(max)
                ),
            )),
            _ => {}
        }
        let definition = Definition::Lookalike(Lookalike {
            seed: chosen_seed,
            target_size: target.unwrap_or_default(),
        });
        submit(form, checked, create, definition, fields);
    };
    view! {
        <CreationHeader method="Algorithm" form error groups=group_list/>
        <section class="panel">
            <h2>"Algorithm"</h2>
            <div class="form-grid">
                <label class="field">
                    <span>"Algorithm *"</span>
                    <select name="algorithm" aria-label="Algorithm">
                        <option value="lookalike" selected>"Lookalike"</option>
                    </select>
                </label>
            </div>
            <p class="muted small">"Lookalike expands the seed with the entities most similar to it: each tag value (and each quintile of a number or date, each recent behavior) is weighted by how much more common it is in the seed than elsewhere, and the best-scored entities are added until Target Size is reached. The segment's details show the features that weighed most."</p>
            <div class="radio-row" role="radiogroup" aria-label="Seed">
                <label><input type="radio" name="seed_kind" prop:checked=move || seed_kind.get() == SeedKind::Segment
                    on:change=move |_| seed_kind.set(SeedKind::Segment)/>"Active segment"</label>
                <label><input type="radio" name="seed_kind" prop:checked=move || seed_kind.get() == SeedKind::Upload
                    on:change=move |_| seed_kind.set(SeedKind::Upload)/>"Uploaded list"</label>
            </div>
            <div class="form-grid">
                <Show when=move || seed_kind.get() == SeedKind::Segment fallback=move || view! {
                    <label class="field">
                        <span>"Seed list (CSV, " <code>"entity_id"</code> " header)"</span>
                        <input type="file" name="seed_file" accept=".csv,text/csv" aria-label="Seed file" on:change=on_file/>
                        <FieldError error field="definition.seed_upload_id"/>
                        <FieldError error field="file"/>
                    </label>
                }>
                    <label class="field">
                        <span>"Seed Segment *"</span>
                        <select name="definition.seed_segment_id" aria-label="Seed Segment"
                            on:change=move |ev| seed_segment.set(event_target_value(&ev).parse().ok())>
                            <option value="">"Choose an Active segment…"</option>
                            {move || choices.get().into_iter().map(|row| view! {
                                <option value=row.id.to_string() selected=seed_segment.get_untracked() == Some(row.id)>
                                    {format!("#{} {}", row.id, row.name)}
                                </option>
                            }).collect_view()}
                        </select>
                        <FieldError error field="definition.seed_segment_id"/>
                    </label>
                </Show>
                <div class="field">
                    <span>"Seed Segment Size"</span>
                    <output data-testid="seed-size">
                        {move || if uploading.get() {
                            "Checking the list…".to_string()
                        } else {
                            seed_size.get().map(format_count).unwrap_or_else(|| "—".into())
                        }}
                    </output>
                </div>
                <label class="field">
                    <span>"Target Size *"</span>
                    <input name="definition.target_size" inputmode="numeric" aria-label="Target Size"
                        prop:value=move || target_size.get()
                        on:input=move |ev| target_size.set(event_target_value(&ev))/>
                    <span class="muted small">
                        {move || match (seed_size.get(), universe_size.get()) {
                            (Some(seed), Some(max)) if seed < max => format!("From {} to {}.", format_count(seed + 1), format_count(max)),
                            (Some(_), Some(_)) => "The seed already holds every entity you can reach: there is nothing to add.".to_string(),
                            (None, Some(max)) => format!("At most {}.", format_count(max)),
                            _ => String::new(),
                        }}
                    </span>
                    <FieldError error field="definition.target_size"/>
                </label>
            </div>
        </section>
        <ErrorBanner error=Signal::derive(move || error.get().filter(|e| {
            !matches!(e, AppError::InvalidFields(_)) && e.for_field("file").is_none()
        }))/>
        <div class="form-actions">
            <button class="btn btn-primary" data-testid="create" disabled=move || create.pending().get() || uploading.get() on:click=on_create>"Create"</button>
            <a class="btn" href="/segments">"Cancel"</a>
        </div>
    }
}

/// The seed and size, and the model of the last run.
pub fn definition_view(method: &Lookalike, detail: &SegmentDetail) -> AnyView {
    let seed = match method.seed {
            Some(Seed::Segment(id)) => view! { <a href=format!("/segments/{id}")>{format!("segment {id}")}</a> }.into_any(),
            Some(Seed::Upload(id)) => view! {
                <a href=format!("/api/v1/uploads/{id}/report.csv") rel="external">{format!("uploaded list {id}")}</a>
            }
            .into_any(),
            None => view! { <span>"—"</span> }.into_any(),
        };
    let model: Option<segment_core::lookalike::LookalikeModel> = detail
        .runs
        .iter()
        .find(|r| r.status == RunStatus::Succeeded)
        .and_then(|r| r.inputs.as_deref())
        .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
        .and_then(|inputs| serde_json::from_value(inputs["model"].clone()).ok());
    view! {
            <p data-testid="lookalike-definition">
                "Lookalike of " {seed} {format!(", expanded to {} members with the most similar entities.", format_count(method.target_size))}
            </p>
            {model.map(|model| view! { <LookalikeExplanation model target=detail.row.target_object/> })}
        }
        .into_any()
}

/// The model of the last run: the features that made entities look like the seed.
#[component]
fn LookalikeExplanation(
    model: segment_core::lookalike::LookalikeModel,
    target: segment_core::TargetObject,
) -> impl IntoView {
    // Features are stored with tag codes; they are shown with the tags' names.
    let names = crate::tags::tag_names(target);
    let features = model.top_features.clone();
    let rows = move || {
        features
            .iter()
            .map(|f| ShareRow {
                label: names.with(|names| f.feature.replacen(&f.tag, names.tag(&f.tag), 1)),
                first: f.seed_share,
                second: f.background_share,
                detail: format!("{}: weight {:+.2}", f.feature, f.weight),
                // The smoothed ratio the model weighs with (never divides by zero).
                lift: Some(f.weight.exp()),
            })
            .collect::<Vec<_>>()
    };
    view! {
        <p class="muted small" data-testid="lookalike-model">
            {format!(
                "Seed {} of {} {}; {} features in {} tags, scored in {} ms. An entity's score adds the weight of each feature it has; the weight is the log-ratio of the feature's share in the seed and in everyone else.",
                format_count(model.seed_size),
                format_count(model.universe_size),
                "entities",
                model.features,
                model.feature_groups,
                model.score_ms
            )}
        </p>
        <Transition fallback=|| ()>
            {move || view! {
                <ShareBars rows=rows() first="Seed".to_string() second="Everyone else".to_string()
                    value_header="Top contributing feature".to_string() testid="top-features"/>
            }}
        </Transition>
    }
}
