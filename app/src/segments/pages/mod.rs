mod create;
mod list;
mod new;

pub use create::CreateTagFilterPage;
pub use list::SegmentListPage;
pub use new::NewSegmentPage;
