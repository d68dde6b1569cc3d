//! The service layer behind the console's server functions: each method
//! authorizes the principal and calls the service that does the work.

use std::net::IpAddr;

use async_trait::async_trait;
use segment_contract::auth::{
    CreatedToken, Principal, Role, Scope, Subject, TokenView, UserView, clearing_cookie, scope_for_role,
    session_cookie,
};
use segment_contract::console::{Console, NewUserForm};
use segment_contract::error::{AppError, AppResult};
use segment_contract::groups::GroupView;
use segment_contract::ids::{GroupId, SegmentId};
use segment_contract::segments::{
    CreateSegmentRequest, Created, DeletedSegment, Estimate, EstimateRequest, ExportView, Insights,
    InsightsRequest, ListQuery, Overlap, OverlapRequest, SegmentDetail, SegmentPage, SegmentRow, UsedBy,
    VerifyAnswer,
};
use segment_contract::tags::TagDef;
use segment_contract::warehouse::WarehouseTable;
use segment_core::TargetObject;

use crate::infra::now_ms;
use crate::state::AppState;
use crate::{auth, groups, segments, tags, warehouse};

/// [`Console`] over the application state.
#[derive(Clone)]
pub struct ConsoleService {
    state: AppState,
}

impl ConsoleService {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

/// The expiry of a token created `expires_in_days` from now (empty: never).
fn token_expiry(expires_in_days: &str) -> AppResult<Option<i64>> {
    match expires_in_days.trim() {
        "" => Ok(None),
        days => {
            let days: i64 = days
                .parse()
                .ok()
                .filter(|d| (1..=auth::MAX_TOKEN_DAYS).contains(d))
                .ok_or_else(|| {
                    AppError::validation(
                        "expires_in_days",
                        format!(
                            "Enter a whole number of days from 1 to {}, or leave it empty.",
                            auth::MAX_TOKEN_DAYS
                        ),
                    )
                })?;
            Ok(Some(now_ms() + days * 86_400_000))
        }
    }
}

#[async_trait]
impl Console for ConsoleService {
    async fn login(&self, username: &str, password: &str, address: Option<IpAddr>) -> AppResult<String> {
        let state = &self.state;
        let secret = auth::login(&state.db, &state.login_limiter, username, password, address).await?;
        Ok(session_cookie(&secret, state.secure_cookies))
    }

    async fn logout(&self, session_secret: Option<&str>) -> AppResult<String> {
        if let Some(secret) = session_secret {
            auth::logout(&self.state.db, secret).await?;
        }
        Ok(clearing_cookie())
    }

    async fn change_password(
        &self,
        principal: &Principal,
        session_secret: Option<&str>,
        current_password: &str,
        new_password: &str,
        address: Option<IpAddr>,
    ) -> AppResult<()> {
        let Subject::User { id, .. } = principal.subject else {
            return Err(AppError::Forbidden);
        };
        let state = &self.state;
        auth::change_password(
            &state.db,
            &state.login_limiter,
            id,
            session_secret,
            current_password,
            new_password,
            address,
        )
        .await
    }

    async fn list_tokens(&self, principal: &Principal) -> AppResult<Vec<TokenView>> {
        principal.require_admin()?;
        let rows = auth::list_tokens(&self.state.db).await?;
        Ok(rows)
    }

    async fn create_token(
        &self,
        principal: &Principal,
        name: &str,
        scope: &str,
        expires_in_days: &str,
    ) -> AppResult<CreatedToken> {
        principal.require_admin()?;
        let scope = Scope::parse(scope)?;
        let expires_at = token_expiry(expires_in_days)?;
        let (id, token) = auth::create_token(
            &self.state.db,
            name,
            &scope,
            &principal.display_name(),
            expires_at,
        )
        .await?;
        Ok(CreatedToken { id, token })
    }

    async fn revoke_token(&self, principal: &Principal, id: i64) -> AppResult<()> {
        principal.require_admin()?;
        auth::revoke_token(&self.state.db, id).await?;
        self.state.tokens.clear();
        Ok(())
    }

    async fn list_users(&self, principal: &Principal) -> AppResult<Vec<UserView>> {
        principal.require_admin()?;
        let rows = auth::list_users(&self.state.db).await?;
        Ok(rows)
    }

    async fn create_user(&self, principal: &Principal, user: NewUserForm) -> AppResult<i64> {
        principal.require_admin()?;
        let role = Role::parse(&user.role).ok_or_else(|| AppError::validation("role", "Choose a role."))?;
        let scope = scope_for_role(role, &user.merchant, &user.stores)?;
        auth::create_user(
            &self.state.db,
            auth::NewUser {
                username: user.username,
                password: user.password,
                role,
                scope,
            },
        )
        .await
    }

    async fn set_user_disabled(&self, principal: &Principal, id: i64, disabled: bool) -> AppResult<UserView> {
        principal.require_admin()?;
        let actor = match principal.subject {
            Subject::User { id, .. } => Some(id),
            Subject::Token { .. } => None,
        };
        let row = auth::set_disabled(&self.state.db, actor, id, disabled).await?;
        Ok(row)
    }

    async fn reset_user_password(&self, principal: &Principal, id: i64, password: &str) -> AppResult<()> {
        principal.require_admin()?;
        auth::reset_password(&self.state.db, id, password).await
    }

    async fn list_groups(&self, principal: &Principal) -> AppResult<Vec<GroupView>> {
        groups::list_groups(&self.state.db, principal).await
    }

    async fn create_group(&self, principal: &Principal, name: &str) -> AppResult<GroupView> {
        groups::create_group(&self.state.db, principal, name).await
    }

    async fn rename_group(&self, principal: &Principal, id: GroupId, name: &str) -> AppResult<GroupView> {
        groups::rename_group(&self.state.db, principal, id, name).await
    }

    async fn delete_group(&self, principal: &Principal, id: GroupId) -> AppResult<()> {
        groups::delete_group(&self.state.db, principal, id).await
    }

    async fn estimate(&self, principal: &Principal, request: &EstimateRequest) -> AppResult<Estimate> {
        segments::estimate(&self.state, principal, request).await
    }

    async fn create_segment(
        &self,
        principal: &Principal,
        request: &CreateSegmentRequest,
    ) -> AppResult<Created> {
        segments::create(&self.state, principal, request).await
    }

    async fn lookalike_universe(&self, principal: &Principal, target_object: TargetObject) -> AppResult<u64> {
        segments::methods::lookalike::universe(&self.state, principal.scope.audience_scopes(), target_object)
    }

    async fn list_segments(&self, principal: &Principal, query: &ListQuery) -> AppResult<SegmentPage> {
        segments::list(&self.state.db, principal, query).await
    }

    async fn overlap(&self, principal: &Principal, request: &OverlapRequest) -> AppResult<Overlap> {
        segments::insights::overlap(&self.state, principal, request).await
    }

    async fn insights(
        &self,
        principal: &Principal,
        id: SegmentId,
        request: &InsightsRequest,
    ) -> AppResult<Insights> {
        segments::insights::insights(&self.state, principal, id, request).await
    }

    async fn segment(&self, principal: &Principal, id: SegmentId) -> AppResult<SegmentDetail> {
        segments::detail(&self.state.db, principal, id).await
    }

    async fn segment_used_by(&self, principal: &Principal, id: SegmentId) -> AppResult<UsedBy> {
        segments::manage::used_by(&self.state.db, principal, id).await
    }

    async fn export_segment(&self, principal: &Principal, id: SegmentId) -> AppResult<ExportView> {
        segments::exports::request(&self.state, principal, id).await
    }

    async fn list_exports(&self, principal: &Principal) -> AppResult<Vec<ExportView>> {
        segments::exports::list(&self.state.db, principal).await
    }

    async fn extend_segment(
        &self,
        principal: &Principal,
        id: SegmentId,
        expires_at: &str,
    ) -> AppResult<SegmentRow> {
        segments::manage::extend(&self.state.db, principal, id, expires_at).await
    }

    async fn delete_segment(&self, principal: &Principal, id: SegmentId) -> AppResult<()> {
        segments::manage::delete(&self.state.db, principal, id).await
    }

    async fn deleted_segments(&self, principal: &Principal) -> AppResult<Vec<DeletedSegment>> {
        segments::manage::deleted_records(&self.state.db, principal).await
    }

    async fn verify_segment(
        &self,
        principal: &Principal,
        id: SegmentId,
        ids: &[String],
    ) -> AppResult<VerifyAnswer> {
        segments::manage::verify(&self.state, principal, id, ids).await
    }

    async fn search_tags(
        &self,
        principal: &Principal,
        target: Option<TargetObject>,
        query: &str,
    ) -> AppResult<Vec<TagDef>> {
        tags::search_tags(&self.state.db, &principal.scope, target, query).await
    }

    async fn warehouse_tables(&self, principal: &Principal) -> AppResult<Vec<String>> {
        warehouse::authorize(principal)?;
        warehouse::connected(self.state.warehouse.as_ref())?
            .tables()
            .await
    }

    async fn warehouse_columns(&self, principal: &Principal, table: &str) -> AppResult<WarehouseTable> {
        warehouse::authorize(principal)?;
        warehouse::connected(self.state.warehouse.as_ref())?
            .describe(table)
            .await
    }
}
