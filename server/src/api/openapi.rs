use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Segment Targeting API", description = "Segments for campaign delivery: groups, segments, membership lookups."),
    paths(super::health::health, super::groups::list, super::groups::create, super::groups::rename, super::groups::delete,
          super::tags::search, super::segments::estimate, super::segments::create, super::segments::list,
          super::segments::detail, super::segments::member, super::manage::check, super::manage::bind,
          super::manage::unbind, super::manage::extend, super::manage::delete, super::manage::deleted,
          super::manage::request_export, super::manage::list_exports, super::manage::get_export,
          super::manage::download, super::manage::verify, super::uploads::upload, super::uploads::report,
          super::uploads::report_csv, super::uploads::template, super::warehouse::tables,
          super::warehouse::columns),
    modifiers(&BearerAuth),
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

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
