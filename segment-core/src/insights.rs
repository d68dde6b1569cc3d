//! What segment insights and overlaps report: shared by the engine that
//! computes them (`engine::insights`) and the client that draws them.

use serde::{Deserialize, Serialize};

/// One value (or quantile, or activity window) of a tag: how many members
/// of the segment and of the base have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketCount {
    /// `Chengdu`, `[120.5, 890)`, `≥ 2024-06-01`, `no value`, `in the last 7 days`…
    pub value: String,
    pub in_segment: u64,
    pub in_base: u64,
}

/// How a segment's members spread over one tag's values, beside the base
/// (the population, or the owner's audience). Every entity of the base is
/// in exactly one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Distribution {
    pub tag: String,
    pub tag_name: String,
    /// The partition (profile) or newest day (behavior) the values are from.
    pub data_date: String,
    pub segment_size: u64,
    pub base_size: u64,
    pub buckets: Vec<BucketCount>,
    /// Half the sum of the share differences (total variation distance):
    /// 0 when the segment is spread like the base, 1 when it has nothing in common.
    pub distinctiveness: f64,
}

impl Distribution {
    pub fn segment_share(&self, bucket: &BucketCount) -> f64 {
        share(bucket.in_segment, self.segment_size)
    }

    pub fn base_share(&self, bucket: &BucketCount) -> f64 {
        share(bucket.in_base, self.base_size)
    }

    /// How much more common the value is in the segment than in the base
    /// (1 = as common); `None` where the base has no such entity.
    pub fn lift(&self, bucket: &BucketCount) -> Option<f64> {
        let base = self.base_share(bucket);
        (base > 0.0).then(|| self.segment_share(bucket) / base)
    }
}

#[allow(clippy::cast_precision_loss)]
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Half the summed share differences of `buckets` (see [`Distribution`]).
pub fn distinctiveness(buckets: &[BucketCount], segment_size: u64, base_size: u64) -> f64 {
    buckets
        .iter()
        .map(|b| (share(b.in_segment, segment_size) - share(b.in_base, base_size)).abs())
        .sum::<f64>()
        / 2.0
}

/// The most segments an overlap compares.
pub const MAX_OVERLAP: usize = 3;

/// The region of an overlap holding the entities in exactly the segments
/// whose bits `mask` sets (bit `i` is the `i`-th segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Region {
    pub mask: u8,
    pub count: u64,
}

impl Region {
    pub fn contains(&self, segment: usize) -> bool {
        self.mask & (1 << segment) != 0
    }
}

/// Entities in every segment of `mask` (whatever the others), from the regions.
pub fn in_all(regions: &[Region], mask: u8) -> u64 {
    regions
        .iter()
        .filter(|r| r.mask & mask == mask)
        .map(|r| r.count)
        .sum()
}

/// Entities in at least one segment of `mask`, from the regions.
pub fn in_any(regions: &[Region], mask: u8) -> u64 {
    regions
        .iter()
        .filter(|r| r.mask & mask != 0)
        .map(|r| r.count)
        .sum()
}

/// Entities in the segments of `inside` and in none of `outside`, from the regions.
pub fn in_all_but(regions: &[Region], inside: u8, outside: u8) -> u64 {
    regions
        .iter()
        .filter(|r| r.mask & inside == inside && r.mask & outside == 0)
        .map(|r| r.count)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(in_segment: u64, in_base: u64) -> BucketCount {
        BucketCount {
            value: String::new(),
            in_segment,
            in_base,
        }
    }

    #[test]
    fn a_segment_spread_like_its_base_is_not_distinctive() {
        let alike = [bucket(10, 100), bucket(30, 300)];
        assert!(distinctiveness(&alike, 40, 400).abs() < 1e-12);
        let apart = [bucket(40, 0), bucket(0, 400)];
        assert!((distinctiveness(&apart, 40, 400) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lift_compares_shares_and_is_absent_without_base() {
        let d = Distribution {
            tag: "city".into(),
            tag_name: "City".into(),
            data_date: "2024-08-04".into(),
            segment_size: 50,
            base_size: 1000,
            buckets: vec![bucket(25, 100), bucket(0, 0)],
            distinctiveness: 0.0,
        };
        assert!((d.lift(&d.buckets[0]).unwrap() - 5.0).abs() < 1e-12);
        assert_eq!(d.lift(&d.buckets[1]), None);
    }

    #[test]
    fn set_operations_are_read_from_the_regions() {
        // A only 5, B only 7, A∩B 3.
        let regions = [
            Region { mask: 0b01, count: 5 },
            Region { mask: 0b10, count: 7 },
            Region { mask: 0b11, count: 3 },
        ];
        assert_eq!(in_all(&regions, 0b11), 3);
        assert_eq!(in_any(&regions, 0b11), 15);
        assert_eq!(in_all_but(&regions, 0b01, 0b10), 5);
        assert_eq!(in_all_but(&regions, 0b10, 0b01), 7);
    }
}
