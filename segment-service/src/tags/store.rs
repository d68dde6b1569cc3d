//! The tag warehouse's tables: the catalog with its ready dates, the entity
//! dictionaries, and the DDL of each tag's own table.

use std::collections::HashMap;

use chrono::NaiveDate;
use segment_core::TargetObject;
use segment_core::catalog::{Catalog, DataType, TagDef, TagKind};
use segment_core::sql::{behavior_table, profile_table, quote_ident};

use super::columns::{Value, WriteTx};
use crate::infra::db::{Backend, Db};
use crate::infra::now_ms;
use crate::infra::ordinal;
use crate::with_db;

pub const CATALOG_SQL: &str = "SELECT definition FROM tag_catalog ORDER BY code";
pub const READY_DATES_SQL: &str =
    "SELECT tag, CAST(data_date AS TEXT) FROM tag_partitions ORDER BY tag, data_date";

/// The catalog as stored, each tag with its ready dates.
pub async fn load_catalog(db: &Db) -> anyhow::Result<Catalog> {
    let (definitions, ready) = with_db!(db, pool => {
        let definitions = sqlx::query_as(CATALOG_SQL).fetch_all(pool).await?;
        let ready = sqlx::query_as(READY_DATES_SQL).fetch_all(pool).await?;
        (definitions, ready)
    });
    assemble_catalog(definitions, ready)
}

/// The catalog from the rows of [`CATALOG_SQL`] and [`READY_DATES_SQL`].
pub fn assemble_catalog(
    definitions: Vec<(String,)>,
    ready_dates: Vec<(String, String)>,
) -> anyhow::Result<Catalog> {
    let mut ready: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for (tag, date) in ready_dates {
        let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")?;
        ready.entry(tag).or_default().push(date);
    }
    let mut tags = Vec::with_capacity(definitions.len());
    for (definition,) in definitions {
        let mut tag: TagDef = serde_json::from_str(&definition)?;
        tag.ready_dates = ready.remove(&tag.code).unwrap_or_default();
        tags.push(tag);
    }
    Ok(Catalog { tags })
}

/// Every known external ID with its member index, per target object.
pub async fn load_dictionaries(db: &Db) -> anyhow::Result<HashMap<TargetObject, HashMap<String, u32>>> {
    let rows: Vec<(String, i64, String)> = with_db!(db, pool => {
        sqlx::query_as("SELECT target_object, CAST(idx AS BIGINT), entity_id FROM entities")
            .fetch_all(pool)
            .await?
    });
    let mut dictionaries: HashMap<TargetObject, HashMap<String, u32>> = HashMap::new();
    for (target, idx, id) in rows {
        let target =
            TargetObject::parse(&target).ok_or_else(|| anyhow::anyhow!("unknown target {target}"))?;
        dictionaries.entry(target).or_default().insert(id, ordinal(idx)?);
    }
    Ok(dictionaries)
}

fn definition_json(tag: &TagDef) -> String {
    let mut tag = tag.clone();
    tag.ready_dates.clear();
    serde_json::to_string(&tag).expect("tag definitions serialize")
}

fn kind(tag: &TagDef) -> &'static str {
    match tag.kind {
        TagKind::Profile { .. } => "profile",
        TagKind::Behavior { .. } => "behavior",
    }
}

const UPSERT_TAG: &str = "INSERT INTO tag_catalog (code, target_object, kind, definition, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $5) \
     ON CONFLICT (code) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at";

pub async fn upsert_tag(tx: &mut impl WriteTx, tag: &TagDef) -> sqlx::Result<()> {
    tx.run(
        UPSERT_TAG,
        &[
            Value::Text(&tag.code),
            Value::Text(tag.target_object.as_str()),
            Value::Text(kind(tag)),
            Value::Text(&definition_json(tag)),
            Value::Int(now_ms()),
        ],
    )
    .await
}

/// The column type holding values of `data_type`.
pub fn column_type(data_type: DataType, backend: Backend) -> &'static str {
    match (data_type, backend) {
        (DataType::Number, Backend::Sqlite) => "REAL",
        (DataType::Number, Backend::Postgres) => "DOUBLE PRECISION",
        (DataType::Datetime, _) => "BIGINT",
        (DataType::Enum | DataType::Boolean, _) => "TEXT",
    }
}

fn date_type(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "TEXT",
        Backend::Postgres => "DATE",
    }
}

/// The statements creating a new tag's table (and its index).
pub fn create_tag_table(tag: &TagDef, backend: Backend) -> Vec<String> {
    match &tag.kind {
        TagKind::Profile { data_type, .. } => {
            let table = profile_table(&tag.code);
            // Clustered on (date, entity): partitions are read and replaced whole.
            let without_rowid = if backend == Backend::Sqlite {
                " WITHOUT ROWID"
            } else {
                ""
            };
            vec![format!(
                "CREATE TABLE {} (data_date {} NOT NULL, entity_idx INTEGER NOT NULL, value {}, \
                 PRIMARY KEY (data_date, entity_idx)){without_rowid}",
                quote_ident(&table),
                date_type(backend),
                column_type(*data_type, backend)
            )]
        }
        TagKind::Behavior { attributes } => {
            let table = behavior_table(&tag.code);
            let mut columns = vec![
                format!("event_date {} NOT NULL", date_type(backend)),
                "entity_idx INTEGER NOT NULL".to_string(),
                "count BIGINT NOT NULL".to_string(),
            ];
            for attribute in attributes {
                columns.push(format!(
                    "{} {}",
                    quote_ident(&attribute.code),
                    column_type(attribute.data_type, backend)
                ));
            }
            vec![
                format!("CREATE TABLE {} ({})", quote_ident(&table), columns.join(", ")),
                format!(
                    "CREATE INDEX {} ON {} (event_date, entity_idx)",
                    quote_ident(&format!("{table}_by_day")),
                    quote_ident(&table)
                ),
            ]
        }
    }
}

/// The id of the newest finished import (0 when none): servers reload their
/// tag index when it changes.
pub async fn latest_import(db: &Db) -> anyhow::Result<i64> {
    let latest: Option<i64> = with_db!(db, pool => {
        sqlx::query_scalar("SELECT MAX(id) FROM tag_imports").fetch_one(pool).await?
    });
    Ok(latest.unwrap_or(0))
}
