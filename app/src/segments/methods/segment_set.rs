//! Create Segment › Segment Sets: two Active segments of one target object
//! combined by intersection, union or difference.

use leptos::prelude::*;

use crate::components::widgets::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::segments::components::basic_form::BasicForm;
use crate::segments::components::creation::{
    CreationHeader, SetOperationRadios, active_segments, create_action, group_choices, submit,
};
use crate::segments::*;

#[component]
pub fn CreateSegmentSetPage() -> impl IntoView {
    let form = BasicForm::new();
    let group_list = group_choices();
    let choices = active_segments(form.target_object);
    let left = RwSignal::new(None::<SegmentId>);
    let right = RwSignal::new(None::<SegmentId>);
    let operation = RwSignal::new(SetOperation::Intersection);
    form.suggest_expiry();
    let checked = RwSignal::new(None::<AppError>);
    let (create, error) = create_action(checked);
    let on_create = move |_| {
        let mut fields = Vec::new();
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
        let definition = Definition::SegmentSet(SegmentSet {
            left: left.get_untracked().unwrap_or_default(),
            right: right.get_untracked().unwrap_or_default(),
            operation: operation.get_untracked(),
        });
        submit(form, checked, create, definition, fields);
    };
    let picker = move |label: &'static str, field: &'static str, chosen: RwSignal<Option<SegmentId>>| {
        view! {
            <label class="field">
                <span>{label}</span>
                <select name=field aria-label=label on:change=move |ev| chosen.set(event_target_value(&ev).parse().ok())>
                    <option value="">"Choose an Active segment…"</option>
                    {move || choices.get().into_iter().map(|row| view! {
                        <option value=row.id.to_string() selected=chosen.get_untracked() == Some(row.id)>
                            {format!("#{} {} ({} members)", row.id, row.name, format_count(row.size.unwrap_or(0)))}
                        </option>
                    }).collect_view()}
                </select>
                <FieldError error field=field/>
            </label>
        }
    };
    view! {
        <CreationHeader method="Segment Sets" form error groups=group_list/>
        <section class="panel">
            <h2>"Segments"</h2>
            <div class="form-grid">
                {picker("Segment A", "definition.left", left)}
                {picker("Segment B", "definition.right", right)}
            </div>
            <SetOperationRadios operation label="Set operation"/>
            <p class="muted small">"A daily set is recomputed after each refresh of its inputs, once they have all finished."</p>
        </section>
        <ErrorBanner error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::InvalidFields(_))))/>
        <div class="form-actions">
            <button class="btn btn-primary" data-testid="create" disabled=move || create.pending().get() on:click=on_create>"Create"</button>
            <a class="btn" href="/segments">"Cancel"</a>
        </div>
    }
}

/// The two input segments and the operation.
pub fn definition_view(method: &SegmentSet) -> AnyView {
    let (left, right, operation) = (method.left, method.right, method.operation);
    view! {
        <p data-testid="set-definition">
            <a href=format!("/segments/{left}")>{format!("Segment {left}")}</a>
            {format!(" {} ", operation.label())}
            <a href=format!("/segments/{right}")>{format!("Segment {right}")}</a>
        </p>
    }
    .into_any()
}
