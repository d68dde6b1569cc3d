//! Everything that differs between SQL dialects, in one trait: a new
//! dialect is one more implementation of [`SqlDialect`].

use chrono::NaiveDate;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Sqlite,
    Postgres,
    Spark,
}

/// A bound parameter of compiled SQL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Param {
    Text(String),
    Int(i64),
    Real(f64),
    Date(NaiveDate),
}

/// Quotes an identifier (codes are already restricted to `[a-z0-9_]`).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How a dialect spells placeholders, literals, identifiers and dates.
/// The defaults are standard SQL.
pub trait SqlDialect {
    /// The placeholder of the `n`th bound parameter, counted from 1.
    fn placeholder(&self, n: usize) -> String;

    /// A date value (a placeholder or a literal) as the dialect compares it
    /// with the tables' `data_date` and `event_date` columns.
    fn date(&self, value: String) -> String;

    /// A quoted identifier.
    fn quote_ident(&self, name: &str) -> String {
        quote_ident(name)
    }

    fn text_literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\'', "''"))
    }

    fn int_literal(&self, n: i64) -> String {
        n.to_string()
    }

    /// A double that stays visibly real, so that arithmetic on it matches
    /// the bound parameter's.
    fn real_literal(&self, x: f64) -> String {
        let shown = x.to_string();
        if shown.contains(['.', 'e', 'E']) {
            shown
        } else {
            format!("{shown}.0")
        }
    }

    /// A date literal, before [`SqlDialect::date`] makes it a date.
    fn date_literal(&self, date: NaiveDate) -> String {
        self.text_literal(&date.to_string())
    }

    /// `param` as a literal, in the same form as its placeholder.
    fn literal(&self, param: &Param) -> String {
        match param {
            Param::Text(text) => self.text_literal(text),
            Param::Int(n) => self.int_literal(*n),
            Param::Real(x) => self.real_literal(*x),
            Param::Date(date) => self.date(self.date_literal(*date)),
        }
    }

    /// Whether an exclusion (`e.idx NOT IN (subquery)`) is written as a
    /// correlated `NOT EXISTS` instead. Where it may sit inside an `OR`,
    /// Spark plans `NOT IN` as a nested-loop join (it must honor NULLs the
    /// subquery cannot hold): minutes, where `NOT EXISTS` is a hash join.
    fn excludes_with_not_exists(&self) -> bool {
        false
    }

    /// `param`'s placeholder, as the dialect reads a value of its type.
    fn bound(&self, n: usize, param: &Param) -> String {
        match param {
            Param::Date(_) => self.date(self.placeholder(n)),
            Param::Text(_) | Param::Int(_) | Param::Real(_) => self.placeholder(n),
        }
    }
}

/// SQLite: dates are `'YYYY-MM-DD'` text, which compares as dates.
pub struct Sqlite;

impl SqlDialect for Sqlite {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn date(&self, value: String) -> String {
        value
    }
}

/// PostgreSQL: dates are `DATE`, and a parameter or literal is cast to one.
pub struct Postgres;

impl SqlDialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn date(&self, value: String) -> String {
        format!("{value}::date")
    }
}

/// Spark SQL: backquoted identifiers, `DATE` literals, strings with
/// backslash escapes (Spark reads `'a''b'` as the two strings `'a'` and
/// `'b'` joined, not as `a'b`), doubles marked `D` (a bare `1.5` is a
/// DECIMAL) and exclusions as `NOT EXISTS`.
pub struct Spark;

impl SqlDialect for Spark {
    fn placeholder(&self, _: usize) -> String {
        "?".into()
    }

    /// Dates are `DATE` columns, and literals and parameters are dates already.
    fn date(&self, value: String) -> String {
        value
    }

    fn quote_ident(&self, name: &str) -> String {
        format!("`{}`", name.replace('`', "``"))
    }

    fn text_literal(&self, text: &str) -> String {
        format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
    }

    fn real_literal(&self, x: f64) -> String {
        let shown = x.to_string();
        if shown.contains(['.', 'e', 'E']) {
            format!("{shown}D")
        } else {
            format!("{shown}.0D")
        }
    }

    fn date_literal(&self, date: NaiveDate) -> String {
        format!("DATE '{date}'")
    }

    fn excludes_with_not_exists(&self) -> bool {
        true
    }
}

impl Dialect {
    /// The dialect's spelling.
    pub fn syntax(self) -> &'static dyn SqlDialect {
        match self {
            Dialect::Sqlite => &Sqlite,
            Dialect::Postgres => &Postgres,
            Dialect::Spark => &Spark,
        }
    }
}
