mod detail;
mod list;
mod new;
mod records;
mod verify;

pub use detail::SegmentDetailPage;
pub use list::SegmentListPage;
pub use new::NewSegmentPage;
pub use records::{DeletedRecordsPage, ExportRecordsPage};
pub use verify::VerifyPage;
