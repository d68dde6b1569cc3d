//! Work not yet saved is not lost silently: while `dirty` holds, leaving the
//! page by a link (the sidebar, Cancel, a breadcrumb) or by Back first asks
//! in a dialog, and Stay keeps everything as it was.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::wasm_bindgen::closure::Closure;
use leptos_router::hooks::use_navigate;

use super::widgets::Modal;

/// Where the user asked to go.
#[derive(Debug, Clone, PartialEq)]
enum Leaving {
    Link { href: String, external: bool },
    Back,
}

#[component]
pub fn UnsavedGuard(#[prop(into)] dirty: Signal<bool>) -> impl IntoView {
    let leaving = RwSignal::new(None::<Leaving>);
    // Effects run only in the browser, where the listeners belong.
    Effect::new(move |_| watch(dirty, leaving));
    let navigate = use_navigate();
    let leave = Callback::new(move |()| {
        match leaving.get_untracked() {
            Some(Leaving::Link {
                href,
                external: false,
            }) => navigate(&href, Default::default()),
            Some(Leaving::Link { href, external: true }) => {
                let _ = window().location().set_href(&href);
            }
            // Past the entry that kept this page, to the page before it.
            Some(Leaving::Back) => {
                let _ = window().history().and_then(|history| history.go_with_delta(-2));
            }
            None => {}
        }
        leaving.set(None);
    });
    view! {
        {move || leaving.get().is_some().then(|| view! {
            <Modal label="Leave without saving?" on_close=Callback::new(move |()| leaving.set(None)) testid="unsaved-dialog">
                <h2>"Leave without saving?"</h2>
                <div class="modal-body">
                    <p>"The segment you are creating has not been saved. Leaving now discards what you entered."</p>
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| leaving.set(None)>"Stay"</button>
                    <button type="button" class="btn btn-danger" data-testid="unsaved-leave" on:click=move |_| leave.run(())>"Leave"</button>
                </div>
            </Modal>
        })}
    }
}

/// Asks before links and Back while `dirty` holds.
fn watch(dirty: Signal<bool>, leaving: RwSignal<Option<Leaving>>) {
    // Links: caught on the way down, before the router sees the click.
    let on_click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |event: web_sys::MouseEvent| {
        if !dirty.get_untracked()
            || event.button() != 0
            || event.ctrl_key()
            || event.meta_key()
            || event.shift_key()
        {
            return;
        }
        let Some(anchor) = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("a[href]").ok().flatten())
        else {
            return;
        };
        let href = anchor.get_attribute("href").unwrap_or_default();
        let path = href.split(['?', '#']).next().unwrap_or_default();
        let here = window().location().pathname().unwrap_or_default();
        if anchor.has_attribute("target")
            || anchor.has_attribute("download")
            || path.is_empty()
            || path == here
        {
            return;
        }
        event.prevent_default();
        event.stop_immediate_propagation();
        let external = anchor
            .get_attribute("rel")
            .is_some_and(|rel| rel.contains("external"));
        leaving.set(Some(Leaving::Link { href, external }));
    });
    let _ =
        window().add_event_listener_with_callback_and_bool("click", on_click.as_ref().unchecked_ref(), true);

    // Back: an extra entry at this address is what Back takes first;
    // it is put back when the user stays.
    let armed = StoredValue::new(false);
    let keep_here = move || {
        let _ = window()
            .history()
            .and_then(|history| history.push_state_with_url(&leptos::wasm_bindgen::JsValue::NULL, "", None));
    };
    Effect::new(move |_| {
        if dirty.get() && !armed.get_value() {
            keep_here();
            armed.set_value(true);
        }
    });
    let on_back = window_event_listener_untyped("popstate", move |_| {
        if !armed.get_value() {
            return;
        }
        armed.set_value(false);
        if dirty.get_untracked() {
            keep_here();
            armed.set_value(true);
            leaving.set(Some(Leaving::Back));
        }
    });

    let on_click = send_wrapper::SendWrapper::new(on_click);
    on_cleanup(move || {
        let _ = window().remove_event_listener_with_callback_and_bool(
            "click",
            on_click.as_ref().unchecked_ref(),
            true,
        );
        on_back.remove();
    });
}
