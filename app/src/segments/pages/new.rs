use leptos::prelude::*;
use leptos_meta::Title;

/// The creation methods of the guide: page slug, name, what it does.
const METHODS: [(&str, &str, &str); 5] = [
    (
        "tag-filter",
        "Tag Filtering",
        "Select entities by profile tags (attributes) and behavior tags (actions), in rule groups, with a live size estimate and the generated SQL. Optionally combine the result with an existing segment.",
    ),
    (
        "custom-list",
        "Custom List",
        "Upload a CSV of IDs (customers from a CRM, a list of high-value users): every line is checked and reported before the segment is created.",
    ),
    (
        "lookalike",
        "Algorithm",
        "Lookalike: expand a seed segment or an uploaded list with the most similar entities, to exactly the size you need, with the features that made them similar.",
    ),
    (
        "segment-set",
        "Segment Sets",
        "Combine two Active segments of the same target object: intersection, union or difference. Daily sets are recomputed after their inputs.",
    ),
    (
        "warehouse-table",
        "Warehouse Table",
        "Read the distinct IDs of a column of a table in the connected warehouse (orders of last month, campaign responders…), again every day if you like. Platform staff only.",
    ),
];

/// + Create Segment: the creation methods of the guide.
#[component]
pub fn NewSegmentPage() -> impl IntoView {
    let session = crate::components::layout::use_session();
    view! {
        <Title text="Create Segment"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a>
            <span>" › "</span>
            <span>"Create Segment"</span>
        </nav>
        <div class="page-header"><h1>"Create Segment"</h1></div>
        <div class="method-cards">
            <Suspense fallback=|| ()>
                {move || {
                    // Warehouse tables are read by platform staff only (the server refuses others).
                    let platform = session.principal().is_some_and(|p| p.scope.is_platform());
                    METHODS
                        .into_iter()
                        .filter(|(slug, _, _)| platform || *slug != "warehouse-table")
                        .map(|(slug, name, text)| view! {
                            <a class="method-card" href=format!("/segments/new/{slug}") data-testid=format!("method-{slug}")>
                                <h2>{name}</h2>
                                <p>{text}</p>
                            </a>
                        })
                        .collect_view()
                }}
            </Suspense>
        </div>
    }
}
