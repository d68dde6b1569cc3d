use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_location;

use crate::auth::Principal;
use crate::auth::api::{Logout, current_principal};

/// The signed-in principal, shared with every page of the console.
#[derive(Clone, Copy)]
pub struct SessionContext(pub Resource<Result<Option<Principal>, crate::error::AppError>>);

impl SessionContext {
    /// The principal once loaded (`None` while loading or when signed out).
    pub fn principal(&self) -> Option<Principal> {
        self.0.get().and_then(|result| result.ok().flatten())
    }
}

pub fn use_session() -> SessionContext {
    expect_context::<SessionContext>()
}

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let session = SessionContext(Resource::new(|| (), |_| current_principal()));
    provide_context(session);
    // On a narrow screen the navigation folds behind a Menu button, and
    // folds again after each navigation.
    let nav_open = RwSignal::new(false);
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        nav_open.set(false);
    });

    view! {
        <div class="console" class:nav-open=move || nav_open.get()>
            <header class="topbar">
                <button type="button" class="btn nav-toggle" aria-controls="sidenav"
                    aria-expanded=move || nav_open.get().to_string()
                    on:click=move |_| nav_open.update(|open| *open = !*open)>"Menu"</button>
                <a class="brand" href="/segments">"Segment Targeting"</a>
                <Suspense fallback=|| ()>
                    {move || session.0.get().map(|result| match result {
                        Ok(Some(principal)) => view! { <UserMenu principal/> }.into_any(),
                        _ => view! { <a href="/login" rel="external">"Sign in"</a> }.into_any(),
                    })}
                </Suspense>
            </header>
            <div class="console-body">
                // A click on a link (even the current page's) folds the menu again.
                <div class="sidenav-wrap" on:click=move |_| nav_open.set(false)>
                    <SideNav/>
                </div>
                <main class="content">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

#[component]
fn UserMenu(principal: Principal) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            // A full load, so no page state of the ended session survives.
            let _ = window().location().replace("/login");
        }
    });
    let scope = (!principal.scope.is_platform()).then(|| principal.scope.to_string());
    view! {
        <div class="user-menu">
            <a class="user-name" href="/account" data-testid="current-user" title="Your account">{principal.display_name()}</a>
            <span class="badge" data-testid="current-role">{principal.role.label()}</span>
            {scope.map(|scope| view! { <span class="muted">{scope}</span> })}
            <ActionForm action=logout attr:class="inline-form">
                <button type="submit" class="btn btn-link">"Log out"</button>
            </ActionForm>
        </div>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let is_admin = move || session.principal().is_some_and(|p| p.is_admin());
    let current = move |prefix: &'static str| {
        let path = location.pathname.get();
        path == prefix || path.starts_with(&format!("{prefix}/"))
    };
    view! {
        <nav class="sidenav" id="sidenav" aria-label="Main">
            <div class="nav-section">"Segments"</div>
            <div class="nav-subsection">"Segment Management"</div>
            <A href="/segments" attr:class=move || nav_class(current("/segments") && !current("/segments/overlap"))>"Segment Targeting"</A>
            <A href="/segments/overlap" attr:class=move || nav_class(current("/segments/overlap"))>"Segment Overlap"</A>
            <A href="/verify" attr:class=move || nav_class(current("/verify"))>"Segment Verification"</A>
            <A href="/exports" attr:class=move || nav_class(current("/exports"))>"Export Records"</A>
            <A href="/deleted" attr:class=move || nav_class(current("/deleted"))>"Deleted Records"</A>
            <Suspense fallback=|| ()>
                <Show when=is_admin>
                    <div class="nav-section">"Administration"</div>
                    <A href="/admin/users" attr:class=move || nav_class(current("/admin/users"))>"Users"</A>
                    <A href="/admin/tokens" attr:class=move || nav_class(current("/admin/tokens"))>"API Tokens"</A>
                </Show>
            </Suspense>
        </nav>
    }
}

fn nav_class(active: bool) -> &'static str {
    if active { "nav-link active" } else { "nav-link" }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <div class="centered-page">
            <h1>"Page not found"</h1>
            <p><a href="/segments">"Back to Segment Targeting"</a></p>
        </div>
    }
}

/// The page for administrators; anyone else is told it is not theirs
/// instead of being shown a form the server would refuse.
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| ()>
            <Show
                when=move || session.principal().is_some_and(|p| p.is_admin())
                fallback=|| view! {
                    <Title text="Administration"/>
                    <div class="page-header"><h1>"Administration"</h1></div>
                    <p class="muted" data-testid="admin-only">"Only administrators manage users and API tokens."</p>
                }
            >
                {children.read_value()()}
            </Show>
        </Suspense>
    }
}

/// Where a page sits in the console, above its heading: the section, then
/// the page; a section that is a page of its own is a link.
#[component]
pub fn Breadcrumb(
    section: &'static str,
    #[prop(optional)] section_href: Option<&'static str>,
    page: &'static str,
) -> impl IntoView {
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb">
            {match section_href {
                Some(href) => view! { <a href=href>{section}</a> }.into_any(),
                None => view! { <span>{section}</span> }.into_any(),
            }}
            <span>" › "</span>
            <span aria-current="page">{page}</span>
        </nav>
    }
}
