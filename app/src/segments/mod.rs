//! Segments: the list, creation and management.

pub mod pages;
