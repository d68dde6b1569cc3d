//! Lookalike expansion: the seed plus the candidates most like it.
//!
//! The model is naive Bayes over the tag index, chosen because every part
//! of it can be shown to the user. Each profile tag of the target object
//! becomes one group of mutually exclusive features — an enum or boolean
//! value, a quintile of a number or datetime, or "no value" — and each
//! behavior one group "in the last 7 days / in days 8–30 / not in 30 days".
//! A feature's weight is the log-ratio of its (Laplace-smoothed) share in
//! the seed and in the background (the universe minus the seed); an
//! entity's score is the sum of the weights of the features it has. The
//! result is the seed and the `target_size − |seed|` best-scored other
//! entities, ties broken by the lower member index, so the same data always
//! gives the same members.

use roaring::RoaringBitmap;

use super::eval::{ColumnFilter, EvalError, passing_rows};
use super::index::*;
use crate::TargetObject;
use crate::catalog::{Catalog, TagKind};
pub use crate::lookalike::*;
use crate::plan::{SetPred, TypedPred};

/// Quantile buckets per number or datetime tag.
const BUCKETS: usize = 5;
/// Sampled values per ordered tag to place the bucket boundaries.
const QUANTILE_SAMPLE: u64 = 4_096;
/// One feature: a label and its members within the universe.
struct Feature {
    label: String,
    members: RoaringBitmap,
}

/// Mutually exclusive features covering the universe.
struct FeatureGroup {
    tag: String,
    features: Vec<Feature>,
}

/// Expands `seed` to exactly `target_size` members of `universe`.
pub fn expand(
    index: &TagIndex,
    catalog: &Catalog,
    target: TargetObject,
    universe: &RoaringBitmap,
    seed: &RoaringBitmap,
    target_size: u64,
) -> Result<(RoaringBitmap, LookalikeModel), LookalikeError> {
    let started = std::time::Instant::now();
    let seed = seed & universe;
    let seed_size = seed.len();
    if seed_size == 0 {
        return Err(LookalikeError::EmptySeed(target.as_str()));
    }
    if target_size <= seed_size {
        return Err(LookalikeError::TargetNotAboveSeed {
            target: target_size,
            seed: seed_size,
        });
    }
    if target_size > universe.len() {
        return Err(LookalikeError::TargetAbovePopulation {
            target: target_size,
            available: universe.len(),
        });
    }
    let groups = feature_groups(index, catalog, target, universe);
    let background_size = universe.len() - seed_size;
    let mut scores = vec![0f32; universe.max().map_or(0, |m| m as usize + 1)];
    let mut weights = Vec::new();
    for group in &groups {
        let k = group.features.len() as f64;
        let weighted: Vec<(f64, &Feature, u64, u64)> = group
            .features
            .iter()
            .map(|f| {
                let in_seed = f.members.intersection_len(&seed);
                let in_background = f.members.len() - in_seed;
                let weight = ((in_seed as f64 + 1.0) / (seed_size as f64 + k)).ln()
                    - ((in_background as f64 + 1.0) / (background_size as f64 + k)).ln();
                (weight, f, in_seed, in_background)
            })
            .collect();
        // Everyone has exactly one feature of the group: adding the largest
        // feature's weight to all changes no ranking, so only the others are walked.
        let Some(baseline) = weighted
            .iter()
            .enumerate()
            .max_by_key(|(i, (_, f, _, _))| (f.members.len(), std::cmp::Reverse(*i)))
            .map(|(i, (w, _, _, _))| (i, *w))
        else {
            continue;
        };
        for (i, (weight, feature, in_seed, in_background)) in weighted.iter().enumerate() {
            if i != baseline.0 {
                let delta = (weight - baseline.1) as f32;
                for member in &feature.members {
                    scores[member as usize] += delta;
                }
            }
            weights.push(FeatureWeight {
                tag: group.tag.clone(),
                feature: feature.label.clone(),
                seed_share: *in_seed as f64 / seed_size as f64,
                background_share: *in_background as f64 / background_size.max(1) as f64,
                weight: *weight,
            });
        }
    }
    let wanted = (target_size - seed_size) as usize;
    let mut candidates: Vec<(f32, u32)> = (universe - &seed)
        .iter()
        .map(|m| (scores[m as usize], m))
        .collect();
    let better = |a: &(f32, u32), b: &(f32, u32)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if wanted < candidates.len() {
        candidates.select_nth_unstable_by(wanted, better);
        candidates.truncate(wanted);
    }
    let threshold = candidates
        .iter()
        .map(|c| c.0)
        .min_by(|a, b| a.total_cmp(b))
        .unwrap_or_default();
    let mut members = seed;
    members.extend(candidates.iter().map(|c| c.1));
    let feature_count = weights.len();
    weights.retain(|w| w.weight > 0.0);
    weights.sort_by(|a, b| {
        (b.weight * b.seed_share)
            .total_cmp(&(a.weight * a.seed_share))
            .then_with(|| a.feature.cmp(&b.feature))
    });
    weights.truncate(TOP_FEATURES);
    Ok((
        members,
        LookalikeModel {
            seed_size,
            universe_size: universe.len(),
            target_size,
            feature_groups: groups.len(),
            features: feature_count,
            top_features: weights,
            threshold: threshold as f64,
            score_ms: started.elapsed().as_millis() as u64,
        },
    ))
}

/// The feature groups of `target`'s tags, restricted to `universe`.
fn feature_groups(
    index: &TagIndex,
    catalog: &Catalog,
    target: TargetObject,
    universe: &RoaringBitmap,
) -> Vec<FeatureGroup> {
    let mut groups = Vec::new();
    // The universe is the whole population unless an audience narrows it.
    let population = index.populations.get(&target).map_or(0, RoaringBitmap::len);
    let restrict = (population != universe.len()).then_some(universe);
    let within = |bitmap: &RoaringBitmap| match restrict {
        Some(universe) => bitmap & universe,
        None => bitmap.clone(),
    };
    'tags: for tag in catalog.for_target(target) {
        let features = match &tag.kind {
            TagKind::Profile { .. } => {
                let Some(partition) = index
                    .profiles
                    .get(&tag.code)
                    .and_then(|p| p.partitions.values().next_back())
                else {
                    continue;
                };
                let mut features: Vec<Feature> = match partition {
                    ProfilePartition::Categorical(p) => {
                        // Values that are tenants' IDs: only those the catalog lists (a tenant's own).
                        let listed =
                            |value: &String| tag.tenant.is_none() || tag.allowed_values().contains(value);
                        let mut values: Vec<(&String, &RoaringBitmap)> =
                            p.by_value.iter().filter(|(value, _)| listed(value)).collect();
                        values.sort_by_key(|(value, _)| *value);
                        values
                            .into_iter()
                            .map(|(value, members)| Feature {
                                label: format!("{} = {value}", tag.code),
                                members: within(members),
                            })
                            .collect()
                    }
                    ProfilePartition::Number(p) => quantiles(p, restrict, |x| format!("{x}"))
                        .into_iter()
                        .map(|(label, members)| Feature {
                            label: format!("{} {label}", tag.code),
                            members,
                        })
                        .collect(),
                    ProfilePartition::Time(p) => quantiles(p, restrict, |epoch| {
                        chrono::DateTime::from_timestamp(epoch, 0)
                            .map(|t| t.format("%Y-%m-%d").to_string())
                            .unwrap_or_default()
                    })
                    .into_iter()
                    .map(|(label, members)| Feature {
                        label: format!("{} {label}", tag.code),
                        members,
                    })
                    .collect(),
                };
                features.push(Feature {
                    label: format!("{} has no value", tag.code),
                    members: universe - partition.present(),
                });
                features
            }
            TagKind::Behavior { .. } => {
                let Some(behavior) = index.behaviors.get(&tag.code) else {
                    continue;
                };
                let Some(newest) = behavior.days.keys().next_back().copied() else {
                    continue;
                };
                // A tenant counts only its own events (see `Catalog::for_tenant`).
                let own_ids;
                let own_events = match &tag.tenant_filter {
                    None => Vec::new(),
                    Some(own) => {
                        let Some(column) = behavior.attributes.iter().position(|(code, _)| *code == own.attr)
                        else {
                            continue;
                        };
                        own_ids = TypedPred::Enum(SetPred::In(own.ids.clone()));
                        vec![ColumnFilter {
                            behavior: &tag.code,
                            column,
                            attr: &own.attr,
                            pred: &own_ids,
                        }]
                    }
                };
                let acted = |block: &DayBlock| -> Result<RoaringBitmap, EvalError> {
                    Ok(match passing_rows(block, &own_events)? {
                        None => block.totals.positive.clone(),
                        Some(rows) => rows
                            .iter()
                            .filter(|row| block.counts[*row as usize] > 0)
                            .map(|row| block.entities[row as usize])
                            .collect(),
                    })
                };
                let mut week = RoaringBitmap::new();
                let mut month = RoaringBitmap::new();
                for (day, block) in behavior.days.range(newest - chrono::Duration::days(29)..=newest) {
                    // A tenant attribute stored with another type cannot be
                    // filtered on: the behavior gives no features, as when it has no data.
                    let Ok(acted) = acted(block) else {
                        continue 'tags;
                    };
                    if *day > newest - chrono::Duration::days(7) {
                        week |= &acted;
                    }
                    month |= &acted;
                }
                let week = within(&week);
                let month = within(&month) - &week;
                let never = universe - &week - &month;
                vec![
                    Feature {
                        label: format!("{} in the last 7 days", tag.code),
                        members: week,
                    },
                    Feature {
                        label: format!("{} in days 8–30 only", tag.code),
                        members: month,
                    },
                    Feature {
                        label: format!("no {} in 30 days", tag.code),
                        members: never,
                    },
                ]
            }
        };
        let features: Vec<Feature> = features.into_iter().filter(|f| !f.members.is_empty()).collect();
        if features.len() > 1 {
            groups.push(FeatureGroup {
                tag: tag.code.clone(),
                features,
            });
        }
    }
    groups
}

/// Up to [`BUCKETS`] buckets of an ordered partition with about equal
/// numbers of entities, their boundaries placed from a sample of values.
fn quantiles<K: Key>(
    partition: &OrderedPartition<K>,
    restrict: Option<&RoaringBitmap>,
    show: impl Fn(K) -> String,
) -> Vec<(String, RoaringBitmap)> {
    let within = |bitmap: RoaringBitmap| match restrict {
        Some(universe) => bitmap & universe,
        None => bitmap,
    };
    let present = within(partition.bsi.present.clone());
    let step = (present.len() / QUANTILE_SAMPLE).max(1) as usize;
    let mut ranks: Vec<u32> = present
        .iter()
        .step_by(step)
        .filter_map(|entity| partition.bsi.value_of(entity))
        .collect();
    if ranks.is_empty() {
        return Vec::new();
    }
    ranks.sort_unstable();
    let mut cuts: Vec<u32> = (1..BUCKETS)
        .map(|q| ranks[q * ranks.len() / BUCKETS])
        .filter(|cut| *cut > 0)
        .collect();
    cuts.dedup();
    let mut bounds = vec![0u32];
    bounds.extend(cuts);
    let top = partition.keys.len() as u32;
    let mut buckets = Vec::new();
    let mut above: Option<RoaringBitmap> = None;
    // Walk from the top: bucket = (at least lo) minus (at least the next bound).
    for (i, lo) in bounds.iter().enumerate().rev() {
        let at_least = if *lo == 0 {
            present.clone()
        } else {
            within(partition.bsi.at_least(*lo))
        };
        let members = match &above {
            Some(above) => &at_least - above,
            None => at_least.clone(),
        };
        let label = match bounds.get(i + 1) {
            Some(hi) => format!(
                "in [{}, {})",
                show(partition.keys[*lo as usize]),
                show(partition.keys[*hi as usize])
            ),
            None if *lo + 1 == top => format!("= {}", show(partition.keys[*lo as usize])),
            None => format!("≥ {}", show(partition.keys[*lo as usize])),
        };
        buckets.push((label, members));
        above = Some(at_least);
    }
    buckets.reverse();
    buckets
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::catalog::DataType;
    use crate::fixtures::profile;

    const N: u32 = 2_000;
    /// Entities `0..PERSONA` are drawn from a distinct distribution.
    const PERSONA: u32 = 200;

    /// A deterministic pseudo-random number in `0..n` for (entity, salt).
    fn noise(entity: u32, salt: u32, n: u32) -> u32 {
        let mut x = (entity as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (salt as u64) << 32;
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 29;
        (x % n as u64) as u32
    }

    fn fixture() -> (TagIndex, Catalog) {
        let day = NaiveDate::from_ymd_opt(2024, 8, 4).unwrap();
        let persona = |e: u32| e < PERSONA;
        let mut index = TagIndex::default();
        index.populations.insert(TargetObject::User, (0..N).collect());
        // city: the persona lives mostly in "c0"; others spread over c0…c9.
        let city: Vec<(u32, String)> = (0..N)
            .map(|e| {
                let c = if persona(e) && noise(e, 1, 10) < 8 {
                    0
                } else {
                    noise(e, 2, 10)
                };
                (e, format!("c{c}"))
            })
            .collect();
        // spend: the persona spends more; a tenth of the others have no value.
        let spend: Vec<(u32, f64)> = (0..N)
            .filter(|e| persona(*e) || noise(*e, 3, 10) > 0)
            .map(|e| (e, (noise(e, 4, 100) + if persona(e) { 80 } else { 0 }) as f64))
            .collect();
        // noise_tag: unrelated to the persona.
        let unrelated: Vec<(u32, String)> = (0..N).map(|e| (e, format!("v{}", noise(e, 5, 3)))).collect();
        let mut insert = |code: &str, data_type, partition| {
            index.profiles.insert(
                code.to_string(),
                ProfileIndex {
                    data_type,
                    partitions: BTreeMap::from([(day, partition)]),
                },
            );
        };
        insert(
            "city",
            DataType::Enum,
            ProfilePartition::Categorical(CategoricalPartition::build(city)),
        );
        insert(
            "spend",
            DataType::Number,
            ProfilePartition::Number(OrderedPartition::build(spend, false)),
        );
        insert(
            "unrelated",
            DataType::Enum,
            ProfilePartition::Categorical(CategoricalPartition::build(unrelated)),
        );
        let catalog = Catalog {
            tags: vec![
                profile("city", DataType::Enum, &[], &[]),
                profile("spend", DataType::Number, &[], &[]),
                profile("unrelated", DataType::Enum, &[], &[]),
            ],
        };
        (index, catalog)
    }

    fn seed() -> RoaringBitmap {
        (0..PERSONA).step_by(10).collect()
    }

    #[test]
    fn the_expansion_has_exactly_the_target_size_and_keeps_the_seed() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        for target in [21, 150, 200, 1_000, N as u64] {
            let (members, model) =
                expand(&index, &catalog, TargetObject::User, &universe, &seed(), target).unwrap();
            assert_eq!(members.len(), target);
            assert!(seed().is_subset(&members));
            assert_eq!((model.seed_size, model.universe_size), (20, N as u64));
        }
    }

    #[test]
    fn the_expansion_finds_the_planted_persona_far_above_chance() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        let (members, model) = expand(
            &index,
            &catalog,
            TargetObject::User,
            &universe,
            &seed(),
            PERSONA as u64,
        )
        .unwrap();
        let planted: RoaringBitmap = (0..PERSONA).collect();
        let found = (&members - seed()).intersection_len(&planted) as f64;
        let precision = found / (PERSONA - 20) as f64;
        // Chance would be 180 / 1,980 ≈ 0.09.
        assert!(precision > 0.7, "precision {precision}");
        // The explanation names the planted features, not the unrelated tag.
        let top: Vec<&str> = model.top_features.iter().map(|f| f.feature.as_str()).collect();
        // (A feature of the unrelated tag can only follow, by the chance of a small seed.)
        assert!(top.iter().take(2).any(|f| *f == "city = c0"), "{top:?}");
        assert!(top.iter().take(2).any(|f| f.starts_with("spend")), "{top:?}");
    }

    #[test]
    fn the_same_data_always_gives_the_same_members() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        let first = expand(&index, &catalog, TargetObject::User, &universe, &seed(), 333)
            .unwrap()
            .0;
        for _ in 0..3 {
            assert_eq!(
                expand(&index, &catalog, TargetObject::User, &universe, &seed(), 333)
                    .unwrap()
                    .0,
                first
            );
        }
    }

    #[test]
    fn an_audience_narrows_the_universe() {
        let (index, catalog) = fixture();
        let audience: RoaringBitmap = (0..N).filter(|e| e % 2 == 0).collect();
        let (members, model) = expand(&index, &catalog, TargetObject::User, &audience, &seed(), 300).unwrap();
        assert_eq!(members.len(), 300);
        assert!(members.is_subset(&audience));
        assert_eq!(model.universe_size, 1_000);
    }

    #[test]
    fn sizes_out_of_range_are_refused_with_the_reason() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        let expand = |seed: &RoaringBitmap, target| {
            expand(&index, &catalog, TargetObject::User, &universe, seed, target).map(|_| ())
        };
        assert_eq!(
            expand(&seed(), 20),
            Err(LookalikeError::TargetNotAboveSeed { target: 20, seed: 20 })
        );
        assert_eq!(
            expand(&seed(), N as u64 + 1),
            Err(LookalikeError::TargetAbovePopulation {
                target: N as u64 + 1,
                available: N as u64
            })
        );
        let outside: RoaringBitmap = [N + 5].into_iter().collect();
        assert_eq!(expand(&outside, 10), Err(LookalikeError::EmptySeed("user")));
    }

    #[test]
    fn quantile_buckets_cover_the_present_entities_once() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        let groups = feature_groups(&index, &catalog, TargetObject::User, &universe);
        for group in &groups {
            let mut union = RoaringBitmap::new();
            let mut total = 0;
            for feature in &group.features {
                total += feature.members.len();
                union |= &feature.members;
            }
            assert_eq!((total, union), (N as u64, universe.clone()), "{}", group.tag);
        }
        let spend = groups.iter().find(|g| g.tag == "spend").unwrap();
        assert_eq!(spend.features.len(), BUCKETS + 1, "five quintiles and no value");
    }
}
