use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::auth::api::Login;
use crate::components::widgets::ErrorBanner;

/// Where to go after signing in: only a path of this site. Browsers read
/// `\` as `/` and drop tabs and new lines from URLs, so `/\evil.example`
/// or `/<tab>/evil.example` would leave the site: a path must start with
/// one `/` followed by anything but `/` or `\`, and hold no backslash,
/// control character or blank.
fn safe_next(next: Option<String>) -> String {
    next.filter(|path| {
        let mut chars = path.chars();
        chars.next() == Some('/')
            && !matches!(chars.next(), Some('/' | '\\'))
            && !path
                .chars()
                .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    })
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

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_of_this_site_are_followed_after_sign_in() {
        for good in ["/segments", "/segments/12?tab=runs", "/", "/verify?segment=3"] {
            assert_eq!(safe_next(Some(good.into())), good);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/ok\\..\\evil",
            "",
        ] {
            assert_eq!(safe_next(Some(bad.into())), "/segments", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/segments");
    }
}
