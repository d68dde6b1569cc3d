//! Create Segment › Custom List: upload a CSV of IDs, read the validation
//! report, then create the segment from the matched IDs.

use leptos::prelude::*;

use crate::components::widgets::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::segments::components::basic_form::BasicForm;
use crate::segments::components::creation::{CreationHeader, IdUpload, create_action, group_choices, submit};
use crate::segments::*;

#[component]
pub fn CreateCustomListPage() -> impl IntoView {
    let form = BasicForm::new();
    let group_list = group_choices();
    form.suggest_expiry();
    let upload = IdUpload::new();
    let uploaded = upload.answer;
    let uploading = upload.uploading;
    let checked = RwSignal::new(None::<AppError>);
    // Another target object needs another file.
    Effect::new(move |_| {
        form.target_object.track();
        uploaded.set(None);
    });
    let on_file = upload.on_change(form.target_object, checked);
    let (create, error) = create_action(checked);
    let on_create = move |_| {
        let Some(upload) = uploaded.get_untracked() else {
            checked.set(Some(AppError::validation("file", "Upload a file of IDs first.")));
            return;
        };
        let definition = Definition::CustomList(CustomList {
            upload_id: upload.upload_id,
        });
        submit(form, checked, create, definition, Vec::new());
    };
    view! {
        <CreationHeader method="Custom List" form error groups=group_list one_time_only=true/>
        <section class="panel">
            <h2>"ID list"</h2>
            <p class="muted small">
                "A CSV file with the header " <code>"entity_id"</code> " and one ID of the target object per line. "
                <a href="/api/v1/uploads/template.csv" rel="external" download="">"Download File Template"</a>
            </p>
            <label class="field">
                <span>"File"</span>
                <input type="file" name="file" accept=".csv,text/csv" aria-label="ID file" on:change=on_file/>
                <FieldError error field="file"/>
            </label>
            <Show when=move || uploading.get()>
                <p class="muted">"Uploading and checking every line…"</p>
            </Show>
            {move || uploaded.get().map(|answer| view! { <Report answer/> })}
        </section>
        <ErrorBanner error=Signal::derive(move || error.get().filter(|e| {
            !matches!(e, AppError::InvalidFields(_)) && e.for_field("file").is_none()
        }))/>
        <div class="form-actions">
            <button class="btn btn-primary" data-testid="create"
                disabled=move || create.pending().get() || uploaded.with(|u| u.as_ref().is_none_or(|u| u.report.matched == 0))
                on:click=on_create>
                {move || uploaded.get().map(|u| format!("Create with {} IDs", format_count(u.report.matched))).unwrap_or_else(|| "Create".into())}
            </button>
            <a class="btn" href="/segments">"Cancel"</a>
        </div>
    }
}

#[component]
fn Report(answer: UploadAnswer) -> impl IntoView {
    let report = answer.report.clone();
    let facts = [
        ("Rows read", report.rows),
        ("Valid", report.valid),
        ("Duplicates removed", report.duplicates),
        ("Invalid rows", report.invalid_count),
        ("Unknown IDs", report.unknown),
        ("Matched", report.matched),
    ];
    let mut rejected: Vec<RejectedLine> = report
        .invalid
        .iter()
        .chain(&report.unknown_sample)
        .cloned()
        .collect();
    rejected.sort_by_key(|r| r.line);
    let more = rejected.len() > 50;
    rejected.truncate(50);
    view! {
        <div class="upload-report" data-testid="upload-report">
            <dl class="report-facts">
                {facts.into_iter().map(|(label, n)| view! {
                    <div data-fact=label><dt>{label}</dt><dd>{format_count(n)}</dd></div>
                }).collect_view()}
            </dl>
            {(!rejected.is_empty()).then(|| view! {
                <table class="data-table compact" tabindex="0" data-testid="rejected-lines">
                    <thead><tr><th class="num">"Line"</th><th>"ID"</th><th>"Problem"</th></tr></thead>
                    <tbody>
                        {rejected.into_iter().map(|r| view! {
                            <tr><td class="num">{r.line}</td><td><code>{r.entity_id.unwrap_or_default()}</code></td><td>{r.reason}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
                {more.then(|| view! { <p class="muted small">"The first 50 lines are shown; the report has up to 1,000 of each kind."</p> })}
            })}
            <a class="btn btn-small" href=format!("/api/v1/uploads/{}/report.csv", answer.upload_id) rel="external" download="">"Download report (CSV)"</a>
        </div>
    }
}

/// The upload the list came from, with its validation report.
pub fn definition_view(method: &CustomList) -> AnyView {
    let upload_id = method.upload_id;
    view! {
        <p data-testid="list-definition">
            {format!("The IDs of upload {upload_id} found in the population. ")}
            <a href=format!("/api/v1/uploads/{upload_id}/report.csv") rel="external">"Validation report (CSV)"</a>
        </p>
    }
    .into_any()
}
