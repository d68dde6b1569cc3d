//! The in-memory bitmap tag index and the evaluator of plans over it.
//!
//! Entities are dense `u32` member indexes; every set is a roaring bitmap.
//! Enum and boolean partitions keep one bitmap per value; number and
//! datetime partitions keep a bit-sliced index over the rank of each value
//! among the partition's distinct values (ranges cost a few bitmap
//! operations per bit, never a scan of entities); behaviors keep one
//! column block per day, rows sorted by entity.

// Entity ordinals, key ranks and per-entity counts are `u32` by
// construction (roaring bitmaps hold `u32`, and a partition has no more
// distinct keys than entities); converting them to `usize` indexes and to
// the `i64`/`u64` of comparisons and reports is the engine's arithmetic.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

mod bsi;
mod eval;
mod explain;
mod features;
mod index;
pub mod insights;
pub mod lookalike;
mod parallel;
pub mod snapshot;
mod tile;

pub use bsi::BitSlicedIndex;
pub use eval::EvalError;
pub use explain::{Explained, Observed, StoredValue};
pub use index::*;
