//! The tag warehouse: the catalog users filter on, its import and the
//! in-memory index the engine evaluates.

pub mod api;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use segment_core::catalog::TagDef;
