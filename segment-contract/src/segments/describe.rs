//! Rules as sentences, for the details page and verification, in the
//! catalog's words: tag and attribute names, not codes.

use std::collections::HashMap;

use segment_core::catalog::{TagDef, TagKind};
use segment_core::rule::{AttributeFilter, Condition, CountComparison, DateOption, Rule, Window};
use serde_json::Value;

/// Tag and attribute names by code; a code the catalog does not know
/// (a tag removed since) reads as itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(HashMap<String, String>);

impl Names {
    pub fn of<'a>(tags: impl IntoIterator<Item = &'a TagDef>) -> Names {
        let mut names = HashMap::new();
        for tag in tags {
            names.insert(tag.code.clone(), tag.name.clone());
            if let TagKind::Behavior { attributes } = &tag.kind {
                for attribute in attributes {
                    names.insert(format!("{}.{}", tag.code, attribute.code), attribute.name.clone());
                }
            }
        }
        Names(names)
    }

    /// The tag's name, or its code when the catalog does not know it.
    pub fn tag<'a>(&'a self, code: &'a str) -> &'a str {
        self.0.get(code).map_or(code, String::as_str)
    }

    fn attribute<'a>(&'a self, behavior: &str, code: &'a str) -> &'a str {
        self.0
            .get(&format!("{behavior}.{code}"))
            .map_or(code, String::as_str)
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => match s.as_str() {
            "true" => "Yes".into(),
            "false" => "No".into(),
            other => other.into(),
        },
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        other => other.to_string(),
    }
}

fn list(values: &Option<Vec<Value>>) -> String {
    values
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(text)
        .collect::<Vec<_>>()
        .join(", ")
}

fn pair(values: &Option<Vec<Value>>) -> String {
    let values = values.as_deref().unwrap_or_default();
    match values {
        [lo, hi] => format!("{} and {}", text(lo), text(hi)),
        _ => list(&Some(values.to_vec())),
    }
}

fn comparison(op: &str, value: &Option<Value>, values: &Option<Vec<Value>>) -> String {
    let one = value.as_ref().map(text).unwrap_or_default();
    match op.trim_start_matches("diff_") {
        "in" => format!("is any of {}", list(values)),
        "not_in" => format!("is none of {}", list(values)),
        "eq" | "on" => format!("is {one}"),
        "ne" => format!("is not {one}"),
        "gt" | "after" => format!("is greater than {one}"),
        "gte" => format!("is at least {one}"),
        "lt" | "before" => format!("is less than {one}"),
        "lte" => format!("is at most {one}"),
        "between" => format!("is between {}", pair(values)),
        "within_last_days" => format!("is within the last {one} days"),
        other => format!("{other} {one}"),
    }
}

fn filter(f: &AttributeFilter, behavior: &str, names: &Names) -> String {
    format!(
        "{} {}",
        names.attribute(behavior, &f.attr),
        comparison(&f.op, &f.value, &f.values)
    )
}

fn count(c: &CountComparison) -> String {
    let values = c.value.as_array().cloned();
    comparison(&c.op, &Some(c.value.clone()), &values)
}

fn window(w: &Window) -> String {
    match w {
        Window::Fixed { from, to } => format!("from {from} to {to}"),
        Window::Dynamic { from, to } => format!("from T{from:+} to T{to:+}"),
    }
}

/// One condition as a sentence.
pub fn condition(condition: &Condition, names: &Names) -> String {
    match condition {
        Condition::Profile(p) => match &p.date {
            DateOption::Change { from, to } if p.op == "changed" => format!(
                "{} changed from {} on {from} to {} on {to}",
                names.tag(&p.tag),
                list(&p.from_values),
                list(&p.to_values)
            ),
            DateOption::Change { from, to } => format!(
                "{}: the change from {from} to {to} {}",
                names.tag(&p.tag),
                comparison(&p.op, &p.value, &p.values)
            ),
            DateOption::On { date } => {
                format!(
                    "{} on {date} {}",
                    names.tag(&p.tag),
                    comparison(&p.op, &p.value, &p.values)
                )
            }
            DateOption::Latest => format!(
                "{} (latest) {}",
                names.tag(&p.tag),
                comparison(&p.op, &p.value, &p.values)
            ),
        },
        Condition::Behavior(b) => {
            let filters = if b.filters.is_empty() {
                String::new()
            } else {
                format!(
                    " where {}",
                    b.filters
                        .iter()
                        .map(|f| filter(f, &b.behavior, names))
                        .collect::<Vec<_>>()
                        .join(" and ")
                )
            };
            format!(
                "{} events {}{filters}: the count {}",
                names.tag(&b.behavior),
                window(&b.window),
                count(&b.count)
            )
        }
    }
}

/// Every group as "A and B", the groups joined by "or".
pub fn rule(rule: &Rule, names: &Names) -> Vec<String> {
    rule.groups
        .iter()
        .map(|g| {
            g.conditions
                .iter()
                .map(|c| condition(c, names))
                .collect::<Vec<_>>()
                .join(" AND ")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_as_sentences() {
        let rule: Rule = serde_json::from_value(serde_json::json!({"groups": [{"conditions": [
          {"type": "profile", "tag": "v2_trade_cnt_7d",
           "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "diff_gt", "value": 100},
          {"type": "profile", "tag": "city", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen", "Guangzhou"]},
          {"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
           "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
           "count": {"op": "gte", "value": 4}}
        ]}]}))
        .unwrap();
        let trade: TagDef = serde_json::from_value(serde_json::json!({
            "code": "trade", "name": "Trade", "category": "Trading", "target_object": "user", "kind": "behavior",
            "attributes": [{"code": "industry_l1", "name": "Industry", "data_type": "enum", "values": ["Food & Beverages"]}]
        }))
        .unwrap();
        // Named where the catalog knows the code; `v2_trade_cnt_7d` and `city` it does not.
        assert_eq!(
            super::rule(&rule, &Names::of([&trade])),
            [
                "v2_trade_cnt_7d: the change from 2024-07-30 to 2024-08-04 is greater than 100 AND \
              city (latest) is any of Shenzhen, Guangzhou AND \
              Trade events from T-6 to T+0 where Industry is any of Food & Beverages: the count is at least 4"
            ]
        );
    }
}
