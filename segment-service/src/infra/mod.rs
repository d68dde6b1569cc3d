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

/// A duration in whole milliseconds, as stored (saturating: no duration the
/// server measures or configures comes near 292 million years).
pub fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A count as stored in a `BIGINT` (saturating; counts are of entities or
/// bytes, far below `i64::MAX`).
pub fn stored_count<N: TryInto<i64>>(count: N) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

/// An entity's ordinal as stored (`BIGINT`) back to the engine's `u32`; a
/// value out of range is a corrupt row, reported as a decoding error.
pub fn ordinal(stored: i64) -> Result<u32, sqlx::Error> {
    u32::try_from(stored).map_err(|_| {
        sqlx::Error::Decode(format!("{stored} is not an entity ordinal (0 to {})", u32::MAX).into())
    })
}

/// Hands the memory a load freed (snapshot payloads, rows) back to the
/// operating system. glibc keeps freed blocks of that size in its arenas,
/// and a start would hold about a gigabyte more than its index at 10M.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim only returns pages of free blocks; no live allocation is touched.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Keeps the memory an evaluation frees for the next one. By default glibc
/// hands a free heap top above 128 KiB back at once, so every evaluation's
/// megabyte-sized scratch bitmaps came back as fresh pages the kernel had to
/// zero (15% of a 30-day behavior rule at 10M). Blocks from 32 MiB (snapshot
/// payloads, whole partitions) are still mapped apart and returned on free.
pub fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only changes the allocator's thresholds; it is called before any evaluation.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
