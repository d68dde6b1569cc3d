//! The data files of an import directory, in load order.

use std::path::{Path, PathBuf};

use segment_core::TargetObject;
use segment_core::catalog::{TagDef, TagKind};

use super::catalog::MergedCatalog;
use super::report::{ImportError, ImportProblem, problem};

/// The data files of an import, in the order they are loaded.
#[derive(Debug, Clone)]
pub(super) enum DataFile {
    Entities(TargetObject, PathBuf),
    Profile(PathBuf),
    Behavior(String, PathBuf),
    Scopes(PathBuf),
    Ready(PathBuf),
}

pub(super) fn csv_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
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

pub(super) fn list_files(
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

pub(super) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(super) fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}
