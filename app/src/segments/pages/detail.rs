//! A segment's details: basic information, the definition as sentences and
//! SQL, status, the run history (chart and table) and what uses it.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::widgets::format_count;
use crate::components::widgets::{Loaded, format_utc, refresh_while};
use crate::segments::api::{get_segment, segment_used_by};
use crate::segments::components::actions::RowActions;
use crate::segments::components::status::StatusBadge;
use crate::segments::pages::insights::InsightsPanel;
use crate::segments::*;

#[component]
pub fn SegmentDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<SegmentId>().ok())
                .unwrap_or_default()
        })
    };
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(move || (id(), refresh.get()), |(id, _)| get_segment(id));
    let used = Resource::new(move || (id(), refresh.get()), |(id, _)| segment_used_by(id));
    // While its run is under way, look again: the page turns Active by itself.
    refresh_while(refresh, std::time::Duration::from_millis(1500), move || {
        detail
            .get_untracked()
            .and_then(Result::ok)
            .is_some_and(|d| d.row.status == SegmentStatus::Generating)
    });
    view! {
        <Title text="Segment details"/>
        <nav class="breadcrumb"><a href="/segments">"Segment Targeting"</a><span>" › "</span><span>"Details"</span></nav>
        <Loaded resource=detail error_heading="Segment details" let:detail>
            <Details detail used refresh/>
        </Loaded>
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
    let definition = crate::segments::methods::definition_view(&detail);
    let used_zone = row.time_zone.clone();
    view! {
        <div class="page-header">
            <h1>{format!("#{} {}", row.id, row.name)}</h1>
            <div class="header-actions">
                <a class="btn" href=format!("/segments/overlap?ids={}", row.id) data-testid="compare-overlap">"Compare overlap"</a>
                <RowActions row=row.clone() on_change=Callback::new(move |_| refresh.update(|n| *n += 1))/>
            </div>
        </div>
        <div class="detail-grid">
            <section class="panel">
                <h2>"Basic information"</h2>
                <dl class="facts" data-testid="facts">
                    <dt>"Status"</dt><dd><StatusBadge status=row.status phase=row.phase error=row.error.clone()/></dd>
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
                <Loaded resource=used let:used>
                    {if used.bindings.is_empty() && used.dependents.is_empty()
                        && used.other_tasks == 0 && used.other_segments == 0 {
                        view! { <p class="muted">"Nothing uses this segment: it can be deleted."</p> }.into_any()
                    } else {
                            let elsewhere = outside_scope(&used, &used_zone);
                            let named = !used.bindings.is_empty() || !used.dependents.is_empty();
                            view! {
                                {named.then(move || view! {
                                <table class="data-table compact" tabindex="0" data-testid="used-by">
                                    <thead><tr><th>"Kind"</th><th>"ID"</th><th>"Name"</th><th>"Until"</th></tr></thead>
                                    <tbody>
                                        {used.bindings.into_iter().map(|b| view! {
                                            <tr><td>"Delivery task"</td><td><code>{b.task_id}</code></td><td>{b.name}</td><td>{format_utc(b.ends_at)}</td></tr>
                                        }).collect_view()}
                                        {used.dependents.into_iter().map(|(id, name)| view! {
                                            <tr><td>"Segment"</td><td>{id.to_string()}</td><td><a href=format!("/segments/{id}")>{name}</a></td><td>"—"</td></tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                })}
                                {elsewhere.map(|text| view! { <p class="muted" data-testid="used-elsewhere">{text}</p> })}
                            }.into_any()
                    }}
                </Loaded>
            </section>
        </div>
        <section class="panel">
            <h2>"Definition"</h2>
            {definition}
        </section>
        {if row.status == SegmentStatus::Active {
            view! { <InsightsPanel id=row.id/> }.into_any()
        } else {
            view! {
                <section class="panel"><h2>"Insights"</h2>
                    <p class="muted">"Insights compare the members with everyone else once the segment is Active."</p>
                </section>
            }.into_any()
        }}
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

/// Size per run (line) with members entered (up) and exited (down) per run.
#[component]
fn RunChart(runs: Vec<RunView>) -> impl IntoView {
    let mut runs: Vec<RunView> = runs
        .into_iter()
        .filter(|r| r.status == RunStatus::Succeeded)
        .collect();
    runs.reverse();
    match runs.as_slice() {
        [] => return view! { <p class="muted">"No successful run yet."</p> }.into_any(),
        // A chart of one point says less than a sentence.
        [only] => {
            return view! {
                <p class="muted" data-testid="single-run">{format!(
                    "One successful run so far: {} members on the data of {}. The chart appears after the next run.",
                    format_count(only.size.unwrap_or(0)),
                    only.data_date.clone().unwrap_or_else(|| "—".into()),
                )}</p>
            }
            .into_any();
        }
        _ => {}
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
    let step = (width - 2.0 * pad) / (runs.len() - 1) as f64;
    let x = |i: usize| pad + step * i as f64;
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
                format_count(r.size.unwrap_or(0)),
                format_count(r.entered.unwrap_or(0)),
                format_count(r.exited.unwrap_or(0))
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
        <table class="data-table compact" tabindex="0" data-testid="runs">
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
                        <td class="num">{r.id.to_string()}</td>
                        <td>{r.run_key.clone()}</td>
                        <td>{r.status.label()}</td>
                        <td>{r.data_date.clone().unwrap_or_default()}</td>
                        <td>{r.as_of.clone().unwrap_or_default()}</td>
                        <td class="num">{r.size.map(format_count).unwrap_or_default()}</td>
                        <td class="num">{r.entered.map(|n| format!("+{}", format_count(n))).unwrap_or_default()}</td>
                        <td class="num">{r.exited.map(|n| format!("−{}", format_count(n))).unwrap_or_default()}</td>
                        <td class="num">{r.attempts}</td>
                        <td>{format_utc(r.queued_at)}</td>
                        <td class="num">{r.total_ms.map(|ms| format!("{} ms", format_count(ms))).unwrap_or_default()}</td>
                        <td class="field-error small">{r.error.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
