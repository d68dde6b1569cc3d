//! One condition of a plan, for a few entities: which of them pass it, and
//! what it read for each (the value on each date a profile test compares,
//! the window's event count a behavior test sums). The SQL counterpart of
//! the engine's `TagIndex::explain`, for verifying members where the tag
//! data is in a SQL warehouse.

use super::*;

/// The two statements that explain a condition.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainSql {
    /// `idx`: the asked entities that pass the condition.
    pub passing: CompiledSql,
    /// What the condition read, by kind:
    /// - profile: `entity_idx, data_date, value`, one row per asked entity
    ///   holding a value on a date the test reads (a date as the dialect
    ///   returns it: text in SQLite);
    /// - behavior: `entity_idx, events`, the summed count of the window's
    ///   events that pass every attribute filter, for asked entities having any.
    pub observed: CompiledSql,
}

/// Explains `condition` of `plan` for `entities` (dense indexes; not empty).
pub fn explain(plan: &Plan, condition: &PlanCondition, entities: &[u32], dialect: Dialect) -> ExplainSql {
    let syntax = dialect.syntax();
    let alone = Plan {
        groups: vec![vec![condition.clone()]],
        ..plan.clone()
    };
    let passing = build(&alone, syntax, Output::Indexes, None, Some(entities));
    let mut b = Builder {
        dialect: syntax,
        tz: plan.time_zone.parse().ok(),
        statement: Sql::default(),
        params: Vec::new(),
        notes: Vec::new(),
    };
    let asked = index_list(entities);
    match condition {
        PlanCondition::Profile(p) => {
            let dates = match &p.test {
                ProfileTest::At { date, .. } => vec![*date],
                ProfileTest::Diff { from, to, .. } | ProfileTest::Changed { from, to, .. } => {
                    vec![*from, *to]
                }
            };
            let table = b.ident(&profile_table(&p.tag));
            b.line(0, "SELECT t.entity_idx, t.data_date, t.value");
            b.line(0, format!("FROM {table} AS t"));
            let mut list = Sql::default();
            for (at, date) in dates.into_iter().enumerate() {
                if at > 0 {
                    list.append(", ");
                }
                list.append(b.date(date));
            }
            b.line(0, sql!["WHERE t.data_date IN (", list, ")"]);
            b.line(1, format!("AND t.entity_idx IN ({asked})"));
        }
        PlanCondition::Behavior(plan) => {
            let table = b.ident(&behavior_table(&plan.behavior));
            b.line(0, "SELECT b.entity_idx, SUM(b.count) AS events");
            b.line(0, format!("FROM {table} AS b"));
            let from = b.date(plan.from);
            let to = b.date(plan.to);
            b.line(0, sql!["WHERE b.event_date BETWEEN ", from, " AND ", to]);
            b.line(1, format!("AND b.entity_idx IN ({asked})"));
            for filter in &plan.filters {
                let column = format!("b.{}", b.ident(&filter.attr));
                let test = pred_sql(&mut b, &column, &filter.pred);
                b.line(1, sql!["AND ", test]);
            }
            b.line(0, "GROUP BY b.entity_idx");
        }
    }
    ExplainSql {
        passing: finish(dialect, passing),
        observed: finish(dialect, b),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn plan(condition: serde_json::Value) -> Plan {
        crate::sql::tests::plan(json!([condition]))
    }

    #[test]
    fn a_profile_change_reads_both_dates_of_the_asked_entities() {
        let plan = plan(json!({"type": "profile", "tag": "v2_trade_cnt_7d",
            "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "diff_gt", "value": 100}));
        let sql = explain(&plan, &plan.groups[0][0], &[7, 3], Dialect::Spark);
        assert_eq!(
            sql.observed.display(),
            "SELECT t.entity_idx, t.data_date, t.value\n\
             FROM `tag_v2_trade_cnt_7d` AS t\n\
             WHERE t.data_date IN (DATE '2024-07-30', DATE '2024-08-04')\n  \
             AND t.entity_idx IN (7, 3)"
        );
        let passing = sql.passing.display();
        assert!(
            passing.starts_with("SELECT e.idx\nFROM entities AS e\n"),
            "{passing}"
        );
        assert!(passing.contains("AND e.idx IN (7, 3)"), "{passing}");
        assert!(passing.contains("t.value - f.value > 100"), "{passing}");
    }

    #[test]
    fn a_behavior_sums_the_filtered_window_of_the_asked_entities() {
        let plan = plan(json!({"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0},
            "where": [{"attr": "industry_l1", "op": "in", "values": ["Retail"]}],
            "count": {"op": "lte", "value": 2}}));
        let sql = explain(&plan, &plan.groups[0][0], &[1], Dialect::Postgres);
        assert_eq!(
            sql.observed.display(),
            "SELECT b.entity_idx, SUM(b.count) AS events\n\
             FROM \"behavior_trade\" AS b\n\
             WHERE b.event_date BETWEEN '2024-07-30'::date AND '2024-08-05'::date\n  \
             AND b.entity_idx IN (1)\n  \
             AND b.\"industry_l1\" IN ('Retail')\n\
             GROUP BY b.entity_idx"
        );
        // Zero events pass `≤ 2`: the passing statement keeps entities without rows.
        assert!(
            sql.passing.display().contains("NOT IN ("),
            "{}",
            sql.passing.display()
        );
    }
}
