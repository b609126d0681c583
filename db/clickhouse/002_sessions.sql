-- sessions: one row per closed session (shared/rows.ts SessionRow).
-- ReplacingMergeTree(ended_at): a session closed again later (late events, a re-sent close)
-- is written as a whole new row with the same (project_id, created_at, id); merges and FINAL
-- keep the row with the latest ended_at (the last inserted on a tie). VersionedCollapsing
-- would need the writer to know and cancel the previous row; a close is always a full row, so
-- replacing is enough. created_at (the session start) never changes for a session id, so the
-- replacement key may include it and time scans stay cheap.
CREATE TABLE IF NOT EXISTS {database}.sessions
(
    id String,
    project_id LowCardinality(String),
    device_id String,
    profile_id String,
    created_at DateTime64(3, 'UTC'),
    ended_at DateTime64(3, 'UTC'),
    duration UInt64,
    event_count UInt32,
    screen_view_count UInt32,
    is_bounce UInt8,
    entry_path String CODEC(ZSTD(1)),
    entry_origin LowCardinality(String),
    exit_path String CODEC(ZSTD(1)),
    exit_origin LowCardinality(String),
    referrer String CODEC(ZSTD(1)),
    referrer_name LowCardinality(String),
    referrer_type LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    utm_campaign LowCardinality(String),
    utm_term String,
    utm_content String,
    revenue UInt64,
    country LowCardinality(String),
    region LowCardinality(String),
    city String,
    os LowCardinality(String),
    os_version LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    device LowCardinality(String),
    brand LowCardinality(String),
    model LowCardinality(String)
)
ENGINE = ReplacingMergeTree(ended_at)
PARTITION BY toYYYYMM(created_at)
ORDER BY (project_id, toDate(created_at), id)
SETTINGS non_replicated_deduplication_window = 1000;
