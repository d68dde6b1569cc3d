//! Profile files: one value per entity and date of a tag.

use std::sync::Arc;

use segment_core::catalog::{DataType, TagKind};
use segment_core::sql::profile_table;
use segment_core::time::parse_date;

use super::{BATCH_ROWS, Buffer, FileProblems, Reader};
use crate::tags::columns::Column;
use crate::tags::import::values::{Cell, profile_value, push};

impl Reader {
    pub(super) fn profile(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        problems: &mut FileProblems,
    ) -> u64 {
        self.records(
            csv,
            &["entity_id", "date", "tag", "value"],
            problems,
            |reader, record, line, problems| {
                let before = problems.kept.len() + usize::try_from(problems.more).unwrap_or(usize::MAX);
                let tag = match reader.tags.get(&record[2]) {
                    None => {
                        problems.add(
                            line,
                            format!("unknown tag {:?}: it is not in the catalog", &record[2]),
                        );
                        None
                    }
                    Some(tag) => match tag.kind {
                        TagKind::Behavior { .. } => {
                            problems.add(
                                line,
                                format!(
                                    "{} is a behavior; its rows belong in behavior/{}.csv",
                                    tag.code, tag.code
                                ),
                            );
                            None
                        }
                        TagKind::Profile { .. } => Some(Arc::clone(tag)),
                    },
                };
                let date = parse_date(&record[1])
                    .map_err(|reason| problems.add(line, format!("bad date: {reason}")))
                    .ok();
                let Some(tag) = tag else { return };
                let value = profile_value(&tag, &record[3], reader.time_zone)
                    .map_err(|reason| problems.add(line, reason))
                    .ok();
                let idx = reader.entity(tag.target_object, &record[0], line, problems);
                let (Some(date), Some(value), Some(idx)) = (date, value, idx) else {
                    return;
                };
                if problems.kept.len() + usize::try_from(problems.more).unwrap_or(usize::MAX) > before {
                    return;
                }
                if !reader
                    .seen
                    .entry((tag.code.clone(), date))
                    .or_default()
                    .insert(idx)
                {
                    problems.add(
                        line,
                        format!(
                            "a second value for entity {:?}, tag {}, date {date}",
                            &record[0], tag.code
                        ),
                    );
                    return;
                }
                reader.open_partition(&tag, date);
                let Some(value) = value else { return };
                *reader
                    .outcome
                    .partitions
                    .get_mut(&(tag.code.clone(), date))
                    .expect("opened") += 1;
                let data_type = tag.profile_type().expect("profile");
                let table = profile_table(&tag.code);
                let buffer = reader.buffers.entry(table.clone()).or_insert_with(|| Buffer {
                    names: vec!["data_date".into(), "entity_idx".into(), "value".into()],
                    columns: vec![
                        Column::Date(Vec::new()),
                        Column::Int(Vec::new()),
                        match data_type {
                            DataType::Number => Column::Real(Vec::new()),
                            DataType::Datetime => Column::Int(Vec::new()),
                            _ => Column::Text(Vec::new()),
                        },
                    ],
                });
                push(&mut buffer.columns[0], Cell::Date(date));
                push(&mut buffer.columns[1], Cell::Int(idx as i64));
                push(&mut buffer.columns[2], value);
                if buffer.columns[0].len() >= BATCH_ROWS {
                    reader.flush(&table);
                }
            },
        )
    }
}
