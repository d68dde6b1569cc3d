//! The basic information every creation method asks for, as signals, and
//! its fields. Used twice on the tag-filter page: for the segment and for
//! the combined segment (with a field-name prefix).

use leptos::prelude::*;
use segment_core::TargetObject;

use crate::components::widgets::FieldError;
use crate::error::AppError;
use crate::groups::{GroupId, GroupView};
use crate::segments::{BasicInfo, UpdateFrequency, UsageScenario};

#[derive(Debug, Clone, Copy)]
pub struct BasicForm {
    pub name: RwSignal<String>,
    pub group_id: RwSignal<Option<GroupId>>,
    pub target_object: RwSignal<TargetObject>,
    pub update_frequency: RwSignal<UpdateFrequency>,
    pub daily_run_time: RwSignal<String>,
    pub usage_scenarios: RwSignal<Vec<UsageScenario>>,
    pub time_zone: RwSignal<String>,
    /// `YYYY-MM-DDTHH:MM`, local to `time_zone`.
    pub expires_at: RwSignal<String>,
    pub time_sensitive: RwSignal<bool>,
    pub notification_email: RwSignal<String>,
}

pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

impl BasicForm {
    pub fn new() -> BasicForm {
        BasicForm {
            name: RwSignal::new(String::new()),
            group_id: RwSignal::new(None),
            target_object: RwSignal::new(TargetObject::User),
            update_frequency: RwSignal::new(UpdateFrequency::OneTime),
            daily_run_time: RwSignal::new("06:00".into()),
            usage_scenarios: RwSignal::new(vec![UsageScenario::InsightAnalysis]),
            time_zone: RwSignal::new(DEFAULT_TIME_ZONE.into()),
            expires_at: RwSignal::new(String::new()),
            time_sensitive: RwSignal::new(false),
            notification_email: RwSignal::new(String::new()),
        }
    }

    pub fn basic(&self) -> BasicInfo {
        let daily = self.update_frequency.get_untracked() == UpdateFrequency::Daily;
        let email = self.notification_email.get_untracked();
        BasicInfo {
            group_id: self.group_id.get_untracked(),
            target_object: self.target_object.get_untracked(),
            update_frequency: self.update_frequency.get_untracked(),
            daily_run_time: daily.then(|| self.daily_run_time.get_untracked()),
            usage_scenarios: self.usage_scenarios.get_untracked(),
            time_zone: self.time_zone.get_untracked(),
            expires_at: self.expires_at.get_untracked(),
            time_sensitive: daily && self.time_sensitive.get_untracked(),
            notification_email: (!email.trim().is_empty()).then_some(email),
        }
    }

    /// Suggests Expires At (30 days ahead, 23:59 in the zone) if it is empty;
    /// in the browser only, so server and client render alike.
    pub fn suggest_expiry(&self) {
        let form = *self;
        Effect::new(move |_| {
            if form.expires_at.get_untracked().is_empty() {
                let tz: chrono_tz::Tz = form.time_zone.get_untracked().parse().unwrap_or(chrono_tz::UTC);
                let day = segment_core::time::today_in(tz, chrono::Utc::now()) + chrono::Duration::days(30);
                form.expires_at.set(format!("{day}T23:59"));
            }
        });
    }

    /// Copies every field of `other` but the name.
    pub fn copy_from(&self, other: &BasicForm) {
        self.group_id.set(other.group_id.get_untracked());
        self.target_object.set(other.target_object.get_untracked());
        self.update_frequency.set(other.update_frequency.get_untracked());
        self.daily_run_time.set(other.daily_run_time.get_untracked());
        self.usage_scenarios.set(other.usage_scenarios.get_untracked());
        self.time_zone.set(other.time_zone.get_untracked());
        self.expires_at.set(other.expires_at.get_untracked());
        self.time_sensitive.set(other.time_sensitive.get_untracked());
        self.notification_email
            .set(other.notification_email.get_untracked());
    }
}

impl Default for BasicForm {
    fn default() -> Self {
        Self::new()
    }
}

/// The IANA zones offered by the Time Zone field's search list.
fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

/// Every basic field with its error beside it. `prefix` names the fields in
/// errors (`combination.` for the combined segment); `target_locked` shows
/// the target object read-only (the combined segment's follows the first).
#[component]
pub fn BasicFields(
    form: BasicForm,
    #[prop(into)] error: Signal<Option<AppError>>,
    groups: Signal<Vec<GroupView>>,
    prefix: &'static str,
    #[prop(optional)] target_locked: bool,
    /// Offer only one-time updates (a custom list is uploaded once).
    #[prop(optional)]
    one_time_only: bool,
) -> impl IntoView {
    let field = move |name: &str| format!("{prefix}{name}");
    let id = move |name: &str| format!("{}{name}", prefix.replace('.', "-"));
    let zone_list = id("zones");
    let daily = move || form.update_frequency.get() == UpdateFrequency::Daily;
    view! {
        <div class="form-grid basic-fields">
            <label class="field">
                <span>"Segment Name *"</span>
                <input
                    name=field("name")
                    maxlength="120"
                    placeholder="e.g. High-value F&B users"
                    prop:value=move || form.name.get()
                    on:input=move |ev| form.name.set(event_target_value(&ev))
                />
                <FieldError error field=field("name")/>
            </label>
            <label class="field">
                <span>"Associated Group"</span>
                <select
                    name=field("group_id")
                    on:change=move |ev| form.group_id.set(event_target_value(&ev).parse().ok())
                    prop:value=move || form.group_id.get().map(|g| g.to_string()).unwrap_or_default()
                >
                    <option value="">"No group"</option>
                    {move || groups.get().into_iter().map(|g| view! {
                        <option value=g.id.to_string() selected=form.group_id.get_untracked() == Some(g.id)>{g.name}</option>
                    }).collect_view()}
                </select>
                <FieldError error field=field("group_id")/>
            </label>
            <label class="field">
                <span>"Target Object *"</span>
                <select
                    name=field("target_object")
                    disabled=target_locked
                    prop:value=move || form.target_object.get().as_str()
                    on:change=move |ev| {
                        if let Some(target) = TargetObject::parse(&event_target_value(&ev)) {
                            form.target_object.set(target);
                        }
                    }
                >
                    {TargetObject::ALL.into_iter().map(|t| view! { <option value=t.as_str()>{t.label()}</option> }).collect_view()}
                </select>
            </label>
            <div class="field field-span2">
                <span>"Update Frequency *"</span>
                <div class="radio-row">
                    <label>
                        <input type="radio" name=field("update_frequency") value="one_time"
                            prop:checked=move || !daily()
                            on:change=move |_| form.update_frequency.set(UpdateFrequency::OneTime)/>
                        "One-time"
                    </label>
                    <label>
                        <input type="radio" name=field("update_frequency") value="daily"
                            disabled=one_time_only
                            prop:checked=daily
                            on:change=move |_| form.update_frequency.set(UpdateFrequency::Daily)/>
                        "Daily at"
                    </label>
                    <input type="time" class="time-input" name=field("daily_run_time") aria-label="Daily run time"
                        disabled=move || !daily()
                        prop:value=move || form.daily_run_time.get()
                        on:input=move |ev| form.daily_run_time.set(event_target_value(&ev))/>
                </div>
                {one_time_only.then(|| view! { <span class="muted small">"A custom list is uploaded once: one-time only."</span> })}
                <FieldError error field=field("daily_run_time")/>
                <FieldError error field=field("update_frequency")/>
            </div>
            <label class="field">
                <span>"Time Zone *"</span>
                <input
                    name=field("time_zone")
                    list=zone_list.clone()
                    placeholder="Search, e.g. Shanghai"
                    prop:value=move || form.time_zone.get()
                    on:input=move |ev| form.time_zone.set(event_target_value(&ev))
                />
                <datalist id=zone_list>
                    {zone_names().map(|z| view! { <option value=z></option> }).collect_view()}
                </datalist>
                <FieldError error field=field("time_zone")/>
            </label>
            <label class="field">
                <span>{move || format!("Expires At * ({})", form.time_zone.get())}</span>
                <input
                    type="datetime-local"
                    name=field("expires_at")
                    prop:value=move || form.expires_at.get()
                    on:input=move |ev| form.expires_at.set(event_target_value(&ev))
                />
                <FieldError error field=field("expires_at")/>
            </label>
            <div class="field">
                <span>"Time-sensitive"</span>
                <label class=move || if daily() { "checkbox" } else { "checkbox muted" }
                    title="Only for daily segments: lookups are refused while newer data is ready than the latest run used.">
                    <input type="checkbox" name=field("time_sensitive")
                        disabled=move || !daily()
                        prop:checked=move || daily() && form.time_sensitive.get()
                        on:change=move |ev| form.time_sensitive.set(event_target_checked(&ev))/>
                    {move || if daily() { "Yes: trigger marketing only with the latest data" } else { "Daily segments only" }}
                </label>
                <FieldError error field=field("time_sensitive")/>
            </div>
            <label class="field">
                <span>"Notification Email"</span>
                <input
                    type="text"
                    inputmode="email"
                    name=field("notification_email")
                    placeholder="ops@example.com"
                    prop:value=move || form.notification_email.get()
                    on:input=move |ev| form.notification_email.set(event_target_value(&ev))
                />
                <FieldError error field=field("notification_email")/>
            </label>
            <div class="field field-wide">
                <span>"Usage Scenario *"</span>
                <div class="radio-row">
                    {UsageScenario::ALL.into_iter().map(|scenario| view! {
                        <label>
                            <input type="checkbox" name=field("usage_scenarios") value=scenario.as_str()
                                prop:checked=move || form.usage_scenarios.get().contains(&scenario)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    form.usage_scenarios.update(|list| {
                                        list.retain(|s| *s != scenario);
                                        if on {
                                            list.push(scenario);
                                        }
                                    });
                                }/>
                            {scenario.label()}
                        </label>
                    }).collect_view()}
                </div>
                <FieldError error field=field("usage_scenarios")/>
            </div>
        </div>
    }
}
