use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::Login;
use crate::components::widgets::ErrorBanner;

/// Where to go after signing in: only paths of this site are followed.
fn safe_next(next: Option<String>) -> String {
    next.filter(|path| path.starts_with('/') && !path.starts_with("//"))
        .unwrap_or_else(|| "/segments".to_string())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    Effect::new(move |_| {
        if let Some(Ok(())) = login.value().get() {
            let next = safe_next(query.read_untracked().get("next"));
            // A full load, so the console starts from the new session.
            let _ = window().location().replace(&next);
        }
    });
    let error = Signal::derive(move || login.value().get().and_then(Result::err));
    let pending = login.pending();

    view! {
        <Title text="Sign in"/>
        <div class="login-page">
            <div class="login-card">
                <h1>"Segment Targeting"</h1>
                <p class="muted">"Sign in to the audience console."</p>
                <ActionForm action=login>
                    <label class="field">
                        <span>"Username"</span>
                        <input name="username" autocomplete="username" required autofocus/>
                    </label>
                    <label class="field">
                        <span>"Password"</span>
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    <ErrorBanner error/>
                    <button type="submit" class="btn btn-primary btn-block" disabled=pending>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </div>
    }
}
