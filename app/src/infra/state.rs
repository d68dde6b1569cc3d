use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use super::db::Db;
use crate::auth::ssr::LoginLimiter;
use crate::segments::ssr::records::{EntityCache, ServingCache, SnapshotCache};
use crate::tags::ssr::index::TagIndexHandle;

/// Everything a request handler or server function needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub login_limiter: Arc<LoginLimiter>,
    /// The engine's tag index, refreshed after each import.
    pub tag_index: TagIndexHandle,
    /// Segment snapshots read by membership lookups.
    pub snapshots: SnapshotCache,
    /// Segments as membership lookups read them.
    pub serving: ServingCache,
    /// External IDs as membership lookups resolve them.
    pub entities: EntityCache,
    /// The read-only warehouse of warehouse-table segments (`WAREHOUSE_URL`).
    pub warehouse: Option<crate::warehouse::ssr::Warehouse>,
    /// The largest ID list an upload may send (`UPLOAD_MAX_MB`, default 512).
    pub upload_max_bytes: u64,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
}

impl AppState {
    pub fn new(leptos_options: LeptosOptions, db: Db) -> Self {
        Self {
            leptos_options,
            db,
            login_limiter: Arc::new(LoginLimiter::default()),
            tag_index: TagIndexHandle::default(),
            snapshots: SnapshotCache::default(),
            serving: ServingCache::default(),
            entities: EntityCache::default(),
            warehouse: None,
            upload_max_bytes: 512 << 20,
            secure_cookies: false,
        }
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
