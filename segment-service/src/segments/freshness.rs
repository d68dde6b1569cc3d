//! Whether a segment reflects the newest tag data: a time-sensitive segment
//! whose snapshot used older data than is now ready is Stale.

use chrono::NaiveDate;
use segment_core::catalog::Catalog;
use segment_core::rule::Rule;
use segment_core::time::parse_date;

use super::records::SegmentRecord;
use segment_contract::segments::{Definition, TagFilter, UpdateFrequency};

/// The newest ready date among the tags a rule reads: a run that used older
/// data than this is out of date.
pub fn newest_ready_date(catalog: &Catalog, rule: &Rule) -> Option<NaiveDate> {
    rule.tag_codes()
        .iter()
        .filter_map(|code| catalog.tag(code).and_then(|tag| tag.latest_date()))
        .max()
}

/// Whether a time-sensitive segment's current snapshot predates the newest
/// ready data of the tags it reads.
pub fn is_stale(record: &SegmentRecord, run_ready_date: Option<&str>, catalog: &Catalog) -> bool {
    if !record.time_sensitive || record.update_frequency != UpdateFrequency::Daily {
        return false;
    }
    let Ok(Definition::TagFilter(TagFilter { rule, .. })) = record.definition() else {
        return false;
    };
    let used = run_ready_date.and_then(|d| parse_date(d).ok());
    newest_ready_date(catalog, &rule) > used
}
