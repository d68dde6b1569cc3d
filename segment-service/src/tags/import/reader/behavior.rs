//! Behavior files: events with a count and attributes per entity and day.

use std::sync::Arc;

use segment_core::catalog::{DataType, TagKind};
use segment_core::sql::behavior_table;
use segment_core::time::parse_date;

use super::{BATCH_ROWS, Buffer, FileProblems, Reader};
use crate::tags::columns::Column;
use crate::tags::import::values::{Cell, parse_number, push};

impl Reader {
    pub(super) fn behavior(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        code: &str,
        problems: &mut FileProblems,
    ) -> u64 {
        let tag = Arc::clone(&self.tags[code]);
        let TagKind::Behavior { attributes } = &tag.kind else {
            unreachable!("listed as a behavior")
        };
        // The header names the attributes in any order after entity_id,date,count.
        let mut declared: Vec<&str> = attributes.iter().map(|a| a.code.as_str()).collect();
        declared.sort();
        let accept = |found: &[String]| {
            let mut named: Vec<&str> = found.iter().skip(3).map(String::as_str).collect();
            named.sort();
            if found.len() >= 3 && found[..3] == ["entity_id", "date", "count"] && named == declared {
                return Ok(());
            }
            let expected: Vec<&str> = ["entity_id", "date", "count"]
                .into_iter()
                .chain(attributes.iter().map(|a| a.code.as_str()))
                .collect();
            Err(format!("{:?} (attributes in any order)", expected.join(",")))
        };
        let Some(header) = Self::header(csv, problems, accept) else {
            return 0;
        };
        // Column position of each catalog attribute.
        let positions: Vec<usize> = attributes
            .iter()
            .map(|a| 3 + header[3..].iter().position(|h| *h == a.code).expect("checked"))
            .collect();
        let table = behavior_table(code);
        let mut names = vec!["event_date".to_string(), "entity_idx".into(), "count".into()];
        names.extend(attributes.iter().map(|a| a.code.clone()));
        let attributes = attributes.clone();
        self.rows(csv, &header, problems, |reader, record, line, problems| {
            let before = problems.kept.len() + usize::try_from(problems.more).unwrap_or(usize::MAX);
            let date = parse_date(&record[1])
                .map_err(|reason| problems.add(line, format!("bad date: {reason}")))
                .ok();
            let count = record[2]
                .trim()
                .parse::<u32>()
                .map_err(|_| problems.add(line, format!("count {:?} is not a whole number ≥ 0", &record[2])))
                .ok();
            let mut cells = Vec::with_capacity(attributes.len());
            for (attribute, position) in attributes.iter().zip(&positions) {
                let text = record[*position].trim();
                let cell = if text.is_empty() {
                    Some(match attribute.data_type {
                        DataType::Number => Cell::Real(None),
                        _ => Cell::Text(None),
                    })
                } else {
                    match attribute.data_type {
                        DataType::Number => parse_number(text)
                            .map(|x| Cell::Real(Some(x)))
                            .map_err(|reason| problems.add(line, format!("{}: {reason}", attribute.code)))
                            .ok(),
                        _ if attribute.values.iter().any(|v| v == text) => {
                            Some(Cell::Text(Some(text.into())))
                        }
                        _ => {
                            problems.add(
                                line,
                                format!(
                                    "{}: {text:?} is not one of the declared values ({})",
                                    attribute.code,
                                    attribute.values.join(", ")
                                ),
                            );
                            None
                        }
                    }
                };
                cells.extend(cell);
            }
            let idx = reader.entity(tag.target_object, &record[0], line, problems);
            if problems.kept.len() + usize::try_from(problems.more).unwrap_or(usize::MAX) > before {
                return;
            }
            let (Some(date), Some(count), Some(idx)) = (date, count, idx) else {
                return;
            };
            reader.open_partition(&tag, date);
            *reader
                .outcome
                .partitions
                .get_mut(&(tag.code.clone(), date))
                .expect("opened") += 1;
            let buffer = reader.buffers.entry(table.clone()).or_insert_with(|| Buffer {
                names: names.clone(),
                columns: std::iter::once(Column::Date(Vec::new()))
                    .chain([Column::Int(Vec::new()), Column::Int(Vec::new())])
                    .chain(attributes.iter().map(|a| match a.data_type {
                        DataType::Number => Column::Real(Vec::new()),
                        _ => Column::Text(Vec::new()),
                    }))
                    .collect(),
            });
            push(&mut buffer.columns[0], Cell::Date(date));
            push(&mut buffer.columns[1], Cell::Int(idx as i64));
            push(&mut buffer.columns[2], Cell::Int(count as i64));
            for (column, cell) in buffer.columns[3..].iter_mut().zip(cells) {
                push(column, cell);
            }
            if buffer.columns[0].len() >= BATCH_ROWS {
                reader.flush(&table);
            }
        })
    }
}
