use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use roaring::RoaringBitmap;

use super::bsi::BitSlicedIndex;
use crate::TargetObject;
use crate::catalog::DataType;

/// Values of one enum or boolean partition.
#[derive(Debug, Clone, Default)]
pub struct CategoricalPartition {
    pub present: RoaringBitmap,
    pub by_value: HashMap<String, RoaringBitmap>,
}

impl CategoricalPartition {
    /// Builds from `(entity, value)` pairs in any order; an entity's first value wins.
    pub fn build(mut pairs: Vec<(u32, String)>) -> CategoricalPartition {
        pairs.sort_by_key(|(entity, _)| *entity);
        pairs.dedup_by_key(|(entity, _)| *entity);
        let mut by_value: HashMap<String, Vec<u32>> = HashMap::new();
        for (entity, value) in &pairs {
            by_value.entry(value.clone()).or_default().push(*entity);
        }
        CategoricalPartition {
            present: RoaringBitmap::from_sorted_iter(pairs.iter().map(|(e, _)| *e)).expect("sorted"),
            by_value: by_value
                .into_iter()
                .map(|(value, ids)| (value, RoaringBitmap::from_sorted_iter(ids).expect("sorted")))
                .collect(),
        }
    }

    fn bytes(&self) -> usize {
        self.present.serialized_size()
            + self
                .by_value
                .values()
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
    }

    /// Entities whose value is one of `values`.
    pub fn any_of(&self, values: &[String]) -> RoaringBitmap {
        let mut result = RoaringBitmap::new();
        for value in values {
            if let Some(bitmap) = self.by_value.get(value) {
                result |= bitmap;
            }
        }
        result
    }
}

/// A totally ordered key: numbers (`f64`, never NaN) and datetimes (`i64`).
pub trait Key: Copy + PartialOrd + Default + std::fmt::Debug + Send + Sync {
    fn order(a: &Self, b: &Self) -> std::cmp::Ordering;
}

impl Key for f64 {
    fn order(a: &Self, b: &Self) -> std::cmp::Ordering {
        a.total_cmp(b)
    }
}

impl Key for i64 {
    fn order(a: &Self, b: &Self) -> std::cmp::Ordering {
        a.cmp(b)
    }
}

/// A number or datetime partition: the sorted distinct values and a
/// bit-sliced index of each entity's rank among them.
#[derive(Debug, Clone)]
pub struct OrderedPartition<K> {
    pub keys: Vec<K>,
    pub bsi: BitSlicedIndex,
    /// Entities per rank: exact quantiles and range sizes over the whole
    /// partition without a pass over the slices (segment insights).
    pub rank_counts: Vec<u32>,
    /// Where per-entity values are needed (number changes): the value of
    /// each entity of `bsi.present` at its index (others hold a default), so
    /// a change compares two arrays at the same index instead of merging.
    pub by_entity: Option<Vec<K>>,
}

impl<K: Key> OrderedPartition<K> {
    /// Builds from `(entity, value)` pairs in any order; an entity's first value wins.
    pub fn build(mut pairs: Vec<(u32, K)>, keep_values: bool) -> OrderedPartition<K> {
        pairs.sort_by_key(|(entity, _)| *entity);
        pairs.dedup_by_key(|(entity, _)| *entity);
        let mut keys: Vec<K> = pairs.iter().map(|(_, k)| *k).collect();
        keys.sort_by(K::order);
        keys.dedup_by(|a, b| K::order(a, b).is_eq());
        let rank_of = |k: &K| {
            keys.binary_search_by(|probe| K::order(probe, k))
                .expect("key present") as u32
        };
        let ranks: Vec<u32> = pairs.iter().map(|(_, k)| rank_of(k)).collect();
        let mut rank_counts = vec![0u32; keys.len()];
        for rank in &ranks {
            rank_counts[*rank as usize] += 1;
        }
        let max = keys.len().saturating_sub(1) as u32;
        let bsi = BitSlicedIndex::from_sorted(pairs.iter().map(|(e, _)| *e).zip(ranks.iter().copied()), max);
        OrderedPartition {
            by_entity: keep_values.then(|| dense(pairs.iter().copied())),
            keys,
            bsi,
            rank_counts,
        }
    }

    /// Number of distinct keys strictly below `k`, or at most `k` when `inclusive`.
    pub fn count_below(&self, k: K, inclusive: bool) -> usize {
        self.keys.partition_point(|probe| match K::order(probe, &k) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => inclusive,
            std::cmp::Ordering::Greater => false,
        })
    }

    /// Entities whose rank lies in `lo..hi` (half-open, as counts of keys).
    pub fn ranks_in(&self, lo: usize, hi: usize) -> RoaringBitmap {
        if lo >= hi {
            return RoaringBitmap::new();
        }
        // Open above (`≥`, `>`, windows up to now): one pass, not two (and
        // none for the whole range: `at_least(0)` is every member).
        if hi >= self.keys.len() {
            return self.bsi.at_least(lo as u32);
        }
        self.bsi.between(lo as u32, hi as u32 - 1)
    }

    /// `(entity, value)` in ascending entity order; needs `by_entity`.
    pub fn values(&self) -> impl Iterator<Item = (u32, K)> + '_ {
        let values = self.by_entity.as_ref().expect("partition built with values");
        self.bsi.present.iter().map(|e| (e, values[e as usize]))
    }

    fn bytes(&self) -> usize {
        self.keys.len() * (std::mem::size_of::<K>() + std::mem::size_of::<u32>())
            + self.bsi.bytes()
            + self
                .by_entity
                .as_ref()
                .map_or(0, |v| v.len() * std::mem::size_of::<K>())
    }
}

/// Values placed at their entity's index, from `(entity, value)` pairs.
pub fn dense<K: Key>(pairs: impl IntoIterator<Item = (u32, K)>) -> Vec<K> {
    let mut values = Vec::new();
    for (entity, value) in pairs {
        let at = entity as usize;
        if at >= values.len() {
            values.resize(at + 1, K::default());
        }
        values[at] = value;
    }
    values
}

#[derive(Debug, Clone)]
pub enum ProfilePartition {
    Categorical(CategoricalPartition),
    Number(OrderedPartition<f64>),
    Time(OrderedPartition<i64>),
}

impl ProfilePartition {
    pub fn present(&self) -> &RoaringBitmap {
        match self {
            ProfilePartition::Categorical(p) => &p.present,
            ProfilePartition::Number(p) => &p.bsi.present,
            ProfilePartition::Time(p) => &p.bsi.present,
        }
    }

    fn bytes(&self) -> usize {
        match self {
            ProfilePartition::Categorical(p) => p.bytes(),
            ProfilePartition::Number(p) => p.bytes(),
            ProfilePartition::Time(p) => p.bytes(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProfileIndex {
    pub data_type: DataType,
    pub partitions: BTreeMap<NaiveDate, ProfilePartition>,
}

/// One attribute's values for a day's rows, indexed by row position so
/// that filters cost bitmap operations, not a scan of the day.
#[derive(Debug, Clone)]
pub enum AttrColumn {
    /// The value of each row as a bitmap of row positions per value.
    Categorical(CategoricalPartition),
    /// Numbers as a bit-sliced index over row positions.
    Number(OrderedPartition<f64>),
}

/// A value of one behavior row's attribute, as the builder takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Text(String),
    Number(f64),
    Missing,
}

/// Counts per entity, entities ascending.
#[derive(Debug, Clone, Default)]
pub struct EntityCounts {
    pub entities: Vec<u32>,
    pub counts: Vec<u32>,
    /// Entities whose count is above zero.
    pub positive: RoaringBitmap,
}

impl EntityCounts {
    /// Sums consecutive rows of the same entity (`rows` ascend by entity).
    pub fn from_sorted_rows(rows: impl IntoIterator<Item = (u32, u32)>) -> EntityCounts {
        let mut totals = EntityCounts::default();
        for (entity, count) in rows {
            if totals.entities.last() == Some(&entity) {
                *totals.counts.last_mut().expect("same length") += count;
            } else {
                totals.entities.push(entity);
                totals.counts.push(count);
            }
        }
        totals.positive = RoaringBitmap::from_sorted_iter(
            totals
                .entities
                .iter()
                .zip(&totals.counts)
                .filter(|(_, c)| **c > 0)
                .map(|(e, _)| *e),
        )
        .expect("ascending");
        totals
    }

    fn bytes(&self) -> usize {
        self.entities.len() * 8 + self.positive.serialized_size()
    }
}

/// One day of one behavior: rows sorted by entity, attribute columns
/// indexed by row position, and the day's unfiltered total per entity.
#[derive(Debug, Clone, Default)]
pub struct DayBlock {
    pub entities: Vec<u32>,
    pub counts: Vec<u32>,
    pub columns: Vec<AttrColumn>,
    pub totals: EntityCounts,
}

impl DayBlock {
    /// Builds from rows `(entity, count, attribute values)` in any order;
    /// `types` gives each attribute's data type.
    pub fn build(mut rows: Vec<(u32, u32, Vec<AttrValue>)>, types: &[DataType]) -> DayBlock {
        rows.sort_by_key(|(entity, _, _)| *entity);
        let mut block = DayBlock {
            entities: rows.iter().map(|(e, _, _)| *e).collect(),
            counts: rows.iter().map(|(_, c, _)| *c).collect(),
            columns: Vec::with_capacity(types.len()),
            totals: EntityCounts::default(),
        };
        for (a, data_type) in types.iter().enumerate() {
            let values = rows
                .iter()
                .enumerate()
                .map(|(row, (_, _, values))| (row as u32, values.get(a)));
            block.columns.push(match data_type {
                DataType::Number => AttrColumn::Number(OrderedPartition::build(
                    values
                        .filter_map(|(row, v)| match v {
                            Some(AttrValue::Number(x)) if !x.is_nan() => Some((row, *x)),
                            _ => None,
                        })
                        .collect(),
                    false,
                )),
                _ => AttrColumn::Categorical(CategoricalPartition::build(
                    values
                        .filter_map(|(row, v)| match v {
                            Some(AttrValue::Text(text)) => Some((row, text.clone())),
                            _ => None,
                        })
                        .collect(),
                )),
            });
        }
        block.totals =
            EntityCounts::from_sorted_rows(block.entities.iter().copied().zip(block.counts.iter().copied()));
        block
    }

    fn bytes(&self) -> usize {
        self.entities.len() * 8
            + self.totals.bytes()
            + self
                .columns
                .iter()
                .map(|c| match c {
                    AttrColumn::Categorical(p) => p.bytes(),
                    AttrColumn::Number(p) => p.bytes(),
                })
                .sum::<usize>()
    }
}

#[derive(Debug, Clone)]
pub struct BehaviorIndex {
    /// Attribute codes and types, in column order.
    pub attributes: Vec<(String, DataType)>,
    pub days: BTreeMap<NaiveDate, DayBlock>,
}

/// Everything the evaluator reads, loaded from the tag tables.
#[derive(Debug, Clone, Default)]
pub struct TagIndex {
    pub populations: HashMap<TargetObject, RoaringBitmap>,
    pub profiles: HashMap<String, ProfileIndex>,
    pub behaviors: HashMap<String, BehaviorIndex>,
    /// Audience per (scope, target object).
    pub scopes: HashMap<(String, TargetObject), RoaringBitmap>,
}

impl TagIndex {
    pub fn population(&self, target: TargetObject) -> RoaringBitmap {
        self.populations.get(&target).cloned().unwrap_or_default()
    }

    /// The union of the audiences of `scopes` among `target` entities.
    pub fn audience(&self, scopes: &[String], target: TargetObject) -> RoaringBitmap {
        let mut audience = RoaringBitmap::new();
        for scope in scopes {
            if let Some(members) = self.scopes.get(&(scope.clone(), target)) {
                audience |= members;
            }
        }
        audience
    }

    /// An estimate of the heap the index holds, for the benchmark report.
    pub fn approximate_bytes(&self) -> usize {
        let bitmaps = |b: &RoaringBitmap| b.serialized_size();
        self.populations.values().map(bitmaps).sum::<usize>()
            + self.scopes.values().map(bitmaps).sum::<usize>()
            + self
                .profiles
                .values()
                .flat_map(|p| p.partitions.values())
                .map(ProfilePartition::bytes)
                .sum::<usize>()
            + self
                .behaviors
                .values()
                .flat_map(|b| b.days.values())
                .map(DayBlock::bytes)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A range of ranks (any two ends: empty, closed, open above) is
        /// exactly the entities whose rank lies in it, on one thread and
        /// with both ends read side by side.
        #[test]
        fn ranges_of_ranks_equal_a_scan(
            values in proptest::collection::btree_map(0u32..200_000, 0i64..60, 0..900),
            ends in proptest::collection::vec((0usize..64, 0usize..64), 1..12),
        ) {
            let partition = OrderedPartition::build(values.iter().map(|(e, v)| (*e, *v)).collect(), false);
            for (lo, hi) in ends {
                let (lo_key, hi_key) = (partition.keys.get(lo), partition.keys.get(hi));
                let scan: RoaringBitmap = values
                    .iter()
                    .filter(|(_, v)| lo_key.is_some_and(|k| *v >= k) && hi_key.is_none_or(|k| *v < k))
                    .map(|(e, _)| *e)
                    .collect();
                for threads in [1, 3] {
                    let found = super::super::parallel::on_threads(threads, || partition.ranks_in(lo, hi));
                    prop_assert_eq!(&found, &scan, "ranks {}..{} on {} threads", lo, hi, threads);
                }
            }
        }
    }
}
