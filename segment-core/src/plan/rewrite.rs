//! Rewrite passes: each turns a plan into one that selects the same
//! entities and is cheaper to run, and is tested on its own. [`optimize`]
//! runs them in order; the evaluator and the SQL compiler both call it, so
//! both backends run the same plan.

use super::types::*;

/// One named rewrite of a plan. A pass never changes which entities the
/// plan selects.
pub trait RewritePass {
    fn name(&self) -> &'static str;
    fn rewrite(&self, plan: Plan) -> Plan;
}

/// The passes [`optimize`] runs, in order.
pub const PASSES: [&dyn RewritePass; 2] = [&AtLeastOnce, &DropDuplicateConditions];

/// A plan after the rewrite passes, and the names of those that changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimized {
    pub plan: Plan,
    pub changed_by: Vec<&'static str>,
}

/// Runs every pass of [`PASSES`] over `plan`.
pub fn optimize(plan: Plan) -> Optimized {
    let mut changed_by = Vec::new();
    let mut plan = plan;
    for pass in PASSES {
        let before = plan.clone();
        plan = pass.rewrite(plan);
        if plan != before {
            changed_by.push(pass.name());
        }
    }
    Optimized { plan, changed_by }
}

impl Plan {
    /// This plan after the rewrite passes.
    pub fn optimized(self) -> Plan {
        optimize(self).plan
    }
}

/// "Did it at least once": a count that every entity with a passing event
/// passes becomes the union of those entities, with no sums to add up.
pub struct AtLeastOnce;

impl RewritePass for AtLeastOnce {
    fn name(&self) -> &'static str {
        "at_least_once"
    }

    fn rewrite(&self, mut plan: Plan) -> Plan {
        for condition in plan.groups.iter_mut().flatten() {
            if let PlanCondition::Behavior(behavior) = condition
                && let CountTest::Passing(Cmp::Gte(1) | Cmp::Gt(0) | Cmp::Ne(0)) = behavior.count
            {
                behavior.count = CountTest::AtLeastOnce;
            }
        }
        plan
    }
}

/// A condition repeated in its group is evaluated once: `x AND x` is `x`.
pub struct DropDuplicateConditions;

impl RewritePass for DropDuplicateConditions {
    fn name(&self) -> &'static str {
        "drop_duplicate_conditions"
    }

    fn rewrite(&self, mut plan: Plan) -> Plan {
        for group in &mut plan.groups {
            let mut kept: Vec<PlanCondition> = Vec::with_capacity(group.len());
            for condition in group.drain(..) {
                if !kept.contains(&condition) {
                    kept.push(condition);
                }
            }
            *group = kept;
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::TargetObject;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 8, d).unwrap()
    }

    fn visits(count: CountTest) -> PlanCondition {
        PlanCondition::Behavior(BehaviorPlan {
            behavior: "visit".into(),
            from: day(1),
            to: day(7),
            filters: vec![],
            count,
        })
    }

    fn city(values: &[&str]) -> PlanCondition {
        PlanCondition::Profile(ProfilePlan {
            tag: "city".into(),
            test: ProfileTest::At {
                date: day(7),
                pred: TypedPred::Enum(SetPred::In(values.iter().map(|v| v.to_string()).collect())),
            },
        })
    }

    fn plan(groups: Vec<Vec<PlanCondition>>) -> Plan {
        Plan {
            target: TargetObject::User,
            as_of: day(8),
            time_zone: "UTC".into(),
            groups,
            data_date: Some(day(7)),
        }
    }

    #[test]
    fn at_least_once_replaces_counts_every_event_passes() {
        for cmp in [Cmp::Gte(1), Cmp::Gt(0), Cmp::Ne(0)] {
            let rewritten = AtLeastOnce.rewrite(plan(vec![vec![city(&["a"]), visits(CountTest::of(cmp))]]));
            assert_eq!(
                rewritten,
                plan(vec![vec![city(&["a"]), visits(CountTest::AtLeastOnce)]]),
                "{cmp:?}"
            );
        }
    }

    #[test]
    fn at_least_once_keeps_counts_that_need_sums() {
        let kept = plan(vec![
            vec![visits(CountTest::of(Cmp::Gte(2)))],
            vec![visits(CountTest::of(Cmp::Eq(1)))],
            // 0 passes: those without events are in, which a union would miss.
            vec![visits(CountTest::of(Cmp::Lte(1)))],
        ]);
        assert_eq!(AtLeastOnce.rewrite(kept.clone()), kept);
    }

    #[test]
    fn duplicate_conditions_are_dropped_within_their_group_only() {
        let rewritten = DropDuplicateConditions.rewrite(plan(vec![
            vec![city(&["a"]), city(&["b"]), city(&["a"])],
            vec![city(&["a"])],
        ]));
        assert_eq!(
            rewritten,
            plan(vec![vec![city(&["a"]), city(&["b"])], vec![city(&["a"])]])
        );
    }

    #[test]
    fn optimize_runs_the_passes_in_order_and_names_those_that_changed_the_plan() {
        let optimized = optimize(plan(vec![vec![
            visits(CountTest::of(Cmp::Gt(0))),
            visits(CountTest::of(Cmp::Gte(1))),
        ]]));
        // Both become "at least once", then one of the two is dropped.
        assert_eq!(optimized.plan, plan(vec![vec![visits(CountTest::AtLeastOnce)]]));
        assert_eq!(
            optimized.changed_by,
            ["at_least_once", "drop_duplicate_conditions"]
        );

        let unchanged = plan(vec![vec![city(&["a"])]]);
        assert_eq!(optimize(unchanged.clone()).changed_by, Vec::<&str>::new());
        assert_eq!(unchanged.clone().optimized(), unchanged);
    }
}
