//! Apache Spark as the tag warehouse, past one machine (`SPARK_CONNECT_URL`):
//! imports are written to Spark tables, and estimates and materializations
//! run there as SQL compiled for [`segment_core::sql::Dialect::Spark`].
//! Segments, users, runs and the catalog stay in the local database.

mod client;
mod explain;
mod warehouse;

pub use client::{SparkClient, SparkError};
pub use warehouse::{BUCKETS, SparkImport, SparkWarehouse};
