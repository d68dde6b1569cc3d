//! Create Segment › Warehouse Table (the guide's "ODPS table"): enter a
//! table name, Get Data lists its columns, pick the one holding the IDs.

use leptos::prelude::*;

use crate::components::widgets::format_count;
use crate::components::widgets::{ErrorBanner, FieldError};
use crate::error::AppError;
use crate::segments::components::basic_form::BasicForm;
use crate::segments::components::creation::{CreationHeader, create_action, group_choices, submit};
use crate::segments::*;
use crate::warehouse::api::{warehouse_columns, warehouse_tables};
use crate::warehouse::{DISCLAIMER, WarehouseTable};

#[component]
pub fn CreateWarehouseTablePage() -> impl IntoView {
    let form = BasicForm::new();
    let group_list = group_choices();
    form.suggest_expiry();
    let tables = LocalResource::new(warehouse_tables);
    let table_name = RwSignal::new(String::new());
    let loaded = RwSignal::new(None::<WarehouseTable>);
    let id_column = RwSignal::new(None::<String>);
    let checked = RwSignal::new(None::<AppError>);
    let get_data = Action::new(|table: &String| warehouse_columns(table.clone()));
    Effect::new(move |_| match get_data.value().get() {
        Some(Ok(table)) => {
            // Preselect the column that names the target object's ID, if there is one.
            let wanted = format!("{}_id", form.target_object.get_untracked().as_str());
            id_column.set(
                table
                    .columns
                    .iter()
                    .find(|c| c.name == wanted)
                    .map(|c| c.name.clone()),
            );
            table_name.set(table.table.clone());
            loaded.set(Some(table));
            checked.set(None);
        }
        Some(Err(e)) => {
            loaded.set(None);
            checked.set(Some(match e {
                AppError::NotFound(_) => AppError::validation(
                    "definition.table",
                    format!(
                        "The warehouse has no table named {:?}.",
                        table_name.get_untracked().trim()
                    ),
                ),
                other => other,
            }));
        }
        None => {}
    });
    let fetch = move || {
        let name = table_name.get_untracked();
        if name.trim().is_empty() {
            checked.set(Some(AppError::validation(
                "definition.table",
                "Enter a table name.",
            )));
            return;
        }
        get_data.dispatch(name);
    };
    let (create, error) = create_action(checked);
    let on_create = move |_| {
        let mut fields = Vec::new();
        let table = loaded.get_untracked();
        if table.is_none() {
            fields.push(crate::error::FieldError {
                field: "definition.table".into(),
                message: "Enter a table name and click Get Data.".into(),
            });
        }
        let column = id_column.get_untracked();
        if table.is_some() && column.is_none() {
            fields.push(crate::error::FieldError {
                field: "definition.id_column".into(),
                message: "Choose the column that holds the IDs.".into(),
            });
        }
        let definition = Definition::WarehouseTable(WarehouseIdColumn {
            table: table.map(|t| t.table).unwrap_or_default(),
            id_column: column.unwrap_or_default(),
        });
        submit(form, checked, create, definition, fields);
    };
    view! {
        <CreationHeader method="Warehouse Table" form error groups=group_list>
            <div class="banner banner-warning" data-testid="disclaimer">{DISCLAIMER}</div>
        </CreationHeader>
        <section class="panel">
            <h2>"Table"</h2>
            <div class="inline-form">
                <label class="field grow">
                    <span>"Warehouse Table Name *"</span>
                    <input name="definition.table" list="warehouse-tables" placeholder="e.g. orders"
                        aria-label="Warehouse table name"
                        prop:value=move || table_name.get()
                        on:input=move |ev| {
                            table_name.set(event_target_value(&ev));
                            loaded.set(None);
                            id_column.set(None);
                        }
                        on:keydown=move |ev| if ev.key() == "Enter" { fetch() }/>
                    <datalist id="warehouse-tables">
                        {move || tables.get().and_then(Result::ok).unwrap_or_default().into_iter()
                            .map(|t| view! { <option value=t/> }).collect_view()}
                    </datalist>
                    <FieldError error field="definition.table"/>
                </label>
                <button class="btn" data-testid="get-data" disabled=move || get_data.pending().get() on:click=move |_| fetch()>
                    {move || if get_data.pending().get() { "Reading…" } else { "Get Data" }}
                </button>
            </div>
            {move || tables.get().and_then(Result::err).map(|e| view! { <p class="muted">{e.to_string()}</p> })}
            {move || loaded.get().map(|table| view! {
                <p class="muted small" data-testid="table-facts">
                    {format!("{}: {} columns", table.table, table.columns.len())}
                    {table.rows.map(|n| format!(", {} rows", format_count(n)))}
                    ". Field Name: the column that identifies the " {form.target_object.get().label().to_lowercase()} "."
                </p>
                <table class="data-table compact" tabindex="0" data-testid="columns">
                    <thead><tr><th></th><th>"Column"</th><th>"Type"</th></tr></thead>
                    <tbody>
                        {table.columns.into_iter().map(|column| {
                            let name = column.name.clone();
                            let checked = name.clone();
                            view! {
                                <tr>
                                    <td><input type="radio" name="definition.id_column" value=column.name.clone()
                                        aria-label=format!("Use column {}", column.name)
                                        prop:checked=move || id_column.get().as_deref() == Some(checked.as_str())
                                        on:change=move |_| id_column.set(Some(name.clone()))/></td>
                                    <td><code>{column.name}</code></td>
                                    <td>{column.data_type}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <FieldError error field="definition.id_column"/>
            })}
            <p class="muted small">"Each run reads the column's distinct non-empty values; values that are not IDs of the target object are counted as unknown and shown on the segment's details."</p>
        </section>
        <ErrorBanner error=Signal::derive(move || error.get().filter(|e| {
            !matches!(e, AppError::InvalidFields(_)) && e.for_field("definition.table").is_none()
        }))/>
        <div class="form-actions">
            <button class="btn btn-primary" data-testid="create" disabled=move || create.pending().get() on:click=on_create>"Create"</button>
            <a class="btn" href="/segments">"Cancel"</a>
        </div>
    }
}

/// The table and column read, and what the last run found there.
pub fn definition_view(method: &WarehouseIdColumn, detail: &SegmentDetail) -> AnyView {
    let (table, id_column) = (&method.table, &method.id_column);
    let read: Option<crate::warehouse::WarehouseRead> = detail
        .runs
        .iter()
        .find(|r| r.status == RunStatus::Succeeded)
        .and_then(|r| r.inputs.as_deref())
        .and_then(|json| serde_json::from_str(json).ok());
    view! {
            <p data-testid="warehouse-definition">
                "The distinct values of column " <code>{id_column.clone()}</code>
                " of warehouse table " <code>{table.clone()}</code> " that are IDs of the target object."
            </p>
            {read.map(|read| view! {
                <p data-testid="warehouse-read">
                    {format!(
                        "Last read: {} distinct values, {} matched, {} unknown{}.",
                        format_count(read.distinct),
                        format_count(read.matched),
                        format_count(read.unknown),
                        if read.unknown_sample.is_empty() {
                            String::new()
                        } else {
                            format!(" (for example {})", read.unknown_sample.iter().take(5).cloned().collect::<Vec<_>>().join(", "))
                        }
                    )}
                </p>
            })}
            <p class="muted small">{crate::warehouse::DISCLAIMER}</p>
        }
        .into_any()
}
