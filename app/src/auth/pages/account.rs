//! The signed-in user's own account: change the password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Subject;
use crate::auth::api::ChangePassword;
use crate::components::layout::Breadcrumb;
use crate::components::layout::use_session;
use crate::components::widgets::{ErrorBanner, PasswordField};

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    let change = ServerAction::<ChangePassword>::new();
    let error = Signal::derive(move || change.value().get().and_then(Result::err));
    let done = move || matches!(change.value().get(), Some(Ok(())));
    let username = move || {
        session.principal().map(|p| match p.subject {
            Subject::User { username, .. } => username,
            Subject::Token { name, .. } => name,
        })
    };
    view! {
        <Title text="Your account"/>
        <Breadcrumb section="Account" page="Your account"/>
        <div class="page-header"><h1>"Your account"</h1></div>
        <section class="panel narrow">
            <h2>"Change password"</h2>
            <p class="muted">{move || username().map(|name| format!("Signed in as {name}. Your other sessions end when the password changes; this one stays open."))}</p>
            <ActionForm action=change attr:class="form-stack">
                <PasswordField label="Current password" name="current_password" autocomplete="current-password" error/>
                <PasswordField label="New password (at least 8 characters)" name="new_password" autocomplete="new-password" minlength="8" error/>
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e| e.for_field("current_password").is_none() && e.for_field("new_password").is_none()))/>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary" disabled=change.pending()>"Change password"</button>
                </div>
            </ActionForm>
            <Show when=done>
                <div class="banner banner-success" role="status" data-testid="password-changed">"Your password has been changed."</div>
            </Show>
        </section>
    }
}
