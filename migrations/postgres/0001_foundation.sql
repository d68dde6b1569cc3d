-- Accounts, sessions, API tokens, segment groups and the segment registry.
-- Timestamps are Unix milliseconds (UTC) in BIGINT columns on both backends.

CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'operator', 'merchant', 'store_manager')),
    scope         TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           BIGSERIAL PRIMARY KEY,
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    token_prefix TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE segment_groups (
    id          BIGSERIAL PRIMARY KEY,
    owner_scope TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    -- lower-cased name: uniqueness within an owner ignores case
    name_key    TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (owner_scope, name_key)
);

CREATE TABLE segments (
    id                 BIGSERIAL PRIMARY KEY,
    owner_scope        TEXT    NOT NULL,
    name               TEXT    NOT NULL,
    group_id           BIGINT  REFERENCES segment_groups (id) ON DELETE SET NULL,
    target_object      TEXT    NOT NULL,
    method             TEXT    NOT NULL,
    definition         TEXT    NOT NULL,
    update_frequency   TEXT    NOT NULL,
    daily_run_time     TEXT,
    usage_scenarios    TEXT    NOT NULL,
    time_zone          TEXT    NOT NULL,
    expires_at         BIGINT  NOT NULL,
    time_sensitive     BOOLEAN NOT NULL,
    notification_email TEXT,
    status             TEXT    NOT NULL,
    error              TEXT,
    size               BIGINT,
    data_date          TEXT,
    created_by         TEXT    NOT NULL,
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL,
    deleted_at         BIGINT,
    deleted_by         TEXT
);
CREATE INDEX segments_owner ON segments (owner_scope, deleted_at);
CREATE INDEX segments_group ON segments (group_id);
