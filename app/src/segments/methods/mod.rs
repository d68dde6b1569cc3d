//! The creation methods, one module each: its creation page and how the
//! details page shows its definition. A new method is a module here, a
//! route in `lib.rs` and a line in [`definition_view`].

mod custom_list;
mod lookalike;
mod segment_set;
mod tag_filter;
mod warehouse_table;

use leptos::prelude::*;

use crate::segments::{Definition, SegmentDetail};

pub use custom_list::CreateCustomListPage;
pub use lookalike::CreateLookalikePage;
pub use segment_set::CreateSegmentSetPage;
pub use tag_filter::CreateTagFilterPage;
pub use warehouse_table::CreateWarehouseTablePage;

/// The definition as the details page shows it.
pub fn definition_view(detail: &SegmentDetail) -> AnyView {
    match &detail.definition {
        Definition::TagFilter(method) => tag_filter::definition_view(method, detail),
        Definition::CustomList(method) => custom_list::definition_view(method),
        Definition::SegmentSet(method) => segment_set::definition_view(method),
        Definition::WarehouseTable(method) => warehouse_table::definition_view(method, detail),
        Definition::Lookalike(method) => lookalike::definition_view(method, detail),
    }
}
