//! Segments: the list, creation and management pages.

pub mod api;
pub mod components;
pub mod pages;

pub use segment_contract::segments::*;
