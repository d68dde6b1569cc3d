mod detail;
mod insights;
mod list;
mod new;
mod overlap;
mod records;
mod verify;

pub use detail::SegmentDetailPage;
pub use list::SegmentListPage;
pub use new::NewSegmentPage;
pub use overlap::OverlapPage;
pub use records::{DeletedRecordsPage, ExportRecordsPage};
pub use verify::VerifyPage;
