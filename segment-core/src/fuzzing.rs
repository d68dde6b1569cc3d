//! Entry points for fuzzing: each takes arbitrary bytes and must neither
//! panic nor use memory out of proportion to its input. The coverage-guided
//! targets (`segment-core/fuzz`, `scripts/fuzz`) and the short randomized runs of
//! the test suite call these same functions.

use chrono::{Datelike, NaiveDate};

use crate::catalog::{Tenant, TenantKind};
use crate::engine::TagIndex;
use crate::fixtures;
use crate::id_list::{IdListParser, Line};
use crate::rule::Rule;
use crate::sql::{Dialect, Output, compile};
use crate::validate::{Context, validate};

const ZONES: [&str; 4] = ["UTC", "Asia/Shanghai", "America/New_York", "Pacific/Chatham"];

/// Rule JSON from anyone: parsed, validated for the platform and for a
/// merchant, compiled for every dialect and evaluated (and explained) on a
/// small index. The first byte picks the time zone and T.
pub fn rule_json(data: &[u8]) {
    let Some((&knob, json)) = data.split_first() else {
        return;
    };
    let Ok(rule) = serde_json::from_slice::<Rule>(json) else {
        return;
    };
    let platform = fixtures::catalog();
    let merchant = platform.for_tenant(&Tenant {
        kind: TenantKind::Merchant,
        ids: vec!["M1".into()],
    });
    let index = fixture_index();
    let as_of =
        NaiveDate::from_ymd_opt(2024, 7, 28).expect("a date") + chrono::Duration::days(i64::from(knob % 16));
    for catalog in [&platform, &merchant] {
        let context = Context {
            catalog,
            target: crate::TargetObject::User,
            time_zone: ZONES[usize::from(knob >> 6)].parse().expect("a zone"),
            as_of,
        };
        let Ok(plan) = validate(&rule, &context) else {
            continue;
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let scopes = ["merchant:M1".to_string()];
            for audience in [None, Some(&scopes[..])] {
                let sql = compile(&plan, dialect, Output::EntityIds, audience);
                let _ = sql.display();
                if let Ok(members) = index.evaluate(&plan, audience) {
                    assert!(members.len() <= 8, "members come from the population");
                }
            }
        }
        for condition in plan.groups.iter().flatten() {
            let _ = index.explain(condition, &[0, 3, 7, 100]);
        }
    }
}

/// An uploaded ID list, fed in chunks whose size the first byte picks: every
/// line is accounted for exactly once, whatever the chunking.
pub fn id_list(data: &[u8]) {
    let Some((&knob, file)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(knob).max(1);
    let mut parser = IdListParser::new();
    let mut lines = Vec::new();
    for piece in file.chunks(chunk) {
        lines.extend(parser.feed(piece));
    }
    lines.extend(parser.finish());
    let mut whole = IdListParser::new();
    let mut at_once = whole.feed(file);
    at_once.extend(whole.finish());
    assert_eq!(lines, at_once, "chunking changes nothing");
    let mut last = 0;
    for line in &lines {
        let (Line::Id { line, .. } | Line::Invalid { line, .. } | Line::Duplicate { line }) = line;
        assert!(*line > last, "each line once, in order");
        last = *line;
    }
}

/// Eight users with values on two dates of each fixture tag and trades on
/// three days, two of them at merchant M1.
pub fn fixture_index() -> TagIndex {
    use crate::catalog::DataType;
    use crate::engine::*;
    use std::collections::BTreeMap;

    let date = fixtures::date;
    let mut index = TagIndex::default();
    index
        .populations
        .insert(crate::TargetObject::User, (0..8).collect());
    index.scopes.insert(
        ("merchant:M1".into(), crate::TargetObject::User),
        [0, 1, 2, 3].into_iter().collect(),
    );
    let cities = ["Shenzhen", "Guangzhou", "Shanghai", "Beijing"];
    let profile = |data_type, build: &dyn Fn(NaiveDate) -> ProfilePartition| ProfileIndex {
        data_type,
        partitions: ["2024-07-30", "2024-08-04"]
            .into_iter()
            .map(|d| (date(d), build(date(d))))
            .collect(),
    };
    index.profiles.insert(
        "city_cross_border_ride".into(),
        profile(DataType::Enum, &|d| {
            ProfilePartition::Categorical(CategoricalPartition::build(
                (0..7u32)
                    .map(|e| (e, cities[(e as usize + d.day() as usize) % 4].to_string()))
                    .collect(),
            ))
        }),
    );
    index.profiles.insert(
        "v2_is_black_list".into(),
        profile(DataType::Boolean, &|_| {
            ProfilePartition::Categorical(CategoricalPartition::build(
                (0..8u32).map(|e| (e, (e % 3 == 0).to_string())).collect(),
            ))
        }),
    );
    index.profiles.insert(
        "v2_register_gmt_cn".into(),
        profile(DataType::Datetime, &|_| {
            ProfilePartition::Time(OrderedPartition::build(
                (0..8u32)
                    .map(|e| (e, 1_722_000_000 + i64::from(e) * 86_400))
                    .collect(),
                false,
            ))
        }),
    );
    index.profiles.insert(
        "v2_trade_cnt_7d".into(),
        profile(DataType::Number, &|d| {
            ProfilePartition::Number(OrderedPartition::build(
                (1..8u32).map(|e| (e, f64::from(e * d.day()) / 2.0)).collect(),
                true,
            ))
        }),
    );
    let types = [DataType::Enum, DataType::Number, DataType::Enum];
    let day = |rows: &[(u32, u32, &str, f64, &str)]| {
        DayBlock::build(
            rows.iter()
                .map(|(e, c, industry, bin, merchant)| {
                    (
                        *e,
                        *c,
                        vec![
                            AttrValue::Text(industry.to_string()),
                            AttrValue::Number(*bin),
                            AttrValue::Text(merchant.to_string()),
                        ],
                    )
                })
                .collect(),
            &types,
        )
    };
    index.behaviors.insert(
        "trade".into(),
        BehaviorIndex {
            attributes: vec![
                ("industry_l1".into(), DataType::Enum),
                ("card_bin".into(), DataType::Number),
                ("merchant_id".into(), DataType::Enum),
            ],
            days: BTreeMap::from([
                (
                    date("2024-08-01"),
                    day(&[(0, 3, "Retail", 622202.0, "M1"), (4, 1, "Retail", 1.0, "M2")]),
                ),
                (date("2024-08-02"), day(&[(0, 2, "Food & Beverages", 1.0, "M2")])),
                (
                    date("2024-08-03"),
                    day(&[(5, 9, "Food & Beverages", 622202.0, "M1")]),
                ),
            ]),
        },
    );
    index
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Rules built from the vocabulary with every field possibly wrong.
    fn rules() -> impl Strategy<Value = Vec<u8>> {
        let word = prop_oneof![
            Just(serde_json::json!("city_cross_border_ride")),
            Just(serde_json::json!("v2_trade_cnt_7d")),
            Just(serde_json::json!("v2_register_gmt_cn")),
            Just(serde_json::json!("v2_is_black_list")),
            Just(serde_json::json!("trade")),
            Just(serde_json::json!("Shenzhen")),
            Just(serde_json::json!("M1")),
            Just(serde_json::json!("2024-08-04")),
            Just(serde_json::json!("2024-07-30 10:00:00")),
            (-5i64..200).prop_map(|n| serde_json::json!(n)),
            any::<String>().prop_map(|s| serde_json::json!(s)),
        ];
        let op = prop_oneof![
            Just("in"),
            Just("not_in"),
            Just("eq"),
            Just("gt"),
            Just("between"),
            Just("on"),
            Just("before"),
            Just("within_last_days"),
            Just("diff_gt"),
            Just("changed"),
            Just("gte"),
            Just("nope"),
        ];
        let date = prop_oneof![
            Just(serde_json::json!({"mode": "latest"})),
            Just(serde_json::json!({"mode": "on", "date": "2024-08-04"})),
            Just(serde_json::json!({"mode": "change", "from": "2024-07-30", "to": "2024-08-04"})),
            Just(serde_json::json!({"mode": "change", "from": "2024-08-04", "to": "2024-07-30"})),
        ];
        let window = prop_oneof![
            (-40i32..5, -40i32..5)
                .prop_map(|(a, b)| serde_json::json!({"mode": "dynamic", "from": a, "to": b})),
            Just(serde_json::json!({"mode": "fixed", "from": "2024-08-01", "to": "2024-08-03"})),
        ];
        let condition = prop_oneof![
            (word.clone(), date, op.clone(), word.clone(), proptest::collection::vec(word.clone(), 0..4)).prop_map(
                |(tag, date, op, value, values)| serde_json::json!({"type": "profile", "tag": tag, "date": date,
                    "op": op, "value": value, "values": values, "from_values": values, "to_values": values})
            ),
            (word.clone(), window, op.clone(), proptest::collection::vec(word.clone(), 0..3), op, -2i64..12).prop_map(
                |(behavior, window, filter_op, values, count_op, n)| serde_json::json!({"type": "behavior",
                    "behavior": behavior, "window": window,
                    "where": [{"attr": "merchant_id", "op": filter_op, "values": values}, {"attr": "card_bin", "op": "gt", "value": 5}],
                    "count": {"op": count_op, "value": n}})
            ),
        ];
        (
            any::<u8>(),
            proptest::collection::vec(proptest::collection::vec(condition, 0..4), 0..4),
        )
            .prop_map(|(knob, groups)| {
                let groups: Vec<_> = groups
                    .into_iter()
                    .map(|c| serde_json::json!({"conditions": c}))
                    .collect();
                let mut bytes = vec![knob];
                bytes.extend(serde_json::to_vec(&serde_json::json!({"groups": groups})).unwrap());
                bytes
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn rules_from_anyone_never_panic(data in rules()) {
            rule_json(&data);
        }

        #[test]
        fn arbitrary_bytes_as_a_rule_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            rule_json(&data);
        }

        #[test]
        fn id_lists_are_read_the_same_in_any_chunks(
            knob in any::<u8>(),
            lines in proptest::collection::vec(prop_oneof![
                Just("entity_id".to_string()), Just("U1".to_string()), Just("\"U2\"".to_string()),
                Just("a,b".to_string()), Just("\u{feff}entity_id".to_string()), "[ -~]{0,80}", any::<String>(),
            ], 0..40),
            crlf in any::<bool>(),
        ) {
            let mut data = vec![knob];
            data.extend(lines.join(if crlf { "\r\n" } else { "\n" }).into_bytes());
            id_list(&data);
        }
    }
}
