//! `catalog.json`: read, checked, and merged into the stored catalog.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono_tz::Tz;
use segment_core::catalog::{DataType, TagDef, TagKind, validate_code};
use segment_core::sql::{behavior_table, quote_ident};
use serde::Deserialize;

use super::report::{ImportProblem, problem};
use crate::infra::db::Backend;
use crate::tags::store;
use segment_core::catalog::Catalog;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogFile {
    #[serde(default)]
    timezone: Option<String>,
    tags: Vec<TagDef>,
}

/// Reads `catalog.json` when present; the time zone datetimes are written in (UTC by default).
pub(super) fn read_catalog_file(dir: &Path, problems: &mut Vec<ImportProblem>) -> (Option<Vec<TagDef>>, Tz) {
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
pub(super) struct MergedCatalog {
    pub(super) tags: HashMap<String, TagDef>,
    /// New tables and columns to create.
    pub(super) new_tags: Vec<String>,
    pub(super) new_attributes: Vec<(String, String)>,
    /// Tags (re)defined by this import.
    pub(super) changed: Vec<String>,
    pub(super) defined: usize,
}

impl MergedCatalog {
    pub(super) fn changed_tags(&self) -> impl Iterator<Item = &TagDef> {
        self.changed.iter().map(|code| &self.tags[code])
    }

    pub(super) fn statements(&self, backend: Backend) -> Vec<String> {
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

pub(super) fn merge_catalog(
    stored: &Catalog,
    incoming: &[TagDef],
    problems: &mut Vec<ImportProblem>,
) -> MergedCatalog {
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
