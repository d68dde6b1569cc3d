//! The rule JSON: the type the editor edits, the API accepts and the
//! server stores. Loose on purpose (codes, operators and dates are strings)
//! so that every mistake is reported by [`crate::validate`] with its place,
//! instead of failing deserialisation as a whole.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Entities matching any group; a group matches when all its conditions do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleGroup {
    pub conditions: Vec<Condition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    Profile(ProfileCondition),
    Behavior(BehaviorCondition),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileCondition {
    pub tag: String,
    pub date: DateOption,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_values: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_values: Option<Vec<Value>>,
}

/// Which partition(s) of a profile tag a condition reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DateOption {
    /// The newest ready partition of the tag.
    Latest,
    /// One given partition (`YYYY-MM-DD`).
    On { date: String },
    /// The change between two partitions.
    Change { from: String, to: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviorCondition {
    pub behavior: String,
    pub window: Window,
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<AttributeFilter>,
    pub count: CountComparison,
}

/// The days whose events are counted, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Window {
    Fixed {
        from: String,
        to: String,
    },
    /// Days relative to T, the evaluation date: `-6 … 0` is the last seven days.
    Dynamic {
        from: i32,
        to: i32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeFilter {
    pub attr: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CountComparison {
    pub op: String,
    /// A whole number, or `[lo, hi]` for `between`.
    pub value: Value,
}

impl Rule {
    /// Tag and behavior codes the rule reads.
    pub fn tag_codes(&self) -> Vec<String> {
        let mut codes: Vec<String> = self
            .groups
            .iter()
            .flat_map(|g| &g.conditions)
            .map(|c| match c {
                Condition::Profile(p) => p.tag.clone(),
                Condition::Behavior(b) => b.behavior.clone(),
            })
            .collect();
        codes.sort();
        codes.dedup();
        codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_example() {
        let json = r#"{"groups": [{"conditions": [
          {"type": "profile", "tag": "v2_trade_cnt_7d",
           "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"},
           "op": "diff_gt", "value": 100},
          {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
           "op": "in", "values": ["Shenzhen", "Guangzhou", "Shanghai"]},
          {"type": "behavior", "behavior": "trade",
           "window": {"mode": "dynamic", "from": -6, "to": 0},
           "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
           "count": {"op": "gte", "value": 4}}
        ]}]}"#;
        let rule: Rule = serde_json::from_str(json).unwrap();
        assert_eq!(rule.groups[0].conditions.len(), 3);
        let Condition::Behavior(b) = &rule.groups[0].conditions[2] else {
            panic!()
        };
        assert_eq!(b.window, Window::Dynamic { from: -6, to: 0 });
        assert_eq!(b.filters[0].attr, "industry_l1");
        let round_trip: Rule = serde_json::from_str(&serde_json::to_string(&rule).unwrap()).unwrap();
        assert_eq!(round_trip, rule);
        assert_eq!(
            rule.tag_codes(),
            ["city_cross_border_ride", "trade", "v2_trade_cnt_7d"]
        );
    }
}
