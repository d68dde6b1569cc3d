//! The Segment Targeting server: configuration, the axum router (Leptos
//! pages, server functions and the `/api/v1` HTTP API), and the CLI commands.

// Deep Leptos view types need it in optimized builds with one codegen unit.
#![recursion_limit = "256"]

pub mod api;
pub mod bench;
pub mod cli;
pub mod config;
pub mod demo_data;
pub mod demo_warehouse;
pub mod fuzzing;
pub mod import;
pub mod middleware;
pub mod startup;
