//! The basic information every creation method shares, and its checks.

use segment_core::TargetObject;
use serde::{Deserialize, Serialize};

use super::kinds::{UpdateFrequency, UsageScenario};
use crate::ids::GroupId;

pub const MAX_SEGMENT_NAME: usize = 100;

/// The basic information every creation method shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasicInfo {
    /// One of the caller's groups.
    #[serde(default)]
    pub group_id: Option<GroupId>,
    pub target_object: TargetObject,
    pub update_frequency: UpdateFrequency,
    /// `HH:MM` local time of the daily run.
    #[serde(default)]
    pub daily_run_time: Option<String>,
    /// At least one.
    #[serde(default)]
    pub usage_scenarios: Vec<UsageScenario>,
    /// IANA time zone the run time, Expires At and dynamic windows are read in.
    #[cfg_attr(feature = "openapi", schema(example = "Asia/Shanghai"))]
    pub time_zone: String,
    /// RFC 3339 with an offset, or a local `YYYY-MM-DD HH:MM[:SS]` in
    /// `time_zone`; in the future.
    #[cfg_attr(feature = "openapi", schema(example = "2027-01-31T23:59:59+08:00"))]
    pub expires_at: String,
    /// Daily only: refuse lookups while newer tag data is ready than the latest run used.
    #[serde(default)]
    pub time_sensitive: bool,
    /// Mailed when the segment becomes Active and when a run fails.
    #[serde(default)]
    pub notification_email: Option<String>,
}

/// Basic information checked and resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidBasic {
    pub name: String,
    pub time_zone: chrono_tz::Tz,
    /// Unix ms.
    pub expires_at: i64,
    pub daily_run_time: Option<chrono::NaiveTime>,
    pub notification_email: Option<String>,
}

/// Checks a segment's name and basic information; every problem is
/// reported under its field name (prefixed by `prefix`, e.g. `combination.`).
pub fn validate_basic(
    name: &str,
    basic: &BasicInfo,
    now_ms: i64,
    prefix: &str,
) -> Result<ValidBasic, Vec<crate::error::FieldError>> {
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(crate::error::FieldError {
            field: format!("{prefix}{field}"),
            message,
        })
    };
    let name = name.trim().to_string();
    let length = name.chars().count();
    if name.is_empty() {
        problem("name", "Enter a segment name.".into());
    } else if length > MAX_SEGMENT_NAME {
        problem(
            "name",
            format!("Use at most {MAX_SEGMENT_NAME} characters (this name has {length})."),
        );
    } else if name.chars().any(char::is_control) {
        problem("name", "The name cannot contain control characters.".into());
    }
    let time_zone = match segment_core::time::parse_tz(basic.time_zone.trim()) {
        Ok(tz) => Some(tz),
        Err(_) => {
            problem(
                "time_zone",
                format!(
                    "{:?} is not an IANA time zone (e.g. Asia/Shanghai).",
                    basic.time_zone
                ),
            );
            None
        }
    };
    let daily_run_time = match (
        basic.update_frequency,
        basic.daily_run_time.as_deref().map(str::trim),
    ) {
        (UpdateFrequency::Daily, None | Some("")) => {
            problem("daily_run_time", "Choose the time of the daily run.".into());
            None
        }
        (UpdateFrequency::Daily, Some(text)) => match chrono::NaiveTime::parse_from_str(text, "%H:%M") {
            Ok(time) => Some(time),
            Err(_) => {
                problem(
                    "daily_run_time",
                    format!("{text:?} is not a time (HH:MM, 24-hour)."),
                );
                None
            }
        },
        (UpdateFrequency::OneTime, _) => None,
    };
    if basic.time_sensitive && basic.update_frequency != UpdateFrequency::Daily {
        problem(
            "time_sensitive",
            "Time-sensitive applies only to segments updated daily.".into(),
        );
    }
    if basic.usage_scenarios.is_empty() {
        problem("usage_scenarios", "Choose at least one usage scenario.".into());
    }
    let mut expires_at = 0;
    if let Some(tz) = time_zone {
        match parse_expiry(&basic.expires_at, tz) {
            Ok(ms) if ms <= now_ms => problem(
                "expires_at",
                format!(
                    "Expires At must be in the future (it is {} in {}).",
                    local_time(ms, tz.name()),
                    tz.name()
                ),
            ),
            Ok(ms) => expires_at = ms,
            Err(message) => problem("expires_at", message),
        }
    }
    let notification_email = match basic.notification_email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(email) => match validate_email(email) {
            Ok(()) => Some(email.to_string()),
            Err(message) => {
                problem("notification_email", message);
                None
            }
        },
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ValidBasic {
        name,
        time_zone: time_zone.expect("checked above"),
        expires_at,
        daily_run_time,
        notification_email,
    })
}

/// Reads Expires At: RFC 3339 with an offset, or local `YYYY-MM-DD HH:MM[:SS]`
/// (or `T` between) in `tz`. Answers Unix ms.
pub fn parse_expiry(text: &str, tz: chrono_tz::Tz) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Choose when the segment expires.".into());
    }
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(instant.timestamp_millis());
    }
    let normalized = text.replacen('T', " ", 1);
    let local = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(&normalized, format).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time (YYYY-MM-DD HH:MM)."))?;
    segment_core::time::local_to_epoch(local, tz).map(|seconds| seconds * 1000)
}

/// A pragmatic address check: one `@`, a local part, and a dotted domain.
pub fn validate_email(email: &str) -> Result<(), String> {
    let invalid = || Err(format!("{email:?} is not an email address (name@example.com)."));
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid();
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid();
    };
    let labels_ok = domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'));
    if local.is_empty() || local.len() > 64 || domain.contains('@') || !labels_ok {
        return invalid();
    }
    Ok(())
}

/// `epoch_ms` as `YYYY-MM-DD HH:MM` in `zone` (UTC if the zone is unknown).
pub fn local_time(epoch_ms: i64, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    chrono::DateTime::from_timestamp_millis(epoch_ms)
        .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic() -> BasicInfo {
        BasicInfo {
            group_id: None,
            target_object: TargetObject::User,
            update_frequency: UpdateFrequency::Daily,
            daily_run_time: Some("06:00".into()),
            usage_scenarios: vec![UsageScenario::InsightAnalysis],
            time_zone: "Asia/Shanghai".into(),
            expires_at: "2027-01-31 23:59".into(),
            time_sensitive: true,
            notification_email: Some("ops@example.com".into()),
        }
    }

    const NOW: i64 = 1_790_000_000_000; // 2026-09-21

    #[test]
    fn expiry_is_read_in_the_segments_zone() {
        let valid = validate_basic("F&B", &basic(), NOW, "").unwrap();
        // 2027-01-31 23:59 in Shanghai is 15:59 UTC.
        assert_eq!(valid.expires_at, 1_801_411_140_000);
        assert_eq!(local_time(valid.expires_at, "Asia/Shanghai"), "2027-01-31 23:59");
        let rfc = parse_expiry("2027-01-31T23:59:00+08:00", chrono_tz::UTC).unwrap();
        assert_eq!(rfc, valid.expires_at);
    }

    #[test]
    fn every_problem_is_reported_under_its_field() {
        let mut bad = basic();
        bad.update_frequency = UpdateFrequency::OneTime;
        bad.usage_scenarios.clear();
        bad.expires_at = "2020-01-01 00:00".into();
        bad.notification_email = Some("ops@localhost".into());
        let problems = validate_basic(&"x".repeat(101), &bad, NOW, "combination.").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "combination.name",
                "combination.time_sensitive",
                "combination.usage_scenarios",
                "combination.expires_at",
                "combination.notification_email"
            ]
        );
        assert!(problems[3].message.contains("2020-01-01 00:00"));
    }

    #[test]
    fn daily_needs_a_run_time_and_zones_are_checked() {
        let mut bad = basic();
        bad.daily_run_time = Some("25:00".into());
        bad.time_zone = "Mars/Base".into();
        let problems = validate_basic("ok", &bad, NOW, "").unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["time_zone", "daily_run_time"]);
    }

    #[test]
    fn emails_are_checked() {
        assert!(validate_email("ops@example.com").is_ok());
        for bad in [
            "ops",
            "@example.com",
            "ops@example",
            "o ps@example.com",
            "a@b@c.com",
            "ops@.com",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
