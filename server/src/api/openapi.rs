use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Segment Targeting API", description = "Segments for campaign delivery: groups, segments, membership lookups."),
    paths(super::health::health, super::groups::list, super::groups::create, super::groups::rename, super::groups::delete,
          super::tags::search, super::segments::estimate, super::segments::create, super::segments::list,
          super::segments::detail, super::segments::member, super::segments::overlap, super::segments::insights, super::manage::check, super::manage::bind,
          super::manage::unbind, super::manage::extend, super::manage::delete, super::manage::deleted,
          super::manage::request_export, super::manage::list_exports, super::manage::get_export,
          super::manage::download, super::manage::verify, super::uploads::upload, super::uploads::report,
          super::uploads::report_csv, super::uploads::template, super::warehouse::tables,
          super::warehouse::columns),
    // Schemas only query parameters name (bodies register theirs).
    components(schemas(segment_contract::segments::SortKey)),
    modifiers(&BearerAuth, &ErrorDefault),
    tags((name = "system"), (name = "groups", description = "Segment groups"),
         (name = "tags", description = "The tag catalog"), (name = "segments", description = "Segments"),
         (name = "delivery", description = "Membership lookups and delivery-task bindings"),
         (name = "exports", description = "CSV exports of segment snapshots"),
         (name = "uploads", description = "ID lists for custom-list segments"),
         (name = "warehouse", description = "Tables of the connected warehouse, for warehouse-table segments"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every operation's other answers — 400 for a malformed body, 401, 403,
/// 413, 429, 500, 503 — are documented once, as the `default` response with
/// the error body every error has.
struct ErrorDefault;

impl Modify for ErrorDefault {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = ResponseBuilder::new()
            .description("Any other error, in the API's error format (`error.code` names it)")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                operation
                    .responses
                    .responses
                    .entry("default".to_string())
                    .or_insert_with(|| error.clone().into());
            }
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
