//! The reader thread: parses and checks every data file, row by row, and
//! sends the database batches of typed columns while it reads.

mod behavior;
mod profile;
mod scopes;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::catalog::{TagDef, TagKind};
use segment_core::ids::validate_entity_id;
use segment_core::sql::{behavior_table, profile_table};
use tokio::sync::mpsc;

use super::files::{DataFile, relative};
use super::report::{ImportProblem, ImportProgress, ImportSummary, ProgressFn, problem};
use super::values::take_column;
use crate::tags::columns::{Batch, Column};

/// Errors kept per file; the rest are counted.
pub(super) const MAX_ERRORS_PER_FILE: usize = 100;
/// Rows per batch sent to the database.
pub(super) const BATCH_ROWS: usize = 8_192;
/// How often (in rows) a file reports progress.
pub(super) const PROGRESS_EVERY: u64 = 250_000;

/// What the reader asks the database to do, in order.
pub(super) enum Write {
    Rows(Batch),
    /// Empties a (tag, date) partition before the import writes it again.
    DeletePartition {
        table: String,
        column: &'static str,
        date: NaiveDate,
    },
    /// Empties a scope's audience before the import writes it again.
    DeleteScope {
        scope: String,
        target: TargetObject,
    },
}

pub(super) struct ReaderOutcome {
    pub(super) problems: Vec<ImportProblem>,
    pub(super) rows: u64,
    pub(super) files: Vec<(String, u64)>,
    pub(super) partitions: BTreeMap<(String, NaiveDate), u64>,
    pub(super) new_entities: u64,
}

impl ReaderOutcome {
    pub(super) fn summary(&self, import_id: i64, tags_defined: usize) -> ImportSummary {
        ImportSummary {
            import_id,
            rows: self.rows,
            files: self.files.clone(),
            partitions: self.partitions.len(),
            new_entities: self.new_entities,
            tags_defined,
        }
    }
}

pub(super) fn spawn_reader(
    dir: &Path,
    files: Vec<DataFile>,
    tags: HashMap<String, TagDef>,
    time_zone: Tz,
    dictionaries: HashMap<TargetObject, HashMap<String, u32>>,
    sender: mpsc::Sender<Write>,
    progress: ProgressFn,
) -> tokio::task::JoinHandle<ReaderOutcome> {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut reader = Reader {
            dir,
            tags: tags
                .into_iter()
                .map(|(code, tag)| (code, Arc::new(tag)))
                .collect(),
            time_zone,
            dictionaries: dictionaries
                .into_iter()
                .map(|(target, ids)| {
                    let next = ids.values().max().map_or(0, |m| m + 1);
                    (
                        target,
                        Dictionary {
                            ids,
                            next,
                            fresh: Vec::new(),
                        },
                    )
                })
                .collect(),
            sender,
            progress,
            outcome: ReaderOutcome {
                problems: Vec::new(),
                rows: 0,
                files: Vec::new(),
                partitions: BTreeMap::new(),
                new_entities: 0,
            },
            seen: HashMap::new(),
            buffers: HashMap::new(),
            scopes_seen: HashSet::new(),
        };
        for file in files {
            reader.read(file);
        }
        reader.flush_all();
        reader.outcome
    })
}

pub(super) struct Dictionary {
    ids: HashMap<String, u32>,
    next: u32,
    /// IDs added by this import, not yet written.
    fresh: Vec<(u32, String)>,
}

/// Rows waiting for a batch, per table.
pub(super) struct Buffer {
    names: Vec<String>,
    columns: Vec<Column>,
}

pub(super) struct Reader {
    dir: PathBuf,
    tags: HashMap<String, Arc<TagDef>>,
    time_zone: Tz,
    dictionaries: HashMap<TargetObject, Dictionary>,
    sender: mpsc::Sender<Write>,
    progress: ProgressFn,
    outcome: ReaderOutcome,
    /// Entities seen per (tag, date) partition or (scope, target): duplicates are errors.
    seen: HashMap<(String, NaiveDate), RoaringBitmap>,
    buffers: HashMap<String, Buffer>,
    scopes_seen: HashSet<(String, TargetObject)>,
}

/// Errors of one file.
pub(super) struct FileProblems {
    file: String,
    kept: Vec<ImportProblem>,
    more: u64,
}

impl FileProblems {
    fn add(&mut self, line: u64, reason: impl Into<String>) {
        if self.kept.len() < MAX_ERRORS_PER_FILE {
            self.kept.push(problem(&self.file, Some(line), reason));
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }
}

impl Reader {
    fn writing(&self) -> bool {
        self.outcome.problems.is_empty()
    }

    fn send(&mut self, write: Write) {
        if self.writing() && self.sender.blocking_send(write).is_err() {
            // The writer stopped on a database error; it reports that error.
            self.outcome
                .problems
                .push(problem("(database)", None, "the database stopped accepting rows"));
        }
    }

    fn read(&mut self, file: DataFile) {
        let path = match &file {
            DataFile::Entities(_, p)
            | DataFile::Profile(p)
            | DataFile::Behavior(_, p)
            | DataFile::Scopes(p)
            | DataFile::Ready(p) => p.clone(),
        };
        let name = relative(&self.dir, &path);
        let mut problems = FileProblems {
            file: name.clone(),
            kept: Vec::new(),
            more: 0,
        };
        let rows = match csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_path(&path)
        {
            Err(error) => {
                problems
                    .kept
                    .push(problem(&name, None, format!("cannot be read: {error}")));
                0
            }
            Ok(mut csv) => match file {
                DataFile::Entities(target, _) => self.entities(&mut csv, target, &mut problems),
                DataFile::Profile(_) => self.profile(&mut csv, &mut problems),
                DataFile::Behavior(code, _) => self.behavior(&mut csv, &code, &mut problems),
                DataFile::Scopes(_) => self.scopes(&mut csv, &mut problems),
                DataFile::Ready(_) => self.ready(&mut csv, &mut problems),
            },
        };
        (self.progress)(&ImportProgress {
            file: name.clone(),
            rows,
            done: true,
        });
        if problems.more > 0 {
            let more = problems.more;
            problems.kept.push(problem(
                &name,
                None,
                format!("and {more} more errors in this file"),
            ));
        }
        self.outcome.problems.extend(problems.kept);
        self.outcome.files.push((name, rows));
        self.outcome.rows += rows;
    }

    /// Reads the header; `accept` checks it and otherwise says what was
    /// expected. `None` (with the problem reported) when the file cannot be read.
    fn header(
        csv: &mut csv::Reader<std::fs::File>,
        problems: &mut FileProblems,
        accept: impl FnOnce(&[String]) -> Result<(), String>,
    ) -> Option<Vec<String>> {
        let mut record = csv::StringRecord::new();
        match csv.read_record(&mut record) {
            Ok(true) => {
                let found: Vec<String> = record
                    .iter()
                    .map(|f| f.trim_start_matches('\u{feff}').trim().to_string())
                    .collect();
                match accept(&found) {
                    Ok(()) => Some(found),
                    Err(expected) => {
                        problems.add(
                            1,
                            format!("bad header: expected {expected}, found {:?}", found.join(",")),
                        );
                        None
                    }
                }
            }
            Ok(false) => {
                problems.add(1, "the file is empty; it needs a header");
                None
            }
            Err(error) => {
                problems.add(1, format!("unreadable CSV: {error}"));
                None
            }
        }
    }

    /// Streams the records after `header`, reporting those of another width.
    fn rows(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        header: &[String],
        problems: &mut FileProblems,
        mut each: impl FnMut(&mut Self, &csv::StringRecord, u64, &mut FileProblems),
    ) -> u64 {
        let mut record = csv::StringRecord::new();
        let mut rows = 0;
        loop {
            let line = record.position().map_or(1, |p| p.line()) + 1;
            match csv.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(line, |p| p.line());
                    rows += 1;
                    if record.len() != header.len() {
                        problems.add(
                            line,
                            format!(
                                "expected {} fields ({}), found {}",
                                header.len(),
                                header.join(","),
                                record.len()
                            ),
                        );
                    } else {
                        each(self, &record, line, problems);
                    }
                    if rows % PROGRESS_EVERY == 0 {
                        (self.progress)(&ImportProgress {
                            file: problems.file.clone(),
                            rows,
                            done: false,
                        });
                    }
                }
                Err(error) => {
                    problems.add(line, format!("unreadable CSV: {error}"));
                    if !matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) {
                        break;
                    }
                }
            }
        }
        rows
    }

    /// Streams the records of a file whose header must be exactly `expected`.
    fn records(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        expected: &[&str],
        problems: &mut FileProblems,
        each: impl FnMut(&mut Self, &csv::StringRecord, u64, &mut FileProblems),
    ) -> u64 {
        let accept = |found: &[String]| {
            if found == expected {
                Ok(())
            } else {
                Err(format!("{:?}", expected.join(",")))
            }
        };
        match Self::header(csv, problems, accept) {
            Some(header) => self.rows(csv, &header, problems, each),
            None => 0,
        }
    }

    /// The member index of `id` among `target` entities, adding it when new.
    fn member(&mut self, target: TargetObject, id: &str) -> u32 {
        let dictionary = self.dictionaries.entry(target).or_insert_with(|| Dictionary {
            ids: HashMap::new(),
            next: 0,
            fresh: Vec::new(),
        });
        if let Some(idx) = dictionary.ids.get(id) {
            return *idx;
        }
        let idx = dictionary.next;
        dictionary.next += 1;
        dictionary.ids.insert(id.to_string(), idx);
        dictionary.fresh.push((idx, id.to_string()));
        self.outcome.new_entities += 1;
        if dictionary.fresh.len() >= BATCH_ROWS {
            self.flush_entities(target);
        }
        idx
    }

    fn flush_entities(&mut self, target: TargetObject) {
        let Some(dictionary) = self.dictionaries.get_mut(&target) else {
            return;
        };
        if dictionary.fresh.is_empty() {
            return;
        }
        let fresh = std::mem::take(&mut dictionary.fresh);
        let batch = Batch {
            table: "entities".into(),
            names: vec!["target_object".into(), "idx".into(), "entity_id".into()],
            columns: vec![
                Column::Text(vec![Some(target.as_str().to_string()); fresh.len()]),
                Column::Int(fresh.iter().map(|(idx, _)| *idx as i64).collect()),
                Column::Text(fresh.into_iter().map(|(_, id)| Some(id)).collect()),
            ],
        };
        self.send(Write::Rows(batch));
    }

    fn entity(
        &mut self,
        target: TargetObject,
        id: &str,
        line: u64,
        problems: &mut FileProblems,
    ) -> Option<u32> {
        match validate_entity_id(id) {
            Ok(()) => Some(self.member(target, id)),
            Err(reason) => {
                problems.add(line, format!("entity_id {id:?} {reason}"));
                None
            }
        }
    }

    fn entities(
        &mut self,
        csv: &mut csv::Reader<std::fs::File>,
        target: TargetObject,
        problems: &mut FileProblems,
    ) -> u64 {
        self.records(csv, &["entity_id"], problems, |reader, record, line, problems| {
            reader.entity(target, &record[0], line, problems);
        })
    }

    /// Marks a partition as written by this import, deleting what it held before.
    fn open_partition(&mut self, tag: &TagDef, date: NaiveDate) {
        let key = (tag.code.clone(), date);
        if self.outcome.partitions.contains_key(&key) {
            return;
        }
        self.outcome.partitions.insert(key, 0);
        let (table, column) = match tag.kind {
            TagKind::Profile { .. } => (profile_table(&tag.code), "data_date"),
            TagKind::Behavior { .. } => (behavior_table(&tag.code), "event_date"),
        };
        // Rows of this partition still buffered from earlier files go first.
        self.flush(&table);
        self.send(Write::DeletePartition { table, column, date });
    }
    fn flush(&mut self, table: &str) {
        if let Some(buffer) = self.buffers.get_mut(table)
            && buffer.columns.first().is_some_and(|c| !c.is_empty())
        {
            let columns = buffer.columns.iter_mut().map(take_column).collect();
            let batch = Batch {
                table: table.to_string(),
                names: buffer.names.clone(),
                columns,
            };
            // New entities go first: PostgreSQL has no foreign key here, but
            // readers of a half-sent import must never see an unknown index.
            for target in TargetObject::ALL {
                self.flush_entities(target);
            }
            self.send(Write::Rows(batch));
        }
    }

    fn flush_all(&mut self) {
        for target in TargetObject::ALL {
            self.flush_entities(target);
        }
        let tables: Vec<String> = self.buffers.keys().cloned().collect();
        for table in tables {
            self.flush(&table);
        }
    }
}
