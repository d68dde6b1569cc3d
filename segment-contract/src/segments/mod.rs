//! Segments: the list, creation and management.

pub mod describe;

mod basic;
mod definition;
mod detail;
mod estimate;
mod insights;
mod kinds;
mod list;
mod lookup;
mod uploads;

pub use basic::*;
pub use definition::*;
pub use detail::*;
pub use estimate::*;
pub use insights::*;
pub use kinds::*;
pub use list::*;
pub use lookup::*;
pub use uploads::*;
