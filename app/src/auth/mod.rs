//! Signing in, the account page and the administrator's users and tokens.

pub mod api;
pub mod pages;

pub use segment_contract::auth::*;
