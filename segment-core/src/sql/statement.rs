//! A statement as the compiler builds it: text and parameters kept apart,
//! so that it renders with placeholders for execution or with literals for
//! people without reading its own text back.

use serde::{Deserialize, Serialize};

use super::dialect::{Param, SqlDialect};

/// A piece of a statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) enum Fragment {
    Sql(String),
    /// The parameter at this index of the statement's parameters.
    Param(usize),
    LineEnd,
}

/// A run of fragments; [`sql!`] joins text and runs into one.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sql(pub(super) Vec<Fragment>);

impl Sql {
    pub(super) fn append(&mut self, part: impl Into<Sql>) {
        let Sql(fragments) = part.into();
        for fragment in fragments {
            // Adjacent text stays one fragment.
            match (self.0.last_mut(), fragment) {
                (Some(Fragment::Sql(last)), Fragment::Sql(text)) => last.push_str(&text),
                (_, fragment) => self.0.push(fragment),
            }
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Sql {
    fn from(text: &str) -> Sql {
        Sql(vec![Fragment::Sql(text.to_string())])
    }
}

impl From<String> for Sql {
    fn from(text: String) -> Sql {
        Sql(vec![Fragment::Sql(text)])
    }
}

impl From<&String> for Sql {
    fn from(text: &String) -> Sql {
        Sql::from(text.as_str())
    }
}

/// Joins text and [`Sql`] runs: `sql!["t.value = ", param]`.
macro_rules! sql {
    ($($part:expr),* $(,)?) => {{
        let mut joined = $crate::sql::statement::Sql::default();
        $(joined.append($part);)*
        joined
    }};
}
pub(super) use sql;

/// How parameters are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Render {
    /// Placeholders, for execution with the bound parameters.
    Placeholders,
    /// Literals, each parameter's note at the end of its line, for people.
    Literals,
}

/// The statement's text, its lines joined by newlines.
pub(super) fn render(
    fragments: &[Fragment],
    params: &[Param],
    notes: &[Option<String>],
    dialect: &dyn SqlDialect,
    how: Render,
) -> String {
    let mut out = String::new();
    let mut pending_notes: Vec<&str> = Vec::new();
    for fragment in fragments {
        match fragment {
            Fragment::Sql(text) => out.push_str(text),
            Fragment::Param(at) => match how {
                Render::Placeholders => out.push_str(&dialect.bound(at + 1, &params[*at])),
                Render::Literals => {
                    out.push_str(&dialect.literal(&params[*at]));
                    pending_notes.extend(notes[*at].as_deref());
                }
            },
            Fragment::LineEnd => {
                if !pending_notes.is_empty() {
                    out.push_str(" -- ");
                    out.push_str(&pending_notes.join(", "));
                    pending_notes.clear();
                }
                out.push('\n');
            }
        }
    }
    out.truncate(out.trim_end().len());
    out
}
