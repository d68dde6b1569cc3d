//! A plan as EXPLAIN text: an indented tree, one line per node.

use std::fmt;

use chrono_tz::Tz;

use super::rewrite::Optimized;
use super::types::*;
use crate::time::format_epoch;

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Plan {} as of {} ({})",
            self.target.label().to_lowercase(),
            self.as_of,
            self.time_zone
        )?;
        if let Some(data_date) = self.data_date {
            write!(f, ", data {data_date}")?;
        }
        let groups = self.groups.len();
        write!(
            f,
            "\n  Union ({groups} group{})",
            if groups == 1 { "" } else { "s" }
        )?;
        let tz: Option<Tz> = self.time_zone.parse().ok();
        for (g, group) in self.groups.iter().enumerate() {
            write!(f, "\n    Intersect (group {})", g + 1)?;
            for condition in group {
                write!(f, "\n      {}", Shown(condition, tz))?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Optimized {
    /// The plan, and the passes that rewrote it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.plan)?;
        if !self.changed_by.is_empty() {
            write!(f, "\nRewritten by {}", self.changed_by.join(", "))?;
        }
        Ok(())
    }
}

/// A condition, datetimes shown in the plan's time zone.
struct Shown<'a>(&'a PlanCondition, Option<Tz>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Shown(condition, tz) = *self;
        match condition {
            PlanCondition::Profile(p) => match &p.test {
                ProfileTest::At { date, pred } => {
                    write!(f, "Profile {} @{date} {}", p.tag, pred_text(pred, tz))
                }
                ProfileTest::Diff { from, to, cmp } => write!(
                    f,
                    "Profile {} change {from}..{to}: difference {}",
                    p.tag,
                    cmp_text(*cmp, |x| x.to_string())
                ),
                ProfileTest::Changed {
                    from,
                    to,
                    from_values,
                    to_values,
                    ..
                } => write!(
                    f,
                    "Profile {} changed {from}..{to}: from {} to {}",
                    p.tag,
                    set_text(from_values),
                    set_text(to_values)
                ),
            },
            PlanCondition::Behavior(b) => {
                write!(f, "Behavior {} {}..{}", b.behavior, b.from, b.to)?;
                for (at, filter) in b.filters.iter().enumerate() {
                    let joint = if at == 0 { "where" } else { "and" };
                    write!(f, " {joint} {} {}", filter.attr, pred_text(&filter.pred, tz))?;
                }
                let count = |cmp| cmp_text(cmp, |n: i64| n.to_string());
                match b.count {
                    CountTest::Passing(cmp) => write!(f, ": count {} (zero excluded)", count(cmp)),
                    CountTest::NotFailing(cmp) => write!(f, ": count {} (zero included)", count(cmp)),
                    CountTest::AtLeastOnce => write!(f, ": at least once"),
                }
            }
        }
    }
}

fn pred_text(pred: &TypedPred, tz: Option<Tz>) -> String {
    match pred {
        TypedPred::Enum(set) | TypedPred::Boolean(set) => match set {
            SetPred::In(values) => format!("in {}", set_text(values)),
            SetPred::NotIn(values) => format!("not in {}", set_text(values)),
        },
        TypedPred::Number(cmp) => cmp_text(*cmp, |x| x.to_string()),
        TypedPred::Datetime(cmp) => cmp_text(*cmp, |epoch| match tz {
            Some(tz) => format_epoch(epoch, tz),
            None => format!("@{epoch}"),
        }),
    }
}

fn set_text(values: &[String]) -> String {
    format!("{{{}}}", values.join(", "))
}

fn cmp_text<T: Copy>(cmp: Cmp<T>, show: impl Fn(T) -> String) -> String {
    match cmp {
        Cmp::Eq(v) => format!("= {}", show(v)),
        Cmp::Ne(v) => format!("<> {}", show(v)),
        Cmp::Gt(v) => format!("> {}", show(v)),
        Cmp::Gte(v) => format!(">= {}", show(v)),
        Cmp::Lt(v) => format!("< {}", show(v)),
        Cmp::Lte(v) => format!("<= {}", show(v)),
        Cmp::Between(lo, hi) => format!("between {} and {}", show(lo), show(hi)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::TargetObject;
    use crate::fixtures::{catalog, date};
    use crate::plan::optimize;
    use crate::rule::Rule;
    use crate::validate::{Context, validate};

    #[test]
    fn a_plan_explains_itself_one_node_a_line() {
        let rule: Rule = serde_json::from_value(json!({"groups": [
            {"conditions": [
                {"type": "profile", "tag": "v2_is_black_list", "date": {"mode": "latest"}, "op": "in", "values": [false]},
                {"type": "profile", "tag": "v2_trade_cnt_7d", "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "diff_gt", "value": 1.5},
                {"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
                 "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages", "Retail"]}, {"attr": "card_bin", "op": "gte", "value": 400000}],
                 "count": {"op": "gte", "value": 2}}
            ]},
            {"conditions": [
                {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "changed", "from_values": ["Beijing"], "to_values": ["Shenzhen"]},
                {"type": "profile", "tag": "v2_register_gmt_cn", "date": {"mode": "latest"}, "op": "on", "value": "2024-08-06"},
                {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-03"}, "count": {"op": "lt", "value": 3}},
                {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-03"}, "count": {"op": "gt", "value": 0}}
            ]}
        ]}))
        .unwrap();
        let plan = validate(
            &rule,
            &Context {
                catalog: &catalog(),
                target: TargetObject::User,
                time_zone: "Asia/Shanghai".parse().unwrap(),
                as_of: date("2024-08-05"),
            },
        )
        .unwrap();
        let expected = "\
Plan users as of 2024-08-05 (Asia/Shanghai), data 2024-08-04
  Union (2 groups)
    Intersect (group 1)
      Profile v2_is_black_list @2024-08-04 in {false}
      Profile v2_trade_cnt_7d change 2024-07-30..2024-08-04: difference > 1.5
      Behavior trade 2024-07-30..2024-08-05 where industry_l1 in {Food & Beverages, Retail} and card_bin >= 400000: count >= 2 (zero excluded)
    Intersect (group 2)
      Profile city_cross_border_ride changed 2024-07-30..2024-08-04: from {Beijing} to {Shenzhen}
      Profile v2_register_gmt_cn @2024-08-04 between 2024-08-06 00:00:00 and 2024-08-06 23:59:59
      Behavior trade 2024-08-01..2024-08-03: count < 3 (zero included)
      Behavior trade 2024-08-01..2024-08-03: count > 0 (zero excluded)";
        assert_eq!(plan.to_string(), expected);

        let optimized = optimize(plan).to_string();
        let rewritten =
            expected.replace("count > 0 (zero excluded)", "at least once") + "\nRewritten by at_least_once";
        assert_eq!(optimized, rewritten);
    }
}
