//! The rule-group editor: groups (OR) of conditions (AND), each condition
//! with the date options, filter methods and value inputs of its tag's type,
//! plus the searchable tag list (Method 2). Problems from validation are
//! shown at the condition they concern.

use leptos::prelude::*;
use segment_core::catalog::{DataType, TagDef, TagKind};
use segment_core::rule::Rule;
use segment_core::validate::Problem;

use super::draft::{ConditionDraft, FilterDraft, NUMBER_OPS, is_range, to_rule, value_ops};

#[derive(Debug, Clone, Copy)]
pub struct CondState {
    pub key: u64,
    pub draft: RwSignal<ConditionDraft>,
    /// The condition as added, to tell whether it was touched since.
    pub added: StoredValue<ConditionDraft>,
}

impl CondState {
    /// Whether the condition is still as added (tracked).
    pub fn untouched(&self) -> bool {
        self.draft
            .with(|draft| self.added.with_value(|added| draft == added))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct GroupState {
    pub key: u64,
    pub conditions: RwSignal<Vec<CondState>>,
}

/// The rule being edited.
#[derive(Debug, Clone, Copy)]
pub struct RuleState {
    pub groups: RwSignal<Vec<GroupState>>,
    next_key: StoredValue<u64>,
}

impl RuleState {
    /// One empty group, ready for its first tag.
    pub fn new() -> RuleState {
        let state = RuleState {
            groups: RwSignal::new(Vec::new()),
            next_key: StoredValue::new(1),
        };
        state.add_group();
        state
    }

    fn key(&self) -> u64 {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        key
    }

    pub fn add_group(&self) -> u64 {
        let group = GroupState {
            key: self.key(),
            conditions: RwSignal::new(Vec::new()),
        };
        self.groups.update(|groups| groups.push(group));
        group.key
    }

    pub fn remove_group(&self, key: u64) {
        self.groups.update(|groups| groups.retain(|g| g.key != key));
    }

    pub fn add_condition(&self, group_key: u64, tag: &TagDef) {
        let draft = ConditionDraft::for_tag(tag);
        let condition = CondState {
            key: self.key(),
            added: StoredValue::new(draft.clone()),
            draft: RwSignal::new(draft),
        };
        if let Some(group) = self
            .groups
            .get_untracked()
            .into_iter()
            .find(|g| g.key == group_key)
        {
            group.conditions.update(|list| list.push(condition));
        }
    }

    pub fn clear(&self) {
        self.groups.set(Vec::new());
        self.add_group();
    }

    /// Whether condition `condition` of group `group` is still as added (tracked).
    pub fn untouched(&self, group: usize, condition: usize) -> bool {
        self.groups.with(|groups| {
            groups
                .get(group)
                .and_then(|g| g.conditions.with(|list| list.get(condition).copied()))
                .is_some_and(|c| c.untouched())
        })
    }

    /// Whether any condition was added.
    pub fn has_conditions(&self) -> bool {
        self.groups
            .with(|groups| groups.iter().any(|g| g.conditions.with(|list| !list.is_empty())))
    }

    /// The rule as JSON (tracked: re-evaluates on every edit).
    pub fn rule(&self) -> Rule {
        let groups: Vec<Vec<ConditionDraft>> = self
            .groups
            .get()
            .iter()
            .map(|group| group.conditions.get().iter().map(|c| c.draft.get()).collect())
            .collect();
        to_rule(&groups)
    }
}

impl Default for RuleState {
    fn default() -> Self {
        Self::new()
    }
}

fn type_badge(tag: &TagDef) -> &'static str {
    match &tag.kind {
        TagKind::Profile { data_type, .. } => data_type.label(),
        TagKind::Behavior { .. } => "Behavior",
    }
}

fn ready_summary(tag: &TagDef) -> String {
    match (tag.ready_dates.first(), tag.latest_date()) {
        (Some(first), Some(last)) if first != &last => {
            format!("{} dates, {first} → {last}", tag.ready_dates.len())
        }
        (Some(first), _) => first.to_string(),
        _ => "no data yet".into(),
    }
}

#[component]
pub fn RuleEditor(
    state: RuleState,
    catalog: Signal<Vec<TagDef>>,
    problems: Signal<Vec<Problem>>,
    time_zone: Signal<String>,
) -> impl IntoView {
    let rule_level = move || {
        problems
            .get()
            .into_iter()
            .filter(|p| p.group.is_none())
            .map(|p| view! { <div class="field-error">{p.message}</div> })
            .collect_view()
    };
    view! {
        <div class="rule-groups" data-testid="rule-groups">
            <For each=move || state.groups.get() key=|g| g.key let:group>
                <RuleGroupView state group catalog problems time_zone/>
            </For>
            {rule_level}
            <button type="button" class="btn" data-testid="add-group" on:click=move |_| { state.add_group(); }>
                "+ Add rule group"
            </button>
        </div>
    }
}

#[component]
fn RuleGroupView(
    state: RuleState,
    group: GroupState,
    catalog: Signal<Vec<TagDef>>,
    problems: Signal<Vec<Problem>>,
    time_zone: Signal<String>,
) -> impl IntoView {
    let index = Memo::new(move |_| {
        state
            .groups
            .get()
            .iter()
            .position(|g| g.key == group.key)
            .unwrap_or(0)
    });
    let group_problems = move || {
        problems
            .get()
            .into_iter()
            .filter(|p| p.group == Some(index.get()) && p.condition.is_none())
            .map(|p| view! { <div class="field-error">{p.message}</div> })
            .collect_view()
    };
    view! {
        <Show when=move || { index.get() > 0 }>
            <div class="rule-or">"OR"</div>
        </Show>
        <section class="rule-group" data-testid="rule-group">
            <header class="rule-group-head">
                <strong>{move || format!("Rule group {}", index.get() + 1)}</strong>
                <span class="muted">"all conditions must match"</span>
                <select
                    class="add-tag"
                    data-testid="add-tag"
                    aria-label="Add a tag to this group"
                    on:change=move |ev| {
                        let code = event_target_value(&ev);
                        if let Some(tag) = catalog.get_untracked().into_iter().find(|t| t.code == code) {
                            state.add_condition(group.key, &tag);
                        }
                        let select: web_sys::HtmlSelectElement = event_target(&ev);
                        select.set_value("");
                    }
                >
                    <option value="">"+ Add tag…"</option>
                    {move || catalog.get().into_iter().map(|tag| view! {
                        <option value=tag.code.clone()>{format!("{} ({}) · {}", tag.name, tag.code, type_badge(&tag))}</option>
                    }).collect_view()}
                </select>
                <button type="button" class="btn btn-link danger" on:click=move |_| state.remove_group(group.key)>
                    "Remove group"
                </button>
            </header>
            <For each=move || group.conditions.get() key=|c| c.key let:condition>
                <ConditionView group condition catalog problems group_index=index time_zone/>
            </For>
            <Show when=move || group.conditions.with(Vec::is_empty)>
                <p class="muted small">"Add a tag from the drop-down, or from the tag list."</p>
            </Show>
            {group_problems}
        </section>
    }
}

#[component]
fn ConditionView(
    group: GroupState,
    condition: CondState,
    catalog: Signal<Vec<TagDef>>,
    problems: Signal<Vec<Problem>>,
    group_index: Memo<usize>,
    time_zone: Signal<String>,
) -> impl IntoView {
    let draft = condition.draft;
    let index = Memo::new(move |_| {
        group
            .conditions
            .get()
            .iter()
            .position(|c| c.key == condition.key)
            .unwrap_or(0)
    });
    let tag = Memo::new(move |_| {
        let code = draft.with(|d| d.tag.clone());
        catalog.get().into_iter().find(|t| t.code == code)
    });
    // The inputs shown depend only on this; typing a value does not redraw them.
    let shape = Memo::new(move |_| {
        draft.with(|d| {
            (
                d.behavior,
                d.data_type,
                d.date_mode.clone(),
                d.op.clone(),
                d.window_mode.clone(),
                d.filters
                    .iter()
                    .map(|f| (f.attr.clone(), f.op.clone()))
                    .collect::<Vec<_>>(),
                d.count_op.clone(),
            )
        })
    });
    let my_problems = move || {
        problems
            .get()
            .into_iter()
            .filter(|p| p.group == Some(group_index.get()) && p.condition == Some(index.get()))
            .map(|p| {
                let place = match p.filter {
                    Some(f) => format!("attribute filter {}: ", f + 1),
                    None => String::new(),
                };
                view! { <div class="field-error" data-testid="condition-error">{format!("{place}{}", p.message)}</div> }
            })
            .collect_view()
    };
    let remove = move |_| {
        group
            .conditions
            .update(|list| list.retain(|c| c.key != condition.key))
    };
    let body = move || {
        shape.track();
        let Some(tag) = tag.get() else {
            return view! { <span class="field-error">{format!("Unknown tag {}", draft.with_untracked(|d| d.tag.clone()))}</span> }.into_any();
        };
        if draft.with_untracked(|d| d.behavior) {
            behavior_inputs(draft, &tag, time_zone).into_any()
        } else {
            profile_inputs(draft, &tag).into_any()
        }
    };
    view! {
        <Show when=move || { index.get() > 0 }>
            <div class="rule-and">"AND"</div>
        </Show>
        <div class="condition" data-testid="condition" data-tag=move || draft.with(|d| d.tag.clone())>
            <div class="condition-tag">
                <strong>{move || tag.get().map(|t| t.name).unwrap_or_default()}</strong>
                <code>{move || draft.with(|d| d.tag.clone())}</code>
                <span class="badge">{move || tag.get().map(|t| type_badge(&t)).unwrap_or("")}</span>
            </div>
            <div class="condition-body">{body}</div>
            <button type="button" class="btn btn-link danger condition-remove" aria-label="Remove condition" on:click=remove>"✕"</button>
            <div class="condition-problems">{my_problems}</div>
        </div>
    }
}

fn select_ops(
    ops: &'static [(&'static str, &'static str)],
    current: String,
    on_pick: impl Fn(String) + 'static,
    label: &'static str,
) -> impl IntoView {
    view! {
        <select aria-label=label data-testid=label on:change=move |ev| on_pick(event_target_value(&ev))>
            {ops.iter().map(|(op, text)| view! { <option value=*op selected=*op == current>{*text}</option> }).collect_view()}
        </select>
    }
}

/// A choice among the tag's dates with data.
fn date_select(
    draft: RwSignal<ConditionDraft>,
    read: fn(&ConditionDraft) -> String,
    write: fn(&mut ConditionDraft, String),
    dates: Vec<String>,
    label: &'static str,
) -> impl IntoView {
    let chosen = draft.with_untracked(read);
    view! {
        <select class="date-select" aria-label=label data-testid=label
            on:change=move |ev| {
                let value = event_target_value(&ev);
                draft.update(|d| write(d, value));
            }>
            {dates.into_iter().map(|date| {
                let selected = date == chosen;
                view! { <option value=date.clone() selected=selected>{date.clone()}</option> }
            }).collect_view()}
        </select>
    }
}

fn text_input(
    draft: RwSignal<ConditionDraft>,
    read: fn(&ConditionDraft) -> String,
    write: fn(&mut ConditionDraft, String),
    placeholder: &'static str,
    label: &'static str,
    kind: &'static str,
) -> impl IntoView {
    view! {
        <input
            type=kind
            class="value-input"
            aria-label=label
            data-testid=label
            placeholder=placeholder
            prop:value=move || draft.with(read)
            on:input=move |ev| {
                let value = event_target_value(&ev);
                draft.update(|d| write(d, value));
            }
        />
    }
}

/// Checkboxes for enum values; a filter box when there are many.
fn checklist(
    options: Vec<String>,
    read: impl Fn() -> Vec<String> + Copy + Send + Sync + 'static,
    write: impl Fn(Vec<String>) + Copy + Send + Sync + 'static,
    label: &'static str,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let many = options.len() > 12;
    let options = StoredValue::new(options);
    view! {
        <div class="checklist" data-testid=label aria-label=label>
            {many.then(|| view! {
                <input class="checklist-filter" placeholder="Filter values…"
                    on:input=move |ev| filter.set(event_target_value(&ev).to_lowercase())/>
            })}
            <div class="checklist-options">
                {move || {
                    let needle = filter.get();
                    options.get_value().into_iter()
                        .filter(|o| needle.is_empty() || o.to_lowercase().contains(&needle))
                        .map(|option| {
                            let value = option.clone();
                            let checked_value = option.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" value=option.clone()
                                        prop:checked=move || read().contains(&checked_value)
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            let mut list = read();
                                            list.retain(|v| *v != value);
                                            if on {
                                                list.push(value.clone());
                                            }
                                            write(list);
                                        }/>
                                    {display_value(&option)}
                                </label>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </div>
    }
}

fn display_value(value: &str) -> String {
    match value {
        "true" => "Yes".into(),
        "false" => "No".into(),
        other => other.into(),
    }
}

fn profile_inputs(draft: RwSignal<ConditionDraft>, tag: &TagDef) -> impl IntoView {
    let data_type = tag.profile_type().unwrap_or(DataType::Enum);
    let current = draft.get_untracked();
    let change = current.date_mode == "change";
    let date_modes: &'static [(&str, &str)] = if data_type == DataType::Datetime {
        &[
            ("latest", "Latest date label value"),
            ("on", "Specifies a date label value"),
        ]
    } else {
        &[
            ("latest", "Latest date label value"),
            ("on", "Specifies a date label value"),
            ("change", "Label values change at two time points"),
        ]
    };
    let latest = tag
        .latest_date()
        .map(|d| format!("latest: {d}"))
        .unwrap_or_default();
    // Only dates with data are offered, newest first.
    let ready: Vec<String> = tag.ready_dates.iter().rev().map(|d| d.to_string()).collect();
    let dates = match current.date_mode.as_str() {
        "on" => date_select(draft, |d| d.date_on.clone(), |d, v| d.date_on = v, ready, "date").into_any(),
        "change" => view! {
            {date_select(draft, |d| d.date_from.clone(), |d, v| d.date_from = v, ready.clone(), "from date")}
            <span class="muted">"versus"</span>
            {date_select(draft, |d| d.date_to.clone(), |d, v| d.date_to = v, ready, "to date")}
        }
        .into_any(),
        _ => view! { <span class="muted small">{latest}</span> }.into_any(),
    };
    let allowed = tag.allowed_values();
    let values = match (data_type, current.op.as_str()) {
        (DataType::Enum | DataType::Boolean, "changed") => view! {
            <span class="muted">"from"</span>
            {checklist(allowed.clone(), move || draft.with(|d| d.from_values.clone()), move |v| draft.update(|d| d.from_values = v), "from values")}
            <span class="muted">"to"</span>
            {checklist(allowed, move || draft.with(|d| d.to_values.clone()), move |v| draft.update(|d| d.to_values = v), "to values")}
        }.into_any(),
        (DataType::Enum | DataType::Boolean, _) => {
            checklist(allowed, move || draft.with(|d| d.values.clone()), move |v| draft.update(|d| d.values = v), "values").into_any()
        }
        (DataType::Datetime, "within_last_days") => view! {
            {text_input(draft, |d| d.value.clone(), |d, v| d.value = v, "7", "value", "number")}
            <span class="muted">"days (up to and including T)"</span>
        }.into_any(),
        (DataType::Datetime, op) => {
            let range = op == "between";
            view! {
                {text_input(draft, |d| d.value.clone(), |d, v| d.value = v, "YYYY-MM-DD HH:MM:SS", "value", "text")}
                {range.then(|| view! {
                    <span class="muted">"and"</span>
                    {text_input(draft, |d| d.value_hi.clone(), |d, v| d.value_hi = v, "YYYY-MM-DD HH:MM:SS", "upper value", "text")}
                })}
            }.into_any()
        }
        (DataType::Number, op) => {
            let range = is_range(op);
            view! {
                {text_input(draft, |d| d.value.clone(), |d, v| d.value = v, "number", "value", "text")}
                {range.then(|| view! {
                    <span class="muted">"and"</span>
                    {text_input(draft, |d| d.value_hi.clone(), |d, v| d.value_hi = v, "number", "upper value", "text")}
                })}
            }.into_any()
        }
    };
    view! {
        {select_ops(date_modes, current.date_mode.clone(), move |mode| draft.update(|d| d.set_date_mode(&mode)), "date option")}
        {dates}
        {select_ops(value_ops(data_type, change), current.op.clone(), move |op| draft.update(|d| d.op = op), "filter method")}
        {values}
    }
}

/// The absolute dates of a dynamic window, in the segment's zone.
fn resolved_window(from: &str, to: &str, zone: &str) -> String {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    let today = segment_core::time::today_in(tz, chrono::Utc::now());
    match (from.trim().parse::<i64>(), to.trim().parse::<i64>()) {
        (Ok(from), Ok(to)) if from <= to => format!(
            "= {} → {} ({})",
            today + chrono::Duration::days(from),
            today + chrono::Duration::days(to),
            tz.name()
        ),
        _ => "enter whole days relative to T, from ≤ to".into(),
    }
}

fn behavior_inputs(
    draft: RwSignal<ConditionDraft>,
    tag: &TagDef,
    time_zone: Signal<String>,
) -> impl IntoView {
    let current = draft.get_untracked();
    let attributes = match &tag.kind {
        TagKind::Behavior { attributes } => attributes.clone(),
        TagKind::Profile { .. } => Vec::new(),
    };
    let window = if current.window_mode == "fixed" {
        view! {
            {text_input(draft, |d| d.date_from.clone(), |d, v| d.date_from = v, "YYYY-MM-DD", "window from", "date")}
            <span class="muted">"to"</span>
            {text_input(draft, |d| d.date_to.clone(), |d, v| d.date_to = v, "YYYY-MM-DD", "window to", "date")}
        }
        .into_any()
    } else {
        view! {
            <span class="muted">"T +"</span>
            {text_input(draft, |d| d.window_from.clone(), |d, v| d.window_from = v, "-6", "window from", "number")}
            <span class="muted">"to T +"</span>
            {text_input(draft, |d| d.window_to.clone(), |d, v| d.window_to = v, "0", "window to", "number")}
            <span class="muted small resolved" data-testid="resolved-window">
                {move || draft.with(|d| resolved_window(&d.window_from, &d.window_to, &time_zone.get()))}
            </span>
        }
        .into_any()
    };
    let filters = current
        .filters
        .iter()
        .enumerate()
        .map(|(i, filter)| {
            let attribute = attributes.iter().find(|a| a.code == filter.attr).cloned();
            let data_type = attribute.as_ref().map(|a| a.data_type).unwrap_or(DataType::Enum);
            let name = attribute.as_ref().map(|a| a.name.clone()).unwrap_or_else(|| filter.attr.clone());
            let options = attribute.map(|a| a.values).unwrap_or_default();
            let range = is_range(&filter.op);
            let value_widget = match data_type {
                DataType::Number | DataType::Datetime => view! {
                    <input class="value-input" aria-label="attribute value" data-testid="attribute value"
                        prop:value=move || draft.with(|d| d.filters.get(i).map(|f| f.value.clone()).unwrap_or_default())
                        on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(f) = d.filters.get_mut(i) { f.value = v; }); }/>
                    {range.then(|| view! {
                        <span class="muted">"and"</span>
                        <input class="value-input" aria-label="attribute upper value"
                            prop:value=move || draft.with(|d| d.filters.get(i).map(|f| f.value_hi.clone()).unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); draft.update(|d| if let Some(f) = d.filters.get_mut(i) { f.value_hi = v; }); }/>
                    })}
                }.into_any(),
                _ => checklist(
                    options,
                    move || draft.with(|d| d.filters.get(i).map(|f| f.values.clone()).unwrap_or_default()),
                    move |v| draft.update(|d| if let Some(f) = d.filters.get_mut(i) { f.values = v; }),
                    "attribute values",
                ).into_any(),
            };
            view! {
                <div class="attribute-filter" data-testid="attribute-filter">
                    <span class="muted">"where"</span>
                    <strong>{name}</strong>
                    {select_ops(
                        value_ops(if data_type == DataType::Datetime { DataType::Number } else { data_type }, false),
                        filter.op.clone(),
                        move |op| draft.update(|d| if let Some(f) = d.filters.get_mut(i) { f.op = op; }),
                        "attribute method",
                    )}
                    {value_widget}
                    <button type="button" class="btn btn-link danger" aria-label="Remove attribute filter"
                        on:click=move |_| draft.update(|d| { if i < d.filters.len() { d.filters.remove(i); } })>"✕"</button>
                </div>
            }
        })
        .collect_view();
    let addable = attributes.clone();
    view! {
        {select_ops(
            &[("fixed", "Fixed time"), ("dynamic", "Dynamic time")],
            current.window_mode.clone(),
            move |mode| draft.update(|d| d.window_mode = mode),
            "window",
        )}
        {window}
        <div class="attribute-filters">
            {filters}
            {(!attributes.is_empty()).then(|| view! {
                <select class="add-attribute" aria-label="Add attribute filter" data-testid="add-attribute"
                    on:change=move |ev| {
                        let code = event_target_value(&ev);
                        if let Some(a) = addable.iter().find(|a| a.code == code) {
                            let filter = FilterDraft::for_attribute(&a.code, if a.data_type == DataType::Datetime { DataType::Number } else { a.data_type });
                            draft.update(|d| d.filters.push(filter));
                        }
                        let select: web_sys::HtmlSelectElement = event_target(&ev);
                        select.set_value("");
                    }>
                    <option value="">"+ Attribute filter…"</option>
                    {attributes.iter().map(|a| view! { <option value=a.code.clone()>{a.name.clone()}</option> }).collect_view()}
                </select>
            })}
        </div>
        <div class="count-row">
            <span class="muted">"Count"</span>
            {select_ops(NUMBER_OPS, current.count_op.clone(), move |op| draft.update(|d| d.count_op = op), "count method")}
            {text_input(draft, |d| d.count_value.clone(), |d, v| d.count_value = v, "1", "count", "number")}
            {is_range(&current.count_op).then(|| view! {
                <span class="muted">"and"</span>
                {text_input(draft, |d| d.count_hi.clone(), |d, v| d.count_hi = v, "10", "upper count", "number")}
            })}
        </div>
    }
}

/// Method 2: search the catalog and add a tag to a chosen group.
#[component]
pub fn TagList(state: RuleState, catalog: Signal<Vec<TagDef>>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    let target_group = RwSignal::new(None::<u64>);
    let shown = move || {
        let words: Vec<String> = query
            .get()
            .to_lowercase()
            .split_whitespace()
            .map(String::from)
            .collect();
        catalog
            .get()
            .into_iter()
            .filter(|tag| {
                let text = tag.search_text().to_lowercase();
                words.iter().all(|w| text.contains(w.as_str()))
            })
            .collect::<Vec<_>>()
    };
    let group_for_add = move || {
        let groups = state.groups.get_untracked();
        target_group
            .get_untracked()
            .filter(|key| groups.iter().any(|g| g.key == *key))
            .or_else(|| groups.last().map(|g| g.key))
            .unwrap_or_else(|| state.add_group())
    };
    view! {
        <div class="tag-list" data-testid="tag-list">
            <div class="toolbar">
                <input class="search" type="search" placeholder="Search tags by name, code, category, value…"
                    aria-label="Search tags"
                    on:input=move |ev| query.set(event_target_value(&ev))/>
                <label class="inline">
                    "Add to "
                    <select aria-label="Group to add to" on:change=move |ev| target_group.set(event_target_value(&ev).parse().ok())>
                        {move || state.groups.get().into_iter().enumerate().map(|(i, g)| view! {
                            <option value=g.key.to_string() selected=move || target_group.get() == Some(g.key)>{format!("Rule group {}", i + 1)}</option>
                        }).collect_view()}
                    </select>
                </label>
            </div>
            <div class="table-scroll">
                <table class="data-table compact" tabindex="0">
                    <thead>
                        <tr><th>"Name"</th><th>"Code"</th><th>"Description"</th><th>"Category"</th><th>"Type"</th><th>"Ready dates"</th><th></th></tr>
                    </thead>
                    <tbody>
                        {move || shown().into_iter().map(|tag| {
                            let add = tag.clone();
                            view! {
                                <tr data-tag=tag.code.clone()>
                                    <td>{tag.name.clone()}</td>
                                    <td><code>{tag.code.clone()}</code></td>
                                    <td class="muted">{tag.description.clone()}</td>
                                    <td>{tag.category.clone()}</td>
                                    <td><span class="badge">{type_badge(&tag)}</span></td>
                                    <td class="muted">{ready_summary(&tag)}</td>
                                    <td><button type="button" class="btn btn-small" on:click=move |_| state.add_condition(group_for_add(), &add)>"Add"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </div>
    }
}
