//! The live estimate of a rule being edited. The rule is first checked in
//! the browser by the shared `validate`, against the catalog the editor
//! already holds: a problem shows at once at its condition, and an
//! incomplete rule sends nothing. A complete rule is sent once it has been
//! still for a moment; the answer is a resource keyed on that rule, so a
//! late answer to an older rule is never shown, and an index that is still
//! loading is asked again by itself.

use std::time::Duration;

use leptos::prelude::*;
use segment_core::TargetObject;
use segment_core::catalog::Catalog;
use segment_core::rule::Rule;
use segment_core::time::{parse_tz, today_in};
use segment_core::validate::{Context, Problem, validate};

use crate::error::AppError;
use crate::segments::api::estimate_segment;
use crate::segments::*;

/// Quiet time after the last edit before the engine is asked.
const SETTLE: Duration = Duration::from_millis(300);
/// Wait before asking again while the tag index loads.
const RETRY: Duration = Duration::from_secs(2);

/// The rule as the browser sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalCheck {
    /// The catalog has not arrived yet.
    Loading,
    /// No condition yet.
    Empty,
    Problems(Vec<Problem>),
    Complete(Rule),
}

/// Checks `rule` against `catalog` as the server would (the server checks
/// again: it is the authority).
pub fn check_locally(
    rule: Rule,
    catalog: Option<&Catalog>,
    target: TargetObject,
    time_zone: &str,
) -> LocalCheck {
    let Some(catalog) = catalog else {
        return LocalCheck::Loading;
    };
    if rule.groups.iter().all(|group| group.conditions.is_empty()) {
        return LocalCheck::Empty;
    }
    let zone = parse_tz(time_zone).unwrap_or(chrono_tz::UTC);
    let context = Context {
        catalog,
        target,
        time_zone: zone,
        as_of: today_in(zone, chrono::Utc::now()),
    };
    match validate(&rule, &context) {
        Ok(_) => LocalCheck::Complete(rule),
        Err(problems) => LocalCheck::Problems(problems),
    }
}

/// What the estimate panel shows.
#[derive(Clone, Copy)]
pub struct LiveEstimate {
    pub check: Memo<LocalCheck>,
    /// The engine's answer and the request it answers; `None` before one.
    pub answer: LocalResource<Option<(EstimateRequest, Result<Estimate, AppError>)>>,
    /// Whether a newer answer is on its way (settling or asked).
    pub updating: Signal<bool>,
}

impl LiveEstimate {
    /// The last answer, kept while a newer one is on its way.
    pub fn latest(&self) -> Option<Result<Estimate, AppError>> {
        self.answer.get().flatten().map(|(_, answer)| answer)
    }

    /// Problems to mark in the editor: the browser's, else the server's.
    pub fn problems(&self) -> Vec<Problem> {
        match self.check.get() {
            LocalCheck::Problems(problems) => problems,
            LocalCheck::Complete(_) => match self.latest() {
                Some(Err(AppError::InvalidRule(problems))) => problems,
                _ => Vec::new(),
            },
            LocalCheck::Loading | LocalCheck::Empty => Vec::new(),
        }
    }
}

pub fn live_estimate(
    rule: Memo<Rule>,
    // Built once per catalog, not once per edit.
    catalog: Memo<Option<Catalog>>,
    target: Signal<TargetObject>,
    time_zone: Signal<String>,
) -> LiveEstimate {
    let check = Memo::new(move |_| {
        catalog.with(|catalog| check_locally(rule.get(), catalog.as_ref(), target.get(), &time_zone.get()))
    });
    // The request of the complete rule once it has been still for SETTLE.
    let settled = RwSignal::new(None::<EstimateRequest>);
    let settling = RwSignal::new(false);
    let edits = StoredValue::new(0u64);
    Effect::new(move |_| {
        let LocalCheck::Complete(rule) = check.get() else {
            settled.set(None);
            settling.set(false);
            return;
        };
        let request = EstimateRequest {
            target_object: target.get_untracked(),
            rule,
            time_zone: Some(time_zone.get_untracked()),
            as_of: None,
        };
        let edit = edits.get_value() + 1;
        edits.set_value(edit);
        settling.set(true);
        set_timeout(
            move || {
                if edits.get_value() == edit {
                    settling.set(false);
                    settled.set(Some(request));
                }
            },
            SETTLE,
        );
    });
    let attempt = RwSignal::new(0u32);
    let answer = LocalResource::new(move || {
        let request = settled.get();
        attempt.track();
        async move {
            match request {
                Some(request) => Some((request.clone(), estimate_segment(request).await)),
                None => None,
            }
        }
    });
    // The index is still loading at start-up: ask again until it answers.
    Effect::new(move |_| {
        if let Some(Some((_, Err(AppError::Unavailable(_))))) = answer.get() {
            set_timeout(move || attempt.update(|n| *n += 1), RETRY);
        }
    });
    // Settling, or the settled request is not the one answered yet.
    let updating = Signal::derive(move || {
        settling.get()
            || settled.with(|asked| {
                asked.is_some()
                    && answer.with(|a| a.as_ref().and_then(|a| a.as_ref()).map(|(r, _)| r) != asked.as_ref())
            })
    });
    LiveEstimate {
        check,
        answer,
        updating,
    }
}
