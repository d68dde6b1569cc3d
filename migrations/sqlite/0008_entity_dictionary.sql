-- The entity dictionary as the server holds it in memory, stored in chunks
-- of 2^20 consecutive member indexes (each ID followed by a line break), so
-- a start reads a few blobs instead of every entities row.
CREATE TABLE entity_dictionary_chunks (
    target_object TEXT    NOT NULL,
    first_idx     BIGINT  NOT NULL,
    entities      BIGINT  NOT NULL,
    payload       BLOB    NOT NULL,
    PRIMARY KEY (target_object, first_idx)
);
