//! Plan → SQL for SQLite, PostgreSQL and Spark: parameterized for
//! execution, readably formatted (and with literals inlined) for people to
//! review.
//!
//! The tables the SQL reads (created by the importer):
//! - `entities (target_object, idx, entity_id)`: the population, with each
//!   external ID's dense index;
//! - `tag_<code> (data_date, entity_idx, value)` per profile tag, `value`
//!   being text (enum, boolean as `'true'`/`'false'`), a double (number) or
//!   Unix seconds (datetime);
//! - `behavior_<code> (event_date, entity_idx, count, <attribute>…)` per behavior;
//! - `audience_scopes (scope, target_object, entity_idx)`.
//!
//! Dates are `DATE` in PostgreSQL and Spark and `'YYYY-MM-DD'` text in
//! SQLite; that and every other difference of spelling is a [`SqlDialect`].

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::plan::*;
use crate::time::format_epoch;

mod dialect;
pub mod explain;
mod statement;

pub use dialect::{Dialect, Param, Postgres, Spark, SqlDialect, Sqlite, quote_ident};
use statement::{Fragment, Render, Sql, render, sql};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompiledSql {
    pub dialect: Dialect,
    /// The statement with the dialect's placeholders.
    pub text: String,
    pub params: Vec<Param>,
    /// Per parameter, a comment shown after its inlined literal (datetimes
    /// as local time, say).
    notes: Vec<Option<String>>,
    /// The statement as built, for [`CompiledSql::display`].
    fragments: Vec<Fragment>,
}

/// What the statement returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// `entity_id`, the external IDs, ordered.
    EntityIds,
    /// `idx`, the dense member indexes, ordered.
    Indexes,
    /// `COUNT(*)`.
    Count,
    /// `bucket, bits`: the members as Spark bitmaps (its `bitmap_*`
    /// functions, so Spark only), one row per bucket of 32,768 indexes
    /// holding any: bit `i` of `bits` (byte `i / 8`, least significant bit
    /// first) is index `bucket × 32768 + i`. Built where the data is, so no
    /// member list passes through Spark's driver.
    BucketBitmaps,
}

/// Indexes per bucket of [`Output::BucketBitmaps`].
pub const BUCKET_BITS: u32 = 32_768;

pub fn profile_table(code: &str) -> String {
    format!("tag_{code}")
}

pub fn behavior_table(code: &str) -> String {
    format!("behavior_{code}")
}

struct Builder {
    dialect: &'static dyn SqlDialect,
    tz: Option<Tz>,
    statement: Sql,
    params: Vec<Param>,
    notes: Vec<Option<String>>,
}

impl Builder {
    fn param(&mut self, param: Param) -> Sql {
        self.param_noted(param, None)
    }

    fn param_noted(&mut self, param: Param, note: Option<String>) -> Sql {
        self.params.push(param);
        self.notes.push(note);
        Sql(vec![Fragment::Param(self.params.len() - 1)])
    }

    fn date(&mut self, date: NaiveDate) -> Sql {
        self.param(Param::Date(date))
    }

    fn epoch(&mut self, epoch: i64) -> Sql {
        let note = self
            .tz
            .map(|tz| format!("{} {}", format_epoch(epoch, tz), tz.name()));
        self.param_noted(Param::Int(epoch), note)
    }

    fn texts(&mut self, values: &[String]) -> Sql {
        let mut list = Sql::default();
        for (at, value) in values.iter().enumerate() {
            if at > 0 {
                list.append(", ");
            }
            list.append(self.param(Param::Text(value.clone())));
        }
        list
    }

    fn ident(&self, name: &str) -> String {
        self.dialect.quote_ident(name)
    }

    fn line(&mut self, indent: usize, text: impl Into<Sql>) {
        self.statement.append("  ".repeat(indent));
        self.statement.append(text);
        self.statement.0.push(Fragment::LineEnd);
    }
}

/// `column <cmp>` with parameters.
fn cmp_sql<T: Copy>(
    b: &mut Builder,
    column: &str,
    cmp: Cmp<T>,
    mut bind: impl FnMut(&mut Builder, T) -> Sql,
) -> Sql {
    match cmp {
        Cmp::Eq(v) => sql![column, " = ", bind(b, v)],
        Cmp::Ne(v) => sql![column, " <> ", bind(b, v)],
        Cmp::Gt(v) => sql![column, " > ", bind(b, v)],
        Cmp::Gte(v) => sql![column, " >= ", bind(b, v)],
        Cmp::Lt(v) => sql![column, " < ", bind(b, v)],
        Cmp::Lte(v) => sql![column, " <= ", bind(b, v)],
        Cmp::Between(lo, hi) => {
            let lo = bind(b, lo);
            let hi = bind(b, hi);
            sql![column, " BETWEEN ", lo, " AND ", hi]
        }
    }
}

fn pred_sql(b: &mut Builder, column: &str, pred: &TypedPred) -> Sql {
    match pred {
        TypedPred::Enum(set) | TypedPred::Boolean(set) => match set {
            SetPred::In(values) => sql![column, " IN (", b.texts(values), ")"],
            // NOT IN never matches NULL, as a missing value must not.
            SetPred::NotIn(values) => sql![column, " NOT IN (", b.texts(values), ")"],
        },
        TypedPred::Number(cmp) => cmp_sql(b, column, *cmp, |b, v| b.param(Param::Real(v))),
        TypedPred::Datetime(cmp) => cmp_sql(b, column, *cmp, |b, v| b.epoch(v)),
    }
}

fn profile_sql(b: &mut Builder, p: &ProfilePlan, indent: usize) {
    let table = b.ident(&profile_table(&p.tag));
    b.line(indent, "e.idx IN (");
    match &p.test {
        ProfileTest::At { date, pred } => {
            b.line(indent + 1, format!("SELECT t.entity_idx FROM {table} AS t"));
            let date = b.date(*date);
            let pred = pred_sql(b, "t.value", pred);
            b.line(indent + 1, sql!["WHERE t.data_date = ", date, " AND ", pred]);
        }
        ProfileTest::Diff { from, to, cmp } => {
            two_dates_sql(b, &table, *from, *to, indent);
            let test = cmp_sql(b, "t.value - f.value", *cmp, |b, v| b.param(Param::Real(v)));
            b.line(indent + 2, sql!["AND ", test]);
        }
        ProfileTest::Changed {
            from,
            to,
            from_values,
            to_values,
            ..
        } => {
            two_dates_sql(b, &table, *from, *to, indent);
            let from_values = b.texts(from_values);
            let to_values = b.texts(to_values);
            b.line(
                indent + 2,
                sql![
                    "AND f.value IN (",
                    from_values,
                    ") AND t.value IN (",
                    to_values,
                    ")"
                ],
            );
        }
    }
    b.line(indent, ")");
}

/// The rows of an entity's value on `from` (`f`) and on `to` (`t`).
fn two_dates_sql(b: &mut Builder, table: &str, from: NaiveDate, to: NaiveDate, indent: usize) {
    b.line(indent + 1, format!("SELECT t.entity_idx FROM {table} AS f"));
    b.line(
        indent + 1,
        format!("JOIN {table} AS t ON t.entity_idx = f.entity_idx"),
    );
    let from = b.date(from);
    let to = b.date(to);
    b.line(
        indent + 1,
        sql!["WHERE f.data_date = ", from, " AND t.data_date = ", to],
    );
}

fn behavior_sql(b: &mut Builder, plan: &BehaviorPlan, indent: usize) {
    // Entities without events count 0: when 0 passes, keep everyone except
    // those whose events make the comparison fail.
    match plan.count {
        CountTest::NotFailing(_) if b.dialect.excludes_with_not_exists() => {
            b.line(indent, "NOT EXISTS (");
            b.line(indent + 1, "SELECT 1 FROM (");
            behavior_rows_sql(b, plan, indent + 2);
            b.line(indent + 1, ") AS failing");
            b.line(indent + 1, "WHERE failing.entity_idx = e.idx");
        }
        CountTest::NotFailing(_) => {
            b.line(indent, "e.idx NOT IN (");
            behavior_rows_sql(b, plan, indent + 1);
        }
        CountTest::Passing(_) | CountTest::AtLeastOnce => {
            b.line(indent, "e.idx IN (");
            behavior_rows_sql(b, plan, indent + 1);
        }
    }
    b.line(indent, ")");
}

/// The entities whose events in the window pass `plan`'s count test (or,
/// for a `NotFailing` test, fail it).
fn behavior_rows_sql(b: &mut Builder, plan: &BehaviorPlan, indent: usize) {
    let table = b.ident(&behavior_table(&plan.behavior));
    b.line(indent, format!("SELECT b.entity_idx FROM {table} AS b"));
    let from = b.date(plan.from);
    let to = b.date(plan.to);
    b.line(indent, sql!["WHERE b.event_date BETWEEN ", from, " AND ", to]);
    for filter in &plan.filters {
        let column = format!("b.{}", b.ident(&filter.attr));
        let test = pred_sql(b, &column, &filter.pred);
        b.line(indent + 1, sql!["AND ", test]);
    }
    match plan.count {
        // Any passing row with events will do: nothing to sum.
        CountTest::AtLeastOnce => b.line(indent + 1, "AND b.count > 0"),
        CountTest::Passing(cmp) => {
            b.line(indent, "GROUP BY b.entity_idx");
            let test = cmp_sql(b, "SUM(b.count)", cmp, |b, v| b.param(Param::Int(v)));
            b.line(indent, sql!["HAVING ", test]);
        }
        CountTest::NotFailing(cmp) => {
            b.line(indent, "GROUP BY b.entity_idx");
            let test = cmp_sql(b, "SUM(b.count)", cmp, |b, v| b.param(Param::Int(v)));
            b.line(indent, sql!["HAVING NOT (", test, ")"]);
        }
    }
}

/// Compiles `plan` to one statement over the population of its target
/// object, restricted when given to the audience of `audience_scopes` (the
/// union of each scope's audience, e.g. a store manager's several stores).
pub fn compile(
    plan: &Plan,
    dialect: Dialect,
    output: Output,
    audience_scopes: Option<&[String]>,
) -> CompiledSql {
    let b = build(plan, dialect.syntax(), output, audience_scopes, None);
    finish(dialect, b)
}

fn finish(dialect: Dialect, b: Builder) -> CompiledSql {
    let Sql(fragments) = b.statement;
    CompiledSql {
        dialect,
        text: render(
            &fragments,
            &b.params,
            &b.notes,
            dialect.syntax(),
            Render::Placeholders,
        ),
        params: b.params,
        notes: b.notes,
        fragments,
    }
}

/// The statement's fragments and parameters in `dialect`, over the
/// population or only its members among `entities`.
fn build(
    plan: &Plan,
    dialect: &'static dyn SqlDialect,
    output: Output,
    audience_scopes: Option<&[String]>,
    entities: Option<&[u32]>,
) -> Builder {
    // The same rewrite passes as the engine runs, so both backends run one plan.
    let plan = optimize(plan.clone()).plan;
    let mut b = Builder {
        dialect,
        tz: plan.time_zone.parse().ok(),
        statement: Sql::default(),
        params: Vec::new(),
        notes: Vec::new(),
    };
    match output {
        Output::EntityIds => b.line(0, "SELECT e.entity_id"),
        Output::Indexes => b.line(0, "SELECT e.idx"),
        Output::Count => b.line(0, "SELECT COUNT(*) AS size"),
        // Spark's buckets and positions count from 1 (its bitmaps are meant
        // for 1-based IDs); indexes count from 0.
        Output::BucketBitmaps => b.line(
            0,
            "SELECT bitmap_bucket_number(e.idx + 1) - 1 AS bucket, \
             bitmap_construct_agg(bitmap_bit_position(e.idx + 1)) AS bits",
        ),
    }
    b.line(0, "FROM entities AS e");
    let target = b.param(Param::Text(plan.target.as_str().to_string()));
    b.line(0, sql!["WHERE e.target_object = ", target]);
    if let Some(entities) = entities {
        b.line(1, format!("AND e.idx IN ({})", index_list(entities)));
    }
    if let Some(scopes) = audience_scopes {
        b.line(1, "AND e.idx IN (");
        b.line(2, "SELECT s.entity_idx FROM audience_scopes AS s");
        let scopes = b.texts(scopes);
        let target = b.param(Param::Text(plan.target.as_str().to_string()));
        // An empty scope list has no audience: `IN ()` is not valid SQL.
        let scopes = if scopes.is_empty() {
            Sql::from("NULL")
        } else {
            scopes
        };
        b.line(
            2,
            sql!["WHERE s.scope IN (", scopes, ") AND s.target_object = ", target],
        );
        b.line(1, ")");
    }
    b.line(1, "AND (");
    for (g, group) in plan.groups.iter().enumerate() {
        if g > 0 {
            b.line(2, "OR");
        }
        b.line(2, format!("( -- rule group {}", g + 1));
        for (c, condition) in group.iter().enumerate() {
            if c > 0 {
                b.line(3, "AND");
            }
            match condition {
                PlanCondition::Profile(p) => profile_sql(&mut b, p, 3),
                PlanCondition::Behavior(p) => behavior_sql(&mut b, p, 3),
            }
        }
        b.line(2, ")");
    }
    b.line(1, ")");
    match output {
        Output::EntityIds => b.line(0, "ORDER BY e.entity_id"),
        Output::Indexes => b.line(0, "ORDER BY e.idx"),
        Output::Count => {}
        Output::BucketBitmaps => b.line(0, "GROUP BY bitmap_bucket_number(e.idx + 1) - 1"),
    }
    b
}

/// Dense indexes as a literal list: numbers only, so nothing to escape.
fn index_list(entities: &[u32]) -> String {
    entities.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

impl CompiledSql {
    /// The statement with every parameter inlined as a literal, for people
    /// to read; executing it gives the same result as the parameterized form.
    pub fn display(&self) -> String {
        render(
            &self.fragments,
            &self.params,
            &self.notes,
            self.dialect.syntax(),
            Render::Literals,
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::TargetObject;
    use crate::fixtures::{catalog, date};
    use crate::rule::Rule;
    use crate::validate::{Context, validate};

    /// `conditions` as one group, validated against the fixture catalog.
    pub(super) fn plan(conditions: serde_json::Value) -> Plan {
        let rule: Rule = serde_json::from_value(json!({"groups": [{"conditions": conditions}]})).unwrap();
        validate(
            &rule,
            &Context {
                catalog: &catalog(),
                target: TargetObject::User,
                time_zone: "Asia/Shanghai".parse().unwrap(),
                as_of: date("2024-08-05"),
            },
        )
        .unwrap()
    }

    /// One case per operator and date mode; their SQL is kept in
    /// `tests/golden/<dialect>/<case>.sql`. Run with `UPDATE_GOLDEN=1` to
    /// rewrite the files after an intended change, then review the diff.
    fn cases() -> Vec<(&'static str, Plan)> {
        let latest = json!({"mode": "latest"});
        let change = json!({"mode": "change", "from": "2024-07-30", "to": "2024-08-04"});
        let p = |tag: &str, date: &serde_json::Value, rest: serde_json::Value| {
            let mut condition = json!({"type": "profile", "tag": tag, "date": date});
            condition
                .as_object_mut()
                .unwrap()
                .extend(rest.as_object().unwrap().clone());
            condition
        };
        let mut cases = vec![
            (
                "enum_in_latest",
                plan(json!([p(
                    "city_cross_border_ride",
                    &latest,
                    json!({"op": "in", "values": ["Shenzhen", "Guangzhou", "Shanghai"]})
                )])),
            ),
            (
                "enum_not_in_on_date",
                plan(json!([p(
                    "city_cross_border_ride",
                    &json!({"mode": "on", "date": "2024-07-30"}),
                    json!({"op": "not_in", "values": ["Beijing"]})
                )])),
            ),
            (
                "boolean_in",
                plan(json!([p(
                    "v2_is_black_list",
                    &latest,
                    json!({"op": "in", "values": [true]})
                )])),
            ),
            (
                "enum_changed",
                plan(json!([p(
                    "city_cross_border_ride",
                    &change,
                    json!({"op": "changed", "from_values": ["Beijing"], "to_values": ["Shenzhen", "Shanghai"]})
                )])),
            ),
            (
                "number_diff_gt",
                plan(json!([p(
                    "v2_trade_cnt_7d",
                    &change,
                    json!({"op": "diff_gt", "value": 100})
                )])),
            ),
            (
                "datetime_on",
                plan(json!([p(
                    "v2_register_gmt_cn",
                    &latest,
                    json!({"op": "on", "value": "2024-08-06 00:00:00"})
                )])),
            ),
            (
                "datetime_before",
                plan(json!([p(
                    "v2_register_gmt_cn",
                    &latest,
                    json!({"op": "before", "value": "2024-01-01 08:30:00"})
                )])),
            ),
            (
                "datetime_after",
                plan(json!([p(
                    "v2_register_gmt_cn",
                    &latest,
                    json!({"op": "after", "value": "2024-01-01"})
                )])),
            ),
            (
                "datetime_between",
                plan(json!([p(
                    "v2_register_gmt_cn",
                    &latest,
                    json!({"op": "between", "values": ["2024-01-01 00:00:00", "2024-06-30 23:59:59"]})
                )])),
            ),
            (
                "datetime_within_last_days",
                plan(json!([p(
                    "v2_register_gmt_cn",
                    &latest,
                    json!({"op": "within_last_days", "value": 30})
                )])),
            ),
            (
                "behavior_dynamic_in_gte",
                plan(
                    json!([{"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
                "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}], "count": {"op": "gte", "value": 4}}]),
                ),
            ),
            (
                "behavior_fixed_number_eq_zero",
                plan(
                    json!([{"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-03"},
                "where": [{"attr": "card_bin", "op": "eq", "value": 438675}], "count": {"op": "eq", "value": 0}}]),
                ),
            ),
            (
                // Rewritten by the at_least_once pass: no sums, one pass over the rows.
                "behavior_at_least_once",
                plan(
                    json!([{"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
                "where": [{"attr": "industry_l1", "op": "in", "values": ["Retail"]}], "count": {"op": "gt", "value": 0}}]),
                ),
            ),
            (
                "behavior_between_not_in",
                plan(
                    json!([{"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -29, "to": 0},
                "where": [{"attr": "industry_l1", "op": "not_in", "values": ["Retail"]}], "count": {"op": "between", "value": [2, 5]}}]),
                ),
            ),
        ];
        for (op, value) in [
            ("eq", json!(3)),
            ("ne", json!(3)),
            ("gt", json!(3.5)),
            ("gte", json!(3)),
            ("lt", json!(-1)),
            ("lte", json!(0)),
        ] {
            let name: &'static str = Box::leak(format!("number_{op}").into_boxed_str());
            cases.push((
                name,
                plan(json!([p(
                    "v2_trade_cnt_7d",
                    &latest,
                    json!({"op": op, "value": value})
                )])),
            ));
        }
        cases.push((
            "number_between",
            plan(json!([p(
                "v2_trade_cnt_7d",
                &latest,
                json!({"op": "between", "values": [1, 10]})
            )])),
        ));
        let rule: Rule = serde_json::from_value(json!({"groups": [
            {"conditions": [p("v2_is_black_list", &latest, json!({"op": "in", "values": [false]})), p("v2_trade_cnt_7d", &latest, json!({"op": "gte", "value": 5}))]},
            {"conditions": [p("city_cross_border_ride", &latest, json!({"op": "in", "values": ["Shenzhen"]}))]}
        ]}))
        .unwrap();
        let two_groups = validate(
            &rule,
            &Context {
                catalog: &catalog(),
                target: TargetObject::User,
                time_zone: "Asia/Shanghai".parse().unwrap(),
                as_of: date("2024-08-05"),
            },
        )
        .unwrap();
        cases.push(("two_groups", two_groups));
        cases
    }

    #[test]
    fn golden_sql_per_operator_mode_and_dialect() {
        // Relative to the package root, where cargo runs tests: a path baked in at
        // compile time would point at whichever checkout built the binary.
        let root = std::path::Path::new("tests/golden");
        let update = std::env::var("UPDATE_GOLDEN").is_ok();
        let mut mismatches = Vec::new();
        for (name, plan) in cases() {
            for (dialect, folder) in [
                (Dialect::Sqlite, "sqlite"),
                (Dialect::Postgres, "postgres"),
                (Dialect::Spark, "spark"),
            ] {
                let sql = compile(&plan, dialect, Output::EntityIds, None).display() + "\n";
                let path = root.join(folder).join(format!("{name}.sql"));
                if update {
                    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                    std::fs::write(&path, &sql).unwrap();
                    continue;
                }
                let expected = std::fs::read_to_string(&path)
                    .unwrap_or_else(|_| panic!("missing golden file {}", path.display()));
                if expected != sql {
                    mismatches.push(format!(
                        "{}:\n--- expected\n{expected}--- got\n{sql}",
                        path.display()
                    ));
                }
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn parameters_are_numbered_in_order_and_inlined_safely() {
        let sql = compile(
            &plan(
                json!([{"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}]),
            ),
            Dialect::Sqlite,
            Output::Count,
            Some(&["merchant:O'Brien".to_string()]),
        );
        assert_eq!(sql.params.len(), 5);
        assert!(
            sql.text
                .contains("WHERE s.scope IN ($2) AND s.target_object = $3"),
            "{}",
            sql.text
        );
        assert!(
            sql.display().contains("'merchant:O''Brien'"),
            "quotes are doubled: {}",
            sql.display()
        );
        assert!(!sql.display().contains('$'));
    }

    #[test]
    fn values_that_look_like_placeholders_are_shown_as_given() {
        let sql = compile(
            &plan(
                json!([{"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}]),
            ),
            Dialect::Postgres,
            Output::Count,
            Some(&["$3".to_string(), "merchant:$1".to_string()]),
        );
        assert!(
            sql.display()
                .contains("WHERE s.scope IN ('$3', 'merchant:$1') AND s.target_object = 'user'"),
            "{}",
            sql.display()
        );
    }

    #[test]
    fn spark_spelling_escapes_strings_marks_doubles_and_excludes_with_not_exists() {
        let plan = plan(json!([
            {"type": "behavior", "behavior": "trade", "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-03"},
             "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}], "count": {"op": "lt", "value": 2}},
            {"type": "profile", "tag": "v2_trade_cnt_7d", "date": {"mode": "latest"}, "op": "gt", "value": 100}
        ]));
        let scopes = ["merchant:O'Brien \\'".to_string()];
        let sql = compile(&plan, Dialect::Spark, Output::Count, Some(&scopes));
        let text = &sql.text;
        assert!(
            text.contains("SELECT b.entity_idx FROM `behavior_trade` AS b\n"),
            "{text}"
        );
        assert!(text.contains("WHERE b.event_date BETWEEN ? AND ?\n"), "{text}");
        assert!(text.contains("AND b.`industry_l1` IN (?)\n"), "{text}");
        // Fewer than 2 passes with no events: the exclusion of those with 2 or more.
        assert!(text.contains("NOT EXISTS (\n"), "{text}");
        assert!(text.contains(") AS failing\n"), "{text}");
        assert!(text.contains("WHERE failing.entity_idx = e.idx\n"), "{text}");
        assert!(!text.contains("NOT IN"), "{text}");
        let shown = sql.display();
        assert!(
            shown.contains("WHERE b.event_date BETWEEN DATE '2024-08-01' AND DATE '2024-08-03'"),
            "{shown}"
        );
        assert!(shown.contains("t.value > 100.0D"), "{shown}");
        // A quote and a backslash escaped with backslashes: `''` would end the string.
        assert!(shown.contains(r"'merchant:O\'Brien \\\''"), "{shown}");
    }

    #[test]
    fn spark_member_buckets_are_grouped_by_bucket_of_the_zero_based_index() {
        let plan = plan(
            json!([{"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]}]),
        );
        let shown = compile(&plan, Dialect::Spark, Output::BucketBitmaps, None).display();
        assert!(
            shown.starts_with(
                "SELECT bitmap_bucket_number(e.idx + 1) - 1 AS bucket, \
                 bitmap_construct_agg(bitmap_bit_position(e.idx + 1)) AS bits\nFROM entities AS e\n"
            ),
            "{shown}"
        );
        assert!(
            shown.ends_with("\nGROUP BY bitmap_bucket_number(e.idx + 1) - 1"),
            "{shown}"
        );
    }
}
