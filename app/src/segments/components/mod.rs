//! Building blocks of the segment pages.

pub mod actions;
pub mod basic_form;
pub mod creation;
pub mod draft;
pub mod live_estimate;
pub mod rule_editor;
pub mod status;
