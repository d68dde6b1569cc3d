use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::api::{CreateUser, list_users, reset_user_password, set_user_disabled};
use crate::auth::{Role, UserView};
use crate::components::layout::Breadcrumb;
use crate::components::widgets::{
    ConfirmDialog, ErrorBanner, FieldError, Loaded, Modal, PasswordField, format_utc,
};
use crate::error::AppError;

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let toggle = Action::new(|(id, disabled): &(i64, bool)| set_user_disabled(*id, *disabled));
    let reset = Action::new(|(id, password): &(i64, String)| reset_user_password(*id, password.clone()));
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                toggle.version().get(),
                reset.version().get(),
            )
        },
        |_| list_users(),
    );
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let role = RwSignal::new("operator".to_string());
    let row_error = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(None::<String>);
    let disabling = RwSignal::new(None::<UserView>);
    let resetting = RwSignal::new(None::<UserView>);
    let new_password = RwSignal::new(String::new());
    let session = crate::components::layout::use_session();
    // Nobody disables their own account (the server refuses it too).
    let is_me = move |username: &str| {
        session.principal().is_some_and(
            |p| matches!(p.subject, crate::auth::Subject::User { username: ref me, .. } if me == username),
        )
    };
    Effect::new(move |_| match toggle.value().get() {
        Some(Ok(user)) => {
            disabling.set(None);
            notice.set(Some(if user.disabled_at.is_some() {
                format!("{} is disabled; their sessions have ended.", user.username)
            } else {
                format!("{} is enabled.", user.username)
            }));
        }
        Some(Err(e)) => row_error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match reset.value().get() {
        Some(Ok(())) => {
            let name = resetting.get_untracked().map(|u| u.username).unwrap_or_default();
            resetting.set(None);
            new_password.set(String::new());
            notice.set(Some(format!(
                "The password of {name} is set; their sessions have ended."
            )));
        }
        Some(Err(e)) => row_error.set(Some(e)),
        None => {}
    });

    view! {
        <Title text="Users"/>
        <Breadcrumb section="Administration" page="Users"/>
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
                <PasswordField label="Password" name="password" autocomplete="new-password" error/>
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
        <Loaded resource=users let:users>
                    <table class="data-table" tabindex="0" data-testid="users">
                        <thead><tr><th>"ID"</th><th>"Username"</th><th>"Role"</th><th>"Scope"</th><th>"Created"</th><th>"Status"</th><th>"Actions"</th></tr></thead>
                        <tbody>
                            {users.into_iter().map(|user| {
                                let disabled = user.disabled_at.is_some();
                                let for_toggle = user.clone();
                                let for_reset = user.clone();
                                let id = user.id;
                                let name = user.username.clone();
                                let name_for_me = user.username.clone();
                                view! {
                                    <tr data-user=name>
                                        <td class="num">{user.id}</td>
                                        <td>{user.username}</td>
                                        <td>{user.role.label()}</td>
                                        <td><code>{user.scope.to_string()}</code></td>
                                        <td>{format_utc(user.created_at)}</td>
                                        <td>
                                            <span class=if disabled { "status status-expired" } else { "status status-active" }>
                                                {if disabled { "Disabled" } else { "Active" }}
                                            </span>
                                        </td>
                                        <td class="actions">
                                            {if is_me(&name_for_me) {
                                                view! { <span class="muted">"you"</span> }.into_any()
                                            } else if disabled {
                                                view! { <button class="btn btn-link" on:click=move |_| { row_error.set(None); toggle.dispatch((id, false)); }>"Enable"</button> }.into_any()
                                            } else {
                                                view! { <button class="btn btn-link danger" on:click=move |_| { row_error.set(None); disabling.set(Some(for_toggle.clone())); }>"Disable"</button> }.into_any()
                                            }}
                                            <button class="btn btn-link" on:click=move |_| { row_error.set(None); resetting.set(Some(for_reset.clone())); }>"Reset password"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
        </Loaded>
        {move || notice.get().map(|text| view! { <div class="banner banner-success" role="status">{text}</div> })}
        <Show when=move || disabling.get().is_none() && resetting.get().is_none()>
            <ErrorBanner error=row_error/>
        </Show>
        {move || disabling.get().map(|user| {
            let id = user.id;
            view! {
                <ConfirmDialog
                    title="Disable user"
                    confirm_label="Disable"
                    pending=toggle.pending()
                    on_confirm=Callback::new(move |_| { toggle.dispatch((id, true)); })
                    on_cancel=Callback::new(move |_| disabling.set(None))
                >
                    <p>"Disable " <strong>{user.username}</strong> "? They are signed out everywhere at once and cannot sign in until enabled again."</p>
                    <ErrorBanner error=row_error/>
                </ConfirmDialog>
            }
        })}
        {move || resetting.get().map(|user| {
            let id = user.id;
            view! {
                <Modal label="Reset password" on_close=Callback::new(move |()| { resetting.set(None); new_password.set(String::new()); })>
                        <h2>"Reset password"</h2>
                        <p>"Set a new password for " <strong>{user.username}</strong> ". They are signed out everywhere."</p>
                        <label class="field">
                            <span>"New password"</span>
                            <input type="password" name="new_password" autocomplete="new-password"
                                prop:value=move || new_password.get()
                                on:input=move |ev| new_password.set(event_target_value(&ev))/>
                            <FieldError error=row_error field="password"/>
                        </label>
                        <div class="modal-actions">
                            <button class="btn" on:click=move |_| { resetting.set(None); new_password.set(String::new()); }>"Cancel"</button>
                            <button class="btn btn-primary" disabled=move || reset.pending().get()
                                on:click=move |_| { row_error.set(None); reset.dispatch((id, new_password.get_untracked())); }>"Set password"</button>
                        </div>
                </Modal>
            }
        })}
    }
}
