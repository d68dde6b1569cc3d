//! Segment overlap: two or three Active segments of one target object as a
//! Venn diagram with the exact size of every region, and any pair's
//! intersection, union or difference created as a segment set in one click.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use segment_core::insights::{in_all, in_all_but, in_any};

use crate::components::widgets::{ErrorBanner, Modal, format_count};
use crate::error::AppError;
use crate::segments::api::{create_segment, get_segment, list_segments, overlap_segments};
use crate::segments::*;

/// A, B, C: how the picture and the tables name the segments.
const LETTERS: [&str; MAX_OVERLAP] = ["A", "B", "C"];

/// `?ids=4,7` → the segments to compare, in order.
fn ids_from(query: Option<String>) -> Vec<SegmentId> {
    query
        .unwrap_or_default()
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .take(MAX_OVERLAP)
        .collect()
}

#[component]
pub fn OverlapPage() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| ids_from(query.with(|q| q.get("ids"))));
    let overlap = Resource::new(
        move || ids.get(),
        |segment_ids| async move {
            if segment_ids.len() < 2 {
                return None;
            }
            Some(overlap_segments(OverlapRequest { segment_ids }).await)
        },
    );
    view! {
        <Title text="Segment overlap"/>
        <nav class="breadcrumb"><a href="/segments">"Segment Targeting"</a><span>" › "</span><span>"Overlap"</span></nav>
        <div class="page-header"><h1>"Segment overlap"</h1></div>
        <Picker chosen=ids/>
        <Transition fallback=|| view! { <p class="muted">"Counting…"</p> }>
            {move || overlap.get().map(|answer| match answer {
                None => view! {
                    <p class="muted" data-testid="overlap-empty">
                        "Choose two or three Active segments of one target object to see how their members overlap."
                    </p>
                }.into_any(),
                Some(Err(error)) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                Some(Ok(overlap)) => view! { <OverlapView overlap/> }.into_any(),
            })}
        </Transition>
    }
}

/// Up to three selects of Active segments; Compare puts the choice in the
/// address, so the picture can be shared and Back returns to the last one.
#[component]
fn Picker(chosen: Memo<Vec<SegmentId>>) -> impl IntoView {
    let active = LocalResource::new(|| {
        list_segments(ListQuery {
            status: Some(SegmentStatus::Active),
            sort: Some(SortKey::Name),
            asc: Some(true),
            page_size: Some(MAX_PAGE_SIZE),
            ..Default::default()
        })
    });
    let picks: [RwSignal<Option<SegmentId>>; MAX_OVERLAP] =
        std::array::from_fn(|i| RwSignal::new(chosen.get_untracked().get(i).copied()));
    Effect::new(move |_| {
        let ids = chosen.get();
        for (i, pick) in picks.iter().enumerate() {
            pick.set(ids.get(i).copied());
        }
    });
    let navigate = use_navigate();
    let compare = move |_| {
        let ids: Vec<String> = picks
            .iter()
            .filter_map(|pick| pick.get_untracked())
            .map(|id| id.to_string())
            .collect();
        navigate(
            &format!("/segments/overlap?ids={}", ids.join(",")),
            Default::default(),
        );
    };
    let select = move |i: usize| {
        let pick = picks[i];
        let label = if i < 2 {
            format!("Segment {}", LETTERS[i])
        } else {
            format!("Segment {} (optional)", LETTERS[i])
        };
        view! {
            <label class="field">
                <span>{label.clone()}</span>
                <select aria-label=label data-testid=format!("overlap-pick-{i}")
                    on:change=move |ev| pick.set(event_target_value(&ev).parse().ok())>
                    <option value="">"Choose an Active segment…"</option>
                    {move || active.get().and_then(Result::ok).map(|page| page.rows.into_iter().map(|row| view! {
                        <option value=row.id.to_string() selected=move || pick.get() == Some(row.id)>
                            {format!("#{} {} · {} · {} members", row.id, row.name, row.target_object.label(),
                                format_count(row.size.unwrap_or(0)))}
                        </option>
                    }).collect_view())}
                </select>
            </label>
        }
    };
    view! {
        <section class="panel">
            <div class="form-grid overlap-picker">{select(0)}{select(1)}{select(2)}</div>
            <div class="form-actions">
                <button type="button" class="btn btn-primary" data-testid="overlap-compare" on:click=compare>"Compare"</button>
            </div>
        </section>
    }
}

/// The segment's letter and name: `A · Shenzhen riders`.
fn named(overlap: &Overlap, i: usize) -> String {
    format!("{} · {}", LETTERS[i], overlap.segments[i].name)
}

/// Which segments a region holds: `A and B, not C`.
fn region_name(count: usize, mask: u8) -> String {
    let (inside, outside): (Vec<usize>, Vec<usize>) = (0..count).partition(|i| mask & (1 << i) != 0);
    let letters = |set: &[usize]| set.iter().map(|i| LETTERS[*i]).collect::<Vec<_>>();
    let within = letters(&inside);
    let within = match within.as_slice() {
        [one] => format!("{one} only"),
        [first @ .., last] => format!("{} and {last}", first.join(", ")),
        [] => String::new(),
    };
    if inside.len() == 1 || outside.is_empty() {
        within
    } else {
        format!("{within}, not {}", letters(&outside).join(" or "))
    }
}

#[component]
fn OverlapView(overlap: Overlap) -> impl IntoView {
    let count = overlap.segments.len();
    let all = (1u8 << count) - 1;
    let union = in_any(&overlap.regions, all);
    let creating = RwSignal::new(None::<NewSet>);
    let share = move |n: u64| {
        if union == 0 {
            "—".to_string()
        } else {
            format!("{:.1}%", n as f64 / union as f64 * 100.0)
        }
    };
    let facts = format!(
        "{} {} in at least one segment; exact counts from each segment's current snapshot, computed in {:.1} ms.",
        format_count(union),
        overlap.target_object.label().to_lowercase(),
        overlap.engine_micros as f64 / 1000.0
    );
    let pairs: Vec<(usize, usize)> = (0..count)
        .flat_map(|a| ((a + 1)..count).map(move |b| (a, b)))
        .collect();
    let ov = overlap.clone();
    view! {
        <section class="panel" data-testid="overlap">
            <h2>"Overlap"</h2>
            <p class="muted">{facts}</p>
            <div class="overlap-layout">
                <Venn overlap=overlap.clone()/>
                <table class="data-table compact" tabindex="0" data-testid="overlap-regions">
                    <thead><tr><th>"Region"</th><th class="num">"Members"</th><th class="num">"Share of all"</th></tr></thead>
                    <tbody>
                        {overlap.regions.iter().map(|region| view! {
                            <tr data-mask=region.mask.to_string()>
                                <td>{region_name(count, region.mask)}</td>
                                <td class="num">{format_count(region.count)}</td>
                                <td class="num">{share(region.count)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h3>"Segments"</h3>
            <table class="data-table compact" tabindex="0">
                <thead><tr><th><span class="visually-hidden">"Colour"</span></th><th>"Segment"</th><th class="num">"Members"</th><th>"Data date"</th></tr></thead>
                <tbody>
                    {overlap.segments.iter().enumerate().map(|(i, s)| view! {
                        <tr>
                            <td><span class=format!("swatch venn-swatch-{i}")></span>{LETTERS[i]}</td>
                            <td><a href=format!("/segments/{}", s.id)>{format!("#{} {}", s.id, s.name)}</a></td>
                            <td class="num">{format_count(s.size)}</td>
                            <td>{s.data_date.clone().unwrap_or_else(|| "—".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="panel">
            <h2>"Create a segment from the overlap"</h2>
            <p class="muted">"Each button creates a segment set of the two segments; the count is its size now."</p>
            <table class="data-table compact" tabindex="0" data-testid="overlap-create">
                <thead><tr><th>"Segments"</th><th>"Both"</th><th>"Either"</th><th>"First without second"</th><th>"Second without first"</th></tr></thead>
                <tbody>
                    {pairs.into_iter().map(|(a, b)| {
                        let (ma, mb) = (1u8 << a, 1u8 << b);
                        let ov = ov.clone();
                        let button = move |operation: SetOperation, left: usize, right: usize, size: u64, text: String| {
                            let ov = ov.clone();
                            view! {
                                <button type="button" class="btn btn-small" data-testid="create-set"
                                    on:click=move |_| creating.set(Some(NewSet::new(&ov, operation, left, right, size)))>
                                    {format!("{text} ({})", format_count(size))}
                                </button>
                            }
                        };
                        let (la, lb) = (LETTERS[a], LETTERS[b]);
                        view! {
                            <tr>
                                <td>{format!("{la} and {lb}")}</td>
                                <td>{button(SetOperation::Intersection, a, b, in_all(&overlap.regions, ma | mb), format!("{la} ∩ {lb}"))}</td>
                                <td>{button(SetOperation::Union, a, b, in_any(&overlap.regions, ma | mb), format!("{la} ∪ {lb}"))}</td>
                                <td>{button(SetOperation::Difference, a, b, in_all_but(&overlap.regions, ma, mb), format!("{la} − {lb}"))}</td>
                                <td>{button(SetOperation::Difference, b, a, in_all_but(&overlap.regions, mb, ma), format!("{lb} − {la}"))}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        {move || creating.get().map(|set| view! { <CreateSetDialog set on_close=Callback::new(move |_| creating.set(None))/> })}
    }
}

/// A place in the diagram's coordinates.
type Point = (f64, f64);

/// Circles at fixed places (not to scale) with every region's exact count.
#[component]
fn Venn(overlap: Overlap) -> impl IntoView {
    let count = overlap.segments.len();
    // Centres and label places for two or three circles.
    let (height, circles, spots): (f64, Vec<Point>, Vec<(u8, f64, f64)>) = if count == 2 {
        (
            240.0,
            vec![(210.0, 130.0), (310.0, 130.0)],
            vec![(0b01, 165.0, 135.0), (0b10, 355.0, 135.0), (0b11, 260.0, 135.0)],
        )
    } else {
        (
            310.0,
            vec![(215.0, 125.0), (305.0, 125.0), (260.0, 200.0)],
            vec![
                (0b001, 175.0, 110.0),
                (0b010, 345.0, 110.0),
                (0b100, 260.0, 255.0),
                (0b011, 260.0, 95.0),
                (0b101, 210.0, 185.0),
                (0b110, 310.0, 185.0),
                (0b111, 260.0, 158.0),
            ],
        )
    };
    let radius = if count == 2 { 90.0 } else { 80.0 };
    let count_of = |mask: u8| {
        overlap
            .regions
            .iter()
            .find(|r| r.mask == mask)
            .map_or(0, |r| r.count)
    };
    let description = overlap
        .regions
        .iter()
        .map(|r| format!("{}: {}", region_name(count, r.mask), format_count(r.count)))
        .collect::<Vec<_>>()
        .join("; ");
    view! {
        <svg class="venn" viewBox=format!("0 0 520 {height}") role="img" aria-label=format!("Overlap diagram. {description}")
            data-testid="venn">
            {circles.iter().enumerate().map(|(i, (x, y))| view! {
                <circle cx=x.to_string() cy=y.to_string() r=radius.to_string() class=format!("venn-circle venn-{i}")/>
            }).collect_view()}
            {circles.iter().enumerate().map(|(i, (x, y))| {
                // A's name ends above its circle, B's starts above its own, C's sits below.
                let (tx, ty, anchor) = match i {
                    0 => (x + 20.0, y - radius - 10.0, "end"),
                    1 => (x - 20.0, y - radius - 10.0, "start"),
                    _ => (*x, y + radius + 20.0, "middle"),
                };
                view! {
                    <text x=format!("{tx:.0}") y=format!("{ty:.0}") text-anchor=anchor class="venn-name">
                        {truncate(&named(&overlap, i), 30)}
                    </text>
                }
            }).collect_view()}
            {spots.into_iter().map(|(mask, x, y)| view! {
                <text x=x.to_string() y=y.to_string() text-anchor="middle" class="venn-count" data-mask=mask.to_string()>
                    {format_count(count_of(mask))}
                </text>
            }).collect_view()}
        </svg>
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

/// A segment set about to be created from the overlap.
#[derive(Debug, Clone, PartialEq)]
struct NewSet {
    left: OverlapSegment,
    right: OverlapSegment,
    operation: SetOperation,
    target_object: segment_core::TargetObject,
    /// Its size now, from the overlap.
    size: u64,
}

impl NewSet {
    fn new(overlap: &Overlap, operation: SetOperation, left: usize, right: usize, size: u64) -> NewSet {
        NewSet {
            left: overlap.segments[left].clone(),
            right: overlap.segments[right].clone(),
            operation,
            target_object: overlap.target_object,
            size,
        }
    }

    fn suggested_name(&self) -> String {
        let sign = match self.operation {
            SetOperation::Intersection => "∩",
            SetOperation::Union => "∪",
            SetOperation::Difference => "−",
        };
        truncate(
            &format!("{} {sign} {}", self.left.name, self.right.name),
            MAX_SEGMENT_NAME,
        )
    }

    fn sentence(&self) -> String {
        let (a, b) = (&self.left.name, &self.right.name);
        match self.operation {
            SetOperation::Intersection => format!("Members of both “{a}” and “{b}”"),
            SetOperation::Union => format!("Members of “{a}”, “{b}” or both"),
            SetOperation::Difference => format!("Members of “{a}” who are not in “{b}”"),
        }
    }
}

/// Name the new set and create it: the rest of its basic information comes
/// from the first segment (group, usage scenarios, time zone); it runs once
/// and expires with the earlier of the two.
#[component]
fn CreateSetDialog(set: NewSet, on_close: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(set.suggested_name());
    let inputs = Resource::new(
        {
            let (left, right) = (set.left.id, set.right.id);
            move || (left, right)
        },
        |(left, right)| async move { Ok::<_, AppError>((get_segment(left).await?, get_segment(right).await?)) },
    );
    let error = RwSignal::new(None::<AppError>);
    let navigate = use_navigate();
    let create = Action::new(|request: &CreateSegmentRequest| create_segment(request.clone()));
    Effect::new(move |_| match create.value().get() {
        Some(Ok(created)) => navigate(&format!("/segments/{}", created.id), Default::default()),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let definition = Definition::SegmentSet(SegmentSet {
        left: set.left.id,
        right: set.right.id,
        operation: set.operation,
    });
    let target_object = set.target_object;
    let on_create = move |_| {
        let Some(Ok((left, right))) = inputs.get_untracked() else {
            return;
        };
        let expires_at = left.row.expires_at.min(right.row.expires_at);
        create.dispatch(CreateSegmentRequest {
            name: name.get_untracked(),
            basic: BasicInfo {
                group_id: left.row.group_id,
                target_object,
                update_frequency: UpdateFrequency::OneTime,
                daily_run_time: None,
                usage_scenarios: left.usage_scenarios.clone(),
                expires_at: local_time(expires_at, &left.row.time_zone),
                time_zone: left.row.time_zone.clone(),
                time_sensitive: false,
                notification_email: None,
            },
            definition: definition.clone(),
        });
    };
    let sentence = format!("{}: {} members now.", set.sentence(), format_count(set.size));
    view! {
        <Modal label="Create a segment set" on_close testid="create-set-dialog">
            <h2>"Create a segment set"</h2>
            <div class="modal-body">
                <p>{sentence}</p>
                <label class="field">
                    <span>"Segment name"</span>
                    <input type="text" maxlength="100" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                    <crate::components::widgets::FieldError error field="name"/>
                </label>
                <Transition fallback=|| view! { <p class="muted">"Reading the segments…"</p> }>
                    {move || inputs.get().map(|result| match result {
                        Err(error) => view! { <ErrorBanner error=Signal::stored(Some(error))/> }.into_any(),
                        Ok((left, right)) => {
                            let expires = left.row.expires_at.min(right.row.expires_at);
                            view! {
                                <p class="muted">{format!(
                                    "It runs once now, in group {}, for {}; it expires {} ({}), with the earlier of the two. Change these later with Extend, or create it from Create Segment › Segment Sets to update it daily.",
                                    left.row.group_name.clone().unwrap_or_else(|| "—".into()),
                                    left.usage_scenarios.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
                                    local_time(expires, &left.row.time_zone),
                                    left.row.time_zone,
                                )}</p>
                            }.into_any()
                        }
                    })}
                </Transition>
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::InvalidFields(_))))/>
                {move || error.get().and_then(|e| match e {
                    AppError::InvalidFields(fields) => Some(view! {
                        <ul class="field-error">{fields.into_iter().filter(|f| f.field != "name").map(|f| view! { <li>{f.message}</li> }).collect_view()}</ul>
                    }),
                    _ => None,
                })}
            </div>
            <div class="modal-actions">
                <button type="button" class="btn" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button type="button" class="btn btn-primary" data-testid="create-set-confirm"
                    disabled=move || create.pending().get() || !matches!(inputs.get(), Some(Ok(_)))
                    on:click=on_create>"Create"</button>
            </div>
        </Modal>
    }
}
