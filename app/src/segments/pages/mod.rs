mod create;
mod custom_list;
mod detail;
mod list;
mod new;
mod records;
mod segment_set;
mod verify;
mod warehouse_table;

pub use create::CreateTagFilterPage;
pub use custom_list::CreateCustomListPage;
pub use detail::SegmentDetailPage;
pub use list::SegmentListPage;
pub use new::NewSegmentPage;
pub use records::{DeletedRecordsPage, ExportRecordsPage};
pub use segment_set::CreateSegmentSetPage;
pub use verify::VerifyPage;
pub use warehouse_table::CreateWarehouseTablePage;
