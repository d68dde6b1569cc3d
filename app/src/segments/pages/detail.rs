//! A segment's details: basic information, the definition as sentences and
//! SQL, status, the run history (chart and table) and what uses it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use super::create::format_count;
use crate::components::widgets::{ErrorBanner, format_utc};
use crate::segments::api::{estimate_segment, get_segment, segment_used_by};
use crate::segments::components::actions::RowActions;
use crate::segments::components::status::StatusBadge;
use crate::segments::*;

#[component]
pub fn SegmentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or(0));
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(move || (id(), refresh.get()), |(id, _)| get_segment(id));
    let used = Resource::new(move || (id(), refresh.get()), |(id, _)| segment_used_by(id));
    view! {
        <Title text="Segment details"/>
        <nav class="breadcrumb"><a href="/segments">"Segment Targeting"</a><span>" › "</span><span>"Details"</span></nav>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || detail.get().map(|result| match result {
                Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                Ok(detail) => view! { <Details detail used refresh/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Details(
    detail: SegmentDetail,
    used: Resource<Result<UsedBy, crate::error::AppError>>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let row = detail.row.clone();
    let frequency = match (row.update_frequency, &row.daily_run_time) {
        (UpdateFrequency::Daily, Some(time)) => format!("Daily at {time} ({})", row.time_zone),
        (frequency, _) => frequency.label().to_string(),
    };
    let scenarios = detail
        .usage_scenarios
        .iter()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ");
    let definition = definition_view(&detail);
    let used_zone = row.time_zone.clone();
    view! {
        <div class="page-header">
            <h1>{format!("#{} {}", row.id, row.name)}</h1>
            <div class="header-actions">
                <RowActions row=row.clone() on_change=Callback::new(move |_| refresh.update(|n| *n += 1))/>
            </div>
        </div>
        <div class="detail-grid">
            <section class="panel">
                <h2>"Basic information"</h2>
                <dl class="facts" data-testid="facts">
                    <dt>"Status"</dt><dd><StatusBadge status=row.status phase=row.phase.clone() error=row.error.clone()/></dd>
                    <dt>"Size"</dt><dd data-testid="detail-size">{row.size.map(format_count).unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Data date"</dt><dd>{row.data_date.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Creation method"</dt><dd>{row.method.label()}</dd>
                    <dt>"Target object"</dt><dd>{row.target_object.label()}</dd>
                    <dt>"Group"</dt><dd>{row.group_name.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Update frequency"</dt><dd>{frequency}</dd>
                    <dt>"Time-sensitive"</dt><dd>{if detail.time_sensitive { "Yes" } else { "No" }}</dd>
                    <dt>"Usage scenarios"</dt><dd>{scenarios}</dd>
                    <dt>"Expires at"</dt><dd data-testid="detail-expires">{format!("{} {}", row.expires_local(), row.time_zone)}</dd>
                    <dt>"Notification email"</dt><dd>{detail.notification_email.clone().unwrap_or_else(|| "—".into())}</dd>
                    <dt>"Created"</dt><dd>{format!("{} by {}", format_utc(detail.created_at), detail.created_by)}</dd>
                    <dt>"Owner"</dt><dd><code>{row.owner_scope.to_string()}</code></dd>
                </dl>
                {row.error.clone().map(|e| view! { <div class="banner banner-error">{format!("Last failure: {e}")}</div> })}
            </section>
            <section class="panel">
                <h2>"Used by"</h2>
                <Transition fallback=|| ()>
                    {move || used.get().map(|result| match result {
                        Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                        Ok(used) if used.bindings.is_empty() && used.dependents.is_empty()
                            && used.other_tasks == 0 && used.other_segments == 0 => {
                            view! { <p class="muted">"Nothing uses this segment: it can be deleted."</p> }.into_any()
                        }
                        Ok(used) => {
                            let elsewhere = outside_scope(&used, &used_zone);
                            let named = !used.bindings.is_empty() || !used.dependents.is_empty();
                            view! {
                                {named.then(move || view! {
                                <table class="data-table compact" data-testid="used-by">
                                    <thead><tr><th>"Kind"</th><th>"ID"</th><th>"Name"</th><th>"Until"</th></tr></thead>
                                    <tbody>
                                        {used.bindings.into_iter().map(|b| view! {
                                            <tr><td>"Delivery task"</td><td><code>{b.task_id}</code></td><td>{b.name}</td><td>{format_utc(b.ends_at)}</td></tr>
                                        }).collect_view()}
                                        {used.dependents.into_iter().map(|(id, name)| view! {
                                            <tr><td>"Segment"</td><td>{id}</td><td><a href=format!("/segments/{id}")>{name}</a></td><td>"—"</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                })}
                                {elsewhere.map(|text| view! { <p class="muted" data-testid="used-elsewhere">{text}</p> })}
                            }.into_any()
                        }
                    })}
                </Transition>
            </section>
        </div>
        <section class="panel">
            <h2>"Definition"</h2>
            {definition}
        </section>
        <section class="panel">
            <h2>"Run history"</h2>
            <RunChart runs=detail.runs.clone()/>
            <RunTable runs=detail.runs.clone()/>
        </section>
    }
}

/// Uses from other scopes, counted and never named, with what they mean for deleting.
fn outside_scope(used: &UsedBy, zone: &str) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(until) = used.other_tasks_until {
        parts.push(format!(
            "{} delivery task{} outside your scope use{} this segment until {} ({zone}); it can be deleted after that.",
            used.other_tasks,
            if used.other_tasks == 1 { "" } else { "s" },
            if used.other_tasks == 1 { "s" } else { "" },
            crate::segments::local_time(until, zone),
        ));
    }
    if used.other_segments > 0 {
        parts.push(format!(
            "{} segment{} outside your scope {} computed from this one; deleting it stops {} updates.",
            used.other_segments,
            if used.other_segments == 1 { "" } else { "s" },
            if used.other_segments == 1 { "is" } else { "are" },
            if used.other_segments == 1 { "its" } else { "their" },
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn definition_view(detail: &SegmentDetail) -> AnyView {
    match &detail.definition {
        Definition::TagFilter { rule, .. } => {
            let sentences = crate::segments::describe::rule(rule);
            let request = EstimateRequest {
                target_object: detail.row.target_object,
                rule: rule.clone(),
                time_zone: Some(detail.row.time_zone.clone()),
                as_of: None,
            };
            let sql = Resource::new(move || request.clone(), estimate_segment);
            view! {
                <ol class="rule-sentences" data-testid="rule-sentences">
                    {sentences.into_iter().enumerate().map(|(i, s)| view! {
                        <li>{(i > 0).then(|| view! { <span class="rule-or">"OR"</span>" " })}{s}</li>
                    }).collect_view()}
                </ol>
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
        Definition::CustomList { upload_id } => view! {
            <p data-testid="list-definition">
                {format!("The IDs of upload {upload_id} found in the population. ")}
                <a href=format!("/api/v1/uploads/{upload_id}/report.csv") rel="external">"Validation report (CSV)"</a>
            </p>
        }
        .into_any(),
        Definition::WarehouseTable { table, id_column } => {
            let read: Option<crate::warehouse::WarehouseRead> = detail
                .runs
                .iter()
                .find(|r| r.status == "succeeded")
                .and_then(|r| r.inputs.as_deref())
                .and_then(|json| serde_json::from_str(json).ok());
            view! {
                <p data-testid="warehouse-definition">
                    "The distinct values of column " <code>{id_column.clone()}</code>
                    " of warehouse table " <code>{table.clone()}</code> " that are IDs of the target object."
                </p>
                {read.map(|read| view! {
                    <p data-testid="warehouse-read">
                        {format!(
                            "Last read: {} distinct values, {} matched, {} unknown{}.",
                            format_count(read.distinct),
                            format_count(read.matched),
                            format_count(read.unknown),
                            if read.unknown_sample.is_empty() {
                                String::new()
                            } else {
                                format!(" (for example {})", read.unknown_sample.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
                            }
                        )}
                    </p>
                })}
                <p class="muted small">{crate::warehouse::DISCLAIMER}</p>
            }
            .into_any()
        }
        Definition::Lookalike {
            seed_segment_id,
            seed_upload_id,
            target_size,
        } => {
            let seed = match (seed_segment_id, seed_upload_id) {
                (Some(id), _) => view! { <a href=format!("/segments/{id}")>{format!("segment {id}")}</a> }.into_any(),
                (None, Some(id)) => view! {
                    <a href=format!("/api/v1/uploads/{id}/report.csv") rel="external">{format!("uploaded list {id}")}</a>
                }
                .into_any(),
                (None, None) => view! { <span>"—"</span> }.into_any(),
            };
            let model: Option<segment_core::lookalike::LookalikeModel> = detail
                .runs
                .iter()
                .find(|r| r.status == "succeeded")
                .and_then(|r| r.inputs.as_deref())
                .and_then(|json| serde_json::from_str::<serde_json::Value>(json).ok())
                .and_then(|inputs| serde_json::from_value(inputs["model"].clone()).ok());
            view! {
                <p data-testid="lookalike-definition">
                    "Lookalike of " {seed} {format!(", expanded to {} members with the most similar entities.", format_count(*target_size))}
                </p>
                {model.map(|model| view! { <LookalikeExplanation model/> })}
            }
            .into_any()
        }
        Definition::SegmentSet {
            left,
            right,
            operation,
        } => view! {
            <p data-testid="set-definition">
                <a href=format!("/segments/{left}")>{format!("Segment {left}")}</a>
                {format!(" {} ", operation.label())}
                <a href=format!("/segments/{right}")>{format!("Segment {right}")}</a>
            </p>
        }
        .into_any(),
    }
}

/// The model of the last run: the features that made entities look like the seed.
#[component]
fn LookalikeExplanation(model: segment_core::lookalike::LookalikeModel) -> impl IntoView {
    let percent = |share: f64| format!("{:.1}%", share * 100.0);
    view! {
        <p class="muted small" data-testid="lookalike-model">
            {format!(
                "Seed {} of {} {}; {} features in {} tags, scored in {} ms. An entity's score adds the weight of each feature it has;                  the weight is the log-ratio of the feature's share in the seed and in everyone else.",
                format_count(model.seed_size),
                format_count(model.universe_size),
                "entities",
                model.features,
                model.feature_groups,
                model.score_ms
            )}
        </p>
        <table class="data-table compact" data-testid="top-features">
            <thead><tr>
                <th>"Top contributing feature"</th><th class="num">"Share of seed"</th>
                <th class="num">"Share of others"</th><th class="num">"Lift"</th><th>"Weight"</th>
            </tr></thead>
            <tbody>
                {model.top_features.into_iter().map(|f| {
                    let bar = (f.weight / 4.0).clamp(0.0, 1.0) * 100.0;
                    view! {
                        <tr>
                            <td><code>{f.feature}</code></td>
                            <td class="num">{percent(f.seed_share)}</td>
                            <td class="num">{percent(f.background_share)}</td>
                            <td class="num">{match f.weight.exp() {
                                lift if lift >= 100.0 => "> ×100".to_string(),
                                lift => format!("×{lift:.1}"),
                            }}</td>
                            <td><span class="weight-bar" style=format!("width: {bar:.0}px")></span>{format!(" {:+.2}", f.weight)}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// Size per run (line) with members entered (up) and exited (down) per run.
#[component]
fn RunChart(runs: Vec<RunView>) -> impl IntoView {
    let mut runs: Vec<RunView> = runs.into_iter().filter(|r| r.status == "succeeded").collect();
    runs.reverse();
    if runs.is_empty() {
        return view! { <p class="muted">"No successful run yet."</p> }.into_any();
    }
    let (width, height, pad) = (640.0_f64, 150.0_f64, 28.0_f64);
    let largest = runs.iter().filter_map(|r| r.size).max().unwrap_or(1).max(1);
    let max_size = largest as f64;
    let max_change = runs
        .iter()
        .map(|r| r.entered.unwrap_or(0).max(r.exited.unwrap_or(0)))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let step = if runs.len() > 1 {
        (width - 2.0 * pad) / (runs.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| {
        pad + step * i as f64
            + if runs.len() == 1 {
                (width - 2.0 * pad) / 2.0
            } else {
                0.0
            }
    };
    let y = |size: i64| pad + (height - 2.0 * pad) * (1.0 - size as f64 / max_size);
    let points = runs
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{:.1},{:.1}", x(i), y(r.size.unwrap_or(0))))
        .collect::<Vec<_>>()
        .join(" ");
    let baseline = height + 30.0;
    let bars = runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let up = 24.0 * r.entered.unwrap_or(0) as f64 / max_change;
            let down = 24.0 * r.exited.unwrap_or(0) as f64 / max_change;
            let label = format!(
                "{}: {} members, +{} / −{}",
                r.data_date.clone().unwrap_or_default(),
                r.size.unwrap_or(0),
                r.entered.unwrap_or(0),
                r.exited.unwrap_or(0)
            );
            view! {
                <g>
                    <title>{label}</title>
                    <circle cx=format!("{:.1}", x(i)) cy=format!("{:.1}", y(r.size.unwrap_or(0))) r="3" class="chart-point"/>
                    <rect x=format!("{:.1}", x(i) - 4.0) y=format!("{:.1}", baseline - up) width="8" height=format!("{up:.1}") class="chart-entered"/>
                    <rect x=format!("{:.1}", x(i) - 4.0) y=format!("{baseline:.1}") width="8" height=format!("{down:.1}") class="chart-exited"/>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="run-chart" viewBox=format!("0 0 {width} {}", height + 60.0) role="img" aria-label="Size and membership changes per run">
            <text x="4" y="14" class="chart-label">{format!("size (max {})", format_count(largest))}</text>
            <polyline points=points class="chart-line"/>
            <line x1=format!("{pad}") x2=format!("{}", width - pad) y1=format!("{baseline}") y2=format!("{baseline}") class="chart-axis"/>
            <text x="4" y=format!("{}", baseline - 8.0) class="chart-label entered">"entered"</text>
            <text x="4" y=format!("{}", baseline + 18.0) class="chart-label exited">"exited"</text>
            {bars}
        </svg>
    }
    .into_any()
}

#[component]
fn RunTable(runs: Vec<RunView>) -> impl IntoView {
    view! {
        <table class="data-table compact" data-testid="runs">
            <thead>
                <tr>
                    <th>"Run"</th><th>"Kind"</th><th>"Status"</th><th>"Data date"</th><th>"T"</th>
                    <th class="num">"Size"</th><th class="num">"Entered"</th><th class="num">"Exited"</th>
                    <th class="num">"Attempts"</th><th>"Queued"</th><th class="num">"Duration"</th><th>"Error"</th>
                </tr>
            </thead>
            <tbody>
                {runs.into_iter().map(|r| view! {
                    <tr>
                        <td class="num">{r.id}</td>
                        <td>{r.run_key.clone()}</td>
                        <td>{r.status.clone()}</td>
                        <td>{r.data_date.clone().unwrap_or_default()}</td>
                        <td>{r.as_of.clone().unwrap_or_default()}</td>
                        <td class="num">{r.size.map(format_count).unwrap_or_default()}</td>
                        <td class="num">{r.entered.map(|n| format!("+{n}")).unwrap_or_default()}</td>
                        <td class="num">{r.exited.map(|n| format!("−{n}")).unwrap_or_default()}</td>
                        <td class="num">{r.attempts}</td>
                        <td>{format_utc(r.queued_at)}</td>
                        <td class="num">{r.total_ms.map(|ms| format!("{ms} ms")).unwrap_or_default()}</td>
                        <td class="field-error small">{r.error.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
