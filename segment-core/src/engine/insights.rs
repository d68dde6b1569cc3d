//! Segment insights and overlaps, counted on the tag index and snapshots.

use roaring::RoaringBitmap;

use super::features::{
    BUCKETS, bounds_at, bucket_label, feature_groups, listed_values, sampled_bounds, show_day, show_number,
    shown_value,
};
use super::index::{Key, OrderedPartition, ProfilePartition, TagIndex};
use crate::TargetObject;
use crate::catalog::{TagDef, TagKind};
pub use crate::insights::*;

/// The distribution of each of `tags` (that has data) over `members`
/// beside `base`; `members` is taken within `base`. Profile tags are
/// counted without building a bitmap per value: the base's counts come
/// from the partitions' per-rank counts when the base is the population.
pub fn distributions<'a>(
    index: &TagIndex,
    tags: impl IntoIterator<Item = &'a TagDef>,
    target: TargetObject,
    base: &RoaringBitmap,
    members: &RoaringBitmap,
) -> Vec<Distribution> {
    let members = members & base;
    let population = index.populations.get(&target).map_or(0, RoaringBitmap::len);
    let sizes = Sizes {
        segment: members.len(),
        base: base.len(),
        whole: population == base.len(),
    };
    let mut found = Vec::new();
    for tag in tags {
        let counted = match &tag.kind {
            TagKind::Profile { .. } => index
                .profiles
                .get(&tag.code)
                .and_then(|p| p.partitions.iter().next_back())
                .map(|(day, partition)| (*day, profile_buckets(partition, tag, base, &members, &sizes))),
            TagKind::Behavior { .. } => {
                feature_groups(index, [tag], target, base, BUCKETS)
                    .pop()
                    .map(|group| {
                        let buckets = group
                            .features
                            .into_iter()
                            .map(|feature| BucketCount {
                                in_segment: feature.members.intersection_len(&members),
                                in_base: feature.members.len(),
                                value: feature.value,
                            })
                            .collect();
                        (group.data_date, buckets)
                    })
            }
        };
        let Some((day, buckets)) = counted else {
            continue;
        };
        let buckets: Vec<BucketCount> = buckets.into_iter().filter(|b| b.in_base > 0).collect();
        if buckets.is_empty() {
            continue;
        }
        found.push(Distribution {
            tag: tag.code.clone(),
            tag_name: tag.name.clone(),
            data_date: day.to_string(),
            segment_size: sizes.segment,
            base_size: sizes.base,
            distinctiveness: distinctiveness(&buckets, sizes.segment, sizes.base),
            buckets,
        });
    }
    found
}

struct Sizes {
    segment: u64,
    base: u64,
    /// The base is the whole population: partitions' own counts apply.
    whole: bool,
}

/// A profile partition's values (or quantiles) and "no value", counted.
fn profile_buckets(
    partition: &ProfilePartition,
    tag: &TagDef,
    base: &RoaringBitmap,
    members: &RoaringBitmap,
    sizes: &Sizes,
) -> Vec<BucketCount> {
    let in_base = |bitmap: &RoaringBitmap| {
        if sizes.whole {
            bitmap.len()
        } else {
            bitmap.intersection_len(base)
        }
    };
    let mut buckets = match partition {
        ProfilePartition::Categorical(p) => listed_values(tag, p)
            .into_iter()
            .map(|(value, bitmap)| BucketCount {
                value: shown_value(tag, value),
                in_segment: bitmap.intersection_len(members),
                in_base: in_base(bitmap),
            })
            .collect(),
        ProfilePartition::Number(p) => ordered_buckets(p, base, members, sizes, show_number),
        ProfilePartition::Time(p) => ordered_buckets(p, base, members, sizes, show_day),
    };
    let present = partition.present();
    buckets.push(BucketCount {
        value: "no value".into(),
        in_segment: sizes.segment - present.intersection_len(members),
        in_base: sizes.base - in_base(present),
    });
    buckets
}

/// Quantile buckets of an ordered partition, counted: the segment's by
/// range operations on its own members, the base's from the per-rank counts
/// (exact quantiles) or, for an audience, by range operations on it.
fn ordered_buckets<K: Key>(
    partition: &OrderedPartition<K>,
    base: &RoaringBitmap,
    members: &RoaringBitmap,
    sizes: &Sizes,
    show: impl Fn(K) -> String,
) -> Vec<BucketCount> {
    let present = &partition.bsi.present;
    let at_least_counts =
        |within: &RoaringBitmap, bounds: &[u32]| partition.bsi.count_at_least_within(bounds, within);
    let (bounds, base_at_least) = if sizes.whole {
        let mut cumulative = Vec::with_capacity(partition.rank_counts.len());
        let mut total = 0u64;
        for count in &partition.rank_counts {
            total += u64::from(*count);
            cumulative.push(total);
        }
        // The rank of the `i`-th entity in value order.
        let rank_at = |i: usize| cumulative.partition_point(|c| *c <= i as u64) as u32;
        let bounds = bounds_at(total as usize, BUCKETS, rank_at);
        let at_least = bounds
            .iter()
            .map(|lo| total - lo.checked_sub(1).map_or(0, |below| cumulative[below as usize]))
            .collect();
        (bounds, at_least)
    } else {
        let bounds = sampled_bounds(partition, &(present & base), BUCKETS);
        let at_least = at_least_counts(base, &bounds);
        (bounds, at_least)
    };
    let segment_at_least = at_least_counts(members, &bounds);
    let bucket = |at_least: &[u64], i: usize| at_least[i] - at_least.get(i + 1).copied().unwrap_or(0);
    (0..bounds.len())
        .map(|i| BucketCount {
            value: bucket_label(&partition.keys, bounds[i], bounds.get(i + 1).copied(), &show),
            in_segment: bucket(&segment_at_least, i),
            in_base: bucket(&base_at_least, i),
        })
        .collect()
}

/// The exact size of every region of the segments' overlap (2 or 3
/// segments; see [`Region`]), empty regions included.
pub fn overlap(segments: &[&RoaringBitmap]) -> Vec<Region> {
    assert!(segments.len() <= MAX_OVERLAP, "at most {MAX_OVERLAP} segments");
    let masks = 1u8..(1 << segments.len());
    masks
        .map(|mask| {
            let (inside, outside): (Vec<_>, Vec<_>) = (0..segments.len()).partition(|i| mask & (1 << i) != 0);
            let mut region = inside
                .iter()
                .skip(1)
                .fold(segments[inside[0]].clone(), |acc, i| acc & segments[*i]);
            for i in outside {
                region -= segments[i];
            }
            Region {
                mask,
                count: region.len(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::DataType;
    use crate::engine::index::*;
    use crate::fixtures::profile;

    fn bitmap(ids: &[u32]) -> RoaringBitmap {
        ids.iter().copied().collect()
    }

    #[test]
    fn two_segments_give_three_regions() {
        let (a, b) = (bitmap(&[1, 2, 3, 4]), bitmap(&[3, 4, 5]));
        let regions = overlap(&[&a, &b]);
        let count = |mask| regions.iter().find(|r| r.mask == mask).unwrap().count;
        assert_eq!((count(0b01), count(0b10), count(0b11)), (2, 1, 2));
    }

    proptest! {
        /// Every entity of the union lies in exactly one region: the one of
        /// the segments that hold it.
        #[test]
        fn regions_partition_the_union(sets in proptest::collection::vec(
            proptest::collection::btree_set(0u32..64, 0..40), 2..=3)) {
            let bitmaps: Vec<RoaringBitmap> = sets.iter().map(|s| s.iter().copied().collect()).collect();
            let refs: Vec<&RoaringBitmap> = bitmaps.iter().collect();
            let regions = overlap(&refs);
            prop_assert_eq!(regions.len(), (1 << sets.len()) - 1);
            let mut expected = std::collections::HashMap::new();
            for entity in 0u32..64 {
                let mask = (0..sets.len()).filter(|i| sets[*i].contains(&entity)).fold(0u8, |m, i| m | 1 << i);
                if mask != 0 {
                    *expected.entry(mask).or_insert(0u64) += 1;
                }
            }
            for region in &regions {
                prop_assert_eq!(region.count, expected.get(&region.mask).copied().unwrap_or(0));
            }
            let union = refs.iter().fold(RoaringBitmap::new(), |acc, s| acc | *s);
            prop_assert_eq!(in_any(&regions, (1 << sets.len()) - 1), union.len());
        }
    }

    /// The bucket a value falls in, read back from the buckets' labels.
    fn bucket_of(buckets: &[BucketCount], value: Option<f64>) -> usize {
        let Some(v) = value else {
            return buckets.iter().position(|b| b.value == "no value").unwrap();
        };
        buckets
            .iter()
            .position(|b| {
                let label = b.value.as_str();
                if let Some(range) = label.strip_prefix('[') {
                    let (lo, hi) = range.trim_end_matches(')').split_once(", ").unwrap();
                    lo.parse::<f64>().unwrap() <= v && v < hi.parse::<f64>().unwrap()
                } else if let Some(at) = label.strip_prefix("= ") {
                    v == at.parse::<f64>().unwrap()
                } else if let Some(at) = label.strip_prefix("≥ ") {
                    v >= at.parse::<f64>().unwrap()
                } else {
                    false
                }
            })
            .unwrap()
    }

    proptest! {
        /// Counted buckets equal a count entity by entity, for the whole
        /// population (per-rank counts) and for an audience (range operations).
        #[test]
        fn number_buckets_count_every_entity_once(
            values in proptest::collection::vec(proptest::option::of(0u8..12), 1..300),
            in_audience in proptest::collection::vec(any::<bool>(), 300),
            in_segment in proptest::collection::vec(any::<bool>(), 300),
        ) {
            let day = NaiveDate::from_ymd_opt(2024, 8, 4).unwrap();
            let n = values.len() as u32;
            let mut index = TagIndex::default();
            index.populations.insert(TargetObject::User, (0..n).collect());
            let pairs: Vec<(u32, f64)> = values
                .iter()
                .enumerate()
                .filter_map(|(e, v)| v.map(|v| (e as u32, f64::from(v))))
                .collect();
            index.profiles.insert(
                "spend".into(),
                ProfileIndex {
                    data_type: DataType::Number,
                    partitions: BTreeMap::from([(day, ProfilePartition::Number(OrderedPartition::build(pairs, false)))]),
                },
            );
            let tag = profile("spend", DataType::Number, &[], &["2024-08-04"]);
            let members: RoaringBitmap = (0..n).filter(|e| in_segment[*e as usize]).collect();
            let audience: RoaringBitmap = (0..n).filter(|e| in_audience[*e as usize]).collect();
            for base in [index.population(TargetObject::User), audience] {
                let found = distributions(&index, [&tag], TargetObject::User, &base, &members);
                let Some(spend) = found.first() else {
                    prop_assert!(base.is_empty());
                    continue;
                };
                let mut expected = vec![(0u64, 0u64); spend.buckets.len()];
                for e in &base {
                    let at = bucket_of(&spend.buckets, values[e as usize].map(f64::from));
                    expected[at].1 += 1;
                    if members.contains(e) {
                        expected[at].0 += 1;
                    }
                }
                let counted: Vec<(u64, u64)> = spend.buckets.iter().map(|b| (b.in_segment, b.in_base)).collect();
                // Buckets without any entity of the base are left out.
                let expected: Vec<(u64, u64)> = expected.into_iter().filter(|c| c.1 > 0).collect();
                prop_assert_eq!(counted, expected);
            }
        }
    }

    #[test]
    fn a_distribution_counts_the_segment_beside_its_base() {
        let day = NaiveDate::from_ymd_opt(2024, 8, 4).unwrap();
        let mut index = TagIndex::default();
        index.populations.insert(TargetObject::User, (0..10).collect());
        // 0..4 in "a", 4..8 in "b", 8 and 9 without a value.
        let city: Vec<(u32, String)> = (0..8)
            .map(|e| (e, if e < 4 { "a" } else { "b" }.to_string()))
            .collect();
        index.profiles.insert(
            "city".into(),
            ProfileIndex {
                data_type: DataType::Enum,
                partitions: BTreeMap::from([(
                    day,
                    ProfilePartition::Categorical(CategoricalPartition::build(city)),
                )]),
            },
        );
        let tag = profile("city", DataType::Enum, &["a", "b"], &["2024-08-04"]);
        let members = bitmap(&[0, 1, 2, 9]);
        // Within an audience of 0..6 and 9, entity 9 has no value.
        let base = bitmap(&[0, 1, 2, 3, 4, 5, 9]);
        let found = distributions(&index, [&tag], TargetObject::User, &base, &members);
        let city = &found[0];
        let counts: Vec<(&str, u64, u64)> = city
            .buckets
            .iter()
            .map(|b| (b.value.as_str(), b.in_segment, b.in_base))
            .collect();
        assert_eq!(counts, [("a", 3, 4), ("b", 0, 2), ("no value", 1, 1)]);
        assert_eq!(
            (city.segment_size, city.base_size, city.data_date.as_str()),
            (4, 7, "2024-08-04")
        );
        assert!((city.lift(&city.buckets[0]).unwrap() - (3.0 / 4.0) / (4.0 / 7.0)).abs() < 1e-12);
    }
}
