//! The contract between Segment Targeting's server and its clients: the
//! request and response types of the console's server functions and of the
//! HTTP API, the one error type of that boundary, and [`console::Console`],
//! the interface the UI's server functions call (implemented by the service
//! layer). Pure data and validation: it compiles for the browser too.

pub mod auth;
pub mod console;
pub mod error;
pub mod groups;
pub mod ids;
pub mod segments;
pub mod tags;
pub mod warehouse;
