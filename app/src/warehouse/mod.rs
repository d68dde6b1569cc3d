//! The warehouse's tables and columns, for warehouse-table segments.

pub mod api;

pub use segment_contract::warehouse::*;
