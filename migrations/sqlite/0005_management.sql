-- Management and delivery: how each run changed membership, delivery tasks
-- bound to segments, and export records.

ALTER TABLE segment_runs ADD COLUMN entered BIGINT;
ALTER TABLE segment_runs ADD COLUMN exited BIGINT;

-- A delivery task that uses a segment until `ends_at`; the segment cannot be
-- deleted, nor expire before that, while the binding exists.
CREATE TABLE segment_bindings (
    segment_id BIGINT NOT NULL REFERENCES segments (id),
    task_id    TEXT   NOT NULL,
    name       TEXT   NOT NULL,
    ends_at    BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (segment_id, task_id)
);

-- An export of one run's snapshot. The CSV is streamed from the snapshot on
-- download; the export pass counts its rows and bytes.
CREATE TABLE segment_exports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    segment_id   BIGINT  NOT NULL REFERENCES segments (id),
    run_id       BIGINT  NOT NULL,
    owner_scope  TEXT    NOT NULL,
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_total   BIGINT  NOT NULL,
    rows_done    BIGINT  NOT NULL DEFAULT 0,
    bytes        BIGINT,
    error        TEXT,
    requested_by TEXT    NOT NULL,
    requested_at BIGINT  NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX segment_exports_owner ON segment_exports (owner_scope, id);
