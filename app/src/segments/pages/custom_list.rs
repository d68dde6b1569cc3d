//! Create Segment › Custom List: upload a CSV of IDs, read the validation
//! report, then create the segment from the matched IDs.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::create::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::groups::api::list_groups;
use crate::segments::api::create_segment;
use crate::segments::components::basic_form::{BasicFields, BasicForm};
use crate::segments::*;

/// Sends the chosen file as the body of `POST /api/v1/uploads`, streamed by the browser.
#[cfg(feature = "hydrate")]
pub(super) async fn send_file(
    file: web_sys::File,
    target: segment_core::TargetObject,
) -> Result<UploadAnswer, AppError> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = |what: &str| AppError::Transport(what.to_string());
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&file);
    let headers = web_sys::Headers::new().map_err(|_| failed("headers"))?;
    headers
        .set("Content-Type", "text/csv")
        .map_err(|_| failed("headers"))?;
    init.set_headers(&headers);
    let url = format!("/api/v1/uploads?target_object={}", target.as_str());
    let response = JsFuture::from(window().fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|_| failed("the upload did not reach the server"))?
        .dyn_into::<web_sys::Response>()
        .map_err(|_| failed("no response"))?;
    let text = JsFuture::from(response.text().map_err(|_| failed("unreadable answer"))?)
        .await
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    if response.ok() {
        return serde_json::from_str(&text).map_err(|e| failed(&e.to_string()));
    }
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    Err(AppError::Validation {
        field: Some("file".into()),
        message: body["error"]["message"]
            .as_str()
            .unwrap_or("The upload failed.")
            .to_string(),
    })
}

#[component]
pub fn CreateCustomListPage() -> impl IntoView {
    let form = BasicForm::new();
    let navigate = use_navigate();
    let groups = LocalResource::new(list_groups);
    let group_list = Signal::derive(move || groups.get().and_then(Result::ok).unwrap_or_default());
    form.suggest_expiry();
    let uploaded = RwSignal::new(None::<UploadAnswer>);
    let uploading = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    // Another target object needs another file.
    Effect::new(move |_| {
        form.target_object.track();
        uploaded.set(None);
    });
    let on_file = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        #[cfg(feature = "hydrate")]
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            uploading.set(true);
            error.set(None);
            uploaded.set(None);
            let target = form.target_object.get_untracked();
            leptos::task::spawn_local(async move {
                match send_file(file, target).await {
                    Ok(answer) => uploaded.set(Some(answer)),
                    Err(e) => error.set(Some(e)),
                }
                uploading.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = input;
    };
    let create = Action::new(|request: &CreateSegmentRequest| create_segment(request.clone()));
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => navigate(&format!("/segments?created={}", created.id), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |_| {
        let Some(upload) = uploaded.get_untracked() else {
            error.set(Some(AppError::validation("file", "Upload a file of IDs first.")));
            return;
        };
        let basic = form.basic();
        let name = form.name.get_untracked();
        if let Err(fields) = validate_basic(&name, &basic, chrono::Utc::now().timestamp_millis(), "") {
            error.set(Some(AppError::InvalidFields(fields)));
            return;
        }
        error.set(None);
        create.dispatch(CreateSegmentRequest {
            name,
            basic,
            definition: Definition::CustomList {
                upload_id: upload.upload_id,
            },
        });
    };
    view! {
        <Title text="Create Segment · Custom List"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a><span>" › "</span>
            <a href="/segments/new">"Create Segment"</a><span>" › "</span><span>"Custom List"</span>
        </nav>
        <div class="page-header"><h1>"Create Segment: Custom List"</h1></div>
        <section class="panel">
            <h2>"Basic Information"</h2>
            <BasicFields form error groups=group_list prefix="" one_time_only=true/>
        </section>
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
                on:click=submit>
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
                <table class="data-table compact" data-testid="rejected-lines">
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
