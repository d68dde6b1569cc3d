use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::TokenView;
use crate::auth::api::{CreateToken, list_tokens, revoke_token};
use crate::components::layout::Breadcrumb;
use crate::components::widgets::{ConfirmDialog, ErrorBanner, FieldError, Loaded, format_utc};

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = Action::new(|id: &i64| revoke_token(*id));
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let confirming = RwSignal::new(None::<TokenView>);
    Effect::new(move |_| {
        if let Some(Ok(())) = revoke.value().get() {
            confirming.set(None);
        }
    });

    view! {
        <Title text="API Tokens"/>
        <Breadcrumb section="Administration" page="API Tokens"/>
        <div class="page-header">
            <h1>"API Tokens"</h1>
        </div>
        <section class="panel">
            <h2>"Create token"</h2>
            <p class="muted">
                "Delivery systems call the HTTP API with " <code>"Authorization: Bearer <token>"</code>
                ". A token acts within its scope: " <code>"platform"</code> ", " <code>"merchant:ID"</code>
                " or " <code>"store:ID,ID"</code> "."
            </p>
            <ActionForm action=create attr:class="form-grid">
                <label class="field">
                    <span>"Name"</span>
                    <input name="name" required placeholder="campaign-delivery"/>
                    <FieldError error=create_error field="name"/>
                </label>
                <label class="field">
                    <span>"Scope"</span>
                    <input name="scope" required value="platform"/>
                    <FieldError error=create_error field="scope"/>
                </label>
                <label class="field">
                    <span>"Expires in (days)"</span>
                    <input name="expires_in_days" inputmode="numeric" placeholder="never"/>
                    <FieldError error=create_error field="expires_in_days"/>
                </label>
                <div class="form-actions">
                    <button type="submit" class="btn btn-primary">"Create token"</button>
                </div>
            </ActionForm>
            {move || create.value().get().and_then(Result::ok).map(|created| view! {
                <div class="banner banner-success" data-testid="new-token">
                    "Copy this token now; it will not be shown again: "
                    <code class="secret">{created.token}</code>
                </div>
            })}
        </section>
        <ErrorBanner error=revoke_error/>
        <Loaded resource=tokens let:tokens>
            {if tokens.is_empty() {
                view! { <p class="empty">"No API tokens yet."</p> }.into_any()
            } else {
                view! {
                    <table class="data-table" tabindex="0">
                        <thead><tr>
                            <th>"ID"</th><th>"Name"</th><th>"Scope"</th><th>"Token"</th><th>"Created by"</th>
                            <th>"Created"</th><th>"Last used"</th><th>"Expires"</th><th>"Status"</th><th>"Actions"</th>
                        </tr></thead>
                        <tbody>
                            {tokens.into_iter().map(|token| {
                                let expired = token.expires_at.is_some_and(|at| at <= chrono::Utc::now().timestamp_millis());
                                let active = token.revoked_at.is_none() && !expired;
                                let status = if token.revoked_at.is_some() { "Revoked" } else if expired { "Expired" } else { "Active" };
                                let row = token.clone();
                                view! {
                                    <tr>
                                        <td class="num">{token.id}</td>
                                        <td>{token.name}</td>
                                        <td><code>{token.scope.to_string()}</code></td>
                                        <td><code>{token.prefix}"…"</code></td>
                                        <td>{token.created_by}</td>
                                        <td>{format_utc(token.created_at)}</td>
                                        <td>{token.last_used_at.map(format_utc).unwrap_or_else(|| "never".into())}</td>
                                        <td>{token.expires_at.map(format_utc).unwrap_or_else(|| "never".into())}</td>
                                        <td>{status}</td>
                                        <td class="actions">
                                            <Show when=move || active>
                                                {let row = row.clone(); view! {
                                                    <button class="btn btn-link danger" on:click=move |_| confirming.set(Some(row.clone()))>"Revoke"</button>
                                                }}
                                            </Show>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </Loaded>
        {move || confirming.get().map(|token| {
            let id = token.id;
            view! {
                <ConfirmDialog
                    title="Revoke token"
                    confirm_label="Revoke"
                    pending=revoke.pending()
                    on_confirm=Callback::new(move |_| { revoke.dispatch(id); })
                    on_cancel=Callback::new(move |_| confirming.set(None))
                >
                    <p>"Revoke token " <strong>{token.name}</strong> " (" <code>{token.scope.to_string()}</code> ")? Systems using it will get 401 from now on."</p>
                </ConfirmDialog>
            }
        })}
    }
}
