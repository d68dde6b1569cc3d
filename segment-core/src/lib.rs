//! The pure domain of Segment Targeting: entity IDs and target objects, the
//! tag catalog, the rule model and its validation into plans, the SQL
//! compiler, and (feature `engine`) the bitmap tag index that evaluates
//! plans. No IO lives here.

pub mod catalog;
#[cfg(feature = "engine")]
pub mod dictionary;
#[cfg(feature = "engine")]
pub mod engine;
pub mod id_list;
pub mod ids;
pub mod insights;
pub mod lookalike;
pub mod plan;
pub mod rule;
pub mod sql;
pub mod target;
pub mod time;
pub mod validate;

#[cfg(any(test, feature = "fuzzing"))]
mod fixtures;
#[cfg(any(test, feature = "fuzzing"))]
#[cfg(feature = "engine")]
pub mod fuzzing;

pub use target::TargetObject;
