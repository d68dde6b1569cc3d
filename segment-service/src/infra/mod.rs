//! Infrastructure every service shares and that knows no feature: the
//! database handle, the engine's thread pool, admission limits, the mailer
//! and the clock.

pub mod db;
pub mod engine_pool;
pub mod limits;
pub mod mail;

/// Milliseconds since the Unix epoch: how every timestamp is stored.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
