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

/// What a resource answered, once it has: "Loading…" the first time (a
/// newer answer replaces the shown one without a flash), an error as a
/// banner, otherwise the children given the value.
#[component]
pub fn Loaded<T, V, F>(
    resource: Resource<Result<T, AppError>>,
    /// The page's heading when the error replaces the view that has it.
    #[prop(optional)]
    error_heading: Option<&'static str>,
    /// The view of the loaded value (`let:value`).
    children: F,
) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    F: Fn(T) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || resource.get().map(|result| match result {
                Err(error) => view! {
                    {error_heading.map(|heading| view! { <div class="page-header"><h1>{heading}</h1></div> })}
                    <ErrorBanner error=Signal::stored(Some(error))/>
                }
                .into_any(),
                Ok(value) => children(value).into_any(),
            })}
        </Transition>
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

/// A modal dialog: focus moves into it when it opens, Tab and Shift+Tab
/// stay inside it, and Escape or the backdrop close it.
#[component]
pub fn Modal(
    #[prop(into)] label: String,
    on_close: Callback<()>,
    #[prop(optional)] wide: bool,
    #[prop(optional)] testid: Option<&'static str>,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(first) = dialog
            .get()
            .and_then(|dialog| focusable(&dialog).into_iter().next())
        {
            let _ = first.focus();
        }
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => on_close.run(()),
        "Tab" => {
            let Some(dialog) = dialog.get_untracked() else {
                return;
            };
            let inside = focusable(&dialog);
            let (Some(first), Some(last)) = (inside.first(), inside.last()) else {
                return;
            };
            let active = document().active_element();
            let at = |element: &web_sys::HtmlElement| active.as_ref() == Some(element.as_ref());
            if ev.shift_key() && at(first) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && at(last) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
        _ => {}
    };
    view! {
        <div class="modal-backdrop" on:keydown=on_keydown
            on:click=move |ev| {
                // A click on the backdrop itself, not one inside the dialog.
                if ev.target() == ev.current_target() {
                    on_close.run(());
                }
            }>
            <div class="modal" class:modal-wide=wide role="dialog" aria-modal="true" aria-label=label data-testid=testid node_ref=dialog>
                {children()}
            </div>
        </div>
    }
}

/// The enabled controls of `container`, in tab order.
fn focusable(container: &web_sys::HtmlDivElement) -> Vec<web_sys::HtmlElement> {
    use leptos::wasm_bindgen::JsCast;
    let Ok(found) = container.query_selector_all(
        "a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled])",
    ) else {
        return Vec::new();
    };
    (0..found.length())
        .filter_map(|i| found.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
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
    view! {
        <Modal label=title.clone() on_close=on_cancel>
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
        </Modal>
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

/// After a refused Create, brings the first marked problem into view (in
/// the middle of the screen, clear of the sticky action bar) and puts the
/// cursor in its field, so nobody hunts for what to fix.
pub fn reveal_first_error(error: Signal<Option<AppError>>) {
    Effect::new(move |_| {
        if !matches!(
            error.get(),
            Some(AppError::InvalidFields(_) | AppError::InvalidRule(_))
        ) {
            return;
        }
        // After the messages are drawn.
        request_animation_frame(|| {
            use leptos::wasm_bindgen::JsCast;
            let Some(marked) = document()
                .query_selector(".field-error, [data-testid=condition-error]")
                .ok()
                .flatten()
            else {
                return;
            };
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            marked.scroll_into_view_with_scroll_into_view_options(&options);
            let input = marked
                .closest(".field, .condition, .panel")
                .ok()
                .flatten()
                .and_then(|place| place.query_selector("input, select, textarea").ok().flatten())
                .and_then(|input| input.dyn_into::<web_sys::HtmlElement>().ok());
            if let Some(input) = input {
                let _ = input.focus();
            }
        });
    });
}
