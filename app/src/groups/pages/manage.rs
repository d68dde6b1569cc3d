use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::use_session;
use crate::components::widgets::{ConfirmDialog, ErrorBanner, FieldError, Loaded, format_utc};
use crate::error::AppError;
use crate::groups::api::{create_group, delete_group, list_groups, rename_group};
use crate::groups::{GroupId, GroupView};

#[component]
pub fn ManageGroupsPage() -> impl IntoView {
    let session = use_session();
    let show_owner = move || session.principal().is_some_and(|p| p.scope.is_platform());

    let create = Action::new(|name: &String| create_group(name.clone()));
    let rename = Action::new(|(id, name): &(GroupId, String)| rename_group(*id, name.clone()));
    let delete = Action::new(|id: &GroupId| delete_group(*id));
    let groups = Resource::new(
        move || {
            (
                create.version().get(),
                rename.version().get(),
                delete.version().get(),
            )
        },
        |_| list_groups(),
    );

    let creating = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let editing = RwSignal::new(None::<GroupId>);
    let edit_name = RwSignal::new(String::new());
    let deleting = RwSignal::new(None::<GroupView>);

    let create_error = RwSignal::new(None::<AppError>);
    let rename_error = RwSignal::new(None::<AppError>);
    let delete_error = RwSignal::new(None::<AppError>);

    // Close each form when its action succeeds; keep the input on failure.
    Effect::new(move |_| match create.value().get() {
        Some(Ok(_)) => {
            creating.set(false);
            new_name.set(String::new());
            create_error.set(None);
        }
        Some(Err(error)) => create_error.set(Some(error)),
        None => {}
    });
    Effect::new(move |_| match rename.value().get() {
        Some(Ok(_)) => {
            editing.set(None);
            rename_error.set(None);
        }
        Some(Err(error)) => rename_error.set(Some(error)),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => {
            deleting.set(None);
            delete_error.set(None);
        }
        Some(Err(error)) => delete_error.set(Some(error)),
        None => {}
    });

    let submit_create = move || {
        create.dispatch(new_name.get_untracked());
    };
    let submit_rename = move |id: GroupId| {
        rename.dispatch((id, edit_name.get_untracked()));
    };

    view! {
        <Title text="Manage Groups"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a>
            <span>" › "</span>
            <span>"Manage Groups"</span>
        </nav>
        <div class="page-header">
            <h1>"Manage Groups"</h1>
            <button
                class="btn btn-primary"
                on:click=move |_| {
                    creating.set(true);
                    create_error.set(None);
                }
            >
                "+ Create Group"
            </button>
        </div>
        <Show when=move || creating.get()>
            <section class="panel">
                <form
                    class="inline-form"
                    on:submit=move |ev| {
                        ev.prevent_default();
                        submit_create();
                    }
                >
                    <label class="field">
                        <span>"Group name"</span>
                        <input
                            name="name"
                            maxlength="200"
                            placeholder="e.g. Growth team"
                            prop:value=move || new_name.get()
                            on:input=move |ev| new_name.set(event_target_value(&ev))
                            autofocus
                        />
                        <FieldError error=create_error field="name"/>
                    </label>
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                        "Create"
                    </button>
                    <button type="button" class="btn" on:click=move |_| creating.set(false)>"Cancel"</button>
                </form>
                <ErrorBanner error=Signal::derive(move || create_error.get().filter(|e| e.for_field("name").is_none()))/>
            </section>
        </Show>
        <ErrorBanner error=Signal::derive(move || rename_error.get().filter(|e| e.for_field("name").is_none()))/>
        <Loaded resource=groups let:groups>
            {if groups.is_empty() {
                view! { <p class="empty">"No groups yet. Create one to organise your segments."</p> }.into_any()
            } else {
                view! {
                    <table class="data-table" tabindex="0" data-testid="groups-table">
                        <thead>
                            <tr>
                                <th>"ID"</th>
                                <th>"Group name"</th>
                                <Show when=show_owner><th>"Owner"</th></Show>
                                <th>"Segments"</th>
                                <th>"Created by"</th>
                                <th>"Updated"</th>
                                <th>"Actions"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {groups.into_iter().map(|group| {
                                let id = group.id;
                                let name = group.name.clone();
                                let owner = group.owner_scope.to_string();
                                let for_delete = group.clone();
                                let is_editing = move || editing.get() == Some(id);
                                view! {
                                    <tr data-group=group.name.clone()>
                                        <td class="num">{id.to_string()}</td>
                                        <td>
                                            <Show
                                                when=is_editing
                                                fallback={let name = name.clone(); move || view! { <span class="group-name">{name.clone()}</span> }}
                                            >
                                                <form class="inline-form" on:submit=move |ev| { ev.prevent_default(); submit_rename(id); }>
                                                    <input
                                                        name="name"
                                                        aria-label="Group name"
                                                        prop:value=move || edit_name.get()
                                                        on:input=move |ev| edit_name.set(event_target_value(&ev))
                                                    />
                                                    <button type="submit" class="btn btn-primary btn-small">"Save"</button>
                                                    <button type="button" class="btn btn-small" on:click=move |_| editing.set(None)>"Cancel"</button>
                                                    <FieldError error=rename_error field="name"/>
                                                </form>
                                            </Show>
                                        </td>
                                        <Show when=show_owner><td><code>{owner.clone()}</code></td></Show>
                                        <td class="num">{group.segment_count}</td>
                                        <td>{group.created_by.clone()}</td>
                                        <td>{format_utc(group.updated_at)}</td>
                                        <td class="actions">
                                            <button class="btn btn-link" on:click={
                                                let name = name.clone();
                                                move |_| {
                                                    edit_name.set(name.clone());
                                                    rename_error.set(None);
                                                    editing.set(Some(id));
                                                }
                                            }>"Edit"</button>
                                            <button class="btn btn-link danger" on:click={
                                                let group = for_delete.clone();
                                                move |_| {
                                                    delete_error.set(None);
                                                    deleting.set(Some(group.clone()));
                                                }
                                            }>"Delete"</button>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }}
        </Loaded>
        {move || deleting.get().map(|group| {
            let id = group.id;
            view! {
                <ConfirmDialog
                    title="Delete group"
                    confirm_label="Delete"
                    pending=delete.pending()
                    on_confirm=Callback::new(move |_| { delete.dispatch(id); })
                    on_cancel=Callback::new(move |_| deleting.set(None))
                >
                    <p>"Delete the group " <strong>{group.name.clone()}</strong> "? This cannot be undone."</p>
                    <ErrorBanner error=delete_error/>
                </ConfirmDialog>
            }
        })}
    }
}
