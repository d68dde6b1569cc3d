//! Pieces shared by every page: the console layout and small widgets.

pub mod charts;
pub mod layout;
pub mod unsaved;
pub mod widgets;
