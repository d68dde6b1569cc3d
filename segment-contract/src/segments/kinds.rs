//! The closed vocabularies of a segment: its status, creation method,
//! update frequency, usage scenarios and set operations. Each is stored as
//! its `as_str` text and decoded back strictly: a stored text that names no
//! variant is an error, never a default.

use serde::{Deserialize, Serialize};

/// A stored value that names no variant: a corrupt row, reported as an
/// error (sqlx decoding fails with it) rather than read as some default.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

/// `TryFrom<String>` through the type's own `parse`, so that sqlx decodes a
/// stored column straight into the enum (`#[sqlx(try_from = "String")]`).
macro_rules! decoded_from_text {
    ($($type:ty => $kind:literal),* $(,)?) => {
        $(impl TryFrom<String> for $type {
            type Error = UnknownValue;

            fn try_from(value: String) -> Result<Self, UnknownValue> {
                Self::parse(&value).ok_or(UnknownValue { kind: $kind, value })
            }
        })*
    };
}

decoded_from_text! {
    UpdateFrequency => "update frequency",
    SegmentStatus => "segment status",
    CreationMethod => "creation method",
}

/// An enum sent and stored as its snake_case text (`as_str`), decoded
/// strictly (`parse`, and `TryFrom<String>` for sqlx), and shown to people
/// as its `label`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident ($kind:literal) {
        $($(#[$variant_doc:meta])* $variant:ident => $text:literal / $label:literal),* $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_doc])* $variant),*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),*
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }

            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label),*
                }
            }
        }

        decoded_from_text! { $name => $kind }
    };
}

text_enum! {
    /// Where a materialization run is in its queue.
    RunStatus ("run status") {
        Queued => "queued" / "Queued",
        Running => "running" / "Running",
        Succeeded => "succeeded" / "Succeeded",
        Failed => "failed" / "Failed",
    }
}

text_enum! {
    /// What a run is doing: `waiting` for an input segment, `retrying`
    /// after a transient failure, `evaluating` the definition, `storing` the
    /// snapshot; `done` or `failed` at the end.
    RunPhase ("run phase") {
        Queued => "queued" / "Queued",
        Waiting => "waiting" / "Waiting for inputs",
        Retrying => "retrying" / "Retrying",
        Evaluating => "evaluating" / "Evaluating",
        Storing => "storing" / "Storing",
        Done => "done" / "Done",
        Failed => "failed" / "Failed",
    }
}

text_enum! {
    /// Where an export is: written by the exporter in the background.
    ExportStatus ("export status") {
        Queued => "queued" / "Queued",
        Running => "running" / "Writing",
        Done => "done" / "Ready",
        Failed => "failed" / "Failed",
    }
}

/// Where a segment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SegmentStatus {
    /// No successful run yet; one is queued or running.
    Generating,
    Active,
    /// The first run failed; `error` says why.
    Failed,
    /// Time-sensitive and its latest run did not use the newest ready data.
    Stale,
    /// Past Expires At.
    Expired,
}

impl SegmentStatus {
    pub const ALL: [SegmentStatus; 5] = [
        Self::Generating,
        Self::Active,
        Self::Failed,
        Self::Stale,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generating => "generating",
            Self::Active => "active",
            Self::Failed => "failed",
            Self::Stale => "stale",
            Self::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Generating => "Generating",
            Self::Active => "Active",
            Self::Failed => "Failed",
            Self::Stale => "Stale",
            Self::Expired => "Expired",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// How a segment was created: the `method` of its definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CreationMethod {
    TagFilter,
    SegmentSet,
    CustomList,
    WarehouseTable,
    Lookalike,
}

impl CreationMethod {
    pub const ALL: [CreationMethod; 5] = [
        Self::TagFilter,
        Self::SegmentSet,
        Self::CustomList,
        Self::WarehouseTable,
        Self::Lookalike,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TagFilter => "tag_filter",
            Self::SegmentSet => "segment_set",
            Self::CustomList => "custom_list",
            Self::WarehouseTable => "warehouse_table",
            Self::Lookalike => "lookalike",
        }
    }

    /// The product guide's name of the method.
    pub fn label(self) -> &'static str {
        match self {
            Self::TagFilter => "Tag Filtering",
            Self::SegmentSet => "Segment Sets",
            Self::CustomList => "Custom List",
            Self::WarehouseTable => "Warehouse Table",
            Self::Lookalike => "Algorithm",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UpdateFrequency {
    OneTime,
    Daily,
}

impl UpdateFrequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneTime => "one_time",
            Self::Daily => "daily",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OneTime => "One-time",
            Self::Daily => "Daily",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::OneTime, Self::Daily]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum UsageScenario {
    InsightAnalysis,
    MessageAdDelivery,
    RewardDistribution,
    LeadsDistribution,
}

impl UsageScenario {
    pub const ALL: [UsageScenario; 4] = [
        Self::InsightAnalysis,
        Self::MessageAdDelivery,
        Self::RewardDistribution,
        Self::LeadsDistribution,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsightAnalysis => "insight_analysis",
            Self::MessageAdDelivery => "message_ad_delivery",
            Self::RewardDistribution => "reward_distribution",
            Self::LeadsDistribution => "leads_distribution",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::InsightAnalysis => "Insight Analysis",
            Self::MessageAdDelivery => "Messages/Ad Delivery",
            Self::RewardDistribution => "Reward Distribution",
            Self::LeadsDistribution => "Leads Distribution",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SetOperation {
    Intersection,
    Union,
    Difference,
}

impl SetOperation {
    pub const ALL: [SetOperation; 3] = [Self::Intersection, Self::Union, Self::Difference];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Intersection => "intersection",
            Self::Union => "union",
            Self::Difference => "difference",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Intersection => "Intersection (A & B)",
            Self::Union => "Union (A or B)",
            Self::Difference => "Difference (A minus B)",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}
