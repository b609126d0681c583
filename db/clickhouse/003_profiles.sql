-- profiles: every change writes a whole new version (server/store/writer.ts applies the ops);
-- ReplacingMergeTree(updated_at) keeps the newest per (project_id, id). Read with FINAL or
-- argMax. Not partitioned: versions of one profile must meet in the same merges.
CREATE TABLE IF NOT EXISTS {database}.profiles
(
    project_id LowCardinality(String),
    id String,
    first_name String,
    last_name String,
    email String,
    avatar String,
    properties Map(String, String) CODEC(ZSTD(1)),
    groups Array(String),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (project_id, id)
SETTINGS non_replicated_deduplication_window = 1000;
