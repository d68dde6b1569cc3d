//! How a segment's members are defined: one variant per creation method.

use segment_core::rule::Rule;
use serde::{Deserialize, Serialize};

use super::basic::BasicInfo;
use super::kinds::{CreationMethod, SegmentStatus, SetOperation};
use crate::ids::{SegmentId, UploadId};

/// How a segment's members are defined (`definition` of `POST /api/v1/segments`):
/// one variant per creation method, each with its own type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Definition {
    TagFilter(TagFilter),
    CustomList(CustomList),
    SegmentSet(SegmentSet),
    WarehouseTable(WarehouseIdColumn),
    Lookalike(Lookalike),
}

/// Entities matching a rule; optionally also a segment combining this one
/// with an existing one: `this operation segment_id`, copying every basic
/// field but the name unless `basic` gives its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagFilter {
    pub rule: Rule,
    /// Also create a segment combining this one with an existing one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combination: Option<Combination>,
}

/// The matched IDs of an upload (`POST /api/v1/uploads`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomList {
    pub upload_id: UploadId,
}

/// `left` op `right` (`difference`: left minus right), over the two
/// segments' latest snapshots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentSet {
    pub left: SegmentId,
    pub right: SegmentId,
    pub operation: SetOperation,
}

/// The distinct values of a warehouse table's column (`GET
/// /api/v1/warehouse/tables/{table}`); platform principals only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WarehouseIdColumn {
    pub table: String,
    pub id_column: String,
}

/// The seed (a segment's snapshot or an upload's matched IDs) expanded
/// with the most similar entities to exactly `target_size` members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LookalikeFields", into = "LookalikeFields")]
pub struct Lookalike {
    /// `None` only in a request that gave no seed, which validation refuses
    /// under `definition.seed_segment_id`.
    pub seed: Option<Seed>,
    pub target_size: u64,
}

/// Where a lookalike's seed comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// An Active segment's current snapshot.
    Segment(SegmentId),
    /// The matched IDs of an upload.
    Upload(UploadId),
}

/// A lookalike on the wire: one of `seed_segment_id` and `seed_upload_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LookalikeFields {
    /// An Active segment whose snapshot is the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_segment_id: Option<SegmentId>,
    /// Or an upload whose matched IDs are the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_upload_id: Option<UploadId>,
    pub target_size: u64,
}

impl TryFrom<LookalikeFields> for Lookalike {
    type Error = &'static str;

    fn try_from(fields: LookalikeFields) -> Result<Self, Self::Error> {
        let seed = match (fields.seed_segment_id, fields.seed_upload_id) {
            (Some(_), Some(_)) => return Err("give one seed: seed_segment_id or seed_upload_id, not both"),
            (Some(segment), None) => Some(Seed::Segment(segment)),
            (None, Some(upload)) => Some(Seed::Upload(upload)),
            (None, None) => None,
        };
        Ok(Lookalike {
            seed,
            target_size: fields.target_size,
        })
    }
}

impl From<Lookalike> for LookalikeFields {
    fn from(lookalike: Lookalike) -> Self {
        LookalikeFields {
            seed_segment_id: match lookalike.seed {
                Some(Seed::Segment(id)) => Some(id),
                _ => None,
            },
            seed_upload_id: match lookalike.seed {
                Some(Seed::Upload(id)) => Some(id),
                _ => None,
            },
            target_size: lookalike.target_size,
        }
    }
}

// The document describes a lookalike by its wire fields.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Lookalike {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        LookalikeFields::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Lookalike {}

impl Definition {
    pub fn method(&self) -> CreationMethod {
        match self {
            Self::TagFilter(_) => CreationMethod::TagFilter,
            Self::CustomList(_) => CreationMethod::CustomList,
            Self::SegmentSet(_) => CreationMethod::SegmentSet,
            Self::WarehouseTable(_) => CreationMethod::WarehouseTable,
            Self::Lookalike(_) => CreationMethod::Lookalike,
        }
    }

    /// The segments whose snapshots this definition reads.
    pub fn input_segments(&self) -> Vec<SegmentId> {
        match self {
            Self::SegmentSet(set) => vec![set.left, set.right],
            Self::Lookalike(Lookalike {
                seed: Some(Seed::Segment(seed)),
                ..
            }) => vec![*seed],
            _ => Vec::new(),
        }
    }

    /// The upload whose matched IDs this definition reads.
    pub fn input_upload(&self) -> Option<UploadId> {
        match self {
            Self::CustomList(list) => Some(list.upload_id),
            Self::Lookalike(Lookalike {
                seed: Some(Seed::Upload(upload)),
                ..
            }) => Some(*upload),
            _ => None,
        }
    }
}

/// The combined segment of the creation page: the new tag-filter segment
/// (A) combined with an existing Active segment (B). Basic fields not given
/// are copied from the tag-filter segment, all but the name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Combination {
    pub segment_id: SegmentId,
    pub operation: SetOperation,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<BasicInfo>,
}

/// `POST /api/v1/segments` and the creation page's server function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "High-value F&B users", "group_id": null, "target_object": "user",
    "update_frequency": "daily", "daily_run_time": "06:00",
    "usage_scenarios": ["message_ad_delivery", "reward_distribution"],
    "time_zone": "Asia/Shanghai", "expires_at": "2027-01-31T23:59:59+08:00",
    "time_sensitive": false, "notification_email": "ops@example.com",
    "definition": {"method": "tag_filter", "rule": {"groups": [{"conditions": [
        {"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"},
         "op": "in", "values": ["Shenzhen"]}]}]},
        "combination": {"segment_id": 41, "operation": "intersection", "name": "F&B ∩ Autumn promo"}}})))]
pub struct CreateSegmentRequest {
    /// 1–100 characters.
    pub name: String,
    #[serde(flatten)]
    pub basic: BasicInfo,
    pub definition: Definition,
}

/// What a create answers: the new segment, and the combined one if asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Created {
    pub id: SegmentId,
    pub status: SegmentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined_id: Option<SegmentId>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The wire format is the one of the flat definition the API has always
    /// taken: `method` beside each method's own fields.
    #[test]
    fn definitions_read_and_write_their_flat_json() {
        let cases = [
            (
                json!({"method": "custom_list", "upload_id": 7}),
                Definition::CustomList(CustomList {
                    upload_id: UploadId(7),
                }),
            ),
            (
                json!({"method": "segment_set", "left": 1, "right": 2, "operation": "difference"}),
                Definition::SegmentSet(SegmentSet {
                    left: SegmentId(1),
                    right: SegmentId(2),
                    operation: SetOperation::Difference,
                }),
            ),
            (
                json!({"method": "lookalike", "seed_segment_id": 4, "target_size": 900}),
                Definition::Lookalike(Lookalike {
                    seed: Some(Seed::Segment(SegmentId(4))),
                    target_size: 900,
                }),
            ),
            (
                json!({"method": "lookalike", "seed_upload_id": 5, "target_size": 900}),
                Definition::Lookalike(Lookalike {
                    seed: Some(Seed::Upload(UploadId(5))),
                    target_size: 900,
                }),
            ),
        ];
        for (wire, definition) in cases {
            assert_eq!(
                serde_json::from_value::<Definition>(wire.clone()).unwrap(),
                definition
            );
            assert_eq!(serde_json::to_value(&definition).unwrap(), wire);
        }
    }

    #[test]
    fn a_lookalike_without_a_seed_reads_as_none_for_validation_to_refuse() {
        let read: Definition =
            serde_json::from_value(json!({"method": "lookalike", "target_size": 9})).unwrap();
        assert_eq!(
            read,
            Definition::Lookalike(Lookalike {
                seed: None,
                target_size: 9
            })
        );
    }

    #[test]
    fn a_lookalike_with_two_seeds_is_refused() {
        let read = serde_json::from_value::<Definition>(
            json!({"method": "lookalike", "seed_segment_id": 1, "seed_upload_id": 2, "target_size": 9}),
        );
        assert!(read.is_err(), "{read:?}");
    }
}
