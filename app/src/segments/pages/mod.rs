mod list;

pub use list::SegmentListPage;
