-- Materialization: each run of a segment is a durable task claimed with a
-- lease; its member bitmap (portable roaring serialization over the
-- entities' dense indexes) is stored with the run, so one run can never
-- leave two snapshots. Notification mail waits in the outbox.

ALTER TABLE segments ADD COLUMN next_run_at BIGINT;
ALTER TABLE segments ADD COLUMN current_run_id BIGINT;

CREATE TABLE segment_runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    segment_id       BIGINT  NOT NULL REFERENCES segments (id),
    -- 'create', 'daily:YYYY-MM-DD' (the local date of a scheduled run)…
    run_key          TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    not_before       BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    -- what the run is doing, shown while the segment is generating
    phase            TEXT    NOT NULL DEFAULT 'queued',
    as_of            TEXT,
    data_date        TEXT,
    -- the newest ready date of the tags the rule reads, for staleness
    ready_date       TEXT,
    size             BIGINT,
    members          BLOB,
    -- the input runs a set operation used, as JSON
    inputs           TEXT,
    error            TEXT,
    queued_at        BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    evaluate_ms      BIGINT,
    total_ms         BIGINT,
    UNIQUE (segment_id, run_key)
);
CREATE INDEX segment_runs_claim ON segment_runs (status, not_before);

CREATE TABLE mail_outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient  TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    segment_id BIGINT,
    created_at BIGINT  NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try_at BIGINT NOT NULL,
    sent_at    BIGINT,
    last_error TEXT
);
CREATE INDEX mail_outbox_pending ON mail_outbox (sent_at, next_try_at);
