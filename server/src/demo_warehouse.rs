//! The demo warehouse `serve --demo` connects when `WAREHOUSE_URL` is unset:
//! a SQLite file with a few tables of the demo population, as an analytics
//! team would leave them — some IDs unknown to the population, some empty.
//! The same arguments always write the same file.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

use crate::demo_data::{MERCHANTS, STORES_PER_MERCHANT, merchant_id, store_id, user_id};

const CAMPAIGNS: [&str; 3] = ["spring_sale", "cross_border_week", "new_card_bonus"];
const LEAD_SOURCES: [&str; 3] = ["referral", "trade_show", "web_form"];

/// Writes the warehouse to `path` (through a temporary file, so a
/// half-written warehouse is never left behind).
pub async fn create(path: &Path, users: u32, seed: u64) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let options =
        SqliteConnectOptions::from_str(&format!("sqlite://{}", partial.display()))?.create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let mut tx = conn.begin().await?;
    for ddl in [
        "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, user_id TEXT, merchant_id TEXT NOT NULL, \
         amount REAL NOT NULL, paid_at TEXT NOT NULL)",
        "CREATE TABLE campaign_responders (user_id TEXT NOT NULL, campaign TEXT NOT NULL, responded_at TEXT NOT NULL)",
        "CREATE TABLE store_visits (store_id TEXT NOT NULL, visit_date TEXT NOT NULL, visitors INTEGER NOT NULL)",
        "CREATE TABLE merchant_leads (merchant_id TEXT NOT NULL, source TEXT NOT NULL, score REAL NOT NULL)",
    ] {
        sqlx::query(ddl).execute(&mut *tx).await?;
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5741_5245);
    // A fifth of the users ordered last month, some of them several times;
    // a few orders carry IDs of closed accounts or none at all.
    let buyers = (users / 5).max(1);
    for order in 1..=users / 2 {
        let user = match rng.gen_range(0..100) {
            0 => Some(format!("U9{:07}", rng.gen_range(0..1_000))),
            1 => None,
            _ => Some(user_id(1 + rng.gen_range(0..buyers) * 5 % users)),
        };
        let day = rng.gen_range(1..=30);
        sqlx::query("INSERT INTO orders VALUES ($1, $2, $3, $4, $5)")
            .bind(order as i64)
            .bind(user)
            .bind(merchant_id(rng.gen_range(1..=MERCHANTS)))
            .bind((rng.gen_range(5.0..500.0f64) * 100.0).round() / 100.0)
            .bind(format!(
                "2026-10-{day:02} {:02}:{:02}:00",
                rng.gen_range(0..24),
                rng.gen_range(0..60)
            ))
            .execute(&mut *tx)
            .await?;
    }
    for n in 1..=users {
        if rng.gen_bool(0.04) {
            sqlx::query("INSERT INTO campaign_responders VALUES ($1, $2, $3)")
                .bind(user_id(n))
                .bind(CAMPAIGNS[rng.gen_range(0..CAMPAIGNS.len())])
                .bind(format!("2026-09-{:02}", rng.gen_range(1..=30)))
                .execute(&mut *tx)
                .await?;
        }
    }
    for store in 1..=MERCHANTS * STORES_PER_MERCHANT {
        if rng.gen_bool(0.5) {
            sqlx::query("INSERT INTO store_visits VALUES ($1, $2, $3)")
                .bind(store_id(store))
                .bind("2026-10-31")
                .bind(rng.gen_range(1..400i64))
                .execute(&mut *tx)
                .await?;
        }
    }
    for merchant in 1..=MERCHANTS {
        if rng.gen_bool(0.3) {
            sqlx::query("INSERT INTO merchant_leads VALUES ($1, $2, $3)")
                .bind(merchant_id(merchant))
                .bind(LEAD_SOURCES[rng.gen_range(0..LEAD_SOURCES.len())])
                .bind((rng.gen_range(0.0..1.0f64) * 100.0).round() / 100.0)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    conn.close().await?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
