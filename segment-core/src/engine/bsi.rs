//! A bit-sliced index over small unsigned integers (the rank of each
//! entity's value among the partition's distinct values): comparisons with
//! a constant cost one or two bitmap operations per bit, whatever the number
//! of entities.

use roaring::RoaringBitmap;

#[derive(Debug, Clone, Default)]
pub struct BitSlicedIndex {
    /// Entities that have a value.
    pub present: RoaringBitmap,
    /// `slices[i]`: entities whose value has bit `i` set.
    pub(crate) slices: Vec<RoaringBitmap>,
}

impl BitSlicedIndex {
    /// Builds from `(entity, value)` pairs in ascending entity order.
    pub fn from_sorted(pairs: impl IntoIterator<Item = (u32, u32)>, max_value: u32) -> BitSlicedIndex {
        let bits = (u32::BITS - max_value.leading_zeros()) as usize;
        let mut present = Vec::new();
        let mut slices: Vec<Vec<u32>> = vec![Vec::new(); bits];
        for (entity, value) in pairs {
            present.push(entity);
            for (bit, slice) in slices.iter_mut().enumerate() {
                if value >> bit & 1 == 1 {
                    slice.push(entity);
                }
            }
        }
        let from_sorted = |ids: Vec<u32>| RoaringBitmap::from_sorted_iter(ids).expect("entities ascend");
        BitSlicedIndex {
            present: from_sorted(present),
            slices: slices.into_iter().map(from_sorted).collect(),
        }
    }

    /// One entity's value, read bit by bit from the slices.
    pub fn value_of(&self, entity: u32) -> Option<u32> {
        self.present.contains(entity).then(|| {
            self.slices
                .iter()
                .enumerate()
                .filter(|(_, slice)| slice.contains(entity))
                .map(|(bit, _)| 1u32 << bit)
                .sum()
        })
    }

    pub fn bits(&self) -> usize {
        self.slices.len()
    }

    /// Entities whose value is at least `c` (O'Neil's algorithm).
    pub fn at_least(&self, c: u32) -> RoaringBitmap {
        self.at_least_from(c, self.present.clone())
    }

    /// The entities of `within` whose value is at least `c`: every bitmap
    /// operation is on a subset of `within`, so a small set costs little.
    pub fn at_least_within(&self, c: u32, within: &RoaringBitmap) -> RoaringBitmap {
        self.at_least_from(c, &self.present & within)
    }

    /// `at_least` over `candidates`, a subset of `present`.
    fn at_least_from(&self, c: u32, candidates: RoaringBitmap) -> RoaringBitmap {
        if c == 0 {
            return candidates;
        }
        if self.bits() < 32 && c >> self.bits() != 0 {
            return RoaringBitmap::new();
        }
        let mut greater = RoaringBitmap::new();
        let mut equal = candidates;
        for bit in (0..self.bits()).rev() {
            // Once no entity equals the constant's high bits, lower bits change nothing.
            if equal.is_empty() {
                break;
            }
            let slice = &self.slices[bit];
            if c >> bit & 1 == 1 {
                equal &= slice;
            } else {
                greater |= &equal & slice;
                equal -= slice;
            }
        }
        greater | equal
    }

    /// Entities whose value is at most `c`.
    pub fn at_most(&self, c: u32) -> RoaringBitmap {
        match c.checked_add(1) {
            Some(next) => &self.present - self.at_least(next),
            None => self.present.clone(),
        }
    }

    /// Entities whose value lies in `lo..=hi`.
    pub fn between(&self, lo: u32, hi: u32) -> RoaringBitmap {
        if lo > hi {
            return RoaringBitmap::new();
        }
        match hi.checked_add(1) {
            Some(next) => {
                let split = self.present.len() >= super::parallel::SPLIT_FROM;
                let (from, past) = super::parallel::join(split, || self.at_least(lo), || self.at_least(next));
                from - past
            }
            None => self.at_least(lo),
        }
    }

    pub fn serialized_size(&self) -> usize {
        self.present.serialized_size()
            + self
                .slices
                .iter()
                .map(RoaringBitmap::serialized_size)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn comparisons_equal_a_scan(values in proptest::collection::btree_map(0u32..5000, 0u32..300, 0..400), lo in 0u32..320, hi in 0u32..320) {
            let max = values.values().copied().max().unwrap_or(0);
            let bsi = BitSlicedIndex::from_sorted(values.iter().map(|(e, v)| (*e, *v)), max);
            let scan = |f: &dyn Fn(u32) -> bool| -> RoaringBitmap {
                values.iter().filter(|(_, v)| f(**v)).map(|(e, _)| *e).collect()
            };
            prop_assert_eq!(bsi.at_least(lo), scan(&|v| v >= lo));
            prop_assert_eq!(bsi.at_most(hi), scan(&|v| v <= hi));
            prop_assert_eq!(bsi.between(lo, hi), scan(&|v| lo <= v && v <= hi));
            prop_assert_eq!(bsi.present.len() as usize, values.len());
        }
    }

    #[test]
    fn extreme_constants() {
        let bsi = BitSlicedIndex::from_sorted([(1, 0), (2, 7), (3, u32::MAX)], u32::MAX);
        assert_eq!(bsi.at_least(u32::MAX).iter().collect::<Vec<_>>(), [3]);
        assert_eq!(bsi.at_most(u32::MAX).len(), 3);
        assert_eq!(bsi.between(1, 7).iter().collect::<Vec<_>>(), [2]);
        let empty = BitSlicedIndex::from_sorted([(5, 0)], 0);
        assert_eq!(empty.bits(), 0);
        assert_eq!(empty.at_least(1).len(), 0);
        assert_eq!(empty.at_most(0).len(), 1);
    }
}
