-- groups (shared/rows.ts GroupRow): the newest version per (project_id, id) wins. Group ids
-- are unique per project (events and profiles reference them by id alone).
CREATE TABLE IF NOT EXISTS {database}.groups
(
    project_id LowCardinality(String),
    id String,
    type LowCardinality(String),
    name String,
    properties Map(String, String) CODEC(ZSTD(1)),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (project_id, id)
SETTINGS non_replicated_deduplication_window = 1000;

-- replays (shared/rows.ts ReplayRow): session recording chunks. A re-sent chunk (same
-- session and chunk_index) replaces the earlier copy. The payload is large, repetitive JSON:
-- ZSTD(3) shrinks it several times over.
CREATE TABLE IF NOT EXISTS {database}.replays
(
    project_id LowCardinality(String),
    session_id String,
    device_id String,
    chunk_index UInt32,
    started_at DateTime64(3, 'UTC'),
    ended_at DateTime64(3, 'UTC'),
    events_count UInt32,
    is_full_snapshot UInt8,
    payload String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (project_id, session_id, chunk_index)
SETTINGS non_replicated_deduplication_window = 1000;
