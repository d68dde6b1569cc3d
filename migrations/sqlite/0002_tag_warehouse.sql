-- The tag warehouse: catalog, entity dictionaries, audience scopes and the
-- record of imports. Each profile tag's values live in `tag_<code>` and each
-- behavior's daily counts in `behavior_<code>`; the importer creates those
-- tables when a tag first appears (their columns depend on the tag's type).

CREATE TABLE tag_catalog (
    code          TEXT   PRIMARY KEY,
    target_object TEXT   NOT NULL CHECK (target_object IN ('user', 'merchant', 'store')),
    kind          TEXT   NOT NULL CHECK (kind IN ('profile', 'behavior')),
    -- the tag's definition as imported (segment_core::catalog::TagDef, without ready dates)
    definition    TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- A (tag, date) partition whose data is loaded: the tag's ready dates.
CREATE TABLE tag_partitions (
    tag       TEXT   NOT NULL REFERENCES tag_catalog (code),
    data_date TEXT   NOT NULL,
    row_count BIGINT NOT NULL,
    import_id BIGINT NOT NULL,
    PRIMARY KEY (tag, data_date)
);

-- Append-only dictionary of external IDs to dense member indexes, per target object.
CREATE TABLE entities (
    target_object TEXT    NOT NULL,
    idx           INTEGER NOT NULL,
    entity_id     TEXT    NOT NULL,
    PRIMARY KEY (target_object, idx),
    UNIQUE (target_object, entity_id)
);

-- The audience a merchant or store principal may target.
CREATE TABLE audience_scopes (
    scope         TEXT    NOT NULL,
    target_object TEXT    NOT NULL,
    entity_idx    INTEGER NOT NULL,
    PRIMARY KEY (scope, target_object, entity_idx)
);

-- One row per successful import; running servers reload their tag index
-- when a newer one appears.
CREATE TABLE tag_imports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT   NOT NULL,
    rows_loaded BIGINT NOT NULL,
    summary     TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
