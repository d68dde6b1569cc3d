//! The tag catalog as the rule editor searches it.

pub mod api;

pub use segment_contract::tags::*;
