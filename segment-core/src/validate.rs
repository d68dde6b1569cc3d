//! Rule → plan. Every problem is reported with its place and a sentence a
//! person can act on; the editor shows them at the condition, the API
//! returns them all at once.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::TargetObject;
use crate::catalog::{Catalog, DataType, TagDef, TagKind};
use crate::plan::*;
use crate::rule::*;
use crate::time::{day_start, parse_date, parse_local_datetime};

/// The longest window or look-back a rule may use, in days.
pub const MAX_DAYS: i64 = 3660;

/// How large a rule may be. Every evaluation (estimate, run, verification)
/// costs time in proportion to its conditions and values, so a rule over
/// these limits is refused before anything reads it.
pub mod limits {
    /// Rule groups (OR) in one rule.
    pub const GROUPS: usize = 20;
    /// Conditions (AND) in one group.
    pub const CONDITIONS_PER_GROUP: usize = 20;
    /// Conditions in the whole rule.
    pub const CONDITIONS: usize = 100;
    /// Values of one list: `values`, `from_values`, `to_values`, or an attribute filter's `values`.
    pub const VALUES: usize = 1_000;
    /// Attribute filters (`where`) of one behavior condition.
    pub const FILTERS: usize = 10;
}

/// Where in the rule a problem is, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Index of the rule group, when the problem is inside one.
    pub group: Option<usize>,
    /// Index of the condition within the group.
    pub condition: Option<usize>,
    /// Index of the attribute filter within a behavior condition.
    pub filter: Option<usize>,
    /// The field at fault, for example `values` or `date.from`.
    pub field: String,
    pub message: String,
}

impl Problem {
    /// A JSON-like path: `groups[0].conditions[1].where[0].values`.
    pub fn path(&self) -> String {
        let mut path = String::new();
        if let Some(g) = self.group {
            path.push_str(&format!("groups[{g}]"));
        }
        if let Some(c) = self.condition {
            path.push_str(&format!(".conditions[{c}]"));
        }
        if let Some(f) = self.filter {
            path.push_str(&format!(".where[{f}]"));
        }
        if !self.field.is_empty() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&self.field);
        }
        path
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path(), self.message)
    }
}

pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub target: TargetObject,
    pub time_zone: Tz,
    /// T: the evaluation date.
    pub as_of: NaiveDate,
}

/// Checks `rule` and resolves it into a plan, or returns every problem.
pub fn validate(rule: &Rule, cx: &Context) -> Result<Plan, Vec<Problem>> {
    let mut problems = size_problems(rule);
    if !problems.is_empty() {
        // An oversized rule is not read any further: its size is the problem.
        return Err(problems);
    }
    if rule.groups.is_empty() {
        problems.push(Problem {
            group: None,
            condition: None,
            filter: None,
            field: "groups".into(),
            message: "Add at least one rule group.".into(),
        });
    }
    let mut groups = Vec::new();
    let mut data_date: Option<NaiveDate> = None;
    for (g, group) in rule.groups.iter().enumerate() {
        if group.conditions.is_empty() {
            problems.push(Problem {
                group: Some(g),
                condition: None,
                filter: None,
                field: "conditions".into(),
                message: "Add at least one condition to this group, or remove it.".into(),
            });
        }
        let mut conditions = Vec::new();
        for (c, condition) in group.conditions.iter().enumerate() {
            let mut at = Place {
                group: g,
                condition: c,
                problems: &mut problems,
            };
            let planned = match condition {
                Condition::Profile(p) => {
                    profile(p, cx, &mut at).map(|(plan, date)| (PlanCondition::Profile(plan), date))
                }
                Condition::Behavior(b) => {
                    behavior(b, cx, &mut at).map(|(plan, date)| (PlanCondition::Behavior(plan), date))
                }
            };
            if let Some((plan, date)) = planned {
                data_date = data_date.max(date);
                conditions.push(plan);
            }
        }
        groups.push(conditions);
    }
    if problems.is_empty() {
        Ok(Plan {
            target: cx.target,
            as_of: cx.as_of,
            time_zone: cx.time_zone.name().to_string(),
            groups,
            data_date,
        })
    } else {
        Err(problems)
    }
}

/// Where `rule` exceeds [`limits`], each at its place.
pub fn size_problems(rule: &Rule) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut report = |group, condition, filter, field: String, message: String| {
        problems.push(Problem {
            group,
            condition,
            filter,
            field,
            message,
        })
    };
    if rule.groups.len() > limits::GROUPS {
        report(
            None,
            None,
            None,
            "groups".into(),
            format!(
                "A rule may have at most {} groups; this one has {}.",
                limits::GROUPS,
                rule.groups.len()
            ),
        );
    }
    let total: usize = rule.groups.iter().map(|g| g.conditions.len()).sum();
    if total > limits::CONDITIONS {
        report(
            None,
            None,
            None,
            "groups".into(),
            format!(
                "A rule may have at most {} conditions in all; this one has {total}.",
                limits::CONDITIONS
            ),
        );
    }
    let too_many_values = |count: usize| {
        format!(
            "Choose at most {} values here; {count} are given.",
            limits::VALUES
        )
    };
    for (g, group) in rule.groups.iter().enumerate() {
        if group.conditions.len() > limits::CONDITIONS_PER_GROUP {
            report(
                Some(g),
                None,
                None,
                "conditions".into(),
                format!(
                    "A group may have at most {} conditions; this one has {}.",
                    limits::CONDITIONS_PER_GROUP,
                    group.conditions.len()
                ),
            );
        }
        for (c, condition) in group.conditions.iter().enumerate() {
            match condition {
                Condition::Profile(p) => {
                    for (field, list) in [
                        ("values", &p.values),
                        ("from_values", &p.from_values),
                        ("to_values", &p.to_values),
                    ] {
                        if let Some(list) = list
                            && list.len() > limits::VALUES
                        {
                            report(Some(g), Some(c), None, field.into(), too_many_values(list.len()));
                        }
                    }
                }
                Condition::Behavior(b) => {
                    if b.filters.len() > limits::FILTERS {
                        report(
                            Some(g),
                            Some(c),
                            None,
                            "where".into(),
                            format!(
                                "A behavior condition may have at most {} attribute filters; this one has {}.",
                                limits::FILTERS,
                                b.filters.len()
                            ),
                        );
                    }
                    for (f, filter) in b.filters.iter().enumerate() {
                        if let Some(list) = &filter.values
                            && list.len() > limits::VALUES
                        {
                            report(
                                Some(g),
                                Some(c),
                                Some(f),
                                "values".into(),
                                too_many_values(list.len()),
                            );
                        }
                    }
                }
            }
        }
    }
    problems
}

/// A value as a message quotes it: long text is cut, so that an error
/// never echoes a whole oversized request back.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 60;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

struct Place<'p> {
    group: usize,
    condition: usize,
    problems: &'p mut Vec<Problem>,
}

impl Place<'_> {
    fn report(&mut self, field: &str, message: impl Into<String>) {
        self.report_in(None, field, message);
    }

    fn report_in(&mut self, filter: Option<usize>, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            group: Some(self.group),
            condition: Some(self.condition),
            filter,
            field: field.into(),
            message: message.into(),
        });
    }
}

fn find_tag<'c>(code: &str, field: &str, cx: &'c Context, at: &mut Place) -> Option<&'c TagDef> {
    if code.trim().is_empty() {
        at.report(field, "Choose a tag.");
        return None;
    }
    let Some(tag) = cx.catalog.tag(code) else {
        at.report(field, format!("There is no tag {} in the catalog.", quoted(code)));
        return None;
    };
    if tag.target_object != cx.target {
        at.report(
            field,
            format!(
                "{code} describes {} but this segment targets {}.",
                tag.target_object.label().to_lowercase(),
                cx.target.label().to_lowercase()
            ),
        );
        return None;
    }
    Some(tag)
}

fn ready_date(tag: &TagDef, text: &str, field: &str, at: &mut Place) -> Option<NaiveDate> {
    let date = match parse_date(text) {
        Ok(date) => date,
        Err(message) => {
            at.report(field, message);
            return None;
        }
    };
    if !tag.is_ready(date) {
        // The ready dates on either side of the one asked for.
        let before = tag.ready_dates.iter().rev().find(|d| **d < date);
        let after = tag.ready_dates.iter().find(|d| **d > date);
        let ready = match (before, after) {
            (Some(before), Some(after)) => format!(" The nearest dates with data are {before} and {after}."),
            (Some(only), None) | (None, Some(only)) => format!(" The nearest date with data is {only}."),
            (None, None) => " No data is ready for it yet.".into(),
        };
        at.report(field, format!("{} has no data for {date}.{ready}", tag.name));
        return None;
    }
    Some(date)
}

fn profile(p: &ProfileCondition, cx: &Context, at: &mut Place) -> Option<(ProfilePlan, Option<NaiveDate>)> {
    let tag = find_tag(&p.tag, "tag", cx, at)?;
    let TagKind::Profile { data_type, .. } = &tag.kind else {
        at.report(
            "tag",
            format!("{} is a behavior tag; use a behavior condition.", tag.code),
        );
        return None;
    };
    let data_type = *data_type;
    let test = match &p.date {
        DateOption::Latest => {
            let Some(date) = tag.latest_date() else {
                at.report("date", format!("No data is ready for {} yet.", tag.code));
                return None;
            };
            ProfileTest::At {
                date,
                pred: single_date_pred(p, tag, data_type, cx, at)?,
            }
        }
        DateOption::On { date } => {
            let date = ready_date(tag, date, "date.date", at);
            let pred = single_date_pred(p, tag, data_type, cx, at);
            ProfileTest::At {
                date: date?,
                pred: pred?,
            }
        }
        DateOption::Change { from, to } => {
            let from = ready_date(tag, from, "date.from", at);
            let to = ready_date(tag, to, "date.to", at);
            if let (Some(f), Some(t)) = (from, to)
                && f >= t
            {
                at.report("date.to", "The second date must be after the first.");
            }
            let test = change_test(p, tag, data_type, at);
            let (from, to, test) = (from?, to?, test?);
            if from >= to {
                return None;
            }
            match test {
                ChangeTest::Diff(cmp) => ProfileTest::Diff { from, to, cmp },
                ChangeTest::Changed(kind, from_values, to_values) => ProfileTest::Changed {
                    kind,
                    from,
                    to,
                    from_values,
                    to_values,
                },
            }
        }
    };
    let date = match &test {
        ProfileTest::At { date, .. } => *date,
        ProfileTest::Diff { to, .. } | ProfileTest::Changed { to, .. } => *to,
    };
    Some((
        ProfilePlan {
            tag: tag.code.clone(),
            test,
        },
        Some(date),
    ))
}

const ENUM_OPS: &str = "in, not_in";
const NUMBER_OPS: &str = "eq, ne, gt, gte, lt, lte, between";
const DATETIME_OPS: &str = "on, before, after, between, within_last_days";

fn single_date_pred(
    p: &ProfileCondition,
    tag: &TagDef,
    data_type: DataType,
    cx: &Context,
    at: &mut Place,
) -> Option<TypedPred> {
    let op = p.op.as_str();
    match data_type {
        DataType::Enum | DataType::Boolean => {
            let values = value_set(
                p.values.as_deref(),
                &tag.allowed_values(),
                &tag.code,
                "values",
                None,
                at,
            )?;
            let set = set_pred(op, values, data_type, None, at)?;
            SetKind::of(data_type).map(|kind| kind.pred(set))
        }
        DataType::Number => {
            number_cmp(op, p.value.as_ref(), p.values.as_deref(), None, at).map(TypedPred::Number)
        }
        DataType::Datetime => {
            datetime_cmp(op, p.value.as_ref(), p.values.as_deref(), cx, at).map(TypedPred::Datetime)
        }
    }
}

/// `in` or `not_in` over checked `values`.
fn set_pred(
    op: &str,
    values: Vec<String>,
    data_type: DataType,
    filter: Option<usize>,
    at: &mut Place,
) -> Option<SetPred> {
    match op {
        "in" => Some(SetPred::In(values)),
        "not_in" => Some(SetPred::NotIn(values)),
        _ => unknown_op(op, data_type, ENUM_OPS, filter, at),
    }
}

enum ChangeTest {
    Diff(Cmp<f64>),
    Changed(SetKind, Vec<String>, Vec<String>),
}

fn change_test(
    p: &ProfileCondition,
    tag: &TagDef,
    data_type: DataType,
    at: &mut Place,
) -> Option<ChangeTest> {
    let op = p.op.as_str();
    match data_type {
        DataType::Number => {
            let base = match op {
                "diff_eq" => "eq",
                "diff_gt" => "gt",
                "diff_gte" => "gte",
                "diff_lt" => "lt",
                "diff_lte" => "lte",
                "diff_between" => "between",
                _ => {
                    at.report(
                        "op",
                        format!("{} is not a change operator for numbers; use diff_eq, diff_gt, diff_gte, diff_lt, diff_lte or diff_between.", quoted(op)),
                    );
                    return None;
                }
            };
            number_cmp(base, p.value.as_ref(), p.values.as_deref(), None, at).map(ChangeTest::Diff)
        }
        DataType::Enum | DataType::Boolean => {
            if op != "changed" {
                at.report(
                    "op",
                    format!(
                        "{} is not a change operator here; use changed with from_values and to_values.",
                        quoted(op)
                    ),
                );
                return None;
            }
            let allowed = tag.allowed_values();
            let from = value_set(
                p.from_values.as_deref(),
                &allowed,
                &tag.code,
                "from_values",
                None,
                at,
            );
            let to = value_set(p.to_values.as_deref(), &allowed, &tag.code, "to_values", None, at);
            Some(ChangeTest::Changed(SetKind::of(data_type)?, from?, to?))
        }
        DataType::Datetime => {
            at.report(
                "date",
                "A change between two dates is not offered for date/time tags.",
            );
            None
        }
    }
}

fn unknown_op<T>(
    op: &str,
    data_type: DataType,
    ops: &str,
    filter: Option<usize>,
    at: &mut Place,
) -> Option<T> {
    let message = if op.is_empty() {
        "Choose a filter method.".to_string()
    } else {
        format!(
            "{} is not a filter for {} values; use {ops}.",
            quoted(op),
            data_type.label().to_lowercase()
        )
    };
    at.report_in(filter, "op", message);
    None
}

/// Enum or boolean values: non-empty, each allowed, de-duplicated. The
/// first few unknown values are reported one by one, the rest counted.
fn value_set(
    values: Option<&[Value]>,
    allowed: &[String],
    owner: &str,
    field: &str,
    filter: Option<usize>,
    at: &mut Place,
) -> Option<Vec<String>> {
    const REPORTED: usize = 5;
    let values = values.unwrap_or_default();
    if values.is_empty() {
        at.report_in(filter, field, "Choose at least one value.");
        return None;
    }
    let allowed_set: std::collections::HashSet<&str> = allowed.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    let mut unknown = 0usize;
    for value in values {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            other => other.to_string(),
        };
        if allowed_set.contains(text.as_str()) {
            if seen.insert(text.clone()) {
                out.push(text);
            }
            continue;
        }
        unknown += 1;
        if unknown <= REPORTED {
            let shown: Vec<&str> = allowed.iter().take(8).map(String::as_str).collect();
            let more = if allowed.len() > 8 { ", …" } else { "" };
            at.report_in(
                filter,
                field,
                format!(
                    "{} is not a value of {owner} (values: {}{more}).",
                    quoted(&text),
                    shown.join(", ")
                ),
            );
        }
    }
    if unknown > REPORTED {
        at.report_in(
            filter,
            field,
            format!("{} more values are not values of {owner}.", unknown - REPORTED),
        );
    }
    (unknown == 0).then_some(out)
}

fn as_number(value: &Value) -> Option<f64> {
    let n = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then_some(if n == 0.0 { 0.0 } else { n })
}

fn number_cmp(
    op: &str,
    value: Option<&Value>,
    values: Option<&[Value]>,
    filter: Option<usize>,
    at: &mut Place,
) -> Option<Cmp<f64>> {
    let one = |at: &mut Place| -> Option<f64> {
        match value.and_then(as_number) {
            Some(n) => Some(n),
            None => {
                at.report_in(filter, "value", "Enter a number.");
                None
            }
        }
    };
    Some(match op {
        "eq" => Cmp::Eq(one(at)?),
        "ne" => Cmp::Ne(one(at)?),
        "gt" => Cmp::Gt(one(at)?),
        "gte" => Cmp::Gte(one(at)?),
        "lt" => Cmp::Lt(one(at)?),
        "lte" => Cmp::Lte(one(at)?),
        "between" => {
            let pair = values
                .or(value.and_then(Value::as_array).map(Vec::as_slice))
                .unwrap_or_default();
            let numbers: Vec<Option<f64>> = pair.iter().map(as_number).collect();
            match numbers.as_slice() {
                [Some(lo), Some(hi)] if lo <= hi => Cmp::Between(*lo, *hi),
                [Some(_), Some(_)] => {
                    at.report_in(
                        filter,
                        "values",
                        "The lower bound must not exceed the upper bound.",
                    );
                    return None;
                }
                _ => {
                    at.report_in(
                        filter,
                        "values",
                        "Enter two numbers: the lower and the upper bound.",
                    );
                    return None;
                }
            }
        }
        _ => return unknown_op(op, DataType::Number, NUMBER_OPS, filter, at),
    })
}

fn datetime_cmp(
    op: &str,
    value: Option<&Value>,
    values: Option<&[Value]>,
    cx: &Context,
    at: &mut Place,
) -> Option<Cmp<i64>> {
    let tz = cx.time_zone;
    let parse = |v: Option<&Value>, field: &str, at: &mut Place| -> Option<i64> {
        let Some(Value::String(text)) = v else {
            at.report(field, "Enter a date-time (YYYY-MM-DD HH:MM:SS).");
            return None;
        };
        match parse_local_datetime(text, tz) {
            Ok(epoch) => Some(epoch),
            Err(message) => {
                at.report(field, message);
                None
            }
        }
    };
    Some(match op {
        "on" => {
            let Some(Value::String(text)) = value else {
                at.report("value", "Enter a date (YYYY-MM-DD).");
                return None;
            };
            let day = match parse_date(text.get(..10).unwrap_or(text)) {
                Ok(day) => day,
                Err(message) => {
                    at.report("value", message);
                    return None;
                }
            };
            Cmp::Between(day_start(day, tz), day_start(day + Duration::days(1), tz) - 1)
        }
        "before" => Cmp::Lt(parse(value, "value", at)?),
        "after" => Cmp::Gt(parse(value, "value", at)?),
        "between" => {
            let pair = values.unwrap_or_default();
            if pair.len() != 2 {
                at.report("values", "Enter two date-times: the start and the end.");
                return None;
            }
            let lo = parse(pair.first(), "values", at);
            let hi = parse(pair.get(1), "values", at);
            let (lo, hi) = (lo?, hi?);
            if lo > hi {
                at.report("values", "The start must not be after the end.");
                return None;
            }
            Cmp::Between(lo, hi)
        }
        "within_last_days" => {
            let days = value
                .and_then(as_number)
                .filter(|d| d.fract() == 0.0 && *d >= 1.0 && *d <= MAX_DAYS as f64);
            let Some(days) = days else {
                at.report(
                    "value",
                    format!("Enter a whole number of days from 1 to {MAX_DAYS}."),
                );
                return None;
            };
            // The N calendar days ending with T, in the segment's time zone.
            // A whole number from 1 to MAX_DAYS (checked above): exact as i64.
            #[allow(clippy::cast_possible_truncation)]
            let first = cx.as_of - Duration::days(days as i64 - 1);
            Cmp::Between(
                day_start(first, tz),
                day_start(cx.as_of + Duration::days(1), tz) - 1,
            )
        }
        _ => return unknown_op(op, DataType::Datetime, DATETIME_OPS, None, at),
    })
}

fn behavior(
    b: &BehaviorCondition,
    cx: &Context,
    at: &mut Place,
) -> Option<(BehaviorPlan, Option<NaiveDate>)> {
    let tag = find_tag(&b.behavior, "behavior", cx, at)?;
    if !matches!(tag.kind, TagKind::Behavior { .. }) {
        at.report(
            "behavior",
            format!("{} is a profile tag; use a profile condition.", tag.code),
        );
        return None;
    }
    let window = match &b.window {
        Window::Fixed { from, to } => {
            let from = parse_date(from).map_err(|m| at.report("window.from", m)).ok();
            let to = parse_date(to).map_err(|m| at.report("window.to", m)).ok();
            match (from, to) {
                (Some(f), Some(t)) if f > t => {
                    at.report("window.to", "The window must not end before it starts.");
                    None
                }
                (Some(f), Some(t)) if (t - f).num_days() >= MAX_DAYS => {
                    at.report("window.to", format!("A window may span at most {MAX_DAYS} days."));
                    None
                }
                (Some(f), Some(t)) => Some((f, t)),
                _ => None,
            }
        }
        Window::Dynamic { from, to } => {
            if from > to {
                at.report(
                    "window.to",
                    "The window must not end before it starts (T-6 … T+0, say).",
                );
                None
            } else if (*from as i64).abs() > MAX_DAYS || (*to as i64).abs() > MAX_DAYS {
                at.report(
                    "window",
                    format!("Offsets from T must stay within ±{MAX_DAYS} days."),
                );
                None
            } else {
                Some((
                    cx.as_of + Duration::days(*from as i64),
                    cx.as_of + Duration::days(*to as i64),
                ))
            }
        }
    };
    let mut filters = Vec::new();
    let mut filters_ok = true;
    for (f, filter) in b.filters.iter().enumerate() {
        match attribute_filter(filter, tag, f, at) {
            Some(plan) => filters.push(plan),
            None => filters_ok = false,
        }
    }
    let count = count_cmp(&b.count, at);
    let ((from, to), count) = (window?, count?);
    if !filters_ok {
        return None;
    }
    if let Some(own) = &tag.tenant_filter {
        filters.push(AttributePlan {
            attr: own.attr.clone(),
            pred: TypedPred::Enum(SetPred::In(own.ids.clone())),
        });
    }
    let data_date = tag.latest_date().map(|latest| latest.min(to));
    Some((
        BehaviorPlan {
            behavior: tag.code.clone(),
            from,
            to,
            filters,
            count: CountTest::of(count),
        },
        data_date,
    ))
}

fn attribute_filter(
    filter: &AttributeFilter,
    tag: &TagDef,
    f: usize,
    at: &mut Place,
) -> Option<AttributePlan> {
    let Some(attribute) = tag.attribute(&filter.attr) else {
        at.report_in(
            Some(f),
            "attr",
            format!("{} has no attribute {}.", tag.code, quoted(&filter.attr)),
        );
        return None;
    };
    let op = filter.op.as_str();
    let pred = match attribute.data_type {
        DataType::Enum | DataType::Boolean => {
            let allowed = if attribute.data_type == DataType::Boolean {
                vec!["true".to_string(), "false".to_string()]
            } else {
                attribute.values.clone()
            };
            let values = value_set(
                filter.values.as_deref(),
                &allowed,
                &attribute.code,
                "values",
                Some(f),
                at,
            )?;
            let set = set_pred(op, values, attribute.data_type, Some(f), at)?;
            SetKind::of(attribute.data_type)?.pred(set)
        }
        DataType::Number => TypedPred::Number(number_cmp(
            op,
            filter.value.as_ref(),
            filter.values.as_deref(),
            Some(f),
            at,
        )?),
        DataType::Datetime => {
            at.report_in(Some(f), "attr", "Date/time attributes cannot be filtered on.");
            return None;
        }
    };
    Some(AttributePlan {
        attr: attribute.code.clone(),
        pred,
    })
}

fn count_cmp(count: &CountComparison, at: &mut Place) -> Option<Cmp<i64>> {
    let whole = |v: &Value| {
        v.as_i64()
            .filter(|n| *n >= 0)
            .or_else(|| v.as_str()?.trim().parse::<i64>().ok().filter(|n| *n >= 0))
    };
    let one = |at: &mut Place| -> Option<i64> {
        let n = whole(&count.value);
        if n.is_none() {
            at.report("count.value", "Enter a whole number of events (0 or more).");
        }
        n
    };
    Some(match count.op.as_str() {
        "eq" => Cmp::Eq(one(at)?),
        "ne" => Cmp::Ne(one(at)?),
        "gt" => Cmp::Gt(one(at)?),
        "gte" => Cmp::Gte(one(at)?),
        "lt" => Cmp::Lt(one(at)?),
        "lte" => Cmp::Lte(one(at)?),
        "between" => {
            let pair: Vec<Option<i64>> = count
                .value
                .as_array()
                .map(|a| a.iter().map(whole).collect())
                .unwrap_or_default();
            match pair.as_slice() {
                [Some(lo), Some(hi)] if lo <= hi => Cmp::Between(*lo, *hi),
                _ => {
                    at.report(
                        "count.value",
                        "Enter two whole numbers [low, high] with low ≤ high.",
                    );
                    return None;
                }
            }
        }
        other => {
            at.report(
                "count.op",
                format!("{other:?} is not a count comparison; use eq, ne, gt, gte, lt, lte or between."),
            );
            return None;
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{Tenant, TenantKind};
    use crate::fixtures::{catalog, date};

    fn check(rule: serde_json::Value) -> Result<Plan, Vec<Problem>> {
        let catalog = catalog();
        let rule: Rule = serde_json::from_value(rule).unwrap();
        validate(
            &rule,
            &Context {
                catalog: &catalog,
                target: TargetObject::User,
                time_zone: "Asia/Shanghai".parse().unwrap(),
                as_of: date("2024-08-05"),
            },
        )
    }

    fn one(condition: serde_json::Value) -> Result<PlanCondition, Vec<Problem>> {
        check(json!({"groups": [{"conditions": [condition]}]}))
            .map(|mut plan| plan.groups.remove(0).remove(0))
    }

    fn problems(condition: serde_json::Value) -> Vec<String> {
        one(condition)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn the_documented_example_is_valid_and_resolved() {
        let plan = check(json!({"groups": [{"conditions": [
          {"type": "profile", "tag": "v2_trade_cnt_7d",
           "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "diff_gt", "value": 100},
          {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
           "op": "in", "values": ["Shenzhen", "Guangzhou", "Shanghai"]},
          {"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -6, "to": 0},
           "where": [{"attr": "industry_l1", "op": "in", "values": ["Food & Beverages"]}],
           "count": {"op": "gte", "value": 4}}
        ]}]}))
        .unwrap();
        let [a, b, c] = plan.groups[0].as_slice() else {
            panic!()
        };
        assert_eq!(
            a,
            &PlanCondition::Profile(ProfilePlan {
                tag: "v2_trade_cnt_7d".into(),
                test: ProfileTest::Diff {
                    from: date("2024-07-30"),
                    to: date("2024-08-04"),
                    cmp: Cmp::Gt(100.0)
                }
            })
        );
        let PlanCondition::Profile(ProfilePlan {
            test: ProfileTest::At { date: latest, .. },
            ..
        }) = b
        else {
            panic!()
        };
        assert_eq!(
            *latest,
            date("2024-08-04"),
            "latest is the newest ready partition"
        );
        let PlanCondition::Behavior(trade) = c else {
            panic!()
        };
        assert_eq!(
            (trade.from, trade.to),
            (date("2024-07-30"), date("2024-08-05")),
            "T-6 … T"
        );
        assert_eq!(trade.count, CountTest::Passing(Cmp::Gte(4)));
        assert!(!trade.zero_matches());
        assert_eq!(plan.data_date, Some(date("2024-08-04")));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let errors = check(json!({"groups": [
            {"conditions": [
                {"type": "profile", "tag": "nope", "date": {"mode": "latest"}, "op": "in", "values": []},
                {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Paris"]}
            ]},
            {"conditions": []}
        ]}))
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            text,
            [
                "groups[0].conditions[0].tag: There is no tag \"nope\" in the catalog.",
                "groups[0].conditions[1].values: \"Paris\" is not a value of city_cross_border_ride (values: Shenzhen, Guangzhou, Shanghai, Beijing).",
                "groups[1].conditions: Add at least one condition to this group, or remove it.",
            ]
        );
        assert_eq!(check(json!({"groups": []})).unwrap_err()[0].path(), "groups");
    }

    #[test]
    fn operators_must_fit_the_type_and_date_mode() {
        assert_eq!(
            problems(
                json!({"type": "profile", "tag": "v2_trade_cnt_7d", "date": {"mode": "latest"}, "op": "in", "values": [1]})
            ),
            [
                "groups[0].conditions[0].op: \"in\" is not a filter for number values; use eq, ne, gt, gte, lt, lte, between."
            ]
        );
        assert_eq!(
            problems(
                json!({"type": "profile", "tag": "v2_register_gmt_cn", "date": {"mode": "change", "from": "2024-07-30", "to": "2024-08-04"}, "op": "on", "value": "2024-08-01"})
            ),
            ["groups[0].conditions[0].date: A change between two dates is not offered for date/time tags."]
        );
        assert_eq!(
            problems(
                json!({"type": "profile", "tag": "v2_trade_cnt_7d", "date": {"mode": "on", "date": "2024-08-01"}, "op": "gt", "value": "x"})
            ),
            [
                "groups[0].conditions[0].date.date: v2_trade_cnt_7d has no data for 2024-08-01. The nearest dates with data are 2024-07-30 and 2024-08-04.",
                "groups[0].conditions[0].value: Enter a number."
            ]
        );
    }

    #[test]
    fn datetimes_resolve_in_the_segment_time_zone() {
        let on = one(json!({"type": "profile", "tag": "v2_register_gmt_cn", "date": {"mode": "latest"}, "op": "on", "value": "2024-08-06 00:00:00"})).unwrap();
        let PlanCondition::Profile(ProfilePlan {
            test:
                ProfileTest::At {
                    pred: TypedPred::Datetime(cmp),
                    ..
                },
            ..
        }) = on
        else {
            panic!()
        };
        assert_eq!(cmp, Cmp::Between(1_722_873_600, 1_722_873_600 + 86_399));

        let within = one(json!({"type": "profile", "tag": "v2_register_gmt_cn", "date": {"mode": "latest"}, "op": "within_last_days", "value": 7})).unwrap();
        let PlanCondition::Profile(ProfilePlan {
            test:
                ProfileTest::At {
                    pred: TypedPred::Datetime(cmp),
                    ..
                },
            ..
        }) = within
        else {
            panic!()
        };
        // 2024-07-30 00:00 to 2024-08-05 23:59:59, Shanghai time.
        assert_eq!(cmp, Cmp::Between(1_722_268_800, 1_722_873_599));
    }

    #[test]
    fn tags_of_another_target_object_are_refused() {
        assert_eq!(
            problems(
                json!({"type": "profile", "tag": "store_rating", "date": {"mode": "latest"}, "op": "gt", "value": 3})
            ),
            ["groups[0].conditions[0].tag: store_rating describes stores but this segment targets users."]
        );
    }

    #[test]
    fn behavior_windows_filters_and_counts_are_checked() {
        let text = problems(json!({"type": "behavior", "behavior": "trade",
            "window": {"mode": "fixed", "from": "2024-08-03", "to": "2024-08-01"},
            "where": [{"attr": "colour", "op": "in", "values": ["x"]}, {"attr": "card_bin", "op": "eq", "value": "abc"}],
            "count": {"op": "gte", "value": -1}}));
        assert_eq!(
            text,
            [
                "groups[0].conditions[0].window.to: The window must not end before it starts.",
                "groups[0].conditions[0].where[0].attr: trade has no attribute \"colour\".",
                "groups[0].conditions[0].where[1].value: Enter a number.",
                "groups[0].conditions[0].count.value: Enter a whole number of events (0 or more).",
            ]
        );
        let zero = one(json!({"type": "behavior", "behavior": "trade", "window": {"mode": "dynamic", "from": -29, "to": 0},
            "count": {"op": "eq", "value": 0}})).unwrap();
        let PlanCondition::Behavior(zero) = zero else {
            panic!()
        };
        assert!(zero.zero_matches(), "count = 0 finds those who did not act");
        assert_eq!(zero.count, CountTest::NotFailing(Cmp::Eq(0)));
    }

    #[test]
    fn booleans_accept_json_booleans() {
        let plan = one(json!({"type": "profile", "tag": "v2_is_black_list", "date": {"mode": "latest"}, "op": "in", "values": [true]})).unwrap();
        let PlanCondition::Profile(ProfilePlan {
            test: ProfileTest::At { pred, .. },
            ..
        }) = plan
        else {
            panic!()
        };
        assert_eq!(pred, TypedPred::Boolean(SetPred::In(vec!["true".into()])));
    }

    fn shenzhen() -> serde_json::Value {
        json!({"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": ["Shenzhen"]})
    }

    #[test]
    fn oversized_rules_are_refused_at_the_place_of_the_excess_and_read_no_further() {
        let groups: Vec<_> = (0..limits::GROUPS + 1)
            .map(|_| json!({"conditions": [shenzhen()]}))
            .collect();
        let text: Vec<String> = check(json!({"groups": groups}))
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            text,
            ["groups: A rule may have at most 20 groups; this one has 21."]
        );

        let wide: Vec<_> = (0..limits::CONDITIONS_PER_GROUP + 1)
            .map(|_| shenzhen())
            .collect();
        let text: Vec<String> = check(json!({"groups": [{"conditions": wide}]}))
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            text,
            ["groups[0].conditions: A group may have at most 20 conditions; this one has 21."]
        );

        let full: Vec<_> = (0..6)
            .map(|_| json!({"conditions": vec![shenzhen(); limits::CONDITIONS_PER_GROUP]}))
            .collect();
        let errors = check(json!({"groups": full})).unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "groups: A rule may have at most 100 conditions in all; this one has 120."
        );

        // Values are counted before they are looked up, wherever a list is.
        let many: Vec<String> = (0..limits::VALUES + 1).map(|i| format!("city{i}")).collect();
        let text = problems(json!({"type": "profile", "tag": "city_cross_border_ride",
            "date": {"mode": "latest"}, "op": "in", "values": many}));
        assert_eq!(
            text,
            ["groups[0].conditions[0].values: Choose at most 1000 values here; 1001 are given."]
        );
        let filters: Vec<_> = (0..limits::FILTERS + 1)
            .map(|_| json!({"attr": "industry_l1", "op": "in", "values": many.clone()}))
            .collect();
        let text = problems(json!({"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0}, "where": filters, "count": {"op": "gte", "value": 1}}));
        assert_eq!(text.len(), 12, "{text:?}");
        assert_eq!(
            text[0],
            "groups[0].conditions[0].where: A behavior condition may have at most 10 attribute filters; this one has 11."
        );
        assert_eq!(
            text[1],
            "groups[0].conditions[0].where[0].values: Choose at most 1000 values here; 1001 are given."
        );
    }

    #[test]
    fn a_rule_at_every_limit_is_valid() {
        let group = json!({"conditions": vec![shenzhen(); limits::CONDITIONS_PER_GROUP]});
        let groups = vec![group; limits::CONDITIONS / limits::CONDITIONS_PER_GROUP];
        assert!(check(json!({"groups": groups})).is_ok());
    }

    #[test]
    fn unknown_values_are_quoted_short_and_counted_past_the_first_few() {
        let long = "x".repeat(10_000);
        let mut values = vec![json!(long)];
        values.extend((0..9).map(|i| json!(format!("nowhere{i}"))));
        let text = problems(json!({"type": "profile", "tag": "city_cross_border_ride",
            "date": {"mode": "latest"}, "op": "in", "values": values}));
        assert_eq!(text.len(), 6, "{text:?}");
        assert!(
            text[0].len() < 300,
            "the message quotes a short prefix: {}",
            text[0]
        );
        assert!(text[0].contains(&format!("{:?}…", "x".repeat(60))), "{}", text[0]);
        assert_eq!(
            text[5],
            "groups[0].conditions[0].values: 5 more values are not values of city_cross_border_ride."
        );
    }

    fn check_as(tenant: &Tenant, rule: serde_json::Value) -> Result<Plan, Vec<Problem>> {
        let catalog = catalog().for_tenant(tenant);
        let rule: Rule = serde_json::from_value(rule).unwrap();
        validate(
            &rule,
            &Context {
                catalog: &catalog,
                target: TargetObject::User,
                time_zone: "Asia/Shanghai".parse().unwrap(),
                as_of: date("2024-08-05"),
            },
        )
    }

    #[test]
    fn a_merchant_counts_only_events_at_its_own_merchant_and_names_no_other() {
        let m1 = Tenant {
            kind: TenantKind::Merchant,
            ids: vec!["M1".into()],
        };
        let plan = check_as(
            &m1,
            json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0}, "count": {"op": "gte", "value": 1}}]}]}),
        )
        .unwrap();
        let PlanCondition::Behavior(trade) = &plan.groups[0][0] else {
            panic!()
        };
        assert_eq!(
            trade.filters,
            [AttributePlan {
                attr: "merchant_id".into(),
                pred: TypedPred::Enum(SetPred::In(vec!["M1".into()])),
            }],
            "every count is of events at M1"
        );
        // Another merchant's ID reads as no value at all, and is not listed.
        let errors = check_as(
            &m1,
            json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0},
            "where": [{"attr": "merchant_id", "op": "in", "values": ["M2"]}],
            "count": {"op": "gte", "value": 1}}]}]}),
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "groups[0].conditions[0].where[0].values: \"M2\" is not a value of merchant_id (values: M1)."
        );
        // The platform counts everywhere.
        let plan = check(
            json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0}, "count": {"op": "gte", "value": 1}}]}]}),
        )
        .unwrap();
        let PlanCondition::Behavior(trade) = &plan.groups[0][0] else {
            panic!()
        };
        assert!(trade.filters.is_empty());
    }

    #[test]
    fn a_store_manager_does_not_see_behaviors_counted_per_merchant() {
        let stores = Tenant {
            kind: TenantKind::Store,
            ids: vec!["S1".into()],
        };
        let scoped = catalog().for_tenant(&stores);
        assert!(scoped.tag("trade").is_none(), "trade is counted per merchant");
        assert!(scoped.tag("city_cross_border_ride").is_some());
        let errors = check_as(
            &stores,
            json!({"groups": [{"conditions": [{"type": "behavior", "behavior": "trade",
            "window": {"mode": "dynamic", "from": -6, "to": 0}, "count": {"op": "gte", "value": 1}}]}]}),
        )
        .unwrap_err();
        assert_eq!(
            errors[0].to_string(),
            "groups[0].conditions[0].behavior: There is no tag \"trade\" in the catalog."
        );
    }
}
