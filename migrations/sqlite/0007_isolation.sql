-- Accounts that can be disabled, API tokens that can expire, and what the
-- isolation of tenants needs to know about who made what.

ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;

-- The scope a delivery task was bound from: the segment's owner sees the
-- bindings of other scopes counted, never named. Existing bindings count
-- as the segment owner's own.
ALTER TABLE segment_bindings ADD COLUMN owner_scope TEXT;
UPDATE segment_bindings SET owner_scope =
    (SELECT s.owner_scope FROM segments s WHERE s.id = segment_bindings.segment_id);

-- Who asked for an export (`user:ID` or `token:ID`), for the limit on
-- exports one principal may have waiting.
ALTER TABLE segment_exports ADD COLUMN principal_key TEXT;
CREATE INDEX segment_exports_principal ON segment_exports (principal_key, status);
