//! The IDs of the stored objects, one type each, so that a group's ID
//! cannot be passed where a segment's is expected. On the wire and in the
//! database each is the plain integer.

use serde::{Deserialize, Serialize};

macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
            #[serde(transparent)]
            #[cfg_attr(feature = "server", derive(sqlx::Type), sqlx(transparent))]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = i64))]
            pub struct $name(pub i64);

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }

            impl std::str::FromStr for $name {
                type Err = std::num::ParseIntError;

                fn from_str(text: &str) -> Result<Self, Self::Err> {
                    text.parse().map($name)
                }
            }
        )*
    };
}

id_types! {
    /// A segment.
    SegmentId,
    /// A segment group.
    GroupId,
    /// An uploaded ID list.
    UploadId,
    /// A materialization run of a segment.
    RunId,
    /// An export of a segment's snapshot.
    ExportId,
}
