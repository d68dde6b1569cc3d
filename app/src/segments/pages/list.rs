//! Segment Targeting: every segment the caller may see, searched, filtered,
//! sorted and paged on the server; generating rows update live.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use segment_core::TargetObject;

use crate::components::widgets::{ErrorBanner, format_count, format_utc, refresh_while};
use crate::groups::api::list_groups;
use crate::segments::api::list_segments;
use crate::segments::components::actions::RowActions;
use crate::segments::components::status::StatusBadge;
use crate::segments::*;

#[component]
pub fn SegmentListPage() -> impl IntoView {
    let url_query = use_query_map();
    let created = move || url_query.with(|q| q.get("created").and_then(|id| id.parse::<SegmentId>().ok()));
    let query = RwSignal::new(ListQuery {
        page: Some(1),
        page_size: Some(DEFAULT_PAGE_SIZE),
        ..Default::default()
    });
    let refresh = RwSignal::new(0u32);
    let segments = Resource::new(move || (query.get(), refresh.get()), |(q, _)| list_segments(q));
    let groups = LocalResource::new(list_groups);

    // While anything is generating, look again.
    refresh_while(refresh, Duration::from_millis(1500), move || {
        segments
            .get_untracked()
            .and_then(Result::ok)
            .is_some_and(|page| page.rows.iter().any(|r| r.status == SegmentStatus::Generating))
    });

    let set = move |change: &dyn Fn(&mut ListQuery)| {
        query.update(|q| {
            change(q);
            q.page = Some(1);
        })
    };
    let sort_header = move |key: SortKey, label: &'static str, numeric: bool| {
        let class = if numeric { "sortable num" } else { "sortable" };
        let sorted =
            move || query.with(|q| (q.sort.unwrap_or_default() == key).then(|| q.asc.unwrap_or(false)));
        view! {
            <th class=class aria-sort=move || match sorted() {
                Some(true) => "ascending",
                Some(false) => "descending",
                None => "none",
            }>
                <button type="button" class="sort-button" on:click=move |_| query.update(|q| {
                    if q.sort.unwrap_or_default() == key {
                        q.asc = Some(!q.asc.unwrap_or(false));
                    } else {
                        q.sort = Some(key);
                        q.asc = Some(matches!(key, SortKey::Name));
                    }
                })>
                    {label}
                    {move || sorted().map(|asc| if asc { " ▲" } else { " ▼" })}
                </button>
            </th>
        }
    };

    view! {
        <Title text="Segment Targeting"/>
        <nav class="breadcrumb">"Segments › Segment Management › Segment Targeting"</nav>
        <div class="page-header">
            <h1>"Segment Targeting"</h1>
            <div class="header-actions">
                <a class="btn" href="/segments/groups">"Manage Groups"</a>
                <a class="btn btn-primary" href="/segments/new" data-testid="create-segment">"+ Create Segment"</a>
            </div>
        </div>
        <div class="toolbar filters">
            <input type="search" class="search" placeholder="Search by name or ID" aria-label="Search segments"
                on:input=move |ev| { let text = event_target_value(&ev); set(&|q| q.q = Some(text.clone())); }/>
            <select aria-label="Group" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); set(&|q| q.group_id = v); }>
                <option value="">"All groups"</option>
                {move || groups.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|g| view! {
                    <option value=g.id.to_string()>{g.name}</option>
                }).collect_view()}
            </select>
            <select aria-label="Status" on:change=move |ev| { let v = SegmentStatus::parse(&event_target_value(&ev)); set(&|q| q.status = v); }>
                <option value="">"All statuses"</option>
                {SegmentStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
            </select>
            <select aria-label="Creation method" on:change=move |ev| { let v = event_target_value(&ev); set(&|q| q.method = (!v.is_empty()).then(|| v.clone())); }>
                <option value="">"All methods"</option>
                {CreationMethod::ALL.into_iter().map(|m| view! { <option value=m.as_str()>{m.label()}</option> }).collect_view()}
            </select>
            <select aria-label="Target object" on:change=move |ev| { let v = TargetObject::parse(&event_target_value(&ev)); set(&|q| q.target_object = v); }>
                <option value="">"All target objects"</option>
                {TargetObject::ALL.into_iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
            </select>
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || segments.get().map(|result| match result {
                Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                Ok(page) => {
                    let pages = ((page.total + i64::from(page.page_size) - 1) / i64::from(page.page_size)).max(1);
                    let current = i64::from(page.page);
                    view! {
                        <table class="data-table" data-testid="segments-table">
                            <thead>
                                <tr>
                                    {sort_header(SortKey::Id, "ID", true)}
                                    {sort_header(SortKey::Name, "Name", false)}
                                    <th>"Creation method"</th>
                                    <th>"Target object"</th>
                                    <th>"Group"</th>
                                    <th>"Status"</th>
                                    {sort_header(SortKey::Size, "Size", true)}
                                    <th>"Update frequency"</th>
                                    {sort_header(SortKey::ExpiresAt, "Expires at", false)}
                                    {sort_header(SortKey::UpdatedAt, "Updated", false)}
                                    <th>"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {if page.rows.is_empty() {
                                    view! { <tr><td colspan="11" class="empty">"No segments match. Create one with + Create Segment."</td></tr> }.into_any()
                                } else {
                                    page.rows.into_iter().map(|row| {
                                        let highlight = created() == Some(row.id);
                                        let frequency = match (row.update_frequency, &row.daily_run_time) {
                                            (UpdateFrequency::Daily, Some(time)) => format!("Daily {time}"),
                                            (frequency, _) => frequency.label().to_string(),
                                        };
                                        view! {
                                            <tr class:highlight=highlight data-segment=row.name.clone() data-id=row.id.to_string()>
                                                <td class="num">{row.id.to_string()}</td>
                                                <td class="name"><a href=format!("/segments/{}", row.id)>{row.name.clone()}</a></td>
                                                <td>{row.method.label()}</td>
                                                <td>{row.target_object.label()}</td>
                                                <td>{row.group_name.clone().unwrap_or_else(|| "—".into())}</td>
                                                <td class="status-cell"><StatusBadge status=row.status phase=row.phase error=row.error.clone()/></td>
                                                <td class="num size">{row.size.map(format_count).unwrap_or_else(|| "—".into())}</td>
                                                <td>{frequency}</td>
                                                <td title=row.time_zone.clone()>{row.expires_local()}<span class="muted small">{format!(" {}", row.time_zone)}</span></td>
                                                <td>{format_utc(row.updated_at)}</td>
                                                <td class="actions">
                                                    <RowActions row=row.clone() on_change=Callback::new(move |_| refresh.update(|n| *n += 1))/>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view().into_any()
                                }}
                            </tbody>
                        </table>
                        <div class="pager">
                            <span class="muted">{format!("{} segment{} · page {current} of {pages}", page.total, if page.total == 1 { "" } else { "s" })}</span>
                            <button class="btn btn-small" disabled={current <= 1}
                                on:click=move |_| query.update(|q| q.page = Some(q.page.unwrap_or(1).saturating_sub(1).max(1)))>"‹ Prev"</button>
                            <button class="btn btn-small" disabled={current >= pages}
                                on:click=move |_| query.update(|q| q.page = Some(q.page.unwrap_or(1) + 1))>"Next ›"</button>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
