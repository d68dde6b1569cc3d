//! Segments: the list, creation and management pages.

pub mod api;
pub mod components;
pub mod methods;
pub mod pages;

pub use segment_contract::ids::*;
pub use segment_contract::segments::*;
