//! The plan's nodes: groups of typed conditions, each resolved to dates and constants.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::TargetObject;
use crate::catalog::DataType;

/// A comparison of a value with constants. `Between` includes both ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Cmp<T> {
    Eq(T),
    Ne(T),
    Gt(T),
    Gte(T),
    Lt(T),
    Lte(T),
    Between(T, T),
}

impl<T: PartialOrd + Copy> Cmp<T> {
    pub fn test(&self, x: T) -> bool {
        match *self {
            Cmp::Eq(v) => x == v,
            Cmp::Ne(v) => x != v,
            Cmp::Gt(v) => x > v,
            Cmp::Gte(v) => x >= v,
            Cmp::Lt(v) => x < v,
            Cmp::Lte(v) => x <= v,
            Cmp::Between(lo, hi) => lo <= x && x <= hi,
        }
    }

    pub fn map<U>(self, f: impl Fn(T) -> U) -> Cmp<U> {
        match self {
            Cmp::Eq(v) => Cmp::Eq(f(v)),
            Cmp::Ne(v) => Cmp::Ne(f(v)),
            Cmp::Gt(v) => Cmp::Gt(f(v)),
            Cmp::Gte(v) => Cmp::Gte(f(v)),
            Cmp::Lt(v) => Cmp::Lt(f(v)),
            Cmp::Lte(v) => Cmp::Lte(f(v)),
            Cmp::Between(lo, hi) => Cmp::Between(f(lo), f(hi)),
        }
    }

    /// Words for a sentence: "at least 4", "between 1 and 3".
    pub fn describe(&self, show: impl Fn(T) -> String) -> String {
        match *self {
            Cmp::Eq(v) => format!("equal to {}", show(v)),
            Cmp::Ne(v) => format!("not equal to {}", show(v)),
            Cmp::Gt(v) => format!("greater than {}", show(v)),
            Cmp::Gte(v) => format!("at least {}", show(v)),
            Cmp::Lt(v) => format!("less than {}", show(v)),
            Cmp::Lte(v) => format!("at most {}", show(v)),
            Cmp::Between(lo, hi) => format!("between {} and {}", show(lo), show(hi)),
        }
    }
}

/// Membership of an enum or boolean value in a set. A missing value never
/// passes, `NotIn` included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SetPred {
    In(Vec<String>),
    NotIn(Vec<String>),
}

/// Which of the set-valued types a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetKind {
    Enum,
    Boolean,
}

impl SetKind {
    /// The set-valued kind of `data_type`, if it is one.
    pub fn of(data_type: DataType) -> Option<SetKind> {
        match data_type {
            DataType::Enum => Some(SetKind::Enum),
            DataType::Boolean => Some(SetKind::Boolean),
            DataType::Number | DataType::Datetime => None,
        }
    }

    pub fn data_type(self) -> DataType {
        match self {
            SetKind::Enum => DataType::Enum,
            SetKind::Boolean => DataType::Boolean,
        }
    }

    /// `set` as a predicate on values of this kind.
    pub fn pred(self, set: SetPred) -> TypedPred {
        match self {
            SetKind::Enum => TypedPred::Enum(set),
            SetKind::Boolean => TypedPred::Boolean(set),
        }
    }
}

/// A test of one stored value. The variant is the data type the value must
/// have, so a test that does not fit its tag's type cannot be written; a
/// missing value never passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TypedPred {
    Enum(SetPred),
    /// Booleans as `"true"` / `"false"`.
    Boolean(SetPred),
    Number(Cmp<f64>),
    /// Datetimes as Unix seconds; `on`, `before`, `after`, `between` and
    /// `within_last_days` are all resolved to such comparisons.
    Datetime(Cmp<i64>),
}

impl TypedPred {
    pub fn data_type(&self) -> DataType {
        match self {
            TypedPred::Enum(_) => DataType::Enum,
            TypedPred::Boolean(_) => DataType::Boolean,
            TypedPred::Number(_) => DataType::Number,
            TypedPred::Datetime(_) => DataType::Datetime,
        }
    }

    /// The set test of an enum or boolean predicate.
    pub fn set(&self) -> Option<&SetPred> {
        match self {
            TypedPred::Enum(set) | TypedPred::Boolean(set) => Some(set),
            TypedPred::Number(_) | TypedPred::Datetime(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProfileTest {
    /// The value in one partition passes `pred`.
    At { date: NaiveDate, pred: TypedPred },
    /// Numbers: `value(to) − value(from)` compared; both values must exist.
    Diff {
        from: NaiveDate,
        to: NaiveDate,
        cmp: Cmp<f64>,
    },
    /// Enums and booleans: value at `from` in one set and at `to` in another.
    Changed {
        kind: SetKind,
        from: NaiveDate,
        to: NaiveDate,
        from_values: Vec<String>,
        to_values: Vec<String>,
    },
}

impl ProfileTest {
    /// The type of the values the test reads.
    pub fn data_type(&self) -> DataType {
        match self {
            ProfileTest::At { pred, .. } => pred.data_type(),
            ProfileTest::Diff { .. } => DataType::Number,
            ProfileTest::Changed { kind, .. } => kind.data_type(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfilePlan {
    pub tag: String,
    pub test: ProfileTest,
}

impl ProfilePlan {
    /// The tag's type, as its test reads it.
    pub fn data_type(&self) -> DataType {
        self.test.data_type()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributePlan {
    pub attr: String,
    pub pred: TypedPred,
}

impl AttributePlan {
    pub fn data_type(&self) -> DataType {
        self.pred.data_type()
    }
}

/// How a behavior's window count selects entities: the sum of `count` over
/// the window's rows passing every filter, entities without such rows
/// counting 0. Each variant is the set operation both backends run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CountTest {
    /// The entities with events whose sum passes `cmp`; 0 fails `cmp`, so
    /// entities without events are out.
    Passing(Cmp<i64>),
    /// Everyone but the entities with events whose sum fails `cmp`; 0
    /// passes `cmp`, so entities without events are in.
    NotFailing(Cmp<i64>),
    /// The entities with at least one passing event: `Passing(Gte(1))`,
    /// found without summing.
    AtLeastOnce,
}

impl CountTest {
    /// The rule's comparison of the window sum as the set it selects.
    pub fn of(cmp: Cmp<i64>) -> CountTest {
        if cmp.test(0) {
            CountTest::NotFailing(cmp)
        } else {
            CountTest::Passing(cmp)
        }
    }

    /// Whether an entity whose passing events sum to `count` is selected.
    pub fn passes(&self, count: u64) -> bool {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        match self {
            CountTest::Passing(cmp) => count > 0 && cmp.test(count),
            CountTest::NotFailing(cmp) => count == 0 || cmp.test(count),
            CountTest::AtLeastOnce => count > 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviorPlan {
    pub behavior: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub filters: Vec<AttributePlan>,
    pub count: CountTest,
}

impl BehaviorPlan {
    /// Whether entities without events (count 0) match.
    pub fn zero_matches(&self) -> bool {
        self.count.passes(0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanCondition {
    Profile(ProfilePlan),
    Behavior(BehaviorPlan),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub target: TargetObject,
    /// T, the evaluation date dynamic windows and `within_last_days` are resolved against.
    pub as_of: NaiveDate,
    pub time_zone: String,
    /// OR of groups, each an AND of conditions.
    pub groups: Vec<Vec<PlanCondition>>,
    /// The newest data the plan reads (profile partitions, and behavior
    /// windows up to their tag's newest ready date): what the result reflects.
    pub data_date: Option<NaiveDate>,
}
