use roaring::RoaringBitmap;

use super::index::*;
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
    /// when given to the union of the audiences of `audience_scopes`.
    pub fn evaluate(
        &self,
        plan: &Plan,
        audience_scopes: Option<&[String]>,
    ) -> Result<RoaringBitmap, EvalError> {
        let population = self.population(plan.target);
        let mut result = RoaringBitmap::new();
        for group in &plan.groups {
            result |= self.evaluate_group(group, &population)?;
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
    ) -> Result<RoaringBitmap, EvalError> {
        let mut acc: Option<RoaringBitmap> = None;
        for condition in group {
            let set = match condition {
                PlanCondition::Profile(p) => self.profile(p)?,
                PlanCondition::Behavior(b) => self.behavior(b, population)?,
            };
            acc = Some(match acc {
                None => set,
                Some(acc) => acc & set,
            });
            if acc.as_ref().is_some_and(RoaringBitmap::is_empty) {
                break;
            }
        }
        Ok(acc.unwrap_or_default())
    }

    fn profile(&self, p: &ProfilePlan) -> Result<RoaringBitmap, EvalError> {
        let index = self
            .profiles
            .get(&p.tag)
            .ok_or_else(|| EvalError::MissingTag(p.tag.clone()))?;
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
                let (ProfilePartition::Number(from), ProfilePartition::Number(to)) = (from, to) else {
                    return Err(mismatch(&p.tag, from, "number"));
                };
                Ok(diff(from, to, cmp))
            }
            ProfileTest::Changed {
                from,
                to,
                from_values,
                to_values,
            } => {
                let (Some(from), Some(to)) = (partition(from), partition(to)) else {
                    return Ok(RoaringBitmap::new());
                };
                let (ProfilePartition::Categorical(from), ProfilePartition::Categorical(to)) = (from, to)
                else {
                    return Err(mismatch(&p.tag, from, "enum"));
                };
                Ok(from.any_of(from_values) & to.any_of(to_values))
            }
        }
    }

    fn behavior(&self, plan: &BehaviorPlan, population: &RoaringBitmap) -> Result<RoaringBitmap, EvalError> {
        let index = self
            .behaviors
            .get(&plan.behavior)
            .ok_or_else(|| EvalError::MissingTag(plan.behavior.clone()))?;
        let filters: Vec<(usize, &ValuePred)> = plan
            .filters
            .iter()
            .map(|f| {
                let column = index.attributes.iter().position(|(code, _)| *code == f.attr);
                column
                    .map(|c| (c, &f.pred))
                    .ok_or_else(|| EvalError::MissingTag(format!("{}.{}", plan.behavior, f.attr)))
            })
            .collect::<Result<_, _>>()?;
        let days: Vec<&DayBlock> = index
            .days
            .range(plan.from..=plan.to)
            .map(|(_, block)| block)
            .collect();

        // "Did it at least once": the union of entities with a passing event.
        if matches!(plan.count, Cmp::Gte(1) | Cmp::Gt(0)) {
            let mut acted = RoaringBitmap::new();
            for block in &days {
                match passing_rows(block, &filters) {
                    None => acted |= &block.totals.positive,
                    Some(rows) => {
                        let ids = rows
                            .iter()
                            .filter(|row| block.counts[*row as usize] > 0)
                            .map(|row| block.entities[row as usize]);
                        acted |= RoaringBitmap::from_sorted_iter(dedup_sorted(ids))
                            .expect("rows sorted by entity");
                    }
                }
            }
            return Ok(acted);
        }

        // Sum per entity over the window; `touched` holds entities with any passing row.
        let size = population.max().map_or(0, |m| m as usize + 1);
        let mut counts: Vec<u64> = vec![0; size];
        let mut touched = RoaringBitmap::new();
        for block in &days {
            match passing_rows(block, &filters) {
                None => {
                    for (entity, count) in block.totals.entities.iter().zip(&block.totals.counts) {
                        if let Some(sum) = counts.get_mut(*entity as usize) {
                            *sum += *count as u64;
                        }
                    }
                    touched |= RoaringBitmap::from_sorted_iter(block.totals.entities.iter().copied())
                        .expect("ascending entities");
                }
                Some(rows) => {
                    let mut day_ids = Vec::with_capacity(rows.len() as usize);
                    for row in &rows {
                        let entity = block.entities[row as usize];
                        if let Some(sum) = counts.get_mut(entity as usize) {
                            *sum += block.counts[row as usize] as u64;
                            if day_ids.last() != Some(&entity) {
                                day_ids.push(entity);
                            }
                        }
                    }
                    touched |= RoaringBitmap::from_sorted_iter(day_ids).expect("rows sorted by entity");
                }
            }
        }
        let cmp = plan.count;
        let mut result =
            RoaringBitmap::from_sorted_iter(touched.iter().filter(|e| cmp.test(counts[*e as usize] as i64)))
                .expect("ascending");
        if plan.zero_matches() {
            result |= population - &touched;
        }
        Ok(result)
    }
}

fn mismatch(tag: &str, found: &ProfilePartition, expected: &'static str) -> EvalError {
    EvalError::TypeMismatch {
        tag: tag.to_string(),
        found: match found {
            ProfilePartition::Categorical(_) => "enum",
            ProfilePartition::Number(_) => "number",
            ProfilePartition::Time(_) => "datetime",
        },
        expected,
    }
}

fn dedup_sorted(ids: impl Iterator<Item = u32>) -> impl Iterator<Item = u32> {
    let mut last = None;
    ids.filter(move |id| {
        let fresh = last != Some(*id);
        last = Some(*id);
        fresh
    })
}

fn match_pred(tag: &str, partition: &ProfilePartition, pred: &ValuePred) -> Result<RoaringBitmap, EvalError> {
    Ok(match (partition, pred) {
        (ProfilePartition::Categorical(p), ValuePred::In(values)) => p.any_of(values),
        (ProfilePartition::Categorical(p), ValuePred::NotIn(values)) => &p.present - p.any_of(values),
        (ProfilePartition::Number(p), ValuePred::Number(cmp)) => ordered(p, *cmp),
        (ProfilePartition::Time(p), ValuePred::Time(cmp)) => ordered(p, *cmp),
        (partition, pred) => {
            let expected = match pred {
                ValuePred::In(_) | ValuePred::NotIn(_) => "enum",
                ValuePred::Number(_) => "number",
                ValuePred::Time(_) => "datetime",
            };
            return Err(mismatch(tag, partition, expected));
        }
    })
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
fn diff(from: &OrderedPartition<f64>, to: &OrderedPartition<f64>, cmp: &Cmp<f64>) -> RoaringBitmap {
    let mut result = Vec::new();
    let mut from_values = from.values().peekable();
    for (entity, to_value) in to.values() {
        while from_values.peek().is_some_and(|(e, _)| *e < entity) {
            from_values.next();
        }
        if let Some((e, from_value)) = from_values.peek()
            && *e == entity
            && cmp.test(to_value - from_value)
        {
            result.push(entity);
        }
    }
    RoaringBitmap::from_sorted_iter(result).expect("ascending")
}

/// The rows (positions) of a day that pass every attribute filter, or
/// `None` when there are no filters (every row passes). A missing value
/// never passes.
fn passing_rows(block: &DayBlock, filters: &[(usize, &ValuePred)]) -> Option<RoaringBitmap> {
    let mut passing: Option<RoaringBitmap> = None;
    for (column, pred) in filters {
        let rows = match (&block.columns[*column], pred) {
            (AttrColumn::Categorical(p), ValuePred::In(values)) => p.any_of(values),
            (AttrColumn::Categorical(p), ValuePred::NotIn(values)) => &p.present - p.any_of(values),
            (AttrColumn::Number(p), ValuePred::Number(cmp)) => ordered(p, *cmp),
            // The plan and the index disagree on the attribute's type: nothing passes.
            _ => RoaringBitmap::new(),
        };
        passing = Some(match passing {
            None => rows,
            Some(acc) => acc & rows,
        });
    }
    passing
}
