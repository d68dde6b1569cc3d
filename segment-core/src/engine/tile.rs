//! Copies of an index side by side: a larger index with exactly the same
//! distributions, for measuring the engine at sizes no generator on this
//! machine writes in reasonable time (entity `e` of copy `k` is
//! `e + k × stride`).

use roaring::RoaringBitmap;

use super::bsi::BitSlicedIndex;
use super::index::*;

fn tile_bitmap(bitmap: &RoaringBitmap, copies: u32, stride: u32) -> RoaringBitmap {
    RoaringBitmap::from_sorted_iter((0..copies).flat_map(|k| bitmap.iter().map(move |e| e + k * stride)))
        .expect("copies ascend")
}

fn tile_vec(entities: &[u32], copies: u32, stride: u32) -> Vec<u32> {
    (0..copies)
        .flat_map(|k| entities.iter().map(move |e| e + k * stride))
        .collect()
}

fn repeat<T: Clone>(values: &[T], copies: u32) -> Vec<T> {
    (0..copies).flat_map(|_| values.iter().cloned()).collect()
}

fn tile_categorical(p: &CategoricalPartition, copies: u32, stride: u32) -> CategoricalPartition {
    CategoricalPartition {
        present: tile_bitmap(&p.present, copies, stride),
        by_value: p
            .by_value
            .iter()
            .map(|(value, members)| (value.clone(), tile_bitmap(members, copies, stride)))
            .collect(),
    }
}

fn tile_ordered<K: Key>(p: &OrderedPartition<K>, copies: u32, stride: u32) -> OrderedPartition<K> {
    OrderedPartition {
        keys: p.keys.clone(),
        rank_counts: p.rank_counts.iter().map(|c| c * copies).collect(),
        bsi: BitSlicedIndex::from_sorted(
            (0..copies).flat_map(|k| p.bsi.pairs().map(move |(e, rank)| (e + k * stride, rank))),
            p.keys.len().saturating_sub(1) as u32,
        ),
        by_entity: p.by_entity.is_some().then(|| {
            dense(
                p.values()
                    .flat_map(|(e, v)| (0..copies).map(move |k| (e + k * stride, v))),
            )
        }),
    }
}

fn tile_counts(c: &EntityCounts, copies: u32, stride: u32) -> EntityCounts {
    EntityCounts {
        entities: tile_vec(&c.entities, copies, stride),
        counts: repeat(&c.counts, copies),
        positive: tile_bitmap(&c.positive, copies, stride),
    }
}

fn tile_day(block: &DayBlock, copies: u32, stride: u32) -> DayBlock {
    // Attribute columns index row positions: copy k's rows follow copy k − 1's.
    let rows = block.entities.len() as u32;
    DayBlock {
        entities: tile_vec(&block.entities, copies, stride),
        counts: repeat(&block.counts, copies),
        columns: block
            .columns
            .iter()
            .map(|column| match column {
                AttrColumn::Categorical(p) => AttrColumn::Categorical(tile_categorical(p, copies, rows)),
                AttrColumn::Number(p) => AttrColumn::Number(tile_ordered(p, copies, rows)),
            })
            .collect(),
        totals: tile_counts(&block.totals, copies, stride),
    }
}

impl TagIndex {
    /// `copies` copies of this index side by side; `stride` must exceed
    /// every member index (`copies × stride` must fit in a `u32`).
    pub fn tiled(&self, copies: u32, stride: u32) -> TagIndex {
        TagIndex {
            populations: self
                .populations
                .iter()
                .map(|(target, members)| (*target, tile_bitmap(members, copies, stride)))
                .collect(),
            profiles: self
                .profiles
                .iter()
                .map(|(code, profile)| {
                    let partitions = profile
                        .partitions
                        .iter()
                        .map(|(date, partition)| {
                            let tiled = match partition {
                                ProfilePartition::Categorical(p) => {
                                    ProfilePartition::Categorical(tile_categorical(p, copies, stride))
                                }
                                ProfilePartition::Number(p) => {
                                    ProfilePartition::Number(tile_ordered(p, copies, stride))
                                }
                                ProfilePartition::Time(p) => {
                                    ProfilePartition::Time(tile_ordered(p, copies, stride))
                                }
                            };
                            (*date, tiled)
                        })
                        .collect();
                    (
                        code.clone(),
                        ProfileIndex {
                            data_type: profile.data_type,
                            partitions,
                        },
                    )
                })
                .collect(),
            behaviors: self
                .behaviors
                .iter()
                .map(|(code, behavior)| {
                    (
                        code.clone(),
                        BehaviorIndex {
                            attributes: behavior.attributes.clone(),
                            days: behavior
                                .days
                                .iter()
                                .map(|(date, block)| (*date, tile_day(block, copies, stride)))
                                .collect(),
                        },
                    )
                })
                .collect(),
            scopes: self
                .scopes
                .iter()
                .map(|(key, members)| (key.clone(), tile_bitmap(members, copies, stride)))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::TargetObject;
    use crate::catalog::DataType;

    #[test]
    fn a_tiled_index_repeats_every_set_at_each_offset() {
        let day = NaiveDate::from_ymd_opt(2024, 8, 4).unwrap();
        let mut index = TagIndex::default();
        index.populations.insert(TargetObject::User, (0..10).collect());
        let numbers = OrderedPartition::build((0..10).map(|e| (e, (e % 4) as f64)).collect(), true);
        index.profiles.insert(
            "n".into(),
            ProfileIndex {
                data_type: DataType::Number,
                partitions: BTreeMap::from([(day, ProfilePartition::Number(numbers))]),
            },
        );
        index.behaviors.insert(
            "b".into(),
            BehaviorIndex {
                attributes: vec![("a".into(), DataType::Enum)],
                days: BTreeMap::from([(
                    day,
                    DayBlock::build(
                        vec![
                            (3, 2, vec![AttrValue::Text("x".into())]),
                            (7, 1, vec![AttrValue::Text("y".into())]),
                        ],
                        &[DataType::Enum],
                    ),
                )]),
            },
        );
        let tiled = index.tiled(3, 100);
        let expected: RoaringBitmap = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
            .iter()
            .flat_map(|e| [*e, e + 100, e + 200])
            .collect();
        assert_eq!(tiled.population(TargetObject::User), expected);
        let ProfilePartition::Number(n) = &tiled.profiles["n"].partitions[&day] else {
            panic!("number partition")
        };
        // Values 2 and 3 (ranks 2..4) in every copy.
        let high: Vec<u32> = n.ranks_in(2, 4).iter().collect();
        assert_eq!(high, vec![2, 3, 6, 7, 102, 103, 106, 107, 202, 203, 206, 207]);
        assert_eq!(n.values().nth(11), Some((101, 1.0)));
        let block = &tiled.behaviors["b"].days[&day];
        assert_eq!(block.entities, vec![3, 7, 103, 107, 203, 207]);
        let AttrColumn::Categorical(column) = &block.columns[0] else {
            panic!("categorical column")
        };
        let rows_with_x: Vec<u32> = column.by_value["x"].iter().collect();
        assert_eq!(rows_with_x, vec![0, 2, 4]);
        assert_eq!(block.totals.positive.len(), 6);
    }
}
