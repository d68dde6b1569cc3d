//! The group service: every read and write is filtered by the principal's
//! scope, and another scope's group is reported as not found.

use crate::infra::db::{Db, is_unique_violation};
use crate::infra::now_ms;
use crate::with_db;
use segment_contract::auth::{Principal, Scope};
use segment_contract::error::{AppError, AppResult};
use segment_contract::groups::{GroupView, validate_group_name};
use segment_contract::ids::GroupId;

// A group counts only segments of its own scope: one of another scope
// (filed there before segments were kept to their owner's groups) is
// never counted, named or shown to the group's owner.
const SELECT_GROUPS: &str = "SELECT g.id, g.name, g.owner_scope,
        (SELECT COUNT(*) FROM segments s WHERE s.group_id = g.id AND s.deleted_at IS NULL
            AND s.owner_scope = g.owner_scope) AS segment_count,
        g.created_by, g.created_at, g.updated_at
     FROM segment_groups g";

fn not_found() -> AppError {
    AppError::NotFound("The group".into())
}

fn duplicate(name: &str) -> AppError {
    AppError::Conflict(format!("A group named \"{name}\" already exists."))
}

pub async fn list_groups(db: &Db, principal: &Principal) -> AppResult<Vec<GroupView>> {
    let rows: Vec<GroupView> = match &principal.scope {
        Scope::Platform => with_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT_GROUPS} ORDER BY g.owner_scope <> 'platform', g.owner_scope, g.name_key"))
                .fetch_all(pool)
                .await?
        }),
        scope => with_db!(db, pool => {
            sqlx::query_as(&format!("{SELECT_GROUPS} WHERE g.owner_scope = $1 ORDER BY g.name_key"))
                .bind(scope.to_string())
                .fetch_all(pool)
                .await?
        }),
    };
    Ok(rows)
}

/// The group if the principal may see it; otherwise not found.
pub async fn get_group(db: &Db, principal: &Principal, id: GroupId) -> AppResult<GroupView> {
    let row: Option<GroupView> = with_db!(db, pool => {
        sqlx::query_as(&format!("{SELECT_GROUPS} WHERE g.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    let group = row.ok_or_else(not_found)?;
    if principal.scope.can_see(&group.owner_scope) {
        Ok(group)
    } else {
        Err(not_found())
    }
}

pub async fn create_group(db: &Db, principal: &Principal, name: &str) -> AppResult<GroupView> {
    let name = validate_group_name(name)?;
    let now = now_ms();
    let inserted = with_db!(db, pool => {
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO segment_groups (owner_scope, name, name_key, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(principal.scope.to_string())
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(principal.display_name())
        .bind(now)
        .fetch_one(pool)
        .await
    });
    match inserted {
        Ok(id) => get_group(db, principal, GroupId(id)).await,
        Err(error) if is_unique_violation(&error) => Err(duplicate(&name)),
        Err(error) => Err(error.into()),
    }
}

pub async fn rename_group(db: &Db, principal: &Principal, id: GroupId, name: &str) -> AppResult<GroupView> {
    get_group(db, principal, id).await?;
    let name = validate_group_name(name)?;
    let updated = with_db!(db, pool => {
        sqlx::query("UPDATE segment_groups SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4")
            .bind(&name)
            .bind(name.to_lowercase())
            .bind(now_ms())
            .bind(id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    });
    match updated {
        Ok(_) => get_group(db, principal, id).await,
        Err(error) if is_unique_violation(&error) => Err(duplicate(&name)),
        Err(error) => Err(error.into()),
    }
}

/// Deletes an empty group; a group that still holds segments is refused with their count.
pub async fn delete_group(db: &Db, principal: &Principal, id: GroupId) -> AppResult<()> {
    get_group(db, principal, id).await?;
    // The count and the delete run in one statement so a segment added in
    // between cannot be orphaned. Segments of another scope do not hold the
    // group: they lose their group (ON DELETE SET NULL).
    let deleted = with_db!(db, pool => {
        sqlx::query(
            "DELETE FROM segment_groups WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM segments s WHERE s.group_id = $1 AND s.deleted_at IS NULL
                             AND s.owner_scope = segment_groups.owner_scope)",
        )
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected()
    });
    if deleted == 1 {
        return Ok(());
    }
    let held = get_group(db, principal, id).await?.segment_count;
    Err(AppError::Conflict(format!(
        "The group still holds {held} segment{}; delete {} first.",
        if held == 1 { "" } else { "s" },
        if held == 1 { "it" } else { "them" }
    )))
}
