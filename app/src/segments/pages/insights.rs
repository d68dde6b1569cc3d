//! The details page's insights: how the segment spreads over tag values
//! beside the population (or the owner's audience), as bars with the lift.

use std::time::Duration;

use leptos::prelude::*;

use crate::components::charts::{ShareBars, ShareRow};
use crate::components::widgets::{Loaded, format_count};
use crate::error::AppError;
use crate::segments::api::segment_insights;
use crate::segments::*;

/// Values shown per tag; the rest are summed as "other values".
const SHOWN_VALUES: usize = 10;
/// When the user's own evaluations fill their queue for a moment (the
/// page's and the estimates just made), insights are asked again after
/// this, up to `QUEUE_RETRIES` times, instead of showing the refusal.
const QUEUE_RETRY: Duration = Duration::from_secs(1);
const QUEUE_RETRIES: u32 = 10;

#[component]
pub fn InsightsPanel(id: SegmentId) -> impl IntoView {
    // The tags the user picked; none means the most distinctive few.
    let picked = RwSignal::new(Vec::<String>::new());
    let attempt = RwSignal::new(0u32);
    let insights = Resource::new(
        move || (picked.get(), attempt.get()),
        move |(tags, _)| segment_insights(id, tags),
    );
    Effect::new(move |_| {
        if let Some(Err(AppError::RateLimited(_))) = insights.get()
            && attempt.get_untracked() < QUEUE_RETRIES
        {
            set_timeout(move || attempt.update(|n| *n += 1), QUEUE_RETRY);
        }
    });
    let choice = RwSignal::new(String::new());
    let add = move |_| {
        let code = choice.get_untracked();
        if !code.is_empty() && !picked.get_untracked().contains(&code) {
            picked.update(|tags| tags.push(code));
        }
    };
    view! {
        <section class="panel" data-testid="insights">
            <div class="panel-header">
                <h2>"Insights"</h2>
                <Transition fallback=|| ()>
                    {move || insights.get().and_then(Result::ok).map(|found| view! {
                        <div class="inline-form">
                            <label class="field inline">
                                <span>"Describe a tag"</span>
                                <select aria-label="Tag to describe" data-testid="insight-tag"
                                    on:change=move |ev| choice.set(event_target_value(&ev))>
                                    <option value="">"Choose a tag…"</option>
                                    {found.tags.iter().map(|tag| view! {
                                        <option value=tag.code.clone()>{tag.name.clone()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                            <button type="button" class="btn" data-testid="insight-add" on:click=add>"Add"</button>
                            {move || (!picked.get().is_empty()).then(|| view! {
                                <button type="button" class="btn btn-link" on:click=move |_| picked.set(Vec::new())>
                                    "Back to the most distinctive"
                                </button>
                            })}
                        </div>
                    })}
                </Transition>
            </div>
            <Loaded resource=insights let:found>
                <Described found picked/>
            </Loaded>
        </section>
    }
}

#[component]
fn Described(found: Insights, picked: RwSignal<Vec<String>>) -> impl IntoView {
    let base = match found.base {
        InsightBase::Population => format!("all {}", found.target_object.label().to_lowercase()),
        InsightBase::Audience => "your audience".to_string(),
    };
    let summary = format!(
        "{} members compared with {base} ({}), computed by the engine in {:.1} ms. {}",
        format_count(found.segment_size),
        format_count(found.base_size),
        found.engine_micros as f64 / 1000.0,
        if picked.get_untracked().is_empty() {
            "Shown: the tags where the segment differs most from its base."
        } else {
            "Shown: the tags you added."
        }
    );
    let base_name = capitalize(&base);
    view! {
        <p class="muted" data-testid="insights-summary">{summary}</p>
        {found.distributions.is_empty().then(|| view! { <p class="muted">"No tag of this target object has data yet."</p> })}
        <div class="insight-grid">
            {found.distributions.into_iter().map(|distribution| {
                let code = distribution.tag.clone();
                let removable = picked.get_untracked().contains(&code);
                let rows = share_rows(&distribution);
                let tag_attr = code.clone();
                let shown = format!("{} · data of {}", code, distribution.data_date);
                view! {
                    <article class="insight" data-testid="insight" data-tag=tag_attr>
                        <header class="insight-header">
                            <h3>{distribution.tag_name.clone()}</h3>
                            <span class="muted small">{shown}</span>
                            {removable.then(|| view! {
                                <button type="button" class="btn btn-link small" aria-label=format!("Remove {}", distribution.tag_name)
                                    on:click=move |_| picked.update(|tags| tags.retain(|t| *t != code))>"Remove"</button>
                            })}
                        </header>
                        <ShareBars rows first="This segment".to_string() second=base_name.clone() value_header="Value".to_string()/>
                    </article>
                }
            }).collect_view()}
        </div>
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The buckets as chart rows; past [`SHOWN_VALUES`], the values most
/// common in the segment and one row for the rest.
fn share_rows(distribution: &Distribution) -> Vec<ShareRow> {
    let row = |label: String, in_segment: u64, in_base: u64| {
        let bucket = BucketCount {
            value: label.clone(),
            in_segment,
            in_base,
        };
        ShareRow {
            detail: format!(
                "{label}: {} of {} members, {} of {} in the base",
                format_count(in_segment),
                format_count(distribution.segment_size),
                format_count(in_base),
                format_count(distribution.base_size)
            ),
            first: distribution.segment_share(&bucket),
            second: distribution.base_share(&bucket),
            lift: distribution.lift(&bucket),
            label,
        }
    };
    let mut buckets = distribution.buckets.clone();
    if buckets.len() <= SHOWN_VALUES {
        return buckets
            .into_iter()
            .map(|b| row(b.value, b.in_segment, b.in_base))
            .collect();
    }
    buckets.sort_by(|a, b| b.in_segment.cmp(&a.in_segment).then(b.in_base.cmp(&a.in_base)));
    let rest = buckets.split_off(SHOWN_VALUES - 1);
    let mut rows: Vec<ShareRow> = buckets
        .into_iter()
        .map(|b| row(b.value, b.in_segment, b.in_base))
        .collect();
    rows.push(row(
        format!("{} other values", rest.len()),
        rest.iter().map(|b| b.in_segment).sum(),
        rest.iter().map(|b| b.in_base).sum(),
    ));
    rows
}
