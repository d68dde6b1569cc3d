//! The in-memory tag index the engine evaluates: built from the warehouse
//! tables in one consistent read, and rebuilt when a newer import appears.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::catalog::{Catalog, DataType, TagKind};
use segment_core::engine::snapshot;
use segment_core::engine::{
    AttrValue, BehaviorIndex, CategoricalPartition, DayBlock, OrderedPartition, ProfileIndex,
    ProfilePartition, TagIndex,
};
use segment_core::sql::{behavior_table, profile_table, quote_ident};
use sqlx::Row;

use super::store;
use crate::infra::db::{Backend, Db};
use crate::infra::ordinal;
use crate::with_db;
use segment_contract::error::{AppError, AppResult};

/// A tag index with the catalog and import it reflects.
#[derive(Debug)]
pub struct LoadedIndex {
    /// The newest import the index includes (0: none yet).
    pub import_id: i64,
    pub catalog: Catalog,
    pub index: TagIndex,
    /// The import each loaded (tag, date) partition came from.
    pub versions: HashMap<(String, NaiveDate), i64>,
    pub stats: LoadStats,
    pub load_time: Duration,
}

/// Where a load found its partitions.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    /// Unchanged since the previous load, kept from memory.
    pub reused: usize,
    /// Read from stored snapshots.
    pub from_snapshots: usize,
    /// Built from the tag tables (and then stored).
    pub built: usize,
}

/// The server's current index, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct TagIndexHandle {
    current: Arc<RwLock<Option<Arc<LoadedIndex>>>>,
}

impl TagIndexHandle {
    /// The loaded index, or `None` while the first load runs.
    pub fn current(&self) -> Option<Arc<LoadedIndex>> {
        self.current.read().expect("index lock").clone()
    }

    /// The loaded index, or a 503 asking to try again while the first load runs.
    pub fn loaded(&self) -> AppResult<Arc<LoadedIndex>> {
        self.current().ok_or_else(|| {
            AppError::Unavailable("The tag index is still loading; try again in a few seconds.".into())
        })
    }

    fn replace(&self, loaded: LoadedIndex) {
        *self.current.write().expect("index lock") = Some(Arc::new(loaded));
    }

    /// Loads the index if an import newer than the loaded one exists (or
    /// none is loaded); answers whether it loaded.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<bool> {
        let latest = store::latest_import(db).await?;
        if self.current().is_some_and(|c| c.import_id == latest) {
            return Ok(false);
        }
        let previous = self.current();
        let loaded = load_index(db, previous.as_deref()).await?;
        tracing::info!(
            reused = loaded.stats.reused,
            from_snapshots = loaded.stats.from_snapshots,
            built = loaded.stats.built,
            import_id = loaded.import_id,
            tags = loaded.catalog.tags.len(),
            bytes = loaded.index.approximate_bytes(),
            ms = crate::infra::millis(loaded.load_time),
            "tag index loaded"
        );
        self.replace(loaded);
        Ok(true)
    }

    /// Keeps the index fresh: checks for new imports every `every` until shutdown.
    pub async fn keep_fresh(self, db: Db, every: Duration, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            if let Err(error) = self.refresh(&db).await {
                tracing::error!(error = format!("{error:#}"), "loading the tag index failed");
            }
            if !crate::background::pause(&shutdown, every).await {
                return;
            }
        }
    }
}

/// The stored snapshots of one tag as date → (import, payload), read in the
/// load's transaction (a macro: the transaction's type differs per backend).
macro_rules! snapshots_of {
    ($tx:expr, $tag:expr) => {{
        let rows: Vec<(String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT CAST(data_date AS TEXT), import_id, payload FROM tag_index_snapshots WHERE tag = $1",
        )
        .bind($tag)
        .fetch_all(&mut *$tx)
        .await?;
        rows.into_iter()
            .map(|(date, version, payload)| {
                Ok((NaiveDate::parse_from_str(&date, "%Y-%m-%d")?, (version, payload)))
            })
            .collect::<anyhow::Result<HashMap<NaiveDate, (i64, Vec<u8>)>>>()?
    }};
}

fn date_param(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "$1",
        Backend::Postgres => "CAST($1 AS DATE)",
    }
}

/// Reads the whole warehouse into a [`TagIndex`], in one consistent read.
/// Each (tag, date) partition is taken, in order of preference, from
/// `previous` (unchanged since), from its stored snapshot (same import),
/// or built from the tag table and then stored as a snapshot.
pub async fn load_index(db: &Db, previous: Option<&LoadedIndex>) -> anyhow::Result<LoadedIndex> {
    let started = Instant::now();
    let backend = db.backend();
    let on_date = date_param(backend);
    let mut index = TagIndex::default();
    let mut versions: HashMap<(String, NaiveDate), i64> = HashMap::new();
    let mut stats = LoadStats::default();
    let mut fresh: Vec<(String, NaiveDate, i64, Vec<u8>)> = Vec::new();
    let (import_id, catalog) = with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let import_id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM tag_imports")
            .fetch_one(&mut *tx)
            .await?;
        let definitions = sqlx::query_as(store::CATALOG_SQL).fetch_all(&mut *tx).await?;
        let ready = sqlx::query_as(store::READY_DATES_SQL).fetch_all(&mut *tx).await?;
        let catalog = store::assemble_catalog(definitions, ready)?;
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT tag, CAST(data_date AS TEXT), import_id FROM tag_partitions")
                .fetch_all(&mut *tx)
                .await?;
        for (tag, date, version) in rows {
            versions.insert((tag, NaiveDate::parse_from_str(&date, "%Y-%m-%d")?), version);
        }
        // Member indexes are dense (an import only appends; the entity
        // dictionary checks it), so a population is 0..=its largest index.
        for target in TargetObject::ALL {
            let largest: Option<i64> =
                sqlx::query_scalar("SELECT CAST(MAX(idx) AS BIGINT) FROM entities WHERE target_object = $1")
                    .bind(target.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            if let Some(largest) = largest {
                let mut population = RoaringBitmap::new();
                population.insert_range(0..=ordinal(largest)?);
                index.populations.insert(target, population);
            }
        }
        // Audiences hold millions of rows at 10M users: each is read as a
        // few lists of indexes (one per 2^20 of them), not row by row.
        let scopes: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT scope, target_object, CAST(MAX(entity_idx) AS BIGINT) FROM audience_scopes GROUP BY scope, target_object",
        )
        .fetch_all(&mut *tx)
        .await?;
        let list = match backend {
            Backend::Sqlite => "group_concat(entity_idx, ',')",
            Backend::Postgres => "string_agg(CAST(entity_idx AS TEXT), ',')",
        };
        let sql = format!(
            "SELECT {list} FROM audience_scopes WHERE scope = $1 AND target_object = $2 AND entity_idx >= $3 AND entity_idx < $4"
        );
        for (scope, target, largest) in scopes {
            let mut audience = RoaringBitmap::new();
            let mut from = 0;
            while from <= largest {
                let indexes: Option<String> = sqlx::query_scalar(&sql)
                    .bind(&scope)
                    .bind(&target)
                    .bind(from)
                    .bind(from + AUDIENCE_PIECE)
                    .fetch_one(&mut *tx)
                    .await?;
                for idx in indexes.iter().flat_map(|list| list.split(',')) {
                    let idx = idx.parse().map_err(|_| sqlx::Error::Decode(format!("audience index {idx:?}").into()))?;
                    audience.insert(ordinal(idx)?);
                }
                from += AUDIENCE_PIECE;
            }
            index.scopes.insert((scope, stored_target(target)?), audience);
        }

        // Every tag's snapshots are read first and decoded on the engine's
        // threads while the next ones are read; the partitions are then
        // assembled tag by tag, building those without a usable snapshot.
        let mut decoding_profiles = HashMap::new();
        let mut decoding_days = HashMap::new();
        for tag in &catalog.tags {
            let stored = snapshots_of!(tx, &tag.code);
            let stored = usable(stored, &tag.code, &versions, |d| !kept_in(previous, &versions, &tag.code, *d));
            match &tag.kind {
                TagKind::Profile { .. } => {
                    decoding_profiles.insert(tag.code.as_str(), start_decoding(stored, snapshot::decode_partition));
                }
                TagKind::Behavior { .. } => {
                    decoding_days.insert(tag.code.as_str(), start_decoding(stored, snapshot::decode_day));
                }
            }
        }
        for tag in &catalog.tags {
            match &tag.kind {
                TagKind::Profile { data_type, .. } => {
                    let sql = format!(
                        "SELECT CAST(entity_idx AS BIGINT), value FROM {} WHERE data_date = {on_date}",
                        quote_ident(&profile_table(&tag.code))
                    );
                    let mut partitions = BTreeMap::new();
                    let kept = |date: &NaiveDate| {
                        let version = versions.get(&(tag.code.clone(), *date)).copied().unwrap_or(0);
                        unchanged(previous, &tag.code, *date, version)
                            .and_then(|p| p.index.profiles.get(&tag.code)?.partitions.get(date))
                    };
                    let mut stored = decoding_profiles.remove(tag.code.as_str()).expect("started above").await?;
                    for date in &tag.ready_dates {
                        let version = versions.get(&(tag.code.clone(), *date)).copied().unwrap_or(0);
                        if let Some(partition) = prebuilt(kept(date), stored.remove(date), &mut stats) {
                            partitions.insert(*date, partition);
                            continue;
                        }
                        let rows = sqlx::query(&sql)
                            .bind(date.format("%Y-%m-%d").to_string())
                            .fetch_all(&mut *tx)
                            .await?;
                        let partition = profile_partition(*data_type, &rows)?;
                        fresh.push((tag.code.clone(), *date, version, snapshot::encode_partition(&partition)));
                        stats.built += 1;
                        partitions.insert(*date, partition);
                    }
                    index.profiles.insert(
                        tag.code.clone(),
                        ProfileIndex {
                            data_type: *data_type,
                            partitions,
                        },
                    );
                }
                TagKind::Behavior { attributes } => {
                    let columns: Vec<String> = attributes.iter().map(|a| quote_ident(&a.code)).collect();
                    let sql = format!(
                        "SELECT CAST(entity_idx AS BIGINT), CAST(count AS BIGINT){}{} FROM {} WHERE event_date = {on_date}",
                        if columns.is_empty() { "" } else { ", " },
                        columns.join(", "),
                        quote_ident(&behavior_table(&tag.code))
                    );
                    let types: Vec<DataType> = attributes.iter().map(|a| a.data_type).collect();
                    let mut days = BTreeMap::new();
                    let kept = |date: &NaiveDate| {
                        let version = versions.get(&(tag.code.clone(), *date)).copied().unwrap_or(0);
                        unchanged(previous, &tag.code, *date, version)
                            .and_then(|p| p.index.behaviors.get(&tag.code)?.days.get(date))
                    };
                    let mut stored = decoding_days.remove(tag.code.as_str()).expect("started above").await?;
                    for date in &tag.ready_dates {
                        let version = versions.get(&(tag.code.clone(), *date)).copied().unwrap_or(0);
                        if let Some(block) = prebuilt(kept(date), stored.remove(date), &mut stats) {
                            days.insert(*date, block);
                            continue;
                        }
                        let rows = sqlx::query(&sql)
                            .bind(date.format("%Y-%m-%d").to_string())
                            .fetch_all(&mut *tx)
                            .await?;
                        let block = day_block(&types, &rows)?;
                        fresh.push((tag.code.clone(), *date, version, snapshot::encode_day(&block)));
                        stats.built += 1;
                        days.insert(*date, block);
                    }
                    index.behaviors.insert(
                        tag.code.clone(),
                        BehaviorIndex {
                            attributes: attributes.iter().map(|a| (a.code.clone(), a.data_type)).collect(),
                            days,
                        },
                    );
                }
            }
        }
        tx.commit().await?;
        (import_id.unwrap_or(0), catalog)
    });
    store_snapshots(db, fresh).await;
    crate::infra::release_freed_memory();
    Ok(LoadedIndex {
        import_id,
        catalog,
        index,
        versions,
        stats,
        load_time: started.elapsed(),
    })
}

/// Audience members read per query: a list of at most this many indexes.
const AUDIENCE_PIECE: i64 = 1 << 20;

/// A stored target object; one that names none is a corrupt row, an error
/// rather than a row silently left out of every population.
fn stored_target(text: String) -> sqlx::Result<TargetObject> {
    TargetObject::try_from(text).map_err(|error| sqlx::Error::Decode(error.into()))
}

/// A profile partition from its rows (`entity_idx`, `value`), on either backend.
fn profile_partition<R: Row>(data_type: DataType, rows: &[R]) -> sqlx::Result<ProfilePartition>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let idx = |row: &R| ordinal(row.try_get::<i64, _>(0)?);
    Ok(match data_type {
        DataType::Enum | DataType::Boolean => ProfilePartition::Categorical(CategoricalPartition::build(
            rows.iter()
                .map(|r| Ok((idx(r)?, r.try_get::<String, _>(1)?)))
                .collect::<sqlx::Result<_>>()?,
        )),
        DataType::Number => ProfilePartition::Number(OrderedPartition::build(
            rows.iter()
                .map(|r| Ok((idx(r)?, r.try_get::<f64, _>(1)?)))
                .collect::<sqlx::Result<_>>()?,
            true,
        )),
        DataType::Datetime => ProfilePartition::Time(OrderedPartition::build(
            rows.iter()
                .map(|r| Ok((idx(r)?, r.try_get::<i64, _>(1)?)))
                .collect::<sqlx::Result<_>>()?,
            false,
        )),
    })
}

/// A behavior's day from its rows (`entity_idx`, `count`, attributes…), on either backend.
fn day_block<R: Row>(types: &[DataType], rows: &[R]) -> sqlx::Result<DayBlock>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut block_rows = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::with_capacity(types.len());
        for (a, data_type) in types.iter().enumerate() {
            values.push(match data_type {
                DataType::Number => row
                    .try_get::<Option<f64>, _>(2 + a)?
                    .map_or(AttrValue::Missing, AttrValue::Number),
                _ => row
                    .try_get::<Option<String>, _>(2 + a)?
                    .map_or(AttrValue::Missing, AttrValue::Text),
            });
        }
        let count = u32::try_from(row.try_get::<i64, _>(1)?)
            .map_err(|_| sqlx::Error::Decode("an event count is out of range".into()))?;
        block_rows.push((ordinal(row.try_get::<i64, _>(0)?)?, count, values));
    }
    Ok(DayBlock::build(block_rows, types))
}

/// The previous index, if it holds `tag`'s partition of `date` from the same import.
fn unchanged<'p>(
    previous: Option<&'p LoadedIndex>,
    tag: &str,
    date: NaiveDate,
    version: i64,
) -> Option<&'p LoadedIndex> {
    previous.filter(|p| p.versions.get(&(tag.to_string(), date)) == Some(&version))
}

/// The stored snapshots of `tag` a load will read: those of the same
/// import as their partition, where `wanted` (not kept from memory).
fn usable(
    stored: HashMap<NaiveDate, (i64, Vec<u8>)>,
    tag: &str,
    versions: &HashMap<(String, NaiveDate), i64>,
    wanted: impl Fn(&NaiveDate) -> bool,
) -> Vec<(NaiveDate, Vec<u8>)> {
    stored
        .into_iter()
        .filter(|(date, (version, _))| {
            versions.get(&(tag.to_string(), *date)) == Some(version) && wanted(date)
        })
        .map(|(date, (_, payload))| (date, payload))
        .collect()
}

/// Whether `previous` holds `tag`'s partition of `date` from the same
/// import, so a load keeps it from memory.
fn kept_in(
    previous: Option<&LoadedIndex>,
    versions: &HashMap<(String, NaiveDate), i64>,
    tag: &str,
    date: NaiveDate,
) -> bool {
    let version = versions.get(&(tag.to_string(), date)).copied().unwrap_or(0);
    unchanged(previous, tag, date, version).is_some_and(|p| {
        p.index
            .profiles
            .get(tag)
            .is_some_and(|i| i.partitions.contains_key(&date))
            || p.index
                .behaviors
                .get(tag)
                .is_some_and(|i| i.days.contains_key(&date))
    })
}

/// Starts decoding snapshots side by side on the engine's threads; an
/// unreadable one is left out, to be rebuilt.
fn start_decoding<T: Send + 'static>(
    stored: Vec<(NaiveDate, Vec<u8>)>,
    decode: fn(&[u8]) -> std::io::Result<T>,
) -> tokio::task::JoinHandle<HashMap<NaiveDate, T>> {
    use rayon::prelude::*;
    tokio::task::spawn_blocking(move || {
        stored
            .into_par_iter()
            .filter_map(|(date, payload)| match decode(&payload) {
                Ok(decoded) => Some((date, decoded)),
                Err(error) => {
                    tracing::warn!(%error, %date, "rebuilding a partition whose snapshot is unreadable");
                    None
                }
            })
            .collect()
    })
}

/// A partition that need not be built: `kept` from the previous index, else
/// its decoded snapshot.
fn prebuilt<T: Clone>(kept: Option<&T>, decoded: Option<T>, stats: &mut LoadStats) -> Option<T> {
    if let Some(kept) = kept {
        stats.reused += 1;
        return Some(kept.clone());
    }
    let decoded = decoded?;
    stats.from_snapshots += 1;
    Some(decoded)
}

/// Stores newly built partitions; a failure only costs a rebuild next time.
async fn store_snapshots(db: &Db, fresh: Vec<(String, NaiveDate, i64, Vec<u8>)>) {
    if fresh.is_empty() {
        return;
    }
    let date_value = date_param(db.backend()).replace("$1", "$2");
    let sql = format!(
        "INSERT INTO tag_index_snapshots (tag, data_date, import_id, payload) VALUES ($1, {date_value}, $3, $4) \
         ON CONFLICT (tag, data_date) DO UPDATE SET import_id = excluded.import_id, payload = excluded.payload"
    );
    let result: anyhow::Result<()> = async {
        with_db!(db, pool => {
            let mut tx = pool.begin().await?;
            for (tag, date, version, payload) in &fresh {
                sqlx::query(&sql)
                    .bind(tag)
                    .bind(date.format("%Y-%m-%d").to_string())
                    .bind(*version)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
    .await;
    if let Err(error) = result {
        tracing::warn!(error = format!("{error:#}"), "storing tag index snapshots failed");
    }
}
