//! A bit-sliced index over small unsigned integers (the rank of each
//! entity's value among the partition's distinct values), kept per chunk
//! of 2^16 entities. A dense chunk interleaves its slices in blocks of eight
//! rows of 64 entities, highest bit first, so a comparison reads each word
//! of every slice once, in memory order, compares eight rows side by side
//! and builds no intermediate bitmap; a sparse chunk lists its entities and
//! values, and a comparison scans them. Each chunk takes the smaller form.

use roaring::RoaringBitmap;

/// Entities per chunk, and 64-bit words per slice of a dense chunk.
const CHUNK: u32 = 1 << 16;
const WORDS: usize = (CHUNK / 64) as usize;
const CHUNK_BYTES: usize = WORDS * 8;
/// What a sparse chunk holds per entity: its low 16 bits and its value.
const SPARSE_ENTITY_BYTES: usize = 6;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BitSlicedIndex {
    /// Entities that have a value.
    pub present: RoaringBitmap,
    /// Bits per value: values are below `2^bits`.
    bits: u32,
    /// Chunks holding at least one entity, by ascending key.
    chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chunk {
    /// The entities' high 16 bits.
    pub(crate) key: u16,
    pub(crate) layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Layout {
    /// Blocks of [`BLOCK_ROWS`] rows of 64 entities ([`word_at`]): per row,
    /// which of its entities have a value, then which have the highest bit
    /// set, the next one, … down to bit 0. A block holds the presence words
    /// of its rows side by side, then their highest-bit words, and so on, so
    /// a comparison (highest bit first) reads memory in ascending order.
    Dense(Box<[u64]>),
    /// Entities (low 16 bits) in ascending order and their values.
    Sparse { lows: Box<[u16]>, values: Box<[u32]> },
}

/// Which chunk form is smaller; the unit tests alternate forms by key
/// instead, so every operation meets both on small data.
fn takes_dense_form(key: u16, entities: usize, bits: u32) -> bool {
    if cfg!(test) {
        return key.is_multiple_of(2);
    }
    entities * SPARSE_ENTITY_BYTES > CHUNK_BYTES * (bits as usize + 1)
}

/// Rows per block of a dense chunk. A row's comparison is a chain of
/// dependent steps, one per bit; a block compares its rows side by side, so
/// the steps of eight chains overlap and each step's words are adjacent.
const BLOCK_ROWS: usize = 8;

/// Where row `row`'s word of `slice` lies in a dense chunk of `width`
/// slices: slice 0 is presence, slice `width - 1 - b` holds bit `b`.
fn word_at(row: usize, slice: usize, width: usize) -> usize {
    (row / BLOCK_ROWS) * BLOCK_ROWS * width + slice * BLOCK_ROWS + row % BLOCK_ROWS
}

/// The slice of a dense chunk of `width` slices holding bit `bit`.
fn slice_of_bit(bit: usize, width: usize) -> usize {
    width - 1 - bit
}

type Block = [u64; BLOCK_ROWS];

/// Which entities of a block's rows hold a value of at least `c`, with
/// `1 ≤ c < 2^bits`, from the highest bit down (O'Neil's algorithm on one
/// word of each slice). `covering` keeps the entities whose bits so far
/// include every set bit of `c`; where `c` has a 0 and such an entity a 1,
/// it is greater. O'Neil's also drops those from `covering`, which changes
/// nothing: they are already counted. Bits of `c` below its lowest set bit
/// change nothing and are skipped.
#[inline(always)]
fn at_least_in_block(slices: &[Block], c: u32) -> Block {
    let mut greater = [0u64; BLOCK_ROWS];
    let mut covering = slices[0];
    let lowest = slice_of_bit(c.trailing_zeros() as usize, slices.len());
    for (at, slice) in slices.iter().enumerate().take(lowest + 1).skip(1) {
        if c >> slice_of_bit(at, slices.len()) & 1 == 1 {
            for (covering, slice) in covering.iter_mut().zip(slice) {
                *covering &= slice;
            }
        } else {
            for ((greater, covering), slice) in greater.iter_mut().zip(&covering).zip(slice) {
                *greater |= covering & slice;
            }
        }
    }
    std::array::from_fn(|r| greater[r] | covering[r])
}

/// Values in `from..past` (`past: None` is open above), already clamped
/// to what the index can hold.
#[derive(Clone, Copy)]
struct Range {
    from: u32,
    past: Option<u32>,
}

impl Range {
    fn contains(self, value: u32) -> bool {
        self.from <= value && self.past.is_none_or(|past| value < past)
    }

    /// The entities of a block's rows in the range. The block is in the
    /// cache after the first bound, so a closed range reads memory once.
    fn block(self, slices: &[Block]) -> Block {
        let mut from = if self.from == 0 {
            slices[0]
        } else {
            at_least_in_block(slices, self.from)
        };
        if let Some(past) = self.past {
            for (from, past) in from.iter_mut().zip(at_least_in_block(slices, past)) {
                *from &= !past;
            }
        }
        from
    }
}

/// A dense chunk's words as blocks of slices.
fn blocks(words: &[u64], width: usize) -> impl Iterator<Item = &[Block]> {
    let (blocks, rest) = words.as_chunks::<BLOCK_ROWS>();
    debug_assert!(rest.is_empty());
    blocks.chunks_exact(width)
}

impl Chunk {
    /// This chunk's entities in `range`, as the 8 KiB little-endian bitmap
    /// `out` (zeroed on entry).
    fn select(&self, bits: u32, range: Range, out: &mut [u8]) {
        match &self.layout {
            Layout::Dense(words) => {
                let out = out.chunks_exact_mut(8 * BLOCK_ROWS);
                for (slices, out) in blocks(words, bits as usize + 1).zip(out) {
                    for (word, out) in range.block(slices).iter().zip(out.chunks_exact_mut(8)) {
                        out.copy_from_slice(&word.to_le_bytes());
                    }
                }
            }
            Layout::Sparse { lows, values } => {
                for (low, value) in lows.iter().zip(values.iter()) {
                    if range.contains(*value) {
                        out[usize::from(*low) / 8] |= 1 << (low % 8);
                    }
                }
            }
        }
    }

    fn value_of(&self, bits: u32, low: u16) -> Option<u32> {
        match &self.layout {
            Layout::Dense(words) => {
                let width = bits as usize + 1;
                let row = usize::from(low / 64);
                let has = |slice| words[word_at(row, slice, width)] >> (low % 64) & 1 == 1;
                has(0).then(|| {
                    (0..bits as usize)
                        .map(|b| u32::from(has(slice_of_bit(b, width))) << b)
                        .sum()
                })
            }
            Layout::Sparse { lows, values } => lows.binary_search(&low).ok().map(|i| values[i]),
        }
    }

    fn bytes(&self) -> usize {
        match &self.layout {
            Layout::Dense(words) => words.len() * 8,
            Layout::Sparse { lows, .. } => lows.len() * SPARSE_ENTITY_BYTES,
        }
    }

    /// Entities with a value in this chunk.
    fn len(&self, bits: u32) -> u64 {
        match &self.layout {
            Layout::Dense(words) => blocks(words, bits as usize + 1)
                .flat_map(|slices| slices[0])
                .map(|w| u64::from(w.count_ones()))
                .sum(),
            Layout::Sparse { lows, .. } => lows.len() as u64,
        }
    }
}

impl BitSlicedIndex {
    /// Builds from `(entity, value)` pairs in ascending entity order.
    pub fn from_sorted(pairs: impl IntoIterator<Item = (u32, u32)>, max_value: u32) -> BitSlicedIndex {
        let bits = u32::BITS - max_value.leading_zeros();
        let mut present = Vec::new();
        let mut chunks = Vec::new();
        let mut pending: Vec<(u16, u32)> = Vec::new();
        let mut pending_key = 0u16;
        for (entity, value) in pairs {
            let key = (entity >> 16) as u16;
            if key != pending_key && !pending.is_empty() {
                chunks.push(Chunk::build(pending_key, &pending, bits));
                pending.clear();
            }
            pending_key = key;
            pending.push((entity as u16, value));
            present.push(entity);
        }
        if !pending.is_empty() {
            chunks.push(Chunk::build(pending_key, &pending, bits));
        }
        BitSlicedIndex {
            present: RoaringBitmap::from_sorted_iter(present).expect("entities ascend"),
            bits,
            chunks,
        }
    }

    /// Reassembles stored parts, checking that they agree.
    pub(crate) fn from_parts(
        present: RoaringBitmap,
        bits: u32,
        chunks: Vec<Chunk>,
    ) -> Option<BitSlicedIndex> {
        let width = bits as usize + 1;
        let well_formed = bits <= u32::BITS
            && chunks.windows(2).all(|w| w[0].key < w[1].key)
            && chunks.iter().all(|chunk| match &chunk.layout {
                Layout::Dense(words) => words.len() == WORDS * width,
                Layout::Sparse { lows, values } => {
                    lows.len() == values.len()
                        && lows.windows(2).all(|w| w[0] < w[1])
                        && (bits == u32::BITS || values.iter().all(|v| v >> bits == 0))
                }
            })
            && chunks.iter().map(|chunk| chunk.len(bits)).sum::<u64>() == present.len();
        well_formed.then_some(BitSlicedIndex {
            present,
            bits,
            chunks,
        })
    }

    pub(crate) fn bits(&self) -> u32 {
        self.bits
    }

    pub(crate) fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// `(entity, value)` in ascending entity order.
    pub fn pairs(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.present.iter().map(|entity| {
            (
                entity,
                self.value_of(entity).expect("a present entity has a value"),
            )
        })
    }

    /// One entity's value.
    pub fn value_of(&self, entity: u32) -> Option<u32> {
        let key = (entity >> 16) as u16;
        let at = self.chunks.binary_search_by_key(&key, |c| c.key).ok()?;
        self.chunks[at].value_of(self.bits, entity as u16)
    }

    /// Entities whose value is at least `c`.
    pub fn at_least(&self, c: u32) -> RoaringBitmap {
        self.select(c, None)
    }

    /// Entities whose value is at most `c`.
    pub fn at_most(&self, c: u32) -> RoaringBitmap {
        self.select(0, c.checked_add(1))
    }

    /// Entities whose value lies in `lo..=hi`.
    pub fn between(&self, lo: u32, hi: u32) -> RoaringBitmap {
        if lo > hi {
            return RoaringBitmap::new();
        }
        self.select(lo, hi.checked_add(1))
    }

    /// How many entities of `within` hold a value of at least each of
    /// `bounds`: a small set by looking its members up, a large one by a
    /// pass per bound.
    pub fn count_at_least_within(&self, bounds: &[u32], within: &RoaringBitmap) -> Vec<u64> {
        if within.len().saturating_mul(16) >= self.present.len() {
            return bounds
                .iter()
                .map(|c| self.at_least(*c).intersection_len(within))
                .collect();
        }
        let mut counts = vec![0u64; bounds.len()];
        for value in (within & &self.present).iter().filter_map(|e| self.value_of(e)) {
            // Bounds are ascending: the value counts for each bound up to it.
            let reached = bounds.partition_point(|bound| *bound <= value);
            for count in &mut counts[..reached] {
                *count += 1;
            }
        }
        counts
    }

    /// Entities whose value lies in `from..past` (`None`: no upper bound).
    fn select(&self, from: u32, past: Option<u32>) -> RoaringBitmap {
        let fits = |c: u32| self.bits >= u32::BITS || c >> self.bits == 0;
        let past = past.filter(|past| fits(*past));
        if !fits(from) || past.is_some_and(|past| past <= from) {
            return RoaringBitmap::new();
        }
        if from == 0 && past.is_none() {
            return self.present.clone();
        }
        let Some(last) = self.chunks.last() else {
            return RoaringBitmap::new();
        };
        let range = Range { from, past };
        let mut bytes = vec![0u8; (usize::from(last.key) + 1) * CHUNK_BYTES];
        let split = self.present.len() >= super::parallel::SPLIT_FROM;
        super::parallel::for_each_piece(split, &mut bytes, CHUNK_BYTES, |key, out| {
            if let Ok(at) = self.chunks.binary_search_by_key(&(key as u16), |c| c.key) {
                self.chunks[at].select(self.bits, range, out);
            }
        });
        RoaringBitmap::from_lsb0_bytes(0, &bytes)
    }

    /// Bytes held, for the index's memory report.
    pub fn bytes(&self) -> usize {
        self.present.serialized_size() + self.chunks.iter().map(Chunk::bytes).sum::<usize>()
    }
}

impl Chunk {
    fn build(key: u16, entries: &[(u16, u32)], bits: u32) -> Chunk {
        let layout = if takes_dense_form(key, entries.len(), bits) {
            let width = bits as usize + 1;
            let mut words = vec![0u64; WORDS * width].into_boxed_slice();
            for (low, value) in entries {
                let row = usize::from(low / 64);
                let bit = 1u64 << (low % 64);
                words[word_at(row, 0, width)] |= bit;
                for b in 0..bits as usize {
                    if value >> b & 1 == 1 {
                        words[word_at(row, slice_of_bit(b, width), width)] |= bit;
                    }
                }
            }
            Layout::Dense(words)
        } else {
            Layout::Sparse {
                lows: entries.iter().map(|(low, _)| *low).collect(),
                values: entries.iter().map(|(_, value)| *value).collect(),
            }
        };
        Chunk { key, layout }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn comparisons_equal_a_scan(
            values in proptest::collection::btree_map(0u32..4 * CHUNK, 0u32..300, 0..400),
            lo in 0u32..320,
            hi in 0u32..320,
            within in proptest::collection::btree_set(0u32..4 * CHUNK, 0..100),
        ) {
            let max = values.values().copied().max().unwrap_or(0);
            let bsi = BitSlicedIndex::from_sorted(values.iter().map(|(e, v)| (*e, *v)), max);
            let scan = |f: &dyn Fn(u32) -> bool| -> RoaringBitmap {
                values.iter().filter(|(_, v)| f(**v)).map(|(e, _)| *e).collect()
            };
            prop_assert_eq!(bsi.at_least(lo), scan(&|v| v >= lo));
            prop_assert_eq!(bsi.at_most(hi), scan(&|v| v <= hi));
            prop_assert_eq!(bsi.between(lo, hi), scan(&|v| lo <= v && v <= hi));
            prop_assert_eq!(bsi.present.len() as usize, values.len());
            prop_assert!(bsi.pairs().eq(values.iter().map(|(e, v)| (*e, *v))));
            // Both ways of counting within a set: its members looked up, or a pass per bound.
            let within: RoaringBitmap = within.into_iter().chain(values.keys().copied().step_by(7)).collect();
            let bounds = [0, lo.min(hi), lo.max(hi)];
            let expected: Vec<u64> = bounds.iter().map(|b| scan(&|v| v >= *b).intersection_len(&within)).collect();
            prop_assert_eq!(bsi.count_at_least_within(&bounds, &within), expected.clone());
            prop_assert_eq!(bsi.count_at_least_within(&bounds, &(&within | &bsi.present)), bounds.iter().map(|b| scan(&|v| v >= *b).len()).collect::<Vec<_>>());
        }
    }

    #[test]
    fn both_chunk_forms_are_used() {
        let bsi = BitSlicedIndex::from_sorted((0..3 * CHUNK).map(|e| (e, e % 5)), 4);
        let forms: Vec<bool> = bsi
            .chunks()
            .iter()
            .map(|c| matches!(c.layout, Layout::Dense(_)))
            .collect();
        assert_eq!(forms, [true, false, true]);
        let expected = (0..3 * CHUNK).filter(|e| (1..=3).contains(&(e % 5))).count();
        assert_eq!(bsi.between(1, 3).len(), expected as u64);
    }

    #[test]
    fn extreme_constants() {
        let bsi = BitSlicedIndex::from_sorted([(1, 0), (2, 7), (3, u32::MAX)], u32::MAX);
        assert_eq!(bsi.at_least(u32::MAX).iter().collect::<Vec<_>>(), [3]);
        assert_eq!(bsi.at_most(u32::MAX).len(), 3);
        assert_eq!(bsi.between(1, 7).iter().collect::<Vec<_>>(), [2]);
        let wide = BitSlicedIndex::from_sorted((0..CHUNK).map(|e| (e, e << 16)), u32::MAX);
        assert_eq!(wide.between(1 << 16, u32::MAX).len(), u64::from(CHUNK) - 1);
        assert_eq!(wide.value_of(9), Some(9 << 16));
        let empty = BitSlicedIndex::from_sorted([(5, 0)], 0);
        assert_eq!(empty.bits(), 0);
        assert_eq!(empty.at_least(1).len(), 0);
        assert_eq!(empty.at_most(0).len(), 1);
    }
}
