//! Export Records and Deleted Records.

use std::time::Duration;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::Breadcrumb;
use crate::components::widgets::{Loaded, format_count, format_utc, refresh_while};
use crate::segments::ExportStatus;
use crate::segments::api::{deleted_segments, list_exports};

fn human_bytes(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

#[component]
pub fn ExportRecordsPage() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let exports = Resource::new(move || refresh.get(), |_| list_exports());
    // Refresh while an export is still counting.
    refresh_while(refresh, Duration::from_millis(1000), move || {
        exports.get_untracked().and_then(Result::ok).is_some_and(|list| {
            list.iter()
                .any(|e| matches!(e.status, ExportStatus::Queued | ExportStatus::Running))
        })
    });
    view! {
        <Title text="Export Records"/>
        <Breadcrumb section="Segment Management" page="Export Records"/>
        <div class="page-header"><h1>"Export Records"</h1></div>
        <Loaded resource=exports let:list>
                    <table class="data-table" tabindex="0" data-testid="exports-table">
                        <thead><tr>
                            <th class="num">"ID"</th><th>"Segment"</th><th>"Status"</th><th class="num">"Rows"</th>
                            <th class="num">"File size"</th><th>"Requested by"</th><th>"Requested at"</th><th><span class="visually-hidden">"Download"</span></th>
                        </tr></thead>
                        <tbody>
                            {if list.is_empty() {
                                view! { <tr><td colspan="8" class="empty">"No exports yet: use Export in the segment list."</td></tr> }.into_any()
                            } else {
                                list.into_iter().map(|e| {
                                    let percent = if e.rows_total > 0 { 100 * e.rows_done / e.rows_total } else { 100 };
                                    let done = e.status == ExportStatus::Done;
                                    view! {
                                        <tr data-export=e.id.to_string() data-segment=e.segment_name.clone()>
                                            <td class="num">{e.id.to_string()}</td>
                                            <td><a href=format!("/segments/{}", e.segment_id)>{format!("#{} {}", e.segment_id, e.segment_name)}</a></td>
                                            <td class="status-cell">
                                                <span class=format!("status status-export-{}", e.status.as_str()) data-status=e.status.as_str()>{e.status.label()}</span>
                                                {(!done && e.status != ExportStatus::Failed).then(|| view! {
                                                    <span class="progress"><span class="progress-bar" style=format!("width: {percent}%")></span></span>
                                                })}
                                                {e.error.clone().map(|err| view! { <span class="field-error small">{err}</span> })}
                                            </td>
                                            <td class="num">{format_count(e.rows_total)}</td>
                                            <td class="num">{e.bytes.map(human_bytes).unwrap_or_else(|| "—".into())}</td>
                                            <td>{e.requested_by.clone()}</td>
                                            <td>{format_utc(e.requested_at)}</td>
                                            <td class="actions">{done.then(|| view! {
                                                <a class="btn btn-small" href=format!("/api/v1/exports/{}/download", e.id) download="" rel="external">"Download CSV"</a>
                                                " "
                                                <a class="btn btn-small" href=format!("/api/v1/exports/{}/download?format=csv.gz", e.id) download="" rel="external"
                                                    title="The same file, gzip-compressed">"CSV.gz"</a>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view().into_any()
                            }}
                        </tbody>
                    </table>
        </Loaded>
    }
}

#[component]
pub fn DeletedRecordsPage() -> impl IntoView {
    let deleted = Resource::new(|| (), |_| deleted_segments());
    view! {
        <Title text="Deleted Records"/>
        <Breadcrumb section="Segment Management" page="Deleted Records"/>
        <div class="page-header"><h1>"Deleted Records"</h1></div>
        <Loaded resource=deleted let:list>
                    <table class="data-table" tabindex="0" data-testid="deleted-table">
                        <thead><tr>
                            <th class="num">"ID"</th><th>"Name"</th><th>"Creation method"</th><th>"Target object"</th>
                            <th class="num">"Size"</th><th>"Deleted by"</th><th>"Deleted at"</th>
                        </tr></thead>
                        <tbody>
                            {if list.is_empty() {
                                view! { <tr><td colspan="7" class="empty">"No deleted segments."</td></tr> }.into_any()
                            } else {
                                list.into_iter().map(|d| view! {
                                    <tr data-segment=d.name.clone()>
                                        <td class="num">{d.id.to_string()}</td>
                                        <td>{d.name.clone()}</td>
                                        <td>{d.method.label()}</td>
                                        <td>{d.target_object.clone()}</td>
                                        <td class="num">{d.size.map(format_count).unwrap_or_else(|| "—".into())}</td>
                                        <td>{d.deleted_by.clone()}</td>
                                        <td>{format_utc(d.deleted_at)}</td>
                                    </tr>
                                }).collect_view().into_any()
                            }}
                        </tbody>
                    </table>
        </Loaded>
    }
}
