use leptos::prelude::*;

use crate::segments::{RunPhase, SegmentStatus};

/// How far a generating segment has come, by the phase of its run.
fn phase_progress(phase: Option<RunPhase>) -> (u32, &'static str) {
    match phase {
        Some(RunPhase::Waiting) => (20, "waiting for input"),
        Some(RunPhase::Evaluating) => (50, "evaluating"),
        Some(RunPhase::Retrying) => (35, "retrying"),
        Some(RunPhase::Storing) => (85, "storing"),
        _ => (10, "queued"),
    }
}

/// The status badge; generating segments show their run's progress.
#[component]
pub fn StatusBadge(status: SegmentStatus, phase: Option<RunPhase>, error: Option<String>) -> impl IntoView {
    let class = format!("status status-{}", status.as_str());
    let generating = status == SegmentStatus::Generating;
    let (percent, label) = phase_progress(phase);
    view! {
        <span class=class data-status=status.as_str() title=error.unwrap_or_default()>{status.label()}</span>
        {generating.then(|| view! {
            <span class="progress" title=label>
                <span class="progress-bar" style=format!("width: {percent}%")></span>
            </span>
            <span class="muted small">{label}</span>
        })}
    }
}
