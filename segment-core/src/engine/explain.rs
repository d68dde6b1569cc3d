//! Why an entity is in a segment or not: each condition of a plan, checked
//! for a few given entities with the values it read. A condition is
//! evaluated once (the same bitmap operations as [`TagIndex::evaluate`]),
//! then only the given entities' values are read, never the database.

use super::eval::{EvalError, passing_rows};
use super::index::*;
use crate::plan::*;
use chrono::NaiveDate;

/// A stored profile value.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredValue {
    /// Enum and boolean values (`"true"` / `"false"`).
    Text(String),
    Number(f64),
    /// Unix seconds.
    Time(i64),
}

/// What a condition read for one entity.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    /// The value in one partition (`None`: no value that day).
    Value {
        date: NaiveDate,
        value: Option<StoredValue>,
    },
    /// The values on the two dates of a change.
    Change {
        from: NaiveDate,
        from_value: Option<StoredValue>,
        to: NaiveDate,
        to_value: Option<StoredValue>,
    },
    /// The window's events that pass every attribute filter.
    Count {
        from: NaiveDate,
        to: NaiveDate,
        count: u64,
    },
}

impl Observed {
    /// What `test` reads for one entity whose value on a date is `value(date)`.
    pub fn of_profile(test: &ProfileTest, value: impl Fn(&NaiveDate) -> Option<StoredValue>) -> Self {
        match test {
            ProfileTest::At { date, .. } => Observed::Value {
                date: *date,
                value: value(date),
            },
            ProfileTest::Diff { from, to, .. } | ProfileTest::Changed { from, to, .. } => Observed::Change {
                from: *from,
                from_value: value(from),
                to: *to,
                to_value: value(to),
            },
        }
    }
}

/// One condition for one entity: whether it passed, and what it read.
#[derive(Debug, Clone, PartialEq)]
pub struct Explained {
    pub passed: bool,
    pub observed: Observed,
}

impl TagIndex {
    /// `condition` for each of `entities` (in their order).
    pub fn explain(&self, condition: &PlanCondition, entities: &[u32]) -> Result<Vec<Explained>, EvalError> {
        match condition {
            PlanCondition::Profile(p) => self.explain_profile(p, entities),
            PlanCondition::Behavior(b) => self.explain_behavior(b, entities),
        }
    }

    fn explain_profile(&self, p: &ProfilePlan, entities: &[u32]) -> Result<Vec<Explained>, EvalError> {
        let partitions = &self.profile_index(p)?.partitions;
        let passing = self.profile(p)?;
        let value =
            |date: &NaiveDate, entity: u32| partitions.get(date).and_then(|part| value_of(part, entity));
        Ok(entities
            .iter()
            .map(|&e| Explained {
                passed: passing.contains(e),
                observed: Observed::of_profile(&p.test, |date| value(date, e)),
            })
            .collect())
    }

    fn explain_behavior(&self, plan: &BehaviorPlan, entities: &[u32]) -> Result<Vec<Explained>, EvalError> {
        let index = self
            .behaviors
            .get(&plan.behavior)
            .ok_or_else(|| EvalError::MissingTag(plan.behavior.clone()))?;
        let filters = index.filter_columns(plan)?;
        let mut counts = vec![0u64; entities.len()];
        for block in index.days.range(plan.from..=plan.to).map(|(_, block)| block) {
            let passing = passing_rows(block, &filters)?;
            for (sum, &entity) in counts.iter_mut().zip(entities) {
                // Rows ascend by entity: the entity's rows are one run.
                let first = block.entities.partition_point(|e| *e < entity);
                let last = block.entities.partition_point(|e| *e <= entity);
                *sum += (first..last)
                    .filter(|row| passing.as_ref().is_none_or(|p| p.contains(*row as u32)))
                    .map(|row| u64::from(block.counts[row]))
                    .sum::<u64>();
            }
        }
        Ok(counts
            .into_iter()
            .map(|count| Explained {
                passed: plan.count.passes(count),
                observed: Observed::Count {
                    from: plan.from,
                    to: plan.to,
                    count,
                },
            })
            .collect())
    }
}

/// One entity's value in a partition.
fn value_of(partition: &ProfilePartition, entity: u32) -> Option<StoredValue> {
    match partition {
        ProfilePartition::Categorical(p) => p
            .by_value
            .iter()
            .find(|(_, members)| members.contains(entity))
            .map(|(value, _)| StoredValue::Text(value.clone())),
        ProfilePartition::Number(p) => ordered_value(p, entity).map(StoredValue::Number),
        ProfilePartition::Time(p) => ordered_value(p, entity).map(StoredValue::Time),
    }
}

fn ordered_value<K: Key>(p: &OrderedPartition<K>, entity: u32) -> Option<K> {
    let rank = p.bsi.value_of(entity)?;
    p.keys.get(rank as usize).copied()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::TargetObject;
    use crate::catalog::DataType;

    fn day(d: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 8, 1).unwrap() + chrono::Duration::days(d)
    }

    /// Two days of an enum tag `e`, a number tag `n` and a datetime tag `t`
    /// over `values[day][entity] = (enum, number, time)`, and a behavior
    /// `visit` with a `page` attribute over `rows[day] = (entity, count, page)`.
    /// One entity's (enum, number, time) values on a day.
    type Values = (Option<u8>, Option<i8>, Option<i8>);

    fn index(values: &[Vec<Values>], rows: &[Vec<(u32, u32, u8)>]) -> TagIndex {
        let mut index = TagIndex::default();
        let n = values[0].len() as u32;
        index.populations.insert(TargetObject::User, (0..n).collect());
        let mut enums = BTreeMap::new();
        let mut numbers = BTreeMap::new();
        let mut times = BTreeMap::new();
        for (d, column) in values.iter().enumerate() {
            let at = |f: &dyn Fn(&Values) -> Option<i64>| -> Vec<(u32, i64)> {
                column
                    .iter()
                    .enumerate()
                    .filter_map(|(e, v)| f(v).map(|x| (e as u32, x)))
                    .collect()
            };
            enums.insert(
                day(d as i64),
                ProfilePartition::Categorical(CategoricalPartition::build(
                    at(&|v| v.0.map(i64::from))
                        .into_iter()
                        .map(|(e, v)| (e, ((b'a' + v as u8) as char).to_string()))
                        .collect(),
                )),
            );
            numbers.insert(
                day(d as i64),
                ProfilePartition::Number(OrderedPartition::build(
                    at(&|v| v.1.map(i64::from))
                        .into_iter()
                        .map(|(e, v)| (e, v as f64 / 2.0))
                        .collect(),
                    true,
                )),
            );
            times.insert(
                day(d as i64),
                ProfilePartition::Time(OrderedPartition::build(at(&|v| v.2.map(i64::from)), false)),
            );
        }
        for (code, data_type, partitions) in [
            ("e", DataType::Enum, enums),
            ("n", DataType::Number, numbers),
            ("t", DataType::Datetime, times),
        ] {
            index.profiles.insert(
                code.into(),
                ProfileIndex {
                    data_type,
                    partitions,
                },
            );
        }
        let days = rows
            .iter()
            .enumerate()
            .map(|(d, day_rows)| {
                let built = day_rows
                    .iter()
                    .map(|(e, c, page)| (*e, *c, vec![AttrValue::Text(((b'a' + page) as char).to_string())]))
                    .collect();
                (day(d as i64), DayBlock::build(built, &[DataType::Enum]))
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

    fn conditions() -> impl Strategy<Value = PlanCondition> {
        let cmp = |lo: i64, hi: i64| {
            prop_oneof![
                (lo..hi).prop_map(Cmp::Eq),
                (lo..hi).prop_map(Cmp::Ne),
                (lo..hi).prop_map(Cmp::Gt),
                (lo..hi).prop_map(Cmp::Lte),
                (lo..hi, lo..hi).prop_map(|(a, b)| Cmp::Between(a.min(b), a.max(b))),
            ]
        };
        let values = proptest::collection::vec(0u8..3, 1..3).prop_map(|v| {
            v.iter()
                .map(|v| ((b'a' + v) as char).to_string())
                .collect::<Vec<_>>()
        });
        let profile = |tag: &str, test| {
            PlanCondition::Profile(ProfilePlan {
                tag: tag.into(),
                test,
            })
        };
        prop_oneof![
            (0i64..2, values.clone(), any::<bool>()).prop_map(move |(d, v, negate)| profile(
                "e",
                ProfileTest::At {
                    date: day(d),
                    pred: TypedPred::Enum(if negate { SetPred::NotIn(v) } else { SetPred::In(v) }),
                }
            )),
            (0i64..2, cmp(-6, 6)).prop_map(move |(d, c)| profile(
                "n",
                ProfileTest::At {
                    date: day(d),
                    pred: TypedPred::Number(c.map(|x| x as f64 / 2.0)),
                }
            )),
            (0i64..2, cmp(-6, 6)).prop_map(move |(d, c)| profile(
                "t",
                ProfileTest::At {
                    date: day(d),
                    pred: TypedPred::Datetime(c),
                }
            )),
            cmp(-6, 6).prop_map(move |c| profile(
                "n",
                ProfileTest::Diff {
                    from: day(0),
                    to: day(1),
                    cmp: c.map(|x| x as f64 / 2.0),
                }
            )),
            (values.clone(), values.clone()).prop_map(move |(from_values, to_values)| profile(
                "e",
                ProfileTest::Changed {
                    kind: SetKind::Enum,
                    from: day(0),
                    to: day(1),
                    from_values,
                    to_values,
                }
            )),
            (0i64..2, 0i64..2, any::<bool>(), cmp(0, 5)).prop_map(|(a, b, filtered, count)| {
                PlanCondition::Behavior(BehaviorPlan {
                    behavior: "visit".into(),
                    from: day(a.min(b)),
                    to: day(a.max(b)),
                    filters: if filtered {
                        vec![AttributePlan {
                            attr: "page".into(),
                            pred: TypedPred::Enum(SetPred::In(vec!["a".into(), "b".into()])),
                        }]
                    } else {
                        Vec::new()
                    },
                    count: CountTest::of(count),
                })
            }),
        ]
    }

    fn single(condition: &PlanCondition) -> Plan {
        Plan {
            target: TargetObject::User,
            as_of: day(1),
            time_zone: "UTC".into(),
            groups: vec![vec![condition.clone()]],
            data_date: Some(day(1)),
        }
    }

    /// A plan made for one type of a tag meets data stored with another (the
    /// tag was re-imported): evaluation and explanation both refuse it with
    /// the same error, whether the profile or a behavior attribute changed.
    #[test]
    fn a_type_changed_under_the_plan_is_the_same_error_in_evaluation_and_explanation() {
        let index = index(&[vec![(Some(0), Some(1), Some(1)); 4]], &[vec![(0, 1, 0)]]);
        let number_as_enum = PlanCondition::Profile(ProfilePlan {
            tag: "n".into(),
            test: ProfileTest::At {
                date: day(0),
                pred: TypedPred::Enum(SetPred::In(vec!["a".into()])),
            },
        });
        let page_as_number = PlanCondition::Behavior(BehaviorPlan {
            behavior: "visit".into(),
            from: day(0),
            to: day(0),
            filters: vec![AttributePlan {
                attr: "page".into(),
                pred: TypedPred::Number(Cmp::Gt(1.0)),
            }],
            count: CountTest::AtLeastOnce,
        });
        // Even on a date without a partition, where nothing is read.
        let enum_changed_as_boolean = PlanCondition::Profile(ProfilePlan {
            tag: "e".into(),
            test: ProfileTest::Changed {
                kind: SetKind::Boolean,
                from: day(5),
                to: day(6),
                from_values: vec!["true".into()],
                to_values: vec!["false".into()],
            },
        });
        for (condition, tag, found, expected) in [
            (&number_as_enum, "n", "number", "enum"),
            (&page_as_number, "visit.page", "enum", "number"),
            (&enum_changed_as_boolean, "e", "enum", "boolean"),
        ] {
            let error = EvalError::TypeMismatch {
                tag: tag.into(),
                found,
                expected,
            };
            assert_eq!(index.evaluate(&single(condition), None), Err(error.clone()));
            assert_eq!(index.explain(condition, &[0, 1]), Err(error));
        }
    }

    /// A partition holding another type than its tag's index says (a torn
    /// load) is refused too, not read as an empty set.
    #[test]
    fn a_partition_of_another_type_is_a_type_mismatch() {
        let mut index = index(&[vec![(Some(0), Some(1), Some(1)); 4]], &[vec![]]);
        let enums = index.profiles["e"].partitions.clone();
        index.profiles.get_mut("n").unwrap().partitions = enums;
        let condition = PlanCondition::Profile(ProfilePlan {
            tag: "n".into(),
            test: ProfileTest::Diff {
                from: day(0),
                to: day(0),
                cmp: Cmp::Gt(0.0),
            },
        });
        let error = EvalError::TypeMismatch {
            tag: "n".into(),
            found: "enum",
            expected: "number",
        };
        assert_eq!(index.evaluate(&single(&condition), None), Err(error.clone()));
        assert_eq!(index.explain(&condition, &[0]), Err(error));
    }

    proptest! {
        /// Each entity passes exactly when the engine counts it in, and the
        /// values shown are the stored ones.
        #[test]
        fn explanations_agree_with_the_evaluator_and_show_stored_values(
            values in proptest::collection::vec(
                proptest::collection::vec((proptest::option::of(0u8..3), proptest::option::of(-6i8..6), proptest::option::of(-6i8..6)), 12),
                2),
            rows in proptest::collection::vec(proptest::collection::vec((0u32..12, 0u32..3, 0u8..3), 0..20), 2),
            condition in conditions(),
            asked in proptest::collection::vec(0u32..12, 1..6),
        ) {
            let index = index(&values, &rows);
            let members = index.evaluate(&single(&condition), None).unwrap();
            let explained = index.explain(&condition, &asked).unwrap();
            prop_assert_eq!(explained.len(), asked.len());
            for (entity, found) in asked.iter().zip(&explained) {
                prop_assert_eq!(found.passed, members.contains(*entity), "entity {}: {:?}", entity, found);
                let stored = &values[0][*entity as usize];
                match (&condition, &found.observed) {
                    (PlanCondition::Behavior(b), Observed::Count { count, .. }) => {
                        let scan: u64 = rows.iter().enumerate()
                            .filter(|(d, _)| (day(*d as i64) >= b.from) && (day(*d as i64) <= b.to))
                            .flat_map(|(_, r)| r)
                            .filter(|(e, _, page)| e == entity && (b.filters.is_empty() || *page < 2))
                            .map(|(_, c, _)| u64::from(*c)).sum();
                        prop_assert_eq!(*count, scan);
                    }
                    (PlanCondition::Profile(p), Observed::Value { date, value }) if *date == day(0) => {
                        let expected = match p.tag.as_str() {
                            "e" => stored.0.map(|v| StoredValue::Text(((b'a' + v) as char).to_string())),
                            "n" => stored.1.map(|v| StoredValue::Number(v as f64 / 2.0)),
                            _ => stored.2.map(|v| StoredValue::Time(i64::from(v))),
                        };
                        prop_assert_eq!(value, &expected);
                    }
                    (PlanCondition::Profile(_), Observed::Value { .. } | Observed::Change { .. }) => {}
                    (condition, observed) => prop_assert!(false, "{:?} observed {:?}", condition, observed),
                }
            }
        }
    }
}
