//! The fixed rule suite of the benchmark.

use chrono::{Duration, NaiveDate};
use segment_core::rule::Rule;
use serde_json::{Value, json};

pub struct Case {
    pub name: &'static str,
    pub description: &'static str,
    pub rule: Rule,
    /// Restrict to this audience (a merchant principal's estimate).
    pub scope: Option<&'static str>,
}

fn p(tag: &str, op: &str, values: Value) -> Value {
    let mut c = json!({"type": "profile", "tag": tag, "date": {"mode": "latest"}, "op": op});
    let key = if values.is_array() { "values" } else { "value" };
    c[key] = values;
    c
}

fn behavior(code: &str, from: i32, filters: Value, op: &str, value: Value) -> Value {
    json!({"type": "behavior", "behavior": code, "window": {"mode": "dynamic", "from": from, "to": 0},
           "where": filters, "count": {"op": op, "value": value}})
}

fn rule(groups: Vec<Vec<Value>>) -> Rule {
    let groups: Vec<Value> = groups.into_iter().map(|c| json!({"conditions": c})).collect();
    serde_json::from_value(json!({"groups": groups})).expect("suite rules parse")
}

pub fn cases(end: NaiveDate) -> Vec<Case> {
    let history = (end - Duration::days(5)).to_string();
    let end_text = end.to_string();
    let year_ago = format!("{} 00:00:00", end - Duration::days(365));
    let half_year_ago = format!("{} 23:59:59", end - Duration::days(180));
    let three_groups = rule(vec![
        vec![
            p("e01", "in", json!(["v01", "v02"])),
            p("b01", "in", json!(["true"])),
            p("n01", "gt", json!(100)),
        ],
        vec![
            p("e02", "in", json!(["v03"])),
            p("n02", "between", json!([50, 500])),
            p("b02", "in", json!(["false"])),
        ],
        vec![p("e03", "not_in", json!(["v01"])), p("n03", "lte", json!(20))],
    ]);
    vec![
        Case {
            name: "profile_3_groups_8_conditions",
            description: "3 OR-ed groups, 8 enum, boolean and number conditions on the latest partitions",
            rule: three_groups.clone(),
            scope: None,
        },
        Case {
            name: "profile_scoped_to_a_merchant",
            description: "the same rule within merchant M0001's audience (a merchant's estimate)",
            rule: three_groups,
            scope: Some("merchant:M0001"),
        },
        Case {
            name: "wide_or_8_groups",
            description: "8 OR-ed groups of an enum and a boolean condition each (16 conditions)",
            rule: rule(
                (1..=8)
                    .map(|i| {
                        vec![
                            p(&format!("e{i:02}"), "in", json!(["v02"])),
                            p(&format!("b{i:02}"), "in", json!(["true"])),
                        ]
                    })
                    .collect(),
            ),
            scope: None,
        },
        Case {
            name: "number_ranges",
            description: "three number ranges: between, ≥ and <",
            rule: rule(vec![vec![
                p("n04", "between", json!([100, 2000])),
                p("n05", "gte", json!(300.5)),
                p("n06", "lt", json!(3000)),
            ]]),
            scope: None,
        },
        Case {
            name: "datetime_between",
            description: "a datetime between two static times (a year ago and half a year ago)",
            rule: rule(vec![vec![p("t01", "between", json!([year_ago, half_year_ago]))]]),
            scope: None,
        },
        Case {
            name: "datetime_within_last_30_days",
            description: "a datetime within the 30 days up to T",
            rule: rule(vec![vec![p("t02", "within_last_days", json!(30))]]),
            scope: None,
        },
        Case {
            name: "number_change_between_dates",
            description: "number change: value(T) − value(T−5) > 0",
            rule: rule(vec![vec![json!({"type": "profile", "tag": "n01",
                "date": {"mode": "change", "from": history, "to": end_text}, "op": "diff_gt", "value": 0})]]),
            scope: None,
        },
        Case {
            name: "enum_change_between_dates",
            description: "enum change: v01 at T−5 and v02 or v03 at T",
            rule: rule(vec![vec![json!({"type": "profile", "tag": "e01",
                "date": {"mode": "change", "from": history, "to": end_text}, "op": "changed",
                "from_values": ["v01"], "to_values": ["v02", "v03"]})]]),
            scope: None,
        },
        Case {
            name: "trade_7d_industry_filter",
            description: "at least 2 Food & Beverages trades in the 7 days to T",
            rule: rule(vec![vec![behavior(
                "trade",
                -6,
                json!([{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}]),
                "gte",
                json!(2),
            )]]),
            scope: None,
        },
        Case {
            name: "trade_30d_bin_and_merchants",
            description: "at least 3 trades in 30 days with card BIN 622202 at merchants M0001–M0010",
            rule: rule(vec![vec![behavior(
                "trade",
                -29,
                json!([{"attr": "card_bin", "op": "eq", "value": 622202},
                       {"attr": "merchant_id", "op": "in", "values": (1..=10).map(|m| format!("M{m:04}")).collect::<Vec<_>>()}]),
                "gte",
                json!(3),
            )]]),
            scope: None,
        },
        Case {
            name: "trade_30d_count_between",
            description: "between 2 and 5 trades in 30 days (an exact count per entity)",
            rule: rule(vec![vec![behavior(
                "trade",
                -29,
                json!([]),
                "between",
                json!([2, 5]),
            )]]),
            scope: None,
        },
        Case {
            name: "page_view_30d_never_checkout",
            description: "no checkout page view in 30 days (count = 0) and a boolean tag",
            rule: rule(vec![vec![
                behavior(
                    "page_view",
                    -29,
                    json!([{"attr": "page", "op": "in", "values": ["checkout"]}]),
                    "eq",
                    json!(0),
                ),
                p("b03", "in", json!(["true"])),
            ]]),
            scope: None,
        },
        Case {
            name: "profile_and_page_views_7d",
            description: "an enum tag and at least 5 page views in 7 days",
            rule: rule(vec![vec![
                p("e04", "in", json!(["v01", "v02"])),
                behavior("page_view", -6, json!([]), "gte", json!(5)),
            ]]),
            scope: None,
        },
    ]
}
