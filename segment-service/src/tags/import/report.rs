//! What an import reports: its problems with their places, its summary and progress.

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

pub(super) fn problem(file: &str, line: Option<u64>, reason: impl Into<String>) -> ImportProblem {
    ImportProblem {
        file: file.to_string(),
        line,
        reason: reason.into(),
    }
}
