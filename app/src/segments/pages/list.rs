use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SegmentListPage() -> impl IntoView {
    view! {
        <Title text="Segment Targeting"/>
        <div class="page-header">
            <h1>"Segment Targeting"</h1>
            <div class="header-actions">
                <a class="btn" href="/segments/groups">"Manage Groups"</a>
            </div>
        </div>
        <table class="data-table">
            <thead>
                <tr>
                    <th>"ID"</th><th>"Name"</th><th>"Creation method"</th><th>"Target object"</th>
                    <th>"Group"</th><th>"Status"</th><th>"Size"</th><th>"Update frequency"</th>
                    <th>"Expires at"</th><th>"Updated"</th><th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                <tr><td colspan="11" class="empty">"No segments yet."</td></tr>
            </tbody>
        </table>
    }
}
