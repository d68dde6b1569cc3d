//! The rule JSON: the type the editor edits, the API accepts and the
//! server stores. Loose on purpose (codes, operators and dates are strings)
//! so that every mistake is reported by [`crate::validate`] with its place,
//! instead of failing deserialisation as a whole.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Entities matching any group; a group matches when all its conditions do.
/// A missing value never matches (`not_in` included).
///
/// Size limits (a rule over them is refused with 422 and the place of the
/// excess): at most 20 groups, 20 conditions per group and 100 conditions in
/// all; at most 1,000 values in any list (`values`, `from_values`,
/// `to_values`, a filter's `values`); at most 10 attribute filters per
/// behavior condition.
///
/// Merchant and store principals see the catalog narrowed to their own IDs:
/// enum values that are merchant or store IDs list only theirs, and
/// behaviors with such an attribute count only events at their own merchant
/// or stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"groups": [{"conditions": [
    {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
     "op": "in", "values": ["Shenzhen", "Guangzhou"]},
    {"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
     "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
     "count": {"op": "gte", "value": 4}}]}]})))]
pub struct Rule {
    /// OR of groups.
    pub groups: Vec<RuleGroup>,
}

/// An AND of conditions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleGroup {
    pub conditions: Vec<Condition>,
}

/// A condition on a profile tag's value, or on a count of behavior events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    Profile(ProfileCondition),
    Behavior(BehaviorCondition),
}

/// A profile tag's value on the partition(s) `date` picks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileCondition {
    /// The tag's code (`GET /api/v1/tags`).
    pub tag: String,
    pub date: DateOption,
    /// Enum and boolean tags: `in`, `not_in` (with `values`). Numbers: `eq`,
    /// `ne`, `gt`, `gte`, `lt`, `lte` (`value`) and `between` (`values: [lo,
    /// hi]`, inclusive). Datetimes: `on` (that local day), `before`, `after`,
    /// `between` (`values`), `within_last_days` (`value`: N days up to and
    /// including T), values as `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` in the
    /// request's time zone. In `change` mode: numbers `diff_eq`, `diff_gt`,
    /// `diff_gte`, `diff_lt`, `diff_lte` compare `value(to) − value(from)`;
    /// enums and booleans `changed` with `from_values` and `to_values`.
    #[cfg_attr(feature = "openapi", schema(example = "in"))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum DateOption {
    /// The newest ready partition of the tag.
    Latest,
    /// One given partition (`YYYY-MM-DD`).
    On { date: String },
    /// The change between two partitions.
    Change { from: String, to: String },
}

/// How many of a behavior's events in `window` pass every filter in `where`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BehaviorCondition {
    /// The behavior's code (`GET /api/v1/tags`).
    pub behavior: String,
    pub window: Window,
    #[serde(default, rename = "where", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<AttributeFilter>,
    pub count: CountComparison,
}

/// The days whose events are counted, both ends included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

/// A filter on an attribute of the behavior's events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeFilter {
    pub attr: String,
    /// The enum (`in`, `not_in` with `values`) and number (`eq` … `between`)
    /// operators of profile conditions.
    pub op: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<Value>>,
}

/// Compares the sum of counts of the window's events passing every filter
/// (0 for entities without any).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CountComparison {
    /// `eq`, `ne`, `gt`, `gte`, `lt`, `lte` or `between`.
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
