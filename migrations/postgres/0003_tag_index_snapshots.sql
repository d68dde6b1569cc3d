-- Built index partitions (segment_core::engine::snapshot), so that a server
-- start reads bitmaps instead of rebuilding them from the tag tables. A
-- snapshot is used only while its import_id equals the partition's.
CREATE TABLE tag_index_snapshots (
    tag       TEXT   NOT NULL,
    data_date DATE   NOT NULL,
    import_id BIGINT NOT NULL,
    payload   BYTEA  NOT NULL,
    PRIMARY KEY (tag, data_date)
);
