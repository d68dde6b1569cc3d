//! The editor's working copy of a rule: text as typed, turned into the rule
//! JSON for each estimate. Operators and their labels per data type and date
//! option follow the guide's tables.

use segment_core::catalog::{DataType, TagDef, TagKind};
use segment_core::rule::{
    AttributeFilter, BehaviorCondition, Condition, CountComparison, DateOption, ProfileCondition, Rule,
    RuleGroup, Window,
};
use serde_json::Value;

/// (operator, label) pairs offered for a value of `data_type`.
pub fn value_ops(data_type: DataType, change: bool) -> &'static [(&'static str, &'static str)] {
    match (data_type, change) {
        (DataType::Enum | DataType::Boolean, false) => &[
            ("in", "Include any of the following values"),
            ("not_in", "Exclude all of the following values"),
        ],
        (DataType::Enum | DataType::Boolean, true) => &[("changed", "Changed from … to …")],
        (DataType::Number, false) => NUMBER_OPS,
        (DataType::Number, true) => &[
            ("diff_eq", "Difference value equal to"),
            ("diff_gt", "Difference value greater than"),
            ("diff_gte", "Difference value at least"),
            ("diff_lt", "Difference value less than"),
            ("diff_lte", "Difference value at most"),
            ("diff_between", "Difference value between"),
        ],
        (DataType::Datetime, _) => &[
            ("on", "Compare with static time: is on"),
            ("before", "Compare with static time: is before"),
            ("after", "Compare with static time: is after"),
            ("between", "Compare with static time: is between"),
            (
                "within_last_days",
                "Compare with dynamic time: within the last N days",
            ),
        ],
    }
}

pub const NUMBER_OPS: &[(&str, &str)] = &[
    ("eq", "Equal to"),
    ("ne", "Not equal to"),
    ("gt", "Greater than"),
    ("gte", "Greater than or equal to"),
    ("lt", "Less than"),
    ("lte", "Less than or equal to"),
    ("between", "Between"),
];

pub fn is_range(op: &str) -> bool {
    op == "between" || op == "diff_between"
}

/// A behavior attribute filter as edited.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FilterDraft {
    pub attr: String,
    pub op: String,
    pub value: String,
    pub value_hi: String,
    pub values: Vec<String>,
}

/// One condition as edited.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConditionDraft {
    pub tag: String,
    pub behavior: bool,
    pub data_type: Option<DataType>,
    /// `latest`, `on` or `change`.
    pub date_mode: String,
    pub date_on: String,
    pub date_from: String,
    pub date_to: String,
    pub op: String,
    pub value: String,
    pub value_hi: String,
    pub values: Vec<String>,
    pub from_values: Vec<String>,
    pub to_values: Vec<String>,
    /// `fixed` or `dynamic`.
    pub window_mode: String,
    pub window_from: String,
    pub window_to: String,
    pub filters: Vec<FilterDraft>,
    pub count_op: String,
    pub count_value: String,
    pub count_hi: String,
}

impl ConditionDraft {
    /// A fresh condition on `tag` with the usual defaults: latest date, the
    /// first operator, the last seven days for behaviors.
    pub fn for_tag(tag: &TagDef) -> ConditionDraft {
        match &tag.kind {
            TagKind::Profile { data_type, .. } => ConditionDraft {
                tag: tag.code.clone(),
                data_type: Some(*data_type),
                date_mode: "latest".into(),
                date_on: tag.latest_date().map(|d| d.to_string()).unwrap_or_default(),
                date_from: tag.ready_dates.first().map(|d| d.to_string()).unwrap_or_default(),
                date_to: tag.latest_date().map(|d| d.to_string()).unwrap_or_default(),
                op: value_ops(*data_type, false)[0].0.into(),
                ..Default::default()
            },
            TagKind::Behavior { .. } => ConditionDraft {
                tag: tag.code.clone(),
                behavior: true,
                window_mode: "dynamic".into(),
                window_from: "-6".into(),
                window_to: "0".into(),
                date_from: tag
                    .ready_dates
                    .len()
                    .checked_sub(7)
                    .and_then(|i| tag.ready_dates.get(i))
                    .or(tag.ready_dates.first())
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                date_to: tag.latest_date().map(|d| d.to_string()).unwrap_or_default(),
                count_op: "gte".into(),
                count_value: "1".into(),
                ..Default::default()
            },
        }
    }

    /// Switches the date option, keeping the operator when it still applies.
    pub fn set_date_mode(&mut self, mode: &str) {
        self.date_mode = mode.into();
        if let Some(data_type) = self.data_type {
            let ops = value_ops(data_type, mode == "change");
            if !ops.iter().any(|(op, _)| *op == self.op) {
                self.op = ops[0].0.into();
            }
        }
    }

    pub fn to_condition(&self) -> Condition {
        if self.behavior {
            let window = if self.window_mode == "fixed" {
                Window::Fixed {
                    from: self.date_from.clone(),
                    to: self.date_to.clone(),
                }
            } else {
                Window::Dynamic {
                    from: self.window_from.trim().parse().unwrap_or(i32::MIN),
                    to: self.window_to.trim().parse().unwrap_or(i32::MIN),
                }
            };
            return Condition::Behavior(BehaviorCondition {
                behavior: self.tag.clone(),
                window,
                filters: self.filters.iter().map(FilterDraft::to_filter).collect(),
                count: CountComparison {
                    op: self.count_op.clone(),
                    value: if is_range(&self.count_op) {
                        Value::Array(vec![number(&self.count_value), number(&self.count_hi)])
                    } else {
                        number(&self.count_value)
                    },
                },
            });
        }
        let date = match self.date_mode.as_str() {
            "on" => DateOption::On {
                date: self.date_on.clone(),
            },
            "change" => DateOption::Change {
                from: self.date_from.clone(),
                to: self.date_to.clone(),
            },
            _ => DateOption::Latest,
        };
        let mut condition = ProfileCondition {
            tag: self.tag.clone(),
            date,
            op: self.op.clone(),
            value: None,
            values: None,
            from_values: None,
            to_values: None,
        };
        let texts = |values: &[String]| Some(values.iter().cloned().map(Value::String).collect());
        match self.data_type {
            Some(DataType::Enum | DataType::Boolean) if self.op == "changed" => {
                condition.from_values = texts(&self.from_values);
                condition.to_values = texts(&self.to_values);
            }
            Some(DataType::Enum | DataType::Boolean) => condition.values = texts(&self.values),
            Some(DataType::Number) if is_range(&self.op) => {
                condition.values = Some(vec![number(&self.value), number(&self.value_hi)]);
            }
            Some(DataType::Number) => condition.value = Some(number(&self.value)),
            Some(DataType::Datetime) if self.op == "between" => {
                condition.values = Some(vec![
                    Value::String(self.value.trim().into()),
                    Value::String(self.value_hi.trim().into()),
                ]);
            }
            Some(DataType::Datetime) if self.op == "within_last_days" => {
                condition.value = Some(number(&self.value));
            }
            _ => condition.value = Some(Value::String(self.value.trim().into())),
        }
        Condition::Profile(condition)
    }
}

impl FilterDraft {
    pub fn for_attribute(code: &str, data_type: DataType) -> FilterDraft {
        FilterDraft {
            attr: code.into(),
            op: value_ops(data_type, false)[0].0.into(),
            ..Default::default()
        }
    }

    fn to_filter(&self) -> AttributeFilter {
        let numeric = NUMBER_OPS.iter().any(|(op, _)| *op == self.op);
        let (value, values) = if !numeric {
            (
                None,
                Some(self.values.iter().cloned().map(Value::String).collect()),
            )
        } else if is_range(&self.op) {
            (None, Some(vec![number(&self.value), number(&self.value_hi)]))
        } else {
            (Some(number(&self.value)), None)
        };
        AttributeFilter {
            attr: self.attr.clone(),
            op: self.op.clone(),
            value,
            values,
        }
    }
}

/// A number when the text is one; otherwise the text, for validation to name.
fn number(text: &str) -> Value {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Value::from(n),
        _ => Value::String(text.into()),
    }
}

/// The rule the groups of drafts describe.
pub fn to_rule(groups: &[Vec<ConditionDraft>]) -> Rule {
    Rule {
        groups: groups
            .iter()
            .map(|conditions| RuleGroup {
                conditions: conditions.iter().map(ConditionDraft::to_condition).collect(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_become_the_documented_rule_json() {
        let mut ride = ConditionDraft {
            tag: "city_cross_border_ride".into(),
            data_type: Some(DataType::Enum),
            date_mode: "latest".into(),
            op: "in".into(),
            values: vec!["Shenzhen".into(), "Guangzhou".into()],
            ..Default::default()
        };
        let mut trades = ConditionDraft {
            tag: "v2_trade_cnt_7d".into(),
            data_type: Some(DataType::Number),
            date_mode: "latest".into(),
            op: "gt".into(),
            value: "100".into(),
            date_from: "2024-07-30".into(),
            date_to: "2024-08-04".into(),
            ..Default::default()
        };
        trades.set_date_mode("change");
        trades.op = "diff_gt".into();
        let behavior = ConditionDraft {
            tag: "trade".into(),
            behavior: true,
            window_mode: "dynamic".into(),
            window_from: "-6".into(),
            window_to: "0".into(),
            filters: vec![FilterDraft {
                attr: "industry_l1".into(),
                op: "in".into(),
                values: vec!["Food & Beverages".into()],
                ..Default::default()
            }],
            count_op: "gte".into(),
            count_value: "4".into(),
            ..Default::default()
        };
        ride.set_date_mode("latest");
        let rule = to_rule(&[vec![trades, ride, behavior]]);
        let expected: Rule = serde_json::from_value(serde_json::json!({"groups": [{"conditions": [
          {"type": "profile", "tag": "v2_trade_cnt_7d",
           "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"},
           "op": "diff_gt", "value": 100},
          {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
           "op": "in", "values": ["Shenzhen", "Guangzhou"]},
          {"type": "behavior", "behavior": "trade",
           "window": {"mode": "dynamic", "from": -6, "to": 0},
           "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
           "count": {"op": "gte", "value": 4}}
        ]}]}))
        .unwrap();
        assert_eq!(rule, expected);
    }

    #[test]
    fn switching_to_a_change_keeps_only_operators_that_apply() {
        let mut draft = ConditionDraft {
            data_type: Some(DataType::Number),
            op: "gt".into(),
            ..Default::default()
        };
        draft.set_date_mode("change");
        assert_eq!(draft.op, "diff_eq");
        draft.set_date_mode("on");
        assert_eq!(draft.op, "eq");
    }

    #[test]
    fn text_that_is_not_a_number_is_kept_for_validation_to_report() {
        let draft = ConditionDraft {
            data_type: Some(DataType::Number),
            date_mode: "latest".into(),
            op: "between".into(),
            value: "1.5".into(),
            value_hi: "abc".into(),
            ..Default::default()
        };
        let Condition::Profile(p) = draft.to_condition() else {
            panic!()
        };
        assert_eq!(
            p.values.unwrap(),
            vec![Value::from(1.5), Value::String("abc".into())]
        );
    }
}
