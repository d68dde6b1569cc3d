//! A compact binary form of built partitions and day blocks, so a server
//! restart reads bitmaps instead of rebuilding them from millions of rows.
//! Bitmaps use roaring's portable serialization; numbers are little-endian.

use std::collections::HashMap;
use std::io::{self, Read};

use roaring::RoaringBitmap;

use super::bsi::{BitSlicedIndex, Chunk, Layout};
use super::index::*;

/// Bumped whenever the layout changes; older snapshots are rebuilt.
const VERSION: u8 = 5;

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn text(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn bitmap(&mut self, b: &RoaringBitmap) {
        self.len(b.serialized_size());
        b.serialize_into(&mut self.0).expect("writing to a Vec");
    }
    fn u32s(&mut self, v: &[u32]) {
        self.len(v.len());
        self.0.extend(v.iter().flat_map(|x| x.to_le_bytes()));
    }
    fn u16s(&mut self, v: &[u16]) {
        self.len(v.len());
        self.0.extend(v.iter().flat_map(|x| x.to_le_bytes()));
    }
    fn u64s(&mut self, v: &[u64]) {
        self.len(v.len());
        self.0.extend(v.iter().flat_map(|x| x.to_le_bytes()));
    }
}

struct In<'a>(&'a [u8]);

fn corrupt(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("corrupt index snapshot: {what}"),
    )
}

impl In<'_> {
    fn bytes(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.0.len() < n {
            return Err(corrupt("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.bytes(1)?[0])
    }
    fn u32(&mut self) -> io::Result<u32> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.bytes(8)?.try_into().expect("8 bytes")))
    }
    fn len(&mut self) -> io::Result<usize> {
        let n = self.u64()? as usize;
        // No length can exceed what is left: guards allocations on corrupt input.
        if n > self.0.len() * 8 + 8 {
            return Err(corrupt("length out of range"));
        }
        Ok(n)
    }
    fn text(&mut self) -> io::Result<String> {
        let n = self.len()?;
        String::from_utf8(self.bytes(n)?.to_vec()).map_err(|_| corrupt("text"))
    }
    fn bitmap(&mut self) -> io::Result<RoaringBitmap> {
        let n = self.len()?;
        let mut bytes = self.bytes(n)?;
        let bitmap = RoaringBitmap::deserialize_from(&mut bytes)?;
        if bytes.read(&mut [0])? != 0 {
            return Err(corrupt("bitmap length"));
        }
        Ok(bitmap)
    }
    /// `n` little-endian numbers of `N` bytes, decoded in one pass.
    fn numbers<const N: usize, T>(&mut self, from: fn([u8; N]) -> T) -> io::Result<Vec<T>> {
        let n = self.len()?;
        let bytes = self.bytes(n.checked_mul(N).ok_or_else(|| corrupt("length out of range"))?)?;
        Ok(bytes
            .chunks_exact(N)
            .map(|b| from(b.try_into().expect("N bytes")))
            .collect())
    }
    fn u16s(&mut self) -> io::Result<Vec<u16>> {
        self.numbers(u16::from_le_bytes)
    }
    fn u32s(&mut self) -> io::Result<Vec<u32>> {
        self.numbers(u32::from_le_bytes)
    }
    fn u64s(&mut self) -> io::Result<Vec<u64>> {
        self.numbers(u64::from_le_bytes)
    }
}

fn put_categorical(out: &mut Out, p: &CategoricalPartition) {
    out.bitmap(&p.present);
    let mut values: Vec<(&String, &RoaringBitmap)> = p.by_value.iter().collect();
    values.sort_by(|a, b| a.0.cmp(b.0));
    out.len(values.len());
    for (value, bitmap) in values {
        out.text(value);
        out.bitmap(bitmap);
    }
}

fn get_categorical(input: &mut In) -> io::Result<CategoricalPartition> {
    let present = input.bitmap()?;
    let n = input.len()?;
    let mut by_value = HashMap::with_capacity(n);
    for _ in 0..n {
        let value = input.text()?;
        by_value.insert(value, input.bitmap()?);
    }
    Ok(CategoricalPartition { present, by_value })
}

/// Keys as 8 little-endian bytes.
trait KeyBytes: Key {
    fn to_bits(self) -> u64;
    fn from_bits(bits: u64) -> Self;
}

impl KeyBytes for f64 {
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
}

impl KeyBytes for i64 {
    fn to_bits(self) -> u64 {
        self as u64
    }
    fn from_bits(bits: u64) -> Self {
        bits as i64
    }
}

fn put_bsi(out: &mut Out, bsi: &BitSlicedIndex) {
    out.bitmap(&bsi.present);
    out.u32(bsi.bits());
    out.len(bsi.chunks().len());
    for chunk in bsi.chunks() {
        out.u32(u32::from(chunk.key));
        match &chunk.layout {
            Layout::Dense(words) => {
                out.u8(0);
                out.u64s(words);
            }
            Layout::Sparse { lows, values } => {
                out.u8(1);
                out.u16s(lows);
                out.u32s(values);
            }
        }
    }
}

/// The rest of a bit-sliced index whose `present` bitmap was just read.
fn get_bsi(input: &mut In, present: RoaringBitmap) -> io::Result<BitSlicedIndex> {
    let bits = input.u32()?;
    let chunks = (0..input.len()?)
        .map(|_| {
            let key = u16::try_from(input.u32()?).map_err(|_| corrupt("chunk key"))?;
            let layout = match input.u8()? {
                0 => Layout::Dense(input.u64s()?.into()),
                1 => Layout::Sparse {
                    lows: input.u16s()?.into(),
                    values: input.u32s()?.into(),
                },
                _ => return Err(corrupt("chunk form")),
            };
            Ok(Chunk { key, layout })
        })
        .collect::<io::Result<Vec<_>>>()?;
    BitSlicedIndex::from_parts(present, bits, chunks).ok_or_else(|| corrupt("bit-sliced chunks"))
}

fn put_ordered<K: KeyBytes>(out: &mut Out, p: &OrderedPartition<K>) {
    out.len(p.keys.len());
    for k in &p.keys {
        out.u64(k.to_bits());
    }
    out.u32s(&p.rank_counts);
    put_bsi(out, &p.bsi);
    match &p.by_entity {
        None => out.u8(0),
        Some(_) => {
            // The members are the present bitmap; only their values are written.
            out.u8(1);
            out.len(p.bsi.present.len() as usize);
            for (_, v) in p.values() {
                out.u64(v.to_bits());
            }
        }
    }
}

fn get_ordered<K: KeyBytes>(input: &mut In) -> io::Result<OrderedPartition<K>> {
    let n = input.len()?;
    let keys = (0..n)
        .map(|_| input.u64().map(K::from_bits))
        .collect::<io::Result<Vec<K>>>()?;
    let rank_counts = input.u32s()?;
    let present = input.bitmap()?;
    if rank_counts.len() != keys.len()
        || rank_counts.iter().map(|c| u64::from(*c)).sum::<u64>() != present.len()
    {
        return Err(corrupt("rank counts"));
    }
    let bsi = get_bsi(input, present)?;
    let present = &bsi.present;
    let by_entity = match input.u8()? {
        0 => None,
        1 => {
            let stored = input.u64s()?;
            if stored.len() as u64 != present.len() {
                return Err(corrupt("value count"));
            }
            // Straight into place: the values come in the members' order.
            let mut values = vec![K::default(); present.max().map_or(0, |m| m as usize + 1)];
            for (entity, bits) in present.iter().zip(stored) {
                values[entity as usize] = K::from_bits(bits);
            }
            Some(values)
        }
        _ => return Err(corrupt("value tag")),
    };
    Ok(OrderedPartition {
        keys,
        bsi,
        by_entity,
        rank_counts,
    })
}

fn header(out: &mut Out, kind: u8) {
    out.u8(VERSION);
    out.u8(kind);
}

fn check_header(input: &mut In, kind: u8) -> io::Result<()> {
    if input.u8()? != VERSION {
        return Err(corrupt("version"));
    }
    if input.u8()? != kind {
        return Err(corrupt("kind"));
    }
    Ok(())
}

pub fn encode_partition(partition: &ProfilePartition) -> Vec<u8> {
    let mut out = Out(Vec::new());
    header(&mut out, b'P');
    match partition {
        ProfilePartition::Categorical(p) => {
            out.u8(0);
            put_categorical(&mut out, p);
        }
        ProfilePartition::Number(p) => {
            out.u8(1);
            put_ordered(&mut out, p);
        }
        ProfilePartition::Time(p) => {
            out.u8(2);
            put_ordered(&mut out, p);
        }
    }
    out.0
}

pub fn decode_partition(bytes: &[u8]) -> io::Result<ProfilePartition> {
    let mut input = In(bytes);
    check_header(&mut input, b'P')?;
    let partition = match input.u8()? {
        0 => ProfilePartition::Categorical(get_categorical(&mut input)?),
        1 => ProfilePartition::Number(get_ordered(&mut input)?),
        2 => ProfilePartition::Time(get_ordered(&mut input)?),
        _ => return Err(corrupt("partition kind")),
    };
    if !input.0.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(partition)
}

pub fn encode_day(block: &DayBlock) -> Vec<u8> {
    let mut out = Out(Vec::new());
    header(&mut out, b'D');
    out.u32s(&block.entities);
    out.u32s(&block.counts);
    out.len(block.columns.len());
    for column in &block.columns {
        match column {
            AttrColumn::Categorical(p) => {
                out.u8(0);
                put_categorical(&mut out, p);
            }
            AttrColumn::Number(p) => {
                out.u8(1);
                put_ordered(&mut out, p);
            }
        }
    }
    out.u32s(&block.totals.entities);
    out.u32s(&block.totals.counts);
    out.bitmap(&block.totals.positive);
    out.0
}

pub fn decode_day(bytes: &[u8]) -> io::Result<DayBlock> {
    let mut input = In(bytes);
    check_header(&mut input, b'D')?;
    let entities = input.u32s()?;
    let counts = input.u32s()?;
    if counts.len() != entities.len() {
        return Err(corrupt("row count"));
    }
    let mut columns = Vec::new();
    for _ in 0..input.len()? {
        columns.push(match input.u8()? {
            0 => AttrColumn::Categorical(get_categorical(&mut input)?),
            1 => AttrColumn::Number(get_ordered(&mut input)?),
            _ => return Err(corrupt("column kind")),
        });
    }
    let totals = EntityCounts {
        entities: input.u32s()?,
        counts: input.u32s()?,
        positive: input.bitmap()?,
    };
    if !input.0.is_empty() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(DayBlock {
        entities,
        counts,
        columns,
        totals,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::catalog::DataType;

    fn same_partition(a: &ProfilePartition, b: &ProfilePartition) -> bool {
        match (a, b) {
            (ProfilePartition::Categorical(a), ProfilePartition::Categorical(b)) => {
                a.present == b.present && a.by_value == b.by_value
            }
            (ProfilePartition::Number(a), ProfilePartition::Number(b)) => {
                a.keys
                    .iter()
                    .map(|k| k.to_bits())
                    .eq(b.keys.iter().map(|k| k.to_bits()))
                    && a.bsi == b.bsi
                    && a.rank_counts == b.rank_counts
                    && a.by_entity.is_some() == b.by_entity.is_some()
                    && (a.by_entity.is_none()
                        || a.values()
                            .map(|(e, v)| (e, v.to_bits()))
                            .eq(b.values().map(|(e, v)| (e, v.to_bits()))))
            }
            (ProfilePartition::Time(a), ProfilePartition::Time(b)) => {
                a.keys == b.keys && a.bsi == b.bsi && a.rank_counts == b.rank_counts
            }
            _ => false,
        }
    }

    proptest! {
        #[test]
        fn partitions_round_trip(
            texts in proptest::collection::btree_map(0u32..100_000, "[a-c ]{0,3}", 0..200),
            numbers in proptest::collection::btree_map(0u32..100_000, -1e6f64..1e6, 0..200),
            times in proptest::collection::btree_map(0u32..100_000, any::<i64>(), 0..200),
            keep_ranks in any::<bool>(),
        ) {
            let partitions = [
                ProfilePartition::Categorical(CategoricalPartition::build(texts.into_iter().collect())),
                ProfilePartition::Number(OrderedPartition::build(numbers.into_iter().collect(), keep_ranks)),
                ProfilePartition::Time(OrderedPartition::build(times.into_iter().collect(), false)),
            ];
            for partition in &partitions {
                let bytes = encode_partition(partition);
                let back = decode_partition(&bytes).unwrap();
                prop_assert!(same_partition(partition, &back));
                // Any truncation is an error, never a panic or a wrong partition.
                prop_assert!(decode_partition(&bytes[..bytes.len() - 1]).is_err());
            }
        }

        #[test]
        fn day_blocks_round_trip(
            rows in proptest::collection::vec((0u32..500, 0u32..5, proptest::option::of(0u8..3), proptest::option::of(0i32..4)), 0..300),
        ) {
            let rows: Vec<(u32, u32, Vec<AttrValue>)> = rows
                .into_iter()
                .map(|(e, c, text, number)| {
                    (e, c, vec![
                        text.map_or(AttrValue::Missing, |t| AttrValue::Text(((b'x' + t) as char).to_string())),
                        number.map_or(AttrValue::Missing, |n| AttrValue::Number(n as f64)),
                    ])
                })
                .collect();
            let block = DayBlock::build(rows, &[DataType::Enum, DataType::Number]);
            let back = decode_day(&encode_day(&block)).unwrap();
            prop_assert_eq!(&back.entities, &block.entities);
            prop_assert_eq!(&back.counts, &block.counts);
            prop_assert_eq!(&back.totals.entities, &block.totals.entities);
            prop_assert_eq!(&back.totals.counts, &block.totals.counts);
            prop_assert_eq!(&back.totals.positive, &block.totals.positive);
            prop_assert_eq!(back.columns.len(), 2);
            let (AttrColumn::Categorical(a), AttrColumn::Categorical(b)) = (&back.columns[0], &block.columns[0]) else {
                panic!("column kinds")
            };
            prop_assert_eq!(&a.by_value, &b.by_value);
            let (AttrColumn::Number(a), AttrColumn::Number(b)) = (&back.columns[1], &block.columns[1]) else {
                panic!("column kinds")
            };
            prop_assert_eq!(&a.bsi, &b.bsi);
            prop_assert_eq!(&a.keys, &b.keys);
        }
    }
}
