//! A validated rule: every code checked against the catalog, every value
//! typed, every date resolved. Both the SQL compiler and the bitmap engine
//! evaluate plans, never raw rules, and both run the same [`rewrite`]
//! passes over a plan first.

mod display;
pub mod rewrite;
mod types;

pub use rewrite::{Optimized, RewritePass, optimize};
pub use types::*;
