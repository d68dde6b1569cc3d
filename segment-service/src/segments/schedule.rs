//! The scheduler: daily runs at each segment's local run time in its own
//! time zone, expiry, and staleness of time-sensitive segments.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use segment_core::catalog::Catalog;

use super::freshness::is_stale;
use super::records::{SELECT_SEGMENTS, SegmentRecord};
use crate::infra::db::Db;
use crate::with_db;
use segment_contract::error::AppResult;
use segment_contract::ids::SegmentId;
use segment_contract::segments::SegmentStatus;

/// When a daily run at local `time` happens on `date` in `tz` (Unix ms).
/// In a repeated hour it runs once, at the first of the two instants; a time
/// a DST change skips runs when the clock resumes after the gap.
pub fn occurrence(date: NaiveDate, time: NaiveTime, tz: Tz) -> i64 {
    let local = date.and_time(time);
    for minutes in 0..=180 {
        match tz.from_local_datetime(&(local + Duration::minutes(minutes))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => return t.timestamp_millis(),
            LocalResult::None => continue,
        }
    }
    // No zone skips more than three hours.
    Utc.from_utc_datetime(&local).timestamp_millis()
}

fn local_date(epoch_ms: i64, tz: Tz) -> NaiveDate {
    DateTime::from_timestamp_millis(epoch_ms)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

/// The first daily run strictly after `after_ms`: its local date and instant.
pub fn next_occurrence_after(after_ms: i64, time: NaiveTime, tz: Tz) -> (NaiveDate, i64) {
    let today = local_date(after_ms, tz);
    (-1..=2)
        .map(|offset| today + Duration::days(offset))
        .map(|date| (date, occurrence(date, time, tz)))
        .find(|(_, at)| *at > after_ms)
        .expect("a daily time recurs within two days")
}

/// The latest daily run at or before `now_ms`: its local date and instant.
pub fn latest_occurrence_until(now_ms: i64, time: NaiveTime, tz: Tz) -> (NaiveDate, i64) {
    let today = local_date(now_ms, tz);
    (-2..=1)
        .rev()
        .map(|offset| today + Duration::days(offset))
        .map(|date| (date, occurrence(date, time, tz)))
        .find(|(_, at)| *at <= now_ms)
        .expect("a daily time recurred within two days")
}

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TickReport {
    /// (segment, run key) of each run enqueued.
    pub enqueued: Vec<(SegmentId, String)>,
    pub expired: u64,
    pub became_stale: Vec<SegmentId>,
    pub fresh_again: Vec<SegmentId>,
}

/// One pass at `now_ms`: enqueues due daily runs, expires segments past
/// Expires At and (with the loaded catalog) marks time-sensitive segments
/// stale or fresh. Idempotent: a second pass at the same time does nothing.
pub async fn tick(db: &Db, catalog: Option<&Catalog>, now_ms: i64) -> AppResult<TickReport> {
    let mut report = TickReport::default();
    let due: Vec<(SegmentId, Option<String>, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, daily_run_time, time_zone FROM segments
             WHERE deleted_at IS NULL AND update_frequency = 'daily' AND next_run_at <= $1
               AND status <> 'expired' AND expires_at > $1",
        )
        .bind(now_ms)
        .fetch_all(pool)
        .await?
    });
    for (id, run_time, zone) in due {
        let (Some(time), Ok(tz)) = (
            run_time.and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok()),
            zone.parse::<Tz>(),
        ) else {
            tracing::error!(%id, "daily segment without a readable run time or zone");
            continue;
        };
        let (date, _) = latest_occurrence_until(now_ms, time, tz);
        let (_, next) = next_occurrence_after(now_ms, time, tz);
        let key = format!("daily:{date}");
        let inserted = with_db!(db, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO segment_runs (segment_id, run_key, status, not_before, queued_at)
                 VALUES ($1, $2, 'queued', $3, $3) ON CONFLICT (segment_id, run_key) DO NOTHING",
            )
            .bind(id)
            .bind(&key)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("UPDATE segments SET next_run_at = $1 WHERE id = $2")
                .bind(next)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            inserted
        });
        if inserted == 1 {
            tracing::info!(%id, key, "daily run enqueued");
            report.enqueued.push((id, key));
        }
    }
    // A read first, so a pass with nothing to expire takes no write lock.
    let expiring: Option<i64> = with_db!(db, pool => {
        sqlx::query_scalar(
            "SELECT id FROM segments WHERE deleted_at IS NULL AND status <> 'expired' AND expires_at <= $1 LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(pool)
        .await?
    });
    report.expired = if expiring.is_none() {
        0
    } else {
        with_db!(db, pool => {
        sqlx::query(
            "UPDATE segments SET status = 'expired', updated_at = $1
             WHERE deleted_at IS NULL AND status <> 'expired' AND expires_at <= $1",
        )
        .bind(now_ms)
        .execute(pool)
        .await?
        .rows_affected()
        })
    };
    if let Some(catalog) = catalog {
        mark_staleness(db, catalog, now_ms, &mut report).await?;
    }
    Ok(report)
}

async fn mark_staleness(db: &Db, catalog: &Catalog, now_ms: i64, report: &mut TickReport) -> AppResult<()> {
    let candidates: Vec<SegmentRecord> = with_db!(db, pool => {
        sqlx::query_as(&format!(
            "{SELECT_SEGMENTS} WHERE s.deleted_at IS NULL AND s.time_sensitive AND s.status IN ('active', 'stale')"
        ))
        .fetch_all(pool)
        .await?
    });
    for record in candidates {
        let Some(run_id) = record.current_run_id else {
            continue;
        };
        let ready_date: Option<String> = with_db!(db, pool => {
            sqlx::query_scalar("SELECT ready_date FROM segment_runs WHERE id = $1")
                .bind(run_id)
                .fetch_optional(pool)
                .await?
                .flatten()
        });
        let stale = is_stale(&record, ready_date.as_deref(), catalog);
        let (from, to) = match (stale, record.status.as_str()) {
            (true, "active") => (SegmentStatus::Active, SegmentStatus::Stale),
            (false, "stale") => (SegmentStatus::Stale, SegmentStatus::Active),
            _ => continue,
        };
        // Guarded by the old status so a run finishing meanwhile wins.
        let changed = with_db!(db, pool => {
            sqlx::query("UPDATE segments SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4 AND current_run_id = $5")
                .bind(to.as_str())
                .bind(now_ms)
                .bind(record.id)
                .bind(from.as_str())
                .bind(run_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if changed == 1 {
            if stale {
                tracing::info!(
                    id = %record.id,
                    "time-sensitive segment is stale: newer data is ready"
                );
                report.became_stale.push(record.id);
            } else {
                report.fresh_again.push(record.id);
            }
        }
    }
    Ok(())
}

/// How often unused uploads are looked for.
const UPLOAD_SWEEP_EVERY_MS: i64 = 60 * 60 * 1000;

/// Runs [`tick`] every `every`, and removes uploads older than
/// `upload_retention` that no segment uses, once an hour, until shutdown.
pub async fn run_scheduler(
    state: crate::state::AppState,
    every: std::time::Duration,
    upload_retention: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut swept_at = i64::MIN;
    loop {
        let loaded = state.tag_index.current();
        let catalog = loaded.as_deref().map(|l| &l.catalog);
        let now = crate::infra::now_ms();
        if let Err(error) = tick(&state.db, catalog, now).await {
            tracing::error!(%error, "scheduler pass failed");
        }
        if now.saturating_sub(swept_at) >= UPLOAD_SWEEP_EVERY_MS {
            swept_at = now;
            match super::uploads::sweep(&state.db, upload_retention, now).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "unused uploads removed"),
                Err(error) => tracing::error!(%error, "removing unused uploads failed"),
            }
        }
        if !crate::background::pause(&shutdown, every).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis()
    }

    fn hm(text: &str) -> NaiveTime {
        NaiveTime::parse_from_str(text, "%H:%M").unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn new_york_runs_follow_the_wall_clock_across_both_changes() {
        let ny: Tz = "America/New_York".parse().unwrap();
        // 06:00 local is 11:00 UTC in winter and 10:00 UTC in summer.
        assert_eq!(
            occurrence(date("2026-03-07"), hm("06:00"), ny),
            at("2026-03-07T11:00:00Z")
        );
        assert_eq!(
            occurrence(date("2026-03-08"), hm("06:00"), ny),
            at("2026-03-08T10:00:00Z")
        );
        assert_eq!(
            occurrence(date("2026-11-01"), hm("06:00"), ny),
            at("2026-11-01T11:00:00Z")
        );
        // 02:30 does not exist on 2026-03-08: the run happens at 03:00 EDT.
        assert_eq!(
            occurrence(date("2026-03-08"), hm("02:30"), ny),
            at("2026-03-08T07:00:00Z")
        );
        // 01:30 happens twice on 2026-11-01: the run happens once, at the first (EDT).
        assert_eq!(
            occurrence(date("2026-11-01"), hm("01:30"), ny),
            at("2026-11-01T05:30:00Z")
        );
        let (day, next) = next_occurrence_after(at("2026-11-01T05:30:00Z"), hm("01:30"), ny);
        assert_eq!((day, next), (date("2026-11-02"), at("2026-11-02T06:30:00Z")));
    }

    #[test]
    fn berlin_runs_follow_the_wall_clock_across_both_changes() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let (day, next) = next_occurrence_after(at("2026-03-28T12:00:00Z"), hm("02:30"), berlin);
        // 02:30 is skipped on 2026-03-29 (02:00 → 03:00): the run is at 03:00 CEST.
        assert_eq!((day, next), (date("2026-03-29"), at("2026-03-29T01:00:00Z")));
        let (day, next) = next_occurrence_after(next, hm("02:30"), berlin);
        assert_eq!((day, next), (date("2026-03-30"), at("2026-03-30T00:30:00Z")));
        let (day, next) = next_occurrence_after(at("2026-10-24T12:00:00Z"), hm("02:30"), berlin);
        assert_eq!((day, next), (date("2026-10-25"), at("2026-10-25T00:30:00Z")));
        // After the first 02:30 of the repeated hour, the next run is the next day's.
        let (day, _) = next_occurrence_after(next, hm("02:30"), berlin);
        assert_eq!(day, date("2026-10-26"));
        assert_eq!(
            latest_occurrence_until(at("2026-10-25T01:45:00Z"), hm("02:30"), berlin),
            (date("2026-10-25"), at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn every_day_of_a_year_has_exactly_one_run_in_order() {
        for zone in [
            "America/New_York",
            "Europe/Berlin",
            "Asia/Shanghai",
            "Australia/Lord_Howe",
        ] {
            let tz: Tz = zone.parse().unwrap();
            for time in ["00:00", "01:30", "02:30", "06:00", "23:59"] {
                let (mut previous, mut now) = next_occurrence_after(at("2026-01-01T00:00:00Z"), hm(time), tz);
                for _ in 0..365 {
                    let (day, next) = next_occurrence_after(now, hm(time), tz);
                    assert_eq!(day, previous + Duration::days(1), "{zone} {time}");
                    assert!(next > now);
                    previous = day;
                    now = next;
                }
            }
        }
    }
}
