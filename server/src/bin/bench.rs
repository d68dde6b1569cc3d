//! `cargo run --release -p server --bin bench -- --users 1000000`: see
//! `server::bench` and the README (`scripts/bench` starts PostgreSQL and DuckDB).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    segment_service::infra::keep_freed_memory_for_reuse();
    server::bench::run(server::bench::Args::parse()).await
}
