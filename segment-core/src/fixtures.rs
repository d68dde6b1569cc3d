//! A small catalog with the product guide's own example tags.

use chrono::NaiveDate;

use crate::TargetObject;
use crate::catalog::{Attribute, Catalog, DataType, TagDef, TagKind, TenantKind};

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("fixture dates are YYYY-MM-DD")
}

pub fn profile(code: &str, data_type: DataType, values: &[&str], dates: &[&str]) -> TagDef {
    TagDef {
        code: code.into(),
        name: code.into(),
        description: String::new(),
        category: "test".into(),
        target_object: TargetObject::User,
        kind: TagKind::Profile {
            data_type,
            values: values.iter().map(|v| v.to_string()).collect(),
        },
        ready_dates: dates.iter().map(|d| date(d)).collect(),
        tenant: None,
        tenant_filter: None,
    }
}

pub fn catalog() -> Catalog {
    let dates = ["2024-07-30", "2024-08-04"];
    Catalog {
        tags: vec![
            profile(
                "city_cross_border_ride",
                DataType::Enum,
                &["Shenzhen", "Guangzhou", "Shanghai", "Beijing"],
                &dates,
            ),
            profile("v2_is_black_list", DataType::Boolean, &[], &dates),
            profile("v2_register_gmt_cn", DataType::Datetime, &[], &dates),
            profile("v2_trade_cnt_7d", DataType::Number, &[], &dates),
            TagDef {
                code: "trade".into(),
                name: "Trade".into(),
                description: String::new(),
                category: "behavior".into(),
                target_object: TargetObject::User,
                kind: TagKind::Behavior {
                    attributes: vec![
                        Attribute {
                            code: "industry_l1".into(),
                            name: "1st level industry".into(),
                            data_type: DataType::Enum,
                            values: vec!["Food & Beverages".into(), "Retail".into()],
                            tenant: None,
                        },
                        Attribute {
                            code: "card_bin".into(),
                            name: "Card BIN No".into(),
                            data_type: DataType::Number,
                            values: vec![],
                            tenant: None,
                        },
                        Attribute {
                            code: "merchant_id".into(),
                            name: "Merchant".into(),
                            data_type: DataType::Enum,
                            values: vec!["M1".into(), "M2".into()],
                            tenant: Some(TenantKind::Merchant),
                        },
                    ],
                },
                ready_dates: vec![date("2024-08-01"), date("2024-08-02"), date("2024-08-03")],
                tenant: None,
                tenant_filter: None,
            },
            TagDef {
                code: "store_rating".into(),
                name: "Store rating".into(),
                description: String::new(),
                category: "store".into(),
                target_object: TargetObject::Store,
                kind: TagKind::Profile {
                    data_type: DataType::Number,
                    values: vec![],
                },
                ready_dates: vec![date("2024-08-04")],
                tenant: None,
                tenant_filter: None,
            },
        ],
    }
}
