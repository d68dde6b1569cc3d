//! Segment Targeting: every segment the caller may see, searched, filtered,
//! sorted and paged on the server; generating rows update live. Filters,
//! sort and page live in the address: a view can be shared, and Back
//! returns to the previous one.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use segment_core::TargetObject;

use crate::components::layout::Breadcrumb;
use crate::components::widgets::{Loaded, format_count, format_utc, refresh_while};
use crate::groups::api::list_groups;
use crate::segments::api::list_segments;
use crate::segments::components::actions::RowActions;
use crate::segments::components::status::StatusBadge;
use crate::segments::*;

/// The list's query as the address holds it (`?q=…&status=active&sort=name&asc=1&page=2`).
fn query_from(url: &ParamsMap) -> ListQuery {
    let text = |key: &str| url.get(key).filter(|v| !v.is_empty());
    ListQuery {
        q: text("q"),
        group_id: text("group").and_then(|v| v.parse().ok()),
        status: text("status").and_then(|v| SegmentStatus::parse(&v)),
        method: text("method"),
        target_object: text("target").and_then(|v| TargetObject::parse(&v)),
        sort: text("sort").and_then(|v| SortKey::parse(&v)),
        asc: text("asc").map(|v| v == "1"),
        page: Some(text("page").and_then(|v| v.parse().ok()).unwrap_or(1).max(1)),
        page_size: Some(DEFAULT_PAGE_SIZE),
    }
}

/// The address of `query` (defaults left out).
fn address_of(query: &ListQuery) -> String {
    let mut url = ParamsMap::new();
    let mut put = |key: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            url.insert(key, value);
        }
    };
    put("q", query.q.clone());
    put("group", query.group_id.map(|g| g.to_string()));
    put("status", query.status.map(|s| s.as_str().to_string()));
    put("method", query.method.clone());
    put("target", query.target_object.map(|t| t.as_str().to_string()));
    put("sort", query.sort.map(|s| s.as_str().to_string()));
    put(
        "asc",
        query.asc.map(|asc| if asc { "1" } else { "0" }.to_string()),
    );
    put("page", query.page.filter(|p| *p > 1).map(|p| p.to_string()));
    format!("/segments{}", url.to_query_string())
}

#[component]
pub fn SegmentListPage() -> impl IntoView {
    let url_query = use_query_map();
    let created = move || url_query.with(|q| q.get("created").and_then(|id| id.parse::<SegmentId>().ok()));
    let query = Memo::new(move |_| url_query.with(query_from));
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

    // Every change is a new address; typing a search adds one entry for
    // its first key and replaces it for the next ones.
    let navigate = use_navigate();
    let go = move |change: &dyn Fn(&mut ListQuery), replace: bool| {
        let mut next = query.get_untracked();
        change(&mut next);
        navigate(
            &address_of(&next),
            NavigateOptions {
                replace,
                scroll: false,
                ..Default::default()
            },
        );
    };
    let go = StoredValue::new(go);
    let set = move |change: &dyn Fn(&mut ListQuery)| {
        go.with_value(|go| {
            go(
                &|q| {
                    change(q);
                    q.page = Some(1);
                },
                false,
            )
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
                <button type="button" class="sort-button" on:click=move |_| go.with_value(|go| go(&|q| {
                    if q.sort.unwrap_or_default() == key {
                        q.asc = Some(!q.asc.unwrap_or(false));
                    } else {
                        q.sort = Some(key);
                        q.asc = Some(matches!(key, SortKey::Name));
                    }
                }, false))>
                    {label}
                    {move || sorted().map(|asc| if asc { " ▲" } else { " ▼" })}
                </button>
            </th>
        }
    };

    view! {
        <Title text="Segment Targeting"/>
        <Breadcrumb section="Segment Management" page="Segment Targeting"/>
        <div class="page-header">
            <h1>"Segment Targeting"</h1>
            <div class="header-actions">
                <a class="btn" href="/segments/groups">"Manage Groups"</a>
                <a class="btn btn-primary" href="/segments/new" data-testid="create-segment">"+ Create Segment"</a>
            </div>
        </div>
        <div class="toolbar filters">
            <input type="search" class="search" placeholder="Search by name or ID" aria-label="Search segments"
                prop:value=move || query.with(|q| q.q.clone().unwrap_or_default())
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    let typing = query.with_untracked(|q| q.q.is_some());
                    go.with_value(|go| go(&|q| { q.q = Some(text.clone()); q.page = Some(1); }, typing));
                }/>
            <select aria-label="Group" on:change=move |ev| { let v = event_target_value(&ev).parse().ok(); set(&|q| q.group_id = v); }>
                <option value="">"All groups"</option>
                {move || groups.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|g| view! {
                    <option value=g.id.to_string() selected=move || query.with(|q| q.group_id == Some(g.id))>{g.name}</option>
                }).collect_view()}
            </select>
            <select aria-label="Status" on:change=move |ev| { let v = SegmentStatus::parse(&event_target_value(&ev)); set(&|q| q.status = v); }>
                <option value="">"All statuses"</option>
                {SegmentStatus::ALL.into_iter().map(|s| view! {
                    <option value=s.as_str() selected=move || query.with(|q| q.status == Some(s))>{s.label()}</option>
                }).collect_view()}
            </select>
            <select aria-label="Creation method" on:change=move |ev| { let v = event_target_value(&ev); set(&|q| q.method = (!v.is_empty()).then(|| v.clone())); }>
                <option value="">"All methods"</option>
                {CreationMethod::ALL.into_iter().map(|m| view! {
                    <option value=m.as_str() selected=move || query.with(|q| q.method.as_deref() == Some(m.as_str()))>{m.label()}</option>
                }).collect_view()}
            </select>
            <select aria-label="Target object" on:change=move |ev| { let v = TargetObject::parse(&event_target_value(&ev)); set(&|q| q.target_object = v); }>
                <option value="">"All target objects"</option>
                {TargetObject::ALL.into_iter().map(|t| view! {
                    <option value=t.as_str() selected=move || query.with(|q| q.target_object == Some(t))>{t.label()}</option>
                }).collect_view()}
            </select>
        </div>
        <Loaded resource=segments let:page>
            {
                    let pages = ((page.total + i64::from(page.page_size) - 1) / i64::from(page.page_size)).max(1);
                    let current = i64::from(page.page);
                    view! {
                        <table class="data-table" tabindex="0" data-testid="segments-table">
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
                            <span class="muted">{format!("{} segment{} · page {current} of {pages}", format_count(page.total), if page.total == 1 { "" } else { "s" })}</span>
                            <button class="btn btn-small" disabled={current <= 1} data-testid="page-prev"
                                on:click=move |_| go.with_value(|go| go(&|q| q.page = Some(q.page.unwrap_or(1).saturating_sub(1).max(1)), false))>"‹ Prev"</button>
                            <button class="btn btn-small" disabled={current >= pages} data-testid="page-next"
                                on:click=move |_| go.with_value(|go| go(&|q| q.page = Some(q.page.unwrap_or(1) + 1), false))>"Next ›"</button>
                        </div>
                    }
            }
        </Loaded>
    }
}

#[cfg(test)]
mod tests {
    use leptos_router::location::Url;

    use super::*;

    #[test]
    fn the_address_holds_every_choice_and_reads_back_the_same() {
        let query = ListQuery {
            q: Some("gold & silver".into()),
            group_id: "4".parse().ok(),
            status: Some(SegmentStatus::Active),
            method: Some("tag_filter".into()),
            target_object: Some(TargetObject::Store),
            sort: Some(SortKey::Name),
            asc: Some(true),
            page: Some(3),
            page_size: Some(DEFAULT_PAGE_SIZE),
        };
        let address = address_of(&query);
        assert!(address.starts_with("/segments?"), "{address}");
        let search = address.trim_start_matches("/segments?");
        let url: ParamsMap = search
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (Url::unescape(k), Url::unescape(v)))
            .collect();
        assert_eq!(query_from(&url), query);
        // The defaults are left out.
        assert_eq!(address_of(&query_from(&ParamsMap::new())), "/segments");
    }
}
