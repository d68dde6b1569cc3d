//! `server demo-data`: a realistic, deterministic dataset in the import
//! format. The same arguments always write the same files.
//!
//! Users have a hidden activity level and home city that drive their tags
//! and behavior, so that rules find plausible, correlated audiences:
//! `v2_trade_cnt_7d` is the 7-day sum of the `trade` behavior, merchants'
//! audiences are the users who traded with them, and so on.

// Draws from bounded distributions and entity counts far below u32::MAX
// are converted between integer and float types throughout.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub users: u32,
    pub days: u32,
    pub seed: u64,
    /// The newest partition's date.
    pub end_date: NaiveDate,
    /// Plant a hidden persona in this share of the users (see [`plant`]).
    pub persona: Option<f64>,
    /// What the planted persona is like.
    pub persona_shape: PersonaShape,
}

/// The share of users `--persona` plants when given no value.
pub const DEFAULT_PERSONA_SHARE: f64 = 0.02;
/// Where the planted members are listed, beside (not in) the import files.
pub const PERSONA_FILE: &str = "persona.csv";

pub const DEFAULT_USERS: u32 = 100_000;
pub const DEFAULT_DAYS: u32 = 35;
pub const DEFAULT_SEED: u64 = 42;
pub const MERCHANTS: u32 = 200;
pub const STORES_PER_MERCHANT: u32 = 3;

const CITIES: [&str; 8] = [
    "Shenzhen",
    "Guangzhou",
    "Shanghai",
    "Beijing",
    "Hangzhou",
    "Chengdu",
    "Hong Kong",
    "Macau",
];
/// Cities where cross-border ride codes are enabled (the guide's example tag).
const CROSS_BORDER_CITIES: [&str; 5] = ["Shenzhen", "Guangzhou", "Hong Kong", "Macau", "Shanghai"];
pub const INDUSTRIES: [&str; 7] = [
    "Food & Beverages",
    "Retail",
    "Travel",
    "Entertainment",
    "Education",
    "Health",
    "Transport",
];
pub const CARD_BINS: [u32; 5] = [622202, 622848, 621700, 436742, 524047];
pub const PAGES: [&str; 7] = [
    "home", "search", "product", "cart", "checkout", "coupon", "profile",
];
const GENDERS: [&str; 3] = ["female", "male", "unknown"];
const AGE_BANDS: [&str; 5] = ["18-24", "25-34", "35-44", "45-54", "55+"];
const LEVELS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
const CHANNELS: [&str; 3] = ["app", "mini_program", "web"];

/// Yesterday in Asia/Shanghai: the newest complete day of data.
pub fn default_end_date() -> NaiveDate {
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().expect("known zone");
    chrono::Utc::now().with_timezone(&tz).date_naive() - Duration::days(1)
}

pub fn user_id(n: u32) -> String {
    format!("U{n:07}")
}

pub fn merchant_id(n: u32) -> String {
    format!("M{n:04}")
}

pub fn store_id(n: u32) -> String {
    format!("S{n:04}")
}

fn values(list: &[&str]) -> Vec<String> {
    list.iter().map(|v| v.to_string()).collect()
}

fn catalog() -> serde_json::Value {
    let profile =
        |code: &str, name: &str, category: &str, target: &str, data_type: &str, description: &str| {
            json!({"code": code, "name": name, "description": description, "category": category,
               "target_object": target, "kind": "profile", "data_type": data_type})
        };
    let enum_tag =
        |code: &str, name: &str, category: &str, target: &str, vals: Vec<String>, description: &str| {
            json!({"code": code, "name": name, "description": description, "category": category,
               "target_object": target, "kind": "profile", "data_type": "enum", "values": vals})
        };
    let merchants: Vec<String> = (1..=MERCHANTS).map(merchant_id).collect();
    let stores: Vec<String> = (1..=MERCHANTS * STORES_PER_MERCHANT).map(store_id).collect();
    json!({
        "timezone": "Asia/Shanghai",
        "tags": [
            enum_tag("city_cross_border_ride", "Cities enabled for cross-border ride codes", "Travel", "user",
                values(&CROSS_BORDER_CITIES), "The city where the user has the cross-border ride code enabled."),
            profile("v2_is_black_list", "Blacklisted user", "Risk", "user", "boolean",
                "Whether the user is on the risk blacklist."),
            profile("v2_register_gmt_cn", "Registration time (China time)", "Basic", "user", "datetime",
                "When the user registered, in China Standard Time."),
            profile("v2_trade_cnt_7d", "Transactions in the last 7 days", "Trading", "user", "number",
                "Number of payment transactions in the 7 days up to the partition date."),
            enum_tag("gender", "Gender", "Basic", "user", values(&GENDERS), "Self-declared gender."),
            enum_tag("age_band", "Age band", "Basic", "user", values(&AGE_BANDS), "Age band from the verified ID."),
            enum_tag("home_city", "Home city", "Basic", "user", values(&CITIES), "The city the user is most often in."),
            enum_tag("member_level", "Membership level", "Loyalty", "user", values(&LEVELS), "Loyalty programme tier."),
            profile("is_card_bound", "Bank card bound", "Payment", "user", "boolean",
                "Whether the user has bound at least one bank card."),
            profile("wallet_balance", "Wallet balance (CNY)", "Payment", "user", "number",
                "Stored-value wallet balance at the end of the day."),
            profile("last_login_time", "Last login time", "Activity", "user", "datetime",
                "The user's latest login up to the partition date."),
            profile("coupon_redeem_cnt_30d", "Coupons redeemed in 30 days", "Loyalty", "user", "number",
                "Coupons redeemed in the 30 days up to the partition date."),
            enum_tag("preferred_channel", "Preferred channel", "Activity", "user", values(&CHANNELS),
                "The channel the user opens most."),
            profile("risk_score", "Risk score", "Risk", "user", "number", "Fraud risk score from 0 (safe) to 100."),
            {"code": "trade", "name": "Trade", "description": "Payment transactions per day.", "category": "Trading",
             "target_object": "user", "kind": "behavior", "attributes": [
                {"code": "industry_l1", "name": "Industry (level 1)", "data_type": "enum", "values": values(&INDUSTRIES)},
                {"code": "card_bin", "name": "Card BIN", "data_type": "number"},
                {"code": "merchant_id", "name": "Merchant", "data_type": "enum", "values": merchants, "tenant": "merchant"},
                {"code": "store_id", "name": "Store", "data_type": "enum", "values": stores, "tenant": "store"}
             ]},
            {"code": "page_view", "name": "Page view", "description": "App page views per day.", "category": "Activity",
             "target_object": "user", "kind": "behavior", "attributes": [
                {"code": "page", "name": "Page", "data_type": "enum", "values": values(&PAGES)}
             ]},
            enum_tag("merchant_industry", "Merchant industry", "Merchant", "merchant", values(&INDUSTRIES),
                "The merchant's level-1 industry."),
            enum_tag("merchant_city", "Merchant city", "Merchant", "merchant", values(&CITIES), "Headquarters city."),
            profile("merchant_gmv_30d", "Merchant GMV in 30 days (CNY)", "Merchant", "merchant", "number",
                "Gross merchandise value in the 30 days up to the partition date."),
            profile("merchant_onboard_time", "Merchant onboarding time", "Merchant", "merchant", "datetime",
                "When the merchant signed up."),
            enum_tag("store_city", "Store city", "Store", "store", values(&CITIES), "Where the store is."),
            profile("store_rating", "Store rating", "Store", "store", "number", "Average customer rating, 1 to 5."),
            profile("store_is_open", "Store is open", "Store", "store", "boolean", "Whether the store is trading."),
        ]
    })
}

/// One user's hidden traits, fixed across days.
struct Persona {
    activity: f64,
    city: usize,
    gender: usize,
    age: usize,
    channel: usize,
    card_bound: bool,
    blacklisted: bool,
    registered: i64,
    level: usize,
    favourite_industry: usize,
    favourite_merchant: u32,
    risk: f64,
    balance: f64,
}

struct Writer {
    csv: csv::Writer<BufWriter<File>>,
    rows: u64,
}

impl Writer {
    fn create(path: PathBuf, header: &[&str]) -> anyhow::Result<Writer> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        let mut csv = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, file));
        csv.write_record(header)?;
        Ok(Writer { csv, rows: 0 })
    }

    fn row<I, T>(&mut self, fields: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.csv.write_record(fields)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<u64> {
        self.csv.flush()?;
        Ok(self.rows)
    }
}

fn pick<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen_range(0.0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

fn datetime(epoch: i64) -> String {
    // Written in the catalog's zone (Asia/Shanghai, UTC+8, no DST).
    chrono::DateTime::from_timestamp(epoch + 8 * 3600, 0)
        .expect("in range")
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn day_epoch(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp() - 8 * 3600
}

/// What a planted persona is like: the lookalike benchmark judges its
/// models on several, each led by different kinds of tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PersonaShape {
    /// Lives in Macau, is 18–24, prefers the web channel, is a platinum
    /// member and very active: enum traits first (each 0.85).
    #[default]
    Macau,
    /// A high wallet balance, a low risk score and an account years old:
    /// numbers and a datetime (each 0.8).
    Wealthy,
    /// Registered in the 60 days before the data begins, 25–34, on the
    /// mini program, with a card bound: a datetime and weaker enum traits
    /// (each 0.7).
    Newcomer,
    /// Favours Food & Beverages at one merchant, trades often, has a card
    /// bound: behaviors first (each 0.75).
    Shopper,
}

/// Plants a hidden persona, for the lookalike quality benchmark: `share`
/// of the users, drawn with their own random stream (the rest of the data
/// is unchanged), each of whom has each trait of `shape` with its
/// probability, else is as anyone else (activity shows in their trades,
/// logins, page views and coupons). Answers the planted users' indexes,
/// ascending.
fn plant(personas: &mut [Persona], shape: PersonaShape, share: f64, seed: u64, first: NaiveDate) -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x0070_6572_736f_6e61);
    let mut planted = Vec::new();
    for (u, persona) in personas.iter_mut().enumerate() {
        if !rng.gen_bool(share.clamp(0.0, 1.0)) {
            continue;
        }
        planted.push(u as u32);
        match shape {
            PersonaShape::Macau => {
                let likely = 0.85;
                if rng.gen_bool(likely) {
                    persona.city = 7;
                }
                if rng.gen_bool(likely) {
                    persona.age = 0;
                }
                if rng.gen_bool(likely) {
                    persona.channel = 2;
                }
                if rng.gen_bool(likely) {
                    persona.level = 3;
                }
                if rng.gen_bool(likely) {
                    persona.activity = rng.gen_range(0.7..1.0);
                }
            }
            PersonaShape::Wealthy => {
                let likely = 0.8;
                if rng.gen_bool(likely) {
                    persona.balance = rng.gen_range(2500.0..5000.0);
                }
                if rng.gen_bool(likely) {
                    persona.risk = rng.gen_range(0.0..2.0);
                }
                if rng.gen_bool(likely) {
                    persona.registered =
                        day_epoch(first) - rng.gen_range((4 * 365 * 86_400)..(5 * 365 * 86_400));
                }
            }
            PersonaShape::Newcomer => {
                let likely = 0.7;
                if rng.gen_bool(likely) {
                    persona.registered = day_epoch(first) - rng.gen_range(0..(60 * 86_400));
                }
                if rng.gen_bool(likely) {
                    persona.age = 1;
                }
                if rng.gen_bool(likely) {
                    persona.channel = 1;
                }
                if rng.gen_bool(likely) {
                    persona.card_bound = true;
                }
            }
            PersonaShape::Shopper => {
                let likely = 0.75;
                if rng.gen_bool(likely) {
                    persona.favourite_industry = 0;
                    persona.favourite_merchant = 7;
                }
                if rng.gen_bool(likely) {
                    persona.activity = rng.gen_range(0.6..1.0);
                }
                if rng.gen_bool(likely) {
                    persona.card_bound = true;
                }
            }
        }
    }
    planted
}

/// Writes the dataset into `out`; answers the number of rows per file.
pub fn generate(out: &Path, options: &DemoOptions) -> anyhow::Result<BTreeMap<String, u64>> {
    anyhow::ensure!(options.users >= 10, "--users must be at least 10");
    anyhow::ensure!(
        (8..=400).contains(&options.days),
        "--days must be between 8 and 400"
    );
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut rng = StdRng::seed_from_u64(options.seed);
    let mut counts = BTreeMap::new();
    let days: Vec<NaiveDate> = (0..options.days)
        .rev()
        .map(|back| options.end_date - Duration::days(back as i64))
        .collect();
    let first = days[0];

    std::fs::write(
        out.join("catalog.json"),
        serde_json::to_string_pretty(&catalog())?,
    )?;

    let personas: Vec<Persona> = (0..options.users)
        .map(|_| {
            let activity: f64 = rng.gen_range(0.0f64..1.0).powi(2);
            Persona {
                activity,
                city: pick(&mut rng, &[22.0, 18.0, 20.0, 15.0, 9.0, 8.0, 5.0, 3.0]),
                gender: pick(&mut rng, &[48.0, 47.0, 5.0]),
                age: pick(&mut rng, &[18.0, 34.0, 25.0, 14.0, 9.0]),
                channel: pick(&mut rng, &[70.0, 22.0, 8.0]),
                card_bound: rng.gen_bool(0.55 + 0.4 * activity),
                blacklisted: rng.gen_bool(0.015),
                registered: day_epoch(first) - rng.gen_range(0..(5 * 365 * 86_400)),
                level: pick(
                    &mut rng,
                    &[
                        50.0 - 40.0 * activity,
                        30.0,
                        15.0 + 20.0 * activity,
                        5.0 + 15.0 * activity,
                    ],
                ),
                favourite_industry: pick(&mut rng, &[30.0, 25.0, 10.0, 12.0, 6.0, 7.0, 10.0]),
                favourite_merchant: rng.gen_range(1..=MERCHANTS),
                risk: rng.gen_range(0.0f64..1.0).powi(3) * 100.0,
                balance: (rng.gen_range(0.0f64..1.0).powi(3) * 5000.0 * 100.0).round() / 100.0,
            }
        })
        .collect();

    let mut personas = personas;
    if let Some(share) = options.persona {
        let planted = plant(&mut personas, options.persona_shape, share, options.seed, first);
        let mut writer = Writer::create(out.join(PERSONA_FILE), &["entity_id"])?;
        for u in planted {
            writer.row([user_id(u + 1)])?;
        }
        writer.finish()?;
    }

    // Entities.
    let mut users = Writer::create(out.join("entities/user.csv"), &["entity_id"])?;
    for n in 1..=options.users {
        users.row([user_id(n)])?;
    }
    counts.insert("entities/user.csv".into(), users.finish()?);
    let mut merchants = Writer::create(out.join("entities/merchant.csv"), &["entity_id"])?;
    for n in 1..=MERCHANTS {
        merchants.row([merchant_id(n)])?;
    }
    counts.insert("entities/merchant.csv".into(), merchants.finish()?);
    let mut stores = Writer::create(out.join("entities/store.csv"), &["entity_id"])?;
    for n in 1..=MERCHANTS * STORES_PER_MERCHANT {
        stores.row([store_id(n)])?;
    }
    counts.insert("entities/store.csv".into(), stores.finish()?);

    // Behaviors, remembering trades per user and day for the derived tags and scopes.
    let mut trades_per_day: Vec<Vec<u32>> = vec![vec![0; options.users as usize]; days.len()];
    let mut merchant_customers: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    let mut trade = Writer::create(
        out.join("behavior/trade.csv"),
        &[
            "entity_id",
            "date",
            "count",
            "industry_l1",
            "card_bin",
            "merchant_id",
            "store_id",
        ],
    )?;
    let mut page_view = Writer::create(
        out.join("behavior/page_view.csv"),
        &["entity_id", "date", "count", "page"],
    )?;
    for (d, date) in days.iter().enumerate() {
        let date_text = date.to_string();
        let weekend = matches!(date.format("%u").to_string().as_str(), "6" | "7");
        for (u, persona) in personas.iter().enumerate() {
            let id = user_id(u as u32 + 1);
            let trade_chance = persona.activity * if weekend { 0.45 } else { 0.3 };
            if !persona.blacklisted && rng.gen_bool(trade_chance.min(0.95)) {
                let kinds = 1 + usize::from(rng.gen_bool(0.25));
                for k in 0..kinds {
                    let industry = if k == 0 && rng.gen_bool(0.7) {
                        persona.favourite_industry
                    } else {
                        rng.gen_range(0..INDUSTRIES.len())
                    };
                    let merchant = if rng.gen_bool(0.6) {
                        persona.favourite_merchant
                    } else {
                        rng.gen_range(1..=MERCHANTS)
                    };
                    let count = 1 + pick(&mut rng, &[70.0, 20.0, 7.0, 3.0]) as u32;
                    trades_per_day[d][u] += count;
                    merchant_customers.entry(merchant).or_default().push(u as u32);
                    let card_bin = if persona.card_bound {
                        CARD_BINS[(u + k) % CARD_BINS.len()].to_string()
                    } else {
                        String::new()
                    };
                    // The merchant's store the user is a customer of (as in scopes.csv).
                    let store = (merchant - 1) * STORES_PER_MERCHANT + (u as u32 % STORES_PER_MERCHANT) + 1;
                    trade.row([
                        id.as_str(),
                        &date_text,
                        &count.to_string(),
                        INDUSTRIES[industry],
                        &card_bin,
                        &merchant_id(merchant),
                        &store_id(store),
                    ])?;
                }
            }
            if rng.gen_bool((0.05 + 0.6 * persona.activity).min(0.95)) {
                let pages = 1 + pick(&mut rng, &[50.0, 30.0, 20.0]);
                let first_page = rng.gen_range(0..PAGES.len());
                for p in 0..pages {
                    let count = 1 + pick(&mut rng, &[40.0, 30.0, 20.0, 10.0]) as u32;
                    page_view.row([
                        id.as_str(),
                        &date_text,
                        &count.to_string(),
                        PAGES[(first_page + p * 2) % PAGES.len()],
                    ])?;
                }
            }
        }
    }
    counts.insert("behavior/trade.csv".into(), trade.finish()?);
    counts.insert("behavior/page_view.csv".into(), page_view.finish()?);

    // Profile snapshots: fast-changing tags daily over the last week and
    // weekly before; slow ones weekly; static ones on the first and last day.
    let last = days.len() - 1;
    let daily: Vec<usize> = (0..days.len())
        .filter(|d| last - d < 7 || (last - d).is_multiple_of(7))
        .collect();
    let weekly: Vec<usize> = (0..days.len()).filter(|d| (last - d).is_multiple_of(7)).collect();
    let edges: Vec<usize> = vec![0, last];
    let header = ["entity_id", "date", "tag", "value"];
    let mut profile = |tag: &str,
                       snapshots: &[usize],
                       rng: &mut StdRng,
                       value: &mut dyn FnMut(&mut StdRng, usize, &Persona, usize) -> Option<String>|
     -> anyhow::Result<()> {
        let name = format!("profile/{tag}.csv");
        let mut writer = Writer::create(out.join(&name), &header)?;
        for &d in snapshots {
            let date_text = days[d].to_string();
            for (u, persona) in personas.iter().enumerate() {
                if let Some(v) = value(rng, u, persona, d) {
                    writer.row([user_id(u as u32 + 1).as_str(), &date_text, tag, &v])?;
                }
            }
        }
        counts.insert(name, writer.finish()?);
        Ok(())
    };
    profile(
        "city_cross_border_ride",
        &weekly,
        &mut rng,
        &mut |rng, _, p, _| {
            let city = CITIES[p.city];
            (CROSS_BORDER_CITIES.contains(&city) && p.activity > 0.1 && rng.gen_bool(0.9))
                .then(|| city.to_string())
        },
    )?;
    profile("v2_is_black_list", &daily, &mut rng, &mut |_, _, p, _| {
        Some(p.blacklisted.to_string())
    })?;
    profile("v2_register_gmt_cn", &edges, &mut rng, &mut |_, _, p, _| {
        Some(datetime(p.registered))
    })?;
    profile("v2_trade_cnt_7d", &daily, &mut rng, &mut |_, u, _, d| {
        let sum: u32 = (d.saturating_sub(6)..=d).map(|day| trades_per_day[day][u]).sum();
        Some(sum.to_string())
    })?;
    profile("gender", &edges, &mut rng, &mut |_, _, p, _| {
        Some(GENDERS[p.gender].to_string())
    })?;
    profile("age_band", &edges, &mut rng, &mut |rng, _, p, _| {
        rng.gen_bool(0.92).then(|| AGE_BANDS[p.age].to_string())
    })?;
    profile("home_city", &weekly, &mut rng, &mut |_, _, p, _| {
        Some(CITIES[p.city].to_string())
    })?;
    profile("member_level", &weekly, &mut rng, &mut |rng, _, p, _| {
        let level = if rng.gen_bool(0.03) {
            (p.level + 1).min(3)
        } else {
            p.level
        };
        Some(LEVELS[level].to_string())
    })?;
    profile("is_card_bound", &weekly, &mut rng, &mut |_, _, p, _| {
        Some(p.card_bound.to_string())
    })?;
    profile("wallet_balance", &daily, &mut rng, &mut |rng, _, p, _| {
        let drift: f64 = rng.gen_range(-0.1..0.1);
        Some(format!("{:.2}", (p.balance * (1.0 + drift)).max(0.0)))
    })?;
    profile("last_login_time", &daily, &mut rng, &mut |rng, _, p, d| {
        let days_ago = (rng.gen_range(0.0f64..1.0) * (1.0 - p.activity) * 60.0) as i64;
        let login = day_epoch(days[d]) + 86_399 - days_ago * 86_400 - rng.gen_range(0..86_400);
        (login > p.registered).then(|| datetime(login))
    })?;
    profile("coupon_redeem_cnt_30d", &weekly, &mut rng, &mut |rng, _, p, _| {
        Some(((p.activity * 12.0 * rng.gen_range(0.5..1.5)) as u32).to_string())
    })?;
    profile("preferred_channel", &edges, &mut rng, &mut |_, _, p, _| {
        Some(CHANNELS[p.channel].to_string())
    })?;
    profile("risk_score", &weekly, &mut rng, &mut |rng, _, p, _| {
        let score: f64 =
            (p.risk + if p.blacklisted { 60.0 } else { 0.0 } + rng.gen_range(-3.0..3.0)).clamp(0.0, 100.0);
        Some(format!("{score:.1}"))
    })?;

    // Merchant and store tags.
    let mut writer = Writer::create(out.join("profile/merchants.csv"), &header)?;
    for &d in &weekly {
        let date_text = days[d].to_string();
        for m in 1..=MERCHANTS {
            let id = merchant_id(m);
            let industry = INDUSTRIES[(m as usize * 7 + 3) % INDUSTRIES.len()];
            let city = CITIES[(m as usize * 5) % CITIES.len()];
            let customers = merchant_customers.get(&m).map_or(0, Vec::len) as f64;
            let gmv = (customers * rng.gen_range(60.0..140.0) * 100.0).round() / 100.0;
            writer.row([id.as_str(), &date_text, "merchant_industry", industry])?;
            writer.row([id.as_str(), &date_text, "merchant_city", city])?;
            writer.row([id.as_str(), &date_text, "merchant_gmv_30d", &format!("{gmv:.2}")])?;
            let onboard = day_epoch(first) - (m as i64 * 86_400 * 9) % (4 * 365 * 86_400);
            writer.row([
                id.as_str(),
                &date_text,
                "merchant_onboard_time",
                &datetime(onboard),
            ])?;
        }
        for s in 1..=MERCHANTS * STORES_PER_MERCHANT {
            let id = store_id(s);
            let city = CITIES[(s as usize * 3) % CITIES.len()];
            let rating = rng.gen_range(30..=50) as f64 / 10.0;
            writer.row([id.as_str(), &date_text, "store_city", city])?;
            writer.row([id.as_str(), &date_text, "store_rating", &format!("{rating:.1}")])?;
            writer.row([
                id.as_str(),
                &date_text,
                "store_is_open",
                if s % 17 == 0 { "false" } else { "true" },
            ])?;
        }
    }
    counts.insert("profile/merchants.csv".into(), writer.finish()?);

    // Audiences: a merchant's users are those who traded with it; each of
    // its stores gets the customers assigned to it; a merchant also targets
    // itself and its stores.
    let mut scopes = Writer::create(out.join("scopes.csv"), &["scope", "entity_id", "target_object"])?;
    for (m, customers) in &mut merchant_customers {
        customers.sort_unstable();
        customers.dedup();
        let scope = format!("merchant:{}", merchant_id(*m));
        scopes.row([scope.as_str(), &merchant_id(*m), "merchant"])?;
        for k in 0..STORES_PER_MERCHANT {
            let store = (*m - 1) * STORES_PER_MERCHANT + k + 1;
            scopes.row([scope.as_str(), &store_id(store), "store"])?;
            scopes.row([
                format!("store:{}", store_id(store)).as_str(),
                &store_id(store),
                "store",
            ])?;
        }
        for u in customers.iter() {
            let id = user_id(*u + 1);
            scopes.row([scope.as_str(), &id, "user"])?;
            let store = (*m - 1) * STORES_PER_MERCHANT + (*u % STORES_PER_MERCHANT) + 1;
            scopes.row([format!("store:{}", store_id(store)).as_str(), &id, "user"])?;
        }
    }
    counts.insert("scopes.csv".into(), scopes.finish()?);
    Ok(counts)
}
