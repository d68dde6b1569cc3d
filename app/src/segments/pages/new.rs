use leptos::prelude::*;
use leptos_meta::Title;

/// + Create Segment: the creation methods of the guide.
#[component]
pub fn NewSegmentPage() -> impl IntoView {
    view! {
        <Title text="Create Segment"/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a>
            <span>" › "</span>
            <span>"Create Segment"</span>
        </nav>
        <div class="page-header"><h1>"Create Segment"</h1></div>
        <div class="method-cards">
            <a class="method-card" href="/segments/new/tag-filter" data-testid="method-tag-filter">
                <h2>"Tag Filtering"</h2>
                <p>"Select entities by profile tags (attributes) and behavior tags (actions), in rule groups, with a live size estimate and the generated SQL. Optionally combine the result with an existing segment."</p>
            </a>
            <a class="method-card" href="/segments/new/custom-list" data-testid="method-custom-list">
                <h2>"Custom List"</h2>
                <p>"Upload a CSV of IDs (customers from a CRM, a list of high-value users): every line is checked and reported before the segment is created."</p>
            </a>
            <a class="method-card" href="/segments/new/lookalike" data-testid="method-lookalike">
                <h2>"Algorithm"</h2>
                <p>"Lookalike: expand a seed segment or an uploaded list with the most similar entities, to exactly the size you need, with the features that made them similar."</p>
            </a>
            <a class="method-card" href="/segments/new/segment-set" data-testid="method-segment-set">
                <h2>"Segment Sets"</h2>
                <p>"Combine two Active segments of the same target object: intersection, union or difference. Daily sets are recomputed after their inputs."</p>
            </a>
            <a class="method-card" href="/segments/new/warehouse-table" data-testid="method-warehouse-table">
                <h2>"Warehouse Table"</h2>
                <p>"Read the distinct IDs of a column of a table in the connected warehouse (orders of last month, campaign responders…), again every day if you like. Platform staff only."</p>
            </a>
        </div>
    }
}
