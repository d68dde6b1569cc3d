//! Segment Targeting › + Create Segment › Tag Filtering: basic information,
//! the rule-group editor with the tag list, the live estimate and SQL, the
//! optional segment combination, and the confirmation before creating.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use segment_core::TargetObject;
use segment_core::catalog::TagDef;
use segment_core::validate::Problem;

use crate::components::unsaved::UnsavedGuard;
use crate::components::widgets::{ErrorBanner, FieldError, Modal, format_count, reveal_first_error};
use crate::error::AppError;
use crate::segments::api::{create_segment, estimate_segment, list_segments};
use crate::segments::components::basic_form::{BasicFields, BasicForm};
use crate::segments::components::creation::{SetOperationRadios, group_choices};
use crate::segments::components::live_estimate::{LiveEstimate, LocalCheck, live_estimate};
use crate::segments::components::rule_editor::{RuleEditor, RuleState, TagList};
use crate::segments::*;
use crate::tags::api::search_tags;

fn estimate_request(form: &BasicForm, rule: segment_core::rule::Rule) -> EstimateRequest {
    EstimateRequest {
        target_object: form.target_object.get_untracked(),
        rule,
        time_zone: Some(form.time_zone.get_untracked()),
        as_of: None,
    }
}

#[component]
pub fn CreateTagFilterPage() -> impl IntoView {
    let form = BasicForm::new();
    let combined = BasicForm::new();
    let rule = RuleState::new();
    let navigate = use_navigate();

    // The editor is interactive only once hydrated: its lists load in the browser.
    let group_list = group_choices();
    let tags = LocalResource::new(move || search_tags(Some(form.target_object.get()), String::new()));
    let catalog: Signal<Vec<TagDef>> =
        Signal::derive(move || tags.get().and_then(Result::ok).unwrap_or_default());

    // Another target object offers other tags: start the rule over, and the
    // combined segment follows the first's target.
    Effect::new(move |previous: Option<TargetObject>| {
        let target = form.target_object.get();
        if previous.is_some_and(|p| p != target) {
            rule.clear();
        }
        combined.target_object.set(target);
        target
    });
    form.suggest_expiry();

    // The live estimate: checked here first, asked of the engine once complete and still.
    let catalog_ready = Memo::new(move |_| {
        tags.get()
            .and_then(Result::ok)
            .map(|tags| segment_core::catalog::Catalog { tags })
    });
    let current_rule = Memo::new(move |_| rule.rule());
    let live = live_estimate(
        current_rule,
        catalog_ready,
        Signal::derive(move || form.target_object.get()),
        Signal::derive(move || form.time_zone.get()),
    );

    // The form's error: what the browser found, else the server's answer to the last Create.
    let checked = RwSignal::new(None::<AppError>);
    let create = Action::new(|request: &CreateSegmentRequest| create_segment(request.clone()));
    let create_error = Signal::derive(move || {
        checked
            .get()
            .or_else(|| create.value().get().and_then(Result::err))
    });
    // A condition just added is not marked before it is touched or Create is pressed.
    let reveal_all = RwSignal::new(false);
    let problems = Signal::derive(move || match create_error.get() {
        Some(AppError::InvalidRule(problems)) => problems,
        _ => live
            .problems()
            .into_iter()
            .filter(|p| {
                reveal_all.get()
                    || match (p.group, p.condition) {
                        (Some(group), Some(condition)) => !rule.untouched(group, condition),
                        _ => true,
                    }
            })
            .collect(),
    });
    let waiting_for_new = Signal::derive(move || {
        matches!(live.check.get(), LocalCheck::Problems(_)) && problems.with(Vec::is_empty)
    });

    // Segment combination.
    let combination_open = RwSignal::new(false);
    let selected = RwSignal::new(None::<SegmentRow>);
    let operation = RwSignal::new(SetOperation::Intersection);
    let picking = RwSignal::new(false);

    let build_request = move || CreateSegmentRequest {
        name: form.name.get_untracked(),
        basic: form.basic(),
        definition: Definition::TagFilter(TagFilter {
            rule: untrack(|| rule.rule()),
            combination: selected.get_untracked().map(|segment| Combination {
                segment_id: segment.id,
                operation: operation.get_untracked(),
                name: combined.name.get_untracked(),
                basic: Some(combined.basic()),
            }),
        }),
    };

    // Create: check the fields here first, then confirm with a fresh estimate.
    let confirming = RwSignal::new(None::<Estimate>);
    let preparing = RwSignal::new(false);
    let on_create = move |_| {
        reveal_all.set(true);
        let request = build_request();
        let now = chrono::Utc::now().timestamp_millis();
        let mut fields = validate_basic(&request.name, &request.basic, now, "")
            .err()
            .unwrap_or_default();
        if let Definition::TagFilter(TagFilter {
            combination: Some(combination),
            ..
        }) = &request.definition
            && let Err(more) = validate_basic(
                &combination.name,
                combination.basic.as_ref().unwrap_or(&request.basic),
                now,
                "combination.",
            )
        {
            fields.extend(more);
        }
        if !fields.is_empty() {
            checked.set(Some(AppError::InvalidFields(fields)));
            return;
        }
        match live.check.get_untracked() {
            LocalCheck::Problems(problems) => {
                checked.set(Some(AppError::InvalidRule(problems)));
                return;
            }
            LocalCheck::Empty => {
                checked.set(Some(AppError::Validation {
                    field: None,
                    message: "Add at least one condition to the rule.".into(),
                }));
                return;
            }
            LocalCheck::Loading | LocalCheck::Complete(_) => {}
        }
        checked.set(None);
        create.value().set(None);
        preparing.set(true);
        let Definition::TagFilter(TagFilter { rule: current, .. }) = request.definition else {
            return;
        };
        let estimate_req = estimate_request(&form, current);
        spawn_local(async move {
            match estimate_segment(estimate_req).await {
                Ok(answer) => confirming.set(Some(answer)),
                Err(error) => checked.set(Some(error)),
            }
            preparing.set(false);
        });
    };
    reveal_first_error(create_error);
    // A refused Create closes the confirmation; its error is shown by the form.
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => navigate(&format!("/segments?created={}", created.id), Default::default()),
        Some(Err(_)) => confirming.set(None),
        None => {}
    });
    let banner = Signal::derive(move || {
        create_error
            .get()
            .filter(|e| !matches!(e, AppError::InvalidFields(_) | AppError::InvalidRule(_)))
    });
    let field_summary = move || match create_error.get() {
        Some(AppError::InvalidFields(fields)) => Some(view! {
            <div class="banner banner-error" role="alert" data-testid="form-errors">
                {format!("Please correct the {} field{} marked in red.", fields.len(), if fields.len() == 1 { "" } else { "s" })}
            </div>
        }),
        Some(AppError::InvalidRule(problems)) => Some(view! {
            <div class="banner banner-error" role="alert" data-testid="form-errors">
                {format!("The rule has {} problem{}, marked at {}.", problems.len(), if problems.len() == 1 { "" } else { "s" }, if problems.len() == 1 { "its condition" } else { "their conditions" })}
            </div>
        }),
        _ => None,
    };

    view! {
        <Title text="Create Segment · Tag Filtering"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a>
            <span>" › "</span>
            <a href="/segments/new">"Create Segment"</a>
            <span>" › "</span>
            <span>"Tag Filtering"</span>
        </nav>
        <div class="page-header">
            <h1>"Create Segment: Tag Filtering"</h1>
        </div>
        <UnsavedGuard dirty=Signal::derive(move || !form.name.get().trim().is_empty() || rule.has_conditions())/>
        <div class="create-layout">
            <div class="create-main">
                <section class="panel">
                    <h2>"Basic Information"</h2>
                    <BasicFields form error=create_error groups=group_list prefix=""/>
                </section>
                <section class="panel">
                    <h2>"Tag Rules"</h2>
                    <p class="muted small">
                        "Conditions within a rule group must all match (AND); an entity matching any rule group is selected (OR)."
                    </p>
                    <RuleEditor state=rule catalog problems time_zone=Signal::derive(move || form.time_zone.get())/>
                </section>
                <section class="panel">
                    <details>
                        <summary><h2 class="inline">"Tag List"</h2>" — search the catalog and add tags to a rule group"</summary>
                        <TagList state=rule catalog/>
                    </details>
                </section>
                <section class="panel" data-testid="combination">
                    <details prop:open=move || combination_open.get() on:toggle=move |ev| {
                        let details: web_sys::HtmlDetailsElement = event_target(&ev);
                        combination_open.set(details.open());
                    }>
                        <summary><h2 class="inline">"Segment Combination"</h2>" — combine this segment with an existing one (optional)"</summary>
                        <div class="combination">
                            <div class="combination-pick">
                                <span class="label">"Segment B"</span>
                                {move || match selected.get() {
                                    Some(segment) => view! {
                                        <span data-testid="selected-segment">
                                            <strong>{format!("#{} {}", segment.id, segment.name)}</strong>
                                            <span class="muted">{format!(" · {} members", format_count(segment.size.unwrap_or(0)))}</span>
                                        </span>
                                        <button type="button" class="btn btn-link" on:click=move |_| selected.set(None)>"Clear"</button>
                                    }.into_any(),
                                    None => view! { <span class="muted">"none selected"</span> }.into_any(),
                                }}
                                <button type="button" class="btn" on:click=move |_| picking.set(true)>"Select Segment"</button>
                                <FieldError error=create_error field="combination.segment_id"/>
                            </div>
                            <SetOperationRadios operation label="Combination method">
                                <span class="muted small">"A is the segment above, B the selected one."</span>
                            </SetOperationRadios>
                            <div class="combination-head">
                                <h3>"Combined segment"</h3>
                                <button type="button" class="btn" on:click=move |_| combined.copy_from(&form)>"Copy from Above Fields"</button>
                            </div>
                            <BasicFields form=combined error=create_error groups=group_list prefix="combination." target_locked=true/>
                        </div>
                    </details>
                </section>
                {field_summary}
                <ErrorBanner error=banner/>
                <div class="form-actions sticky-actions">
                    <button type="button" class="btn btn-primary" data-testid="create" disabled=move || preparing.get() on:click=on_create>
                        {move || if preparing.get() { "Estimating…" } else { "Create" }}
                    </button>
                    <a class="btn" href="/segments">"Cancel"</a>
                </div>
            </div>
            <aside class="create-side">
                <EstimatePanel live waiting_for_new/>
            </aside>
        </div>
        {move || picking.get().then(|| view! {
            <SegmentPicker
                target=form.target_object.get_untracked()
                on_pick=Callback::new(move |row: SegmentRow| { selected.set(Some(row)); picking.set(false); })
                on_cancel=Callback::new(move |_| picking.set(false))
            />
        })}
        {move || confirming.get().map(|answer| {
            let combined_name = selected.get_untracked().map(|s| (s, combined.name.get_untracked(), operation.get_untracked()));
            view! {
                <Modal label="Confirm segment" wide=true testid="confirm" on_close=Callback::new(move |()| confirming.set(None))>
                        <h2>"Create this segment?"</h2>
                        <p>
                            "Estimated size: " <strong data-testid="confirm-size">{format_count(answer.size)}</strong>
                            {format!(" {} · data date {} · T = {} ({})",
                                form.target_object.get_untracked().label().to_lowercase(),
                                answer.data_date.map(|d| d.to_string()).unwrap_or_else(|| "n/a".into()),
                                answer.as_of, answer.time_zone)}
                        </p>
                        {combined_name.map(|(segment, name, op)| view! {
                            <p>{format!("Also creates “{name}”: {}.", combination_sentence(op, segment.id, &segment.name))}</p>
                        })}
                        <p class="muted small">"Review the SQL generated from your rules:"</p>
                        <pre class="sql" data-testid="confirm-sql">{answer.sql.clone()}</pre>
                        <div class="modal-actions">
                            <button class="btn" on:click=move |_| confirming.set(None)>"Back to editing"</button>
                            <button class="btn btn-primary" data-testid="confirm-create" disabled=move || create.pending().get()
                                on:click=move |_| { create.dispatch(build_request()); }>
                                "Confirm and create"
                            </button>
                        </div>
                </Modal>
            }
        })}
    }
}

#[component]
fn EstimatePanel(live: LiveEstimate, waiting_for_new: Signal<bool>) -> impl IntoView {
    view! {
        <section class="panel estimate" data-testid="estimate">
            <h2>"Estimated size"
                <Show when=move || live.updating.get()><span class="muted small">" updating…"</span></Show>
            </h2>
            {move || match live.check.get() {
                LocalCheck::Loading => view! { <p class="muted">"Loading the tag catalog…"</p> }.into_any(),
                LocalCheck::Empty => view! { <p class="muted">"Add conditions to see the size."</p> }.into_any(),
                LocalCheck::Problems(problems) => view! {
                    <div class="estimate-size muted">"—"</div>
                    <p class=if waiting_for_new.get() { "muted" } else { "field-error" } data-testid="estimate-waiting">
                        {if waiting_for_new.get() {
                            "Finish the new condition to see the size.".to_string()
                        } else {
                            problem_summary(&problems)
                        }}
                    </p>
                }.into_any(),
                LocalCheck::Complete(_) => match live.latest() {
                    None => view! { <p class="muted">"Estimating…"</p> }.into_any(),
                    Some(Ok(answer)) => view! {
                        <div class="estimate-size" data-testid="estimate-size">{format_count(answer.size)}</div>
                        <p class="muted small">
                            {format!("data date {} · T = {} ({}) · engine {} µs",
                                answer.data_date.map(|d| d.to_string()).unwrap_or_else(|| "n/a".into()),
                                answer.as_of, answer.time_zone, format_count(answer.engine_micros))}
                        </p>
                        <h3>"SQL"</h3>
                        <pre class="sql" data-testid="estimate-sql">{answer.sql}</pre>
                        <details class="plan" data-testid="estimate-plan">
                            <summary>"Plan (EXPLAIN)"</summary>
                            <pre class="sql">{answer.plan}</pre>
                        </details>
                    }.into_any(),
                    Some(Err(AppError::InvalidRule(problems))) => view! {
                        <div class="estimate-size muted">"—"</div>
                        <p class="field-error">{problem_summary(&problems)}</p>
                    }.into_any(),
                    Some(Err(AppError::Unavailable(_))) => view! {
                        <p class="muted" data-testid="estimate-retrying">
                            "The tag index is still loading; the estimate follows as soon as it is ready."
                        </p>
                    }.into_any(),
                    Some(Err(error)) => view! { <p class="field-error">{error.to_string()}</p> }.into_any(),
                },
            }}
        </section>
    }
}

/// What the combined segment holds, as a sentence.
fn combination_sentence(operation: SetOperation, id: SegmentId, name: &str) -> String {
    match operation {
        SetOperation::Intersection => format!("the members of both this segment and #{id} {name}"),
        SetOperation::Union => format!("the members of this segment, of #{id} {name}, or of both"),
        SetOperation::Difference => format!("the members of this segment who are not in #{id} {name}"),
    }
}

fn problem_summary(problems: &[Problem]) -> String {
    match problems {
        [only] => format!("Fix the rule: {}", only.message),
        many => format!("Fix the {} problems marked in the rule.", many.len()),
    }
}

/// A searchable list of Active segments of one target object.
#[component]
fn SegmentPicker(
    target: TargetObject,
    on_pick: Callback<SegmentRow>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let rows = Resource::new(
        move || query.get(),
        move |q| {
            list_segments(ListQuery {
                q: Some(q),
                status: Some(SegmentStatus::Active),
                target_object: Some(target),
                page_size: Some(50),
                ..Default::default()
            })
        },
    );
    view! {
        <Modal label="Select segment" wide=true testid="segment-picker" on_close=on_cancel>
                <h2>{format!("Select an Active segment of {}", target.label().to_lowercase())}</h2>
                <input type="search" class="search" placeholder="Search by name or ID" aria-label="Search segments"
                    on:input=move |ev| query.set(event_target_value(&ev))/>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || rows.get().map(|result| match result {
                        Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                        Ok(page) if page.rows.is_empty() => view! { <p class="empty">"No Active segments match."</p> }.into_any(),
                        Ok(page) => view! {
                            <div class="table-scroll">
                                <table class="data-table compact" tabindex="0">
                                    <thead><tr><th>"ID"</th><th>"Name"</th><th>"Method"</th><th class="num">"Size"</th><th></th></tr></thead>
                                    <tbody>
                                        {page.rows.into_iter().map(|row| {
                                            let pick = row.clone();
                                            view! {
                                                <tr>
                                                    <td class="num">{row.id.to_string()}</td>
                                                    <td>{row.name.clone()}</td>
                                                    <td>{row.method.label()}</td>
                                                    <td class="num">{format_count(row.size.unwrap_or(0))}</td>
                                                    <td><button class="btn btn-small btn-primary" on:click=move |_| on_pick.run(pick.clone())>"Select"</button></td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                    })}
                </Transition>
                <div class="modal-actions">
                    <button class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
        </Modal>
    }
}

/// The rule as sentences, and the SQL it runs as today.
pub fn definition_view(method: &TagFilter, detail: &SegmentDetail) -> AnyView {
    let rule = &method.rule;
    // The sentences use the catalog's names; until it arrives, the codes.
    let names = crate::tags::tag_names(detail.row.target_object);
    let sentence_rule = rule.clone();
    let sentences = move || names.with(|names| crate::segments::describe::rule(&sentence_rule, names));
    let request = EstimateRequest {
        target_object: detail.row.target_object,
        rule: rule.clone(),
        time_zone: Some(detail.row.time_zone.clone()),
        as_of: None,
    };
    let sql = Resource::new(move || request.clone(), estimate_segment);
    view! {
            <Transition fallback=|| ()>
                <ol class="rule-sentences" data-testid="rule-sentences">
                    {move || sentences().into_iter().enumerate().map(|(i, s)| view! {
                        <li>{(i > 0).then(|| view! { <span class="rule-or">"OR"</span>" " })}{s}</li>
                    }).collect_view()}
                </ol>
            </Transition>
            <Transition fallback=|| ()>
                {move || sql.get().map(|answer| match answer {
                    Ok(answer) => view! {
                        <p class="muted small">{format!("SQL evaluated today (T = {}, {}): {} matching now.", answer.as_of, answer.time_zone, format_count(answer.size))}</p>
                        <pre class="sql">{answer.sql}</pre>
                    }.into_any(),
                    Err(error) => view! { <p class="muted">{format!("SQL unavailable: {error}")}</p> }.into_any(),
                })}
            </Transition>
        }
        .into_any()
}
