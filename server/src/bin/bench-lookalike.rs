//! `cargo run --release -p server --bin bench-lookalike`: see
//! `server::bench::lookalike` and the README (`scripts/bench-lookalike`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    segment_service::infra::keep_freed_memory_for_reuse();
    server::bench::lookalike::run(server::bench::lookalike::Args::parse()).await
}
