//! Audience scope files and the ready-dates file.

use std::collections::HashMap;

use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::ids::validate_entity_id;
use segment_core::time::parse_date;

use super::{BATCH_ROWS, Buffer, FileProblems, Reader, Write};
use crate::tags::columns::Column;
use crate::tags::import::values::{Cell, push};

impl Reader {
    pub(super) fn scopes(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        problems: &mut FileProblems,
    ) -> u64 {
        // An optional third column names the target object (users by default).
        let accept = |found: &[String]| {
            if found == ["scope", "entity_id"] || found == ["scope", "entity_id", "target_object"] {
                Ok(())
            } else {
                Err("\"scope,entity_id\" or \"scope,entity_id,target_object\"".to_string())
            }
        };
        let Some(header) = Self::header(csv, problems, accept) else {
            return 0;
        };
        let with_target = header.len() == 3;
        let mut seen: HashMap<(String, TargetObject), RoaringBitmap> = HashMap::new();
        self.rows(csv, &header, problems, |reader, record, line, problems| {
            let scope = record[0].trim().to_string();
            let scope_ok = match scope.split_once(':') {
                Some(("merchant" | "store", id)) => validate_entity_id(id)
                    .map_err(|reason| problems.add(line, format!("scope {scope:?}: the ID {reason}")))
                    .is_ok(),
                _ => {
                    problems.add(
                        line,
                        format!("scope {scope:?} is not merchant:<id> or store:<id>"),
                    );
                    false
                }
            };
            let target = if with_target {
                match TargetObject::parse(record[2].trim()) {
                    Some(t) => Some(t),
                    None => {
                        problems.add(
                            line,
                            format!("target_object {:?} is not user, merchant or store", &record[2]),
                        );
                        None
                    }
                }
            } else {
                Some(TargetObject::User)
            };
            let Some(target) = target else { return };
            let idx = reader.entity(target, &record[1], line, problems);
            let (true, Some(idx)) = (scope_ok, idx) else {
                return;
            };
            if !problems.is_empty() {
                return;
            }
            if !seen.entry((scope.clone(), target)).or_default().insert(idx) {
                return;
            }
            if reader.scopes_seen.insert((scope.clone(), target)) {
                reader.flush("audience_scopes");
                reader.send(Write::DeleteScope {
                    scope: scope.clone(),
                    target,
                });
            }
            let buffer = reader
                .buffers
                .entry("audience_scopes".into())
                .or_insert_with(|| Buffer {
                    names: vec!["scope".into(), "target_object".into(), "entity_idx".into()],
                    columns: vec![
                        Column::Text(Vec::new()),
                        Column::Text(Vec::new()),
                        Column::Int(Vec::new()),
                    ],
                });
            push(&mut buffer.columns[0], Cell::Text(Some(scope)));
            push(&mut buffer.columns[1], Cell::Text(Some(target.as_str().into())));
            push(&mut buffer.columns[2], Cell::Int(idx as i64));
            if buffer.columns[0].len() >= BATCH_ROWS {
                reader.flush("audience_scopes");
            }
        })
    }

    /// `ready.csv` (`tag,date`): partitions that are ready even without rows.
    pub(super) fn ready(&mut self, csv: &mut csv::Reader<std::fs::File>, problems: &mut FileProblems) -> u64 {
        self.records(
            csv,
            &["tag", "date"],
            problems,
            |reader, record, line, problems| {
                let Some(tag) = reader.tags.get(record[0].trim()).cloned() else {
                    problems.add(
                        line,
                        format!("unknown tag {:?}: it is not in the catalog", &record[0]),
                    );
                    return;
                };
                match parse_date(&record[1]) {
                    Ok(date) => reader.open_partition(&tag, date),
                    Err(reason) => problems.add(line, format!("bad date: {reason}")),
                }
            },
        )
    }
}
