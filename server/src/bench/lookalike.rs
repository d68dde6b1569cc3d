//! The lookalike benchmark. Quality: the demo dataset with a planted
//! persona, seeded with a sample of it and expanded to the persona's size;
//! precision and recall against the planted members, beside a random choice
//! of the same size. Speed: the same index tiled to 10M entities (copies
//! side by side, same distributions), scored end to end.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use roaring::RoaringBitmap;
use segment_core::TargetObject;
use segment_core::engine::TagIndex;
use segment_core::engine::insights::distributions;
use segment_core::engine::lookalike::{DEFAULT_MODEL, ModelSpec, NAIVE_BAYES_QUINTILES, expand, expand_with};
use segment_service::entities::Dictionaries;
use segment_service::infra::db::Db;
use segment_service::tags::index::load_index;

use super::{import_once, machine, median, ms, rss_bytes};
use crate::demo_data::{self, DEFAULT_PERSONA_SHARE, DemoOptions, PERSONA_FILE, PersonaShape};

#[derive(Parser, Debug)]
#[command(
    name = "bench-lookalike",
    about = "Lookalike quality (planted persona) and scoring speed"
)]
pub struct Args {
    /// Users of the demo dataset.
    #[arg(long, default_value_t = 100_000)]
    pub users: u32,
    /// Days of behavior data.
    #[arg(long, default_value_t = 35)]
    pub days: u32,
    /// Share of the users in the planted persona.
    #[arg(long, default_value_t = DEFAULT_PERSONA_SHARE)]
    pub persona: f64,
    /// Every n-th planted member is in the seed (10: a tenth of the persona).
    #[arg(long, default_value_t = 10)]
    pub seed_every: usize,
    /// Different seed samples measured (offsets 0, 1, … of the every-n-th choice).
    #[arg(long, default_value_t = 5)]
    pub samples: usize,
    /// Entities of the tiled index the speed is measured on.
    #[arg(long, default_value_t = 10_000_000)]
    pub scale_to: u32,
    /// Timed scorings at scale (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Append the report (Markdown) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Compare the candidate models on every persona shape instead (seeded
    /// with a third of each persona), and report them all.
    #[arg(long)]
    pub models: bool,
}

/// The models compared by `--models`: the one segments use first.
const CANDIDATES: [(&str, ModelSpec); 7] = [
    ("naive Bayes, quintiles (the model before)", NAIVE_BAYES_QUINTILES),
    (
        "naive Bayes, deciles",
        ModelSpec {
            buckets: 10,
            ..NAIVE_BAYES_QUINTILES
        },
    ),
    (
        "naive Bayes, 20 buckets",
        ModelSpec {
            buckets: 20,
            ..NAIVE_BAYES_QUINTILES
        },
    ),
    (
        "naive Bayes, deciles, tags with ≥ 5% of the best information gain",
        ModelSpec {
            buckets: 10,
            min_gain_share: 0.05,
            ..NAIVE_BAYES_QUINTILES
        },
    ),
    (
        "logistic regression, quintiles",
        ModelSpec {
            buckets: 5,
            ..DEFAULT_MODEL
        },
    ),
    ("logistic regression, deciles (in use)", DEFAULT_MODEL),
    (
        "logistic regression, 20 buckets",
        ModelSpec {
            buckets: 20,
            ..DEFAULT_MODEL
        },
    ),
];

/// The dataset of `shape`, imported (once) and indexed; answers the
/// database, the index and the planted members.
async fn persona_dataset(
    args: &Args,
    shape: PersonaShape,
    work: PathBuf,
) -> anyhow::Result<(segment_service::tags::index::LoadedIndex, RoaringBitmap)> {
    let name = format!("{shape:?}").to_lowercase();
    std::fs::create_dir_all(&work)?;
    let work = work.canonicalize()?;
    let data_dir = work.join("data");
    if !work.join("data.done").exists() {
        demo_data::generate(
            &data_dir,
            &DemoOptions {
                users: args.users,
                days: args.days,
                seed: demo_data::DEFAULT_SEED,
                end_date: super::end_date(),
                persona: Some(args.persona),
                persona_shape: shape,
            },
        )?;
        std::fs::write(work.join("data.done"), "")?;
    }
    let db = Db::connect(&format!(
        "sqlite://{}?mode=rwc",
        work.join("warehouse.db").display()
    ))
    .await?;
    db.migrate().await?;
    import_once(&db, &data_dir, &work.join("sqlite.done"), &name).await?;
    let loaded = load_index(&db, None).await?;
    let planted_ids: Vec<String> = std::fs::read_to_string(data_dir.join(PERSONA_FILE))?
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect();
    let planted: RoaringBitmap = Dictionaries::default()
        .indexes(&db, TargetObject::User, &planted_ids)
        .await?
        .values()
        .copied()
        .collect();
    anyhow::ensure!(
        planted.len() as usize == planted_ids.len(),
        "planted users missing from the import"
    );
    Ok((loaded, planted))
}

/// Every candidate model on every persona shape: mean precision over the
/// three disjoint thirds of each persona as seeds.
async fn compare_models(args: &Args) -> anyhow::Result<String> {
    use std::fmt::Write;
    const SEED_EVERY: usize = 3;
    let shapes = [
        PersonaShape::Macau,
        PersonaShape::Wealthy,
        PersonaShape::Newcomer,
        PersonaShape::Shopper,
    ];
    // precision[candidate][shape]
    let mut precision = vec![vec![0.0; shapes.len()]; CANDIDATES.len()];
    let mut random = vec![0.0; shapes.len()];
    let mut planted_sizes = Vec::new();
    for (s, shape) in shapes.iter().enumerate() {
        let name = format!("{shape:?}").to_lowercase();
        let work = PathBuf::from(format!(
            "target/bench-lookalike-{}u-{}d-{name}",
            args.users, args.days
        ));
        let (loaded, planted) = persona_dataset(args, *shape, work).await?;
        planted_sizes.push(planted.len());
        let universe = loaded.index.population(TargetObject::User);
        let sorted: Vec<u32> = planted.iter().collect();
        for sample in 0..SEED_EVERY {
            let seed: RoaringBitmap = sorted.iter().skip(sample).step_by(SEED_EVERY).copied().collect();
            let hidden = &planted - &seed;
            random[s] += hidden.len() as f64 / (universe.len() - seed.len()) as f64 / SEED_EVERY as f64;
            for (c, (name, spec)) in CANDIDATES.iter().enumerate() {
                let (members, _) = expand_with(
                    &loaded.index,
                    &loaded.catalog,
                    TargetObject::User,
                    &universe,
                    &seed,
                    planted.len(),
                    spec,
                )?;
                let added = &members - &seed;
                let found = added.intersection_len(&hidden) as f64 / added.len() as f64;
                eprintln!("{shape:?} sample {sample}: {name}: precision {found:.3}");
                precision[c][s] += found / SEED_EVERY as f64;
            }
        }
    }
    let mut out = String::new();
    let line =
        |out: &mut String, text: String| writeln!(out, "{text}").expect("writing to a String cannot fail");
    line(
        &mut out,
        format!(
            "\n## Lookalike models on four personas — {}\n",
            chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
        ),
    );
    line(
        &mut out,
        format!(
            "Machine: {}. `scripts/bench-lookalike --models`: the demo dataset ({} users, {} days) with each persona shape planted in {:.1}% of the users \
             (`server demo-data --persona-shape`), seeded with each third of the persona in turn and expanded to the persona's size; precision is the share \
             of the added entities that are planted, averaged over the three seeds. Shapes: **macau** (city, age band, channel, level, activity: enum traits), \
             **wealthy** (wallet balance, risk score, registration time: numbers and a datetime), **newcomer** (a recent registration, age band, channel, \
             card bound: weaker traits), **shopper** (favourite industry and merchant, activity, card bound: behaviors).\n",
            machine(),
            args.users,
            args.days,
            args.persona * 100.0
        ),
    );
    let names: Vec<String> = shapes
        .iter()
        .zip(&planted_sizes)
        .map(|(s, n)| format!("{s:?} ({n})").to_lowercase())
        .collect();
    line(&mut out, format!("| model | {} | mean |", names.join(" | ")));
    line(&mut out, format!("|---|{}---:|", "---:|".repeat(shapes.len())));
    for ((name, _), row) in CANDIDATES.iter().zip(&precision) {
        let mean = row.iter().sum::<f64>() / row.len() as f64;
        let cells: Vec<String> = row.iter().map(|p| format!("{p:.3}")).collect();
        line(
            &mut out,
            format!("| {name} | {} | **{mean:.3}** |", cells.join(" | ")),
        );
    }
    let cells: Vec<String> = random.iter().map(|p| format!("{p:.3}")).collect();
    line(
        &mut out,
        format!(
            "| random choice | {} | {:.3} |",
            cells.join(" | "),
            random.iter().sum::<f64>() / random.len() as f64
        ),
    );
    Ok(out)
}

struct Quality {
    precision: f64,
    recall: f64,
    random_precision: f64,
    random_recall: f64,
    score: Duration,
}

pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.models {
        let report = compare_models(&args).await?;
        println!("{report}");
        if let Some(path) = &args.report {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            file.write_all(report.as_bytes())?;
        }
        return Ok(());
    }
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("target/bench-lookalike-{}u-{}d", args.users, args.days)));
    let (loaded, planted) = persona_dataset(&args, PersonaShape::Macau, work).await?;
    let universe = loaded.index.population(TargetObject::User);
    let planted_sorted: Vec<u32> = planted.iter().collect();

    // Quality, over several seed samples.
    let mut qualities = Vec::new();
    for sample in 0..args.samples {
        let seed: RoaringBitmap = planted_sorted
            .iter()
            .enumerate()
            .filter(|(i, _)| i % args.seed_every == sample % args.seed_every)
            .map(|(_, m)| *m)
            .collect();
        let target = planted.len();
        let started = Instant::now();
        let (members, _) = expand(
            &loaded.index,
            &loaded.catalog,
            TargetObject::User,
            &universe,
            &seed,
            target,
        )?;
        let score = started.elapsed();
        let hidden = &planted - &seed;
        let added = &members - &seed;
        let found = added.intersection_len(&hidden) as f64;
        let mut candidates: Vec<u32> = (&universe - &seed).iter().collect();
        let mut rng = StdRng::seed_from_u64(sample as u64);
        let (random, _) = candidates.partial_shuffle(&mut rng, added.len() as usize);
        let random_found = random.iter().filter(|m| hidden.contains(**m)).count() as f64;
        let quality = Quality {
            precision: found / added.len() as f64,
            recall: found / hidden.len() as f64,
            random_precision: random_found / added.len() as f64,
            random_recall: random_found / hidden.len() as f64,
            score,
        };
        eprintln!(
            "sample {sample}: seed {}, precision {:.3} (random {:.3}), recall {:.3}, {:.0} ms",
            seed.len(),
            quality.precision,
            quality.random_precision,
            quality.recall,
            ms(quality.score)
        );
        qualities.push((seed.len(), quality));
    }

    // Speed at scale: the parts of the index the model reads, tiled.
    let copies = args.scale_to.div_ceil(args.users).max(1);
    let stride = universe.max().map_or(1, |m| m + 1);
    let rss_before = rss_bytes();
    let started = Instant::now();
    let tiled = scoring_view(&loaded.index).tiled(copies, stride);
    let tile_time = started.elapsed();
    let scaled_universe = tiled.population(TargetObject::User);
    let scaled_seed: RoaringBitmap = (0..copies)
        .flat_map(|k| {
            planted_sorted
                .iter()
                .step_by(args.seed_every)
                .map(move |m| m + k * stride)
        })
        .collect();
    let scaled_target = planted.len() * copies as u64;
    let mut timings = Vec::new();
    let mut scaled_model = None;
    let mut expanded = RoaringBitmap::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let (members, model) = expand(
            &tiled,
            &loaded.catalog,
            TargetObject::User,
            &scaled_universe,
            &scaled_seed,
            scaled_target,
        )?;
        timings.push(started.elapsed());
        anyhow::ensure!(
            members.len() == scaled_target,
            "the scaled expansion missed its size"
        );
        scaled_model = Some(model);
        expanded = members;
    }
    // Segment insights read the same feature groups: every user tag's
    // distribution over the expanded segment beside the population.
    let mut insight_timings = Vec::new();
    for _ in 0..args.runs {
        let started = Instant::now();
        let described = distributions(
            &tiled,
            loaded.catalog.for_target(TargetObject::User),
            TargetObject::User,
            &scaled_universe,
            &expanded,
        );
        insight_timings.push(started.elapsed());
        anyhow::ensure!(!described.is_empty(), "no tag described");
    }
    let scaled_model = scaled_model.expect("at least one run");
    let rss_after = rss_bytes();
    eprintln!(
        "scaled to {} entities in {:.1}s; scoring median {:.0} ms",
        scaled_universe.len(),
        tile_time.as_secs_f64(),
        ms(median(timings.clone()))
    );
    eprintln!(
        "insights over {} members: median {:.0} ms",
        expanded.len(),
        ms(median(insight_timings.clone()))
    );

    let report = report(
        &args,
        &qualities,
        planted.len(),
        scaled_universe.len(),
        &Speed {
            scoring: timings,
            insights: insight_timings,
        },
        &scaled_model,
        rss_after.saturating_sub(rss_before),
    );
    println!("{report}");
    if let Some(path) = &args.report {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(report.as_bytes())?;
        eprintln!("appended to {}", path.display());
    }
    Ok(())
}

/// Only what the model reads: each profile tag's newest partition, and the
/// daily totals of the last 30 days of each behavior.
fn scoring_view(index: &TagIndex) -> TagIndex {
    let mut view = index.clone();
    for profile in view.profiles.values_mut() {
        if let Some(newest) = profile.partitions.keys().next_back().copied() {
            profile.partitions.retain(|date, _| *date == newest);
        }
    }
    for behavior in view.behaviors.values_mut() {
        if let Some(newest) = behavior.days.keys().next_back().copied() {
            behavior
                .days
                .retain(|date, _| *date > newest - chrono::Duration::days(30));
        }
        for block in behavior.days.values_mut() {
            block.entities.clear();
            block.counts.clear();
            block.columns.clear();
        }
    }
    view.scopes.clear();
    view
}

/// Timed runs at scale.
struct Speed {
    scoring: Vec<Duration>,
    insights: Vec<Duration>,
}

fn report(
    args: &Args,
    qualities: &[(u64, Quality)],
    planted: u64,
    scaled: u64,
    speed: &Speed,
    model: &segment_core::lookalike::LookalikeModel,
    scaled_bytes: u64,
) -> String {
    use std::fmt::Write;
    let mean = |f: &dyn Fn(&Quality) -> f64| {
        qualities.iter().map(|(_, q)| f(q)).sum::<f64>() / qualities.len() as f64
    };
    let spread = |f: &dyn Fn(&Quality) -> f64| {
        let values: Vec<f64> = qualities.iter().map(|(_, q)| f(q)).collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.3}–{hi:.3}")
    };
    let precision = mean(&|q| q.precision);
    let random = mean(&|q| q.random_precision);
    let mut out = String::new();
    writeln!(
        out,
        "\n## Lookalike — {} users, persona {:.1}% — {}\n",
        args.users,
        args.persona * 100.0,
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "Machine: {}. `scripts/bench-lookalike`: the demo dataset with a planted persona ({planted} users; each lives in Macau, \
         is 18–24, prefers the web channel, is a platinum member and is as active as the most active sixth of users, each \
         with probability 0.85), seeded with every {}th planted \
         member ({} samples with different offsets) and expanded to the persona's size. Precision: share of the added entities \
         that are planted; recall: share of the planted entities outside the seed that were added; the random baseline adds \
         the same number of entities drawn uniformly.\n",
        machine(),
        args.seed_every,
        qualities.len()
    )
    .expect("writing to a String cannot fail");
    writeln!(
        out,
        "| sample | seed | precision | recall | random precision | random recall | scoring ms |"
    )
    .expect("writing to a String cannot fail");
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|").expect("writing to a String cannot fail");
    for (i, (seed, q)) in qualities.iter().enumerate() {
        writeln!(
            out,
            "| {i} | {seed} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
            q.precision,
            q.recall,
            q.random_precision,
            q.random_recall,
            ms(q.score)
        )
        .expect("writing to a String cannot fail");
    }
    writeln!(
        out,
        "\nMean precision {precision:.3} (range {}), mean recall {:.3} (range {}); random precision {random:.3}: \
         {:.1}× random. Targets: precision ≥ 0.8 — {}; ≥ 5× random — {}.\n",
        spread(&|q| q.precision),
        mean(&|q| q.recall),
        spread(&|q| q.recall),
        precision / random.max(f64::EPSILON),
        if precision >= 0.8 { "met" } else { "missed" },
        if precision >= 5.0 * random { "met" } else { "missed" },
    )
    .expect("writing to a String cannot fail");
    let median_ms = ms(median(speed.scoring.clone()));
    writeln!(
        out,
        "Speed: the index the model reads (newest partition of each profile tag, 30 days of behavior totals) tiled to \
         {scaled} entities (copies of the {}-user index side by side), seed {} and target {}: {} features in {} tags, \
         scoring median {median_ms:.0} ms over {} runs (min {:.0}, max {:.0}); the tiled index added {} MB of RSS. \
         Target ≤ 1,000 ms (issue 17) — {}.\n",
        args.users,
        model.seed_size,
        model.target_size,
        model.features,
        model.feature_groups,
        speed.scoring.len(),
        speed.scoring.iter().map(|t| ms(*t)).fold(f64::INFINITY, f64::min),
        speed.scoring.iter().map(|t| ms(*t)).fold(0.0, f64::max),
        scaled_bytes >> 20,
        if median_ms <= 1_000.0 { "met" } else { "missed" },
    )
    .expect("writing to a String cannot fail");
    let insights_ms = ms(median(speed.insights.clone()));
    writeln!(
        out,
        "Segment insights on the same tiled index: every user tag's distribution over the expanded segment ({} members) \
         beside the population, median {insights_ms:.0} ms over {} runs (min {:.0}, max {:.0}).\n",
        model.target_size,
        speed.insights.len(),
        speed.insights.iter().map(|t| ms(*t)).fold(f64::INFINITY, f64::min),
        speed.insights.iter().map(|t| ms(*t)).fold(0.0, f64::max),
    )
    .expect("writing to a String cannot fail");
    writeln!(out, "Top features of the scaled model:\n").expect("writing to a String cannot fail");
    writeln!(out, "| feature | share of seed | share of others | weight |")
        .expect("writing to a String cannot fail");
    writeln!(out, "|---|---:|---:|---:|").expect("writing to a String cannot fail");
    for f in &model.top_features {
        writeln!(
            out,
            "| `{}` | {:.1}% | {:.1}% | {:+.2} |",
            f.feature,
            f.seed_share * 100.0,
            f.background_share * 100.0,
            f.weight
        )
        .expect("writing to a String cannot fail");
    }
    out
}
