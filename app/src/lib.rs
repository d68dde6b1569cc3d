//! Segment Targeting's web console: the Leptos pages and components and the
//! thin server functions they call, which reach the service layer through
//! [`segment_contract::console::Console`].

#![recursion_limit = "256"]

pub mod auth;
pub mod components;
#[cfg(feature = "ssr")]
mod context;
pub mod groups;
pub mod segments;
pub mod tags;
pub mod warehouse;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::path;
pub use segment_contract::error;

use components::layout::{AdminOnly, ConsoleLayout, NotFound};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/png" href="/favicon.png"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site or
/// carrying this response's nonce (Leptos puts it on its inline hydration
/// scripts), WebAssembly allowed to compile, styles from this site (and
/// `style` attributes, which the progress bars set), no framing, no plugins.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         style-src-attr 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, once hydrated: end-to-end tests wait
    // for this mark before they click.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/segment-targeting.css"/>
        <Title formatter=|page: String| format!("{page} · Segment Targeting")/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=auth::pages::LoginPage/>
                <ParentRoute path=path!("") view=ConsoleLayout>
                    <Route path=path!("") view=|| view! { <Redirect path="/segments"/> }/>
                    <Route path=path!("segments") view=segments::pages::SegmentListPage/>
                    <Route path=path!("segments/groups") view=groups::pages::ManageGroupsPage/>
                    <Route path=path!("segments/overlap") view=segments::pages::OverlapPage/>
                    <Route path=path!("segments/new") view=segments::pages::NewSegmentPage/>
                    <Route path=path!("segments/new/tag-filter") view=segments::methods::CreateTagFilterPage/>
                    <Route path=path!("segments/new/segment-set") view=segments::methods::CreateSegmentSetPage/>
                    <Route path=path!("segments/new/custom-list") view=segments::methods::CreateCustomListPage/>
                    <Route path=path!("segments/new/warehouse-table") view=segments::methods::CreateWarehouseTablePage/>
                    <Route path=path!("segments/new/lookalike") view=segments::methods::CreateLookalikePage/>
                    <Route path=path!("segments/:id") view=segments::pages::SegmentDetailPage/>
                    <Route path=path!("exports") view=segments::pages::ExportRecordsPage/>
                    <Route path=path!("deleted") view=segments::pages::DeletedRecordsPage/>
                    <Route path=path!("verify") view=segments::pages::VerifyPage/>
                    <Route path=path!("account") view=auth::pages::AccountPage/>
                    <Route path=path!("admin/users") view=|| view! { <AdminOnly><auth::pages::UsersPage/></AdminOnly> }/>
                    <Route path=path!("admin/tokens") view=|| view! { <AdminOnly><auth::pages::TokensPage/></AdminOnly> }/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
