use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{LoginLimiter, TokenCache};
use crate::entities::Dictionaries;
use crate::infra::db::Db;
use crate::infra::engine_pool::EnginePool;
use crate::infra::limits::Slots;
use crate::segments::records::{ServingCache, SnapshotCache};
use crate::tags::index::TagIndexHandle;

/// Everything a request handler or server function needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub login_limiter: Arc<LoginLimiter>,
    /// Bearer tokens resolved in the last few seconds.
    pub tokens: TokenCache,
    /// The engine's tag index, refreshed after each import.
    pub tag_index: TagIndexHandle,
    /// Where evaluations run: off the async runtime, fair between principals.
    pub engine: EnginePool,
    /// How long an estimate or a verification may take (`ESTIMATE_DEADLINE_MS`).
    pub estimate_deadline: Duration,
    /// Segment snapshots read by membership lookups.
    pub snapshots: SnapshotCache,
    /// Segments as membership lookups read them.
    pub serving: ServingCache,
    /// External ID ↔ member index of every target object, in memory.
    pub dictionaries: Dictionaries,
    /// The read-only warehouse of warehouse-table segments (`WAREHOUSE_URL`).
    pub warehouse: Option<crate::warehouse::Warehouse>,
    /// The tag warehouse in Spark (`SPARK_CONNECT_URL`): estimates and
    /// tag-filter materializations run there instead of on the engine.
    pub spark: Option<crate::spark::SparkWarehouse>,
    /// The largest ID list an upload may send (`UPLOAD_MAX_MB`, default 512).
    pub upload_max_bytes: u64,
    /// Uploads in progress, per principal and in all.
    pub uploads: Slots,
    /// Exports one principal may have queued or running.
    pub exports_per_principal: i64,
    /// Wakes the exporter when an export is queued.
    pub export_queued: Arc<tokio::sync::Notify>,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`TRUSTED_PROXY`).
    pub trusted_proxies: Vec<IpAddr>,
}

impl AppState {
    pub fn new(db: Db) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            db,
            login_limiter: Arc::new(LoginLimiter::default()),
            tokens: TokenCache::default(),
            tag_index: TagIndexHandle::default(),
            engine: EnginePool::new(cores, 4),
            estimate_deadline: Duration::from_secs(10),
            snapshots: SnapshotCache::default(),
            serving: ServingCache::default(),
            dictionaries: Dictionaries::default(),
            warehouse: None,
            spark: None,
            upload_max_bytes: 512 << 20,
            uploads: Slots::new("uploads", 2, 4),
            exports_per_principal: 5,
            export_queued: Arc::default(),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
        }
    }
}
