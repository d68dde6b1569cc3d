//! Loads a directory in the import format (DESIGN.md §2) into the tag
//! warehouse. One import is one transaction: a file with errors rejects the
//! whole import, with every error's file, line and reason, and nothing is
//! written. Files are streamed: a reader thread parses and validates rows
//! while the database writes the batches it sends.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::catalog::{DataType, TagDef, TagKind, validate_code};
use segment_core::ids::validate_entity_id;
use segment_core::sql::{behavior_table, profile_table, quote_ident};
use segment_core::time::{parse_date, parse_local_datetime};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::columns::{Batch, Column, Value, WriteTx};
use super::store;
use crate::infra::db::{Backend, Db};
use crate::infra::{now_ms, stored_count};
use segment_core::catalog::Catalog;

/// Errors kept per file; the rest are counted.
const MAX_ERRORS_PER_FILE: usize = 100;
/// Rows per batch sent to the database.
const BATCH_ROWS: usize = 8_192;
/// How often (in rows) a file reports progress.
const PROGRESS_EVERY: u64 = 250_000;

/// One problem in the input: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// The file, relative to the import directory.
    pub file: String,
    /// 1-based line, when the problem is on one.
    pub line: Option<u64>,
    pub reason: String,
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input has errors; nothing was written.
    #[error("the import was rejected with {} error(s); nothing was written", .problems.len())]
    Rejected { problems: Vec<ImportProblem> },
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ImportError {
    fn from(error: sqlx::Error) -> Self {
        ImportError::Failed(error.into())
    }
}

/// What an import loaded.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub import_id: i64,
    pub rows: u64,
    pub files: Vec<(String, u64)>,
    /// (tag, date) partitions written, empty ones included.
    pub partitions: usize,
    pub new_entities: u64,
    pub tags_defined: usize,
}

/// Progress of one file, reported while it streams.
#[derive(Debug, Clone)]
pub struct ImportProgress {
    pub file: String,
    pub rows: u64,
    pub done: bool,
}

pub type ProgressFn = Box<dyn Fn(&ImportProgress) + Send + Sync>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    timezone: Option<String>,
    tags: Vec<TagDef>,
}

/// Imports the directory `dir` into `db`.
pub async fn import_dir(db: &Db, dir: &Path, progress: ProgressFn) -> Result<ImportSummary, ImportError> {
    let started_at = now_ms();
    let mut problems = Vec::new();
    let stored = store::load_catalog(db).await?;
    let (catalog_file, time_zone) = read_catalog_file(dir, &mut problems);
    let catalog = merge_catalog(
        &stored,
        catalog_file.as_deref().unwrap_or_default(),
        &mut problems,
    );
    let files = list_files(dir, &catalog, &mut problems)?;
    if !problems.is_empty() {
        return Err(ImportError::Rejected { problems });
    }

    let dictionaries = store::load_dictionaries(db).await?;
    let job = Job {
        dir,
        source: dir.display().to_string(),
        started_at,
        catalog,
        time_zone,
        files,
        dictionaries,
        progress,
    };
    match db {
        Db::Sqlite(pool) => write_import(pool.begin().await?, job, Backend::Sqlite).await,
        Db::Postgres(pool) => write_import(pool.begin().await?, job, Backend::Postgres).await,
    }
}

/// Everything an import writes, prepared before the transaction opens.
struct Job<'a> {
    dir: &'a Path,
    source: String,
    started_at: i64,
    catalog: MergedCatalog,
    time_zone: Tz,
    files: Vec<DataFile>,
    dictionaries: HashMap<TargetObject, HashMap<String, u32>>,
    progress: ProgressFn,
}

/// The import's one transaction: catalog and tables first, then the rows the
/// reader streams, then the ready dates; rolled back on any problem.
async fn write_import<T: WriteTx>(
    mut tx: T,
    job: Job<'_>,
    backend: Backend,
) -> Result<ImportSummary, ImportError> {
    let import_id = tx
        .fetch_id(
            "INSERT INTO tag_imports (source, rows_loaded, summary, started_at, finished_at) \
             VALUES ($1, 0, '', $2, $2) RETURNING id",
            &[Value::Text(&job.source), Value::Int(job.started_at)],
        )
        .await?;
    for ddl in job.catalog.statements(backend) {
        tx.run(&ddl, &[]).await?;
    }
    for tag in job.catalog.changed_tags() {
        store::upsert_tag(&mut tx, tag).await?;
    }
    let (sender, mut receiver) = mpsc::channel::<Write>(8);
    let reader = spawn_reader(
        job.dir,
        job.files,
        job.catalog.tags.clone(),
        job.time_zone,
        job.dictionaries,
        sender,
        job.progress,
    );
    let mut write_error = None;
    while let Some(write) = receiver.recv().await {
        if write_error.is_some() {
            continue;
        }
        let result = match &write {
            Write::Rows(batch) => tx.insert(batch).await,
            Write::DeletePartition { table, column, date } => {
                let sql = format!("DELETE FROM {} WHERE {column} = $1", quote_ident(table));
                tx.run(&sql, &[Value::Date(*date)]).await
            }
            Write::DeleteScope { scope, target } => {
                tx.run(
                    "DELETE FROM audience_scopes WHERE scope = $1 AND target_object = $2",
                    &[Value::Text(scope), Value::Text(target.as_str())],
                )
                .await
            }
        };
        if let Err(error) = result {
            write_error = Some(error);
            receiver.close();
        }
    }
    let outcome = join_reader(reader).await?;
    if let Some(error) = write_error {
        return Err(error.into());
    }
    if !outcome.problems.is_empty() {
        return Err(ImportError::Rejected {
            problems: outcome.problems,
        });
    }
    for ((tag, date), rows) in &outcome.partitions {
        tx.run(
            "INSERT INTO tag_partitions (tag, data_date, row_count, import_id) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tag, data_date) DO UPDATE SET row_count = excluded.row_count, import_id = excluded.import_id",
            &[Value::Text(tag), Value::Date(*date), Value::Int(stored_count(*rows)), Value::Int(import_id)],
        )
        .await?;
    }
    let summary = outcome.summary(import_id, job.catalog.defined);
    tx.run(
        "UPDATE tag_imports SET rows_loaded = $1, summary = $2, finished_at = $3 WHERE id = $4",
        &[
            Value::Int(stored_count(summary.rows)),
            Value::Text(&describe(&summary)),
            Value::Int(now_ms()),
            Value::Int(import_id),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(summary)
}

/// One line about an import, for the imports table and the terminal.
pub fn describe(summary: &ImportSummary) -> String {
    format!(
        "{} rows from {} files, {} partitions, {} new entities, {} tags defined",
        summary.rows,
        summary.files.len(),
        summary.partitions,
        summary.new_entities,
        summary.tags_defined
    )
}

async fn join_reader(reader: tokio::task::JoinHandle<ReaderOutcome>) -> Result<ReaderOutcome, ImportError> {
    reader
        .await
        .map_err(|error| ImportError::Failed(anyhow::anyhow!("the import reader stopped: {error}")))
}

fn problem(file: &str, line: Option<u64>, reason: impl Into<String>) -> ImportProblem {
    ImportProblem {
        file: file.to_string(),
        line,
        reason: reason.into(),
    }
}

/// Reads `catalog.json` when present; the time zone datetimes are written in (UTC by default).
fn read_catalog_file(dir: &Path, problems: &mut Vec<ImportProblem>) -> (Option<Vec<TagDef>>, Tz) {
    let path = dir.join("catalog.json");
    if !path.exists() {
        return (None, Tz::UTC);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(problem("catalog.json", None, format!("cannot be read: {error}")));
            return (None, Tz::UTC);
        }
    };
    let file: CatalogFile = match serde_json::from_str(&text) {
        Ok(file) => file,
        Err(error) => {
            problems.push(problem(
                "catalog.json",
                Some(error.line() as u64),
                format!("{error}"),
            ));
            return (None, Tz::UTC);
        }
    };
    let time_zone = match file.timezone.as_deref() {
        None => Tz::UTC,
        Some(name) => name.parse().unwrap_or_else(|_| {
            problems.push(problem(
                "catalog.json",
                None,
                format!("timezone {name:?} is not an IANA time zone"),
            ));
            Tz::UTC
        }),
    };
    let mut seen = HashSet::new();
    for (i, tag) in file.tags.iter().enumerate() {
        let at = |reason: String| {
            problem(
                "catalog.json",
                None,
                format!("tags[{i}] ({}): {reason}", tag.code),
            )
        };
        if let Err(reason) = validate_code(&tag.code) {
            problems.push(at(format!("the code {reason}")));
        }
        if !seen.insert(tag.code.clone()) {
            problems.push(at("the code is defined twice".into()));
        }
        if tag.name.trim().is_empty() {
            problems.push(at("the name is empty".into()));
        }
        if !tag.ready_dates.is_empty() {
            problems.push(at(
                "ready dates are not declared in the catalog; they follow from the data (or ready.csv)"
                    .into(),
            ));
        }
        match &tag.kind {
            TagKind::Profile { data_type, values } => {
                if *data_type == DataType::Enum && values.is_empty() {
                    problems.push(at("an enum tag needs its \"values\"".into()));
                }
                if *data_type != DataType::Enum && !values.is_empty() {
                    problems.push(at(format!("a {} tag has no \"values\"", data_type.as_str())));
                }
                if *data_type != DataType::Enum && tag.tenant.is_some() {
                    problems.push(at(
                        "only an enum tag's values can be merchant or store IDs (\"tenant\")".into(),
                    ));
                }
            }
            TagKind::Behavior { attributes } => {
                let mut codes = HashSet::new();
                for attribute in attributes {
                    if let Err(reason) = validate_code(&attribute.code) {
                        problems.push(at(format!("attribute code {:?} {reason}", attribute.code)));
                    }
                    if ["entity_id", "date", "count", "event_date", "entity_idx"]
                        .contains(&attribute.code.as_str())
                    {
                        problems.push(at(format!("attribute code {:?} is reserved", attribute.code)));
                    }
                    if !codes.insert(attribute.code.clone()) {
                        problems.push(at(format!("attribute {:?} is defined twice", attribute.code)));
                    }
                    if attribute.tenant.is_some() && attribute.data_type != DataType::Enum {
                        problems.push(at(format!(
                            "attribute {:?}: only enum values can be merchant or store IDs (\"tenant\")",
                            attribute.code
                        )));
                    }
                    match attribute.data_type {
                        DataType::Enum if attribute.values.is_empty() => problems.push(at(format!(
                            "enum attribute {:?} needs its \"values\"",
                            attribute.code
                        ))),
                        DataType::Enum | DataType::Number => {}
                        other => problems.push(at(format!(
                            "attribute {:?}: attributes are enum or number, not {}",
                            attribute.code,
                            other.as_str()
                        ))),
                    }
                }
            }
        }
    }
    (Some(file.tags), time_zone)
}

/// The catalog an import works with: the stored tags updated by the file's.
struct MergedCatalog {
    tags: HashMap<String, TagDef>,
    /// New tables and columns to create.
    new_tags: Vec<String>,
    new_attributes: Vec<(String, String)>,
    /// Tags (re)defined by this import.
    changed: Vec<String>,
    defined: usize,
}

impl MergedCatalog {
    fn changed_tags(&self) -> impl Iterator<Item = &TagDef> {
        self.changed.iter().map(|code| &self.tags[code])
    }

    fn statements(&self, backend: Backend) -> Vec<String> {
        let mut statements = Vec::new();
        for code in &self.new_tags {
            statements.extend(store::create_tag_table(&self.tags[code], backend));
        }
        for (code, attribute) in &self.new_attributes {
            let tag = &self.tags[code];
            let data_type = tag.attribute(attribute).expect("attribute exists").data_type;
            statements.push(format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quote_ident(&behavior_table(code)),
                quote_ident(attribute),
                store::column_type(data_type, backend)
            ));
        }
        statements
    }
}

fn merge_catalog(stored: &Catalog, incoming: &[TagDef], problems: &mut Vec<ImportProblem>) -> MergedCatalog {
    let mut merged = MergedCatalog {
        tags: stored.tags.iter().map(|t| (t.code.clone(), t.clone())).collect(),
        new_tags: Vec::new(),
        new_attributes: Vec::new(),
        changed: Vec::new(),
        defined: incoming.len(),
    };
    for tag in incoming {
        let at = |reason: String| problem("catalog.json", None, format!("tag {}: {reason}", tag.code));
        let mut tag = tag.clone();
        tag.ready_dates.clear();
        match merged.tags.get(&tag.code) {
            None => {
                merged.new_tags.push(tag.code.clone());
                merged.changed.push(tag.code.clone());
                merged.tags.insert(tag.code.clone(), tag);
            }
            Some(old) => {
                if old.target_object != tag.target_object {
                    problems.push(at(format!(
                        "is already a {} tag and cannot become a {} tag",
                        old.target_object, tag.target_object
                    )));
                    continue;
                }
                match (&old.kind, &tag.kind) {
                    (TagKind::Profile { data_type: a, .. }, TagKind::Profile { data_type: b, .. })
                        if a != b =>
                    {
                        problems.push(at(format!(
                            "already holds {} data and cannot become {}",
                            a.as_str(),
                            b.as_str()
                        )));
                        continue;
                    }
                    (TagKind::Profile { .. }, TagKind::Profile { .. }) => {}
                    (TagKind::Behavior { attributes: a }, TagKind::Behavior { attributes: b }) => {
                        let mut compatible = true;
                        for old_attribute in a {
                            match b.iter().find(|n| n.code == old_attribute.code) {
                                None => {
                                    problems.push(at(format!(
                                        "attribute {:?} exists and cannot be removed",
                                        old_attribute.code
                                    )));
                                    compatible = false;
                                }
                                Some(n) if n.data_type != old_attribute.data_type => {
                                    problems.push(at(format!(
                                        "attribute {:?} holds {} data and cannot become {}",
                                        n.code,
                                        old_attribute.data_type.as_str(),
                                        n.data_type.as_str()
                                    )));
                                    compatible = false;
                                }
                                Some(_) => {}
                            }
                        }
                        if !compatible {
                            continue;
                        }
                        for n in b {
                            if !a.iter().any(|o| o.code == n.code) {
                                merged.new_attributes.push((tag.code.clone(), n.code.clone()));
                            }
                        }
                    }
                    _ => {
                        problems.push(at("cannot change between profile and behavior".into()));
                        continue;
                    }
                }
                merged.changed.push(tag.code.clone());
                merged.tags.insert(tag.code.clone(), tag);
            }
        }
    }
    merged
}

/// The data files of an import, in the order they are loaded.
#[derive(Debug, Clone)]
enum DataFile {
    Entities(TargetObject, PathBuf),
    Profile(PathBuf),
    Behavior(String, PathBuf),
    Scopes(PathBuf),
    Ready(PathBuf),
}

fn csv_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    Ok(files)
}

fn list_files(
    dir: &Path,
    catalog: &MergedCatalog,
    problems: &mut Vec<ImportProblem>,
) -> Result<Vec<DataFile>, ImportError> {
    if !dir.is_dir() {
        problems.push(problem(&dir.display().to_string(), None, "is not a directory"));
        return Ok(Vec::new());
    }
    let io =
        |error: std::io::Error| ImportError::Failed(anyhow::anyhow!("reading {}: {error}", dir.display()));
    let mut files = Vec::new();
    for path in csv_files(&dir.join("entities")).map_err(io)? {
        let stem = stem(&path);
        match TargetObject::parse(&stem) {
            Some(target) => files.push(DataFile::Entities(target, path)),
            None => problems.push(problem(
                &relative(dir, &path),
                None,
                format!("{stem:?} is not a target object; name the file user.csv, merchant.csv or store.csv"),
            )),
        }
    }
    for path in csv_files(&dir.join("profile")).map_err(io)? {
        files.push(DataFile::Profile(path));
    }
    for path in csv_files(&dir.join("behavior")).map_err(io)? {
        let code = stem(&path);
        match catalog.tags.get(&code) {
            Some(TagDef {
                kind: TagKind::Behavior { .. },
                ..
            }) => files.push(DataFile::Behavior(code, path)),
            Some(_) => problems.push(problem(
                &relative(dir, &path),
                None,
                format!("{code} is a profile tag; its rows belong in profile/*.csv"),
            )),
            None => problems.push(problem(
                &relative(dir, &path),
                None,
                format!("unknown behavior {code:?}: it is not in the catalog"),
            )),
        }
    }
    if dir.join("scopes.csv").is_file() {
        files.push(DataFile::Scopes(dir.join("scopes.csv")));
    }
    if dir.join("ready.csv").is_file() {
        files.push(DataFile::Ready(dir.join("ready.csv")));
    }
    if files.is_empty() && !dir.join("catalog.json").exists() {
        problems.push(problem(
            &dir.display().to_string(),
            None,
            "holds no catalog.json and no data files (entities/, profile/, behavior/, scopes.csv)",
        ));
    }
    Ok(files)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

/// What the reader asks the database to do, in order.
enum Write {
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

struct ReaderOutcome {
    problems: Vec<ImportProblem>,
    rows: u64,
    files: Vec<(String, u64)>,
    partitions: BTreeMap<(String, NaiveDate), u64>,
    new_entities: u64,
}

impl ReaderOutcome {
    fn summary(&self, import_id: i64, tags_defined: usize) -> ImportSummary {
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

fn spawn_reader(
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

struct Dictionary {
    ids: HashMap<String, u32>,
    next: u32,
    /// IDs added by this import, not yet written.
    fresh: Vec<(u32, String)>,
}

/// Rows waiting for a batch, per table.
struct Buffer {
    names: Vec<String>,
    columns: Vec<Column>,
}

struct Reader {
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
struct FileProblems {
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

    fn profile(&mut self, csv: &mut csv::Reader<std::fs::File>, problems: &mut FileProblems) -> u64 {
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

    fn behavior(
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

    fn scopes(&mut self, csv: &mut csv::Reader<std::fs::File>, problems: &mut FileProblems) -> u64 {
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
    fn ready(&mut self, csv: &mut csv::Reader<std::fs::File>, problems: &mut FileProblems) -> u64 {
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

enum Cell {
    Date(NaiveDate),
    Int(i64),
    Real(Option<f64>),
    Text(Option<String>),
}

fn push(column: &mut Column, cell: Cell) {
    match (column, cell) {
        (Column::Date(v), Cell::Date(d)) => v.push(d),
        (Column::Int(v), Cell::Int(n)) => v.push(n),
        (Column::Real(v), Cell::Real(x)) => v.push(x),
        (Column::Text(v), Cell::Text(t)) => v.push(t),
        _ => unreachable!("cells match their column's type"),
    }
}

fn take_column(column: &mut Column) -> Column {
    match column {
        Column::Date(v) => Column::Date(std::mem::take(v)),
        Column::Int(v) => Column::Int(std::mem::take(v)),
        Column::Real(v) => Column::Real(std::mem::take(v)),
        Column::Text(v) => Column::Text(std::mem::take(v)),
    }
}

fn parse_number(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(format!("{text:?} is not a number")),
    }
}

/// A profile value as stored; `None` for an empty value (no value).
fn profile_value(tag: &TagDef, text: &str, time_zone: Tz) -> Result<Option<Cell>, String> {
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
