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

use super::features::{Feature, FeatureGroup, feature_groups};
use super::index::TagIndex;
use crate::TargetObject;
use crate::catalog::Catalog;
pub use crate::lookalike::*;

/// Expands `seed` to exactly `target_size` members of `universe`, with the
/// model segments use.
pub fn expand(
    index: &TagIndex,
    catalog: &Catalog,
    target: TargetObject,
    universe: &RoaringBitmap,
    seed: &RoaringBitmap,
    target_size: u64,
) -> Result<(RoaringBitmap, LookalikeModel), LookalikeError> {
    expand_with(
        index,
        catalog,
        target,
        universe,
        seed,
        target_size,
        &DEFAULT_MODEL,
    )
}

/// [`expand`] with the model `spec` (the benchmark compares candidates).
pub fn expand_with(
    index: &TagIndex,
    catalog: &Catalog,
    target: TargetObject,
    universe: &RoaringBitmap,
    seed: &RoaringBitmap,
    target_size: u64,
    spec: &ModelSpec,
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
    // A group of one feature (everyone alike) cannot tell the seed apart.
    let mut groups = feature_groups(index, catalog.for_target(target), target, universe, spec.buckets);
    groups.retain(|group| group.features.len() > 1);
    let background_size = universe.len() - seed_size;
    // (in the seed, in the background) of each feature.
    let mut counts: Vec<Vec<(u64, u64)>> = groups
        .iter()
        .map(|group| {
            group
                .features
                .iter()
                .map(|f| {
                    let in_seed = f.members.intersection_len(&seed);
                    (in_seed, f.members.len() - in_seed)
                })
                .collect()
        })
        .collect();
    if spec.min_gain_share > 0.0 {
        let gains: Vec<f64> = counts.iter().map(|c| information_gain(c)).collect();
        let best = gains.iter().copied().fold(0.0, f64::max);
        let mut keep = gains.iter().map(|gain| *gain >= best * spec.min_gain_share);
        groups.retain(|_| keep.next().unwrap_or(false));
        counts.retain(|c| information_gain(c) >= best * spec.min_gain_share);
    }
    let group_weights: Vec<Vec<f64>> = match spec.kind {
        ModelKind::NaiveBayes => counts
            .iter()
            .map(|group| {
                let k = group.len() as f64;
                group
                    .iter()
                    .map(|(in_seed, in_background)| {
                        ((*in_seed as f64 + 1.0) / (seed_size as f64 + k)).ln()
                            - ((*in_background as f64 + 1.0) / (background_size as f64 + k)).ln()
                    })
                    .collect()
            })
            .collect(),
        // Shown against the background's average entity, as naive Bayes
        // weights read (a constant per group: no ranking changes).
        ModelKind::Logistic => logistic(&groups, &seed, &(universe - &seed))
            .into_iter()
            .zip(&counts)
            .map(|(weights, counts)| {
                let average: f64 = weights
                    .iter()
                    .zip(counts)
                    .map(|(w, (_, in_background))| w * *in_background as f64 / background_size.max(1) as f64)
                    .sum();
                weights.iter().map(|w| w - average).collect()
            })
            .collect(),
    };
    let mut weights = Vec::new();
    // What each feature adds to the score of its members.
    let mut deltas: Vec<(f32, &RoaringBitmap)> = Vec::new();
    for ((group, counts), group_weights) in groups.iter().zip(&counts).zip(&group_weights) {
        let weighted: Vec<(f64, &Feature, u64, u64)> = group
            .features
            .iter()
            .zip(counts)
            .zip(group_weights)
            .map(|((f, (in_seed, in_background)), weight)| (*weight, f, *in_seed, *in_background))
            .collect();
        // Everyone has exactly one feature of the group: adding the largest
        // feature's weight to all changes no ranking, so only the others are walked.
        let Some(baseline) = reference(group).map(|i| (i, weighted[i].0)) else {
            continue;
        };
        for (i, (weight, feature, in_seed, in_background)) in weighted.iter().enumerate() {
            if i != baseline.0 {
                deltas.push(((weight - baseline.1) as f32, &feature.members));
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
    let scores = scores(&deltas, universe);
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

/// The group's largest feature (the first of equals): the one scores are
/// counted from, and the logistic model's reference category.
fn reference(group: &FeatureGroup) -> Option<usize> {
    group
        .features
        .iter()
        .enumerate()
        .max_by_key(|(i, f)| (f.members.len(), std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
}

/// How much knowing an entity's feature in a group (counts in the seed and
/// the background) tells about whether it is in the seed, in nats.
fn information_gain(counts: &[(u64, u64)]) -> f64 {
    let entropy = |p: f64| {
        if p <= 0.0 || p >= 1.0 {
            0.0
        } else {
            -p * p.ln() - (1.0 - p) * (1.0 - p).ln()
        }
    };
    let total: u64 = counts.iter().map(|(s, b)| s + b).sum();
    let seed: u64 = counts.iter().map(|(s, _)| s).sum();
    if total == 0 {
        return 0.0;
    }
    let conditional: f64 = counts
        .iter()
        .filter(|(s, b)| s + b > 0)
        .map(|(s, b)| (s + b) as f64 / total as f64 * entropy(*s as f64 / (s + b) as f64))
        .sum();
    entropy(seed as f64 / total as f64) - conditional
}

/// Entities sampled to fit the logistic model, per side.
const FIT_SAMPLE: u64 = 20_000;
/// The L2 penalty of the logistic model's coefficients.
const RIDGE: f64 = 1.0;

/// Coefficients of an L2-regularized logistic regression of seed against
/// background over the groups' features (one-hot, each group's reference
/// feature fixed at 0), fitted by Newton's method on an evenly spaced
/// sample of each side (which moves only the intercept, not the ranking).
fn logistic(groups: &[FeatureGroup], seed: &RoaringBitmap, background: &RoaringBitmap) -> Vec<Vec<f64>> {
    // Variable of each (group, feature); the reference has none. 0 is the intercept.
    let mut variables = 1;
    let columns: Vec<Vec<Option<usize>>> = groups
        .iter()
        .map(|group| {
            let reference = reference(group);
            (0..group.features.len())
                .map(|i| {
                    (Some(i) != reference).then(|| {
                        variables += 1;
                        variables - 1
                    })
                })
                .collect()
        })
        .collect();
    let sample = |side: &RoaringBitmap| -> Vec<u32> {
        let step = (side.len() / FIT_SAMPLE).max(1) as usize;
        side.iter().step_by(step).collect()
    };
    // Each sampled entity's active variables: the intercept, then for each
    // feature (features of a group exclude each other) its sampled members,
    // found by one intersection per feature rather than a lookup per entity.
    let mut rows: Vec<(Vec<usize>, f64)> = Vec::new();
    for (side, label) in [(seed, 1.0), (background, 0.0)] {
        let entities = sample(side);
        let sampled = RoaringBitmap::from_sorted_iter(entities.iter().copied()).expect("a sample ascends");
        let first = rows.len();
        rows.extend(entities.iter().map(|_| (vec![0], label)));
        for (group, columns) in groups.iter().zip(&columns) {
            for (feature, column) in group.features.iter().zip(columns) {
                let Some(column) = column else { continue };
                for entity in &feature.members & &sampled {
                    let at = entities.binary_search(&entity).expect("a sampled entity");
                    rows[first + at].0.push(*column);
                }
            }
        }
    }
    let mut beta = vec![0f64; variables];
    // Newton converges in a handful of steps; past a step of 1e-4 in every
    // coefficient no ranking moves.
    for _ in 0..12 {
        let mut gradient = vec![0f64; variables];
        // The upper triangle, row by row in one block: the Hessian is
        // symmetric, and a row's active variables ascend.
        let mut upper = vec![0f64; variables * variables];
        for (active, label) in &rows {
            let z: f64 = active.iter().map(|v| beta[*v]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let w = (p * (1.0 - p)).max(1e-9);
            for (i, a) in active.iter().enumerate() {
                gradient[*a] += label - p;
                let row = &mut upper[a * variables..][..variables];
                for b in &active[i..] {
                    row[*b] += w;
                }
            }
        }
        let mut hessian: Vec<Vec<f64>> = (0..variables)
            .map(|a| {
                (0..variables)
                    .map(|b| upper[a.min(b) * variables + a.max(b)])
                    .collect()
            })
            .collect();
        for v in 1..variables {
            gradient[v] -= RIDGE * beta[v];
            hessian[v][v] += RIDGE;
        }
        hessian[0][0] += 1e-6;
        let Some(step) = solve(hessian, gradient) else {
            break;
        };
        let largest = step.iter().fold(0f64, |m, s| m.max(s.abs()));
        for (b, s) in beta.iter_mut().zip(&step) {
            *b += s;
        }
        if largest < 1e-4 {
            break;
        }
    }
    columns
        .iter()
        .map(|columns| columns.iter().map(|v| v.map_or(0.0, |v| beta[v])).collect())
        .collect()
}

/// `x` with `a x = b`, by Gaussian elimination with partial pivoting
/// (`None` when `a` is singular).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|i, j| a[*i][col].abs().total_cmp(&a[*j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let factor = a[row][col] / a[col][col];
            if factor != 0.0 {
                let (above, below) = a.split_at_mut(row);
                for (x, p) in below[0][col..].iter_mut().zip(&above[col][col..]) {
                    *x -= factor * p;
                }
                b[row] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0f64; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

/// Every entity's score: the sum of the deltas of the features it has,
/// added 2^16 entities at a time (every feature's members of a chunk into
/// the chunk's 256 KiB of scores, which stay in the CPU cache), the chunks
/// spread over the pool for a large universe.
fn scores(deltas: &[(f32, &RoaringBitmap)], universe: &RoaringBitmap) -> Vec<f32> {
    const CHUNK: usize = 1 << 16;
    let mut scores = vec![0f32; universe.max().map_or(0, |m| m as usize + 1)];
    let split = universe.len() >= super::parallel::SPLIT_FROM;
    super::parallel::for_each_piece(split, &mut scores, CHUNK, |chunk, piece| {
        let base = u32::try_from(chunk * CHUNK).expect("entities are u32");
        let end = base + piece.len() as u32;
        for (delta, members) in deltas {
            for member in members.range(base..end) {
                piece[(member - base) as usize] += delta;
            }
        }
    });
    scores
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;

    use super::*;
    use crate::catalog::DataType;
    use crate::engine::features::BUCKETS;
    use crate::engine::index::*;
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

    /// Every candidate model of the benchmark finds the persona too, and
    /// the logistic model agrees with naive Bayes on the planted features.
    #[test]
    fn every_candidate_model_finds_the_planted_persona() {
        let (index, catalog) = fixture();
        let universe = index.population(TargetObject::User);
        let planted: RoaringBitmap = (0..PERSONA).collect();
        for spec in [
            NAIVE_BAYES_QUINTILES,
            ModelSpec {
                buckets: 10,
                ..NAIVE_BAYES_QUINTILES
            },
            ModelSpec {
                min_gain_share: 0.2,
                ..NAIVE_BAYES_QUINTILES
            },
            ModelSpec {
                buckets: 5,
                ..DEFAULT_MODEL
            },
            DEFAULT_MODEL,
        ] {
            let (members, model) = expand_with(
                &index,
                &catalog,
                TargetObject::User,
                &universe,
                &seed(),
                PERSONA as u64,
                &spec,
            )
            .unwrap();
            assert_eq!(members.len(), PERSONA as u64);
            let precision = (&members - seed()).intersection_len(&planted) as f64 / (PERSONA - 20) as f64;
            assert!(precision > 0.7, "{spec:?}: precision {precision}");
            let top: Vec<&str> = model.top_features.iter().map(|f| f.feature.as_str()).collect();
            assert!(top.iter().take(3).any(|f| *f == "city = c0"), "{spec:?}: {top:?}");
        }
    }

    #[test]
    fn information_gain_is_zero_without_a_signal_and_positive_with_one() {
        assert!(information_gain(&[(10, 990), (10, 990)]).abs() < 1e-12);
        assert!(information_gain(&[(19, 981), (1, 999)]) > 0.001);
        assert_eq!(information_gain(&[]), 0.0);
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
        let groups = feature_groups(
            &index,
            catalog.for_target(TargetObject::User),
            TargetObject::User,
            &universe,
            BUCKETS,
        );
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
