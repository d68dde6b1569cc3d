//! What a lookalike expansion reports: shared by the engine that computes
//! it (`engine::lookalike`) and the client that shows it.

use serde::{Deserialize, Serialize};

/// Features kept in the explanation.
pub const TOP_FEATURES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookalikeError {
    #[error("the seed has no members among the {0} population")]
    EmptySeed(&'static str),
    #[error("the target size {target} must be larger than the seed's {seed} members")]
    TargetNotAboveSeed { target: u64, seed: u64 },
    #[error("the target size {target} is larger than the {available} entities available")]
    TargetAbovePopulation { target: u64, available: u64 },
}

/// How features are weighed: the candidates `scripts/bench-lookalike`
/// compares on several planted personas (see docs/benchmarks.md).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// Quantile buckets per number or datetime tag.
    pub buckets: usize,
    /// Keep only tags whose information gain about seed membership is at
    /// least this share of the best tag's (0: every tag).
    pub min_gain_share: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Each feature weighs ln(seed share / background share), smoothed.
    NaiveBayes,
    /// One coefficient per feature, fitted by L2-regularized logistic
    /// regression of seed against a sample of the background.
    Logistic,
}

/// The model segments use: the best mean precision of the candidates on the
/// four planted personas of `scripts/bench-lookalike --models` (0.434, naive
/// Bayes with quintiles 0.387; docs/benchmarks.md).
pub const DEFAULT_MODEL: ModelSpec = ModelSpec {
    kind: ModelKind::Logistic,
    buckets: 10,
    min_gain_share: 0.0,
};

/// The model segments used before the comparison, kept as its baseline.
pub const NAIVE_BAYES_QUINTILES: ModelSpec = ModelSpec {
    kind: ModelKind::NaiveBayes,
    buckets: 5,
    min_gain_share: 0.0,
};

/// One feature's part in the model, as shown on the segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureWeight {
    pub tag: String,
    /// `home_city = Chengdu`, `wallet_balance in [120.5, 890)`, `trade in the last 7 days`…
    pub feature: String,
    /// Share of the seed, and of the background, that has the feature.
    pub seed_share: f64,
    pub background_share: f64,
    /// ln(seed share / background share), smoothed.
    pub weight: f64,
}

/// What a lookalike run computed, kept with the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LookalikeModel {
    pub seed_size: u64,
    /// Entities the expansion chose from (the population, or the owner's audience).
    pub universe_size: u64,
    pub target_size: u64,
    pub feature_groups: usize,
    pub features: usize,
    /// The features that most raise a seed member's score (weight × seed share).
    pub top_features: Vec<FeatureWeight>,
    /// The lowest score among the chosen entities.
    pub threshold: f64,
    pub score_ms: u64,
}
