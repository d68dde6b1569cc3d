-- Uploaded ID lists: the validation report and the matched members, kept
-- until a custom-list segment is created from them.
CREATE TABLE uploads (
    id            BIGSERIAL PRIMARY KEY,
    owner_scope   TEXT    NOT NULL,
    target_object TEXT    NOT NULL,
    report        TEXT    NOT NULL,
    members       BYTEA   NOT NULL,
    created_by    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);
