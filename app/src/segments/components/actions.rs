//! The actions of a segment row: Export, Extend Validity, Delete, Verify.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::components::widgets::{ErrorBanner, FieldError, Modal};
use crate::segments::SegmentRow;
use crate::segments::api::{delete_segment, export_segment, extend_segment};

/// `epoch_ms` as the `datetime-local` value in `zone`.
fn local_input(epoch_ms: i64, zone: &str) -> String {
    crate::segments::local_time(epoch_ms, zone).replacen(' ', "T", 1)
}

#[component]
pub fn RowActions(row: SegmentRow, on_change: Callback<()>) -> impl IntoView {
    let navigate = use_navigate();
    let id = row.id;
    let extending = RwSignal::new(false);
    let deleting = RwSignal::new(false);
    let new_expiry = RwSignal::new(local_input(row.expires_at, &row.time_zone));
    let export = Action::new(move |_: &()| export_segment(id));
    let extend = Action::new(move |value: &String| extend_segment(id, value.clone()));
    let delete = Action::new(move |_: &()| delete_segment(id));
    // The error of the last action tried; starting another clears them all.
    let error = Signal::derive(move || {
        [
            export.value().get().and_then(Result::err),
            extend.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
    });
    let clear = move || {
        export.value().set(None);
        extend.value().set(None);
        delete.value().set(None);
    };
    let has_snapshot = row.size.is_some();
    let to_exports = navigate.clone();
    // What success does: open the exports, or close the dialog and look again.
    Effect::new(move |_| {
        if let Some(Ok(_)) = export.value().get() {
            to_exports("/exports", Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = extend.value().get() {
            extending.set(false);
            on_change.run(());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            deleting.set(false);
            on_change.run(());
        }
    });
    // Copied into the dialogs each time one opens.
    let expiry_text = StoredValue::new(format!(
        "Segment {id} \"{}\" expires at {} ({}).",
        row.name,
        row.expires_local(),
        row.time_zone
    ));
    let expiry_label = StoredValue::new(format!("New expiry ({})", row.time_zone));
    let quoted_name = StoredValue::new(format!("\"{}\"", row.name));
    view! {
        <span class="row-actions">
            <button class="btn btn-link" disabled=!has_snapshot title="Export the current members as CSV"
                on:click=move |_| { clear(); export.dispatch(()); }>"Export"</button>
            <button class="btn btn-link" on:click=move |_| { clear(); extending.set(true); }>"Extend Validity"</button>
            <a class="btn btn-link" href=format!("/verify?segment={id}")>"Verify"</a>
            <button class="btn btn-link danger" on:click=move |_| { clear(); deleting.set(true); }>"Delete"</button>
        </span>
        <Show when=move || error.get().is_some() && !extending.get() && !deleting.get()>
            <ErrorBanner error/>
        </Show>
        <Show when=move || extending.get()>
            <Modal label="Extend validity" on_close=Callback::new(move |()| extending.set(false))>
                    <h2>"Extend validity"</h2>
                    <p>{expiry_text.get_value()}</p>
                    <label class="field">
                        <span>{expiry_label.get_value()}</span>
                        <input type="datetime-local" name="expires_at" prop:value=move || new_expiry.get()
                            on:input=move |ev| new_expiry.set(event_target_value(&ev))/>
                        <FieldError error field="expires_at"/>
                    </label>
                    <ErrorBanner error=Signal::derive(move || error.get().filter(|e| e.for_field("expires_at").is_none()))/>
                    <div class="modal-actions">
                        <button class="btn" on:click=move |_| extending.set(false)>"Cancel"</button>
                        <button class="btn btn-primary" disabled=move || extend.pending().get()
                            on:click=move |_| { clear(); extend.dispatch(new_expiry.get_untracked()); }>"Extend"</button>
                    </div>
            </Modal>
        </Show>
        <Show when=move || deleting.get()>
            <Modal label="Delete segment" on_close=Callback::new(move |()| deleting.set(false))>
                    <h2>"Delete segment"</h2>
                    <p>"Delete segment " <strong>{id.to_string()}</strong> " " <strong>{quoted_name.get_value()}</strong> "? It moves to Deleted Records and stops serving lookups."</p>
                    <ErrorBanner error/>
                    <div class="modal-actions">
                        <button class="btn" on:click=move |_| deleting.set(false)>"Cancel"</button>
                        <button class="btn btn-danger" disabled=move || delete.pending().get()
                            on:click=move |_| { clear(); delete.dispatch(()); }>"Delete"</button>
                    </div>
            </Modal>
        </Show>
    }
}
