//! The entity dictionaries (external ID ↔ dense member index, one per target
//! object) held in memory: loaded at start from their stored chunks, extended
//! from the entities table after each import, and read by uploads, exports,
//! lookups and verification without a database round trip per ID.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use segment_core::TargetObject;
use segment_core::dictionary::EntityDictionary;

use crate::infra::db::Db;
use crate::infra::ordinal;
use crate::tags::store;
use crate::with_db;
use segment_contract::error::AppResult;

/// Entities per stored chunk: a start reads ten blobs for 10M entities, and
/// an import that adds a few rewrites only the last one.
const CHUNK: u32 = 1 << 20;

/// The dictionaries as of one import.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The newest import they include (`None`: not loaded yet).
    pub import_id: Option<i64>,
    targets: HashMap<TargetObject, Arc<EntityDictionary>>,
    /// Entities of each target covered by stored chunks.
    stored: HashMap<TargetObject, u32>,
}

impl Loaded {
    /// The dictionary of `target` (empty when it has no entities).
    pub fn of(&self, target: TargetObject) -> Arc<EntityDictionary> {
        self.targets.get(&target).cloned().unwrap_or_default()
    }

    /// Bytes held by every dictionary.
    pub fn approximate_bytes(&self) -> usize {
        self.targets.values().map(|d| d.approximate_bytes()).sum()
    }
}

/// The server's dictionaries, shared by every request.
#[derive(Debug, Clone, Default)]
pub struct Dictionaries {
    current: Arc<RwLock<Arc<Loaded>>>,
    /// One load at a time: requests that find them stale wait for it.
    loading: Arc<tokio::sync::Mutex<()>>,
}

impl Dictionaries {
    /// The dictionaries as loaded, without asking the database.
    pub fn current(&self) -> Arc<Loaded> {
        self.current.read().expect("dictionary lock").clone()
    }

    /// The dictionaries, brought up to the newest import first if they are
    /// behind it (one cheap query when they are not).
    pub async fn fresh(&self, db: &Db) -> AppResult<Arc<Loaded>> {
        let current = self.current();
        if current.import_id.is_some() && current.import_id == Some(store::latest_import(db).await?) {
            return Ok(current);
        }
        Ok(self.refresh(db).await?)
    }

    /// The member index of one external ID: from memory, asking the
    /// database only when the ID is not there (it may be newer than the
    /// dictionaries).
    pub async fn index_of(&self, db: &Db, target: TargetObject, id: &str) -> AppResult<Option<u32>> {
        let current = self.current();
        if let Some(idx) = current.of(target).index_of(id) {
            return Ok(Some(idx));
        }
        Ok(self.fresh(db).await?.of(target).index_of(id))
    }

    /// Member indexes of the given external IDs (absent: not in the population).
    pub async fn indexes(
        &self,
        db: &Db,
        target: TargetObject,
        ids: &[String],
    ) -> AppResult<HashMap<String, u32>> {
        let dictionary = self.fresh(db).await?.of(target);
        Ok(ids
            .iter()
            .filter_map(|id| Some((id.clone(), dictionary.index_of(id)?)))
            .collect())
    }

    /// Loads what the newest import added; answers the dictionaries.
    pub async fn refresh(&self, db: &Db) -> anyhow::Result<Arc<Loaded>> {
        let _one_load = self.loading.lock().await;
        let previous = self.current();
        let latest = store::latest_import(db).await?;
        if previous.import_id == Some(latest) {
            return Ok(previous);
        }
        let started = Instant::now();
        let mut loaded = read(db, &previous).await?;
        store_chunks(db, &mut loaded).await;
        tracing::info!(
            import_id = loaded.import_id,
            entities = loaded.targets.values().map(|d| u64::from(d.len())).sum::<u64>(),
            bytes = loaded.approximate_bytes(),
            ms = crate::infra::millis(started.elapsed()),
            "entity dictionaries loaded"
        );
        let loaded = Arc::new(loaded);
        *self.current.write().expect("dictionary lock") = loaded.clone();
        Ok(loaded)
    }

    /// Keeps the dictionaries fresh: checks for new imports every `every`.
    pub async fn keep_fresh(self, db: Db, every: Duration, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            if let Err(error) = self.refresh(&db).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "loading the entity dictionaries failed"
                );
            }
            if !crate::background::pause(&shutdown, every).await {
                return;
            }
        }
    }
}

/// `previous` extended, in one consistent read, by the stored chunks it
/// lacks (a first load) and then by the entities rows past them.
async fn read(db: &Db, previous: &Loaded) -> anyhow::Result<Loaded> {
    let mut loaded = Loaded {
        import_id: None,
        targets: previous.targets.clone(),
        stored: previous.stored.clone(),
    };
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let import_id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM tag_imports")
            .fetch_one(&mut *tx)
            .await?;
        for target in TargetObject::ALL {
            let dictionary = Arc::make_mut(loaded.targets.entry(target).or_default());
            if dictionary.is_empty() {
                let (ids, bytes): (Option<i64>, Option<i64>) = sqlx::query_as(
                    "SELECT CAST(SUM(entities) AS BIGINT), CAST(SUM(LENGTH(payload)) AS BIGINT) FROM entity_dictionary_chunks WHERE target_object = $1",
                )
                .bind(target.as_str())
                .fetch_one(&mut *tx)
                .await?;
                let size = |n: Option<i64>| usize::try_from(n.unwrap_or(0)).unwrap_or(0);
                dictionary.reserve(size(ids), size(bytes));
                let mut chunks = sqlx::query_as::<_, (i64, Vec<u8>)>(
                    "SELECT first_idx, payload FROM entity_dictionary_chunks WHERE target_object = $1 ORDER BY first_idx",
                )
                .bind(target.as_str())
                .fetch(&mut *tx);
                while let Some((first, payload)) = chunks.try_next().await? {
                    // A gap (a chunk whose store failed) ends what chunks
                    // can give; the rows give the rest.
                    if first != i64::from(dictionary.len()) {
                        break;
                    }
                    dictionary.extend_from_lines(&payload)?;
                }
                loaded.stored.insert(target, dictionary.len());
            }
            let (more,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM entities WHERE target_object = $1 AND idx >= $2")
                    .bind(target.as_str())
                    .bind(i64::from(dictionary.len()))
                    .fetch_one(&mut *tx)
                    .await?;
            dictionary.reserve(usize::try_from(more).unwrap_or(0), 0);
            let mut rows = sqlx::query_as::<_, (i64, String)>(
                "SELECT CAST(idx AS BIGINT), entity_id FROM entities WHERE target_object = $1 AND idx >= $2 ORDER BY idx",
            )
            .bind(target.as_str())
            .bind(i64::from(dictionary.len()))
            .fetch(&mut *tx);
            while let Some((idx, id)) = rows.try_next().await? {
                let expected = dictionary.len();
                anyhow::ensure!(
                    ordinal(idx)? == expected,
                    "{target} entities are not numbered densely: index {idx} follows {expected} others"
                );
                dictionary.push(&id)?;
            }
        }
        tx.commit().await?;
        loaded.import_id = Some(import_id.unwrap_or(0));
    });
    Ok(loaded)
}

/// Stores the chunks the entities added since the last store fall in; a
/// failure only costs reading those rows again at the next start.
async fn store_chunks(db: &Db, loaded: &mut Loaded) {
    for (target, dictionary) in &loaded.targets {
        let stored = loaded.stored.get(target).copied().unwrap_or(0);
        if stored == dictionary.len() {
            continue;
        }
        let result: anyhow::Result<()> = async {
            with_db!(db, pool => {
                let mut tx = pool.begin().await?;
                let mut first = stored - stored % CHUNK;
                while first < dictionary.len() {
                    let payload = dictionary.chunk(first, CHUNK);
                    sqlx::query(
                        "INSERT INTO entity_dictionary_chunks (target_object, first_idx, entities, payload) VALUES ($1, $2, $3, $4)
                         ON CONFLICT (target_object, first_idx) DO UPDATE SET entities = excluded.entities, payload = excluded.payload",
                    )
                    .bind(target.as_str())
                    .bind(i64::from(first))
                    .bind(i64::from(CHUNK.min(dictionary.len() - first)))
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
                    first += CHUNK;
                }
                tx.commit().await?;
            });
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                loaded.stored.insert(*target, dictionary.len());
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), %target, "storing entity dictionary chunks failed");
            }
        }
    }
}
