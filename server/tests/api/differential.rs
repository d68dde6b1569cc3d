//! The engine against SQL: random catalogs and data (nulls, ties, boundary
//! values, empty partitions, DST days), imported through the real importer,
//! and random valid rules over every operator and mode. For every rule the
//! engine's member set must equal what the compiled SQL returns on the same
//! database. `DIFF_DATASETS` × `DIFF_RULES` cases per backend (25 × 120 by default).
//! With a Spark cluster the same datasets are imported into Spark too, and
//! the Spark SQL must return the same members and counts
//! (`DIFF_SPARK_DATASETS` × `DIFF_SPARK_RULES`, 3 × 40 by default).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use segment_core::TargetObject;
use segment_core::rule::Rule;
use segment_core::sql::{Dialect, Output, compile};
use segment_core::validate::{Context, validate};
use segment_service::spark::SparkWarehouse;
use segment_service::tags::import::{import_dir, import_dir_with_spark};
use segment_service::tags::index::load_index;
use segment_service::tags::sql_exec::member_indexes;
use serde_json::{Value, json};

use crate::helpers::*;

const ZONES: [&str; 4] = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin"];
const ENUM_VALUES: [&str; 4] = ["a", "b", "c", "d"];
const NUMBERS: [f64; 9] = [-2.0, -0.5, 0.0, 1.0, 1.5, 2.0, 3.0, 10.0, 2.25];
const SCOPES: [&str; 2] = ["merchant:M1", "store:S1"];

fn base_date() -> NaiveDate {
    // The week around the 2024 DST change in New York (March 10).
    NaiveDate::from_ymd_opt(2024, 3, 6).unwrap()
}

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Clone)]
enum Kind {
    Enum(usize),
    Boolean,
    Number,
    Datetime,
    Behavior { enum_attr: bool, number_attr: bool },
}

struct Dataset {
    tags: Vec<(String, Kind, Vec<NaiveDate>)>,
    data_zone: Tz,
    /// Epochs written for datetime tags: boundary values for rules.
    epochs: Vec<i64>,
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn random_dates(rng: &mut StdRng) -> Vec<NaiveDate> {
    let mut dates: Vec<NaiveDate> = (0..7)
        .filter(|_| rng.gen_bool(0.6))
        .map(|d| base_date() + Duration::days(d))
        .collect();
    if dates.is_empty() {
        dates.push(base_date() + Duration::days(rng.gen_range(0..7)));
    }
    dates
}

fn generate_dataset(rng: &mut StdRng, dir: PathBuf) -> Dataset {
    let entities = rng.gen_range(15..50);
    let data_zone: Tz = ZONES.choose(rng).unwrap().parse().unwrap();
    let mut tags = Vec::new();
    for i in 0..rng.gen_range(1..=2) {
        tags.push((
            format!("enum_{i}"),
            Kind::Enum(rng.gen_range(2..=4)),
            random_dates(rng),
        ));
    }
    tags.push(("flag".to_string(), Kind::Boolean, random_dates(rng)));
    for i in 0..rng.gen_range(1..=2) {
        tags.push((format!("num_{i}"), Kind::Number, random_dates(rng)));
    }
    tags.push(("when".to_string(), Kind::Datetime, random_dates(rng)));
    for i in 0..rng.gen_range(1..=2) {
        tags.push((
            format!("act_{i}"),
            Kind::Behavior {
                enum_attr: rng.gen_bool(0.7),
                number_attr: rng.gen_bool(0.5),
            },
            random_dates(rng),
        ));
    }

    let mut catalog = Vec::new();
    for (code, kind, _) in &tags {
        catalog.push(match kind {
            Kind::Enum(n) => json!({"code": code, "name": code, "target_object": "user", "kind": "profile",
                                    "data_type": "enum", "values": ENUM_VALUES[..*n]}),
            Kind::Boolean => json!({"code": code, "name": code, "target_object": "user", "kind": "profile", "data_type": "boolean"}),
            Kind::Number => json!({"code": code, "name": code, "target_object": "user", "kind": "profile", "data_type": "number"}),
            Kind::Datetime => json!({"code": code, "name": code, "target_object": "user", "kind": "profile", "data_type": "datetime"}),
            Kind::Behavior { enum_attr, number_attr } => {
                let mut attributes = Vec::new();
                if *enum_attr {
                    attributes.push(json!({"code": "channel", "name": "channel", "data_type": "enum", "values": ["x", "y", "z"]}));
                }
                if *number_attr {
                    attributes.push(json!({"code": "amount", "name": "amount", "data_type": "number"}));
                }
                json!({"code": code, "name": code, "target_object": "user", "kind": "behavior", "attributes": attributes})
            }
        });
    }
    write(
        &dir.join("catalog.json"),
        &serde_json::to_string_pretty(&json!({"timezone": data_zone.name(), "tags": catalog})).unwrap(),
    );
    let ids: Vec<String> = (0..entities).map(|i| format!("e{i}")).collect();
    // Most of the population is declared; a few IDs appear only in the data.
    let mut population = "entity_id\n".to_string();
    for id in ids.iter().filter(|_| rng.gen_bool(0.9)) {
        writeln!(population, "{id}").unwrap();
    }
    write(&dir.join("entities/user.csv"), &population);

    let mut profile = "entity_id,date,tag,value\n".to_string();
    let mut ready = "tag,date\n".to_string();
    let mut epochs = Vec::new();
    for (code, kind, dates) in &tags {
        for date in dates {
            // Now and then a partition is ready but empty.
            if rng.gen_bool(0.08) {
                writeln!(ready, "{code},{date}").unwrap();
                continue;
            }
            match kind {
                Kind::Behavior {
                    enum_attr,
                    number_attr,
                } => {
                    let path = dir.join(format!("behavior/{code}.csv"));
                    if !path.exists() {
                        let mut header = "entity_id,date,count".to_string();
                        if *enum_attr {
                            header.push_str(",channel");
                        }
                        if *number_attr {
                            header.push_str(",amount");
                        }
                        write(&path, &(header + "\n"));
                    }
                    let mut rows = String::new();
                    for id in &ids {
                        for _ in 0..[0, 0, 1, 1, 2][rng.gen_range(0..5)] {
                            write!(rows, "{id},{date},{}", rng.gen_range(0..5)).unwrap();
                            if *enum_attr {
                                let v = if rng.gen_bool(0.1) {
                                    ""
                                } else {
                                    ["x", "y", "z"].choose(rng).unwrap()
                                };
                                write!(rows, ",{v}").unwrap();
                            }
                            if *number_attr {
                                let v = if rng.gen_bool(0.1) {
                                    String::new()
                                } else {
                                    rng.gen_range(1..=3).to_string()
                                };
                                write!(rows, ",{v}").unwrap();
                            }
                            rows.push('\n');
                        }
                    }
                    let mut text = std::fs::read_to_string(&path).unwrap();
                    text.push_str(&rows);
                    write(&path, &text);
                    writeln!(ready, "{code},{date}").unwrap();
                }
                _ => {
                    for id in &ids {
                        if rng.gen_bool(0.3) {
                            // No value: sometimes no row, sometimes an empty value.
                            if rng.gen_bool(0.5) {
                                writeln!(profile, "{id},{date},{code},").unwrap();
                            }
                            continue;
                        }
                        let value = match kind {
                            Kind::Enum(n) => ENUM_VALUES[rng.gen_range(0..*n)].to_string(),
                            Kind::Boolean => rng.gen_bool(0.5).to_string(),
                            Kind::Number => NUMBERS.choose(rng).unwrap().to_string(),
                            Kind::Datetime => {
                                let day = base_date() + Duration::days(rng.gen_range(-2..9));
                                let hour = [0, 1, 2, 3, 12, 23][rng.gen_range(0..6)];
                                let minute = [0, 30, 59][rng.gen_range(0..3)];
                                let utc =
                                    chrono::Utc.from_utc_datetime(&day.and_hms_opt(hour, minute, 0).unwrap());
                                epochs.push(utc.timestamp());
                                utc.with_timezone(&data_zone)
                                    .format("%Y-%m-%d %H:%M:%S")
                                    .to_string()
                            }
                            Kind::Behavior { .. } => unreachable!(),
                        };
                        writeln!(profile, "{id},{date},{code},{value}").unwrap();
                    }
                }
            }
        }
    }
    write(&dir.join("profile/values.csv"), &profile);
    write(&dir.join("ready.csv"), &ready);
    let mut scopes = "scope,entity_id\n".to_string();
    for id in &ids {
        for scope in SCOPES {
            if rng.gen_bool(0.4) {
                writeln!(scopes, "{scope},{id}").unwrap();
            }
        }
    }
    write(&dir.join("scopes.csv"), &scopes);
    Dataset {
        tags,
        data_zone,
        epochs,
    }
}

fn some_date(rng: &mut StdRng, dates: &[NaiveDate]) -> NaiveDate {
    // Mostly ready dates; now and then any date of the week (then the rule is invalid).
    if rng.gen_bool(0.93) {
        *dates.choose(rng).unwrap()
    } else {
        base_date() + Duration::days(rng.gen_range(-1..8))
    }
}

fn number_value(rng: &mut StdRng) -> Value {
    json!(NUMBERS.choose(rng).unwrap())
}

fn datetime_text(rng: &mut StdRng, data: &Dataset, zone: Tz) -> String {
    if rng.gen_bool(0.3) || data.epochs.is_empty() {
        return (base_date() + Duration::days(rng.gen_range(-2..9))).to_string();
    }
    // A stored instant, shifted by -1, 0 or +1 second: boundaries.
    let epoch = data.epochs.choose(rng).unwrap() + rng.gen_range(-1..=1);
    chrono::Utc
        .timestamp_opt(epoch, 0)
        .unwrap()
        .with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn random_condition(rng: &mut StdRng, data: &Dataset, zone: Tz) -> Value {
    let (code, kind, dates) = data.tags.choose(rng).unwrap();
    if let Kind::Behavior {
        enum_attr,
        number_attr,
    } = kind
    {
        let window = if rng.gen_bool(0.5) {
            let a = some_date(rng, dates);
            let b = a + Duration::days(rng.gen_range(0..4));
            json!({"mode": "fixed", "from": a.to_string(), "to": b.to_string()})
        } else {
            let from = rng.gen_range(-8..=0);
            json!({"mode": "dynamic", "from": from, "to": from + rng.gen_range(0..=3)})
        };
        let mut filters = Vec::new();
        if *enum_attr && rng.gen_bool(0.5) {
            let op = if rng.gen_bool(0.7) { "in" } else { "not_in" };
            let values: Vec<&str> = ["x", "y", "z"]
                .into_iter()
                .filter(|_| rng.gen_bool(0.5))
                .collect();
            let values = if values.is_empty() { vec!["y"] } else { values };
            filters.push(json!({"attr": "channel", "op": op, "values": values}));
        }
        if *number_attr && rng.gen_bool(0.5) {
            let op = ["eq", "ne", "gt", "gte", "lt", "lte", "between"]
                .choose(rng)
                .unwrap();
            filters.push(if *op == "between" {
                json!({"attr": "amount", "op": op, "values": [1, rng.gen_range(1..=3)]})
            } else {
                json!({"attr": "amount", "op": op, "value": rng.gen_range(1..=3)})
            });
        }
        let op = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "gte", "eq"]
            .choose(rng)
            .unwrap();
        let count = if *op == "between" {
            let lo = rng.gen_range(0..4);
            json!({"op": op, "value": [lo, lo + rng.gen_range(0..4)]})
        } else {
            json!({"op": op, "value": rng.gen_range(0..6)})
        };
        return json!({"type": "behavior", "behavior": code, "window": window, "where": filters, "count": count});
    }
    let change = dates.len() >= 2 && rng.gen_bool(0.3);
    let date = if change {
        let mut pair: Vec<NaiveDate> = dates.choose_multiple(rng, 2).copied().collect();
        pair.sort();
        json!({"mode": "change", "from": pair[0].to_string(), "to": pair[1].to_string()})
    } else if rng.gen_bool(0.5) {
        json!({"mode": "latest"})
    } else {
        json!({"mode": "on", "date": some_date(rng, dates).to_string()})
    };
    let mut condition = json!({"type": "profile", "tag": code, "date": date});
    let fields = condition.as_object_mut().unwrap();
    let choose_values = |rng: &mut StdRng, pool: &[&str]| -> Vec<String> {
        let values: Vec<String> = pool
            .iter()
            .filter(|_| rng.gen_bool(0.5))
            .map(|v| v.to_string())
            .collect();
        if values.is_empty() {
            vec![pool[0].to_string()]
        } else {
            values
        }
    };
    match kind {
        Kind::Enum(_) | Kind::Boolean => {
            let pool: &[&str] = match kind {
                Kind::Enum(n) => &ENUM_VALUES[..*n],
                _ => &["true", "false"],
            };
            if change {
                fields.insert("op".into(), json!("changed"));
                fields.insert("from_values".into(), json!(choose_values(rng, pool)));
                fields.insert("to_values".into(), json!(choose_values(rng, pool)));
            } else {
                fields.insert(
                    "op".into(),
                    json!(if rng.gen_bool(0.6) { "in" } else { "not_in" }),
                );
                fields.insert("values".into(), json!(choose_values(rng, pool)));
            }
        }
        Kind::Number => {
            if change {
                let op = ["diff_eq", "diff_gt", "diff_gte", "diff_lt", "diff_lte"]
                    .choose(rng)
                    .unwrap();
                fields.insert("op".into(), json!(op));
                fields.insert(
                    "value".into(),
                    json!([-1.0, 0.0, 0.5, 1.0, 2.0].choose(rng).unwrap()),
                );
            } else {
                let op = ["eq", "ne", "gt", "gte", "lt", "lte", "between"]
                    .choose(rng)
                    .unwrap();
                fields.insert("op".into(), json!(op));
                if *op == "between" {
                    let mut pair = [*NUMBERS.choose(rng).unwrap(), *NUMBERS.choose(rng).unwrap()];
                    pair.sort_by(f64::total_cmp);
                    fields.insert("values".into(), json!(pair));
                } else {
                    fields.insert("value".into(), number_value(rng));
                }
            }
        }
        Kind::Datetime => {
            if change {
                // Datetimes have no change operators: an invalid rule, validated away.
                fields.insert("op".into(), json!("diff_gt"));
                fields.insert("value".into(), json!(0));
            } else {
                let op = ["on", "before", "after", "between", "within_last_days"]
                    .choose(rng)
                    .unwrap();
                fields.insert("op".into(), json!(op));
                match *op {
                    "between" => {
                        let mut pair = [datetime_text(rng, data, zone), datetime_text(rng, data, zone)];
                        pair.sort();
                        fields.insert("values".into(), json!(pair));
                    }
                    "within_last_days" => {
                        fields.insert("value".into(), json!(rng.gen_range(1..6)));
                    }
                    "on" => {
                        let text = datetime_text(rng, data, zone);
                        fields.insert("value".into(), json!(text[..10]));
                    }
                    _ => {
                        fields.insert("value".into(), json!(datetime_text(rng, data, zone)));
                    }
                }
            }
        }
        Kind::Behavior { .. } => unreachable!(),
    }
    condition
}

fn random_rule(rng: &mut StdRng, data: &Dataset, zone: Tz) -> Value {
    let groups: Vec<Value> = (0..rng.gen_range(1..=3))
        .map(|_| {
            let conditions: Vec<Value> = (0..rng.gen_range(1..=3))
                .map(|_| random_condition(rng, data, zone))
                .collect();
            json!({"conditions": conditions})
        })
        .collect();
    json!({"groups": groups})
}

fn dump_dataset(dir: &Path) -> String {
    let mut out = String::new();
    for file in [
        "catalog.json",
        "entities/user.csv",
        "profile/values.csv",
        "ready.csv",
        "scopes.csv",
    ] {
        if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
            writeln!(out, "--- {file}\n{text}").unwrap();
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("behavior")) {
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            writeln!(
                out,
                "--- behavior/{}\n{text}",
                entry.file_name().to_string_lossy()
            )
            .unwrap();
        }
    }
    out
}

/// What the engine's answers are compared with.
#[derive(Debug, Clone, Copy)]
enum Reference {
    /// The compiled SQL on the database the data was imported into.
    Sql(Backend),
    /// The compiled Spark SQL on the Spark cluster at `SPARK_CONNECT_URL`,
    /// the data imported into both SQLite and Spark; every member set is
    /// also checked against SQLite, so the three agree.
    Spark,
}

/// The warehouse a dataset was imported into.
struct Imported {
    db: segment_service::infra::db::Db,
    spark: Option<(SparkWarehouse, String)>,
}

async fn import_for(reference: Reference, dir: &Path, name: &str) -> Result<Imported, String> {
    match reference {
        Reference::Sql(backend) => {
            let db = fresh_database(backend).await;
            import_dir(&db, dir, Box::new(|_| {}))
                .await
                .map_err(|e| format!("{e:?}"))?;
            Ok(Imported { db, spark: None })
        }
        Reference::Spark => {
            let url = std::env::var("SPARK_CONNECT_URL").unwrap();
            let db = fresh_database(Backend::Sqlite).await;
            let database = format!("diff_{name}").replace('-', "_");
            let spark = SparkWarehouse::connect(&url, &database)
                .await
                .map_err(|e| e.to_string())?;
            import_dir_with_spark(&db, dir, Box::new(|_| {}), &spark)
                .await
                .map_err(|e| format!("{e:?}"))?;
            Ok(Imported {
                db,
                spark: Some((spark, database)),
            })
        }
    }
}

/// The members the reference finds for `plan`, or why it failed (with the statement).
async fn reference_members(
    imported: &Imported,
    plan: &segment_core::plan::Plan,
    scopes: Option<&[String]>,
    engine_count: usize,
    check_count: bool,
) -> Result<Vec<u32>, String> {
    let local_sql = compile(plan, imported.db_dialect(), Output::Indexes, scopes);
    let local = member_indexes(&imported.db, &local_sql)
        .await
        .map_err(|e| format!("SQL failed: {e}\n{}", local_sql.display()))?;
    let Some((spark, _)) = &imported.spark else {
        return Ok(local);
    };
    let spark_sql = compile(plan, Dialect::Spark, Output::BucketBitmaps, scopes);
    let members: Vec<u32> = spark
        .members(&spark_sql)
        .await
        .map_err(|e| format!("Spark failed: {e}\n{}", spark_sql.display()))?
        .into_iter()
        .collect();
    if members != local {
        return Err(format!(
            "Spark and SQLite disagree: {} members in Spark, {} in SQLite\nSpark SQL:\n{}",
            members.len(),
            local.len(),
            spark_sql.display()
        ));
    }
    if check_count {
        let count_sql = compile(plan, Dialect::Spark, Output::Count, scopes);
        let count = spark
            .count(&count_sql, std::time::Duration::from_secs(300))
            .await
            .map_err(|e| format!("Spark failed: {e}\n{}", count_sql.display()))?;
        if count != engine_count as u64 {
            return Err(format!(
                "Spark counts {count} members, the engine {engine_count}\nSpark SQL:\n{}",
                count_sql.display()
            ));
        }
    }
    Ok(members)
}

impl Imported {
    fn db_dialect(&self) -> Dialect {
        match self.db {
            segment_service::infra::db::Db::Sqlite(_) => Dialect::Sqlite,
            segment_service::infra::db::Db::Postgres(_) => Dialect::Postgres,
        }
    }

    async fn close(self) {
        if let Some((spark, database)) = &self.spark {
            spark.drop_database(database).await.unwrap();
        }
        self.db.close().await;
    }
}

async fn engine_agrees_with(reference: Reference) {
    let (datasets, rules_per_dataset) = match reference {
        Reference::Sql(_) => (env_count("DIFF_DATASETS", 25), env_count("DIFF_RULES", 120)),
        // Each Spark statement takes a few hundred milliseconds.
        Reference::Spark => (
            env_count("DIFF_SPARK_DATASETS", 3),
            env_count("DIFF_SPARK_RULES", 40),
        ),
    };
    let seed: u64 = std::env::var("DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_241_106);
    let (mut compared, mut non_trivial, mut zero_count_rules) = (0usize, 0usize, 0usize);
    let mut explained_conditions = 0usize;
    for d in 0..datasets {
        let dataset_seed = seed.wrapping_add(d as u64);
        let mut rng = StdRng::seed_from_u64(dataset_seed);
        let dir = std::env::temp_dir().join("segment-targeting-tests").join(format!(
            "diff-{}-{dataset_seed}-{}",
            std::process::id(),
            reference_name(reference)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let data = generate_dataset(&mut rng, dir.clone());
        let name = format!("{}_{dataset_seed}", std::process::id());
        let imported = import_for(reference, &dir, &name).await.unwrap_or_else(|e| {
            panic!(
                "dataset {dataset_seed} did not import: {e}\n{}",
                dump_dataset(&dir)
            )
        });
        let loaded = load_index(&imported.db, None).await.unwrap();
        let population = loaded.index.population(TargetObject::User).len();
        for r in 0..rules_per_dataset {
            let zone: Tz = ZONES.choose(&mut rng).unwrap().parse().unwrap();
            let as_of = base_date() + Duration::days(rng.gen_range(-1..9));
            let rule_json = random_rule(&mut rng, &data, zone);
            let rule: Rule = serde_json::from_value(rule_json.clone()).unwrap();
            let Ok(plan) = validate(
                &rule,
                &Context {
                    catalog: &loaded.catalog,
                    target: TargetObject::User,
                    time_zone: zone,
                    as_of,
                },
            ) else {
                continue;
            };
            let scopes: Option<Vec<String>> = match rng.gen_range(0..4) {
                0 => Some(vec![SCOPES[0].to_string()]),
                1 => Some(SCOPES.iter().map(|s| s.to_string()).collect()),
                _ => None,
            };
            let engine: Vec<u32> = loaded
                .index
                .evaluate(&plan, scopes.as_deref())
                .unwrap()
                .into_iter()
                .collect();
            let from_sql = reference_members(&imported, &plan, scopes.as_deref(), engine.len(), r % 4 == 0)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "{reference:?} (dataset seed {dataset_seed}, rule {r}): {e}\nrule: {}",
                        serde_json::to_string_pretty(&rule_json).unwrap()
                    )
                });
            if engine != from_sql {
                let engine_set: BTreeSet<u32> = engine.iter().copied().collect();
                let sql_set: BTreeSet<u32> = from_sql.iter().copied().collect();
                panic!(
                    "engine and {reference:?} disagree (dataset seed {dataset_seed}, rule {r}, zone {zone}, as_of {as_of}, scopes {scopes:?}, data zone {})\n\
                     only in engine: {:?}\nonly in SQL: {:?}\nrule: {}\nplan: {plan:#?}\nSQL:\n{}\ndataset in {}:\n{}",
                    data.data_zone,
                    engine_set.difference(&sql_set).collect::<Vec<_>>(),
                    sql_set.difference(&engine_set).collect::<Vec<_>>(),
                    serde_json::to_string_pretty(&rule_json).unwrap(),
                    compile(&plan, imported.db_dialect(), Output::Indexes, scopes.as_deref()).display(),
                    dir.display(),
                    dump_dataset(&dir)
                );
            }
            if let Some((spark, _)) = &imported.spark
                && r % 4 == 0
            {
                // Verification in Spark mode: a few members and non-members,
                // each condition explained by Spark as by the engine.
                let population: Vec<u32> = loaded.index.population(TargetObject::User).iter().collect();
                let mut asked: Vec<u32> = engine.iter().take(3).copied().collect();
                asked.extend(population.choose_multiple(&mut rng, 4).copied());
                asked.sort_unstable();
                asked.dedup();
                for condition in plan.groups.iter().flatten() {
                    let by_engine = loaded.index.explain(condition, &asked).unwrap();
                    let by_spark = spark.explain(&plan, condition, &asked).await.unwrap_or_else(|e| {
                        panic!("Spark could not explain {condition:?} (dataset seed {dataset_seed}, rule {r}): {e}")
                    });
                    assert_eq!(
                        by_spark, by_engine,
                        "Spark explains {condition:?} for {asked:?} otherwise than the engine (dataset seed {dataset_seed}, rule {r})"
                    );
                    explained_conditions += 1;
                }
            }
            compared += 1;
            if !engine.is_empty() && (engine.len() as u64) < population {
                non_trivial += 1;
            }
            if plan
                .groups
                .iter()
                .flatten()
                .any(|c| matches!(c, segment_core::plan::PlanCondition::Behavior(b) if b.zero_matches()))
            {
                zero_count_rules += 1;
            }
        }
        imported.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
    let total = datasets * rules_per_dataset;
    eprintln!(
        "{reference:?}: {compared} of {total} random rules were valid and agreed; {non_trivial} selected some but not all entities; {zero_count_rules} counted zero events; {explained_conditions} conditions explained alike"
    );
    assert!(
        !matches!(reference, Reference::Spark) || explained_conditions * 4 >= compared,
        "only {explained_conditions} conditions were explained on Spark"
    );
    // The generator must keep producing meaningful cases, or this test proves nothing.
    assert!(
        compared * 10 >= total * 6,
        "only {compared} of {total} random rules were valid"
    );
    assert!(
        non_trivial * 10 >= compared * 3,
        "only {non_trivial} of {compared} rules were non-trivial"
    );
    assert!(
        zero_count_rules * 20 >= compared,
        "only {zero_count_rules} rules matched zero counts"
    );
}

fn reference_name(reference: Reference) -> &'static str {
    match reference {
        Reference::Sql(Backend::Sqlite) => "sqlite",
        Reference::Sql(Backend::Postgres) => "postgres",
        Reference::Spark => "spark",
    }
}

mod engine_agrees_with_sql {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        engine_agrees_with(Reference::Sql(Backend::Sqlite)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if std::env::var("TEST_POSTGRES_URL").is_err() {
            assert!(
                std::env::var("REQUIRE_POSTGRES").is_err(),
                "REQUIRE_POSTGRES is set but TEST_POSTGRES_URL is not"
            );
            return;
        }
        engine_agrees_with(Reference::Sql(Backend::Postgres)).await;
    }

    /// Runs with a Spark cluster (`scripts/with-spark`); `REQUIRE_SPARK`
    /// makes its absence a failure.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spark() {
        if std::env::var("SPARK_CONNECT_URL").is_err() {
            assert!(
                std::env::var("REQUIRE_SPARK").is_err(),
                "REQUIRE_SPARK is set but SPARK_CONNECT_URL is not"
            );
            return;
        }
        engine_agrees_with(Reference::Spark).await;
    }
}
