//! The overlap of segments and insights into one: exact counts from the
//! current snapshots, within the caller's audience.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::isolation::{active, import_tenants};

fn condition(condition: Value) -> Value {
    json!({"groups": [{"conditions": [condition]}]})
}

fn city(city: &str) -> Value {
    condition(
        json!({"type": "profile", "tag": "city_cross_border_ride", "date": {"mode": "latest"}, "op": "in", "values": [city]}),
    )
}

fn traded() -> Value {
    condition(json!({"type": "behavior", "behavior": "trade",
        "window": {"mode": "fixed", "from": "2024-08-01", "to": "2024-08-04"}, "count": {"op": "gte", "value": 1}}))
}

fn segment(name: &str, rule: Value) -> Value {
    json!({
        "name": name, "target_object": "user", "update_frequency": "one_time",
        "usage_scenarios": ["message_ad_delivery"], "time_zone": "Asia/Shanghai",
        "expires_at": "2030-01-31 23:59", "definition": {"method": "tag_filter", "rule": rule}
    })
}

/// `(mask, count)` of every region, in the answer's order.
fn regions(overlap: &Value) -> Vec<(u64, u64)> {
    overlap["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["mask"].as_u64().unwrap(), r["count"].as_u64().unwrap()))
        .collect()
}

/// `(value, in segment, in base)` of a distribution's buckets.
fn buckets(distribution: &Value) -> Vec<(String, u64, u64)> {
    distribution["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["value"].as_str().unwrap().to_string(),
                b["in_segment"].as_u64().unwrap(),
                b["in_base"].as_u64().unwrap(),
            )
        })
        .collect()
}

both_backends! {
    async fn the_overlap_counts_every_region_exactly(app: TestApp) {
        import_tenants(&app).await;
        let platform = app.token("platform").await;
        // Shenzhen: U1, U4. Traded: U1, U2, U4. Guangzhou: U2.
        let shenzhen = active(&app, &platform, segment("Shenzhen", city("Shenzhen"))).await;
        let traders = active(&app, &platform, segment("Traders", traded())).await;
        let guangzhou = active(&app, &platform, segment("Guangzhou", city("Guangzhou"))).await;

        let (status, two) = send(app.post("/api/v1/segments/overlap", &platform,
            json!({"segment_ids": [shenzhen, traders]}))).await;
        assert_eq!(status, 200, "{two}");
        assert_eq!(regions(&two), [(0b01, 0), (0b10, 1), (0b11, 2)]);
        assert_eq!(two["segments"][1]["name"], "Traders");
        assert_eq!(two["segments"][1]["size"], 3);

        let (status, three) = send(app.post("/api/v1/segments/overlap", &platform,
            json!({"segment_ids": [shenzhen, traders, guangzhou]}))).await;
        assert_eq!(status, 200, "{three}");
        assert_eq!(regions(&three), [(1, 0), (2, 0), (3, 2), (4, 0), (5, 0), (6, 1), (7, 0)]);

        // Not two or three different segments: refused with the reason.
        for (ids, says) in [
            (json!([shenzhen]), "Choose two or three segments"),
            (json!([shenzhen, shenzhen]), "chosen twice"),
            (json!([shenzhen, traders, guangzhou, 999]), "Choose two or three segments"),
        ] {
            let (status, body) = send(app.post("/api/v1/segments/overlap", &platform, json!({"segment_ids": ids}))).await;
            assert_eq!(status, 400, "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains(says), "{body}");
        }
    }
}

both_backends! {
    async fn a_merchant_overlaps_only_its_own_segments_within_its_audience(app: TestApp) {
        import_tenants(&app).await;
        let platform = app.token("platform").await;
        let m1 = app.token("merchant:M1").await;
        // As M1: Shenzhen is U1 only (U4 is M2's); traded at M1 is U1 and U2.
        let shenzhen = active(&app, &m1, segment("M1 Shenzhen", city("Shenzhen"))).await;
        let traders = active(&app, &m1, segment("M1 traders", traded())).await;
        let (status, overlap) = send(app.post("/api/v1/segments/overlap", &m1,
            json!({"segment_ids": [shenzhen, traders]}))).await;
        assert_eq!(status, 200, "{overlap}");
        assert_eq!(regions(&overlap), [(0b01, 0), (0b10, 1), (0b11, 1)]);

        // Another scope's segment reads like one that does not exist.
        let platform_segment = active(&app, &platform, segment("Platform", city("Shenzhen"))).await;
        let (status, body) = send(app.post("/api/v1/segments/overlap", &m1,
            json!({"segment_ids": [shenzhen, platform_segment]}))).await;
        assert_eq!(status, 404, "{body}");
    }
}

both_backends! {
    async fn insights_compare_a_segment_with_its_base_value_by_value(app: TestApp) {
        import_tenants(&app).await;
        let platform = app.token("platform").await;
        let shenzhen = active(&app, &platform, segment("Shenzhen", city("Shenzhen"))).await;
        let path = format!("/api/v1/segments/{shenzhen}/insights");

        // Asked tags come back in the order asked.
        let (status, insights) = send(app.post(&path, &platform,
            json!({"tags": ["wallet_balance", "city_cross_border_ride"]}))).await;
        assert_eq!(status, 200, "{insights}");
        assert_eq!((insights["base"].as_str(), insights["segment_size"].as_u64(), insights["base_size"].as_u64()),
            (Some("population"), Some(2), Some(4)));
        let described = insights["distributions"].as_array().unwrap();
        assert_eq!(described[0]["tag"], "wallet_balance");
        // Balances 120 (U1) and 9000 (U4); U2 and U3 have none.
        assert_eq!(buckets(&described[0]), [
            ("[120, 9000)".to_string(), 1, 1), ("= 9000".to_string(), 1, 1), ("no value".to_string(), 0, 2)]);
        assert_eq!(described[1]["tag_name"], "Ride code city");
        assert_eq!(buckets(&described[1]), [
            ("Guangzhou".to_string(), 0, 1), ("Shanghai".to_string(), 0, 1), ("Shenzhen".to_string(), 2, 2)]);
        assert_eq!(described[1]["data_date"], "2024-08-04");
        let tags: Vec<&str> = insights["tags"].as_array().unwrap().iter().map(|t| t["code"].as_str().unwrap()).collect();
        assert_eq!(tags, ["city_cross_border_ride", "trade", "wallet_balance"]);

        // None asked: the most distinctive first (the trade activity, 0.25, last).
        let (status, defaults) = send(app.post(&path, &platform, json!({}))).await;
        assert_eq!(status, 200, "{defaults}");
        let order: Vec<&str> = defaults["distributions"].as_array().unwrap().iter().map(|d| d["tag"].as_str().unwrap()).collect();
        assert_eq!(order, ["city_cross_border_ride", "wallet_balance", "trade"], "{defaults}");
        assert_eq!(buckets(&defaults["distributions"][2]), [
            ("in the last 7 days".to_string(), 2, 3), ("not in 30 days".to_string(), 0, 1)]);

        let (status, body) = send(app.post(&path, &platform, json!({"tags": ["shoe_size"]}))).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("no tag \"shoe_size\" for users"), "{body}");
    }
}

both_backends! {
    async fn a_merchants_insights_count_only_its_audience(app: TestApp) {
        import_tenants(&app).await;
        let m1 = app.token("merchant:M1").await;
        let shenzhen = active(&app, &m1, segment("M1 Shenzhen", city("Shenzhen"))).await;
        let (status, insights) = send(app.post(&format!("/api/v1/segments/{shenzhen}/insights"), &m1,
            json!({"tags": ["city_cross_border_ride"]}))).await;
        assert_eq!(status, 200, "{insights}");
        assert_eq!((insights["base"].as_str(), insights["segment_size"].as_u64(), insights["base_size"].as_u64()),
            (Some("audience"), Some(1), Some(3)));
        // U4 (M2's Shenzhen rider) is counted nowhere.
        assert_eq!(buckets(&insights["distributions"][0]), [
            ("Guangzhou".to_string(), 0, 1), ("Shanghai".to_string(), 0, 1), ("Shenzhen".to_string(), 1, 1)]);
    }
}
