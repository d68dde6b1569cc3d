//! Segment insights and overlaps, counted on the tag index and snapshots.

use roaring::RoaringBitmap;

use super::features::feature_groups;
use super::index::TagIndex;
use crate::TargetObject;
use crate::catalog::TagDef;
pub use crate::insights::*;

/// The distribution of each of `tags` (that has data) over `members`
/// beside `base`; `members` is taken within `base`.
pub fn distributions<'a>(
    index: &TagIndex,
    tags: impl IntoIterator<Item = &'a TagDef>,
    target: TargetObject,
    base: &RoaringBitmap,
    members: &RoaringBitmap,
) -> Vec<Distribution> {
    let members = members & base;
    let (segment_size, base_size) = (members.len(), base.len());
    feature_groups(index, tags, target, base)
        .into_iter()
        .map(|group| {
            let buckets: Vec<BucketCount> = group
                .features
                .into_iter()
                .map(|feature| BucketCount {
                    in_segment: feature.members.intersection_len(&members),
                    in_base: feature.members.len(),
                    value: feature.value,
                })
                .collect();
            Distribution {
                tag: group.tag,
                tag_name: group.tag_name,
                data_date: group.data_date.to_string(),
                segment_size,
                base_size,
                distinctiveness: distinctiveness(&buckets, segment_size, base_size),
                buckets,
            }
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
