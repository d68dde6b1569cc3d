use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Role;
use crate::auth::api::{CreateUser, list_users};
use crate::components::widgets::{ErrorBanner, FieldError, format_utc};

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let users = Resource::new(move || create.version().get(), |_| list_users());
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let role = RwSignal::new("operator".to_string());

    view! {
        <Title text="Users"/>
        <div class="page-header">
            <h1>"Users"</h1>
        </div>
        <section class="panel">
            <h2>"Create user"</h2>
            <ActionForm action=create attr:class="form-grid">
                <label class="field">
                    <span>"Username"</span>
                    <input name="username" required/>
                    <FieldError error field="username"/>
                </label>
                <label class="field">
                    <span>"Password"</span>
                    <input name="password" type="password" autocomplete="new-password" required/>
                    <FieldError error field="password"/>
                </label>
                <label class="field">
                    <span>"Role"</span>
                    <select name="role" on:change=move |ev| role.set(event_target_value(&ev))>
                        {Role::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r == Role::Operator>{r.label()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError error field="role"/>
                </label>
                <label class="field" class:hidden=move || role.get() != "merchant">
                    <span>"Merchant ID"</span>
                    <input name="merchant"/>
                    <FieldError error field="merchant"/>
                </label>
                <label class="field" class:hidden=move || role.get() != "store_manager">
                    <span>"Store IDs (comma-separated)"</span>
                    <input name="stores"/>
                    <FieldError error field="stores"/>
                </label>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary">"Create user"</button>
                </div>
            </ActionForm>
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e| !matches!(e, crate::error::AppError::Validation { field: Some(_), .. })))/>
        </section>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || users.get().map(|result| match result {
                Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                Ok(users) => view! {
                    <table class="data-table">
                        <thead><tr><th>"ID"</th><th>"Username"</th><th>"Role"</th><th>"Scope"</th><th>"Created"</th></tr></thead>
                        <tbody>
                            {users.into_iter().map(|user| view! {
                                <tr>
                                    <td class="num">{user.id}</td>
                                    <td>{user.username}</td>
                                    <td>{user.role.label()}</td>
                                    <td><code>{user.scope}</code></td>
                                    <td>{format_utc(user.created_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
