//! The benchmark's dataset, in the import format: ~40 user tags (enums,
//! booleans, numbers, datetimes; a few with two partitions for change
//! rules) and two behaviors with 30 daily partitions. Deterministic for the
//! same size, days and seed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::demo_data::{CARD_BINS, INDUSTRIES, PAGES};

pub const ENUMS: usize = 12;
pub const BOOLEANS: usize = 8;
pub const NUMBERS: usize = 12;
pub const DATETIMES: usize = 6;
pub const MERCHANTS: u32 = 500;

/// Values of enum tag `i` (4 to 20 of them).
pub fn enum_values(i: usize) -> Vec<String> {
    (1..=4 + (i * 3) % 17).map(|v| format!("v{v:02}")).collect()
}

/// Tags that also have a partition five days before the newest (for change rules).
pub fn has_history(code: &str) -> bool {
    matches!(code, "e01" | "b01" | "n01" | "n02")
}

pub fn user_id(n: u64) -> String {
    format!("u{n:08}")
}

fn write_catalog(out: &Path) -> anyhow::Result<()> {
    let mut tags = Vec::new();
    for i in 1..=ENUMS {
        tags.push(
            json!({"code": format!("e{i:02}"), "name": format!("Enum tag {i}"), "category": "Bench",
            "target_object": "user", "kind": "profile", "data_type": "enum", "values": enum_values(i)}),
        );
    }
    for i in 1..=BOOLEANS {
        tags.push(
            json!({"code": format!("b{i:02}"), "name": format!("Boolean tag {i}"), "category": "Bench",
            "target_object": "user", "kind": "profile", "data_type": "boolean"}),
        );
    }
    for i in 1..=NUMBERS {
        tags.push(
            json!({"code": format!("n{i:02}"), "name": format!("Number tag {i}"), "category": "Bench",
            "target_object": "user", "kind": "profile", "data_type": "number"}),
        );
    }
    for i in 1..=DATETIMES {
        tags.push(
            json!({"code": format!("t{i:02}"), "name": format!("Datetime tag {i}"), "category": "Bench",
            "target_object": "user", "kind": "profile", "data_type": "datetime"}),
        );
    }
    let merchants: Vec<String> = (1..=MERCHANTS).map(|m| format!("M{m:04}")).collect();
    tags.push(json!({"code": "trade", "name": "Trade", "category": "Bench", "target_object": "user", "kind": "behavior",
        "attributes": [
            {"code": "industry_l1", "name": "Industry", "data_type": "enum", "values": INDUSTRIES},
            {"code": "card_bin", "name": "Card BIN", "data_type": "number"},
            {"code": "merchant_id", "name": "Merchant", "data_type": "enum", "values": merchants}
        ]}));
    tags.push(json!({"code": "page_view", "name": "Page view", "category": "Bench", "target_object": "user",
        "kind": "behavior", "attributes": [{"code": "page", "name": "Page", "data_type": "enum", "values": PAGES}]}));
    let catalog = json!({"timezone": "Asia/Shanghai", "tags": tags});
    std::fs::write(out.join("catalog.json"), serde_json::to_string_pretty(&catalog)?)?;
    Ok(())
}

fn create(path: &Path, header: &str) -> anyhow::Result<BufWriter<File>> {
    std::fs::create_dir_all(path.parent().expect("has a parent"))?;
    let mut file = BufWriter::with_capacity(
        1 << 20,
        File::create(path).with_context(|| path.display().to_string())?,
    );
    writeln!(file, "{header}")?;
    Ok(file)
}

/// Writes the dataset; answers the number of rows written.
pub fn generate(out: &Path, users: u64, days: u32, seed: u64, end: NaiveDate) -> anyhow::Result<u64> {
    std::fs::create_dir_all(out)?;
    write_catalog(out)?;
    let mut rows = 0u64;
    let mut population = create(&out.join("entities/user.csv"), "entity_id")?;
    for n in 0..users {
        writeln!(population, "{}", user_id(n))?;
    }
    population.flush()?;
    rows += users;

    let history = end - Duration::days(5);
    let epoch_end = end.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp();
    let profile_tags: Vec<(String, char, usize)> = (1..=ENUMS)
        .map(|i| (format!("e{i:02}"), 'e', i))
        .chain((1..=BOOLEANS).map(|i| (format!("b{i:02}"), 'b', i)))
        .chain((1..=NUMBERS).map(|i| (format!("n{i:02}"), 'n', i)))
        .chain((1..=DATETIMES).map(|i| (format!("t{i:02}"), 't', i)))
        .collect();
    for (t, (code, kind, i)) in profile_tags.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(seed ^ (t as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut file = create(
            &out.join(format!("profile/{code}.csv")),
            "entity_id,date,tag,value",
        )?;
        let coverage = 0.6 + 0.3 * ((t * 7) % 10) as f64 / 10.0;
        let values = enum_values(*i);
        let dates: Vec<NaiveDate> = if has_history(code) {
            vec![history, end]
        } else {
            vec![end]
        };
        for date in &dates {
            for n in 0..users {
                if !rng.gen_bool(coverage) {
                    continue;
                }
                let id = user_id(n);
                match kind {
                    'e' => {
                        // Skewed: low values are common.
                        let k = ((rng.gen_range(0.0f64..1.0).powi(2)) * values.len() as f64) as usize;
                        writeln!(file, "{id},{date},{code},{}", values[k.min(values.len() - 1)])?;
                    }
                    'b' => writeln!(file, "{id},{date},{code},{}", rng.gen_bool(0.3))?,
                    'n' => {
                        let x: f64 = rng.gen_range(0.0f64..1.0).powi(3) * 1000.0 * (*i as f64);
                        if i % 2 == 0 {
                            writeln!(file, "{id},{date},{code},{}", x.round() as i64)?;
                        } else {
                            writeln!(file, "{id},{date},{code},{x:.2}")?;
                        }
                    }
                    _ => {
                        let epoch = epoch_end - rng.gen_range(0..3 * 365 * 86_400);
                        let local = chrono::DateTime::from_timestamp(epoch + 8 * 3600, 0)
                            .expect("in range")
                            .naive_utc();
                        writeln!(file, "{id},{date},{code},{}", local.format("%Y-%m-%d %H:%M:%S"))?;
                    }
                }
                rows += 1;
            }
        }
        file.flush()?;
    }

    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(77));
    let mut trade = create(
        &out.join("behavior/trade.csv"),
        "entity_id,date,count,industry_l1,card_bin,merchant_id",
    )?;
    let mut page_view = create(&out.join("behavior/page_view.csv"), "entity_id,date,count,page")?;
    for back in (0..days).rev() {
        let date = end - Duration::days(back as i64);
        // Users are visited in ascending order; gaps are geometric, so each
        // day touches ~4% (trade) and ~10% (page views) of them.
        let mut n = rng.gen_range(0..25u64);
        while n < users {
            let id = user_id(n);
            for _ in 0..1 + usize::from(rng.gen_bool(0.3)) {
                let industry = INDUSTRIES[((rng.gen_range(0.0f64..1.0).powi(2)) * 7.0) as usize];
                let bin = CARD_BINS[rng.gen_range(0..CARD_BINS.len())];
                let bin = if rng.gen_bool(0.1) {
                    String::new()
                } else {
                    bin.to_string()
                };
                let merchant = 1 + ((rng.gen_range(0.0f64..1.0).powi(3)) * MERCHANTS as f64) as u32;
                let count = 1 + rng.gen_range(0..3);
                writeln!(
                    trade,
                    "{id},{date},{count},{industry},{bin},M{:04}",
                    merchant.min(MERCHANTS)
                )?;
                rows += 1;
            }
            n += 1 + rng.gen_range(0..48u64);
        }
        let mut n = rng.gen_range(0..10u64);
        while n < users {
            let id = user_id(n);
            for _ in 0..1 + usize::from(rng.gen_bool(0.4)) {
                let page = PAGES[rng.gen_range(0..PAGES.len())];
                writeln!(page_view, "{id},{date},{},{page}", 1 + rng.gen_range(0..5))?;
                rows += 1;
            }
            n += 1 + rng.gen_range(0..18u64);
        }
    }
    trade.flush()?;
    page_view.flush()?;

    // Two merchants' audiences: every 3rd and every 7th user.
    let mut scopes = create(&out.join("scopes.csv"), "scope,entity_id")?;
    for n in (0..users).step_by(3) {
        writeln!(scopes, "merchant:M0001,{}", user_id(n))?;
        rows += 1;
    }
    for n in (0..users).step_by(7) {
        writeln!(scopes, "merchant:M0002,{}", user_id(n))?;
        rows += 1;
    }
    scopes.flush()?;
    Ok(rows)
}
