//! Create Segment › Segment Sets: two Active segments of one target object
//! combined by intersection, union or difference.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use super::create::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::groups::api::list_groups;
use crate::segments::api::{create_segment, list_segments};
use crate::segments::components::basic_form::{BasicFields, BasicForm};
use crate::segments::*;

#[component]
pub fn CreateSegmentSetPage() -> impl IntoView {
    let form = BasicForm::new();
    let navigate = use_navigate();
    let groups = LocalResource::new(list_groups);
    let group_list = Signal::derive(move || groups.get().and_then(Result::ok).unwrap_or_default());
    // Only Active segments of the chosen target object are offered.
    let active = LocalResource::new(move || {
        list_segments(ListQuery {
            status: Some(SegmentStatus::Active),
            target_object: Some(form.target_object.get()),
            sort: Some(SortKey::Name),
            asc: Some(true),
            page_size: Some(MAX_PAGE_SIZE),
            ..Default::default()
        })
    });
    let choices = Signal::derive(move || {
        active
            .get()
            .and_then(Result::ok)
            .map(|p| p.rows)
            .unwrap_or_default()
    });
    let left = RwSignal::new(None::<i64>);
    let right = RwSignal::new(None::<i64>);
    let operation = RwSignal::new(SetOperation::Intersection);
    form.suggest_expiry();
    let error = RwSignal::new(None::<AppError>);
    let create = Action::new(|request: &CreateSegmentRequest| create_segment(request.clone()));
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => navigate(&format!("/segments?created={}", created.id), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |_| {
        let basic = form.basic();
        let name = form.name.get_untracked();
        let now = chrono::Utc::now().timestamp_millis();
        let mut fields = validate_basic(&name, &basic, now, "").err().unwrap_or_default();
        let missing = |field: &str| crate::error::FieldError {
            field: field.into(),
            message: "Choose an Active segment.".into(),
        };
        if left.get_untracked().is_none() {
            fields.push(missing("definition.left"));
        }
        if right.get_untracked().is_none() {
            fields.push(missing("definition.right"));
        }
        if !fields.is_empty() {
            error.set(Some(AppError::InvalidFields(fields)));
            return;
        }
        error.set(None);
        create.dispatch(CreateSegmentRequest {
            name,
            basic,
            definition: Definition::SegmentSet {
                left: left.get_untracked().unwrap_or_default(),
                right: right.get_untracked().unwrap_or_default(),
                operation: operation.get_untracked(),
            },
        });
    };
    let picker = move |label: &'static str, field: &'static str, chosen: RwSignal<Option<i64>>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <select name=field aria-label=label on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                    <option value="">"Choose an Active segment…"</option>
                    {move || choices.get().into_iter().map(|row| view! {
                        <option value=row.id.to_string() selected=chosen.get_untracked() == Some(row.id)>
                            {format!("#{} {} ({} members)", row.id, row.name, format_count(row.size.unwrap_or(0) as u64))}
                        </option>
                    }).collect_view()}
                </select>
                <FieldError error field=field/>
            </label>
        }
    };
    view! {
        <Title text="Create Segment · Segment Sets"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a><span>" › "</span>
            <a href="/segments/new">"Create Segment"</a><span>" › "</span><span>"Segment Sets"</span>
        </nav>
        <div class="page-header"><h1>"Create Segment: Segment Sets"</h1></div>
        <section class="panel">
            <h2>"Basic Information"</h2>
            <BasicFields form error groups=group_list prefix=""/>
        </section>
        <section class="panel">
            <h2>"Segments"</h2>
            <div class="form-grid">
                {picker("Segment A", "definition.left", left)}
                {picker("Segment B", "definition.right", right)}
            </div>
            <div class="radio-row" role="radiogroup" aria-label="Set operation">
                {SetOperation::ALL.into_iter().map(|op| view! {
                    <label>
                        <input type="radio" name="operation" value=op.as_str()
                            prop:checked=move || operation.get() == op
                            on:change=move |_| operation.set(op)/>
                        {op.label()}
                    </label>
                }).collect_view()}
            </div>
            <p class="muted small">"A daily set is recomputed after each refresh of its inputs, once they have all finished."</p>
        </section>
        <ErrorBanner error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::InvalidFields(_))))/>
        <div class="form-actions">
            <button class="btn btn-primary" data-testid="create" disabled=move || create.pending().get() on:click=submit>"Create"</button>
            <a class="btn" href="/segments">"Cancel"</a>
        </div>
    }
}
