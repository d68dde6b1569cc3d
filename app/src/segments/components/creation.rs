//! What the creation pages of custom lists, segment sets, warehouse tables
//! and lookalikes share: their header, the group choices, the Active
//! segments of the chosen target object, the create action, the upload of
//! an ID file, and the set-operation radios.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use segment_core::TargetObject;

use super::basic_form::{BasicFields, BasicForm};
use crate::components::unsaved::UnsavedGuard;
use crate::components::widgets::reveal_first_error;
use crate::error::{AppError, FieldError};
use crate::groups::GroupView;
use crate::groups::api::list_groups;
use crate::segments::api::{create_segment, list_segments};
use crate::segments::*;

/// The page title, the breadcrumb back to Create Segment, the heading, a
/// notice when given (as children), and the Basic Information panel every
/// creation page starts with.
#[component]
pub fn CreationHeader(
    method: &'static str,
    form: BasicForm,
    #[prop(into)] error: Signal<Option<AppError>>,
    groups: Signal<Vec<GroupView>>,
    /// Offer only one-time updates (a custom list is uploaded once).
    #[prop(optional)]
    one_time_only: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=format!("Create Segment · {method}")/>
        <nav class="breadcrumb">
            <a href="/segments">"Segment Targeting"</a><span>" › "</span>
            <a href="/segments/new">"Create Segment"</a><span>" › "</span><span>{method}</span>
        </nav>
        <div class="page-header"><h1>{format!("Create Segment: {method}")}</h1></div>
        // A name is the first thing typed: from then on, leaving asks first.
        <UnsavedGuard dirty=Signal::derive(move || !form.name.get().trim().is_empty())/>
        {children.map(|notice| notice())}
        <section class="panel">
            <h2>"Basic Information"</h2>
            <BasicFields form error groups prefix="" one_time_only/>
        </section>
    }
}

/// The groups of the caller's own scope, for Associated Group (a segment is
/// filed only in a group of its owner's scope).
pub fn group_choices() -> Signal<Vec<GroupView>> {
    let session = crate::components::layout::use_session();
    // The session is awaited, not read: the page's own fields are not
    // inside a Suspense, and the groups load in the browser anyway.
    let groups = LocalResource::new(move || async move {
        let scope = session.0.await.ok().flatten().map(|principal| principal.scope);
        list_groups()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|group| Some(&group.owner_scope) == scope.as_ref())
            .collect::<Vec<_>>()
    });
    Signal::derive(move || groups.get().unwrap_or_default())
}

/// The Active segments of `target`, by name: the only ones a set or a lookalike may read.
pub fn active_segments(target: RwSignal<TargetObject>) -> Signal<Vec<SegmentRow>> {
    let active = LocalResource::new(move || {
        list_segments(ListQuery {
            status: Some(SegmentStatus::Active),
            target_object: Some(target.get()),
            sort: Some(SortKey::Name),
            asc: Some(true),
            page_size: Some(MAX_PAGE_SIZE),
            ..Default::default()
        })
    });
    Signal::derive(move || {
        active
            .get()
            .and_then(Result::ok)
            .map(|p| p.rows)
            .unwrap_or_default()
    })
}

/// The Create of a creation page.
pub type CreateAction = Action<CreateSegmentRequest, Result<Created, AppError>>;

/// Creates the segment; on success goes back to the list, which shows it.
/// The form's error is derived: what the browser found (`checked`, set by
/// [`submit`] and uploads), else what the server answered the last Create.
pub fn create_action(checked: RwSignal<Option<AppError>>) -> (CreateAction, Signal<Option<AppError>>) {
    let navigate = use_navigate();
    let create = Action::new(|request: &CreateSegmentRequest| create_segment(request.clone()));
    let error = Signal::derive(move || {
        checked
            .get()
            .or_else(|| create.value().get().and_then(Result::err))
    });
    reveal_first_error(error);
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            navigate(&format!("/segments?created={}", created.id), Default::default());
        }
    });
    (create, error)
}

/// Create: the basic fields checked together with the definition's own
/// `problems`, every one shown at once; the request is sent only when there are none.
pub fn submit(
    form: BasicForm,
    checked: RwSignal<Option<AppError>>,
    create: CreateAction,
    definition: Definition,
    problems: Vec<FieldError>,
) {
    let basic = form.basic();
    let name = form.name.get_untracked();
    let mut fields = validate_basic(&name, &basic, chrono::Utc::now().timestamp_millis(), "")
        .err()
        .unwrap_or_default();
    fields.extend(problems);
    if !fields.is_empty() {
        checked.set(Some(AppError::InvalidFields(fields)));
        return;
    }
    checked.set(None);
    // The last answer's error goes with it: the new request gets its own.
    create.value().set(None);
    create.dispatch(CreateSegmentRequest {
        name,
        basic,
        definition,
    });
}

/// An ID file being uploaded (`POST /api/v1/uploads`) and its answer.
#[derive(Clone, Copy)]
pub struct IdUpload {
    pub uploading: RwSignal<bool>,
    pub answer: RwSignal<Option<UploadAnswer>>,
}

impl IdUpload {
    pub fn new() -> IdUpload {
        IdUpload {
            uploading: RwSignal::new(false),
            answer: RwSignal::new(None),
        }
    }

    /// The `change` handler of a file input: streams the chosen file for `target`.
    pub fn on_change(
        self,
        target: RwSignal<TargetObject>,
        error: RwSignal<Option<AppError>>,
    ) -> impl Fn(leptos::ev::Event) + Copy + 'static {
        move |ev: leptos::ev::Event| {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            #[cfg(feature = "hydrate")]
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                self.uploading.set(true);
                error.set(None);
                self.answer.set(None);
                let target = target.get_untracked();
                leptos::task::spawn_local(async move {
                    match send_file(file, target).await {
                        Ok(answer) => self.answer.set(Some(answer)),
                        Err(e) => error.set(Some(e)),
                    }
                    self.uploading.set(false);
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (input, target, error);
        }
    }
}

impl Default for IdUpload {
    fn default() -> Self {
        Self::new()
    }
}

/// Sends the chosen file as the body of `POST /api/v1/uploads`, streamed by
/// the browser; a refusal comes back as the API's typed error.
#[cfg(feature = "hydrate")]
async fn send_file(file: web_sys::File, target: TargetObject) -> Result<UploadAnswer, AppError> {
    use segment_contract::error::ErrorBody;
    let unreachable = |error: gloo_net::Error| AppError::Transport(error.to_string());
    let response =
        gloo_net::http::Request::post(&format!("/api/v1/uploads?target_object={}", target.as_str()))
            .header("Content-Type", "text/csv")
            .body(file)
            .map_err(unreachable)?
            .send()
            .await
            .map_err(unreachable)?;
    if response.ok() {
        return response.json::<UploadAnswer>().await.map_err(unreachable);
    }
    Err(response
        .json::<ErrorBody>()
        .await
        .map_err(unreachable)?
        .into_error())
}

/// Intersection / Union / Difference as radio buttons.
#[component]
pub fn SetOperationRadios(
    operation: RwSignal<SetOperation>,
    label: &'static str,
    /// Shown after the radios.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="radio-row" role="radiogroup" aria-label=label>
            {SetOperation::ALL.into_iter().map(|op| view! {
                <label>
                    <input type="radio" name="operation" value=op.as_str()
                        prop:checked=move || operation.get() == op
                        on:change=move |_| operation.set(op)/>
                    {op.label()}
                </label>
            }).collect_view()}
            {children.map(|children| children())}
        </div>
    }
}
