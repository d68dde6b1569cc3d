//! The in-memory bitmap tag index and the evaluator of plans over it.
//!
//! Entities are dense `u32` member indexes; every set is a roaring bitmap.
//! Enum and boolean partitions keep one bitmap per value; number and
//! datetime partitions keep a bit-sliced index over the rank of each value
//! among the partition's distinct values (ranges cost a few bitmap
//! operations per bit, never a scan of entities); behaviors keep one
//! column block per day, rows sorted by entity.

mod bsi;
mod eval;
mod explain;
mod index;
pub mod lookalike;
pub mod snapshot;
mod tile;

pub use bsi::BitSlicedIndex;
pub use eval::EvalError;
pub use explain::{Explained, Observed, StoredValue};
pub use index::*;
