//! Segment Verification: is an entity in a segment, and why.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::components::layout::Breadcrumb;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::segments::api::{list_segments, verify_segment};
use crate::segments::*;

/// IDs split on new lines, commas, semicolons and blanks.
fn parse_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(String::from)
        .collect()
}

#[component]
pub fn VerifyPage() -> impl IntoView {
    let query = use_query_map();
    let segments = LocalResource::new(|| {
        list_segments(ListQuery {
            sort: Some(SortKey::Name),
            asc: Some(true),
            page_size: Some(MAX_PAGE_SIZE),
            ..Default::default()
        })
    });
    let chosen = RwSignal::new(None::<SegmentId>);
    Effect::new(move |_| {
        if chosen.get_untracked().is_none() {
            chosen.set(query.with(|q| q.get("segment").and_then(|s| s.parse().ok())));
        }
    });
    let ids = RwSignal::new(String::new());
    let verify = Action::new(|(id, ids): &(SegmentId, Vec<String>)| verify_segment(*id, ids.clone()));
    let error = RwSignal::new(None::<AppError>);
    let submit = move || {
        let Some(id) = chosen.get_untracked() else {
            error.set(Some(AppError::validation("segment", "Choose a segment.")));
            return;
        };
        error.set(None);
        verify.dispatch((id, parse_ids(&ids.get_untracked())));
    };
    Effect::new(move |_| {
        if let Some(Err(e)) = verify.value().get() {
            error.set(Some(e));
        }
    });
    view! {
        <Title text="Segment Verification"/>
        <Breadcrumb section="Segment Management" page="Segment Verification"/>
        <div class="page-header"><h1>"Segment Verification"</h1></div>
        <section class="panel">
            <div class="form-grid verify-form">
                <label class="field">
                    <span>"Segment"</span>
                    <select name="segment" aria-label="Segment" on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                        <option value="">"Choose a segment…"</option>
                        {move || segments.get().and_then(Result::ok).map(|page| page.rows.into_iter().map(|row| {
                            let selected = chosen.get_untracked() == Some(row.id);
                            view! { <option value=row.id.to_string() selected=selected>{format!("#{} {} ({})", row.id, row.name, row.status.label())}</option> }
                        }).collect_view())}
                    </select>
                    <FieldError error field="segment"/>
                </label>
                <label class="field field-wide">
                    <span>{format!("IDs: one, or paste up to {MAX_VERIFY_IDS} (one per line, or separated by commas)")}</span>
                    <textarea name="ids" rows="4" aria-label="IDs" prop:value=move || ids.get()
                        on:input=move |ev| ids.set(event_target_value(&ev))></textarea>
                    <FieldError error field="ids"/>
                </label>
            </div>
            <button class="btn btn-primary" disabled=move || verify.pending().get() on:click=move |_| submit()>"Verify"</button>
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e| e.for_field("ids").is_none() && e.for_field("segment").is_none()))/>
        </section>
        {move || verify.value().get().and_then(Result::ok).map(|answer| view! { <Results answer/> })}
    }
}

#[component]
fn Results(answer: VerifyAnswer) -> impl IntoView {
    let counts = |v: Verdict| answer.rows.iter().filter(|r| r.verdict == v).count();
    let summary = format!(
        "{} included, {} excluded, {} not found · snapshot data date {} · T = {}",
        counts(Verdict::Included),
        counts(Verdict::Excluded),
        counts(Verdict::Unknown),
        answer.data_date.clone().unwrap_or_else(|| "n/a".into()),
        answer.as_of.clone().unwrap_or_else(|| "n/a".into()),
    );
    view! {
        <section class="panel">
            <p class="muted">{summary}</p>
            <table class="data-table" tabindex="0" data-testid="verify-results">
                <thead><tr><th>"ID"</th><th>"Result"</th><th>"Why"</th></tr></thead>
                <tbody>
                    {answer.rows.into_iter().map(|row| {
                        let (class, label) = match row.verdict {
                            Verdict::Included => ("status status-active", "Included"),
                            Verdict::Excluded => ("status status-failed", "Excluded"),
                            Verdict::Unknown => ("status status-expired", "Not found"),
                        };
                        let why = if row.verdict == Verdict::Unknown {
                            view! { <span class="muted">"No such ID among the entities you can target."</span> }.into_any()
                        } else if row.groups.is_empty() {
                            view! { <span class="muted">"Membership of the segment's snapshot."</span> }.into_any()
                        } else {
                            view! {
                                {row.outside_audience.then(|| view! { <div class="field-error">"Outside the owner's audience: excluded whatever the rule says."</div> })}
                                {row.groups.into_iter().enumerate().map(|(g, group)| view! {
                                    <div class="explain-group" data-matched=group.matched.to_string()>
                                        <strong>{format!("Rule group {} {}", g + 1, if group.matched { "matched" } else { "did not match" })}</strong>
                                        <ul>
                                            {group.conditions.into_iter().map(|c| view! {
                                                <li class=if c.passed { "pass" } else { "fail" }>
                                                    <span class="mark">{if c.passed { "✓" } else { "✗" }}</span>
                                                    {c.condition}
                                                    <span class="muted">{format!(" — actual: {}", c.actual)}</span>
                                                </li>
                                            }).collect_view()}
                                        </ul>
                                    </div>
                                }).collect_view()}
                            }.into_any()
                        };
                        view! {
                            <tr data-entity=row.entity_id.clone()>
                                <td><code>{row.entity_id.clone()}</code></td>
                                <td><span class=class data-verdict=label>{label}</span></td>
                                <td>{why}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_split_on_lines_commas_and_blanks() {
        assert_eq!(
            super::parse_ids("U1\nU2, U3;U4  U5\n\n"),
            ["U1", "U2", "U3", "U4", "U5"]
        );
    }
}
