//! Overlaps of segments and insights into one, counted by the engine on
//! the current snapshots, within what the caller may see.

use std::time::Instant;

use roaring::RoaringBitmap;
use segment_core::engine::insights::{distributions, overlap as regions};

use super::manage::servable;
use super::visible::Visible;
use crate::state::AppState;
use crate::tags::catalog_for;
use segment_contract::auth::Principal;
use segment_contract::error::{AppError, AppResult};
use segment_contract::ids::SegmentId;
use segment_contract::segments::*;

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The exact regions of two or three Active segments' overlap.
pub async fn overlap(
    state: &AppState,
    principal: &Principal,
    request: &OverlapRequest,
) -> AppResult<Overlap> {
    let ids = &request.segment_ids;
    if !(2..=MAX_OVERLAP).contains(&ids.len()) {
        return Err(AppError::validation(
            "segment_ids",
            format!("Choose two or three segments to overlap ({} given).", ids.len()),
        ));
    }
    if let Some(repeated) = ids.iter().enumerate().find(|(i, id)| ids[..*i].contains(id)) {
        return Err(AppError::validation(
            "segment_ids",
            format!(
                "Segment {} is chosen twice: choose different segments.",
                repeated.1
            ),
        ));
    }
    let mut segments = Vec::new();
    let mut members = Vec::new();
    for id in ids {
        let (serving, run_id, snapshot) = servable(state, principal, *id).await?;
        segments.push((serving, run_id));
        members.push(snapshot);
    }
    let target = segments[0].0.record.target_object;
    if let Some((other, _)) = segments.iter().find(|(s, _)| s.record.target_object != target) {
        return Err(AppError::validation(
            "segment_ids",
            format!(
                "Segment {} targets {} and segment {} targets {}: overlap segments of one target object.",
                segments[0].0.record.id,
                target.label().to_lowercase(),
                other.record.id,
                other.record.target_object.label().to_lowercase(),
            ),
        ));
    }
    let visible = Visible::to(state, &principal.scope, target).await?;
    let (counted, engine_micros) = state
        .engine
        .run(&principal.key(), Some(state.estimate_deadline), move || {
            let started = Instant::now();
            // Snapshots of the caller's segments are within its audience
            // already; restricting again is a guard.
            let seen: Vec<RoaringBitmap> = members.iter().map(|m| visible.restrict(m)).collect();
            let refs: Vec<&RoaringBitmap> = seen.iter().collect();
            let counted = (
                regions(&refs),
                seen.iter().map(RoaringBitmap::len).collect::<Vec<_>>(),
            );
            (counted, micros(started))
        })
        .await?;
    let (regions, sizes) = counted;
    Ok(Overlap {
        target_object: target,
        segments: segments
            .iter()
            .zip(sizes)
            .map(|((serving, run_id), size)| OverlapSegment {
                id: serving.record.id,
                name: serving.record.name.clone(),
                run_id: *run_id,
                size,
                data_date: serving.record.data_date.clone(),
            })
            .collect(),
        regions,
        engine_micros,
    })
}

/// How an Active segment spreads over tag values beside the population
/// (or the caller's audience): the tags asked for, or the most distinctive.
pub async fn insights(
    state: &AppState,
    principal: &Principal,
    id: SegmentId,
    request: &InsightsRequest,
) -> AppResult<Insights> {
    if request.tags.len() > MAX_INSIGHTS {
        return Err(AppError::validation(
            "tags",
            format!(
                "Choose at most {MAX_INSIGHTS} tags ({} given).",
                request.tags.len()
            ),
        ));
    }
    let (serving, run_id, members) = servable(state, principal, id).await?;
    let target = serving.record.target_object;
    let loaded = state.tag_index.loaded()?;
    let scope = principal.scope.clone();
    let catalog = catalog_for(&loaded.catalog, &scope).into_owned();
    if let Some(unknown) = request
        .tags
        .iter()
        .find(|code| !catalog.for_target(target).any(|tag| tag.code == **code))
    {
        return Err(AppError::validation(
            "tags",
            format!(
                "There is no tag {unknown:?} for {}.",
                target.label().to_lowercase()
            ),
        ));
    }
    let tags = catalog
        .for_target(target)
        .map(|tag| InsightTag {
            code: tag.code.clone(),
            name: tag.name.clone(),
        })
        .collect();
    let asked = request.tags.clone();
    let (base, sizes, mut described, engine_micros) = state
        .engine
        .run(&principal.key(), Some(state.estimate_deadline), move || {
            let started = Instant::now();
            let population = loaded.index.population(target);
            let (base, universe) = match scope.audience_scopes() {
                None => (InsightBase::Population, population),
                Some(scopes) => (
                    InsightBase::Audience,
                    loaded.index.audience(&scopes, target) & population,
                ),
            };
            let sizes = (members.intersection_len(&universe), universe.len());
            let chosen = catalog
                .for_target(target)
                .filter(|tag| asked.is_empty() || asked.contains(&tag.code));
            let mut described = distributions(&loaded.index, chosen, target, &universe, &members);
            if asked.is_empty() {
                described.sort_by(|a, b| b.distinctiveness.total_cmp(&a.distinctiveness));
                described.truncate(DEFAULT_INSIGHTS);
            }
            (base, sizes, described, micros(started))
        })
        .await?;
    if !request.tags.is_empty() {
        described.sort_by_key(|d| request.tags.iter().position(|code| *code == d.tag));
    }
    Ok(Insights {
        run_id,
        target_object: target,
        base,
        segment_size: sizes.0,
        base_size: sizes.1,
        distributions: described,
        tags,
        engine_micros,
    })
}
