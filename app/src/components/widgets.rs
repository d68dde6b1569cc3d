use leptos::prelude::*;

use crate::error::AppError;

/// Formats Unix milliseconds as `YYYY-MM-DD HH:MM UTC`, identically on the
/// server and in the browser so hydration matches.
pub fn format_utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A banner for an error that is not about one field.
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|error| {
            let sign_in = matches!(error, AppError::Unauthenticated);
            view! {
                <div class="banner banner-error" role="alert">
                    {error.to_string()}
                    {sign_in.then(|| view! { " " <a href="/login" rel="external">"Sign in"</a> })}
                </div>
            }
        })
    }
}

/// The message shown beside a form field, if the error concerns it.
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(into)] field: String,
) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|error| error.for_field(&field))
            .map(|message| view! { <span class="field-error" data-field=field.clone()>{message}</span> })
    }
}

/// A labelled password input of a form, with its field's error under it.
#[component]
pub fn PasswordField(
    label: &'static str,
    name: &'static str,
    /// `current-password` or `new-password`.
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// The shortest password the browser lets through, when it checks one.
    #[prop(optional)]
    minlength: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label class="field">
            <span>{label}</span>
            <input type="password" name=name autocomplete=autocomplete required minlength=minlength/>
            <FieldError error field=name/>
        </label>
    }
}

/// A modal confirmation dialog.
#[component]
pub fn ConfirmDialog(
    #[prop(into)] title: String,
    #[prop(into)] confirm_label: String,
    on_confirm: Callback<()>,
    on_cancel: Callback<()>,
    #[prop(into, optional)] pending: Signal<bool>,
    children: Children,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-label=label>
                <h2>{title}</h2>
                <div class="modal-body">{children()}</div>
                <div class="modal-actions">
                    <button class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                    <button
                        class="btn btn-danger"
                        disabled=move || pending.get()
                        on:click=move |_| on_confirm.run(())
                    >
                        {confirm_label}
                    </button>
                </div>
            </div>
        </div>
    }
}

/// `1234567` → `1,234,567`.
pub fn format_count(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::from(if n < 0 { "-" } else { "" });
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bumps `refresh` every `every` while `busy()` holds: a page whose rows
/// are still being worked on in the background looks again on its own.
pub fn refresh_while(
    refresh: RwSignal<u32>,
    every: std::time::Duration,
    busy: impl Fn() -> bool + Clone + 'static,
) {
    Effect::new(move |_| {
        let busy = busy.clone();
        let handle = set_interval_with_handle(
            move || {
                if busy() {
                    refresh.update(|n| *n += 1);
                }
            },
            every,
        );
        on_cleanup(move || {
            if let Ok(handle) = handle {
                handle.clear();
            }
        });
    });
}
