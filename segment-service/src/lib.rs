//! Segment Targeting's service layer: everything the console's server
//! functions and the HTTP API do below the HTTP boundary — accounts, groups,
//! segments (creation, workers, schedules, uploads, exports, verification),
//! the tag import and index, the warehouse and the mailer. It speaks the
//! types of `segment-contract`, evaluates with `segment-core`, and knows
//! nothing of Leptos or axum.

#![recursion_limit = "256"]

pub mod auth;
pub mod background;
pub mod console;
pub mod entities;
pub mod groups;
pub mod infra;
pub mod segments;
pub mod spark;
pub mod state;
pub mod tags;
pub mod warehouse;
