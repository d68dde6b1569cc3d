//! Dates and times in a segment's time zone.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

pub const DATE_FORMAT: &str = "%Y-%m-%d";
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn parse_tz(name: &str) -> Result<Tz, String> {
    name.parse::<Tz>()
        .map_err(|_| format!("{name:?} is not an IANA time zone"))
}

/// Parses exactly `YYYY-MM-DD` (chrono alone would also take `2024-8-4`).
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    let trimmed = text.trim();
    let shaped = trimmed.len() == 10
        && trimmed.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(trimmed, DATE_FORMAT).ok())
        .flatten()
        .ok_or_else(|| format!("{text:?} is not a date (YYYY-MM-DD)"))
}

/// The evaluation date T: the given date, else today in `tz`.
pub fn today_in(tz: Tz, now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The instant (Unix seconds) a local wall-clock time happens in `tz`. In a
/// repeated hour the earlier instant is used; a time skipped by a DST change
/// is an error.
pub fn local_to_epoch(local: NaiveDateTime, tz: Tz) -> Result<i64, String> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.timestamp()),
        LocalResult::Ambiguous(earlier, _) => Ok(earlier.timestamp()),
        LocalResult::None => Err(format!(
            "{} does not exist in {} (a daylight-saving change skips it)",
            local.format(DATETIME_FORMAT),
            tz.name()
        )),
    }
}

/// The first instant of `date` in `tz` (midnight, or the first time after a
/// DST gap at midnight).
pub fn day_start(date: NaiveDate, tz: Tz) -> i64 {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    for minutes in (0..=180).step_by(15) {
        if let Ok(epoch) = local_to_epoch(midnight + Duration::minutes(minutes), tz) {
            return epoch;
        }
    }
    // No zone skips more than three hours at midnight.
    Utc.from_utc_datetime(&midnight).timestamp()
}

/// Parses `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`, meaning its midnight) in `tz`.
pub fn parse_local_datetime(text: &str, tz: Tz) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(local) = NaiveDateTime::parse_from_str(text, DATETIME_FORMAT) {
        return local_to_epoch(local, tz);
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, DATE_FORMAT) {
        return Ok(day_start(date, tz));
    }
    Err(format!("{text:?} is not a date-time (YYYY-MM-DD HH:MM:SS)"))
}

/// Formats Unix seconds as local wall-clock time in `tz`.
pub fn format_epoch(epoch: i64, tz: Tz) -> String {
    match Utc.timestamp_opt(epoch, 0) {
        LocalResult::Single(t) => t.with_timezone(&tz).format(DATETIME_FORMAT).to_string(),
        _ => epoch.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> Tz {
        parse_tz(name).unwrap()
    }

    #[test]
    fn local_times_convert_in_their_zone() {
        let shanghai = tz("Asia/Shanghai");
        assert_eq!(
            parse_local_datetime("2024-08-06 00:00:00", shanghai).unwrap(),
            1_722_873_600
        );
        assert_eq!(
            parse_local_datetime("2024-08-06", shanghai).unwrap(),
            1_722_873_600
        );
        assert_eq!(format_epoch(1_722_873_600, shanghai), "2024-08-06 00:00:00");
        assert!(parse_local_datetime("2024-13-01", shanghai).is_err());
        assert!(parse_date("2024-8-4").is_err(), "dates are zero-padded");
        assert!(parse_date("2024-02-30").is_err());
        assert_eq!(parse_date(" 2024-08-04 ").unwrap().to_string(), "2024-08-04");
    }

    #[test]
    fn dst_gaps_are_errors_and_folds_take_the_earlier_instant() {
        let new_york = tz("America/New_York");
        let gap = parse_local_datetime("2024-03-10 02:30:00", new_york).unwrap_err();
        assert!(gap.contains("daylight-saving"), "{gap}");
        let fold = parse_local_datetime("2024-11-03 01:30:00", new_york).unwrap();
        assert_eq!(fold, 1_730_611_800, "01:30 EDT, not EST");
    }

    #[test]
    fn days_have_23_or_25_hours_across_dst() {
        let berlin = tz("Europe/Berlin");
        let day = |d: &str| parse_date(d).unwrap();
        assert_eq!(
            day_start(day("2024-03-31"), berlin) - day_start(day("2024-03-30"), berlin),
            86_400
        );
        assert_eq!(
            day_start(day("2024-04-01"), berlin) - day_start(day("2024-03-31"), berlin),
            82_800
        );
        assert_eq!(
            day_start(day("2024-10-28"), berlin) - day_start(day("2024-10-27"), berlin),
            90_000
        );
    }

    #[test]
    fn today_depends_on_the_zone() {
        let now = Utc.with_ymd_and_hms(2024, 8, 5, 20, 0, 0).unwrap();
        assert_eq!(
            today_in(tz("Asia/Shanghai"), now),
            parse_date("2024-08-06").unwrap()
        );
        assert_eq!(
            today_in(tz("America/New_York"), now),
            parse_date("2024-08-05").unwrap()
        );
    }
}
