//! The tag catalog: what can be filtered on, of which type, and for which dates data is ready.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::TargetObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataType {
    Enum,
    Boolean,
    Datetime,
    Number,
}

impl DataType {
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Enum => "enum",
            DataType::Boolean => "boolean",
            DataType::Datetime => "datetime",
            DataType::Number => "number",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DataType::Enum => "Enumeration",
            DataType::Boolean => "Boolean",
            DataType::Datetime => "Date/Time",
            DataType::Number => "Number",
        }
    }

    pub fn parse(text: &str) -> Option<DataType> {
        [
            DataType::Enum,
            DataType::Boolean,
            DataType::Datetime,
            DataType::Number,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}

/// Whose IDs the values of an enum tag or attribute are: the merchant or
/// the store an event happened at (`"tenant": "merchant"` in the catalog).
/// A merchant or store principal sees and names only its own, and its
/// behavior conditions count only events at its own merchant or stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantKind {
    Merchant,
    Store,
}

/// A scoped principal as the catalog sees it: a merchant and its ID, or a
/// store manager and its store IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub kind: TenantKind,
    pub ids: Vec<String>,
}

/// The events a tenant's behavior conditions count: those whose `attr`
/// is one of `ids` (added to every condition on the tag by validation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFilter {
    pub attr: String,
    pub ids: Vec<String>,
}

/// An attribute of a behavior (for example `industry_l1` of `trade`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub code: String,
    pub name: String,
    pub data_type: DataType,
    /// The allowed values of an enum attribute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// The values are IDs of merchants or stores (enum attributes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TagKind {
    /// One value per entity per daily partition.
    Profile {
        data_type: DataType,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        values: Vec<String>,
    },
    /// Daily event counts per entity and combination of attribute values.
    Behavior { attributes: Vec<Attribute> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagDef {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category: String,
    pub target_object: TargetObject,
    #[serde(flatten)]
    pub kind: TagKind,
    /// Dates whose data is loaded, ascending.
    #[serde(default)]
    pub ready_dates: Vec<NaiveDate>,
    /// The values of this enum profile tag are IDs of merchants or stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantKind>,
    /// Set in a tenant's view of the catalog ([`Catalog::for_tenant`]):
    /// the events of this behavior that tenant may count.
    #[serde(skip)]
    pub tenant_filter: Option<TenantFilter>,
}

impl TagDef {
    pub fn latest_date(&self) -> Option<NaiveDate> {
        self.ready_dates.last().copied()
    }

    pub fn is_ready(&self, date: NaiveDate) -> bool {
        self.ready_dates.binary_search(&date).is_ok()
    }

    pub fn profile_type(&self) -> Option<DataType> {
        match &self.kind {
            TagKind::Profile { data_type, .. } => Some(*data_type),
            TagKind::Behavior { .. } => None,
        }
    }

    pub fn attribute(&self, code: &str) -> Option<&Attribute> {
        match &self.kind {
            TagKind::Behavior { attributes } => attributes.iter().find(|a| a.code == code),
            TagKind::Profile { .. } => None,
        }
    }

    /// The values an enum or boolean condition may name.
    pub fn allowed_values(&self) -> Vec<String> {
        match &self.kind {
            TagKind::Profile {
                data_type: DataType::Boolean,
                ..
            } => vec!["true".into(), "false".into()],
            TagKind::Profile { values, .. } => values.clone(),
            TagKind::Behavior { .. } => Vec::new(),
        }
    }

    /// Text a tag search matches against.
    pub fn search_text(&self) -> String {
        let mut text = format!(
            "{} {} {} {}",
            self.code, self.name, self.description, self.category
        );
        match &self.kind {
            TagKind::Profile { values, .. } => {
                for value in values {
                    text.push(' ');
                    text.push_str(value);
                }
            }
            TagKind::Behavior { attributes } => {
                for attribute in attributes {
                    text.push(' ');
                    text.push_str(&attribute.code);
                    text.push(' ');
                    text.push_str(&attribute.name);
                }
            }
        }
        text.to_lowercase()
    }
}

/// Tag codes, attribute codes and enum values become SQL identifiers or
/// literals; codes are restricted to a safe alphabet.
pub fn validate_code(code: &str) -> Result<(), &'static str> {
    let mut chars = code.chars();
    match chars.next() {
        Some(c) if c.is_ascii_lowercase() => {}
        _ => return Err("must start with a lower-case letter"),
    }
    if code.len() > 48 {
        return Err("is longer than 48 characters");
    }
    if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err("may only contain a-z, 0-9 and '_'");
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub tags: Vec<TagDef>,
}

impl Catalog {
    pub fn tag(&self, code: &str) -> Option<&TagDef> {
        self.tags.iter().find(|t| t.code == code)
    }

    pub fn for_target(&self, target: TargetObject) -> impl Iterator<Item = &TagDef> {
        self.tags.iter().filter(move |t| t.target_object == target)
    }

    /// The catalog as a merchant or store principal may use it: values that
    /// are IDs of merchants or stores narrowed to its own, behaviors counted
    /// only at its own merchant or stores, and tags whose values or events
    /// belong to the other kind of tenant left out (their values would name
    /// other tenants, their counts show what happened elsewhere).
    pub fn for_tenant(&self, tenant: &Tenant) -> Catalog {
        let own = |values: &[String]| -> Vec<String> {
            values
                .iter()
                .filter(|v| tenant.ids.contains(v))
                .cloned()
                .collect()
        };
        let tags = self
            .tags
            .iter()
            .filter_map(|tag| {
                let mut tag = tag.clone();
                match &mut tag.kind {
                    TagKind::Profile { values, .. } => match tag.tenant {
                        None => {}
                        Some(kind) if kind == tenant.kind => *values = own(values),
                        Some(_) => return None,
                    },
                    TagKind::Behavior { attributes } => {
                        let mut filter = None;
                        let mut foreign = false;
                        attributes.retain_mut(|attribute| match attribute.tenant {
                            None => true,
                            Some(kind) if kind == tenant.kind => {
                                attribute.values = own(&attribute.values);
                                filter.get_or_insert_with(|| TenantFilter {
                                    attr: attribute.code.clone(),
                                    ids: tenant.ids.clone(),
                                });
                                true
                            }
                            Some(_) => {
                                foreign = true;
                                false
                            }
                        });
                        if filter.is_none() && foreign {
                            return None;
                        }
                        tag.tenant_filter = filter;
                    }
                }
                Some(tag)
            })
            .collect();
        Catalog { tags }
    }

    /// Tags of `target` whose text contains every word of `query`.
    pub fn search(&self, target: Option<TargetObject>, query: &str) -> Vec<&TagDef> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.tags
            .iter()
            .filter(|t| target.is_none_or(|target| t.target_object == target))
            .filter(|t| {
                let text = t.search_text();
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_safe_identifiers() {
        assert!(validate_code("v2_trade_cnt_7d").is_ok());
        assert!(validate_code("2x").is_err());
        assert!(validate_code("a-b").is_err());
        assert!(validate_code("a\"; drop").is_err());
        assert!(validate_code("").is_err());
    }

    #[test]
    fn search_matches_every_word_in_any_field() {
        let catalog = Catalog {
            tags: vec![TagDef {
                code: "city_cross_border_ride".into(),
                name: "Cities enabled for cross-border ride codes".into(),
                description: String::new(),
                category: "Travel".into(),
                target_object: TargetObject::User,
                kind: TagKind::Profile {
                    data_type: DataType::Enum,
                    values: vec!["Shenzhen".into()],
                },
                ready_dates: vec![],
                tenant: None,
                tenant_filter: None,
            }],
        };
        assert_eq!(
            catalog.search(Some(TargetObject::User), "travel shenzhen").len(),
            1
        );
        assert_eq!(catalog.search(Some(TargetObject::Store), "travel").len(), 0);
        assert_eq!(catalog.search(None, "ride nope").len(), 0);
    }
}
