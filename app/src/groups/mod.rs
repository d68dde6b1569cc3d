//! Segment groups: sub-teams' folders for segments, owned by a scope.

pub mod api;
pub mod pages;

pub use segment_contract::groups::*;
pub use segment_contract::ids::GroupId;
