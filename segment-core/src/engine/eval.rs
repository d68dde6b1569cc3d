use roaring::{MultiOps, RoaringBitmap};

use super::index::*;
use super::parallel::{self, SPLIT_FROM};
use crate::catalog::DataType;
use crate::plan::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("the tag index has no data for {0}; it may still be loading")]
    MissingTag(String),
    #[error("{tag} holds {found} data but the plan expects {expected}")]
    TypeMismatch {
        tag: String,
        found: &'static str,
        expected: &'static str,
    },
}

impl TagIndex {
    /// The members of `plan`'s target population that match it, restricted
    /// when given to the union of the audiences of `audience_scopes`. The
    /// plan is optimized first, as [`crate::sql::compile`] optimizes it.
    pub fn evaluate(
        &self,
        plan: &Plan,
        audience_scopes: Option<&[String]>,
    ) -> Result<RoaringBitmap, EvalError> {
        let plan = optimize(plan.clone()).plan;
        let population = self.population(plan.target);
        let split = population.len() >= SPLIT_FROM;
        let groups = parallel::map(split, &plan.groups, |group| {
            self.evaluate_group(group, &population, split)
        });
        let mut groups = groups.into_iter().collect::<Result<Vec<_>, _>>()?;
        // Into the largest first: a sparse group is added to a dense one bit
        // by bit, where two sparse ones would be merged into a new list.
        groups.sort_by_key(|group| std::cmp::Reverse(group.len()));
        let mut groups = groups.into_iter();
        let mut result = groups.next().unwrap_or_default();
        for group in groups {
            result |= group;
        }
        result &= &population;
        if let Some(scopes) = audience_scopes {
            result &= self.audience(scopes, plan.target);
        }
        Ok(result)
    }

    fn evaluate_group(
        &self,
        group: &[PlanCondition],
        population: &RoaringBitmap,
        split: bool,
    ) -> Result<RoaringBitmap, EvalError> {
        let condition = |condition: &PlanCondition| match condition {
            PlanCondition::Profile(p) => self.profile(p),
            PlanCondition::Behavior(b) => self.behavior(b, population),
        };
        if split && group.len() > 1 {
            // Every condition at once, then the intersection from the smallest.
            let mut sets = parallel::map(true, group, condition)
                .into_iter()
                .collect::<Result<Vec<_>, _>>()?;
            sets.sort_by_key(RoaringBitmap::len);
            let mut sets = sets.into_iter();
            let first = sets.next().unwrap_or_default();
            return Ok(sets.fold(first, |acc, set| acc & set));
        }
        let mut acc: Option<RoaringBitmap> = None;
        for item in group {
            let set = condition(item)?;
            acc = Some(match acc {
                None => set,
                Some(acc) => acc & set,
            });
            // The rest of the group cannot add anyone back.
            if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                break;
            }
        }
        Ok(acc.unwrap_or_default())
    }

    /// The index of `p`'s tag, which must hold the type the plan reads.
    pub(super) fn profile_index(&self, p: &ProfilePlan) -> Result<&ProfileIndex, EvalError> {
        let index = self
            .profiles
            .get(&p.tag)
            .ok_or_else(|| EvalError::MissingTag(p.tag.clone()))?;
        if index.data_type != p.data_type() {
            return Err(EvalError::TypeMismatch {
                tag: p.tag.clone(),
                found: index.data_type.as_str(),
                expected: p.data_type().as_str(),
            });
        }
        Ok(index)
    }

    /// The entities passing a profile condition.
    pub(super) fn profile(&self, p: &ProfilePlan) -> Result<RoaringBitmap, EvalError> {
        let index = self.profile_index(p)?;
        // A ready date without a stored partition had no rows: nothing matches.
        let partition = |date| index.partitions.get(date);
        match &p.test {
            ProfileTest::At { date, pred } => match partition(date) {
                None => Ok(RoaringBitmap::new()),
                Some(partition) => match_pred(&p.tag, partition, pred),
            },
            ProfileTest::Diff { from, to, cmp } => {
                let (Some(from), Some(to)) = (partition(from), partition(to)) else {
                    return Ok(RoaringBitmap::new());
                };
                Ok(diff(numbers(&p.tag, from)?, numbers(&p.tag, to)?, cmp))
            }
            ProfileTest::Changed {
                kind,
                from,
                to,
                from_values,
                to_values,
            } => {
                let (Some(from), Some(to)) = (partition(from), partition(to)) else {
                    return Ok(RoaringBitmap::new());
                };
                let expected = kind.data_type();
                Ok(categories(&p.tag, from, expected)?.any_of(from_values)
                    & categories(&p.tag, to, expected)?.any_of(to_values))
            }
        }
    }

    fn behavior(&self, plan: &BehaviorPlan, population: &RoaringBitmap) -> Result<RoaringBitmap, EvalError> {
        let index = self
            .behaviors
            .get(&plan.behavior)
            .ok_or_else(|| EvalError::MissingTag(plan.behavior.clone()))?;
        let filters = index.filter_columns(plan)?;
        let days: Vec<&DayBlock> = index
            .days
            .range(plan.from..=plan.to)
            .map(|(_, block)| block)
            .collect();

        // Keep the entities whose sums pass, or drop those whose sums fail.
        let (cmp, keep) = match plan.count {
            CountTest::AtLeastOnce => return at_least_once(&days, &filters),
            // "Never" (a count of 0, zero included): no sums to add up either.
            CountTest::NotFailing(cmp) if no_positive_count_passes(cmp) => {
                return Ok(population - at_least_once(&days, &filters)?);
            }
            CountTest::Passing(cmp) => (cmp, true),
            CountTest::NotFailing(cmp) => (cmp, false),
        };
        let split = days.iter().map(|block| block.entities.len() as u64).sum::<u64>() >= SPLIT_FROM;
        let rows = parallel::map(split, &days, |block| {
            Ok(match passing_rows(block, &filters)? {
                None => DayRows::Totals(&block.totals),
                // Gathered here, a day per thread, so that the sums read
                // every day's passing events in order instead of jumping
                // through 30 days' columns at once.
                Some(rows) => {
                    let mut entities = Vec::with_capacity(rows.len() as usize);
                    let mut counts = Vec::with_capacity(rows.len() as usize);
                    for row in &rows {
                        entities.push(block.entities[row as usize]);
                        counts.push(block.counts[row as usize]);
                    }
                    DayRows::Passing { entities, counts }
                }
            })
        })
        .into_iter()
        .collect::<Result<Vec<DayRows>, EvalError>>()?;
        let sums = window_sums(&rows, cmp, keep);
        Ok(if keep {
            sums & population
        } else {
            population - sums
        })
    }
}

/// Whether `cmp` fails every count above zero, so that "zero, or a count
/// passing `cmp`" means "no passing event of positive count".
fn no_positive_count_passes(cmp: Cmp<i64>) -> bool {
    match cmp {
        Cmp::Eq(v) | Cmp::Lte(v) | Cmp::Between(_, v) => v <= 0,
        Cmp::Lt(v) => v <= 1,
        Cmp::Ne(_) | Cmp::Gt(_) | Cmp::Gte(_) => false,
    }
}

/// The entities with a passing event of positive count on one of `days`,
/// the days in two halves side by side when there are many rows.
fn at_least_once(days: &[&DayBlock], filters: &[ColumnFilter]) -> Result<RoaringBitmap, EvalError> {
    let rows: u64 = days.iter().map(|block| block.entities.len() as u64).sum();
    let (left, right) = days.split_at(days.len() / 2);
    if filters.is_empty() {
        let union = |days: &[&DayBlock]| days.iter().map(|block| &block.totals.positive).union();
        let (left, right) = parallel::join(rows >= SPLIT_FROM, || union(left), || union(right));
        return Ok(left | right);
    }
    let Some(last) = days.iter().filter_map(|block| block.entities.last()).max() else {
        return Ok(RoaringBitmap::new());
    };
    // One bit per entity: marking rows costs less than a bitmap per day.
    let bytes = (*last as usize + 1).div_ceil(8);
    let mark = |days: &[&DayBlock]| -> Result<Vec<u8>, EvalError> {
        let mut acted = vec![0u8; bytes];
        for block in days {
            let rows = passing_rows(block, filters)?.expect("filters select rows");
            for row in rows.iter().filter(|row| block.counts[*row as usize] > 0) {
                let entity = block.entities[row as usize];
                acted[entity as usize / 8] |= 1 << (entity % 8);
            }
        }
        Ok(acted)
    };
    let (left, right) = parallel::join(rows >= SPLIT_FROM, || mark(left), || mark(right));
    let mut acted = left?;
    for (byte, other) in acted.iter_mut().zip(right?) {
        *byte |= other;
    }
    Ok(RoaringBitmap::from_lsb0_bytes(0, &acted))
}

impl BehaviorIndex {
    /// Each attribute filter of `plan` with the column it reads, which must
    /// hold the type the filter tests.
    pub(super) fn filter_columns<'p>(
        &self,
        plan: &'p BehaviorPlan,
    ) -> Result<Vec<ColumnFilter<'p>>, EvalError> {
        plan.filters
            .iter()
            .map(|f| {
                let name = || format!("{}.{}", plan.behavior, f.attr);
                let column = self
                    .attributes
                    .iter()
                    .position(|(code, _)| *code == f.attr)
                    .ok_or_else(|| EvalError::MissingTag(name()))?;
                let stored = self.attributes[column].1;
                if stored != f.data_type() {
                    return Err(EvalError::TypeMismatch {
                        tag: name(),
                        found: stored.as_str(),
                        expected: f.data_type().as_str(),
                    });
                }
                Ok(ColumnFilter {
                    behavior: &plan.behavior,
                    column,
                    attr: &f.attr,
                    pred: &f.pred,
                })
            })
            .collect()
    }
}

/// An attribute filter and the column of a day block it reads.
pub(super) struct ColumnFilter<'p> {
    pub behavior: &'p str,
    pub column: usize,
    pub attr: &'p str,
    pub pred: &'p TypedPred,
}

/// One day's events that pass the filters, ascending by entity, as
/// entities and their counts: the day's per-entity totals when nothing
/// filters, else the passing rows' own.
enum DayRows<'a> {
    Totals(&'a EntityCounts),
    Passing { entities: Vec<u32>, counts: Vec<u32> },
}

impl DayRows<'_> {
    fn columns(&self) -> (&[u32], &[u32]) {
        match self {
            DayRows::Totals(totals) => (&totals.entities, &totals.counts),
            DayRows::Passing { entities, counts } => (entities, counts),
        }
    }

    fn len(&self) -> usize {
        self.columns().0.len()
    }

    fn entity(&self, at: usize) -> u32 {
        self.columns().0[at]
    }

    /// The position of the first event of an entity at or past `entity`.
    fn seek(&self, entity: u32) -> usize {
        self.columns().0.partition_point(|e| *e < entity)
    }
}

/// Entities are summed a chunk at a time: 2^16 of them, so the sums and the
/// touched bits stay in the CPU cache whatever the population's size.
const CHUNK_BITS: u32 = 16;

/// The entities with at least one event whose window sum passes `cmp`
/// (`keep`) or fails it (`!keep`). Many events are summed in two halves of
/// the entities (whole chunks each) side by side.
fn window_sums(days: &[DayRows], cmp: Cmp<i64>, keep: bool) -> RoaringBitmap {
    let rows: usize = days.iter().map(DayRows::len).sum();
    let first = days.iter().filter(|d| d.len() > 0).map(|d| d.entity(0)).min();
    let last = days
        .iter()
        .filter(|d| d.len() > 0)
        .map(|d| d.entity(d.len() - 1))
        .max();
    let (Some(first), Some(last)) = (first, last) else {
        return RoaringBitmap::new();
    };
    let middle = (first / 2 + last / 2) >> CHUNK_BITS << CHUNK_BITS;
    if middle <= first {
        return sums_between(days, cmp, keep, 0, u64::from(u32::MAX) + 1);
    }
    let (low, high) = parallel::join(
        rows as u64 >= SPLIT_FROM,
        || sums_between(days, cmp, keep, 0, u64::from(middle)),
        || sums_between(days, cmp, keep, middle, u64::from(u32::MAX) + 1),
    );
    low | high
}

/// [`window_sums`] of the entities in `from..to`, ascending.
fn sums_between(days: &[DayRows], cmp: Cmp<i64>, keep: bool, from: u32, to: u64) -> RoaringBitmap {
    let mut sums = vec![0u64; 1 << CHUNK_BITS];
    let mut touched = vec![0u64; (1 << CHUNK_BITS) / 64];
    let mut cursors: Vec<usize> = days.iter().map(|day| day.seek(from)).collect();
    let last = days
        .iter()
        .filter(|d| d.len() > 0)
        .map(|d| u64::from(d.entity(d.len() - 1)))
        .max()
        .unwrap_or(0);
    // The passing entities of `from..`, a bit each, written a word at a time.
    let span = (to.min(last + 1)).saturating_sub(u64::from(from));
    let mut passing = vec![0u8; span.div_ceil(64) as usize * 8];
    // The next chunk is the one holding the smallest entity not yet summed.
    while let Some(next) = days
        .iter()
        .zip(&cursors)
        .filter(|(day, cursor)| **cursor < day.len())
        .map(|(day, cursor)| day.entity(*cursor))
        .filter(|entity| u64::from(*entity) < to)
        .min()
    {
        let base = next >> CHUNK_BITS << CHUNK_BITS;
        let end = u64::from(base) + (1 << CHUNK_BITS);
        let mut add = |entity: u32, count: u32| {
            let local = (entity - base) as usize;
            sums[local] += u64::from(count);
            touched[local / 64] |= 1 << (local % 64);
        };
        for (day, cursor) in days.iter().zip(cursors.iter_mut()) {
            let (entities, counts) = day.columns();
            while let Some(&entity) = entities.get(*cursor)
                && u64::from(entity) < end
            {
                add(entity, counts[*cursor]);
                *cursor += 1;
            }
        }
        let chunk_at = (base - from) as usize / 8;
        for (word_at, word) in touched.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            let mut passed = 0u64;
            while bits != 0 {
                let local = word_at * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let sum = std::mem::take(&mut sums[local]);
                if sum > 0 && cmp.test(i64::try_from(sum).unwrap_or(i64::MAX)) == keep {
                    passed |= 1 << (local % 64);
                }
            }
            if passed != 0 {
                passing[chunk_at + word_at * 8..][..8].copy_from_slice(&passed.to_le_bytes());
            }
        }
    }
    RoaringBitmap::from_lsb0_bytes(from, &passing)
}

/// What a stored partition holds, in the words of [`DataType::as_str`].
fn stored_kind(partition: &ProfilePartition) -> &'static str {
    match partition {
        ProfilePartition::Categorical(_) => "enum",
        ProfilePartition::Number(_) => "number",
        ProfilePartition::Time(_) => "datetime",
    }
}

fn mismatch(tag: &str, found: &'static str, expected: DataType) -> EvalError {
    EvalError::TypeMismatch {
        tag: tag.to_string(),
        found,
        expected: expected.as_str(),
    }
}

/// A number partition, or the mismatch of a partition that is not one.
fn numbers<'a>(tag: &str, partition: &'a ProfilePartition) -> Result<&'a OrderedPartition<f64>, EvalError> {
    match partition {
        ProfilePartition::Number(p) => Ok(p),
        other => Err(mismatch(tag, stored_kind(other), DataType::Number)),
    }
}

/// An enum or boolean partition, or the mismatch of a partition that is not one.
fn categories<'a>(
    tag: &str,
    partition: &'a ProfilePartition,
    expected: DataType,
) -> Result<&'a CategoricalPartition, EvalError> {
    match partition {
        ProfilePartition::Categorical(p) => Ok(p),
        other => Err(mismatch(tag, stored_kind(other), expected)),
    }
}

fn match_pred(tag: &str, partition: &ProfilePartition, pred: &TypedPred) -> Result<RoaringBitmap, EvalError> {
    Ok(match (partition, pred) {
        (ProfilePartition::Categorical(p), TypedPred::Enum(set) | TypedPred::Boolean(set)) => {
            set_members(p, set)
        }
        (ProfilePartition::Number(p), TypedPred::Number(cmp)) => ordered(p, *cmp),
        (ProfilePartition::Time(p), TypedPred::Datetime(cmp)) => ordered(p, *cmp),
        (partition, pred) => return Err(mismatch(tag, stored_kind(partition), pred.data_type())),
    })
}

/// The members of a categorical partition or column whose value passes `set`.
fn set_members(p: &CategoricalPartition, set: &SetPred) -> RoaringBitmap {
    match set {
        SetPred::In(values) => p.any_of(values),
        SetPred::NotIn(values) => &p.present - p.any_of(values),
    }
}

/// A comparison on an ordered partition, as a range of ranks.
fn ordered<K: Key>(p: &OrderedPartition<K>, cmp: Cmp<K>) -> RoaringBitmap {
    let n = p.keys.len();
    match cmp {
        Cmp::Eq(v) => p.ranks_in(p.count_below(v, false), p.count_below(v, true)),
        Cmp::Ne(v) => &p.bsi.present - p.ranks_in(p.count_below(v, false), p.count_below(v, true)),
        Cmp::Gt(v) => p.ranks_in(p.count_below(v, true), n),
        Cmp::Gte(v) => p.ranks_in(p.count_below(v, false), n),
        Cmp::Lt(v) => p.ranks_in(0, p.count_below(v, false)),
        Cmp::Lte(v) => p.ranks_in(0, p.count_below(v, true)),
        Cmp::Between(lo, hi) => p.ranks_in(p.count_below(lo, false), p.count_below(hi, true)),
    }
}

/// Entities with a value on both dates whose difference `to − from` passes.
pub(super) fn diff(
    from: &OrderedPartition<f64>,
    to: &OrderedPartition<f64>,
    cmp: &Cmp<f64>,
) -> RoaringBitmap {
    let (Some(from_values), Some(to_values)) = (&from.by_entity, &to.by_entity) else {
        unreachable!("number partitions are built with their values")
    };
    let both = &from.bsi.present & &to.bsi.present;
    let Some(last) = both.max() else {
        return RoaringBitmap::new();
    };
    // Both arrays cover every common entity; the others are masked out below.
    let n = last as usize + 1;
    let (from_values, to_values) = (&from_values[..n], &to_values[..n]);
    let mut bytes = vec![0u8; n.div_ceil(8)];
    let split = both.len() >= SPLIT_FROM;
    let out = &mut bytes;
    // One loop per comparison, so the test inside it is a single instruction.
    match *cmp {
        Cmp::Eq(v) => mark_differences(out, from_values, to_values, split, |d| d == v),
        Cmp::Ne(v) => mark_differences(out, from_values, to_values, split, |d| d != v),
        Cmp::Gt(v) => mark_differences(out, from_values, to_values, split, |d| d > v),
        Cmp::Gte(v) => mark_differences(out, from_values, to_values, split, |d| d >= v),
        Cmp::Lt(v) => mark_differences(out, from_values, to_values, split, |d| d < v),
        Cmp::Lte(v) => mark_differences(out, from_values, to_values, split, |d| d <= v),
        Cmp::Between(lo, hi) => mark_differences(out, from_values, to_values, split, |d| lo <= d && d <= hi),
    }
    RoaringBitmap::from_lsb0_bytes(0, &bytes) & both
}

/// Sets bit `e` of `out` (8 entities per byte) where `passes(to[e] − from[e])`,
/// comparing the arrays index by index in pieces of 2^16 entities.
fn mark_differences(
    out: &mut [u8],
    from: &[f64],
    to: &[f64],
    split: bool,
    passes: impl Fn(f64) -> bool + Sync,
) {
    const PIECE_BYTES: usize = 1 << 13;
    parallel::for_each_piece(split, out, PIECE_BYTES, |i, piece| {
        let start = i * PIECE_BYTES * 8;
        let end = (start + piece.len() * 8).min(to.len());
        for (at, (t, f)) in to[start..end].iter().zip(&from[start..end]).enumerate() {
            piece[at / 8] |= u8::from(passes(t - f)) << (at % 8);
        }
    });
}

/// The rows (positions) of a day that pass every attribute filter, or
/// `None` when there are no filters (every row passes). A missing value
/// never passes.
pub(super) fn passing_rows(
    block: &DayBlock,
    filters: &[ColumnFilter],
) -> Result<Option<RoaringBitmap>, EvalError> {
    let mut passing: Option<RoaringBitmap> = None;
    for filter in filters {
        let rows = match (&block.columns[filter.column], filter.pred) {
            (AttrColumn::Categorical(p), TypedPred::Enum(set) | TypedPred::Boolean(set)) => {
                set_members(p, set)
            }
            (AttrColumn::Number(p), TypedPred::Number(cmp)) => ordered(p, *cmp),
            (column, pred) => {
                let found = match column {
                    AttrColumn::Categorical(_) => "enum",
                    AttrColumn::Number(_) => "number",
                };
                return Err(mismatch(
                    &format!("{}.{}", filter.behavior, filter.attr),
                    found,
                    pred.data_type(),
                ));
            }
        };
        passing = Some(match passing {
            None => rows,
            Some(acc) => acc & rows,
        });
    }
    Ok(passing)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use chrono::NaiveDate;
    use proptest::prelude::*;

    use super::*;
    use crate::TargetObject;
    use crate::catalog::DataType;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 8, 4).unwrap()
    }

    /// An index of three enum tags (`t0`…`t2`, values `a`…`c`) over `values[t][entity]`.
    fn index(values: &[Vec<Option<u8>>], scope: &[bool]) -> TagIndex {
        let mut index = TagIndex::default();
        let n = values[0].len() as u32;
        index.populations.insert(TargetObject::User, (0..n).collect());
        for (t, column) in values.iter().enumerate() {
            let pairs: Vec<(u32, String)> = column
                .iter()
                .enumerate()
                .filter_map(|(e, v)| v.map(|v| (e as u32, ((b'a' + v) as char).to_string())))
                .collect();
            index.profiles.insert(
                format!("t{t}"),
                ProfileIndex {
                    data_type: DataType::Enum,
                    partitions: BTreeMap::from([(
                        day(),
                        ProfilePartition::Categorical(CategoricalPartition::build(pairs)),
                    )]),
                },
            );
        }
        let audience: RoaringBitmap = scope
            .iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(e, _)| e as u32)
            .collect();
        index.scopes = HashMap::from([(("merchant:M1".to_string(), TargetObject::User), audience)]);
        index
    }

    fn condition(tag: usize, negate: bool, values: &[u8]) -> PlanCondition {
        let values: Vec<String> = values.iter().map(|v| ((b'a' + v) as char).to_string()).collect();
        PlanCondition::Profile(ProfilePlan {
            tag: format!("t{tag}"),
            test: ProfileTest::At {
                date: day(),
                pred: TypedPred::Enum(if negate {
                    SetPred::NotIn(values)
                } else {
                    SetPred::In(values)
                }),
            },
        })
    }

    fn plan(groups: Vec<Vec<PlanCondition>>) -> Plan {
        Plan {
            target: TargetObject::User,
            as_of: day(),
            time_zone: "UTC".into(),
            groups,
            data_date: Some(day()),
        }
    }

    fn conditions() -> impl Strategy<Value = Vec<(usize, bool, Vec<u8>)>> {
        proptest::collection::vec(
            (0usize..3, any::<bool>(), proptest::collection::vec(0u8..3, 1..3)),
            1..4,
        )
    }

    /// A behavior index over `rows[day] = (entity, count, page)` with pages `a`…`c`.
    fn behavior_index(population: u32, rows: &[Vec<(u32, u32, u8)>]) -> TagIndex {
        let mut index = TagIndex::default();
        index
            .populations
            .insert(TargetObject::User, (0..population).collect());
        let days = rows
            .iter()
            .enumerate()
            .map(|(d, day_rows)| {
                let built = day_rows
                    .iter()
                    .map(|(e, c, page)| (*e, *c, vec![AttrValue::Text(((b'a' + page) as char).to_string())]))
                    .collect();
                (
                    day() + chrono::Duration::days(d as i64),
                    DayBlock::build(built, &[DataType::Enum]),
                )
            })
            .collect();
        index.behaviors.insert(
            "visit".into(),
            BehaviorIndex {
                attributes: vec![("page".into(), DataType::Enum)],
                days,
            },
        );
        index
    }

    fn counts() -> impl Strategy<Value = Cmp<i64>> {
        prop_oneof![
            (0i64..4).prop_map(Cmp::Eq),
            (0i64..4).prop_map(Cmp::Ne),
            (0i64..4).prop_map(Cmp::Gte),
            (0i64..4).prop_map(Cmp::Lt),
            (0i64..4).prop_map(Cmp::Lte),
            (0i64..4).prop_map(Cmp::Gt),
            (0i64..4, 0i64..4).prop_map(|(a, b)| Cmp::Between(a.min(b), a.max(b))),
        ]
    }

    proptest! {
        /// Window counts equal a scan of the rows, with entities in several
        /// 2^16-entity chunks at the same offsets (so sums cannot leak from
        /// one chunk to the next), zero counts, repeated rows and empty days.
        #[test]
        fn behavior_counts_equal_a_scan(
            rows in proptest::collection::vec(
                proptest::collection::vec((0u32..4, 0usize..6, 0u32..3, 0u8..3), 0..30), 1..5),
            filtered in any::<bool>(),
            count in counts(),
        ) {
            const OFFSETS: [u32; 6] = [0, 1, 63, 64, 4095, 65535];
            let population = 4 << 16;
            let rows: Vec<Vec<(u32, u32, u8)>> = rows
                .into_iter()
                .map(|day| day.into_iter().map(|(chunk, at, c, p)| (chunk << 16 | OFFSETS[at], c, p)).collect())
                .collect();
            let index = behavior_index(population, &rows);
            let behavior = BehaviorPlan {
                behavior: "visit".into(),
                from: day(),
                to: day() + chrono::Duration::days(rows.len() as i64 - 1),
                filters: if filtered {
                    vec![AttributePlan {
                        attr: "page".into(),
                        pred: TypedPred::Enum(SetPred::In(vec!["a".into(), "b".into()])),
                    }]
                } else {
                    Vec::new()
                },
                count: CountTest::of(count),
            };
            let mut sums = vec![0i64; population as usize];
            for (entity, c, page) in rows.iter().flatten() {
                if !filtered || *page < 2 {
                    sums[*entity as usize] += i64::from(*c);
                }
            }
            let scan: RoaringBitmap = (0..population).filter(|e| count.test(sums[*e as usize])).collect();
            let rule = plan(vec![vec![PlanCondition::Behavior(behavior)]]);
            // The same members on one thread and on several (every split taken).
            for threads in [1, 3] {
                let found = parallel::on_threads(threads, || index.evaluate(&rule, None)).unwrap();
                prop_assert_eq!(&found, &scan, "{} threads", threads);
            }
        }

        /// Groups are OR-ed, conditions AND-ed, scopes intersected, whatever the data.
        #[test]
        fn rules_follow_the_set_algebra(
            values in proptest::collection::vec(proptest::collection::vec(proptest::option::of(0u8..3), 40), 3),
            scope in proptest::collection::vec(any::<bool>(), 40),
            groups in proptest::collection::vec(conditions(), 1..4),
        ) {
            let index = index(&values, &scope);
            let build = |g: &Vec<(usize, bool, Vec<u8>)>| -> Vec<PlanCondition> {
                g.iter().map(|(t, n, v)| condition(*t, *n, v)).collect()
            };
            let whole = index.evaluate(&plan(groups.iter().map(build).collect()), None).unwrap();
            let mut union = RoaringBitmap::new();
            for group in &groups {
                let mut intersection: Option<RoaringBitmap> = None;
                for c in group {
                    let single = index.evaluate(&plan(vec![vec![condition(c.0, c.1, &c.2)]]), None).unwrap();
                    intersection = Some(match intersection { None => single, Some(acc) => acc & single });
                }
                let group_set = index.evaluate(&plan(vec![build(group)]), None).unwrap();
                prop_assert_eq!(&group_set, intersection.as_ref().unwrap());
                union |= group_set;
            }
            prop_assert_eq!(&whole, &union);
            let rule = plan(groups.iter().map(build).collect());
            prop_assert_eq!(&parallel::on_threads(1, || index.evaluate(&rule, None)).unwrap(), &whole);
            prop_assert_eq!(&parallel::on_threads(3, || index.evaluate(&rule, None)).unwrap(), &whole);
            // A single condition equals a scan of the values (missing never matches).
            let (t, negate, vals) = &groups[0][0];
            let scan: RoaringBitmap = values[*t].iter().enumerate()
                .filter(|(_, v)| v.is_some_and(|v| vals.contains(&v) != *negate))
                .map(|(e, _)| e as u32).collect();
            prop_assert_eq!(index.evaluate(&plan(vec![vec![condition(*t, *negate, vals)]]), None).unwrap(), scan);
            let scoped = index.evaluate(&plan(groups.iter().map(build).collect()), Some(&["merchant:M1".to_string()])).unwrap();
            let audience: RoaringBitmap = scope.iter().enumerate().filter(|(_, s)| **s).map(|(e, _)| e as u32).collect();
            prop_assert_eq!(scoped, whole & audience);
        }

        /// Number ranges on the rank encoding equal a scan, ties and negatives included.
        #[test]
        fn ordered_comparisons_equal_a_scan(
            values in proptest::collection::vec(proptest::option::of(-5i32..5), 0..60),
            a in -6i32..6, b in -6i32..6,
        ) {
            let pairs: Vec<(u32, f64)> = values.iter().enumerate()
                .filter_map(|(e, v)| v.map(|v| (e as u32, v as f64 / 2.0))).collect();
            let partition = OrderedPartition::build(pairs.clone(), true);
            let (a, b) = (a as f64 / 2.0, b as f64 / 2.0);
            for cmp in [Cmp::Eq(a), Cmp::Ne(a), Cmp::Gt(a), Cmp::Gte(a), Cmp::Lt(a), Cmp::Lte(a), Cmp::Between(a.min(b), a.max(b))] {
                let scan: RoaringBitmap = pairs.iter().filter(|(_, v)| cmp.test(*v)).map(|(e, _)| *e).collect();
                prop_assert_eq!(ordered(&partition, cmp), scan, "{:?}", cmp);
            }
            let values_back: Vec<(u32, f64)> = partition.values().collect();
            prop_assert_eq!(values_back, pairs);
        }

        /// Number changes equal a scan of the entities with a value on both
        /// dates, across pieces of 2^16 entities, on 1 and 3 threads.
        #[test]
        fn number_changes_equal_a_scan(
            values in proptest::collection::vec((proptest::option::of(-5i32..5), proptest::option::of(-5i32..5)), 0..60),
            a in -6i32..6, b in -6i32..6,
        ) {
            let spread = |e: usize| e as u32 * 4099;
            let side = |later: bool| -> Vec<(u32, f64)> {
                values.iter().enumerate()
                    .filter_map(|(e, (before, after))| (if later { *after } else { *before }).map(|v| (spread(e), f64::from(v))))
                    .collect()
            };
            let from = OrderedPartition::build(side(false), true);
            let to = OrderedPartition::build(side(true), true);
            let (a, b) = (f64::from(a), f64::from(b));
            for cmp in [Cmp::Eq(a), Cmp::Ne(a), Cmp::Gt(a), Cmp::Gte(a), Cmp::Lt(a), Cmp::Lte(a), Cmp::Between(a.min(b), a.max(b))] {
                let scan: RoaringBitmap = values.iter().enumerate()
                    .filter_map(|(e, v)| Some((spread(e), f64::from(v.1?) - f64::from(v.0?))))
                    .filter(|(_, d)| cmp.test(*d)).map(|(e, _)| e).collect();
                prop_assert_eq!(&parallel::on_threads(1, || diff(&from, &to, &cmp)), &scan, "{:?}", cmp);
                prop_assert_eq!(&parallel::on_threads(3, || diff(&from, &to, &cmp)), &scan, "{:?}", cmp);
            }
        }
    }
}
