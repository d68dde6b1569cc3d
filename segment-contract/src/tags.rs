//! The tag warehouse: the catalog users filter on, its import and the
//! in-memory index the engine evaluates.

pub use segment_core::catalog::TagDef;
