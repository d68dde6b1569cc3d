//! The entity dictionary of one target object: external ID ↔ dense member
//! index, held in memory so uploads, exports, lookups and verification never
//! read the entities table per ID.
//!
//! Layout (about 24 bytes per entity beside the IDs themselves): every ID
//! followed by `\n` in one byte arena in index order — so a run of members
//! is already CSV text and a stored chunk is a slice of it — the end offset
//! of each ID, and a hash table of indexes keyed by the ID's bytes.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

#[derive(Clone, Default)]
pub struct EntityDictionary {
    /// `id\n` of every entity, in index order.
    arena: Vec<u8>,
    /// The arena offset just past each entity's `\n`.
    ends: Vec<u64>,
    /// Indexes, hashed by their ID's bytes.
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl std::fmt::Debug for EntityDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityDictionary")
            .field("entities", &self.len())
            .field("arena_bytes", &self.arena.len())
            .finish_non_exhaustive()
    }
}

/// Why an ID could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictionaryError {
    #[error("entity {0:?} is already in the dictionary")]
    Duplicate(String),
    #[error("entity ID {0:?} holds a line break")]
    LineBreak(String),
    #[error("entity ID {0:?} is not UTF-8 text")]
    NotText(String),
    #[error("the dictionary is full (2^32 entities)")]
    Full,
}

impl EntityDictionary {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> u32 {
        u32::try_from(self.ends.len()).expect("at most 2^32 entities are added")
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Appends `id` as the next index (the population is dense: an import
    /// only ever adds entities at the end).
    pub fn push(&mut self, id: &str) -> Result<u32, DictionaryError> {
        if id.contains('\n') {
            return Err(DictionaryError::LineBreak(id.to_string()));
        }
        let idx = u32::try_from(self.ends.len()).map_err(|_| DictionaryError::Full)?;
        let hash = self.hasher.hash_one(id.as_bytes());
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        match self.table.entry(
            hash,
            |i| id_bytes(arena, ends, *i) == id.as_bytes(),
            |i| hasher.hash_one(id_bytes(arena, ends, *i)),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => Err(DictionaryError::Duplicate(id.to_string())),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(idx);
                self.arena.extend_from_slice(id.as_bytes());
                self.arena.push(b'\n');
                self.ends.push(self.arena.len() as u64);
                Ok(idx)
            }
        }
    }

    /// Appends every ID of `text` (each followed by `\n`, as [`Self::chunk`]
    /// writes them); answers how many.
    pub fn extend_from_lines(&mut self, text: &[u8]) -> Result<u32, DictionaryError> {
        self.reserve(text.iter().filter(|b| **b == b'\n').count(), text.len());
        let mut added = 0;
        for line in text.split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let id = std::str::from_utf8(line)
                .map_err(|_| DictionaryError::NotText(String::from_utf8_lossy(line).into()))?;
            self.push(id)?;
            added += 1;
        }
        Ok(added)
    }

    /// Room for `ids` more IDs of `bytes` in all: growing the hash table as
    /// they come would rehash every ID already in it each time.
    pub fn reserve(&mut self, ids: usize, bytes: usize) {
        self.arena.reserve(bytes);
        self.ends.reserve(ids);
        let (arena, ends, hasher) = (&self.arena, &self.ends, &self.hasher);
        self.table
            .reserve(ids, |i| hasher.hash_one(id_bytes(arena, ends, *i)));
    }

    /// The member index of an external ID.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id.as_bytes());
        self.table
            .find(hash, |i| id_bytes(&self.arena, &self.ends, *i) == id.as_bytes())
            .copied()
    }

    /// The external ID of a member index.
    pub fn id_of(&self, idx: u32) -> Option<&str> {
        self.line_of(idx)
            .map(|line| std::str::from_utf8(&line[..line.len() - 1]).expect("IDs are stored as UTF-8"))
    }

    /// `id\n` of a member index: one CSV line.
    pub fn line_of(&self, idx: u32) -> Option<&[u8]> {
        let idx = idx as usize;
        (idx < self.ends.len()).then(|| &self.arena[offset(&self.ends, idx)..offset(&self.ends, idx + 1)])
    }

    /// The lines of indexes `first..first + count` (clamped to the
    /// dictionary): what a stored chunk holds.
    pub fn chunk(&self, first: u32, count: u32) -> &[u8] {
        let len = self.ends.len();
        let start = (first as usize).min(len);
        let end = (first as usize).saturating_add(count as usize).min(len);
        &self.arena[offset(&self.ends, start)..offset(&self.ends, end)]
    }

    /// Bytes held (arena, offsets and table), for memory reports.
    pub fn approximate_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 8 + self.table.capacity() * 5
    }
}

/// Where the line of index `idx` starts in the arena (`len`: the end).
fn offset(ends: &[u64], idx: usize) -> usize {
    if idx == 0 {
        0
    } else {
        usize::try_from(ends[idx - 1]).expect("the arena fits in memory")
    }
}

fn id_bytes<'a>(arena: &'a [u8], ends: &[u64], idx: u32) -> &'a [u8] {
    let idx = idx as usize;
    &arena[offset(ends, idx)..offset(ends, idx + 1) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_both_ways_and_refuses_a_repeat() {
        let mut dictionary = EntityDictionary::new();
        assert_eq!(dictionary.push("U1"), Ok(0));
        assert_eq!(dictionary.push("U22"), Ok(1));
        assert_eq!(
            dictionary.push("U1"),
            Err(DictionaryError::Duplicate("U1".into()))
        );
        assert_eq!(dictionary.index_of("U22"), Some(1));
        assert_eq!(dictionary.index_of("U2"), None);
        assert_eq!(dictionary.id_of(0), Some("U1"));
        assert_eq!(dictionary.id_of(2), None);
        assert_eq!(dictionary.line_of(1), Some(&b"U22\n"[..]));
        assert_eq!(dictionary.chunk(1, 5), b"U22\n");
        assert!(dictionary.push("a\nb").is_err());
    }

    proptest! {
        /// A dictionary rebuilt from its stored chunks is the same
        /// dictionary, and every ID maps to its position.
        #[test]
        fn chunks_round_trip(ids in prop::collection::hash_set("[A-Za-z0-9_.:-]{1,12}", 0..300), size in 1u32..40) {
            let ids: Vec<String> = ids.into_iter().collect();
            let mut dictionary = EntityDictionary::new();
            for id in &ids {
                dictionary.push(id).unwrap();
            }
            let mut rebuilt = EntityDictionary::new();
            let mut first = 0;
            while first < dictionary.len() {
                rebuilt.extend_from_lines(dictionary.chunk(first, size)).unwrap();
                first += size;
            }
            prop_assert_eq!(rebuilt.len(), dictionary.len());
            for (position, id) in ids.iter().enumerate() {
                let idx = u32::try_from(position).unwrap();
                prop_assert_eq!(rebuilt.index_of(id), Some(idx));
                prop_assert_eq!(rebuilt.id_of(idx), Some(id.as_str()));
            }
            prop_assert_eq!(rebuilt.index_of("not an id"), None);
        }
    }
}
