//! What the console's server functions ask of the service layer. The UI
//! crate calls this interface and the server provides its implementation, so
//! the UI does not depend on the services (a service change rebuilds neither
//! the UI nor the browser bundle). Every method checks the principal itself.

use std::net::IpAddr;

use async_trait::async_trait;
use segment_core::TargetObject;

use crate::auth::{CreatedToken, Principal, TokenView, UserView};
use crate::error::AppResult;
use crate::groups::GroupView;
use crate::ids::{GroupId, SegmentId};
use crate::segments::{
    CreateSegmentRequest, Created, DeletedSegment, Estimate, EstimateRequest, ExportView, Insights,
    InsightsRequest, ListQuery, Overlap, OverlapRequest, SegmentDetail, SegmentPage, SegmentRow, UsedBy,
    VerifyAnswer,
};
use crate::tags::TagDef;
use crate::warehouse::WarehouseTable;

/// A user account as the administrator's form sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserForm {
    pub username: String,
    pub password: String,
    pub role: String,
    pub merchant: String,
    pub stores: String,
}

#[async_trait]
pub trait Console: Send + Sync + 'static {
    // Sessions and accounts.

    /// Signs in; the `Set-Cookie` value of the new session.
    async fn login(&self, username: &str, password: &str, address: Option<IpAddr>) -> AppResult<String>;
    /// Ends the session; the `Set-Cookie` value that clears it.
    async fn logout(&self, session_secret: Option<&str>) -> AppResult<String>;
    /// The signed-in user changes their password; their other sessions end.
    async fn change_password(
        &self,
        principal: &Principal,
        session_secret: Option<&str>,
        current_password: &str,
        new_password: &str,
        address: Option<IpAddr>,
    ) -> AppResult<()>;
    async fn list_tokens(&self, principal: &Principal) -> AppResult<Vec<TokenView>>;
    /// `expires_in_days` empty means the token works until revoked.
    async fn create_token(
        &self,
        principal: &Principal,
        name: &str,
        scope: &str,
        expires_in_days: &str,
    ) -> AppResult<CreatedToken>;
    async fn revoke_token(&self, principal: &Principal, id: i64) -> AppResult<()>;
    async fn list_users(&self, principal: &Principal) -> AppResult<Vec<UserView>>;
    async fn create_user(&self, principal: &Principal, user: NewUserForm) -> AppResult<i64>;
    async fn set_user_disabled(&self, principal: &Principal, id: i64, disabled: bool) -> AppResult<UserView>;
    async fn reset_user_password(&self, principal: &Principal, id: i64, password: &str) -> AppResult<()>;

    // Groups.
    async fn list_groups(&self, principal: &Principal) -> AppResult<Vec<GroupView>>;
    async fn create_group(&self, principal: &Principal, name: &str) -> AppResult<GroupView>;
    async fn rename_group(&self, principal: &Principal, id: GroupId, name: &str) -> AppResult<GroupView>;
    async fn delete_group(&self, principal: &Principal, id: GroupId) -> AppResult<()>;

    // Segments.
    async fn estimate(&self, principal: &Principal, request: &EstimateRequest) -> AppResult<Estimate>;
    async fn create_segment(
        &self,
        principal: &Principal,
        request: &CreateSegmentRequest,
    ) -> AppResult<Created>;
    /// How many entities of `target_object` a lookalike of the caller may reach.
    async fn lookalike_universe(&self, principal: &Principal, target_object: TargetObject) -> AppResult<u64>;
    async fn list_segments(&self, principal: &Principal, query: &ListQuery) -> AppResult<SegmentPage>;
    /// The exact overlap of two or three Active segments.
    async fn overlap(&self, principal: &Principal, request: &OverlapRequest) -> AppResult<Overlap>;
    /// How an Active segment spreads over tag values beside its base.
    async fn insights(
        &self,
        principal: &Principal,
        id: SegmentId,
        request: &InsightsRequest,
    ) -> AppResult<Insights>;
    async fn segment(&self, principal: &Principal, id: SegmentId) -> AppResult<SegmentDetail>;
    async fn segment_used_by(&self, principal: &Principal, id: SegmentId) -> AppResult<UsedBy>;
    async fn export_segment(&self, principal: &Principal, id: SegmentId) -> AppResult<ExportView>;
    async fn list_exports(&self, principal: &Principal) -> AppResult<Vec<ExportView>>;
    async fn extend_segment(
        &self,
        principal: &Principal,
        id: SegmentId,
        expires_at: &str,
    ) -> AppResult<SegmentRow>;
    async fn delete_segment(&self, principal: &Principal, id: SegmentId) -> AppResult<()>;
    async fn deleted_segments(&self, principal: &Principal) -> AppResult<Vec<DeletedSegment>>;
    async fn verify_segment(
        &self,
        principal: &Principal,
        id: SegmentId,
        ids: &[String],
    ) -> AppResult<VerifyAnswer>;

    // The tag catalog and the warehouse.
    async fn search_tags(
        &self,
        principal: &Principal,
        target: Option<TargetObject>,
        query: &str,
    ) -> AppResult<Vec<TagDef>>;
    async fn warehouse_tables(&self, principal: &Principal) -> AppResult<Vec<String>>;
    async fn warehouse_columns(&self, principal: &Principal, table: &str) -> AppResult<WarehouseTable>;
}
