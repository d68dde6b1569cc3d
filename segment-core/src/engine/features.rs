//! Features of the tag index: each tag of a target object as a group of
//! mutually exclusive features that cover a universe — an enum or boolean
//! value, a quantile of a number or datetime, or "no value" for a profile
//! tag; "in the last 7 days / in days 8–30 / not in 30 days" for a
//! behavior. The lookalike model weighs them and segment insights count them.

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use super::eval::{ColumnFilter, EvalError, passing_rows};
use super::index::*;
use crate::TargetObject;
use crate::catalog::{DataType, TagDef, TagKind};
use crate::plan::{SetPred, TypedPred};

/// Quantile buckets per number or datetime tag.
pub(crate) const BUCKETS: usize = 5;
/// Sampled values per ordered tag to place the bucket boundaries.
const QUANTILE_SAMPLE: u64 = 4_096;
/// One feature: its labels and its members within the universe.
pub(crate) struct Feature {
    /// The tag and the value: `home_city = Chengdu`, `no trade in 30 days`.
    pub label: String,
    /// The value alone: `Chengdu`, `[120.5, 890)`, `no value`, `last 7 days`.
    pub value: String,
    pub members: RoaringBitmap,
}

/// Mutually exclusive features covering the universe.
pub(crate) struct FeatureGroup {
    pub tag: String,
    /// The partition, or the newest day of behavior, the features come from.
    pub data_date: NaiveDate,
    pub features: Vec<Feature>,
}

/// The feature groups of `tags` (all of `target`), restricted to `universe`.
/// A tag without data, or with a single feature, gives no group.
pub(crate) fn feature_groups<'a>(
    index: &TagIndex,
    tags: impl IntoIterator<Item = &'a TagDef>,
    target: TargetObject,
    universe: &RoaringBitmap,
    buckets: usize,
) -> Vec<FeatureGroup> {
    // The universe is the whole population unless an audience narrows it.
    let population = index.populations.get(&target).map_or(0, RoaringBitmap::len);
    let restrict = (population != universe.len()).then_some(universe);
    let within = |bitmap: &RoaringBitmap| match restrict {
        Some(universe) => bitmap & universe,
        None => bitmap.clone(),
    };
    // One group per tag, the tags side by side (each reads its own partitions).
    let group_of = |tag: &TagDef| -> Option<FeatureGroup> {
        let (data_date, features) = match &tag.kind {
            TagKind::Profile { .. } => {
                let (day, partition) = index
                    .profiles
                    .get(&tag.code)
                    .and_then(|p| p.partitions.iter().next_back())?;
                let ordered_feature = |(value, members): (String, RoaringBitmap)| Feature {
                    label: ordered_label(&tag.code, &value),
                    value,
                    members,
                };
                let mut features: Vec<Feature> = match partition {
                    ProfilePartition::Categorical(p) => listed_values(tag, p)
                        .into_iter()
                        .map(|(value, members)| Feature {
                            label: format!("{} = {}", tag.code, shown_value(tag, value)),
                            value: shown_value(tag, value),
                            members: within(members),
                        })
                        .collect(),
                    ProfilePartition::Number(p) => quantiles(p, restrict, show_number, buckets)
                        .into_iter()
                        .map(ordered_feature)
                        .collect(),
                    ProfilePartition::Time(p) => quantiles(p, restrict, show_day, buckets)
                        .into_iter()
                        .map(ordered_feature)
                        .collect(),
                };
                features.push(Feature {
                    label: format!("{} has no value", tag.code),
                    value: "no value".into(),
                    members: universe - partition.present(),
                });
                (*day, features)
            }
            TagKind::Behavior { .. } => {
                let behavior = index.behaviors.get(&tag.code)?;
                let newest = behavior.days.keys().next_back().copied()?;
                // A tenant counts only its own events (see `Catalog::for_tenant`).
                let own_ids;
                let own_events = match &tag.tenant_filter {
                    None => Vec::new(),
                    Some(own) => {
                        let column = behavior
                            .attributes
                            .iter()
                            .position(|(code, _)| *code == own.attr)?;
                        own_ids = TypedPred::Enum(SetPred::In(own.ids.clone()));
                        vec![ColumnFilter {
                            behavior: &tag.code,
                            column,
                            attr: &own.attr,
                            pred: &own_ids,
                        }]
                    }
                };
                let acted = |block: &DayBlock| -> Result<RoaringBitmap, EvalError> {
                    Ok(match passing_rows(block, &own_events)? {
                        None => block.totals.positive.clone(),
                        Some(rows) => rows
                            .iter()
                            .filter(|row| block.counts[*row as usize] > 0)
                            .map(|row| block.entities[row as usize])
                            .collect(),
                    })
                };
                let mut week = RoaringBitmap::new();
                let mut month = RoaringBitmap::new();
                for (day, block) in behavior.days.range(newest - chrono::Duration::days(29)..=newest) {
                    // A tenant attribute stored with another type cannot be
                    // filtered on: the behavior gives no features, as when it has no data.
                    let Ok(acted) = acted(block) else {
                        return None;
                    };
                    if *day > newest - chrono::Duration::days(7) {
                        week |= &acted;
                    }
                    month |= &acted;
                }
                let week = within(&week);
                let month = within(&month) - &week;
                let never = universe - &week - &month;
                let features = vec![
                    Feature {
                        label: format!("{} in the last 7 days", tag.code),
                        value: "in the last 7 days".into(),
                        members: week,
                    },
                    Feature {
                        label: format!("{} in days 8–30 only", tag.code),
                        value: "in days 8–30 only".into(),
                        members: month,
                    },
                    Feature {
                        label: format!("no {} in 30 days", tag.code),
                        value: "not in 30 days".into(),
                        members: never,
                    },
                ];
                (newest, features)
            }
        };
        let features: Vec<Feature> = features.into_iter().filter(|f| !f.members.is_empty()).collect();
        (!features.is_empty()).then(|| FeatureGroup {
            tag: tag.code.clone(),
            data_date,
            features,
        })
    };
    let tags: Vec<&TagDef> = tags.into_iter().collect();
    super::parallel::map(universe.len() >= super::parallel::SPLIT_FROM, &tags, |tag| {
        group_of(tag)
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The label of the bucket of ranks `lo..next` (`lo..` when last):
/// `[80, 120)`, or `= 120` / `≥ 120` for the last.
pub(crate) fn bucket_label<K: Key>(
    keys: &[K],
    lo: u32,
    next: Option<u32>,
    show: impl Fn(K) -> String,
) -> String {
    match next {
        Some(hi) => format!("[{}, {})", show(keys[lo as usize]), show(keys[hi as usize])),
        None if lo as usize + 1 == keys.len() => format!("= {}", show(keys[lo as usize])),
        None => format!("≥ {}", show(keys[lo as usize])),
    }
}

/// A categorical partition's values in order, with their members. Values
/// that are tenants' IDs: only those the catalog lists (a tenant's own).
pub(crate) fn listed_values<'p>(
    tag: &TagDef,
    partition: &'p CategoricalPartition,
) -> Vec<(&'p String, &'p RoaringBitmap)> {
    let allowed = tag.tenant.is_some().then(|| tag.allowed_values());
    let mut values: Vec<(&String, &RoaringBitmap)> = partition
        .by_value
        .iter()
        .filter(|(value, _)| allowed.as_ref().is_none_or(|allowed| allowed.contains(value)))
        .collect();
    values.sort_by_key(|(value, _)| *value);
    values
}

/// An enum value as stored; a boolean as Yes or No, as everywhere else.
pub(crate) fn shown_value(tag: &TagDef, value: &str) -> String {
    match (&tag.kind, value) {
        (
            TagKind::Profile {
                data_type: DataType::Boolean,
                ..
            },
            "true",
        ) => "Yes".into(),
        (
            TagKind::Profile {
                data_type: DataType::Boolean,
                ..
            },
            "false",
        ) => "No".into(),
        _ => value.to_string(),
    }
}

/// A number as the buckets show it.
pub(crate) fn show_number(x: f64) -> String {
    format!("{x}")
}

/// A datetime (Unix seconds) as the buckets show it: its day.
pub(crate) fn show_day(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `spend in [80, 120)`, `spend ≥ 120`, `spend = 120`.
fn ordered_label(code: &str, bucket: &str) -> String {
    if bucket.starts_with('[') {
        format!("{code} in {bucket}")
    } else {
        format!("{code} {bucket}")
    }
}

/// The first rank of each of up to `buckets` buckets (the first is 0)
/// holding about equal numbers of `present`, from a sample of their values.
pub(crate) fn sampled_bounds<K: Key>(
    partition: &OrderedPartition<K>,
    present: &RoaringBitmap,
    buckets: usize,
) -> Vec<u32> {
    let step = (present.len() / QUANTILE_SAMPLE).max(1) as usize;
    let mut ranks: Vec<u32> = present
        .iter()
        .step_by(step)
        .filter_map(|entity| partition.bsi.value_of(entity))
        .collect();
    ranks.sort_unstable();
    bounds_at(ranks.len(), buckets, |position| ranks[position])
}

/// The bucket bounds of `n` sorted ranks, `rank_at(i)` being the `i`-th:
/// 0, then the rank at each `q / buckets` of the way.
pub(crate) fn bounds_at(n: usize, buckets: usize, rank_at: impl Fn(usize) -> u32) -> Vec<u32> {
    if n == 0 {
        return Vec::new();
    }
    let mut bounds = vec![0u32];
    bounds.extend(
        (1..buckets)
            .map(|q| rank_at(q * n / buckets))
            .filter(|cut| *cut > 0),
    );
    bounds.dedup();
    bounds
}

/// Up to `buckets` buckets of an ordered partition with about equal
/// numbers of entities, their boundaries placed from a sample of values.
pub(crate) fn quantiles<K: Key>(
    partition: &OrderedPartition<K>,
    restrict: Option<&RoaringBitmap>,
    show: impl Fn(K) -> String,
    buckets: usize,
) -> Vec<(String, RoaringBitmap)> {
    let within = |bitmap: RoaringBitmap| match restrict {
        Some(universe) => bitmap & universe,
        None => bitmap,
    };
    let present = within(partition.bsi.present.clone());
    let bounds = sampled_bounds(partition, &present, buckets);
    let mut buckets = Vec::new();
    let mut above: Option<RoaringBitmap> = None;
    // Walk from the top: bucket = (at least lo) minus (at least the next bound).
    for (i, lo) in bounds.iter().enumerate().rev() {
        let at_least = if *lo == 0 {
            present.clone()
        } else {
            within(partition.bsi.at_least(*lo))
        };
        let members = match &above {
            Some(above) => &at_least - above,
            None => at_least.clone(),
        };
        let label = bucket_label(&partition.keys, *lo, bounds.get(i + 1).copied(), &show);
        buckets.push((label, members));
        above = Some(at_least);
    }
    buckets.reverse();
    buckets
}
