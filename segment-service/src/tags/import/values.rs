//! Cells of a batch, and a profile value parsed by its tag's type.

use chrono::NaiveDate;
use chrono_tz::Tz;
use segment_core::catalog::{DataType, TagDef, TagKind};
use segment_core::time::parse_local_datetime;

use crate::tags::columns::Column;

pub(super) enum Cell {
    Date(NaiveDate),
    Int(i64),
    Real(Option<f64>),
    Text(Option<String>),
}

pub(super) fn push(column: &mut Column, cell: Cell) {
    match (column, cell) {
        (Column::Date(v), Cell::Date(d)) => v.push(d),
        (Column::Int(v), Cell::Int(n)) => v.push(n),
        (Column::Real(v), Cell::Real(x)) => v.push(x),
        (Column::Text(v), Cell::Text(t)) => v.push(t),
        _ => unreachable!("cells match their column's type"),
    }
}

pub(super) fn take_column(column: &mut Column) -> Column {
    match column {
        Column::Date(v) => Column::Date(std::mem::take(v)),
        Column::Int(v) => Column::Int(std::mem::take(v)),
        Column::Real(v) => Column::Real(std::mem::take(v)),
        Column::Text(v) => Column::Text(std::mem::take(v)),
    }
}

pub(super) fn parse_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{text:?} is not a number")),
    }
}

/// A profile value as stored; `None` for an empty value (no value).
pub(super) fn profile_value(tag: &TagDef, text: &str, time_zone: Tz) -> Result<Option<Cell>, String> {
    let text = text.trim();
    let TagKind::Profile { data_type, values } = &tag.kind else {
        unreachable!("profile tags only")
    };
    if text.is_empty() {
        return Ok(None);
    }
    let cell = match data_type {
        DataType::Enum => {
            if !values.iter().any(|v| v == text) {
                return Err(format!(
                    "{text:?} is not a value of {} ({})",
                    tag.code,
                    values.join(", ")
                ));
            }
            Cell::Text(Some(text.to_string()))
        }
        DataType::Boolean => match text {
            "true" | "false" => Cell::Text(Some(text.to_string())),
            _ => {
                return Err(format!(
                    "{text:?} is not a boolean for {} (true or false)",
                    tag.code
                ));
            }
        },
        DataType::Number => Cell::Real(Some(
            parse_number(text).map_err(|reason| format!("{reason} for {}", tag.code))?,
        )),
        DataType::Datetime => {
            if chrono::NaiveDateTime::parse_from_str(text, segment_core::time::DATETIME_FORMAT).is_err() {
                return Err(format!(
                    "{text:?} is not a date-time for {} (YYYY-MM-DD HH:MM:SS)",
                    tag.code
                ));
            }
            Cell::Int(parse_local_datetime(text, time_zone)?)
        }
    };
    Ok(Some(cell))
}
